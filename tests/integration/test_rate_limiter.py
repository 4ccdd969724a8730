"""RedisLimiter on both stacks (fakeredis and a real Redis): per-second windows, blocks, host budgets, plans, workers.

Waits are behaviour here: the tests assert what is let through and in what
order, with bounds that hold whatever the machine's speed.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib

from zoomapi.categories import HEAVY, LIGHT, MEDIUM
from zoomapi.limiter import PLAN_LIMITS, WINDOW_SECONDS, Deferred, RedisLimiter

ACCOUNT = "acct-limiter"
PRO = {LIGHT: 30, MEDIUM: 20, HEAVY: 10}
BUSINESS = {LIGHT: 80, MEDIUM: 60, HEAVY: 40}
ZOOM_WINDOW = 1.0  # Zoom counts calls per second


def next_utc_midnight(now: datetime) -> datetime:
    """When Zoom's daily budgets reset: the next 00:00 UTC."""
    day = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.fixture
def redis(backend):
    return backend[1]


def another_client(redis: redis_lib.Redis) -> redis_lib.Redis:
    """A second connection to the same Redis (or the same fakeredis server), as a second worker has."""
    pool = redis.connection_pool
    return redis_lib.Redis(
        connection_pool=redis_lib.ConnectionPool(connection_class=pool.connection_class, **pool.connection_kwargs)
    )


def admit_all(limiter: RedisLimiter, account: str, category: str, count: int) -> int:
    """How many of `count` calls go at once before the first Deferred (max_sleep 0)."""
    for n in range(count):
        try:
            limiter.acquire(account, category)
        except Deferred:
            return n
    return count


# --- the per-second window -----------------------------------------------------------------


def test_plan_limits_are_zooms_numbers():
    assert PLAN_LIMITS["pro"] == PRO
    assert PLAN_LIMITS["business"] == BUSINESS


@pytest.mark.parametrize("category", [LIGHT, MEDIUM, HEAVY])
def test_limit_calls_go_at_once_and_the_next_is_deferred_within_the_window(redis, category):
    limiter = RedisLimiter(redis, max_sleep=0)
    limit = PRO[category]
    started = datetime.now(UTC)
    for _ in range(limit):
        limiter.acquire(ACCOUNT, category)  # none of these may wait or be deferred
    with pytest.raises(Deferred) as deferred:
        limiter.acquire(ACCOUNT, category)
    retry_at = deferred.value.retry_at
    assert started < retry_at <= datetime.now(UTC) + timedelta(seconds=WINDOW_SECONDS + 0.05)
    assert category in deferred.value.reason and ACCOUNT in deferred.value.reason


def test_a_deferred_call_is_not_counted(redis):
    limiter = RedisLimiter(redis, max_sleep=0)
    assert admit_all(limiter, ACCOUNT, HEAVY, 10) == 10
    for _ in range(5):
        with pytest.raises(Deferred):
            limiter.acquire(ACCOUNT, HEAVY)
    first_refusal = None
    try:
        limiter.acquire(ACCOUNT, HEAVY)
    except Deferred as exc:
        first_refusal = exc.retry_at
    assert first_refusal is not None
    # the refusals did not push the window on: it opens when the first admitted call leaves it
    time.sleep(max(0.0, (first_refusal - datetime.now(UTC)).total_seconds()) + 0.05)
    limiter.acquire(ACCOUNT, HEAVY)


def test_categories_and_accounts_have_windows_of_their_own(redis):
    limiter = RedisLimiter(redis, max_sleep=0)
    assert admit_all(limiter, ACCOUNT, HEAVY, 11) == 10
    assert admit_all(limiter, ACCOUNT, MEDIUM, 21) == 20
    assert admit_all(limiter, "acct-other", HEAVY, 11) == 10


def test_with_a_generous_max_sleep_the_call_waits_and_then_goes(redis):
    limiter = RedisLimiter(redis, max_sleep=5.0)
    first = time.monotonic()
    for _ in range(10):
        limiter.acquire(ACCOUNT, HEAVY)
    limiter.acquire(ACCOUNT, HEAVY)  # the 11th: waits for the window rather than being deferred
    assert time.monotonic() - first >= ZOOM_WINDOW  # not before the first call left the window


def test_a_wait_longer_than_max_sleep_is_deferred(redis):
    limiter = RedisLimiter(redis, max_sleep=0.25)
    assert admit_all(limiter, ACCOUNT, LIGHT, 30) == 30
    with pytest.raises(Deferred):  # the window opens ~1.05 s from now: more than a moment
        limiter.acquire(ACCOUNT, LIGHT)


# --- block ---------------------------------------------------------------------------------


def test_block_defers_until_the_time_given(redis):
    limiter = RedisLimiter(redis, max_sleep=0.25)
    until = datetime.now(UTC) + timedelta(seconds=30)
    limiter.block(ACCOUNT, LIGHT, until)
    with pytest.raises(Deferred) as deferred:
        limiter.acquire(ACCOUNT, LIGHT)
    assert abs((deferred.value.retry_at - until).total_seconds()) < 0.5


def test_block_holds_only_that_account_and_category(redis):
    limiter = RedisLimiter(redis, max_sleep=0)
    limiter.block(ACCOUNT, LIGHT, datetime.now(UTC) + timedelta(seconds=30))
    limiter.acquire(ACCOUNT, MEDIUM)
    limiter.acquire(ACCOUNT, HEAVY)
    limiter.acquire("acct-other", LIGHT)
    with pytest.raises(Deferred):
        limiter.acquire(ACCOUNT, LIGHT)


def test_block_until_midnight_defers_to_midnight(redis):
    limiter = RedisLimiter(redis, max_sleep=0)
    midnight = next_utc_midnight(datetime.now(UTC))
    limiter.block(ACCOUNT, HEAVY, midnight)
    with pytest.raises(Deferred) as deferred:
        limiter.acquire(ACCOUNT, HEAVY)
    assert abs((deferred.value.retry_at - midnight).total_seconds()) < 0.5


def test_a_short_block_is_waited_out_with_a_generous_max_sleep(redis):
    limiter = RedisLimiter(redis, max_sleep=5.0)
    until = datetime.now(UTC) + timedelta(seconds=0.4)
    limiter.block(ACCOUNT, LIGHT, until)
    limiter.acquire(ACCOUNT, LIGHT)
    assert datetime.now(UTC) >= until - timedelta(seconds=0.02)


def test_a_block_in_the_past_holds_nothing(redis):
    limiter = RedisLimiter(redis, max_sleep=0)
    limiter.block(ACCOUNT, LIGHT, datetime.now(UTC) - timedelta(seconds=10))
    limiter.acquire(ACCOUNT, LIGHT)


def test_a_block_is_seen_by_another_worker(redis):
    RedisLimiter(redis).block(ACCOUNT, MEDIUM, datetime.now(UTC) + timedelta(seconds=30))
    with pytest.raises(Deferred):
        RedisLimiter(another_client(redis), max_sleep=0).acquire(ACCOUNT, MEDIUM)


# --- spend_host ----------------------------------------------------------------------------


def test_spend_host_allows_100_a_day_then_defers_until_the_next_utc_midnight(redis):
    limiter = RedisLimiter(redis)
    for _ in range(100):
        limiter.spend_host("host-a")
    assert limiter.host_budget_used("host-a") == 100
    before = next_utc_midnight(datetime.now(UTC))
    with pytest.raises(Deferred) as deferred:
        limiter.spend_host("host-a")
    assert deferred.value.retry_at in (before, next_utc_midnight(datetime.now(UTC)))
    assert deferred.value.retry_at.utcoffset() == timedelta(0)
    assert deferred.value.retry_at.time() == datetime.min.time()
    assert "host-a" in deferred.value.reason
    assert limiter.host_budget_used("host-a") == 100  # the refused one is not counted


def test_spend_host_is_per_host(redis):
    limiter = RedisLimiter(redis, host_daily=3)
    for _ in range(3):
        limiter.spend_host("host-a")
    with pytest.raises(Deferred):
        limiter.spend_host("host-a")
    for _ in range(3):
        limiter.spend_host("host-b")
    assert limiter.host_budget_used("host-a") == 3
    assert limiter.host_budget_used("host-b") == 3
    assert limiter.host_budget_used("host-c") == 0


def test_spend_host_is_shared_by_workers(redis):
    first, second = RedisLimiter(redis, host_daily=4), RedisLimiter(another_client(redis), host_daily=4)
    first.spend_host("host-a")
    second.spend_host("host-a")
    first.spend_host("host-a")
    second.spend_host("host-a")
    with pytest.raises(Deferred):
        first.spend_host("host-a")
    with pytest.raises(Deferred):
        second.spend_host("host-a")


def test_spend_host_budget_expires_after_the_day(redis):
    limiter = RedisLimiter(redis)
    limiter.spend_host("host-a")
    ttls = [redis.ttl(key) for key in redis.scan_iter("*host-a*")]
    assert len(ttls) == 1
    assert 24 * 3600 < ttls[0] <= 2 * 24 * 3600


# --- plans ---------------------------------------------------------------------------------


@pytest.mark.parametrize("category", [LIGHT, MEDIUM, HEAVY])
def test_business_accounts_have_higher_limits(redis, category):
    limiter = RedisLimiter(redis, plans={"acct-biz": "business", "acct-pro": "pro"}, max_sleep=0)
    assert limiter.limit("acct-biz", category) == BUSINESS[category]
    assert limiter.limit("acct-pro", category) == PRO[category]
    assert limiter.limit("acct-unknown", category) == PRO[category]  # the lower limits by default
    assert admit_all(limiter, "acct-biz", category, BUSINESS[category] + 1) == BUSINESS[category]
    assert admit_all(limiter, "acct-pro", category, PRO[category] + 1) == PRO[category]
    assert admit_all(limiter, "acct-unknown", category, PRO[category] + 1) == PRO[category]


# --- several threads and workers -----------------------------------------------------------


def _run_concurrently(limiters: list[RedisLimiter], calls_each: int) -> list[tuple[float, float]]:
    """Each limiter in a thread of its own; the (before, after) monotonic times of every admitted call."""
    admitted: list[tuple[float, float]] = []
    lock = threading.Lock()
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(limiters))

    def work(limiter: RedisLimiter) -> None:
        try:
            barrier.wait()
            for _ in range(calls_each):
                before = time.monotonic()
                limiter.acquire(ACCOUNT, HEAVY)
                after = time.monotonic()
                with lock:
                    admitted.append((before, after))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)
    return admitted


def _most_in_one_second(admitted: list[tuple[float, float]]) -> int:
    """The most calls that provably went within one second of each other.

    A call was admitted somewhere between its `before` and `after`; a group of
    calls certainly fell within one second only when its latest `after` is less
    than a second past its earliest `before`.
    """
    best = 0
    for start, _ in admitted:
        ends = sorted(after for before, after in admitted if before >= start)
        best = max(best, sum(1 for end in ends if end - start < ZOOM_WINDOW))
    return best


def _assert_limit_respected(admitted: list[tuple[float, float]], total: int, limit: int) -> None:
    assert len(admitted) == total
    assert _most_in_one_second(admitted) <= limit
    # `total` calls at `limit` a window need at least this many full windows between the first and the last
    windows = (total - 1) // limit
    first_before = min(before for before, _ in admitted)
    last_after = max(after for _, after in admitted)
    assert last_after - first_before >= windows * ZOOM_WINDOW


def test_threads_sharing_one_limiter_never_exceed_the_limit(redis):
    limiter = RedisLimiter(redis, max_sleep=5.0)
    admitted = _run_concurrently([limiter] * 4, calls_each=5)
    _assert_limit_respected(admitted, total=20, limit=10)


def test_two_workers_on_the_same_redis_never_exceed_the_limit(redis):
    workers = [RedisLimiter(redis, max_sleep=5.0), RedisLimiter(another_client(redis), max_sleep=5.0)]
    admitted = _run_concurrently(workers, calls_each=10)
    _assert_limit_respected(admitted, total=20, limit=10)
