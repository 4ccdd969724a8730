"""RedisLimiter on both stacks (fakeredis and a real Redis): per-second windows, blocks, host budgets, plans, workers,
and the headroom the admin overview reads.

Waits are behaviour here: the tests assert what is let through and in what
order, with bounds that hold whatever the machine's speed.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

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


def test_a_block_lasts_zooms_wait_whatever_the_blocking_workers_own_clock_says(redis, monkeypatch):
    skew = 3600.0  # this worker's clock is an hour ahead of Redis's (another host, a wrong NTP)
    skewed = SimpleNamespace(time=lambda: time.time() + skew, sleep=time.sleep)
    monkeypatch.setattr("zoomapi.limiter.time", skewed)  # the limiter's module only: Redis keeps its clock
    ahead = datetime.fromtimestamp(skewed.time(), tz=UTC)
    RedisLimiter(redis).block(ACCOUNT, LIGHT, ahead + timedelta(seconds=2))  # Zoom said: 2 seconds
    monkeypatch.undo()
    limiter = RedisLimiter(redis, max_sleep=0)
    with pytest.raises(Deferred) as deferred:
        limiter.acquire(ACCOUNT, LIGHT)
    wait = (deferred.value.retry_at - datetime.now(UTC)).total_seconds()
    assert 1.0 < wait <= 2.1  # two seconds, not an hour and two


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


# --- what each account spent of its hosts' daily budgets ---------------------------------


def test_spend_host_records_per_account_which_hosts_spent_how_much(redis):
    limiter = RedisLimiter(redis)
    for host, account, times in (("host-a", ACCOUNT, 3), ("host-b", ACCOUNT, 1), ("host-c", "acct-other", 2)):
        for _ in range(times):
            limiter.spend_host(host, account_id=account)
    limiter.spend_host("host-d")  # no account given: counted for the host, recorded for no account
    mine = limiter.headroom(ACCOUNT)
    assert mine.hosts == (("host-a", 3), ("host-b", 1))  # busiest first
    assert (mine.hosts_total, mine.host_daily) == (4, 100)
    assert limiter.headroom("acct-other").hosts == (("host-c", 2),)
    assert limiter.host_budget_used("host-d") == 1


def test_the_host_counter_still_decides_whichever_account_spends(redis):
    limiter = RedisLimiter(redis, host_daily=2)
    limiter.spend_host("host-a", account_id=ACCOUNT)
    limiter.spend_host("host-a", account_id="acct-other")
    with pytest.raises(Deferred):
        limiter.spend_host("host-a", account_id=ACCOUNT)
    assert limiter.headroom(ACCOUNT).hosts == (("host-a", 1),)  # the refused spend is not recorded either
    assert limiter.headroom("acct-other").hosts == (("host-a", 1),)


def test_refund_host_gives_the_accounts_record_back_too(redis):
    limiter = RedisLimiter(redis)
    limiter.spend_host("host-a", account_id=ACCOUNT)
    limiter.spend_host("host-a", account_id=ACCOUNT)
    limiter.refund_host("host-a", account_id=ACCOUNT)
    assert limiter.headroom(ACCOUNT).hosts == (("host-a", 1),)
    limiter.refund_host("host-a", account_id=ACCOUNT)
    assert limiter.headroom(ACCOUNT).hosts == ()  # nothing spent: no longer listed
    limiter.refund_host("host-a", account_id=ACCOUNT)  # nothing left to refund: nothing goes below zero
    assert limiter.headroom(ACCOUNT).hosts == ()
    assert limiter.host_budget_used("host-a") == 0


def test_exhaust_host_puts_the_host_at_the_cap_in_the_accounts_record(redis):
    limiter = RedisLimiter(redis)
    for _ in range(3):
        limiter.spend_host("host-a", account_id=ACCOUNT)
    limiter.exhaust_host("host-a", datetime.now(UTC).date(), account_id=ACCOUNT)
    assert limiter.headroom(ACCOUNT).hosts == (("host-a", 100),)
    assert limiter.host_budget_used("host-a") == 100
    with pytest.raises(Deferred):
        limiter.spend_host("host-a", account_id=ACCOUNT)
    assert limiter.headroom(ACCOUNT).hosts == (("host-a", 100),)


def test_exhausting_the_day_zoom_is_still_in_leaves_ours_whole(redis):
    # just after our midnight, a Zoom a moment behind refuses for yesterday: that is not our new day's cap
    limiter = RedisLimiter(redis)
    limiter.spend_host("host-a", account_id=ACCOUNT)
    limiter.exhaust_host("host-a", datetime.now(UTC).date() - timedelta(days=1), account_id=ACCOUNT)
    assert limiter.host_budget_used("host-a") == 1
    assert limiter.headroom(ACCOUNT).hosts == (("host-a", 1),)
    limiter.spend_host("host-a", account_id=ACCOUNT)
    assert limiter.host_budget_used("host-a") == 2


def test_the_accounts_record_is_kept_by_utc_day_and_expires(redis):
    limiter = RedisLimiter(redis)
    limiter.spend_host("host-a", account_id=ACCOUNT)
    key = f"zoomsync:host-daily-by-account:{ACCOUNT}:{datetime.now(UTC):%Y-%m-%d}"
    assert redis.zscore(key, "host-a") == 1
    assert 24 * 3600 < redis.ttl(key) <= 2 * 24 * 3600


# --- headroom: what the admin overview reads -----------------------------------------------


def _by_category(limiter: RedisLimiter, account: str) -> dict[str, tuple[int, int, int]]:
    """(limit, used, headroom) per category."""
    return {c.category: (c.limit, c.used, c.headroom) for c in limiter.headroom(account).categories}


def test_headroom_counts_the_calls_in_the_current_window_per_category(redis):
    limiter = RedisLimiter(redis, max_sleep=0)
    for _ in range(5):
        limiter.acquire(ACCOUNT, LIGHT)
    assert admit_all(limiter, ACCOUNT, HEAVY, 11) == 10
    assert _by_category(limiter, ACCOUNT) == {LIGHT: (30, 5, 25), MEDIUM: (20, 0, 20), HEAVY: (10, 10, 0)}
    assert _by_category(limiter, "acct-other") == {LIGHT: (30, 0, 30), MEDIUM: (20, 0, 20), HEAVY: (10, 0, 10)}


def test_headroom_is_read_with_the_accounts_plan(redis):
    limiter = RedisLimiter(redis, plans={"acct-biz": "business"}, max_sleep=0)
    limiter.acquire("acct-biz", MEDIUM)
    assert _by_category(limiter, "acct-biz") == {LIGHT: (80, 0, 80), MEDIUM: (60, 1, 59), HEAVY: (40, 0, 40)}


def test_calls_leave_the_headroom_count_with_the_window_and_reading_removes_nothing(redis):
    limiter = RedisLimiter(redis, max_sleep=0)
    for _ in range(3):
        limiter.acquire(ACCOUNT, LIGHT)
    time.sleep(WINDOW_SECONDS + 0.1)
    assert _by_category(limiter, ACCOUNT)[LIGHT] == (30, 0, 30)
    assert redis.zcard(f"zoomsync:rate:{ACCOUNT}:{LIGHT}") == 3  # a read only: the next acquire prunes them


def test_headroom_shows_a_block_until_its_time_and_then_none(redis):
    limiter = RedisLimiter(redis, max_sleep=0)
    until = datetime.now(UTC) + timedelta(seconds=30)
    limiter.block(ACCOUNT, MEDIUM, until)
    limiter.block(ACCOUNT, HEAVY, datetime.now(UTC) + timedelta(seconds=0.3))
    blocked = {c.category: c.blocked_until for c in limiter.headroom(ACCOUNT).categories}
    assert blocked[LIGHT] is None
    assert abs((blocked[MEDIUM] - until).total_seconds()) < 0.001
    assert blocked[HEAVY] is not None
    time.sleep(0.4)  # the heavy block has passed, though its key outlives it by up to a second
    blocked = {c.category: c.blocked_until for c in limiter.headroom(ACCOUNT).categories}
    assert blocked[HEAVY] is None and blocked[MEDIUM] is not None


def test_headroom_writes_nothing(redis):
    limiter = RedisLimiter(redis, max_sleep=0)
    limiter.acquire(ACCOUNT, LIGHT)
    limiter.block(ACCOUNT, HEAVY, datetime.now(UTC) + timedelta(seconds=30))
    limiter.spend_host("host-a", account_id=ACCOUNT)
    before = {key: (redis.type(key), redis.dump(key)) for key in redis.scan_iter("zoomsync:*")}
    limiter.headroom(ACCOUNT)
    limiter.headroom("acct-never-seen")
    after = {key: (redis.type(key), redis.dump(key)) for key in redis.scan_iter("zoomsync:*")}
    assert after == before


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
