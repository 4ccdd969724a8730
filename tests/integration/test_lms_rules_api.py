"""The LMS products' rules through the API, on both backends: who may act, one-day sessions, places, emails.

The rules that need a Zoom account (webinar add-on, paid host, account capacity)
are in outbound/test_lms_rules_zoom.py.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import AUTH, STAFF, acting


def post(client, path, body, headers=AUTH):
    return client.post(f"/api/v1{path}", json=body, headers=headers)


def user(client, email: str | None, **extra) -> int:
    answer = post(client, "/users", {"email": email, "name": "Someone", **extra})
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


@pytest.fixture
def academy(client) -> int:
    return post(client, "/academies", {"name": "Rules academy"}).json["id"]


@pytest.fixture
def publisher(client) -> int:
    return user(client, "publisher@example.org", **STAFF)


def body(academy: int, **overrides) -> dict:
    return {
        "academy_id": academy,
        "theme": "Ladder safety",
        "start_time": "2026-12-01T09:00:00Z",
        "duration": 60,
        "timezone": "Europe/Berlin",
        "meeting_type": "meeting",
        **overrides,
    }


def new_training(client, academy: int, acting_id: int, **overrides) -> dict:
    answer = post(client, "/trainings", body(academy, **overrides), headers=acting(acting_id))
    assert answer.status_code == 201, answer.json
    return answer.json


# --- who may act ----------------------------------------------------------------------------------------------


def test_users_are_learners_unless_a_role_is_given(client):
    answer = post(client, "/users", {"email": "l@example.org", "name": "L"})
    assert answer.json["role"] == "learner"
    assert post(client, "/users", {"email": "p@example.org", "name": "P", "role": "publisher"}).json["role"] == (
        "publisher"
    )


def test_an_unknown_role_is_refused(client):
    answer = post(client, "/users", {"email": "x@example.org", "name": "X", "role": "wizard"})
    assert answer.status_code == 422 and "role" in answer.json["fields"]


@pytest.mark.parametrize("role", ["account_owner", "account_admin", "department_admin", "publisher"])
def test_staff_roles_create_trainings(client, academy, role):
    creator = user(client, f"{role}@example.org", role=role)
    assert new_training(client, academy, creator)["organizer_id"] == creator


def test_a_learner_may_not_create_a_training(client, academy):
    learner = user(client, "learner@example.org")
    answer = post(client, "/trainings", body(academy), headers=acting(learner))
    assert answer.status_code == 403
    assert "may not manage trainings" in answer.json["error"]


@pytest.mark.parametrize("headers", [AUTH, {**AUTH, "X-Acting-User": "999"}, {**AUTH, "X-Acting-User": "abc"}])
def test_without_a_known_acting_user_a_training_is_refused(client, academy, headers):
    answer = post(client, "/trainings", body(academy), headers=headers)
    assert answer.status_code == 403
    assert "X-Acting-User" in answer.json["error"] or "does not exist" in answer.json["error"]


def test_a_custom_role_that_creates_trainings_may_create(client, academy):
    role = post(client, "/roles", {"name": "trainer", "permissions": ["create_trainings"]})
    assert role.status_code == 201 and role.json["permissions"] == ["create_trainings"]
    trainer = user(client, "trainer@example.org", role="trainer")
    assert new_training(client, academy, trainer)["organizer_id"] == trainer


def test_a_custom_role_that_only_views_may_organize_but_not_create(client, academy, publisher):
    post(client, "/roles", {"name": "observer", "permissions": ["view_trainings"]})
    observer = user(client, "observer@example.org", role="observer")
    assert post(client, "/trainings", body(academy), headers=acting(observer)).status_code == 403
    assert new_training(client, academy, publisher, organizer_id=observer)["organizer_id"] == observer


def test_role_names_are_unique_and_permissions_known(client):
    assert post(client, "/roles", {"name": "publisher", "permissions": []}).status_code == 409
    answer = post(client, "/roles", {"name": "odd", "permissions": ["fly"]})
    assert answer.status_code == 422 and "permissions" in answer.json["fields"]


def test_a_learner_cannot_be_the_organizer(client, academy, publisher):
    learner = user(client, "learner@example.org")
    answer = post(client, "/trainings", body(academy, organizer_id=learner), headers=acting(publisher))
    assert answer.status_code == 422 and "organizer_id" in answer.json["fields"]
    answer = post(client, "/trainings", body(academy, organizer_id=4242), headers=acting(publisher))
    assert answer.status_code == 422 and "organizer_id" in answer.json["fields"]


def test_a_learner_may_not_edit_or_cancel_a_training(client, academy, publisher):
    training = new_training(client, academy, publisher)
    learner = user(client, "learner@example.org")
    path = f"/api/v1/trainings/{training['id']}"
    assert client.patch(path, json={"duration": 30}, headers=acting(learner)).status_code == 403
    assert client.delete(path, headers=acting(learner)).status_code == 403
    assert client.get(path, headers=AUTH).json["duration"] == 60


def test_a_learner_registers_themself_but_nobody_else(client, academy, publisher):
    training = new_training(client, academy, publisher)
    ann, bob = user(client, "ann@example.org"), user(client, "bob@example.org")
    path = f"/trainings/{training['id']}/registrants"
    assert post(client, path, {"user_id": ann}, headers=acting(ann)).status_code == 201
    assert post(client, path, {"user_id": bob}, headers=acting(ann)).status_code == 403
    assert client.delete(f"/api/v1{path}/{ann}", headers=acting(bob)).status_code == 403
    assert client.delete(f"/api/v1{path}/{ann}", headers=acting(ann)).status_code == 204
    assert post(client, path, {"user_id": bob}, headers=acting(publisher)).status_code == 201


# --- theme and dates ------------------------------------------------------------------------------------------


def test_the_theme_need_not_be_unique(client, academy, publisher):
    first, second = new_training(client, academy, publisher), new_training(client, academy, publisher)
    assert first["theme"] == second["theme"] and first["id"] != second["id"]


def test_a_theme_longer_than_255_characters_is_refused(client, academy, publisher):
    answer = post(client, "/trainings", body(academy, theme="x" * 256), headers=acting(publisher))
    assert answer.status_code == 422 and "theme" in answer.json["fields"]
    assert new_training(client, academy, publisher, theme="x" * 255)["theme"] == "x" * 255


def test_a_past_start_is_allowed_and_the_training_is_not_started(client, academy, publisher):
    training = new_training(client, academy, publisher, start_time="2020-03-02T09:00:00Z")
    assert training["status"] == "not_started"


# --- one day --------------------------------------------------------------------------------------------------


def test_a_session_ending_at_local_midnight_is_allowed(client, academy, publisher):
    # 22:00 UTC on 1 December is 23:00 in Berlin: 60 minutes end at Berlin's midnight.
    assert new_training(client, academy, publisher, start_time="2026-12-01T22:00:00Z")["duration"] == 60


def test_a_session_ending_after_local_midnight_is_refused(client, academy, publisher):
    answer = post(
        client, "/trainings", body(academy, start_time="2026-12-01T22:00:00Z", duration=61), headers=acting(publisher)
    )
    assert answer.status_code == 422
    assert "at most one day" in answer.json["fields"]["duration"][0]


def test_the_day_is_the_trainings_time_zone(client, academy, publisher):
    # The same instant and length: past midnight in Berlin, the same afternoon in New York.
    late = {"start_time": "2026-12-01T22:30:00Z", "duration": 120}
    assert post(client, "/trainings", body(academy, **late), headers=acting(publisher)).status_code == 422
    assert new_training(client, academy, publisher, timezone="America/New_York", **late)["duration"] == 120


def test_an_edit_is_checked_with_the_values_it_keeps(client, academy, publisher):
    training = new_training(client, academy, publisher, start_time="2026-12-01T20:00:00Z")  # 21:00 in Berlin
    path = f"/api/v1/trainings/{training['id']}"
    answer = client.patch(path, json={"duration": 181}, headers=acting(publisher))
    assert answer.status_code == 422 and "duration" in answer.json["fields"]
    answer = client.patch(path, json={"start_time": "2026-12-01T23:30:00Z"}, headers=acting(publisher))
    assert answer.status_code == 200  # 00:30 on 2 December in Berlin, 60 minutes: the next day, but one day
    answer = client.patch(path, json={"timezone": "UTC"}, headers=acting(publisher))
    assert answer.status_code == 422  # 23:30 to 00:30 in UTC crosses midnight
    assert client.get(path, headers=AUTH).json["timezone"] == "Europe/Berlin"


# --- registrants and places -----------------------------------------------------------------------------------


def test_a_user_without_an_email_exists_but_cannot_register(client, academy, publisher):
    training = new_training(client, academy, publisher)
    nameless = user(client, None)
    answer = post(client, f"/trainings/{training['id']}/registrants", {"user_id": nameless}, headers=acting(publisher))
    assert answer.status_code == 422
    assert "email" in answer.json["error"]
    listed = client.get(f"/api/v1/trainings/{training['id']}/registrants", headers=AUTH).json["items"]
    assert listed == []


def test_registration_stops_at_max_participants(client, academy, publisher):
    training = new_training(client, academy, publisher, max_participants=2)
    path = f"/trainings/{training['id']}/registrants"
    people = [user(client, f"p{n}@example.org") for n in range(3)]
    assert [post(client, path, {"user_id": p}, headers=acting(publisher)).status_code for p in people] == [
        201,
        201,
        409,
    ]
    answer = post(client, path, {"user_id": people[2]}, headers=acting(publisher))
    assert answer.json["error"] == "training is full: all 2 places are taken"
    # A place freed is a place taken again.
    assert client.delete(f"/api/v1{path}/{people[0]}", headers=acting(publisher)).status_code == 204
    assert post(client, path, {"user_id": people[2]}, headers=acting(publisher)).status_code == 201


def test_empty_max_participants_means_no_limit_of_its_own(client, academy, publisher):
    training = new_training(client, academy, publisher)
    assert training["max_participants"] is None
    path = f"/trainings/{training['id']}/registrants"
    for n in range(5):
        assert (
            post(client, path, {"user_id": user(client, f"p{n}@example.org")}, headers=acting(publisher)).status_code
            == 201
        )


def test_max_participants_cannot_drop_below_those_registered(client, academy, publisher):
    training = new_training(client, academy, publisher, max_participants=5)
    for n in range(3):
        post(
            client,
            f"/trainings/{training['id']}/registrants",
            {"user_id": user(client, f"p{n}@example.org")},
            headers=acting(publisher),
        )
    path = f"/api/v1/trainings/{training['id']}"
    answer = client.patch(path, json={"max_participants": 2}, headers=acting(publisher))
    assert answer.status_code == 409 and "3 people are registered" in answer.json["error"]
    assert client.patch(path, json={"max_participants": 3}, headers=acting(publisher)).json["max_participants"] == 3


def test_a_cancelled_training_takes_no_registrants(client, academy, publisher):
    training = new_training(client, academy, publisher)
    assert client.delete(f"/api/v1/trainings/{training['id']}", headers=acting(publisher)).status_code == 200
    answer = post(client, f"/trainings/{training['id']}/registrants", {"user_id": publisher}, headers=acting(publisher))
    assert answer.status_code == 409 and "cancelled" in answer.json["error"]


@pytest.mark.parametrize("backend", ["postgres+redis"], indirect=True)
def test_registrations_racing_for_the_last_place_give_it_to_one(app, client, academy, publisher):
    """Concurrent requests each count the registrants: the training's row lock makes them take turns."""
    training = new_training(client, academy, publisher, max_participants=2)
    path = f"/api/v1/trainings/{training['id']}/registrants"
    assert (
        client.post(path, json={"user_id": user(client, "first@example.org")}, headers=acting(publisher)).status_code
        == 201
    )
    racers = [user(client, f"racer{n}@example.org") for n in range(6)]
    start = threading.Barrier(len(racers))

    def register(user_id: int) -> int:
        own_client = app.test_client()
        start.wait()
        return own_client.post(path, json={"user_id": user_id}, headers=acting(publisher)).status_code

    with ThreadPoolExecutor(len(racers)) as pool:
        answers = sorted(pool.map(register, racers))
    assert answers == [201] + [409] * (len(racers) - 1)
    registered = client.get(path, headers=AUTH).json["items"]
    assert len(registered) == 2
