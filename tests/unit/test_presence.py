"""The waiting-room state machine, room stints and who is one person (workers/presence.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from workers.intervals import JOIN, LEAVE, Interval, person_intervals, presence_intervals, total_seconds, union
from workers.presence import (
    ADMIT,
    BIND,
    PUT_BACK,
    WAITING_JOIN,
    WAITING_LEAVE,
    close_open,
    people,
    room_intervals,
    session_edges,
    subtract,
    waiting_intervals,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iv(start: float, end: float | None) -> Interval:
    return Interval(m(start), None if end is None else m(end))


def presence(events, end=None) -> list[Interval]:
    edges, _ = session_edges(events)
    return presence_intervals(edges, end)


def waits(events, end=None) -> list[Interval]:
    _, waiting = session_edges(events)
    return close_open(waiting, end)


# --- one session ---------------------------------------------------------------------------------------------


def test_plain_join_and_leave_is_presence():
    assert presence([(m(0), JOIN), (m(30), LEAVE)]) == [iv(0, 30)]
    assert waits([(m(0), JOIN), (m(30), LEAVE)]) == []


def test_waiting_then_admitted_counts_from_admission():
    events = [(m(0), WAITING_JOIN), (m(2), ADMIT), (m(2), JOIN), (m(60), LEAVE)]
    assert presence(events) == [iv(2, 60)]
    assert waits(events) == [iv(0, 2)]


def test_admission_alone_is_not_presence():
    # the admitted person's participant_joined follows, maybe under a new user_id (a session of its own)
    events = [(m(0), WAITING_JOIN), (m(2), ADMIT)]
    assert presence(events, m(60)) == []
    assert waits(events, m(60)) == [iv(0, 2)]


def test_admitted_then_joined_as_a_new_session():
    waiting_session = [(m(0), WAITING_JOIN), (m(2), ADMIT)]
    meeting_session = [(m(2), JOIN), (m(30), LEAVE)]
    points = [(at, kind, "w") for at, kind in session_edges(waiting_session)[0]]
    points += [(at, kind, "m") for at, kind in session_edges(meeting_session)[0]]
    assert person_intervals(points, m(60)) == [iv(2, 30)]


def test_put_back_then_left_in_the_same_second_is_out():
    # Zoom may also send participant_left for a person put back (their next stint is a new session)
    events = [(m(0), JOIN), (m(10), PUT_BACK), (m(10), LEAVE)]
    assert presence(events, m(60)) == [iv(0, 10)]
    assert waits(events, m(60)) == []


def test_joined_event_at_waiting_room_entry_is_still_waiting():
    # Zoom may say "joined" as the person enters the waiting room: same second, the wait wins
    events = [(m(0), JOIN), (m(0), WAITING_JOIN), (m(5), ADMIT), (m(60), LEAVE)]
    assert presence(events) == [iv(5, 60)]
    assert waits(events) == [iv(0, 5)]


def test_never_admitted_adds_nothing_whatever_ends_the_wait():
    for end_kind in (WAITING_LEAVE, LEAVE):
        events = [(m(0), WAITING_JOIN), (m(20), end_kind)]
        assert presence(events) == [], end_kind
        assert waits(events) == [iv(0, 20)], end_kind


def test_a_wait_never_ended_runs_to_the_meeting_end():
    events = [(m(0), WAITING_JOIN)]
    assert presence(events, m(60)) == []
    assert waits(events, m(60)) == [iv(0, 60)]
    assert waits(events, None) == [iv(0, None)]


def test_put_back_stops_attending_until_admitted_again():
    events = [(m(0), JOIN), (m(10), PUT_BACK), (m(20), ADMIT), (m(60), LEAVE)]
    assert presence(events) == [iv(0, 10), iv(20, 60)]
    assert waits(events) == [iv(10, 20)]


def test_put_back_and_never_readmitted():
    events = [(m(0), JOIN), (m(10), PUT_BACK), (m(25), WAITING_LEAVE)]
    assert presence(events) == [iv(0, 10)]
    assert waits(events) == [iv(10, 25)]


def test_left_waiting_room_at_admission_does_not_end_presence():
    # Zoom may also report leaving the waiting room when admitted: admission in the same second wins
    events = [(m(0), WAITING_JOIN), (m(3), ADMIT), (m(3), WAITING_LEAVE), (m(3), JOIN), (m(60), LEAVE)]
    assert presence(events) == [iv(3, 60)]
    assert waits(events) == [iv(0, 3)]


def test_a_leave_with_nothing_before_it_is_kept_for_the_sweep():
    edges, waiting = session_edges([(m(30), LEAVE)])
    assert edges == [(m(30), LEAVE)]
    assert waiting == []


def test_a_bind_changes_no_state():
    assert presence([(m(0), JOIN), (m(5), BIND), (m(30), LEAVE)]) == [iv(0, 30)]
    assert session_edges([(m(5), BIND)]) == ([], [])


WAITING_STREAM = [
    (m(0), WAITING_JOIN),
    (m(2), ADMIT),
    (m(2), JOIN),
    (m(10), PUT_BACK),
    (m(12), ADMIT),
    (m(12), JOIN),
    (m(30), LEAVE),
]


def test_result_depends_on_the_set_of_events_not_their_order_or_repeats():
    expected = session_edges(WAITING_STREAM)
    for order in itertools.permutations(WAITING_STREAM):
        assert session_edges(order + order[:2]) == expected


def test_same_second_rank_is_what_decides():
    # "joined" and "entered the waiting room" in one second: waiting (the other way round would be in)
    assert presence([(m(0), WAITING_JOIN), (m(0), JOIN), (m(5), LEAVE)]) == []
    # put back and left in one second: out, not waiting until the end
    assert waits([(m(0), JOIN), (m(5), LEAVE), (m(5), PUT_BACK)], m(60)) == []
    # admitted and joined in one second, the wait left as well: in
    assert presence([(m(0), WAITING_JOIN), (m(2), WAITING_LEAVE), (m(2), ADMIT), (m(2), JOIN), (m(5), LEAVE)]) == [
        iv(2, 5)
    ]


# --- a person: sessions together ------------------------------------------------------------------------------


def test_room_stint_fills_the_gap_when_zoom_sends_the_main_room_leave():
    main = [(m(0), JOIN), (m(20), LEAVE), (m(40), JOIN), (m(60), LEAVE)]
    room = [(m(20), JOIN), (m(40), LEAVE)]
    points = [(at, kind, "main") for at, kind in session_edges(main)[0]]
    points += [(at, kind, "room") for at, kind in session_edges(room)[0]]
    assert person_intervals(points, m(60)) == [iv(0, 60)]
    assert room_intervals([room], m(60)) == [iv(20, 40)]


def test_room_stint_inside_the_main_session_counts_once():
    main = [(m(0), JOIN), (m(60), LEAVE)]
    room = [(m(20), JOIN), (m(40), LEAVE)]
    points = [(at, kind, s) for s, events in (("main", main), ("room", room)) for at, kind in session_edges(events)[0]]
    assert total_seconds(person_intervals(points, m(60))) == 3600


def test_waiting_shown_is_what_was_not_also_presence():
    # waiting on a phone while already in on the laptop: not waiting
    assert waiting_intervals([iv(0, 30)], [iv(10, 20), iv(40, 45)]) == [iv(40, 45)]


def test_subtract_cases():
    assert subtract([iv(0, 10)], []) == [iv(0, 10)]
    assert subtract([iv(0, 10)], [iv(2, 4)]) == [iv(0, 2), iv(4, 10)]
    assert subtract([iv(0, 10)], [iv(-5, 15)]) == []
    assert subtract([iv(0, 10)], [iv(5, None)]) == [iv(0, 5)]
    assert subtract([iv(0, None)], [iv(5, 8)]) == [iv(0, 5), iv(8, None)]
    assert subtract([iv(0, 10)], [iv(10, 20)]) == [iv(0, 10)]
    assert subtract([iv(0, 10), iv(5, 15)], [iv(12, 13)]) == [iv(0, 12), iv(13, 15)]


def test_close_open_drops_an_end_before_the_start():
    assert close_open([iv(30, None)], m(10)) == []
    assert close_open([iv(0, None), iv(1, 2)], m(10)) == [iv(0, 10), iv(1, 2)]


def test_issue_example_waiting_room_and_breakout_room():
    """2 min waiting, 20 min in a room, the rest in the main room of a 60-minute meeting: 58 min, 2 waited."""
    main = [(m(0), WAITING_JOIN), (m(2), ADMIT), (m(2), JOIN), (m(60), LEAVE)]
    room = [(m(20), JOIN), (m(40), LEAVE)]
    points, waited = [], []
    for name, events in (("main", main), ("room", room)):
        edges, waiting = session_edges(events)
        points += [(at, kind, name) for at, kind in edges]
        waited += close_open(waiting, m(60))
    attended = person_intervals(points, m(60))
    assert total_seconds(attended) == 58 * 60
    assert total_seconds(waiting_intervals(attended, waited)) == 2 * 60


# --- who is one person ------------------------------------------------------------------------------------------


def test_people_links_rooms_and_phones_to_their_main_session():
    tags = {
        "main": {"s:main", "p:PU-ada"},
        "room": {"s:room"},
        "phone": {"s:phone"},
        "other": {"s:other", "p:PU-bob"},
    }
    links = {"room": {"s:main"}, "phone": {"p:PU-ada"}}
    assert people(tags, links) == [["main", "phone", "room"], ["other"]]


def test_people_is_transitive_and_order_free():
    tags = {"a": {"z:1"}, "b": {"z:1", "r:9"}, "c": {"r:9"}, "d": set()}
    expected = [["a", "b", "c"], ["d"]]
    for order in itertools.permutations(tags):
        assert people({k: tags[k] for k in order}) == expected


def test_people_never_joins_on_nothing():
    assert people({"a": set(), "b": set()}) == [["a"], ["b"]]


@pytest.mark.parametrize("shift", [0, 1, 7])
def test_union_of_room_and_main_rows_back_to_back(shift):
    # report rows: main 0-20, room 20-40, main 40-60 (each its own row): one presence
    rows = [iv(0 + shift, 20 + shift), iv(20 + shift, 40 + shift), iv(40 + shift, 60 + shift)]
    assert union(rows) == [iv(shift, 60 + shift)]
