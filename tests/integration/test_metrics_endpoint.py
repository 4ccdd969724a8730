"""GET /metrics on both stacks: protected, and counting what the webhook and the workers did."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.helpers import deliver, fixture, metric_samples, raw, run_jobs, signed_headers
from tests.integration.test_reconcile import Lms

TOKEN = "scrape-me"


@pytest.fixture
def settings(settings):
    return replace(settings, metrics_token=TOKEN)


def scrape(client) -> dict[tuple[str, tuple], float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    return metric_samples(answer.data.decode())


def test_metrics_need_the_token(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_without_a_token_configured_metrics_are_off(backend, settings):
    from service.app import create_app

    engine, redis = backend
    app = create_app(replace(settings, metrics_token=""), engine=engine, redis=redis)
    assert app.test_client().get("/metrics").status_code == 404


def test_webhooks_are_counted_by_type_and_outcome_and_refusals_by_reason(client):
    body = fixture("meeting.started")
    assert deliver(client, body).status_code == 200
    assert deliver(client, body).status_code == 200  # Zoom sending it again
    assert deliver(client, body, secret="not-the-secret").status_code == 401
    data = raw(b"not json")
    assert client.post("/webhooks/zoom", data=data, headers=signed_headers(data)).status_code == 400
    samples = scrape(client)
    events = "zoomsync_webhook_events_total"
    assert samples[(events, (("event_type", "meeting.started"), ("outcome", "pending")))] == 1
    assert samples[(events, (("event_type", "meeting.started"), ("outcome", "duplicate")))] == 1
    assert samples[("zoomsync_webhook_rejected_total", (("reason", "signature"),))] == 1
    assert samples[("zoomsync_webhook_rejected_total", (("reason", "malformed"),))] == 1
    assert samples[("zoomsync_inbox_events", (("status", "pending"),))] == 1
    assert samples[("zoomsync_queue_depth", (("queue", "reconcile"),))] == 1


def test_reconciling_records_the_latency_from_receipt(app, client):
    Lms(client).training()
    for name in ("meeting.started", "meeting.participant_joined", "meeting.participant_left"):
        deliver(client, fixture(name))
    run_jobs(app)
    samples = scrape(client)
    assert samples[("zoomsync_processing_latency_seconds_count", ())] == 3
    assert samples[("zoomsync_processing_latency_seconds_bucket", (("le", "+Inf"),))] == 3
    assert samples[("zoomsync_inbox_events", (("status", "processed"),))] == 3
    assert samples[("zoomsync_queue_depth", (("queue", "reconcile"),))] == 0
