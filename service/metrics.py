"""Prometheus metrics, counted in Redis so every process (gunicorn's, RQ's) adds to the same numbers.

A counter is one field of a Redis hash (its name and labels), incremented where
the thing happens; a histogram is its bucket counts, sum and count. `/metrics`
reads them back, together with gauges read at scrape time (queue depths, the
inbox and the outbox by status). Counting never fails the work it counts: a
Redis error only loses that increment.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY = "zoomsync:metrics"
COUNTERS = {
    "zoomsync_webhook_events": (
        "Verified webhook deliveries by event type and what became of them",
        ("event_type", "outcome"),
    ),
    "zoomsync_webhook_rejected": ("Webhook deliveries refused before storing, by reason", ("reason",)),
    "zoomsync_zoom_calls": (
        "Calls to Zoom's REST API by HTTP status (0: no answer) and rate-limit category",
        ("status", "category"),
    ),
    "zoomsync_zoom_rate_limited": ("Zoom answers 429 (or its daily-limit 300), by category", ("category",)),
    "zoomsync_token_refreshes": ("Zoom access-token refreshes by outcome", ("outcome",)),
}
LATENCY = "zoomsync_processing_latency_seconds"
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)


def _field(name: str, labels: dict[str, Any]) -> str:
    return json.dumps([name, sorted((k, str(v)) for k, v in labels.items())], separators=(",", ":"))


def count(redis: Redis, name: str, amount: int = 1, **labels: Any) -> None:
    try:
        redis.hincrby(KEY, _field(name, labels), amount)
    except RedisError:
        log.debug("metrics: lost an increment of %s", name)


def observe_latencies(redis: Redis, seconds: Iterable[float]) -> None:
    """Add many processing latencies at once: a few Redis commands per batch, not per event."""
    values = list(seconds)
    if not values:
        return
    buckets = {bound: sum(1 for v in values if v <= bound) for bound in LATENCY_BUCKETS}
    try:
        pipe = redis.pipeline(transaction=False)
        for bound, n in buckets.items():
            if n:
                pipe.hincrby(KEY, _field(LATENCY, {"le": bound}), n)
        pipe.hincrby(KEY, _field(LATENCY, {"le": "+Inf"}), len(values))
        pipe.hincrbyfloat(KEY, _field(LATENCY, {"part": "sum"}), sum(values))
        pipe.execute()
    except RedisError:
        log.debug("metrics: lost %d latencies", len(values))


class _Stored(Collector):
    """Counters and the histogram as Redis holds them, plus gauges read now."""

    def __init__(self, redis: Redis, gauges: dict[str, tuple[str, str, dict[str, int]]]):
        self.redis, self.gauges = redis, gauges

    def collect(self):
        raw = {k.decode() if isinstance(k, bytes) else k: v for k, v in self.redis.hgetall(KEY).items()}
        stored: dict[str, list[tuple[dict[str, str], float]]] = {}
        for field, value in raw.items():
            name, labels = json.loads(field)
            stored.setdefault(name, []).append((dict(labels), float(value)))
        for name, (help_text, label_names) in COUNTERS.items():
            family = CounterMetricFamily(name, help_text, labels=list(label_names))
            for labels, value in stored.get(name, []):
                family.add_metric([labels.get(label, "") for label in label_names], value)
            yield family
        latency = stored.get(LATENCY, [])
        cumulative = {labels["le"]: value for labels, value in latency if "le" in labels}
        total = sum(value for labels, value in latency if labels.get("part") == "sum")
        buckets = [(str(float(b)), cumulative.get(str(b), 0.0)) for b in LATENCY_BUCKETS]
        buckets.append(("+Inf", cumulative.get("+Inf", 0.0)))
        yield HistogramMetricFamily(
            LATENCY, "Receipt of a webhook to its reconciliation, seconds", buckets=buckets, sum_value=total
        )
        for name, (help_text, label, values) in self.gauges.items():
            family = GaugeMetricFamily(name, help_text, labels=[label])
            for key, value in sorted(values.items()):
                family.add_metric([key], value)
            yield family


def exposition(redis: Redis, gauges: dict[str, tuple[str, str, dict[str, int]]]) -> bytes:
    from prometheus_client import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Stored(redis, gauges))
    return generate_latest(registry)
