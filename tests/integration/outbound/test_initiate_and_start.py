"""Initiating a training (UltiPro), and its organizer starting and ending it (iSpring), against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.helpers import AUTH, STAFF, acting, run_jobs
from tests.integration.outbound.support import learner, new_training, outbox, training, zoom_calls, zoom_meeting


def _zoom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at_initiation(client, academy) -> None:
    answer = client.patch(
        f"/api/v1/academies/{academy['id']}", json={"create_zoom_meetings": "on_initiate"}, headers=AUTH
    )
    assert answer.status_code == 200 and answer.json["create_zoom_meetings"] == "on_initiate"


def _register(client, academy, training_id: int, n: int) -> int:
    user_id = learner(client, n)
    answer = client.post(
        f"/api/v1/trainings/{training_id}/registrants", json={"user_id": user_id}, headers=academy["headers"]
    )
    assert answer.status_code == 201, answer.json
    return user_id


def _creates(zoom) -> list[dict]:
    return [call for call in zoom_calls(zoom, "POST", "/users/") if call["path"].endswith("/meetings")]


def _post(client, academy, training_id: int, action: str, headers=None):
    return client.post(f"/api/v1/trainings/{training_id}/{action}", headers=headers or academy["headers"])


@pytest.fixture
def initiating(client, academy) -> dict:
    """A connected academy that creates Zoom meetings at initiation, as UltiPro does."""
    _at_initiation(client, academy)
    return academy


# --- the academy's setting ------------------------------------------------------------------------------------


def test_academies_create_meetings_at_save_unless_set_otherwise(client):
    answer = client.post("/api/v1/academies", json={"name": "A"}, headers=AUTH)
    assert answer.json["create_zoom_meetings"] == "on_save"
    answer = client.post("/api/v1/academies", json={"name": "B", "create_zoom_meetings": "whenever"}, headers=AUTH)
    assert answer.status_code == 422 and "create_zoom_meetings" in answer.json["fields"]


def test_at_initiation_nothing_reaches_zoom_before_it(app, client, initiating, zoom):
    created = new_training(client, initiating)
    _register(client, initiating, created["id"], 1)
    client.patch(f"/api/v1/trainings/{created['id']}", json={"duration": 45}, headers=initiating["headers"])
    run_jobs(app)
    shown = training(client, created["id"])
    assert shown["zoom"]["meeting_id"] is None and shown["zoom"]["sync_state"] is None
    assert shown["initiated_at"] is None
    assert _creates(zoom) == [] and zoom_calls(zoom, "POST", "/registrants") == []


def test_initiating_creates_the_meeting_with_every_registrant(app, client, initiating, zoom, svc):
    created = new_training(client, initiating)
    people = [_register(client, initiating, created["id"], n) for n in range(3)]
    client.patch(f"/api/v1/trainings/{created['id']}", json={"duration": 45}, headers=initiating["headers"])
    answer = _post(client, initiating, created["id"], "initiate")
    assert answer.status_code == 200 and answer.json["initiated_at"] is not None
    assert answer.json["zoom"]["sync_state"] == "pending"
    run_jobs(app)
    shown = training(client, created["id"])
    meeting = zoom_meeting(zoom, shown["zoom"]["meeting_id"])
    assert meeting["duration"] == 45  # the values at initiation
    assert sorted(r["email"] for r in meeting["registrants"]) == [f"learner{n}@example.org" for n in range(3)]
    registrants = client.get(f"/api/v1/trainings/{created['id']}/registrants", headers=AUTH).json["items"]
    assert sorted(r["user_id"] for r in registrants) == sorted(people)
    assert all(r["zoom"]["join_url"] and r["zoom"]["sync_state"] == "synced" for r in registrants)


def test_initiating_again_changes_nothing(app, client, initiating, zoom, svc):
    created = new_training(client, initiating)
    _register(client, initiating, created["id"], 1)
    first = _post(client, initiating, created["id"], "initiate").json
    run_jobs(app)
    again = _post(client, initiating, created["id"], "initiate")
    assert again.status_code == 200 and again.json["initiated_at"] == first["initiated_at"]
    run_jobs(app)
    assert len(_creates(zoom)) == 1
    assert [kind for kind, _ in outbox(svc, created["id"])] == ["create", "register"]


def test_a_training_created_at_save_can_be_initiated_too(app, client, academy, zoom):
    created = new_training(client, academy)
    _register(client, academy, created["id"], 1)
    run_jobs(app)
    assert _post(client, academy, created["id"], "initiate").status_code == 200
    run_jobs(app)
    assert len(_creates(zoom)) == 1


# --- refusals -------------------------------------------------------------------------------------------------


def test_initiating_needs_a_registrant(client, initiating):
    created = new_training(client, initiating)
    answer = _post(client, initiating, created["id"], "initiate")
    assert answer.status_code == 409 and "at least one registrant" in answer.json["error"]


def test_initiating_is_allowed_until_15_minutes_after_the_start(client, initiating):
    now = datetime.now(UTC)
    recent = new_training(client, initiating, start_time=_zoom_time(now - timedelta(minutes=10)), timezone="UTC")
    late = new_training(client, initiating, start_time=_zoom_time(now - timedelta(minutes=20)), timezone="UTC")
    for created in (recent, late):
        _register(client, initiating, created["id"], created["id"])
    assert _post(client, initiating, recent["id"], "initiate").status_code == 200
    answer = _post(client, initiating, late["id"], "initiate")
    assert answer.status_code == 409 and "up to 15 minutes after its start" in answer.json["error"]


def test_initiating_needs_a_connected_academy(client):
    academy_id = client.post("/api/v1/academies", json={"name": "Offline"}, headers=AUTH).json["id"]
    body = STAFF | {"email": "o@example.org", "name": "O"}
    organizer = client.post("/api/v1/users", json=body, headers=AUTH).json["id"]
    offline = {"id": academy_id, "organizer": organizer, "headers": acting(organizer)}
    created = new_training(client, offline)
    _register(client, offline, created["id"], 1)
    answer = _post(client, offline, created["id"], "initiate")
    assert answer.status_code == 409 and "not connected to Zoom" in answer.json["error"]


def test_a_learner_cannot_initiate_and_a_cancelled_training_cannot_be_initiated(client, initiating):
    created = new_training(client, initiating)
    user_id = _register(client, initiating, created["id"], 1)
    assert _post(client, initiating, created["id"], "initiate", headers=acting(user_id)).status_code == 403
    client.delete(f"/api/v1/trainings/{created['id']}", headers=initiating["headers"])
    answer = _post(client, initiating, created["id"], "initiate")
    assert answer.status_code == 409 and "cancelled" in answer.json["error"]


# --- start and end --------------------------------------------------------------------------------------------


def _ready(app, client, academy) -> dict:
    created = new_training(client, academy)
    _register(client, academy, created["id"], 1)
    run_jobs(app)
    return training(client, created["id"])


def test_the_organizer_gets_a_fresh_start_link_each_time_and_it_starts_the_meeting(app, client, academy, zoom):
    shown = _ready(app, client, academy)
    first = _post(client, academy, shown["id"], "start")
    second = _post(client, academy, shown["id"], "start")
    assert first.status_code == 200 and second.status_code == 200
    assert first.json["start_url"] != second.json["start_url"]  # Zoom's start links carry a token that expires
    assert first.json["meeting_id"] == shown["zoom"]["meeting_id"]
    opened = requests.get(second.json["start_url"], timeout=5)
    assert opened.status_code == 200 and opened.json()["started"] is True


def test_only_the_organizer_may_start_or_end(app, client, academy):
    shown = _ready(app, client, academy)
    other = client.post("/api/v1/users", json=STAFF | {"email": "admin@example.org", "name": "A"}, headers=AUTH)
    for action in ("start", "end"):
        answer = _post(client, academy, shown["id"], action, headers=acting(other.json["id"]))
        assert answer.status_code == 403 and "only the organizer" in answer.json["error"]
        assert _post(client, academy, shown["id"], action, headers=AUTH).status_code == 403


def test_starting_needs_the_meeting_in_zoom_and_a_registrant(app, client, initiating):
    created = new_training(client, initiating)
    answer = _post(client, initiating, created["id"], "start")
    assert answer.status_code == 409 and "initiate it first" in answer.json["error"]
    empty = new_training(client, initiating)
    _register(client, initiating, empty["id"], 1)
    _post(client, initiating, empty["id"], "initiate")
    answer = _post(client, initiating, empty["id"], "start")
    assert answer.status_code == 409 and "being created in Zoom" in answer.json["error"]
    run_jobs(app)
    user_id = client.get(f"/api/v1/trainings/{empty['id']}/registrants", headers=AUTH).json["items"][0]["user_id"]
    client.delete(f"/api/v1/trainings/{empty['id']}/registrants/{user_id}", headers=initiating["headers"])
    run_jobs(app)
    answer = _post(client, initiating, empty["id"], "start")
    assert answer.status_code == 409 and "at least one registrant" in answer.json["error"]


def test_ending_asks_zoom_to_end_the_live_meeting(app, client, academy, zoom):
    shown = _ready(app, client, academy)
    requests.get(_post(client, academy, shown["id"], "start").json["start_url"], timeout=5)
    answer = _post(client, academy, shown["id"], "end")
    assert answer.status_code == 202 and answer.json["status"] == "ending"
    assert len(zoom_calls(zoom, "PUT", "/status")) == 1
    instances = zoom_meeting(zoom, shown["zoom"]["meeting_id"])["instances"]
    assert len(instances) == 1 and instances[0]["end_time"] is not None


def test_zoom_unavailable_at_start_is_a_503_to_try_again(app, client, academy, zoom):
    shown = _ready(app, client, academy)
    zoom.control.fault(kind="status", status=503, count=10, path=f"/v2/meetings/{shown['zoom']['meeting_id']}")
    answer = _post(client, academy, shown["id"], "start")
    assert answer.status_code == 503 and "try again" in answer.json["error"]
