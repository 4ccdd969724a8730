"""The admin's outbound and trainings pages against the simulator: see why a training did not sync, retry, cancel."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tests.helpers import AUTH, STAFF, csrf_token, deliver, run_jobs, sim_bodies
from tests.integration.outbound.support import new_training, outbox, synced_training, training
from workers import handlers

USERNAME, PASSWORD = "ops", "a long enough admin password"


@pytest.fixture
def settings(settings):
    return replace(settings, admin_username=USERNAME, admin_password=PASSWORD, admin_cookie_secure=False)


@pytest.fixture
def admin(client):
    token = csrf_token(client.get("/admin/login").data)
    answer = client.post("/admin/login", data={"csrf_token": token, "username": USERNAME, "password": PASSWORD})
    assert answer.status_code == 302
    return client


def _post(admin, path: str, rows: list[int]):
    token = csrf_token(admin.get("/admin/outbound").data)
    return admin.post(path, data={"csrf_token": token, "row": [str(r) for r in rows]})


def _row_ids(page: bytes) -> list[int]:
    return [int(n) for n in re.findall(rb'name="row" value="(\d+)"', page)]


@pytest.mark.parametrize("path", ["/admin/outbound", "/admin/trainings", "/admin/trainings/1"])
def test_the_sync_pages_need_a_session(client, path):
    assert client.get(path).headers["Location"].startswith("/admin/login")


def test_a_refused_create_shows_zooms_message_on_the_trainings_and_outbound_pages(app, client, academy, admin):
    organizer = client.post(
        "/api/v1/users", json=STAFF | {"email": "basic@zoomsim.example", "name": "Bailey"}, headers=AUTH
    ).json["id"]
    created = new_training(client, {**academy, "organizer": organizer})
    run_jobs(app)
    listed = admin.get("/admin/trainings?sync=error").data.decode()
    assert f'href="/admin/trainings/{created["id"]}"' in listed and "Basic (free) plan" in listed
    assert "Fire safety" not in admin.get("/admin/trainings?sync=synced").data.decode()
    detail = admin.get(f"/admin/trainings/{created['id']}").data.decode()
    assert "Basic (free) plan" in detail and "<td>create</td><td>failed</td>" in detail
    outbound = admin.get("/admin/outbound").data.decode()
    assert "Basic (free) plan" in outbound and "status-failed" in outbound


def test_cancelling_a_failed_push_clears_the_trainings_error(app, client, academy, admin, svc):
    organizer = client.post(
        "/api/v1/users", json=STAFF | {"email": "basic@zoomsim.example", "name": "Bailey"}, headers=AUTH
    ).json["id"]
    created = new_training(client, {**academy, "organizer": organizer})
    run_jobs(app)
    rows = _row_ids(admin.get("/admin/outbound").data)
    assert len(rows) == 1
    assert _post(admin, "/admin/outbound/cancel", rows).status_code == 302
    assert outbox(svc, created["id"]) == [("create", "cancelled")]
    shown = training(client, created["id"])
    assert shown["zoom"]["sync_state"] is None and shown["zoom"]["sync_error"] is None
    assert _row_ids(admin.get("/admin/outbound").data) == []


def test_retry_now_sends_a_push_that_was_waiting_for_zoom(app, client, academy, admin, zoom, svc):
    shown = synced_training(app, client, academy)
    zoom.control.fault(kind="status", status=503, count=1, path="/v2/meetings/", method="PATCH")
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 75}, headers=academy["headers"])
    run_jobs(app)  # Zoom answered 503: the push waits for its backoff
    page = admin.get("/admin/outbound").data.decode()
    assert "Zoom unavailable" in page
    rows = _row_ids(page.encode())
    assert _post(admin, "/admin/outbound/retry", rows).status_code == 302
    run_jobs(app)
    assert zoom.control.meeting(shown["zoom"]["meeting_id"])["duration"] == 75
    assert training(client, shown["id"])["zoom"]["sync_state"] == "synced"
    assert _row_ids(admin.get("/admin/outbound").data) == []


def test_from_a_trainings_page_its_waiting_push_is_retried_and_the_admin_comes_back(app, client, academy, admin, zoom):
    shown = synced_training(app, client, academy)
    zoom.control.fault(kind="status", status=503, count=1, path="/v2/meetings/", method="PATCH")
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 75}, headers=academy["headers"])
    run_jobs(app)
    page_url = f"/admin/trainings/{shown['id']}"
    page = admin.get(page_url).data
    rows = _row_ids(page)
    assert len(rows) == 1 and b"Retry the chosen now" in page and b"Zoom unavailable" in page
    answer = admin.post(
        "/admin/outbound/retry", data={"csrf_token": csrf_token(page), "row": [str(r) for r in rows], "next": page_url}
    )
    assert answer.status_code == 302 and answer.headers["Location"] == page_url
    run_jobs(app)
    assert zoom.control.meeting(shown["zoom"]["meeting_id"])["duration"] == 75
    after = admin.get(page_url).data
    assert _row_ids(after) == [] and b"Retry the chosen now" not in after


def test_an_action_never_sends_the_admin_off_our_pages(client, academy, admin):
    created = new_training(client, academy)
    token = csrf_token(admin.get("/admin/outbound").data)
    rows = [str(r) for r in _row_ids(admin.get(f"/admin/trainings/{created['id']}").data)] or ["1"]
    answer = admin.post(
        "/admin/outbound/cancel", data={"csrf_token": token, "row": rows, "next": "https://evil.example/"}
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/"


def test_a_trainings_failed_webhooks_are_replayed_from_its_page(app, client, academy, admin, zoom, monkeypatch):
    shown = synced_training(app, client, academy)
    meeting_id = shown["zoom"]["meeting_id"]
    mark = max((m.id for m in zoom.sim.dispatcher.messages), default=0)

    def broken(ctx, event):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(handlers.HANDLERS, "meeting.started", broken)
    zoom.control.play(meeting_id, {"start": "2026-12-10T08:00:00Z", "end_after": 600, "participants": []})
    for body in sim_bodies(zoom, mark):
        assert deliver(client, body).status_code == 200
    app.extensions["zoomsync"].settings = replace(app.extensions["zoomsync"].settings, max_event_attempts=1)
    run_jobs(app)
    page_url = f"/admin/trainings/{shown['id']}"
    page = admin.get(page_url).data.decode()
    assert "Replay this meeting's 1 failed webhook(s)" in page
    monkeypatch.undo()  # the cause is fixed
    answer = admin.post(
        "/admin/events/replay", data={"csrf_token": csrf_token(page.encode()), "meeting": str(meeting_id)}
    )
    assert answer.status_code == 302
    run_jobs(app)
    assert "failed webhook" not in admin.get(page_url).data.decode()
    assert training(client, shown["id"])["status"] == "completed"


def test_retry_and_cancel_need_a_chosen_push_and_the_csrfcsrf_token(admin):
    token = csrf_token(admin.get("/admin/outbound").data)
    assert admin.post("/admin/outbound/retry", data={"csrf_token": token}).status_code == 400
    assert admin.post("/admin/outbound/cancel", data={"row": "1"}).status_code == 400


def test_a_trainings_timeline_shows_both_sides_echoes_and_attendance(app, client, academy, admin, zoom):
    shown = synced_training(app, client, academy)
    mark = max((m.id for m in zoom.sim.dispatcher.messages), default=0)
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 90}, headers=academy["headers"])
    run_jobs(app)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], topic="Renamed in Zoom")
    zoom.control.play(
        shown["zoom"]["meeting_id"],
        {
            "start": "2026-12-10T08:00:00Z",
            "end_after": 3600,
            "participants": [{"name": "Guest", "email": "", "sessions": [{"join": 0, "leave": 1800}]}],
        },
    )
    for body in sim_bodies(zoom, mark):
        assert deliver(client, body).status_code == 200
    run_jobs(app)
    page = admin.get(f"/admin/trainings/{shown['id']}").data.decode()
    assert "<td>duration</td>" in page and "<td>LMS</td>" in page and "<td>echo</td>" in page
    assert "Renamed in Zoom" in page and "<td>Zoom</td>" in page
    assert "Not matched to an LMS user" in page and "Guest" in page
    assert admin.get("/admin/trainings/99999").status_code == 404
    assert admin.get("/admin/trainings?sync=bogus").status_code == 400


def test_the_overview_shows_each_connections_health(client, academy, admin):
    page = admin.get("/admin/").data.decode()
    assert "<td>Pushing</td><td>server_to_server</td>" in page
    assert "valid (until" in page and "No academy is connected to Zoom." not in page
