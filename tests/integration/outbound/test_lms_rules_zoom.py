"""The LMS rules that depend on the connected Zoom account: webinar add-on, paid hosts, the account's capacity.

Against the simulator over HTTP, on both stacks.
"""

from __future__ import annotations

from sqlalchemy import update

from models import ZoomConnection
from tests.helpers import AUTH, STAFF, run_jobs
from tests.integration.outbound.support import learner, new_training, outbox, training, zoom_calls


def _set_connection(svc, academy_id: int, **values) -> None:
    """What Zoom told us about the account when it was connected (the connection tests read it from Zoom)."""
    with svc.unit_of_work() as uow:
        uow.session.execute(update(ZoomConnection).where(ZoomConnection.academy_id == academy_id).values(**values))
        uow.commit()


def _organizer(client, email: str) -> int:
    return client.post("/api/v1/users", json=STAFF | {"email": email, "name": "Host"}, headers=AUTH).json["id"]


def _register(client, academy, training_id: int, user_id: int):
    return client.post(
        f"/api/v1/trainings/{training_id}/registrants", json={"user_id": user_id}, headers=academy["headers"]
    )


# --- webinars -------------------------------------------------------------------------------------------------


def test_a_webinar_needs_the_accounts_webinar_add_on(client, academy, svc, zoom):
    _set_connection(svc, academy["id"], webinar_enabled=False)
    body = {
        "academy_id": academy["id"],
        "theme": "Town hall",
        "start_time": "2026-12-10T09:00:00Z",
        "duration": 60,
        "timezone": "UTC",
        "meeting_type": "webinar",
    }
    answer = client.post("/api/v1/trainings", json=body, headers=academy["headers"])
    assert answer.status_code == 409 and "Webinar add-on" in answer.json["error"]
    assert new_training(client, academy)["meeting_type"] == "meeting"  # a meeting needs no add-on
    assert zoom_calls(zoom, "POST", "/webinars") == []


def test_with_the_add_on_a_webinar_is_accepted(app, client, academy):
    created = new_training(client, academy, meeting_type="webinar")
    run_jobs(app)
    assert training(client, created["id"])["zoom"]["sync_state"] == "synced"


# --- hosts ----------------------------------------------------------------------------------------------------


def test_a_basic_host_is_refused_by_name_and_nothing_is_created(app, client, academy, zoom, svc):
    organizer = _organizer(client, "basic@zoomsim.example")  # the simulator's Basic (free) user
    created = new_training(client, {**academy, "organizer": organizer})
    run_jobs(app)
    shown = training(client, created["id"])
    assert shown["zoom"]["sync_state"] == "error"
    assert "basic@zoomsim.example" in shown["zoom"]["sync_error"] and "Basic" in shown["zoom"]["sync_error"]
    assert zoom_calls(zoom, "POST", "/meetings") == []
    assert outbox(svc, created["id"]) == [("create", "failed")]


def test_an_organizer_outside_the_zoom_account_is_refused_once_not_retried(app, client, academy, zoom, svc):
    organizer = _organizer(client, "stranger@elsewhere.example")
    created = new_training(client, {**academy, "organizer": organizer})
    run_jobs(app)
    shown = training(client, created["id"])
    assert shown["zoom"]["sync_state"] == "error"
    assert "not in the connected Zoom account" in shown["zoom"]["sync_error"]
    assert outbox(svc, created["id"]) == [("create", "failed")]
    assert zoom_calls(zoom, "POST", "/meetings") == []


def test_a_licensed_host_gets_the_meeting(app, client, academy, zoom):
    zoom.control.call("POST", "/users", {"email": "licensed@zoomsim.example", "type": 2})
    organizer = _organizer(client, "licensed@zoomsim.example")
    created = new_training(client, {**academy, "organizer": organizer})
    run_jobs(app)
    assert training(client, created["id"])["zoom"]["sync_state"] == "synced"


# --- capacity -------------------------------------------------------------------------------------------------


def test_registration_stops_at_the_accounts_meeting_capacity(app, client, academy, svc):
    _set_connection(svc, academy["id"], meeting_capacity=2)
    created = new_training(client, academy)
    answers = [_register(client, academy, created["id"], learner(client, n)).status_code for n in range(3)]
    assert answers == [201, 201, 409]
    answer = _register(client, academy, created["id"], learner(client, 9))
    assert answer.json["error"] == "training is full: all 2 places are taken"


def test_the_smaller_of_max_participants_and_capacity_wins(app, client, academy, svc):
    _set_connection(svc, academy["id"], meeting_capacity=3, webinar_capacity=1)
    meeting = new_training(client, academy, max_participants=10)
    webinar = new_training(client, academy, meeting_type="webinar", max_participants=10)
    assert [_register(client, academy, meeting["id"], learner(client, n)).status_code for n in range(4)] == [
        201,
        201,
        201,
        409,
    ]
    first, second = learner(client, 11), learner(client, 12)
    assert _register(client, academy, webinar["id"], first).status_code == 201
    answer = _register(client, academy, webinar["id"], second)
    assert answer.status_code == 409 and answer.json["error"] == "training is full: its one place is taken"
    limited = new_training(client, academy, max_participants=1)
    assert _register(client, academy, limited["id"], first).status_code == 201
    assert _register(client, academy, limited["id"], second).status_code == 409
