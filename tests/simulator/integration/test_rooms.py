"""Waiting rooms, breakout rooms, failovers, phone binds and practice sessions over HTTP.

A script goes through the `/_sim/meetings/<id>/play` lever; the webhooks arrive signed at a receiver,
the rows come from `/v2/report/...` and `/v2/past_...`, as the service would see them.
"""

from __future__ import annotations

import pytest

from tests.simulator.conftest import Api
from tests.simulator.event_spec import problems
from tests.simulator.integration.helpers import (
    all_pages,
    create_webinar,
    encode_uuid,
    register,
    registration_meeting,
)

START = "2030-06-01T10:00:00Z"
SCRIPT = {
    "start": START,
    "end_after": 3600,
    "participants": [
        {
            "name": "Ann Able",
            "email": "ann@example.com",
            "room_rows_blank": True,
            "sessions": [{"join": 0, "waiting": 120, "rooms": [{"at": 600, "until": 1200, "room": "Red"}]}],
        },
        {
            "name": "Fay Fail",
            "email": "fay@example.com",
            "sessions": [{"join": 60, "leave": 3000, "failover_at": 1800}],
        },
        {
            "name": "Phil Phone",
            "email": "phil@example.com",
            "sessions": [{"join": 300, "leave": 2400}],
            "phone": {"number": "+15550100", "join": 1000, "leave": 3300, "bind_at": 1100},
        },
        {"name": "Nia Never", "sessions": [{"join": 90, "leave": 400, "never_admitted": True}]},
    ],
}
# (event, who) in the order Zoom would send them: every stint's webhooks, at the scripted seconds.
EXPECTED_EVENTS = [
    ("meeting.started", None),
    ("meeting.participant_joined_waiting_room", "Ann Able"),  # 0
    ("meeting.participant_joined", "Fay Fail"),  # 60
    ("meeting.participant_joined_waiting_room", "Nia Never"),  # 90
    ("meeting.participant_admitted", "Ann Able"),  # 120
    ("meeting.participant_joined", "Ann Able"),
    ("meeting.participant_joined", "Phil Phone"),  # 300
    ("meeting.participant_left_waiting_room", "Nia Never"),  # 400
    ("meeting.participant_left", "Nia Never"),
    ("meeting.participant_joined_breakout_room", "Ann Able"),  # 600
    ("meeting.participant_joined", "+15550100"),  # 1000
    ("meeting.participant_bind", "+15550100"),  # 1100
    ("meeting.participant_left_breakout_room", "Ann Able"),  # 1200
    ("meeting.participant_joined", "Fay Fail"),  # 1800, the reconnect
    ("meeting.participant_left", "Fay Fail"),  # 1805, the old connection
    ("meeting.participant_left", "Phil Phone"),  # 2400
    ("meeting.participant_left", "Fay Fail"),  # 3000
    ("meeting.participant_left", "+15550100"),  # 3300
    ("meeting.participant_left", "Ann Able"),  # 3600, the host ends it
    ("meeting.ended", None),
]


def settle(control) -> None:
    assert control.wait_for_webhooks(30), "the simulator did not finish delivering in time"


def meeting_life(bodies: list[dict]) -> list[dict]:
    first = next(n for n, b in enumerate(bodies) if b["event"] == "meeting.started")
    return bodies[first:]


def who(body: dict) -> str | None:
    participant = body["payload"]["object"].get("participant")
    return participant["user_name"] if participant else None


@pytest.fixture
def played(api: Api, control, receiver):
    meeting = registration_meeting(api, start_time=START)
    registrant_id = register(api, meeting["id"], "ann@example.com", first_name="Ann").json()["registrant_id"]
    result = control.play(meeting["id"], SCRIPT)
    settle(control)
    return meeting, result, registrant_id


def test_every_stint_arrives_as_its_webhooks_in_order(played, receiver):
    _, result, registrant_id = played
    bodies = meeting_life(receiver.bodies())

    assert [(b["event"], who(b)) for b in bodies] == EXPECTED_EVENTS
    assert problems(bodies) == []
    assert {b["payload"]["object"]["uuid"] for b in bodies} == {result["uuid"]}
    by_event = {}
    for body in bodies:
        by_event.setdefault(body["event"], []).append(body["payload"]["object"])
    [admitted] = by_event["meeting.participant_admitted"]
    assert admitted["participant"]["date_time"] == "2030-06-01T10:02:00Z"
    assert admitted["participant"]["registrant_id"] == registrant_id
    [room_in] = by_event["meeting.participant_joined_breakout_room"]
    ann_main = by_event["meeting.participant_joined"][1]["participant"]["user_id"]
    assert room_in["participant"]["parent_user_id"] == ann_main
    assert room_in["breakout_room_uuid"] == result["rooms"]["Red"]["breakout_room_uuid"]
    [bind] = by_event["meeting.participant_bind"]
    phil_main = by_event["meeting.participant_joined"][2]["participant"]
    assert bind["participant"]["bind_user_id"] == phil_main["user_id"]
    assert bind["participant"]["bind_participant_uuid"] == phil_main["participant_uuid"]
    assert bind["participant"]["date_time"] == "2030-06-01T10:18:20Z"
    # without main-room webhooks around the room, Ann leaves at the end under her first main-room user_id
    assert bodies[-2]["payload"]["object"]["participant"]["user_id"] == ann_main


def test_the_play_answer_counts_attendance_as_zoom_does(played, receiver):
    _, result, _ = played
    nia_uuid = next(b for b in receiver.bodies() if who(b) == "Nia Never")["payload"]["object"]["participant"]
    nia = f"Nia Never ({nia_uuid['participant_uuid']})"
    assert result["attendance"] == {
        "ann@example.com": 3600 - 120,  # waiting excluded, the room included
        "fay@example.com": 3000 - 60,  # the failover's overlap once
        "phil@example.com": 3300 - 300,  # computer 300-2400, bound phone 1000-3300
        nia: 0,
    }
    assert result["waiting"] == {"ann@example.com": 120, nia: 310}
    assert result["practice"] is False
    assert [s["status"] for s in result["sessions"]].count("in_waiting_room") == 2


def test_the_report_has_a_row_per_stint_with_status_rooms_failover_and_blank_ids(played, api: Api):
    meeting, result, registrant_id = played
    path = f"/report/meetings/{meeting['id']}/participants"
    rows = [row for page in all_pages(api, path, "participants", include_fields="registrant_id") for row in page]
    red = result["rooms"]["Red"]["bo_mtg_id"]

    assert [
        (r["name"], r["status"], r["join_time"][11:], r["leave_time"][11:], r["bo_mtg_id"], r["failover"]) for r in rows
    ] == [
        ("Ann Able", "in_waiting_room", "10:00:00Z", "10:02:00Z", "", False),
        ("Fay Fail", "in_meeting", "10:01:00Z", "10:30:05Z", "", False),
        ("Nia Never", "in_waiting_room", "10:01:30Z", "10:06:40Z", "", False),
        ("Ann Able", "in_meeting", "10:02:00Z", "10:10:00Z", "", False),
        ("Phil Phone", "in_meeting", "10:05:00Z", "10:40:00Z", "", False),
        ("Ann Able", "in_meeting", "10:10:00Z", "10:20:00Z", red, False),
        ("+15550100", "in_meeting", "10:16:40Z", "10:55:00Z", "", False),
        ("Ann Able", "in_meeting", "10:20:00Z", "11:00:00Z", "", False),
        ("Fay Fail", "in_meeting", "10:30:00Z", "10:50:00Z", "", True),
    ]
    ann = [r for r in rows if r["name"] == "Ann Able"]
    assert [(r["user_email"], r["registrant_id"]) for r in ann] == [
        ("ann@example.com", registrant_id),
        ("ann@example.com", registrant_id),
        ("", registrant_id),  # the breakout row without email (room_rows_blank), registrant_id kept
        ("ann@example.com", registrant_id),
    ]
    assert len({r["user_id"] for r in rows}) == len(rows)  # every stint its own user_id
    assert [r["user_email"] for r in rows if r["name"] == "+15550100"] == [""]


def test_past_meeting_rows_carry_status_and_no_room_id(played, api: Api):
    _, result, _ = played
    path = f"/past_meetings/{encode_uuid(result['uuid'])}/participants"
    rows = [row for page in all_pages(api, path, "participants") for row in page]
    assert [r["status"] for r in rows].count("in_waiting_room") == 2
    assert all("bo_mtg_id" not in r for r in rows)
    assert [r["failover"] for r in rows] == [False] * 8 + [True]


def test_a_practice_session_is_an_ended_instance_with_its_report(sim, api: Api, control, receiver):
    webinar = create_webinar(api)
    practice = control.play(
        webinar["id"], {"start": START, "end_after": 900, "practice": True, "participants": [{"name": "Pan"}]}
    )
    live = control.play(
        webinar["id"], {"start": "2030-06-01T11:00:00Z", "end_after": 3600, "participants": [{"name": "Lea"}]}
    )
    settle(control)

    ended = [b["payload"]["object"] for b in receiver.bodies() if b["event"] == "webinar.ended"]
    assert [(o["uuid"], o["practice_session"]) for o in ended] == [(practice["uuid"], True), (live["uuid"], False)]
    assert all(
        "practice_session" not in b["payload"]["object"] for b in receiver.bodies() if b["event"] == "webinar.started"
    )
    assert (practice["practice"], live["practice"]) == (True, False)

    instances = api("GET", f"/past_webinars/{webinar['id']}/instances")
    assert instances.status_code == 200
    assert [i["uuid"] for i in instances.json()["webinars"]] == [practice["uuid"], live["uuid"]]
    report = api("GET", f"/report/webinars/{encode_uuid(practice['uuid'])}/participants")
    assert report.status_code == 200
    assert [(r["name"], r["duration"]) for r in report.json()["participants"]] == [("Pan", 900)]
    assert problems([b for b in receiver.bodies() if b["event"].startswith("webinar.")]) == []


def test_the_start_lever_starts_a_practice_session_of_a_webinar_only(sim, api: Api, control, receiver):
    webinar = create_webinar(api)
    control.call("POST", f"/meetings/{webinar['id']}/start", {"practice": True})
    control.call("POST", f"/meetings/{webinar['id']}/end")
    settle(control)
    assert [b["payload"]["object"]["practice_session"] for b in receiver.bodies() if b["event"] == "webinar.ended"] == [
        True
    ]

    meeting = registration_meeting(api)
    with pytest.raises(RuntimeError, match="400.*only a webinar has practice sessions"):
        control.call("POST", f"/meetings/{meeting['id']}/start", {"practice": True})


@pytest.mark.parametrize(
    ("session", "message"),
    [
        (
            {"join": 0, "leave": 600, "rooms": [{"at": 500, "until": 900, "room": "Red"}]},
            "room 0 lies outside its session",
        ),
        ({"join": 0, "put_back": [[-10, 60]]}, "put_back 0: at must be a number of seconds"),
        ({"join": 0, "waiting": -60}, "waiting must be a number of seconds"),
        ({"join": 0, "leave": 600, "failover_at": 900}, "failover_at must fall while they are in the meeting"),
    ],
)
def test_the_play_lever_refuses_a_bad_script_and_plays_nothing(api: Api, control, receiver, session, message):
    meeting = registration_meeting(api, start_time=START)
    response = control.http.post(
        f"{control.url}/_sim/meetings/{meeting['id']}/play",
        json={"participants": [{"name": "Ann", "sessions": [session]}]},
        timeout=10,
    )
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert control.meeting(meeting["id"])["instances"] == []


def test_the_meeting_lever_shows_every_stint(played, control):
    meeting, _, _ = played
    [instance] = control.meeting(meeting["id"])["instances"]
    assert [(s["name"], s["status"], s["room"], s["failover"]) for s in instance["sessions"]][5:] == [
        ("Ann Able", "in_meeting", "Red", False),
        ("+15550100", "in_meeting", "", False),
        ("Ann Able", "in_meeting", "", False),
        ("Fay Fail", "in_meeting", "", True),
    ]
    assert instance["attendance"]["ann@example.com"] == 3480
