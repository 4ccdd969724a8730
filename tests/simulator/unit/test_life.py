"""zoomsim/life.py: a whole meeting played from a script, and the scripts `crowd` writes for large webinars."""

from __future__ import annotations

import math
import random

import pytest

from tests.simulator.unit.support import operator_of
from zoomsim.life import crowd, play
from zoomsim.world import SimUsageError

BODY = {"topic": "Algebra", "type": 2, "start_time": "2024-05-01T10:00:00Z", "duration": 60, "timezone": "UTC"}

SCRIPT = {
    "start": "2024-05-01T10:00:00Z",
    "end_after": 3600,
    "participants": [
        # rejoins
        {
            "name": "Ann",
            "email": "ann@school.example",
            "sessions": [{"join": 0, "leave": 600}, {"join": 900, "leave": 1800}],
        },
        # two devices at once
        {
            "name": "Bob",
            "email": "bob@school.example",
            "sessions": [{"join": 300, "leave": 1200}, {"join": 600, "leave": 1500}],
        },
        # leaves after the end
        {"name": "Cy", "email": "cy@school.example", "sessions": [{"join": 60, "leave": 4000}]},
        # the leave webhook is lost
        {"name": "Di", "email": "di@school.example", "sessions": [{"join": 120, "leave": 700, "lose_leave": True}]},
    ],
}


@pytest.fixture
def meeting(world, host):
    made = world.create_meeting("meeting", host, dict(BODY), operator_of(host))
    world.take_outbox()
    return made


def played(world, meeting, script):
    result = play(world, meeting, script)
    return result, world.take_outbox()


def person(body):
    return body["payload"]["object"]["participant"]


# --- play ------------------------------------------------------------------------------------


def test_play_runs_the_whole_meeting(world, meeting):
    result, outbox = played(world, meeting, SCRIPT)
    assert result["start_time"] == "2024-05-01T10:00:00Z"
    assert result["end_time"] == "2024-05-01T11:00:00Z"
    assert outbox[0]["event"] == "meeting.started"
    assert outbox[-1]["event"] == "meeting.ended"
    assert meeting.live is None
    assert result["uuid"] == meeting.instances[0].uuid != meeting.uuid


def test_play_sessions_at_their_offsets(world, meeting):
    result, _ = played(world, meeting, SCRIPT)
    sessions = sorted((s["name"], s["join_time"], s["leave_time"], s["leave_lost"]) for s in result["sessions"])
    assert sessions == [
        ("Ann", "2024-05-01T10:00:00Z", "2024-05-01T10:10:00Z", False),
        ("Ann", "2024-05-01T10:15:00Z", "2024-05-01T10:30:00Z", False),
        ("Bob", "2024-05-01T10:05:00Z", "2024-05-01T10:20:00Z", False),
        ("Bob", "2024-05-01T10:10:00Z", "2024-05-01T10:25:00Z", False),
        ("Cy", "2024-05-01T10:01:00Z", "2024-05-01T11:00:00Z", False),
        ("Di", "2024-05-01T10:02:00Z", "2024-05-01T10:11:40Z", True),
    ]


def test_play_attendance(world, meeting):
    result, _ = played(world, meeting, SCRIPT)
    assert result["attendance"] == {
        "ann@school.example": 600 + 900,  # rejoin adds
        "bob@school.example": 1500 - 300,  # two devices count once
        "cy@school.example": 3600 - 60,  # clipped to the end
        "di@school.example": 700 - 120,  # lost leave still counted where it happened
    }


def test_play_webhooks_carry_the_scripted_times_in_order(world, meeting):
    _, outbox = played(world, meeting, SCRIPT)
    stamps = [body["event_ts"] for body in outbox]
    assert stamps == sorted(stamps)
    joins = sorted(person(b)["join_time"] for b in outbox if b["event"] == "meeting.participant_joined")
    assert joins == [
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:01:00Z",
        "2024-05-01T10:02:00Z",
        "2024-05-01T10:05:00Z",
        "2024-05-01T10:10:00Z",
        "2024-05-01T10:15:00Z",
    ]


def test_play_lost_leave_sends_no_left_event(world, meeting):
    _, outbox = played(world, meeting, SCRIPT)
    left = [person(b) for b in outbox if b["event"] == "meeting.participant_left"]
    assert len(left) == 5
    assert "Di" not in {p["user_name"] for p in left}


def test_play_leave_after_the_end_is_clipped_to_the_end(world, meeting):
    _, outbox = played(world, meeting, SCRIPT)
    cy = [person(b) for b in outbox if b["event"] == "meeting.participant_left" and person(b)["user_name"] == "Cy"]
    assert len(cy) == 1
    assert cy[0]["leave_time"] == "2024-05-01T11:00:00Z"
    assert "Host ended the meeting" in cy[0]["leave_reason"]


def test_play_report_agrees_with_the_webhooks_and_knows_the_lost_leave(world, meeting):
    play(world, meeting, SCRIPT)
    rows = world.participant_rows(meeting.instances[0], report=True, include_registrant=True)
    di = [r for r in rows if r["name"] == "Di"]
    assert [(r["leave_time"], r["duration"]) for r in di] == [("2024-05-01T10:11:40Z", 580)]
    assert sum(r["duration"] for r in rows) == 600 + 900 + 900 + 900 + 3540 + 580


def test_play_two_devices_share_one_participant_uuid(world, meeting):
    play(world, meeting, SCRIPT)
    bob = [s for s in meeting.instances[0].sessions if s.name == "Bob"]
    assert len(bob) == 2
    assert bob[0].participant_uuid == bob[1].participant_uuid
    assert bob[0].user_id != bob[1].user_id


def test_play_defaults_to_the_meetings_start_and_duration(world, host):
    meeting = world.create_meeting("meeting", host, {**BODY, "duration": 45}, operator_of(host))
    result = play(world, meeting, {"participants": [{"name": "Ann"}]})
    assert result["start_time"] == "2024-05-01T10:00:00Z"
    assert result["end_time"] == "2024-05-01T10:45:00Z"
    assert result["sessions"][0]["join_time"] == "2024-05-01T10:00:00Z"  # no sessions: one from the start
    assert result["attendance"] == {"Ann (" + meeting.instances[0].sessions[0].participant_uuid + ")": 45 * 60}


def test_play_instant_meeting_without_duration_lasts_an_hour(world, host):
    meeting = world.create_meeting("meeting", host, {**BODY, "duration": 0}, operator_of(host))
    assert play(world, meeting, {})["end_time"] == "2024-05-01T11:00:00Z"


def test_play_host_joins(world, meeting, host):
    result, outbox = played(world, meeting, {"end_after": 600, "host_joins": True})
    assert [s["email"] for s in result["sessions"]] == [host.email]
    joined = [person(b) for b in outbox if b["event"] == "meeting.participant_joined"]
    assert joined[0]["participant_user_id"] == host.id
    assert result["attendance"] == {host.email: 600}


def test_play_with_a_given_uuid(world, meeting):
    assert play(world, meeting, {"end_after": 60, "uuid": "abc//def=="})["uuid"] == "abc//def=="


def test_play_join_after_the_end_is_clipped_to_the_end(world, meeting):
    result = play(world, meeting, {"end_after": 600, "participants": [{"name": "Late", "sessions": [{"join": 900}]}]})
    assert result["sessions"][0]["join_time"] == result["sessions"][0]["leave_time"] == "2024-05-01T10:10:00Z"


def test_play_leave_and_rejoin_in_the_same_second(world, meeting):
    script = {"end_after": 600, "participants": [{"name": "Ann", "sessions": [{"join": 0, "leave": 60}, {"join": 60}]}]}
    _, outbox = played(world, meeting, script)
    events = [b["event"].split(".")[1] for b in outbox]
    assert events == [
        "started",
        "participant_joined",
        "participant_left",
        "participant_joined",
        "participant_left",
        "ended",
    ]


def test_play_can_run_a_meeting_again(world, meeting):
    first = play(world, meeting, {"end_after": 60})
    second = play(world, meeting, {"start": "2024-05-02T10:00:00Z", "end_after": 60})
    assert first["uuid"] != second["uuid"]
    assert second["start_time"] == "2024-05-02T10:00:00Z"


def test_play_on_a_live_meeting_is_misuse(world, meeting):
    world.start(meeting)
    with pytest.raises(SimUsageError):
        play(world, meeting, {"end_after": 60})


@pytest.mark.parametrize(
    "script",
    [
        {"start": "tomorrow"},
        {"start": "2024-05-01T10:00:00+01:00"},
        {"end_after": -1},
        {"end_after": "an hour"},
        {"end_after": True},
        {"participants": [{"email": "x@school.example"}]},
        {"participants": [{"name": ""}]},
        {"participants": [{"name": "Ann", "sessions": [{"join": -5}]}]},
        {"participants": [{"name": "Ann", "sessions": [{"join": "10"}]}]},
        {"participants": [{"name": "Ann", "sessions": [{"join": True}]}]},
        {"participants": [{"name": "Ann", "sessions": [{"join": 100, "leave": 50}]}]},
        {"participants": [{"name": "Ann", "sessions": [{"join": 0, "leave": -1}]}]},
        {"participants": [{"name": "Ann", "sessions": [{"join": 0, "leave": "soon"}]}]},
    ],
)
def test_invalid_scripts_raise_sim_usage_error_and_leave_the_meeting_alone(world, meeting, script):
    with pytest.raises(SimUsageError):
        play(world, meeting, script)
    assert meeting.live is None
    assert meeting.instances == []
    assert world.take_outbox() == []


def test_nan_join_is_an_invalid_script(world, meeting):
    # Python's JSON reader accepts NaN; it is no number of seconds after the start.
    with pytest.raises(SimUsageError):
        play(world, meeting, {"participants": [{"name": "Ann", "sessions": [{"join": math.nan}]}]})
    assert meeting.live is None


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_non_finite_length_is_an_invalid_script(world, meeting, value):
    with pytest.raises(SimUsageError):
        play(world, meeting, {"end_after": value})
    assert meeting.live is None


def test_join_at_infinity_is_an_invalid_script_and_nothing_starts(world, meeting):
    with pytest.raises(SimUsageError):
        play(world, meeting, {"end_after": 60, "participants": [{"name": "Ann", "sessions": [{"join": math.inf}]}]})
    assert meeting.live is None and world.take_outbox() == []


# --- crowd -----------------------------------------------------------------------------------


def test_crowd_is_deterministic_for_a_seed():
    assert crowd(300, 3600, random.Random(5)) == crowd(300, 3600, random.Random(5))
    assert crowd(300, 3600, random.Random(5)) != crowd(300, 3600, random.Random(6))


def test_crowd_size_and_length():
    script = crowd(250, 5400, random.Random(1))
    assert script["end_after"] == 5400
    assert len(script["participants"]) == 250
    assert crowd(0, 3600, random.Random(1)) == {"end_after": 3600, "participants": []}


def test_crowd_people_are_well_formed():
    script = crowd(2000, 3600, random.Random(2), email_domain="uni.example")
    names = [p["name"] for p in script["participants"]]
    assert len(set(names)) == len(names)
    for n, someone in enumerate(script["participants"]):
        if someone["email"]:
            assert someone["name"] == f"Attendee {n}"
            assert someone["email"] == f"attendee{n}@uni.example"
        else:
            assert someone["name"] == f"Guest {n}"
        assert 1 <= len(someone["sessions"]) <= 3
        for session in someone["sessions"]:
            assert 0 <= session["join"] <= session["leave"] <= 3600
        assert someone["sessions"][0]["join"] <= 3600 // 4


def kinds(someone):
    sessions = someone["sessions"]
    rejoin = len(sessions) >= 2 and sessions[1]["join"] > sessions[0]["leave"]
    devices = len(sessions) == 3 or (len(sessions) == 2 and not rejoin)
    lost = any(s.get("lose_leave") for s in sessions)
    return rejoin, devices, lost, someone["email"] == ""


def shares(script):
    people = [kinds(p) for p in script["participants"]]
    return [sum(flags[i] for flags in people) / len(people) for i in range(4)]


def test_crowd_shares_are_roughly_as_asked_by_default():
    rejoin, devices, lost, guests = shares(crowd(20000, 3600, random.Random(3)))
    assert rejoin == pytest.approx(0.2, abs=0.02)  # a little under: too short a stay cannot rejoin
    assert devices == pytest.approx(0.1, abs=0.01)
    assert lost == pytest.approx(0.01, abs=0.003)
    assert guests == pytest.approx(0.05, abs=0.01)


def test_crowd_shares_are_roughly_as_asked_when_set():
    script = crowd(
        20000,
        7200,
        random.Random(4),
        devices_share=0.3,
        rejoin_share=0.5,
        lost_leave_share=0.1,
        guest_share=0.25,
    )
    rejoin, devices, lost, guests = shares(script)
    assert rejoin == pytest.approx(0.5, abs=0.03)
    assert devices == pytest.approx(0.3, abs=0.02)
    assert lost == pytest.approx(0.1, abs=0.01)
    assert guests == pytest.approx(0.25, abs=0.02)


def test_crowd_shares_of_zero_give_plain_attendees():
    script = crowd(500, 3600, random.Random(5), devices_share=0, rejoin_share=0, lost_leave_share=0, guest_share=0)
    assert all(kinds(p) == (False, False, False, False) for p in script["participants"])
    assert all(len(p["sessions"]) == 1 for p in script["participants"])


def test_crowd_script_plays(world, host):
    webinar = world.create_meeting("webinar", host, {"topic": "Lecture", "type": 5}, operator_of(host))
    world.take_outbox()
    script = crowd(400, 3600, random.Random(6), lost_leave_share=0.05)
    result = play(world, webinar, script)
    outbox = world.take_outbox()
    sessions = sum(len(p["sessions"]) for p in script["participants"])
    lost = sum(1 for p in script["participants"] for s in p["sessions"] if s.get("lose_leave") and s["leave"] < 3600)
    assert len(result["sessions"]) == sessions
    assert sum(b["event"] == "webinar.participant_joined" for b in outbox) == sessions
    assert sum(b["event"] == "webinar.participant_left" for b in outbox) == sessions - lost
    assert lost > 0
    assert len(result["attendance"]) == 400
    assert all(0 <= seconds <= 3600 for seconds in result["attendance"].values())
