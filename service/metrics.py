"""Prometheus metrics, counted in Redis so every process (gunicorn's, RQ's) adds to the same numbers.

A counter is one field of a Redis hash (its name and labels), incremented where
the thing happens; a histogram is its bucket counts, sum and count. `/metrics`
reads them back, together with gauges read at scrape time (queue depths, the
inbox and the outbox by status). Counting never fails the work it counts: a
Redis error only loses that increment.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from collections import Counter
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


FLUSH_SECONDS = 1.0


class _Tally:
    """Counts of the hot path kept in the process and added to Redis at most every FLUSH_SECONDS (one
    pipeline), and at exit: a webhook costs no Redis round trip for its counter. A flush Redis refuses keeps
    its counts for the next one; a process killed outright loses at most its last second of them."""

    def __init__(self, flusher: bool = True) -> None:
        self._lock = threading.Lock()
        self._counts: dict[Redis, Counter] = {}  # by client: each app (and test) has its own Redis
        self._flusher = flusher
        self._flusher_pid: int | None = None

    def add(self, redis: Redis, field: str, amount: int) -> None:
        with self._lock:
            self._counts.setdefault(redis, Counter())[field] += amount
            if self._flusher and self._flusher_pid != os.getpid():  # first count here, or in a fork since
                self._flusher_pid = os.getpid()
                threading.Thread(target=self._flush_forever, name="metrics-flush", daemon=True).start()

    def flush(self, redis: Redis | None = None) -> None:
        """Everything counted so far into Redis (only `redis`'s counts when given)."""
        with self._lock:
            chosen = [client for client in self._counts if redis is None or client is redis]
            taken = {client: self._counts.pop(client) for client in chosen}
        for client, counts in taken.items():
            try:
                pipe = client.pipeline(transaction=False)
                for field, amount in counts.items():
                    pipe.hincrby(KEY, field, amount)
                pipe.execute()
            except RedisError:
                with self._lock:  # kept for the next flush
                    self._counts.setdefault(client, Counter()).update(counts)

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()


_tally = _Tally()
atexit.register(_tally.flush)


def tally(redis: Redis, name: str, amount: int = 1, **labels: Any) -> None:
    """`count`, for the hot path: added to Redis within a second, by the process's flusher."""
    _tally.add(redis, _field(name, labels), amount)


def flush(redis: Redis | None = None) -> None:
    """This process's tallies into Redis now (`/metrics` calls it first, so its own counts are never late)."""
    _tally.flush(redis)


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
