"""zoomsim/presence.py: the simulator's own attendance, counted by Zoom's rule.

Waiting-room time never counts ("The time a participant spends in the waiting room does not count
towards their meeting minutes", Zoom's help KB0063329); breakout-room time is meeting time; overlapping
rows of one person (failover, two devices) count once; a phone caller who bound counts for that
attendee, an unbound one for itself; a practice session is counted and flagged.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.simulator.unit.support import T0, operator_of
from zoomsim import presence
from zoomsim.life import play
from zoomsim.world import Instance, Session

BODY = {"topic": "Algebra", "type": 2, "start_time": "2024-05-01T10:00:00Z", "duration": 60, "timezone": "UTC"}
ANN = "ann@school.example"


@pytest.fixture
def meeting(world, host):
    made = world.create_meeting("meeting", host, dict(BODY), operator_of(host))
    world.take_outbox()
    return made


def ann(*sessions: dict, **extra) -> dict:
    return {"name": "Ann", "email": ANN, "sessions": list(sessions), **extra}


def counted(world, meeting, *people: dict, **script) -> dict:
    result = play(world, meeting, {"end_after": 3600, "participants": list(people), **script})
    assert result["attendance"] == world.attendance(meeting.instances[-1])  # one rule, wherever asked
    return result


def test_two_minutes_waiting_and_twenty_in_a_room_of_an_hour_is_58_minutes(world, meeting):
    session = {"join": 0, "waiting": 120, "rooms": [{"at": 600, "until": 1800, "room": "Red"}]}
    result = counted(world, meeting, ann(session))
    assert result["attendance"] == {ANN: 58 * 60}
    assert result["waiting"] == {ANN: 2 * 60}


def test_the_same_whether_or_not_the_room_move_leaves_the_main_room(world, meeting):
    session = {"join": 0, "waiting": 120, "rooms": [{"at": 600, "until": 1800, "room": "Red"}]}
    assert counted(world, meeting, ann(session), leave_main_for_rooms=True)["attendance"] == {ANN: 58 * 60}


def test_never_admitted_attended_nothing(world, meeting):
    result = counted(world, meeting, ann({"join": 60, "leave": 900, "never_admitted": True}))
    assert result["attendance"] == {ANN: 0}
    assert result["waiting"] == {ANN: 840}


def test_ten_minutes_put_back_in_the_waiting_room_are_excluded(world, meeting):
    result = counted(world, meeting, ann({"join": 0, "put_back": [[1200, 1800]]}))
    assert result["attendance"] == {ANN: 50 * 60}
    assert result["waiting"] == {ANN: 10 * 60}


def test_a_failover_overlap_counts_once(world, meeting):
    result = counted(world, meeting, ann({"join": 0, "leave": 3000, "failover_at": 1000}))
    assert result["attendance"] == {ANN: 3000}  # rows of 1005 and 2000 seconds overlapping by 5
    assert result["waiting"] == {}


def test_a_bound_phone_counts_for_its_attendee_once(world, meeting):
    phone = {"number": "+15550100", "join": 1500, "leave": 3000, "bind_at": 1600}
    result = counted(world, meeting, ann({"join": 0, "leave": 1800}, phone=phone))
    assert result["attendance"] == {ANN: 3000}  # 0-1800 on the computer, 1500-3000 on the phone


def test_an_unbound_phone_is_its_own_participant(world, meeting):
    result = counted(world, meeting, ann({"join": 0, "leave": 1800}, phone={"number": "+15550100", "join": 1500}))
    phone_uuid = next(s.participant_uuid for s in meeting.instances[0].sessions if s.phone_number)
    assert result["attendance"] == {ANN: 1800, f"+15550100 ({phone_uuid})": 2100}


def test_waiting_on_one_device_while_in_on_another_is_no_waiting(world, meeting):
    laptop = {"join": 0, "leave": 1200}
    phone_app = {"join": 600, "waiting": 900}  # waits 600-1500, 600 of it while the laptop is in
    result = counted(world, meeting, ann(laptop, phone_app))
    assert result["attendance"] == {ANN: 1200 + (3600 - 1500)}
    assert result["waiting"] == {ANN: 300}


def test_guests_keep_the_name_and_participant_uuid_key(world, meeting):
    result = counted(world, meeting, {"name": "Guest", "sessions": [{"join": 0, "waiting": 60}]})
    [key] = result["attendance"]
    assert key == f"Guest ({meeting.instances[0].sessions[0].participant_uuid})"
    assert result["attendance"] == {key: 3540} and result["waiting"] == {key: 60}


def test_a_practice_session_is_counted_and_flagged(world, host):
    webinar = world.create_meeting("webinar", host, {**BODY, "type": 5}, operator_of(host))
    result = play(world, webinar, {"end_after": 1800, "practice": True, "participants": [ann({"join": 0})]})
    assert result["practice"] is True
    assert result["attendance"] == {ANN: 1800}


# --- the rule on rows made by hand ------------------------------------------------------------------


def row(start: int, stop: int | None, **fields) -> Session:
    fields = {"name": "Ann", "email": ANN, "participant_uuid": "u-ann", **fields}
    end = None if stop is None else T0 + timedelta(seconds=stop)
    return Session(
        user_id=str(start),
        participant_user_id="",
        registrant_id="",
        join_time=T0 + timedelta(seconds=start),
        leave_time=end,
        **fields,
    )


def test_rows_of_a_running_instance_count_only_when_closed():
    instance = Instance("uuid", 1, T0, sessions=[row(0, 600), row(600, None)])
    assert presence.attendance(instance) == {ANN: 600}


def test_a_bound_phone_counts_for_the_person_of_that_participant_uuid():
    phone = row(300, 900, name="+1555", email="", participant_uuid="u-phone", phone_number="+1555")
    phone.bound_participant_uuid = "u-ann"
    instance = Instance("uuid", 1, T0, end_time=T0 + timedelta(hours=1), sessions=[row(0, 600), phone])
    assert presence.attendance(instance) == {ANN: 900}


def test_waiting_rows_never_count_and_rooms_do():
    rows = [row(0, 100, status="in_waiting_room"), row(100, 500), row(500, 800, room="Red"), row(800, 1000)]
    instance = Instance("uuid", 1, T0, end_time=T0 + timedelta(hours=1), sessions=rows)
    assert presence.attendance(instance) == {ANN: 900}
    assert presence.waiting(instance) == {ANN: 100}
