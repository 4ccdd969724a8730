"""POST /webhooks/zoom: what Zoom gets back, and what is (and is not) kept."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from models import InboxEvent
from models.database import make_engine
from service.app import create_app
from tests.helpers import (
    SECRET,
    deliver,
    fixture,
    queued_job_count,
    raw,
    run_jobs,
    signed_headers,
    unreachable_redis,
)
from webhook.signature import encrypt_token
from workers.sweeper import sweep_inbox


def inbox_rows(session_factory) -> list[InboxEvent]:
    with session_factory() as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def inbox_count(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(InboxEvent))


def test_verified_event_is_stored_with_its_index_columns_and_queued(client, app, session_factory):
    body = raw(fixture("meeting.participant_joined"))
    response = client.post("/webhooks/zoom", data=body, headers={**signed_headers(body), "x-zm-request-id": "req-1"})
    assert response.status_code == 200
    assert response.json["status"] == "pending"
    [row] = inbox_rows(session_factory)
    assert row.raw_body == body
    assert row.event_type == "meeting.participant_joined"
    assert row.event_ts == 1796115660100
    assert row.account_id == "acct-LMS-test-01"
    assert row.meeting_id == 85212345678
    assert row.meeting_uuid == "qF3kT9+bW/Ae1xZ0rYv2mQ=="
    assert row.participant_uuid == "PU-ada-0001"
    assert row.status == "pending" and row.attempts == 0
    assert row.headers["x-zm-request-id"] == "req-1"
    assert len(row.dedupe_key) == 64
    assert queued_job_count(app) == 1


def test_raw_bytes_are_verified_not_a_reserialised_body(client, session_factory):
    # Unusual but valid JSON spacing and non-ASCII text: only the raw bytes verify.
    body = '{ "event":"meeting.updated" ,"payload":{"object":{"id":85212345678,"topic":"Über – 🚀"},"time_stamp":1}}'
    response = deliver(client, body.encode("utf-8"))
    assert response.status_code == 200
    assert inbox_rows(session_factory)[0].raw_body == body.encode("utf-8")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-zm-request-timestamp": "now"},
        {"x-zm-signature": "v0=00"},
        {"x-zm-signature": "v0=" + "0" * 64},
    ],
    ids=["no-headers", "no-signature", "no-timestamp", "wrong-signature"],
)
def test_unverifiable_request_is_401_and_writes_nothing(client, app, session_factory, headers):
    body = raw(fixture("meeting.started"))
    base = {"x-zm-request-timestamp": str(int(time.time()))} if "x-zm-request-timestamp" not in headers else {}
    response = client.post("/webhooks/zoom", data=body, headers={**base, **headers})
    assert response.status_code == 401
    assert "error" in response.json
    assert inbox_count(session_factory) == 0
    assert queued_job_count(app) == 0


def test_signature_made_with_another_secret_is_401(client, session_factory):
    assert deliver(client, fixture("meeting.started"), secret="not-the-secret").status_code == 401
    assert inbox_count(session_factory) == 0


@pytest.mark.parametrize("offset", [-(2 * 3600 + 5), 5 * 60 + 5], ids=["older-than-window", "future"])
def test_timestamp_outside_the_replay_window_is_401(client, session_factory, offset):
    response = deliver(client, fixture("meeting.started"), timestamp=int(time.time()) + offset)
    assert response.status_code == 401
    assert inbox_count(session_factory) == 0


def test_zoom_retry_85_minutes_later_still_verifies(client):
    assert deliver(client, fixture("meeting.started"), timestamp=int(time.time()) - 85 * 60).status_code == 200


def test_tampered_body_is_401(client, session_factory):
    body = raw(fixture("meeting.started"))
    headers = signed_headers(body)
    response = client.post("/webhooks/zoom", data=body.replace(b"Onboarding", b"Offboarding"), headers=headers)
    assert response.status_code == 401
    assert inbox_count(session_factory) == 0


def test_rotated_secrets_both_verify(backend, settings):
    from dataclasses import replace

    engine, redis = backend
    app = create_app(replace(settings, webhook_secret_tokens=("new-secret", SECRET)), engine=engine, redis=redis)
    client = app.test_client()
    assert deliver(client, fixture("meeting.started"), secret="new-secret").status_code == 200
    assert deliver(client, fixture("meeting.ended"), secret=SECRET).status_code == 200
    assert deliver(client, fixture("meeting.deleted"), secret="retired").status_code == 401


def test_url_validation_answers_the_challenge_with_the_signing_secret(client, session_factory):
    response = deliver(client, fixture("endpoint.url_validation"))
    assert response.status_code == 200
    assert response.json == {
        "plainToken": "lmsTestPlainToken_42",
        "encryptedToken": encrypt_token(SECRET, "lmsTestPlainToken_42"),
    }
    assert inbox_count(session_factory) == 0


def test_unsigned_url_validation_is_401(client):
    response = client.post("/webhooks/zoom", json=fixture("endpoint.url_validation"))
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1,2]",
        b'{"payload":{}}',
        b'{"event":"meeting.started"}',
        b'{"event":"x","payload":[]}',
        b"\xff\xfe",
    ],
    ids=["not-json", "array", "no-event", "no-payload", "payload-not-object", "not-utf8"],
)
def test_signed_but_malformed_body_is_400_and_writes_nothing(client, session_factory, body):
    response = deliver(client, body)
    assert response.status_code == 400
    assert "error" in response.json
    assert inbox_count(session_factory) == 0


def test_body_over_one_mebibyte_is_413_and_writes_nothing(client, session_factory):
    padding = "x" * (1024 * 1024)
    body = json.dumps({"event": "meeting.updated", "payload": {"object": {"id": 1, "agenda": padding}}}).encode()
    response = deliver(client, body)
    assert response.status_code == 413
    assert inbox_count(session_factory) == 0


def test_unhandled_event_type_is_200_and_kept_as_ignored(client, app, session_factory):
    response = deliver(client, fixture("meeting.registration_created"))
    assert response.status_code == 200
    [row] = inbox_rows(session_factory)
    assert row.status == "ignored"
    assert queued_job_count(app) == 0


def test_handled_event_without_a_meeting_number_is_kept_as_failed_with_the_reason(client, app, session_factory):
    body = fixture("meeting.started")
    body["payload"]["object"]["id"] = "not-a-number"
    assert deliver(client, body).status_code == 200
    [row] = inbox_rows(session_factory)
    assert row.status == "failed"
    assert "payload.object.id" in row.last_error
    assert queued_job_count(app) == 0


def test_redelivery_is_200_one_row_one_job(client, app, session_factory):
    first = deliver(client, fixture("meeting.participant_joined"))
    # Zoom's retry: same event, new timestamp and signature, keys in another order.
    reordered = json.dumps(fixture("meeting.participant_joined"), sort_keys=True, indent=1)
    second = deliver(client, reordered, timestamp=int(time.time()) + 60)
    assert first.status_code == second.status_code == 200
    assert second.json["status"] == "duplicate"
    assert inbox_count(session_factory) == 1
    assert queued_job_count(app) == 1


def test_database_down_is_503_so_zoom_retries(backend, settings):
    _, redis = backend
    dead = make_engine("postgresql://postgres@127.0.0.1:9/unreachable")  # port 9: nothing listens
    client = create_app(settings, engine=dead, redis=redis).test_client()
    response = deliver(client, fixture("meeting.started"))
    assert response.status_code == 503
    assert "retry" in response.json["error"]


def test_redis_down_is_still_200_and_the_sweeper_queues_the_event_later(backend, settings, session_factory):
    from dataclasses import replace

    engine, redis = backend
    down = create_app(settings, engine=engine, redis=unreachable_redis(settings))
    response = deliver(down.test_client(), fixture("meeting.started"))
    assert response.status_code == 200
    [row] = inbox_rows(session_factory)
    assert row.status == "pending"

    # Redis is back; the sweeper finds the event pending past its threshold and queues it.
    up = create_app(replace(settings, sweep_after_seconds=0), engine=engine, redis=redis)
    with up.app_context():
        assert sweep_inbox() == 1
        assert sweep_inbox() == 0  # the queued job is still waiting: not queued twice
    assert queued_job_count(up) == 1


def test_nul_characters_are_stored_and_reconciled_on_every_backend(client, app, session_factory):
    # PostgreSQL text cannot hold NUL: without care this was a 503 that Zoom would retry forever.
    from tests.helpers import AUTH, create_training

    training_id = create_training(client)
    body = fixture("meeting.participant_joined")
    body["payload"]["object"]["participant"].update(participant_uuid="PU\u0000x", user_name="Ada\u0000")
    body["payload"]["object"]["topic"] = "Topic\u0000"
    assert deliver(client, body).status_code == 200
    updated = fixture("meeting.updated")
    updated["payload"]["object"]["topic"] = "New\u0000 title"
    updated["payload"]["time_stamp"] = int(time.time() * 1000) + 1000
    assert deliver(client, updated).status_code == 200
    run_jobs(app)
    assert {row.status for row in inbox_rows(session_factory)} == {"processed"}
    assert inbox_rows(session_factory)[0].participant_uuid == "PUx"
    assert client.get(f"/api/v1/trainings/{training_id}", headers=AUTH).json["theme"] == "New title"
