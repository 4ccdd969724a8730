"""Users, meetings and webinars over HTTP: shapes, time zones, the webinar add-on, validation, permissions."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.simulator.conftest import Api
from tests.simulator.integration.helpers import (
    account_token,
    add_app,
    add_user,
    create_meeting,
    create_webinar,
    owner_id,
    user_id_by_email,
    user_tokens,
)

BASIC_EMAIL = "basic@zoomsim.example"


def _errors_name(body: dict, field: str) -> bool:
    return any(error["field"] == field for error in body.get("errors", []))


# --- users ---------------------------------------------------------------------------------


def test_users_me_is_the_licensed_account_owner(sim, api: Api):
    response = api("GET", "/users/me")

    assert response.status_code == 200
    me = response.json()
    assert me["id"] == owner_id(sim)
    assert me["type"] == 2
    assert me["email"] == sim.sim.config.host_email
    assert me["account_id"] == sim.sim.config.account_id
    assert me["role_name"] == "Owner"


def test_a_user_by_id_and_the_basic_user_has_type_1(sim, api: Api):
    basic_id = user_id_by_email(sim, BASIC_EMAIL)

    by_id = api("GET", f"/users/{basic_id}")
    by_email = api("GET", f"/users/{BASIC_EMAIL}")

    assert by_id.status_code == 200
    assert by_id.json()["type"] == 1
    assert by_id.json()["email"] == BASIC_EMAIL
    assert by_email.json()["id"] == basic_id


def test_an_unknown_user_is_404_code_1001(sim, api: Api):
    response = api("GET", "/users/nobody-here")

    assert response.status_code == 404
    assert response.json() == {"code": 1001, "message": "User does not exist: nobody-here."}


def test_user_settings_show_meeting_capacity_and_the_webinar_add_on(sim, api: Api):
    cfg = sim.sim.config
    plain = add_user(sim, "plain@zoomsim.example", meeting_capacity=100)

    owner = api("GET", "/users/me/settings").json()["feature"]
    other = api("GET", f"/users/{plain['id']}/settings").json()["feature"]

    assert owner["meeting_capacity"] == cfg.meeting_capacity
    assert owner["webinar"] is True
    assert owner["webinar_capacity"] == cfg.webinar_capacity
    assert other["meeting_capacity"] == 100
    assert other["webinar"] is False
    assert other["webinar_capacity"] == 0


# --- meetings: create and read --------------------------------------------------------------


def test_create_meeting_answers_201_with_a_big_id_uuid_and_links(sim, api: Api):
    response = api(
        "POST", "/users/me/meetings", json={"topic": "Week 1", "type": 2, "start_time": "2030-06-01T10:00:00Z"}
    )

    assert response.status_code == 201
    meeting = response.json()
    assert isinstance(meeting["id"], int)
    assert meeting["id"] > 2**32
    assert isinstance(meeting["uuid"], str) and meeting["uuid"]
    assert meeting["join_url"].startswith("http")
    assert meeting["start_url"].startswith("http")
    assert str(meeting["id"]) in meeting["join_url"]
    assert meeting["topic"] == "Week 1"
    assert meeting["host_id"] == owner_id(sim)


def test_create_meeting_converts_local_start_time_to_utc(sim, api: Api):
    body = {"topic": "Berlin", "type": 2, "start_time": "2030-06-01T10:00:00", "timezone": "Europe/Berlin"}
    winter = {**body, "start_time": "2030-01-15T10:00:00"}

    summer_meeting = api("POST", "/users/me/meetings", json=body).json()
    winter_meeting = api("POST", "/users/me/meetings", json=winter).json()

    assert summer_meeting["start_time"] == "2030-06-01T08:00:00Z"
    assert summer_meeting["timezone"] == "Europe/Berlin"
    assert winter_meeting["start_time"] == "2030-01-15T09:00:00Z"
    assert api("GET", f"/meetings/{summer_meeting['id']}").json()["start_time"] == "2030-06-01T08:00:00Z"


def test_create_meeting_with_a_utc_start_time_keeps_it(sim, api: Api):
    meeting = create_meeting(api, start_time="2030-06-01T10:00:00Z", timezone="America/New_York")

    assert meeting["start_time"] == "2030-06-01T10:00:00Z"


def test_create_meeting_with_registration_settings_shows_them_and_a_registration_url(sim, api: Api):
    meeting = create_meeting(api, settings={"approval_type": 0, "registration_type": 1})

    assert meeting["settings"]["approval_type"] == 0
    assert meeting["settings"]["registration_type"] == 1
    assert meeting["registration_url"]
    fetched = api("GET", f"/meetings/{meeting['id']}").json()
    assert fetched["settings"]["approval_type"] == 0
    assert "registration_url" not in create_meeting(api)


def test_start_url_changes_on_every_get(sim, api: Api):
    meeting = create_meeting(api)

    first = api("GET", f"/meetings/{meeting['id']}").json()["start_url"]
    second = api("GET", f"/meetings/{meeting['id']}").json()["start_url"]

    assert first != second
    assert first != meeting["start_url"]


# --- webinars ------------------------------------------------------------------------------


def test_webinar_create_needs_the_webinar_add_on(sim, api: Api):
    without = add_user(sim, "no-webinar@zoomsim.example")

    refused = api("POST", f"/users/{without['id']}/webinars", json={"topic": "Webinar", "type": 5})

    assert refused.status_code == 400
    assert refused.json()["code"] == 200
    assert "Webinar plan is missing" in refused.json()["message"]


def test_webinar_create_for_a_host_with_the_add_on_is_201(sim, api: Api):
    webinar = create_webinar(api)

    fetched = api("GET", f"/webinars/{webinar['id']}")

    assert fetched.status_code == 200
    assert fetched.json()["type"] == 5
    assert fetched.json()["id"] > 2**32


# --- update, delete, unknown ids ---------------------------------------------------------------


def test_patch_answers_204_and_get_shows_the_change(sim, api: Api):
    meeting = create_meeting(api, topic="Before")

    patched = api("PATCH", f"/meetings/{meeting['id']}", json={"topic": "After", "duration": 90})

    assert patched.status_code == 204
    assert patched.content == b""
    fetched = api("GET", f"/meetings/{meeting['id']}").json()
    assert fetched["topic"] == "After"
    assert fetched["duration"] == 90


def test_schedule_for_hands_the_meeting_to_another_host_and_keeps_its_links(sim, api: Api):
    meeting = create_meeting(api, topic="Handed over")
    new_host = add_user(sim, "second.host@zoomsim.example", type=2)

    patched = api("PATCH", f"/meetings/{meeting['id']}", json={"schedule_for": "second.host@zoomsim.example"})

    assert patched.status_code == 204
    fetched = api("GET", f"/meetings/{meeting['id']}").json()
    assert (fetched["host_id"], fetched["host_email"]) == (new_host["id"], "second.host@zoomsim.example")
    assert (fetched["id"], fetched["join_url"], fetched["password"]) == (
        meeting["id"],
        meeting["join_url"],
        meeting["password"],
    )


def test_schedule_for_a_user_outside_the_account_is_404_code_1001(sim, api: Api):
    meeting = create_meeting(api, topic="Stays")

    patched = api("PATCH", f"/meetings/{meeting['id']}", json={"schedule_for": "nobody@elsewhere.example"})

    assert patched.status_code == 404 and patched.json()["code"] == 1001
    assert api("GET", f"/meetings/{meeting['id']}").json()["host_id"] == meeting["host_id"]


def test_a_patched_local_start_time_is_read_in_the_meetings_time_zone(sim, api: Api):
    meeting = create_meeting(api, timezone="America/New_York", start_time="2030-06-01T10:00:00Z")

    patched = api("PATCH", f"/meetings/{meeting['id']}", json={"start_time": "2030-07-01T09:30:00"})

    assert patched.status_code == 204
    fetched = api("GET", f"/meetings/{meeting['id']}").json()
    assert fetched["start_time"] == "2030-07-01T13:30:00Z"
    assert fetched["timezone"] == "America/New_York"


def test_delete_answers_204_then_the_meeting_is_404_3001(sim, api: Api):
    meeting = create_meeting(api)

    deleted = api("DELETE", f"/meetings/{meeting['id']}")
    after = api("GET", f"/meetings/{meeting['id']}")

    assert deleted.status_code == 204
    assert after.status_code == 404
    assert after.json() == {"code": 3001, "message": f"Meeting does not exist: {meeting['id']}."}


def test_unknown_meeting_ids_are_404_3001_with_zooms_message(sim, api: Api):
    for method in ("GET", "PATCH", "DELETE"):
        response = api(method, "/meetings/81234567890", json={"topic": "x"} if method == "PATCH" else None)
        assert response.status_code == 404, method
        assert response.json() == {"code": 3001, "message": "Meeting does not exist: 81234567890."}, method


def test_an_unknown_webinar_is_404_3001_webinar_does_not_exist(sim, api: Api):
    response = api("GET", "/webinars/81234567890")

    assert response.status_code == 404
    assert response.json() == {"code": 3001, "message": "Webinar does not exist: 81234567890."}


# --- validation ----------------------------------------------------------------------------


def test_an_unknown_body_field_is_refused_when_validating(sim, api: Api):
    response = api("POST", "/users/me/meetings", json={"topic": "Typo", "type": 2, "duratoin": 60})

    if sim.sim.validator is not None:
        assert response.status_code == 400
        assert response.json()["code"] == 300
        assert _errors_name(response.json(), "duratoin")
    else:
        assert response.status_code == 201  # unvalidated, the simulator ignores it as Zoom does


def test_a_wrong_type_is_400_code_300_naming_the_field(sim, api: Api):
    response = api("POST", "/users/me/meetings", json={"topic": "Wrong", "type": 2, "duration": "sixty"})

    assert response.status_code == 400
    assert response.json()["code"] == 300
    assert _errors_name(response.json(), "duration")


def test_a_topic_over_200_characters_is_400_code_300(sim, api: Api):
    response = api("POST", "/users/me/meetings", json={"topic": "t" * 201, "type": 2})

    assert response.status_code == 400
    assert response.json()["code"] == 300
    assert _errors_name(response.json(), "topic")
    assert api("POST", "/users/me/meetings", json={"topic": "t" * 200, "type": 2}).status_code == 201


def test_a_duration_over_1440_is_400_code_300(sim, api: Api):
    response = api("POST", "/users/me/meetings", json={"topic": "Long", "type": 2, "duration": 1441})

    assert response.status_code == 400
    assert response.json()["code"] == 300
    assert _errors_name(response.json(), "duration")


def test_a_patch_with_a_too_long_topic_is_refused_and_changes_nothing(sim, api: Api):
    meeting = create_meeting(api, topic="Kept")

    response = api("PATCH", f"/meetings/{meeting['id']}", json={"topic": "t" * 201})

    assert response.status_code == 400
    assert response.json()["code"] == 300
    assert _errors_name(response.json(), "topic")
    assert api("GET", f"/meetings/{meeting['id']}").json()["topic"] == "Kept"


def test_page_size_301_is_400_code_300(sim, api: Api):
    response = api("GET", "/users/me/meetings", params={"page_size": 301})

    assert response.status_code == 400
    assert response.json()["code"] == 300
    assert _errors_name(response.json(), "page_size")
    assert api("GET", "/users/me/meetings", params={"page_size": 300}).status_code == 200


# --- permissions and scopes ------------------------------------------------------------------


def test_a_user_level_token_cannot_act_on_another_user(sim, api: Api):
    add_app(sim, "user-level-app", "user", ["meeting:read", "meeting:write", "user:read"])
    token = user_tokens(sim, "user-level-app")["access_token"]
    basic_id = user_id_by_email(sim, BASIC_EMAIL)
    others = create_meeting(api, user=basic_id)

    create = api("POST", f"/users/{basic_id}/meetings", token=token, json={"topic": "Not mine", "type": 2})
    read = api("GET", f"/meetings/{others['id']}", token=token)
    own = api("POST", "/users/me/meetings", token=token, json={"topic": "Mine", "type": 2})

    assert create.status_code == 400
    assert create.json() == {"code": 200, "message": "No permission."}
    assert read.status_code == 400
    assert read.json()["code"] == 200
    assert own.status_code == 201


def test_a_server_to_server_token_acts_for_any_user_of_the_account(sim, api: Api):
    basic_id = user_id_by_email(sim, BASIC_EMAIL)

    meeting = create_meeting(api, user=basic_id)

    assert meeting["host_id"] == basic_id
    assert meeting["host_email"] == BASIC_EMAIL


def test_a_token_without_the_meeting_scopes_is_400_code_4711(sim, api: Api):
    add_app(sim, "narrow-s2s", "s2s", ["user:read:admin"])
    answer = account_token(sim, "narrow-s2s", "narrow-s2s-secret", sim.sim.config.account_id)
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]

    refused = api("POST", "/users/me/meetings", token=token, json={"topic": "No scope", "type": 2})
    allowed = api("GET", "/users/me", token=token)

    assert refused.status_code == 400
    assert refused.json()["code"] == 4711
    assert "meeting:write" in refused.json()["message"]
    assert allowed.status_code == 200


# --- status ------------------------------------------------------------------------------------


def test_put_status_end_ends_a_live_meeting(sim, api: Api, control):
    meeting = create_meeting(api)
    control.call("POST", f"/meetings/{meeting['id']}/start")
    assert api("GET", f"/meetings/{meeting['id']}").json()["status"] == "started"

    response = api("PUT", f"/meetings/{meeting['id']}/status", json={"action": "end"})

    assert response.status_code == 204
    assert api("GET", f"/meetings/{meeting['id']}").json()["status"] == "waiting"
    instances = control.meeting(meeting["id"])["instances"]
    assert len(instances) == 1
    assert instances[0]["end_time"]
    past = api("GET", f"/past_meetings/{meeting['id']}/instances").json()["meetings"]
    assert [row["uuid"] for row in past] == [instances[0]["uuid"]]


def test_the_start_url_starts_the_meeting(sim, api: Api):
    meeting = create_meeting(api)
    start_url = api("GET", f"/meetings/{meeting['id']}").json()["start_url"]
    assert parse_qs(urlsplit(start_url).query)["zak"]

    opened = api.http.get(start_url, timeout=10)

    assert opened.status_code == 200
    assert api("GET", f"/meetings/{meeting['id']}").json()["status"] == "started"


def test_instant_and_pmi_meetings_have_no_duration_and_no_time_zone(sim, api: Api, control, receiver):
    # As real deliveries of instant meetings and Zoom's sample PMI show (shared/zoom/README.md, Payload quirks).
    for meeting_type in (1, 4):
        meeting = control.create_meeting(topic=f"Type {meeting_type}", type=meeting_type, duration=45)
        seen = api("GET", f"/meetings/{meeting['id']}").json()
        assert (seen["type"], seen["duration"], seen["timezone"]) == (meeting_type, 0, "")
        control.call("POST", f"/meetings/{meeting['id']}/start")
        control.wait_for_webhooks()
        started = [b for b in receiver.bodies() if b["event"] == "meeting.started"][-1]["payload"]["object"]
        assert (started["duration"], started["timezone"]) == (0, "")


def test_instant_meetings_are_not_listed(sim, api: Api, control):
    control.create_meeting(topic="Now", type=1)
    scheduled = create_meeting(api, topic="Later")
    listed = api("GET", "/users/me/meetings").json()["meetings"]
    assert [m["id"] for m in listed] == [scheduled["id"]]
