"""Helpers the tests share: signed deliveries, running queued jobs, building events."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import SimpleWorker

from chaos.harness import free_port  # noqa: F401 - one free_port for tests and the fault tools
from service.broker import connect_redis
from service.services import EXTENSION_KEY
from webhook.signature import sign
from workers.queues import QUEUE_NAMES, queue
from workers.runner import AppContextJob, jobs_in

SECRET = "test-webhook-secret"
API_TOKEN = "test-api-token"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
STAFF = {"role": "publisher"}  # a user body's role for one who may create and organize trainings
SECRET_KEY = "test-secret-key"
TOKEN_KEY = "3Xc0mU5VqM1yzTeJ4b1r5JHgkzGmE3xW9cPzrW4bsdE="  # a Fernet key for tests only
REDIRECT_URL = "http://lms.test/oauth/zoom/callback"
FIXTURES = Path(__file__).parent / "fixtures" / "zoom"


def acting(user_id: int) -> dict[str, str]:
    """The API headers of the calling LMS acting for this user."""
    return {**AUTH, "X-Acting-User": str(user_id)}


def fixture(name: str) -> dict[str, Any]:
    """One of the project's own Zoom event fixtures (tests/fixtures/zoom/<name>.json)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def raw(body: dict[str, Any] | bytes | str) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def signed_headers(raw_body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "x-zm-request-timestamp": ts,
        "x-zm-signature": sign(secret, ts, raw_body),
        "content-type": "application/json",
    }


def deliver(client: FlaskClient, body, secret: str = SECRET, timestamp: int | None = None):
    data = raw(body)
    return client.post("/webhooks/zoom", data=data, headers=signed_headers(data, secret, timestamp))


class _BurstWorker(SimpleWorker):
    """RQ's in-process worker without its pubsub command listener.

    That channel carries only RQ's control commands (stop a job, kill the horse, shut down), which no
    test sends; stopping its thread made every run_jobs on a real Redis wait up to a second.
    """

    def subscribe(self) -> None:
        pass


def run_jobs(app: Flask) -> int:
    """Run every queued job in this process, in `app`, until the queues are empty; returns how many ran."""
    redis = app.extensions[EXTENSION_KEY].redis
    queues = [queue(redis, name) for name in QUEUE_NAMES]
    before = sum(q.count for q in queues)
    with jobs_in(app):
        _BurstWorker(queues, connection=redis, job_class=AppContextJob).work(burst=True, logging_level="WARNING")
    return before


def queued_job_count(app: Flask) -> int:
    redis = app.extensions[EXTENSION_KEY].redis
    return sum(queue(redis, name).count for name in QUEUE_NAMES)


def create_training(client: FlaskClient, **overrides: Any) -> int:
    """An academy, an organizer and a training (linked to Zoom meeting 85212345678 unless overridden)."""
    academy = client.post("/api/v1/academies", json={"name": "Academy"}, headers=AUTH).json
    organizer = client.post(
        "/api/v1/users", json=STAFF | {"email": "organizer@example.org", "name": "Org"}, headers=AUTH
    ).json
    body = {
        "academy_id": academy["id"],
        "theme": "Training",
        "start_time": "2026-12-01T09:00:00+00:00",
        "duration": 60,
        "timezone": "UTC",
        "meeting_type": "meeting",
        "organizer_id": organizer["id"],
        "zoom_meeting_id": 85212345678,
        **overrides,
    }
    response = client.post("/api/v1/trainings", json=body, headers=acting(organizer["id"]))
    assert response.status_code == 201, response.json
    return response.json["id"]


def zoom_settings(tmp_path, zoom, **env: str):
    """The tests' settings with the service pointed at a running Zoom simulator (and `env` on top)."""
    from config import load_settings

    base = {
        "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET,
        "API_TOKEN": API_TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
        **zoom_env(zoom),
        **env,
    }
    return load_settings(base, instance_dir=tmp_path, database_url="unused://", redis_url="unused://")


def zoom_env(zoom) -> dict[str, str]:
    """Settings that point the service at a running Zoom simulator, with its default OAuth app."""
    cfg = zoom.sim.config
    return {
        "ZOOM_CLIENT_ID": cfg.client_id,
        "ZOOM_CLIENT_SECRET": cfg.client_secret,
        "ZOOM_REDIRECT_URL": REDIRECT_URL,
        "ZOOM_API_BASE_URL": f"{zoom.url}/v2",
        "ZOOM_OAUTH_BASE_URL": zoom.url,
    }


def sim_bodies(zoom, since: int = 0) -> list[dict[str, Any]]:
    """The webhook bodies the simulator produced (whether or not anything received them)."""
    return [json.loads(m.body) for m in list(zoom.sim.dispatcher.messages) if m.id > since]


def csrf_token(page: bytes) -> str:
    """The CSRF token an admin page's form carries."""
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1).decode()


def metric_samples(text: str) -> dict[tuple[str, tuple], float]:
    """Prometheus text as {(sample name, sorted labels): value}, read by prometheus-client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def unreachable_redis(settings) -> Redis:
    """The service's own Redis client (connect_redis, its timeouts and retries), where nothing listens (port 9)."""
    return connect_redis(replace(settings, redis_url="redis://127.0.0.1:9/0"))
