"""zoomsim/script.py: a script's new fields are checked whole before anything is played.

A mistake is a SimUsageError that says what is wrong and where; the meeting is left alone (no
instance, no webhook), as for the fields scripts always had.
"""

from __future__ import annotations

import pytest

from tests.simulator.unit.support import operator_of
from zoomsim.life import play
from zoomsim.script import parse
from zoomsim.world import SimUsageError

BODY = {"topic": "Algebra", "type": 2, "start_time": "2024-05-01T10:00:00Z", "duration": 60, "timezone": "UTC"}


@pytest.fixture
def meeting(world, host):
    made = world.create_meeting("meeting", host, dict(BODY), operator_of(host))
    world.take_outbox()
    return made


@pytest.fixture
def webinar(world, host):
    made = world.create_meeting("webinar", host, {**BODY, "type": 5}, operator_of(host))
    world.take_outbox()
    return made


def one(**session) -> dict:
    return {"end_after": 3600, "participants": [{"name": "Ann", "sessions": [{"join": 0, "leave": 3000, **session}]}]}


def with_phone(**phone) -> dict:
    return {
        "end_after": 3600,
        "participants": [{"name": "Ann", "sessions": [{"join": 600, "leave": 1800}], "phone": phone}],
    }


INVALID = [
    (one(waiting=-1), "participant 0 session 0: waiting must be a number of seconds"),
    (one(waiting="2m"), "waiting must be a number of seconds"),
    (one(waiting=3600), "waits 3600 s, past its leave at 3000"),
    (one(never_admitted="yes"), "never_admitted must be true or false"),
    (one(never_admitted=True, waiting=60), "never admitted, so no waiting time"),
    (one(never_admitted=True, rooms=[{"at": 60, "until": 120, "room": "Red"}]), "never admitted"),
    (one(rooms={"at": 60}), "rooms must be a list"),
    (one(rooms=[{"at": -1, "until": 120, "room": "Red"}]), "participant 0 session 0 room 0: at must be a number"),
    (one(rooms=[{"at": 60, "until": 120}]), "room must name the breakout room"),
    (
        one(rooms=[{"at": 60, "until": 120, "room": "Red", "colour": "red"}]),
        "must be an object with at, until and room",
    ),
    (one(rooms=[{"at": 120, "until": 60, "room": "Red"}]), "until must come after at"),
    (one(rooms=[{"at": 2900, "until": 3100, "room": "Red"}]), "room 0 lies outside its session (0 to 3000"),
    (one(waiting=300, rooms=[{"at": 200, "until": 400, "room": "Red"}]), "lies outside its session (300 to 3000"),
    (
        one(rooms=[{"at": 60, "until": 600, "room": "Red"}, {"at": 500, "until": 900, "room": "Blue"}]),
        "room 'Red' from 60 to 600 overlaps room 'Blue' from 500",
    ),
    (one(put_back=[1200, 1800]), "put_back 0 must be [at, readmit_at or null]"),
    (one(put_back=[[1200, 1100]]), "readmit_at must come after at"),
    (one(put_back=[[1200, 3000]]), "readmit_at must come after at and before the session's leave at 3000"),
    (one(put_back=[[3000, None]]), "put_back 0 lies outside its session"),
    (one(waiting=600, put_back=[[300, 900]]), "put_back 0 lies outside its session (600 to 3000"),
    (one(put_back=[[100, None], [200, 300]]), "put_back from 100 to 3000 overlaps put_back from 200"),
    (
        one(rooms=[{"at": 60, "until": 600, "room": "Red"}], put_back=[[300, 900]]),
        "room 'Red' from 60 to 600 overlaps put_back from 300",
    ),
    (one(failover_at=0), "failover_at must fall while they are in the meeting"),
    (one(failover_at=3000), "failover_at must fall while they are in the meeting"),
    (one(failover_at=-5), "failover_at must be a number of seconds"),
    (one(rooms=[{"at": 60, "until": 600, "room": "Red"}], failover_at=300), "failover_at falls in a breakout"),
    (one(put_back=[[100, 200]], failover_at=150), "failover_at falls in a breakout or waiting room stint"),
    (with_phone(join=600), "number must be the phone number"),
    (with_phone(number=15550100), "number must be the phone number"),
    (with_phone(number="+1555", join=-1), "participant 0 phone: join must be a number"),
    (with_phone(number="+1555", join=900, leave=800), "participant 0 phone leaves before joining"),
    (with_phone(number="+1555", join=900, bind_at=800), "bind_at must fall while the phone is in the meeting"),
    (with_phone(number="+1555", join=0, bind_at=300), "bind_at must fall while they are in the meeting on a computer"),
    (with_phone(number="+1555", join=0, bind_at=1800), "on a computer"),
    (with_phone(number="+1555", ring=True), "must be an object with number, join, leave and bind_at"),
    ({"participants": [{"name": "Ann", "room_rows_blank": 1}]}, "room_rows_blank must be true or false"),
    ({"leave_main_for_rooms": "no"}, "leave_main_for_rooms must be true or false"),
    ({"practice": True}, "practice: only a webinar has practice sessions"),
    ({"practice": 1}, "practice must be true or false"),
    ({"participants": "Ann"}, "participants must be a list"),
    ({"participants": ["Ann"]}, "participant 0 must be an object"),
    ({"participants": [{"name": "Ann", "sessions": {"join": 0}}]}, "sessions must be a list"),
]


@pytest.mark.parametrize(("script", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_scripts_say_what_is_wrong_and_play_nothing(world, meeting, script, message):
    with pytest.raises(SimUsageError) as caught:
        play(world, meeting, script)
    assert message in str(caught.value)
    assert caught.value.status == 400
    assert meeting.live is None and meeting.instances == []
    assert world.take_outbox() == []


@pytest.mark.parametrize(
    "session",
    [
        {"waiting": 60},
        {"never_admitted": True},
        {"rooms": [{"at": 60, "until": 120, "room": "Red"}]},
        {"put_back": [[60, 120]]},
    ],
)
def test_waiting_and_breakout_rooms_are_for_meetings_only(world, webinar, session):
    with pytest.raises(SimUsageError, match="meetings only"):
        play(world, webinar, one(**session))
    assert webinar.instances == []


def test_a_phone_and_a_failover_are_fine_in_a_webinar(world, webinar):
    script = one(failover_at=600)
    script["participants"][0]["phone"] = {"number": "+1555", "join": 0, "bind_at": 100}
    assert play(world, webinar, script)["attendance"]


def test_edges_that_are_allowed(world, meeting):
    script = one(
        waiting=60,
        rooms=[{"at": 60, "until": 600, "room": "Red"}, {"at": 600, "until": 900, "room": "Blue"}],
        put_back=[[900, 1000], [2900, None]],
        failover_at=1500,
    )
    plan = parse(world, meeting, script)
    [session] = plan.people[0].sessions
    assert [(s.at, s.kind) for s in session.steps()] == [
        (0, "enter"),
        (60, "admit"),
        (60, "room_in"),
        (600, "room_in"),  # straight from Red to Blue
        (900, "room_out"),
        (900, "put_back"),
        (1000, "readmit"),
        (1500, "failover"),
        (2900, "put_back"),
        (3000, "leave"),
    ]
    assert play(world, meeting, script)["waiting"]


def test_a_room_to_the_leave_ends_with_the_leave(world, meeting):
    plan = parse(world, meeting, one(rooms=[{"at": 600, "until": 3000, "room": "Red"}]))
    assert [s.kind for s in plan.people[0].sessions[0].steps()] == ["enter", "room_in", "leave"]


def test_old_scripts_read_as_before(world, meeting):
    plan = parse(world, meeting, {"participants": [{"name": "Ann"}], "host_joins": True})
    assert [p.person.name for p in plan.people] == ["Harper Host", "Ann"]
    assert plan.length == 3600 and not plan.practice and not plan.leave_main_for_rooms
    assert [s.kind for s in plan.people[1].sessions[0].steps()] == ["enter"]
