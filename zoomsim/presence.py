"""Who was in a meeting and for how long, counted the way Zoom counts it: the simulator's own answer (pure).

Zoom's rules, as `../shared/zoom/README.md` ("Who was in the meeting") quotes them:

- Waiting room: "The time a participant spends in the waiting room does not count towards their
  meeting minutes" (Zoom's help, support.zoom.com, article KB0063329). Rows with
  `status: "in_waiting_room"` count for nothing; someone never admitted attended 0 seconds.
- Breakout rooms: "Time in a room is time in the meeting." A room row counts like a main-room row.
- Failover: "a failover reconnects the client, so rows of one person overlap." A person's rows are
  merged (union), so an overlap counts once; so do two devices at once.
- Phone callers: "without linking their audio, someone on a computer and a phone is two participants,
  the phone one named by its number"; `participant_bind` is "triggered every time a phone user joins a
  meeting and binds to an attendee". A phone row that bound counts for that attendee (union with their
  own rows); an unbound phone caller is a participant of its own.

A person is their email (lower case), or, without one, their name and `participant_uuid`, as
`World.attendance` always keyed them. Practice sessions are counted like any instance; the caller
flags them (life.play's `practice`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoomsim.world import Instance, Session

Span = tuple[datetime, datetime]
WAITING = "in_waiting_room"


def person_key(session: Session) -> str:
    return session.email.lower() or f"{session.name} ({session.participant_uuid})"


def attendance(instance: Instance) -> dict[str, int]:
    """Seconds each person was in the meeting (waiting excluded, rooms included, overlaps once)."""
    present, _ = _spans(instance)
    return {person: _length(_union(spans)) for person, spans in present.items()}


def waiting(instance: Instance) -> dict[str, int]:
    """Seconds each person who ever waited spent in the waiting room while not in the meeting otherwise."""
    present, waited = _spans(instance)
    return {
        person: _length(_union(spans)) - _overlap(_union(spans), _union(present.get(person, [])))
        for person, spans in waited.items()
    }


def _spans(instance: Instance) -> tuple[dict[str, list[Span]], dict[str, list[Span]]]:
    """Each person's in-meeting spans (every person seen, maybe none) and waiting-room spans."""
    owners = {s.participant_uuid: person_key(s) for s in instance.sessions if not s.phone_number}
    present: dict[str, list[Span]] = {}
    waited: dict[str, list[Span]] = {}
    for session in instance.sessions:
        leave = session.leave_time or instance.end_time
        if leave is None:
            continue
        person = owners.get(session.bound_participant_uuid) if session.bound_participant_uuid else None
        person = person or person_key(session)
        spans = present.setdefault(person, [])
        if session.status == WAITING:
            waited.setdefault(person, []).append((session.join_time, leave))
        else:
            spans.append((session.join_time, leave))
    return present, waited


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def _length(spans: list[Span]) -> int:
    return int(sum((stop - start).total_seconds() for start, stop in spans))


def _overlap(a: list[Span], b: list[Span]) -> int:
    """Seconds two merged, sorted span lists have in common."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        start, stop = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < stop:
            total += (stop - start).total_seconds()
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return int(total)
