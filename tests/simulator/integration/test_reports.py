"""Reports and past meetings over HTTP: one row per join session, pages, instances, uuid encoding, report timing."""

from __future__ import annotations

from urllib.parse import quote

from tests.simulator.conftest import Api
from tests.simulator.integration.helpers import (
    advance_clock,
    all_pages,
    create_meeting,
    create_webinar,
    encode_uuid,
    register,
    registration_meeting,
    s2s_api,
    simulator,
)

START = "2030-06-01T10:00:00Z"
SCRIPT = {
    "start": START,
    "end_after": 3600,
    "participants": [
        {
            "name": "Ann Able",
            "email": "ann@example.com",
            "sessions": [{"join": 0, "leave": 600}, {"join": 900, "leave": 1800}],
        },
        {"name": "Phone Guest", "sessions": [{"join": 60, "leave": 1200}]},
        {
            "name": "Lou Lost",
            "email": "lou@example.com",
            "sessions": [{"join": 120, "leave": 2400, "lose_leave": True}],
        },
        {"name": "Reg Ister", "email": "reg@example.com", "sessions": [{"join": 300}]},
    ],
}
# (name, email, join, leave, duration in seconds): one row per join session, in join order.
EXPECTED_ROWS = [
    ("Ann Able", "ann@example.com", "2030-06-01T10:00:00Z", "2030-06-01T10:10:00Z", 600),
    ("Phone Guest", "", "2030-06-01T10:01:00Z", "2030-06-01T10:20:00Z", 1140),
    ("Lou Lost", "lou@example.com", "2030-06-01T10:02:00Z", "2030-06-01T10:40:00Z", 2280),
    ("Reg Ister", "reg@example.com", "2030-06-01T10:05:00Z", "2030-06-01T11:00:00Z", 3300),
    ("Ann Able", "ann@example.com", "2030-06-01T10:15:00Z", "2030-06-01T10:30:00Z", 900),
]


def _summary(rows: list[dict]) -> list[tuple]:
    return [(r["name"], r["user_email"], r["join_time"], r["leave_time"], r["duration"]) for r in rows]


def _flat(pages: list[list[dict]]) -> list[dict]:
    return [row for page in pages for row in page]


def _played(api: Api, control, script: dict = SCRIPT) -> tuple[dict, dict, str]:
    """A registration meeting where Reg Ister registered, played through `script`: (meeting, play, registrant_id)."""
    meeting = registration_meeting(api, start_time=START)
    registrant_id = register(api, meeting["id"], "reg@example.com", first_name="Reg").json()["registrant_id"]
    played = control.play(meeting["id"], script)
    return meeting, played, registrant_id


# --- the participants report -------------------------------------------------------------------


def test_the_report_has_a_row_per_session_on_every_page(sim, api: Api, control):
    meeting, _, _ = _played(api, control)

    first = api("GET", f"/report/meetings/{meeting['id']}/participants", params={"page_size": 2}).json()
    pages = all_pages(api, f"/report/meetings/{meeting['id']}/participants", "participants", page_size=2)

    assert first["total_records"] == 5
    assert first["page_count"] == 3
    assert [len(page) for page in pages] == [2, 2, 1]
    assert _summary(_flat(pages)) == EXPECTED_ROWS


def test_a_lost_leave_event_still_has_its_leave_time_in_the_report(sim, api: Api, control, receiver):
    meeting, _, _ = _played(api, control)
    assert control.wait_for_webhooks(timeout=10)

    left = [b for b in receiver.bodies() if b["event"] == "meeting.participant_left"]
    rows = _flat(all_pages(api, f"/report/meetings/{meeting['id']}/participants", "participants"))

    assert "Lou Lost" not in [b["payload"]["object"]["participant"]["user_name"] for b in left]
    [lou] = [row for row in rows if row["name"] == "Lou Lost"]
    assert lou["leave_time"] == "2030-06-01T10:40:00Z"
    assert lou["duration"] == 2280


def test_include_fields_registrant_id_shows_registrant_ids_and_without_it_none(sim, api: Api, control):
    meeting, _, registrant_id = _played(api, control)
    path = f"/report/meetings/{meeting['id']}/participants"

    with_ids = _flat(all_pages(api, path, "participants", include_fields="registrant_id"))
    without = _flat(all_pages(api, path, "participants"))

    assert {row["name"]: row["registrant_id"] for row in with_ids}["Reg Ister"] == registrant_id
    assert [row["registrant_id"] for row in with_ids if row["name"] != "Reg Ister"] == ["", "", "", ""]
    assert all("registrant_id" not in row for row in without)
    assert _summary(without) == EXPECTED_ROWS


def test_past_meeting_participants_by_uuid(sim, api: Api, control):
    _, played, registrant_id = _played(api, control)

    pages = all_pages(api, f"/past_meetings/{encode_uuid(played['uuid'])}/participants", "participants", page_size=2)

    rows = _flat(pages)
    assert [(r["name"], r["user_email"], r["duration"]) for r in rows] == [(n, e, d) for n, e, _, _, d in EXPECTED_ROWS]
    assert [r["registrant_id"] for r in rows if r["name"] == "Reg Ister"] == [registrant_id]


# --- instances --------------------------------------------------------------------------------


def test_two_runs_make_two_instances_and_the_meeting_id_means_the_latest(sim, api: Api, control):
    meeting, first, _ = _played(api, control)
    second = control.play(
        meeting["id"],
        {
            "start": "2030-06-08T10:00:00Z",
            "end_after": 1800,
            "participants": [{"name": "Zed Second", "email": "zed@example.com"}],
        },
    )

    instances = api("GET", f"/past_meetings/{meeting['id']}/instances")
    by_id = api("GET", f"/report/meetings/{meeting['id']}/participants").json()["participants"]
    by_first_uuid = api("GET", f"/report/meetings/{encode_uuid(first['uuid'])}/participants").json()["participants"]
    past_by_second = api("GET", f"/past_meetings/{encode_uuid(second['uuid'])}/participants").json()["participants"]

    assert instances.status_code == 200
    uuids = [row["uuid"] for row in instances.json()["meetings"]]
    assert sorted(uuids) == sorted([first["uuid"], second["uuid"]])
    assert first["uuid"] != second["uuid"]
    assert [row["name"] for row in by_id] == ["Zed Second"]
    assert _summary(by_first_uuid) == EXPECTED_ROWS
    assert [row["name"] for row in past_by_second] == ["Zed Second"]


# --- uuids in paths ----------------------------------------------------------------------------


def test_a_uuid_starting_with_slash_works_only_double_encoded(sim, api: Api, control):
    meeting = create_meeting(api)
    control.call("POST", f"/meetings/{meeting['id']}/start", {"uuid": "/abc//def=="})
    control.call("POST", f"/meetings/{meeting['id']}/end")
    once = quote("/abc//def==", safe="")
    twice = quote(once, safe="")

    assert api("GET", f"/past_meetings/{once}/participants").status_code == 404
    assert api("GET", f"/report/meetings/{once}/participants").status_code == 404
    assert api("GET", f"/past_meetings/{twice}/participants").status_code == 200
    assert api("GET", f"/report/meetings/{twice}/participants").status_code == 200


def test_a_uuid_holding_a_double_slash_works_only_double_encoded(sim, api: Api, control):
    meeting = create_meeting(api)
    control.call("POST", f"/meetings/{meeting['id']}/start", {"uuid": "xy//zw+A=="})
    control.call("POST", f"/meetings/{meeting['id']}/end")
    once = quote("xy//zw+A==", safe="")
    twice = quote(once, safe="")

    assert api("GET", f"/past_meetings/{once}/participants").status_code == 404
    assert api("GET", f"/report/meetings/{once}/participants").status_code == 404
    assert api("GET", f"/past_meetings/{twice}/participants").status_code == 200
    assert api("GET", f"/report/meetings/{twice}/participants").status_code == 200


def test_a_uuid_with_one_slash_inside_works_single_encoded(sim, api: Api, control):
    meeting = create_meeting(api)
    control.call("POST", f"/meetings/{meeting['id']}/start", {"uuid": "ab/cd+ef=="})
    control.call("POST", f"/meetings/{meeting['id']}/join", {"name": "Solo", "email": "solo@example.com"})
    control.call("POST", f"/meetings/{meeting['id']}/end")
    once = quote("ab/cd+ef==", safe="")

    past = api("GET", f"/past_meetings/{once}/participants")
    report = api("GET", f"/report/meetings/{once}/participants")

    assert past.status_code == 200
    assert [row["name"] for row in past.json()["participants"]] == ["Solo"]
    assert report.status_code == 200
    assert [row["name"] for row in report.json()["participants"]] == ["Solo"]


def test_a_uuid_sent_without_encoding_names_nothing(sim, api: Api, control):
    # Not encoded, the `/` inside is a path separator: Zoom routes such a path nowhere.
    meeting = create_meeting(api)
    control.call("POST", f"/meetings/{meeting['id']}/start", {"uuid": "ab/cd+ef=="})
    control.call("POST", f"/meetings/{meeting['id']}/end")

    assert api("GET", "/past_meetings/ab/cd+ef==/participants").status_code == 404
    assert api("GET", "/report/meetings/ab/cd+ef==/participants").status_code == 404


# --- when a report exists ------------------------------------------------------------------------


def test_no_report_before_the_meeting_ended(sim, api: Api, control):
    meeting = create_meeting(api)
    never_started = api("GET", f"/report/meetings/{meeting['id']}/participants")
    live = control.call("POST", f"/meetings/{meeting['id']}/start")

    by_id = api("GET", f"/report/meetings/{meeting['id']}/participants")
    by_uuid = api("GET", f"/report/meetings/{encode_uuid(live['uuid'])}/participants")

    for response in (never_started, by_id, by_uuid):
        assert response.status_code == 404
        assert response.json()["code"] == 3001
    control.call("POST", f"/meetings/{meeting['id']}/end")
    assert api("GET", f"/report/meetings/{meeting['id']}/participants").status_code == 200


def test_an_unknown_meeting_report_is_404_with_zooms_message(sim, api: Api):
    response = api("GET", "/report/meetings/81234567890/participants")

    assert response.status_code == 404
    assert response.json() == {"code": 3001, "message": "Meeting 81234567890 not found or has expired."}


def test_the_report_appears_only_after_report_delay():
    with simulator(report_delay=60) as running:
        api = s2s_api(running)
        meeting = create_meeting(api)
        running.control.play(meeting["id"], SCRIPT)

        early = api("GET", f"/report/meetings/{meeting['id']}/participants")
        advance_clock(running, 30)
        still_early = api("GET", f"/report/meetings/{meeting['id']}/participants")
        advance_clock(running, 31)
        ready = api("GET", f"/report/meetings/{meeting['id']}/participants")

    assert early.status_code == 404
    assert early.json()["code"] == 3001
    assert still_early.status_code == 404
    assert ready.status_code == 200
    assert len(ready.json()["participants"]) == 5


def test_report_durations_read_zero_until_the_report_settles():
    with simulator(report_settle=300) as running:
        api = s2s_api(running)
        meeting = create_meeting(api)
        running.control.play(meeting["id"], SCRIPT)

        unsettled = api("GET", f"/report/meetings/{meeting['id']}/participants")
        advance_clock(running, 301)
        settled = api("GET", f"/report/meetings/{meeting['id']}/participants")

    assert unsettled.status_code == 200
    assert [row["duration"] for row in unsettled.json()["participants"]] == [0] * 5
    assert [(r["join_time"], r["leave_time"]) for r in unsettled.json()["participants"]] == [
        (j, le) for _, _, j, le, _ in EXPECTED_ROWS
    ]
    assert _summary(settled.json()["participants"]) == EXPECTED_ROWS


def test_a_next_page_token_expires_after_15_minutes(sim, api: Api, control):
    meeting, _, _ = _played(api, control)
    path = f"/report/meetings/{meeting['id']}/participants"
    first = api("GET", path, params={"page_size": 2}).json()

    advance_clock(sim, 600)
    second = api("GET", path, params={"page_size": 2, "next_page_token": first["next_page_token"]})
    advance_clock(sim, 901)
    third = api("GET", path, params={"page_size": 2, "next_page_token": second.json()["next_page_token"]})

    assert second.status_code == 200
    assert len(second.json()["participants"]) == 2
    assert third.status_code == 400
    assert third.json()["code"] == 300


# --- webinars ---------------------------------------------------------------------------------


def test_webinar_report_past_participants_and_instances(sim, api: Api, control):
    webinar = create_webinar(api)
    played = control.play(webinar["id"], SCRIPT)

    report = _flat(all_pages(api, f"/report/webinars/{webinar['id']}/participants", "participants", page_size=2))
    past = _flat(all_pages(api, f"/past_webinars/{encode_uuid(played['uuid'])}/participants", "participants"))
    instances = api("GET", f"/past_webinars/{webinar['id']}/instances")

    assert _summary(report) == EXPECTED_ROWS
    assert [(r["name"], r["duration"]) for r in past] == [(n, d) for n, _, _, _, d in EXPECTED_ROWS]
    assert instances.status_code == 200
    assert [row["uuid"] for row in instances.json()["webinars"]] == [played["uuid"]]


def test_an_unknown_webinar_report_is_404_naming_the_webinar(sim, api: Api):
    """Zoom's description of GET /report/webinars/{webinarId}/participants: 3001 'Webinar "{id}" not found...'."""
    response = api("GET", "/report/webinars/81234567890/participants")

    assert response.status_code == 404
    assert response.json()["code"] == 3001
    assert response.json()["message"].startswith("Webinar")
    assert "81234567890" in response.json()["message"]
