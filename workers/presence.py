"""When one Zoom session was in the meeting and when it waited (pure).

Zoom's help: "The time a participant spends in the waiting room does not count
towards their meeting minutes" (KB0063329). One join session (Zoom's participant
`user_id`) moves between three states: out, waiting (in the waiting room) and in
(the meeting, or one of its breakout rooms: a room stint is its own session, and
time in a room is time in the meeting). Its events, in time order, are the
transitions:

    join (participant_joined)       -> in
    wr_join (joined_waiting_room)   -> waiting
    admit (participant_admitted)    -> in, if this session was in before it waited; else out
    wr_put (put_in_waiting_room)    -> waiting (it was in)
    wr_leave (left_waiting_room)    -> out, if waiting (admission may also end the wait)
    leave (participant_left)        -> out

An admission ends the wait; presence begins with Zoom's `participant_joined` for
the admitted person, which may carry a new `user_id` (a new session). Only a
session that was itself in the meeting (put back, or "joined" as it entered the
waiting room) is in again on admission. Events of the same second are taken in
that order, so a session that Zoom shows joining and entering the waiting room at
once is waiting, and one joined and admitted at once is in. The result depends
only on the set of events, never on the order they arrived in. The output is
edges (`JOIN`/`LEAVE` points) that workers.intervals sweeps exactly as it sweeps
plain joins and leaves, so sessions with lost events keep the rules they always
had.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from workers.intervals import JOIN, LEAVE, Interval, presence_intervals, union

WAITING_JOIN = "wr_join"
ADMIT = "admit"
PUT_BACK = "wr_put"
WAITING_LEAVE = "wr_leave"
BIND = "bind"  # a phone caller bound to an attendee: no change of state, only of identity

KINDS = (JOIN, WAITING_JOIN, ADMIT, PUT_BACK, WAITING_LEAVE, LEAVE, BIND)
_RANK = {kind: rank for rank, kind in enumerate(KINDS)}

OUT, WAITING, IN = "out", "waiting", "in"
_NEXT = {JOIN: IN, WAITING_JOIN: WAITING, PUT_BACK: WAITING, LEAVE: OUT}


def _next_state(state: str, kind: str, was_in: bool) -> str:
    if kind == WAITING_LEAVE:
        return OUT if state == WAITING else state
    if kind == ADMIT:
        return (IN if was_in else OUT) if state == WAITING else state
    return _NEXT.get(kind, state)


def session_edges(events: Iterable[tuple[datetime, str]]) -> tuple[list[tuple[datetime, str]], list[Interval]]:
    """One session's presence edges and its waiting intervals, from `(at, kind)` events.

    Presence edges are `(at, JOIN)` where the session came in and `(at, LEAVE)`
    where it went out. A leave of a session that was never in (its join lost) is
    kept as a LEAVE edge, so the sweep can still close that person's open join
    with it; a leave of a session that was only waiting adds nothing. Waiting
    still open at the last event has an open end (the caller closes it).
    """
    state, was_in = OUT, False  # was_in: the session was in the meeting when its current wait began
    edges: list[tuple[datetime, str]] = []
    waiting: list[Interval] = []
    waited_since: datetime | None = None
    for at, kind in sorted(set(events), key=lambda e: (e[0], _RANK.get(e[1], len(KINDS)))):
        new = _next_state(state, kind, was_in)
        if new == WAITING and state != WAITING:
            was_in = state == IN or kind == PUT_BACK
        if state == OUT and kind == LEAVE:
            edges.append((at, LEAVE))  # nothing known before it: a lost join, for the sweep
        if new != state:
            if state == IN:
                # In and out in the same second (joined as the wait began) is no presence at all.
                if edges and edges[-1] == (at, JOIN):
                    edges.pop()
                else:
                    edges.append((at, LEAVE))
            elif state == WAITING and waited_since < at:
                waiting.append(Interval(waited_since, at))
            if new == IN:
                edges.append((at, JOIN))
            elif new == WAITING:
                waited_since = at
        state = new
    if state == WAITING:
        waiting.append(Interval(waited_since, None))
    return edges, waiting


def close_open(intervals: Iterable[Interval], end: datetime | None) -> list[Interval]:
    """Open intervals end at the run's end (or stay open while it runs); an end before the start drops it."""
    closed = []
    for interval in intervals:
        if interval.end is None and end is not None:
            if end < interval.start:
                continue
            interval = Interval(interval.start, end)
        closed.append(interval)
    return closed


def subtract(intervals: Iterable[Interval], minus: Iterable[Interval]) -> list[Interval]:
    """What of `intervals` lies outside `minus`: waiting that is not also presence on another device."""
    result: list[Interval] = []
    cuts = union(minus)
    for interval in union(intervals):
        pieces = [interval]
        for cut in cuts:
            next_pieces = []
            for piece in pieces:
                next_pieces.extend(_cut(piece, cut))
            pieces = next_pieces
        result.extend(pieces)
    return [piece for piece in result if piece.end is None or piece.end > piece.start]


def _cut(piece: Interval, cut: Interval) -> list[Interval]:
    piece_end = piece.end
    if cut.end is not None and cut.end <= piece.start:
        return [piece]
    if piece_end is not None and cut.start >= piece_end:
        return [piece]
    left = [Interval(piece.start, cut.start)] if cut.start > piece.start else []
    if cut.end is None:
        return left
    right = [Interval(cut.end, piece_end)] if piece_end is None or cut.end < piece_end else []
    return left + right


def waiting_intervals(presence: Iterable[Interval], waiting: Iterable[Interval]) -> list[Interval]:
    """A person's waiting shown beside their attendance: the union of their waits, less their presence."""
    return subtract(waiting, presence)


def room_intervals(events_by_session: Iterable[Iterable[tuple[datetime, str]]], end: datetime | None) -> list[Interval]:
    """Breakout-room stints of one person: each room session's own presence, unioned."""
    intervals: list[Interval] = []
    for events in events_by_session:
        edges, _ = session_edges(events)
        intervals.extend(presence_intervals(edges, end))
    return union(intervals)


def people(
    tags_by_session: dict[str, Iterable[str]], links_by_session: dict[str, Iterable[str]] | None = None
) -> list[list[str]]:
    """Which sessions of one meeting run are one person: those sharing a tag, transitively.

    A session's tags are what Zoom ties to one person (its own `user_id`, the Zoom
    user id of a signed-in user, a registrant id, the participant uuid); its links
    are the tags of another session Zoom says it belongs to (a breakout room's
    `parent_user_id`, a phone caller's `bind_user_id` and `bind_participant_uuid`).
    Names are never tags: they repeat. Returns groups of session keys, each sorted,
    in the order of their first key.
    """
    parent: dict = {}

    def find(item):
        while parent.setdefault(item, item) != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def join(a, b) -> None:
        a, b = find(a), find(b)
        if a != b:
            parent[max(a, b)] = min(a, b)

    links_by_session = links_by_session or {}
    for key, tags in tags_by_session.items():
        node = ("session", key)
        find(node)
        for tag in list(tags) + list(links_by_session.get(key, ())):
            join(node, ("tag", tag))
    groups: dict = {}
    for key in tags_by_session:
        groups.setdefault(find(("session", key)), []).append(key)
    return sorted(sorted(group) for group in groups.values())
