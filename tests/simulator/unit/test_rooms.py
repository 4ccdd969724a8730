"""Waiting rooms, breakout rooms, failovers, phone callers and practice sessions, played without HTTP.

Each test plays a script (zoomsim/life.py) and checks the webhooks in order, with the fields that tell
the stints apart, and the report's rows. What the events carry is Zoom's event reference's
(../shared/zoom/ZoomMeetingEventsSpec.json); test_every_body_matches_the_events_spec holds every body
to it.
"""

from __future__ import annotations

import pytest

from tests.simulator.event_spec import problems
from tests.simulator.unit.support import operator_of
from zoomsim.life import play

START = "2024-05-01T10:00:00Z"
BODY = {"topic": "Algebra", "type": 2, "start_time": START, "duration": 60, "timezone": "UTC"}
HOST_ENDED = "left the meeting.<br>Reason: Host ended the meeting."


def at(seconds: int) -> str:
    """The Zoom time `seconds` after 10:00 (scripts here run under an hour and a half)."""
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"2024-05-01T{10 + hour:02d}:{minute:02d}:{second:02d}Z"


@pytest.fixture
def meeting(world, host):
    made = world.create_meeting("meeting", host, {**BODY, "settings": {"approval_type": 0}}, operator_of(host))
    world.take_outbox()
    return made


@pytest.fixture
def webinar(world, host):
    made = world.create_meeting("webinar", host, {**BODY, "type": 5}, operator_of(host))
    world.take_outbox()
    return made


def played(world, meeting, script):
    result = play(world, meeting, {"start": START, "end_after": 3600, **script})
    return result, world.take_outbox()


def person(body: dict) -> dict:
    return body["payload"]["object"]["participant"]


def timeline(outbox: list[dict]) -> list[tuple]:
    """(event without its kind, user_id, the time it names) for every participant event, in order."""
    rows = []
    for body in outbox:
        p = body["payload"]["object"].get("participant")
        if p is not None:
            when = p.get("date_time") if "date_time" in p and "join_time" not in p else None
            when = when or p.get("join_time") or p.get("leave_time")
            rows.append((body["event"].split(".", 1)[1], p["user_id"], when))
    return rows


def ids(result: dict) -> list[str]:
    return [s["user_id"] for s in result["sessions"]]


def rows_of(world, meeting, *, report: bool = True, include_registrant: bool = True) -> list[dict]:
    return world.participant_rows(meeting.instances[-1], report=report, include_registrant=include_registrant)


def stints(rows: list[dict]) -> list[tuple]:
    return [(r["user_id"], r["status"], r["join_time"], r["leave_time"], r["duration"]) for r in rows]


# --- waiting room ----------------------------------------------------------------------------------

WAIT_THEN_ROOM = {
    "participants": [
        {
            "name": "Ann",
            "email": "ann@school.example",
            "sessions": [{"join": 0, "waiting": 120, "rooms": [{"at": 600, "until": 1800, "room": "Room 1"}]}],
        }
    ]
}


def test_waiting_then_admitted_then_a_room_and_back(world, meeting):
    result, outbox = played(world, meeting, WAIT_THEN_ROOM)
    waiting, main, room, back = ids(result)

    assert [b["event"] for b in outbox][0] == "meeting.started"
    assert [b["event"] for b in outbox][-1] == "meeting.ended"
    assert timeline(outbox) == [
        ("participant_joined_waiting_room", waiting, at(0)),
        ("participant_admitted", waiting, at(120)),
        ("participant_joined", main, at(120)),
        ("participant_joined_breakout_room", room, at(600)),
        ("participant_left_breakout_room", room, at(1800)),
        # no main-room leave nor join around the room (leave_main_for_rooms false): the webhooks still
        # know the device as `main`, and it leaves as `main` at the end
        ("participant_left", main, at(3600)),
    ]
    assert len({waiting, main, room, back}) == 4
    assert stints(rows_of(world, meeting)) == [
        (waiting, "in_waiting_room", at(0), at(120), 120),
        (main, "in_meeting", at(120), at(600), 480),
        (room, "in_meeting", at(600), at(1800), 1200),
        (back, "in_meeting", at(1800), at(3600), 1800),
    ]
    assert result["attendance"] == {"ann@school.example": 58 * 60}
    assert result["waiting"] == {"ann@school.example": 120}


def test_waiting_room_events_carry_date_time_and_the_participant(world, meeting):
    _, outbox = played(world, meeting, WAIT_THEN_ROOM)
    joined_waiting, admitted = (person(b) for b in outbox[1:3])
    for p, moment in ((joined_waiting, at(0)), (admitted, at(120))):
        assert p["date_time"] == moment
        assert "join_time" not in p and "leave_time" not in p
        assert (p["user_name"], p["email"]) == ("Ann", "ann@school.example")
    assert joined_waiting["participant_uuid"] == person(outbox[3])["participant_uuid"]


def test_never_admitted_leaves_from_the_waiting_room_with_a_participant_left(world, meeting):
    script = {"participants": [{"name": "Nia", "sessions": [{"join": 60, "leave": 300, "never_admitted": True}]}]}
    result, outbox = played(world, meeting, script)
    [waiting] = ids(result)

    assert timeline(outbox) == [
        ("participant_joined_waiting_room", waiting, at(60)),
        ("participant_left_waiting_room", waiting, at(300)),
        ("participant_left", waiting, at(300)),
    ]
    assert person(outbox[-2])["leave_reason"] == "Nia left the meeting.<br>Reason: Leave waiting room."
    assert stints(rows_of(world, meeting)) == [(waiting, "in_waiting_room", at(60), at(300), 240)]
    key = f"Nia ({person(outbox[1])['participant_uuid']})"
    assert result["attendance"] == {key: 0}
    assert result["waiting"] == {key: 240}


def test_still_waiting_when_the_meeting_ends(world, meeting):
    script = {"participants": [{"name": "Late", "sessions": [{"join": 3000, "never_admitted": True}]}]}
    result, outbox = played(world, meeting, script)
    [waiting] = ids(result)
    assert timeline(outbox) == [
        ("participant_joined_waiting_room", waiting, at(3000)),
        ("participant_left_waiting_room", waiting, at(3600)),
        ("participant_left", waiting, at(3600)),
    ]
    assert person(outbox[-2])["leave_reason"] == f"Late {HOST_ENDED}"


def test_put_back_for_ten_minutes_leaves_and_rejoins_the_meeting(world, meeting):
    script = {
        "participants": [{"name": "Pat", "email": "pat@school.example", "sessions": [{"put_back": [[1200, 1800]]}]}]
    }
    result, outbox = played(world, meeting, script)
    first, waiting, again = ids(result)

    assert timeline(outbox) == [
        ("participant_joined", first, at(0)),
        ("participant_put_in_waiting_room", first, at(1200)),
        ("participant_left", first, at(1200)),
        ("participant_admitted", waiting, at(1800)),
        ("participant_joined", again, at(1800)),
        ("participant_left", again, at(3600)),
    ]
    assert stints(rows_of(world, meeting)) == [
        (first, "in_meeting", at(0), at(1200), 1200),
        (waiting, "in_waiting_room", at(1200), at(1800), 600),
        (again, "in_meeting", at(1800), at(3600), 1800),
    ]
    assert result["attendance"] == {"pat@school.example": 50 * 60}
    assert result["waiting"] == {"pat@school.example": 600}


def test_put_back_and_never_readmitted_leaves_from_the_waiting_room(world, meeting):
    sessions = [{"join": 0, "leave": 3000, "put_back": [[2400, None]]}]
    result, outbox = played(world, meeting, {"participants": [{"name": "Pat", "sessions": sessions}]})
    first, waiting = ids(result)
    assert timeline(outbox) == [
        ("participant_joined", first, at(0)),
        ("participant_put_in_waiting_room", first, at(2400)),
        ("participant_left", first, at(2400)),
        ("participant_left_waiting_room", waiting, at(3000)),
        ("participant_left", waiting, at(3000)),
    ]
    assert "Leave waiting room." in person(outbox[-2])["leave_reason"]
    assert list(result["attendance"].values()) == [2400]
    assert list(result["waiting"].values()) == [600]


# --- breakout rooms --------------------------------------------------------------------------------


def test_breakout_room_events_name_the_room_and_the_main_room_user_id(world, meeting):
    result, outbox = played(world, meeting, WAIT_THEN_ROOM)
    _, main, room, _ = ids(result)
    joined, left = (b for b in outbox if "breakout_room" in b["event"])
    room_uuid = result["rooms"]["Room 1"]["breakout_room_uuid"]

    for body in (joined, left):
        obj = body["payload"]["object"]
        assert list(obj)[:3] == ["id", "uuid", "breakout_room_uuid"]
        assert obj["breakout_room_uuid"] == room_uuid
        assert obj["uuid"] == meeting.instances[0].uuid
        assert person(body)["user_id"] == room
        assert person(body)["parent_user_id"] == main
        assert person(body)["participant_uuid"] == person(outbox[3])["participant_uuid"]
    assert person(joined)["join_time"] == at(600) and "leave_time" not in person(joined)
    assert person(left)["leave_time"] == at(1800) and person(left)["leave_reason"] == "Ann left the meeting."


def test_leave_main_for_rooms_brackets_each_room_with_main_room_leave_and_join(world, meeting):
    result, outbox = played(world, meeting, {**WAIT_THEN_ROOM, "leave_main_for_rooms": True})
    waiting, main, room, back = ids(result)

    assert timeline(outbox) == [
        ("participant_joined_waiting_room", waiting, at(0)),
        ("participant_admitted", waiting, at(120)),
        ("participant_joined", main, at(120)),
        ("participant_left", main, at(600)),
        ("participant_joined_breakout_room", room, at(600)),
        ("participant_left_breakout_room", room, at(1800)),
        ("participant_joined", back, at(1800)),
        ("participant_left", back, at(3600)),
    ]
    assert person(outbox[5])["parent_user_id"] == main
    # the report is the same either way
    assert [r[1:] for r in stints(rows_of(world, meeting))] == [
        ("in_waiting_room", at(0), at(120), 120),
        ("in_meeting", at(120), at(600), 480),
        ("in_meeting", at(600), at(1800), 1200),
        ("in_meeting", at(1800), at(3600), 1800),
    ]
    assert result["attendance"] == {"ann@school.example": 58 * 60}


def test_room_rows_carry_bo_mtg_id_and_the_main_rows_none(world, meeting):
    result, _ = played(world, meeting, WAIT_THEN_ROOM)
    rows = rows_of(world, meeting)
    assert [r["bo_mtg_id"] for r in rows] == ["", "", result["rooms"]["Room 1"]["bo_mtg_id"], ""]
    assert result["rooms"]["Room 1"]["bo_mtg_id"] not in ("", result["rooms"]["Room 1"]["breakout_room_uuid"])
    assert all(r["failover"] is False for r in rows)
    assert all("bo_mtg_id" not in r for r in rows_of(world, meeting, report=False))  # past_meetings rows


def test_one_room_uuid_per_room_per_instance(world, meeting):
    def roomer(name, room):
        return {"name": name, "sessions": [{"rooms": [{"at": 60, "until": 120, "room": room}]}]}

    script = {"participants": [roomer("A", "Red"), roomer("B", "Red"), roomer("C", "Blue")]}
    first, outbox = played(world, meeting, script)
    joined = [b["payload"]["object"] for b in outbox if b["event"] == "meeting.participant_joined_breakout_room"]
    assert [o["breakout_room_uuid"] for o in joined] == [
        first["rooms"][r]["breakout_room_uuid"] for r in "Red Red Blue".split()
    ]
    assert first["rooms"]["Red"] != first["rooms"]["Blue"]
    second, _ = played(world, meeting, {**script, "start": "2024-05-02T10:00:00Z"})
    assert second["rooms"]["Red"]["breakout_room_uuid"] != first["rooms"]["Red"]["breakout_room_uuid"]


def test_straight_from_one_room_to_the_next_has_no_main_row_between(world, meeting):
    rooms = [{"at": 600, "until": 1200, "room": "Red"}, {"at": 1200, "until": 1800, "room": "Blue"}]
    result, outbox = played(world, meeting, {"participants": [{"name": "Bo", "sessions": [{"rooms": rooms}]}]})
    main, red, blue, back = ids(result)
    assert timeline(outbox) == [
        ("participant_joined", main, at(0)),
        ("participant_joined_breakout_room", red, at(600)),
        ("participant_left_breakout_room", red, at(1200)),
        ("participant_joined_breakout_room", blue, at(1200)),
        ("participant_left_breakout_room", blue, at(1800)),
        ("participant_left", main, at(3600)),
    ]
    assert [s["room"] for s in result["sessions"]] == ["", "Red", "Blue", ""]
    assert all(person(b)["parent_user_id"] == main for b in outbox if "breakout" in b["event"])


def test_leaving_the_meeting_from_a_room(world, meeting):
    sessions = [{"join": 0, "leave": 1800, "rooms": [{"at": 600, "until": 1800, "room": "Red"}]}]
    result, outbox = played(world, meeting, {"participants": [{"name": "Bo", "sessions": sessions}]})
    main, room = ids(result)
    assert timeline(outbox) == [
        ("participant_joined", main, at(0)),
        ("participant_joined_breakout_room", room, at(600)),
        ("participant_left_breakout_room", room, at(1800)),
        ("participant_left", main, at(1800)),  # the webhooks' main-room identity leaves too
    ]
    assert stints(rows_of(world, meeting))[-1] == (room, "in_meeting", at(600), at(1800), 1200)


def test_in_a_room_when_the_meeting_ends(world, meeting):
    sessions = [{"rooms": [{"at": 600, "until": 3600, "room": "Red"}]}]
    result, outbox = played(
        world, meeting, {"leave_main_for_rooms": True, "participants": [{"name": "Bo", "sessions": sessions}]}
    )
    main, room = ids(result)
    assert timeline(outbox) == [
        ("participant_joined", main, at(0)),
        ("participant_left", main, at(600)),
        ("participant_joined_breakout_room", room, at(600)),
        ("participant_left_breakout_room", room, at(3600)),
    ]
    assert person(outbox[-2])["leave_reason"] == f"Bo {HOST_ENDED}"
    assert result["attendance"] == {f"Bo ({person(outbox[1])['participant_uuid']})": 3600}


def test_room_rows_blank_drop_id_and_email_but_keep_registrant_and_zoom_user_ids(world, meeting):
    registrant, _ = world.register(meeting, {"email": "ann@school.example", "first_name": "Ann"})
    world.take_outbox()
    ann = {"name": "Ann", "email": "ann@school.example", "zoom_user_id": "zoom-ann", "room_rows_blank": True}
    ann["sessions"] = [{"rooms": [{"at": 600, "until": 1200, "room": "Red"}]}]
    _, outbox = played(world, meeting, {"participants": [ann]})

    main, room, back = rows_of(world, meeting)
    assert (room["id"], room["user_email"]) == ("", "")
    assert (room["registrant_id"], room["participant_user_id"]) == (registrant.id, "zoom-ann")
    for row in (main, back):
        assert (row["id"], row["user_email"], row["registrant_id"]) == ("zoom-ann", "ann@school.example", registrant.id)
    assert "registrant_id" not in rows_of(world, meeting, include_registrant=False)[1]
    # the room's webhooks still say who it is
    joined = next(person(b) for b in outbox if b["event"] == "meeting.participant_joined_breakout_room")
    assert (joined["email"], joined["registrant_id"], joined["participant_user_id"]) == (
        "ann@school.example",
        registrant.id,
        "zoom-ann",
    )


# --- failover --------------------------------------------------------------------------------------


def test_failover_overlaps_the_old_connection_by_a_few_seconds(world, meeting):
    script = {
        "participants": [
            {"name": "Fay", "email": "fay@school.example", "sessions": [{"leave": 3000, "failover_at": 1000}]}
        ]
    }
    result, outbox = played(world, meeting, script)
    old, new = ids(result)

    assert timeline(outbox) == [
        ("participant_joined", old, at(0)),
        ("participant_joined", new, at(1000)),
        ("participant_left", old, at(1005)),
        ("participant_left", new, at(3000)),
    ]
    assert (
        person(outbox[3])["leave_reason"]
        == "Fay got disconnected from the meeting.<br>Reason: Network connection error."
    )
    rows = rows_of(world, meeting)
    assert [(r["user_id"], r["join_time"], r["leave_time"], r["failover"]) for r in rows] == [
        (old, at(0), at(1005), False),
        (new, at(1000), at(3000), True),
    ]
    assert result["attendance"] == {"fay@school.example": 3000}  # the overlap counts once


def test_failover_after_a_silent_room_move_leaves_under_the_user_id_the_webhooks_know(world, meeting):
    sessions = [{"leave": 3000, "rooms": [{"at": 600, "until": 1200, "room": "Red"}], "failover_at": 2000}]
    result, outbox = played(world, meeting, {"participants": [{"name": "Fay", "sessions": sessions}]})
    main, room, back, new = ids(result)
    assert timeline(outbox)[2:] == [
        ("participant_left_breakout_room", room, at(1200)),
        ("participant_joined", new, at(2000)),
        ("participant_left", main, at(2005)),  # the row `back`, under the id the webhooks know
        ("participant_left", new, at(3000)),
    ]
    assert [s["failover"] for s in result["sessions"]] == [False, False, False, True]


# --- phone callers ----------------------------------------------------------------------------------


def phil(**phone):
    return {
        "name": "Phil",
        "email": "phil@school.example",
        "sessions": [{"join": 0, "leave": 1800}],
        "phone": {"number": "+15550100", "join": 1500, "leave": 3000, **phone},
    }


def test_a_phone_caller_joins_named_by_its_number_and_binds(world, meeting):
    registrant, _ = world.register(meeting, {"email": "phil@school.example", "first_name": "Phil"})
    world.take_outbox()
    result, outbox = played(world, meeting, {"participants": [phil(bind_at=1600)]})
    computer, phone = ids(result)

    assert timeline(outbox) == [
        ("participant_joined", computer, at(0)),
        ("participant_joined", phone, at(1500)),
        ("participant_bind", phone, at(1500)),  # join_time: when the phone joined
        ("participant_left", computer, at(1800)),
        ("participant_left", phone, at(3000)),
    ]
    joined, bound = person(outbox[2]), person(outbox[3])
    assert (joined["user_name"], joined["email"], joined["phone_number"]) == ("+15550100", "", "+15550100")
    assert joined["participant_uuid"] != person(outbox[1])["participant_uuid"]  # a participant of its own
    assert bound == {
        "user_id": phone,
        "bind_user_id": computer,
        "user_name": "+15550100",
        "id": "",
        "participant_uuid": joined["participant_uuid"],
        "bind_participant_uuid": person(outbox[1])["participant_uuid"],
        "date_time": at(1600),
        "registrant_id": registrant.id,
        "phone_number": "+15550100",
        "join_time": at(1500),
    }
    assert outbox[3]["event"] == "meeting.participant_bind"
    assert outbox[3]["event_ts"] == meeting.instances[0].start_time.timestamp() * 1000 + 1600 * 1000
    assert [(r["name"], r["user_email"]) for r in rows_of(world, meeting)] == [
        ("Phil", "phil@school.example"),
        ("+15550100", ""),
    ]
    assert result["attendance"] == {"phil@school.example": 3000}  # computer and bound phone, once


def test_a_webinar_bind_has_join_time_and_no_date_time(world, webinar):
    result, outbox = played(world, webinar, {"participants": [phil(bind_at=1600)]})
    [bind] = [b for b in outbox if b["event"].endswith("bind")]
    assert bind["event"] == "webinar.participant_bind"
    assert "date_time" not in person(bind)
    assert person(bind)["join_time"] == at(1500)
    assert person(bind)["bind_user_id"] == ids(result)[0]
    assert person(bind)["registrant_id"] == ""


def test_an_unbound_phone_caller_is_a_participant_of_its_own(world, meeting):
    result, outbox = played(world, meeting, {"participants": [phil()]})
    assert not [b for b in outbox if b["event"].endswith("bind")]
    phone_key = f"+15550100 ({person(outbox[2])['participant_uuid']})"
    assert result["attendance"] == {"phil@school.example": 1800, phone_key: 1500}


def test_a_phone_binds_to_the_connection_in_the_meeting_now(world, meeting):
    someone = phil(join=1050, bind_at=1100)
    someone["sessions"] = [{"join": 0, "leave": 1800, "failover_at": 1000}]
    result, outbox = played(world, meeting, {"participants": [someone]})
    [bind] = [person(b) for b in outbox if b["event"].endswith("bind")]
    assert bind["bind_user_id"] == ids(result)[1]  # the reconnected one


# --- practice sessions ------------------------------------------------------------------------------


def test_a_practice_session_ends_with_practice_session_true(world, webinar):
    result, outbox = played(world, webinar, {"practice": True, "participants": [{"name": "Pan"}]})
    started, ended = outbox[0], outbox[-1]
    assert (started["event"], ended["event"]) == ("webinar.started", "webinar.ended")
    assert "practice_session" not in started["payload"]["object"]
    assert ended["payload"]["object"]["practice_session"] is True
    assert list(ended["payload"]["object"])[-2:] == ["end_time", "practice_session"]
    assert result["practice"] is True
    assert list(result["attendance"].values()) == [3600]  # counted, and flagged
    assert len(rows_of(world, webinar)) == 1


def test_a_live_webinar_ends_with_practice_session_false_and_a_meeting_without_it(world, webinar, meeting):
    result, outbox = played(world, webinar, {})
    assert outbox[-1]["payload"]["object"]["practice_session"] is False
    assert result["practice"] is False
    _, outbox = played(world, meeting, {})
    assert "practice_session" not in outbox[-1]["payload"]["object"]


def test_practice_and_live_runs_are_both_ended_instances(world, webinar, host):
    practice, _ = played(world, webinar, {"practice": True})
    live, _ = played(world, webinar, {"start": "2024-05-01T12:00:00Z"})
    assert [(i.uuid, i.practice) for i in webinar.instances] == [(practice["uuid"], True), (live["uuid"], False)]
    assert world.past_instance("webinar", practice["uuid"], host.account_id).practice is True


# --- the bodies against Zoom's reference ------------------------------------------------------------

SCRIPTS = {
    "waiting and rooms": WAIT_THEN_ROOM,
    "rooms with main-room leaves": {**WAIT_THEN_ROOM, "leave_main_for_rooms": True},
    "never admitted": {
        "participants": [{"name": "Nia", "sessions": [{"join": 60, "leave": 300, "never_admitted": True}]}]
    },
    "put back": {"participants": [{"name": "Pat", "sessions": [{"put_back": [[600, 900], [1200, None]]}]}]},
    "failover": {"participants": [{"name": "Fay", "sessions": [{"failover_at": 1000}]}]},
    "phone": {"participants": [phil(bind_at=1600), {"name": "Uma", "phone": {"number": "+15550199", "join": 10}}]},
}


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_body_matches_the_events_spec(world, meeting, webinar, name):
    _, outbox = played(world, meeting, SCRIPTS[name])
    assert problems(outbox) == []


@pytest.mark.parametrize("script", [{"practice": True, "participants": [phil(bind_at=1600)]}, {}])
def test_every_webinar_body_matches_the_events_spec(world, webinar, script):
    _, outbox = played(world, webinar, script)
    assert problems(outbox) == []
