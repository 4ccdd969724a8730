"""Metrics counted in Redis (fakeredis here; the endpoint's tests use a real server too) and read back."""

from __future__ import annotations

import time

import fakeredis
from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import ConnectionError as RedisConnectionError

from service import metrics
from tests.helpers import metric_samples


def _samples(redis, gauges=None) -> dict[tuple[str, tuple], float]:
    return metric_samples(metrics.exposition(redis, gauges or {}).decode())


def test_counters_add_up_by_label():
    redis = fakeredis.FakeRedis()
    metrics.count(redis, "zoomsync_webhook_events", event_type="meeting.started", outcome="pending")
    metrics.count(redis, "zoomsync_webhook_events", event_type="meeting.started", outcome="pending")
    metrics.count(redis, "zoomsync_webhook_events", event_type="meeting.ended", outcome="duplicate")
    samples = _samples(redis)
    started = ("zoomsync_webhook_events_total", (("event_type", "meeting.started"), ("outcome", "pending")))
    ended = ("zoomsync_webhook_events_total", (("event_type", "meeting.ended"), ("outcome", "duplicate")))
    assert samples[started] == 2 and samples[ended] == 1


def test_latencies_fill_cumulative_buckets_sum_and_count():
    redis = fakeredis.FakeRedis()
    metrics.observe_latencies(redis, [0.2, 0.7, 3.0])
    metrics.observe_latencies(redis, [4000.0])
    samples = _samples(redis)
    bucket = "zoomsync_processing_latency_seconds_bucket"
    assert samples[(bucket, (("le", "0.5"),))] == 1
    assert samples[(bucket, (("le", "1.0"),))] == 2
    assert samples[(bucket, (("le", "5.0"),))] == 3
    assert samples[(bucket, (("le", "3600.0"),))] == 3
    assert samples[(bucket, (("le", "+Inf"),))] == 4
    assert samples[("zoomsync_processing_latency_seconds_count", ())] == 4
    assert abs(samples[("zoomsync_processing_latency_seconds_sum", ())] - 4003.9) < 1e-6


def test_gauges_are_read_at_scrape_time():
    redis = fakeredis.FakeRedis()
    gauges = {"zoomsync_queue_depth": ("Jobs waiting", "queue", {"reconcile": 3, "outbound": 0})}
    samples = _samples(redis, gauges)
    assert samples[("zoomsync_queue_depth", (("queue", "reconcile"),))] == 3
    assert samples[("zoomsync_queue_depth", (("queue", "outbound"),))] == 0


def test_every_counter_is_exposed_even_before_anything_happened():
    names = {
        family.name for family in text_string_to_metric_families(metrics.exposition(fakeredis.FakeRedis(), {}).decode())
    }
    assert {name for name in metrics.COUNTERS} <= names


def test_counting_never_fails_the_work_when_redis_is_down():
    class Down:
        def hincrby(self, *args):
            raise RedisConnectionError("down")

        def pipeline(self, **kwargs):
            raise RedisConnectionError("down")

    metrics.count(Down(), "zoomsync_webhook_rejected", reason="signature")
    metrics.observe_latencies(Down(), [1.0])


def _rejected(redis) -> float:
    return _samples(redis).get(("zoomsync_webhook_rejected_total", (("reason", "signature"),)), 0)


SIGNATURE = metrics._field("zoomsync_webhook_rejected", {"reason": "signature"})


def test_tallies_reach_redis_at_the_flush_not_before():
    redis, tally = fakeredis.FakeRedis(), metrics._Tally(flusher=False)
    for _ in range(3):
        tally.add(redis, SIGNATURE, 1)
    assert _rejected(redis) == 0  # kept in the process so far
    tally.flush(redis)
    assert _rejected(redis) == 3
    tally.flush(redis)
    assert _rejected(redis) == 3  # a flush adds each count once


def test_a_flush_takes_only_the_counts_of_the_redis_it_is_given():
    ours, theirs, tally = fakeredis.FakeRedis(), fakeredis.FakeRedis(), metrics._Tally(flusher=False)
    tally.add(ours, SIGNATURE, 1)
    tally.add(theirs, SIGNATURE, 2)
    tally.flush(ours)
    assert (_rejected(ours), _rejected(theirs)) == (1, 0)
    tally.flush()
    assert (_rejected(ours), _rejected(theirs)) == (1, 2)


def test_the_flusher_adds_tallies_by_itself_within_seconds():
    redis = fakeredis.FakeRedis()
    metrics.tally(redis, "zoomsync_webhook_rejected", reason="signature")
    deadline = time.monotonic() + 10 * metrics.FLUSH_SECONDS
    while _rejected(redis) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _rejected(redis) == 1


def test_a_flush_redis_refuses_keeps_its_counts_for_the_next():
    redis, tally = fakeredis.FakeRedis(), metrics._Tally(flusher=False)
    tally.add(redis, SIGNATURE, 2)
    real_pipeline = redis.pipeline
    redis.pipeline = lambda **kwargs: (_ for _ in ()).throw(RedisConnectionError("down"))
    tally.flush(redis)
    assert _rejected(redis) == 0
    redis.pipeline = real_pipeline
    tally.flush(redis)
    assert _rejected(redis) == 2
