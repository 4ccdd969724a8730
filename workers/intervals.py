"""Attended time from join/leave points (pure).

A person's attended time is the union of their presence: two devices at once
count once, rejoins add up, a join with no leave closes at the meeting's end,
and a leave with no join is kept but adds nothing. The result depends only on
the set of points, never on the order or number of times they arrived.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

JOIN = "join"
LEAVE = "leave"


@dataclass(frozen=True, order=True)
class Interval:
    start: datetime
    end: datetime | None  # None: still open (the meeting has not ended)

    @property
    def seconds(self) -> int:
        return 0 if self.end is None else int((self.end - self.start).total_seconds())


def presence_intervals(points: Iterable[tuple], meeting_end: datetime | None) -> list[Interval]:
    """Turn one meeting run's join/leave points of one person into disjoint intervals.

    A point is `(at, kind)` or `(at, kind, session, ...)`: identical points are one
    fact, so a point repeated changes nothing, while two devices leaving in the same
    second (different sessions) are two leaves. Points are swept in time order (joins
    before leaves at the same instant) with a count of open sessions: presence starts
    when the count leaves zero and ends when it returns to zero. Open presence closes
    at `meeting_end`, or stays open if the run has not ended. A leave when nothing is
    open adds nothing.
    """
    ordered = sorted(set(points), key=lambda p: (p[0], 0 if p[1] == JOIN else 1))
    result: list[Interval] = []
    open_count = 0
    start: datetime | None = None
    for at, kind, *_ in ordered:
        if kind == JOIN:
            if open_count == 0:
                start = at
            open_count += 1
        elif open_count > 0:
            open_count -= 1
            if open_count == 0:
                result.append(Interval(start, at))
    if open_count > 0:
        end = meeting_end if meeting_end is not None and meeting_end >= start else None
        result.append(Interval(start, end))
    return result


def person_intervals(points: Iterable[tuple], meeting_end: datetime | None) -> list[Interval]:
    """One person's presence in one meeting run, from `(at, kind, session)` points.

    Zoom gives every join session its own id, so a session with both a join and a
    leave stands on its own: a stray leave of a second device cannot cut the first
    device's presence short. Points whose session has only joins or only leaves
    (a lost event, or Zoom reporting the leave under another id) are swept together
    by time, so a join is still closed by that person's next leave. The result is
    the union of both.
    """
    by_session: dict = {}
    for point in set(points):
        by_session.setdefault(point[2], []).append(point)
    intervals: list[Interval] = []
    orphans: list[tuple] = []
    for session_points in by_session.values():
        kinds = {p[1] for p in session_points}
        if kinds == {JOIN, LEAVE}:
            intervals.extend(presence_intervals(session_points, meeting_end))
        else:
            orphans.extend(session_points)
    intervals.extend(presence_intervals(orphans, meeting_end))
    return union(intervals)


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping or touching intervals; an open interval swallows everything after it."""
    merged: list[Interval] = []
    for current in sorted(intervals, key=lambda i: i.start):
        if merged:
            last = merged[-1]
            if last.end is None:
                continue
            if current.start <= last.end:
                end = None if current.end is None else max(last.end, current.end)
                merged[-1] = Interval(last.start, end)
                continue
        merged.append(current)
    return merged


def total_seconds(intervals: Iterable[Interval]) -> int:
    return sum(interval.seconds for interval in union(intervals))
