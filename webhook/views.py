"""POST /webhooks/zoom: verify, keep, acknowledge, queue; in that order.

Answers follow Zoom's retry rules (it retries 5xx and time-outs, never 4xx):
401 bad signature, 400 not an event, 413 too big (nothing stored for any of them);
503 when the database cannot keep the event, so Zoom tries again; 200 otherwise,
even when Redis is down, because the event is safe in the inbox and the sweeper
queues it later.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from models import InboxEvent
from service import metrics
from service.envelope import URL_VALIDATION, MalformedBody, read_envelope
from service.inbox import keep, queue_committed
from service.services import EXTENSION_KEY, Services, services
from webhook import signature
from webhook.group_commit import GroupCommit

log = logging.getLogger(__name__)

bp = Blueprint("webhook", __name__)
WRITER_KEY = "zoomsync.inbox_writer"


@bp.record_once
def _make_writer(state) -> None:
    """One group commit per app (so per process): every request thread of it shares its batches."""
    svc: Services = state.app.extensions[EXTENSION_KEY]
    state.app.extensions[WRITER_KEY] = GroupCommit(
        svc.engine, InboxEvent.__table__, "dedupe_key", after_commit=lambda rows: queue_committed(svc.redis, rows)
    )


def _error(status: int, message: str):
    return jsonify(error=message), status


def _rejected(svc, status: int, reason: str, message: str):
    metrics.tally(svc.redis, "zoomsync_webhook_rejected", reason=reason)
    return _error(status, message)


@bp.post("/webhooks/zoom")
def zoom_webhook():
    svc = services()
    settings = svc.settings
    length = request.content_length
    if length is not None and length > settings.webhook_max_body_bytes:
        return _rejected(svc, 413, "too_large", "body larger than 1 MiB")
    raw_body = request.stream.read(settings.webhook_max_body_bytes + 1)
    if len(raw_body) > settings.webhook_max_body_bytes:
        return _rejected(svc, 413, "too_large", "body larger than 1 MiB")

    try:
        verified = signature.verify(
            settings.webhook_secret_tokens,
            request.headers.get("x-zm-request-timestamp"),
            request.headers.get("x-zm-signature"),
            raw_body,
            now=time.time(),
            max_age=settings.webhook_max_age_seconds,
            max_future=settings.webhook_max_future_seconds,
        )
    except signature.SignatureError as exc:
        return _rejected(svc, 401, "signature", f"invalid Zoom signature: {exc}")

    try:
        envelope = read_envelope(raw_body)
    except MalformedBody as exc:
        return _rejected(svc, 400, "malformed", str(exc))

    if envelope.event_type == URL_VALIDATION:
        plain = envelope.body["payload"].get("plainToken")
        if not isinstance(plain, str) or not plain:
            return _error(400, "endpoint.url_validation without payload.plainToken")
        return jsonify(plainToken=plain, encryptedToken=signature.encrypt_token(verified.secret, plain))

    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        stored = keep(current_app.extensions[WRITER_KEY], envelope, raw_body, headers)
    except SQLAlchemyError:
        log.exception("inbox unavailable; answering 503 so Zoom retries")
        return _rejected(svc, 503, "store_unavailable", "event store unavailable, retry later")
    g.event_type, g.meeting_id, g.inbox_id = envelope.event_type, envelope.meeting_id, stored.inbox_id
    outcome = stored.status if stored.created else "duplicate"
    metrics.tally(svc.redis, "zoomsync_webhook_events", event_type=envelope.event_type, outcome=outcome)
    return jsonify(status=stored.status, id=stored.inbox_id), 200
