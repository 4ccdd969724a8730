"""The LMS JSON API: authentication, validation, and the shapes it answers with."""

from __future__ import annotations

import pytest

from tests.helpers import AUTH, STAFF, acting


def post(client, path, body, headers=AUTH):
    return client.post(f"/api/v1{path}", json=body, headers=headers)


@pytest.fixture
def academy(client):
    return post(client, "/academies", {"name": "Safety Academy"}).json


@pytest.fixture
def organizer(client):
    return post(client, "/users", STAFF | {"email": "Org@Example.org", "name": "Org"}).json


def training_body(academy, organizer, **overrides):
    body = {
        "academy_id": academy["id"],
        "theme": "Forklift basics",
        "start_time": "2026-12-01T10:00:00+01:00",
        "duration": 60,
        "timezone": "Europe/Berlin",
        "meeting_type": "meeting",
        "organizer_id": organizer["id"],
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-api-token"}])
def test_api_requires_the_bearer_token(client, headers):
    response = post(client, "/academies", {"name": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/api/v1/trainings/1", headers=headers).status_code == 401


def test_create_academy_and_user(client):
    academy = post(client, "/academies", {"name": "A"})
    assert academy.status_code == 201
    assert academy.json == {"id": academy.json["id"], "name": "A", "create_zoom_meetings": "on_save"}
    user = post(client, "/users", {"email": "ann@example.org", "name": "Ann", "zoom_user_id": "z-ann"})
    assert user.status_code == 201
    assert user.json["email"] == "ann@example.org" and user.json["name"] == "Ann"


def test_email_is_unique_case_insensitively(client):
    assert post(client, "/users", {"email": "ann@example.org", "name": "Ann"}).status_code == 201
    response = post(client, "/users", {"email": "ANN@Example.org", "name": "Ann again"})
    assert response.status_code == 409


def test_create_and_read_a_training_times_in_utc_with_z(client, academy, organizer):
    created = post(
        client,
        "/trainings",
        training_body(academy, organizer, description="Bring boots"),
        headers=acting(organizer["id"]),
    )
    assert created.status_code == 201
    got = client.get(f"/api/v1/trainings/{created.json['id']}", headers=AUTH)
    assert got.status_code == 200
    body = got.json
    assert body["start_time"] == "2026-12-01T09:00:00Z"
    assert body["status"] == "not_started"
    assert body["theme"] == "Forklift basics"
    assert body["description"] == "Bring boots"
    assert body["zoom"] == {
        "meeting_id": None,
        "uuid": None,
        "join_url": None,
        "host_id": None,
        "sync_state": None,  # its academy is not connected to Zoom: nothing to push
        "sync_error": None,
        "sync_issue": None,
        "report": None,  # no meeting ended yet: no participant report to read
    }
    assert set(body) >= {
        "id", "academy_id", "theme", "start_time", "duration", "timezone", "meeting_type", "status",
        "organizer_id", "description", "max_participants", "zoom",
    }  # fmt: skip


def test_theme_need_not_be_unique(client, academy, organizer):
    assert (
        post(client, "/trainings", training_body(academy, organizer), headers=acting(organizer["id"])).status_code
        == 201
    )
    assert (
        post(client, "/trainings", training_body(academy, organizer), headers=acting(organizer["id"])).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"theme": ""}, "theme"),
        ({"theme": "   "}, "theme"),
        ({"theme": "x" * 256}, "theme"),
        ({"start_time": "2026-12-01T10:00:00"}, "start_time"),
        ({"start_time": "tomorrow"}, "start_time"),
        ({"duration": 0}, "duration"),
        ({"duration": "60"}, "duration"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"meeting_type": "recurring"}, "meeting_type"),
        ({"max_participants": 0}, "max_participants"),
        ({"zoom_meeting_id": "abc"}, "zoom_meeting_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_training_is_422_with_field_errors(client, academy, organizer, overrides, field):
    response = post(
        client, "/trainings", training_body(academy, organizer, **overrides), headers=acting(organizer["id"])
    )
    assert response.status_code == 422
    assert field in response.json["fields"]


def test_theme_of_255_characters_is_accepted(client, academy, organizer):
    assert (
        post(
            client, "/trainings", training_body(academy, organizer, theme="x" * 255), headers=acting(organizer["id"])
        ).status_code
        == 201
    )


def test_missing_fields_are_named(client):
    response = post(client, "/trainings", {})
    assert response.status_code == 422
    assert {"academy_id", "theme", "start_time", "duration", "timezone", "meeting_type"} <= set(response.json["fields"])


def test_non_object_body_is_422(client):
    response = client.post("/api/v1/academies", data="[]", headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 422


def test_unknown_academy_is_404_and_unknown_organizer_422(client, academy, organizer):
    assert (
        post(client, "/trainings", training_body({"id": 999}, organizer), headers=acting(organizer["id"])).status_code
        == 404
    )
    response = post(client, "/trainings", training_body(academy, {"id": 999}), headers=acting(organizer["id"]))
    assert response.status_code == 422 and "organizer_id" in response.json["fields"]


def test_a_zoom_meeting_links_to_one_training_only(client, academy, organizer):
    assert (
        post(
            client,
            "/trainings",
            training_body(academy, organizer, zoom_meeting_id=85212345678),
            headers=acting(organizer["id"]),
        ).status_code
        == 201
    )
    response = post(
        client,
        "/trainings",
        training_body(academy, organizer, zoom_meeting_id=85212345678),
        headers=acting(organizer["id"]),
    )
    assert response.status_code == 409


def test_unknown_training_is_404(client, organizer):
    assert client.get("/api/v1/trainings/4242", headers=AUTH).status_code == 404
    assert client.get("/api/v1/trainings/4242/attendance", headers=AUTH).status_code == 404
    registering = post(client, "/trainings/4242/registrants", {"user_id": organizer["id"]}, acting(organizer["id"]))
    assert registering.status_code == 404


def test_registrants_are_added_listed_and_not_duplicated(client, academy, organizer):
    training = post(client, "/trainings", training_body(academy, organizer), headers=acting(organizer["id"])).json
    learner = post(client, "/users", {"email": "lea@example.org", "name": "Lea"}).json
    added = post(
        client, f"/trainings/{training['id']}/registrants", {"user_id": learner["id"]}, headers=acting(organizer["id"])
    )
    assert added.status_code == 201
    assert (
        post(
            client,
            f"/trainings/{training['id']}/registrants",
            {"user_id": learner["id"]},
            headers=acting(organizer["id"]),
        ).status_code
        == 409
    )
    assert (
        post(
            client, f"/trainings/{training['id']}/registrants", {"user_id": 999}, headers=acting(organizer["id"])
        ).status_code
        == 422
    )
    listed = client.get(f"/api/v1/trainings/{training['id']}/registrants", headers=AUTH).json["items"]
    assert [(r["user_id"], r["email"]) for r in listed] == [(learner["id"], "lea@example.org")]


def test_attendance_of_a_training_without_events_lists_registrants_at_zero(client, academy, organizer):
    training = post(client, "/trainings", training_body(academy, organizer), headers=acting(organizer["id"])).json
    learner = post(client, "/users", {"email": "lea@example.org", "name": "Lea"}).json
    post(
        client, f"/trainings/{training['id']}/registrants", {"user_id": learner["id"]}, headers=acting(organizer["id"])
    )
    body = client.get(f"/api/v1/trainings/{training['id']}/attendance", headers=AUTH).json
    assert body == {
        "items": [
            {
                "user_id": learner["id"],
                "email": "lea@example.org",
                "attended_seconds": 0,
                "first_join_time": None,
                "last_leave_time": None,
                "intervals": [],
                "waiting_seconds": 0,
                "waiting_intervals": [],
                "breakout_intervals": [],
                "completion": "pending",
            }
        ],
        "unmatched": [],
    }


def test_a_race_past_the_duplicate_check_is_409_not_500(client, monkeypatch):
    from service import lms

    assert post(client, "/users", {"email": "ann@example.org", "name": "Ann"}).status_code == 201
    # As if a concurrent request had checked before the first one committed.
    monkeypatch.setattr(lms, "find_user_by_email", lambda uow, email: None)
    response = post(client, "/users", {"email": "Ann@example.org", "name": "Ann twin"})
    assert response.status_code == 409


def test_a_database_outage_is_a_503_with_retry_after_never_a_500(client, academy, organizer, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from service import lms

    created = post(client, "/trainings", training_body(academy, organizer), acting(organizer["id"])).json

    def cut_off(*args, **kwargs):
        raise OperationalError("UPDATE trainings", {}, ConnectionError("server closed the connection unexpectedly"))

    monkeypatch.setattr(lms, "update_training", cut_off)  # what a cut-off PostgreSQL raises mid-request
    answer = client.patch(f"/api/v1/trainings/{created['id']}", json={"duration": 45}, headers=acting(organizer["id"]))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.json == {"error": "the database is unavailable; try again shortly"}
