"""GET /metrics: Prometheus' text format, for a scraper holding METRICS_TOKEN (never public)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, jsonify, request
from redis.exceptions import RedisError

from service import health, metrics
from service.services import services

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def prometheus():
    svc = services()
    token = svc.settings.metrics_token
    if not token:
        return jsonify(error="metrics are off: set METRICS_TOKEN"), 404
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(sent.encode(), token.encode()):
        return jsonify(error="a bearer token is required"), 401, {"WWW-Authenticate": "Bearer"}
    with svc.unit_of_work() as uow:
        inbox, outbox = health.inbox_by_status(uow), health.outbox_by_status(uow)
    try:
        depths = health.queue_depths(svc.redis)
        gauges = {
            "zoomsync_queue_depth": (
                "Jobs waiting in each RQ queue",
                "queue",
                {n: d.waiting for n, d in depths.items()},
            ),
            "zoomsync_queue_failed_jobs": (
                "Jobs in each queue's failed registry",
                "queue",
                {n: d.failed for n, d in depths.items()},
            ),
            "zoomsync_inbox_events": ("Webhook inbox rows by status", "status", inbox),
            "zoomsync_outbox_items": ("Pushes to Zoom by status", "status", outbox),
        }
        metrics.flush(svc.redis)
        body = metrics.exposition(svc.redis, gauges)
    except RedisError:
        return jsonify(error="Redis does not answer: no metrics now"), 503
    return Response(body, mimetype="text/plain; version=0.0.4")
