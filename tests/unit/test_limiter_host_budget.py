"""A host's daily create/update budget in Redis (fakeredis with Lua): each spend and refund is one script.

Before, a spend was INCR then EXPIRE and a refund GET then DECR: a worker dying
between the two left a count that never expired, and two refunds racing took
the same unit back twice. These tests hold what the scripts promise: a count
always has its TTL after a spend, a refund never goes below zero, and
concurrent spends never let more than the cap through. Every round trip is
slowed a little where threads race, so a two-step version would lose.
tests/integration/test_rate_limiter.py runs the limiter's behaviour on a real Redis too.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from zoomapi.limiter import DAY_TTL, Deferred, RedisLimiter

HOST = "host-a"
ACCOUNT = "acct-a"
DAY_SECONDS = 24 * 3600


class SlowFakeRedis(fakeredis.FakeRedis):
    """Every command waits a moment first, as on a busy network: the gap between two steps gets wide."""

    def execute_command(self, *args, **options):
        time.sleep(0.001)
        return super().execute_command(*args, **options)


def host_key(host: str = HOST) -> str:
    return f"zoomsync:host-daily:{host}:{datetime.now(UTC):%Y-%m-%d}"


def account_key(account: str = ACCOUNT) -> str:
    return f"zoomsync:host-daily-by-account:{account}:{datetime.now(UTC):%Y-%m-%d}"


@pytest.fixture
def redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


def run_in_threads(count: int, work) -> list[BaseException]:
    """`work(n)` in `count` threads started together; what any of them raised, other than Deferred."""
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return failures


# --- the count's TTL ----------------------------------------------------------------------


def test_a_first_spend_gives_the_count_a_days_ttl(redis):
    RedisLimiter(redis).spend_host(HOST)
    assert int(redis.get(host_key())) == 1
    assert DAY_SECONDS < redis.ttl(host_key()) <= DAY_TTL


@pytest.mark.parametrize("left", [1, 37])
def test_a_count_left_without_a_ttl_gets_one_on_the_next_spend(redis, left):
    # a process INCRed the count and died before its EXPIRE: the key would have stayed for ever
    redis.set(host_key(), left)
    assert redis.ttl(host_key()) == -1
    limiter = RedisLimiter(redis)
    limiter.spend_host(HOST)
    assert limiter.host_budget_used(HOST) == left + 1
    assert DAY_SECONDS < redis.ttl(host_key()) <= DAY_TTL


def test_a_refused_spend_also_gives_a_count_without_a_ttl_its_ttl(redis):
    redis.set(host_key(), 3)
    limiter = RedisLimiter(redis, host_daily=3)
    with pytest.raises(Deferred):
        limiter.spend_host(HOST)
    assert limiter.host_budget_used(HOST) == 3
    assert DAY_SECONDS < redis.ttl(host_key()) <= DAY_TTL


def test_a_spend_keeps_the_ttl_the_count_has(redis):
    # EXPIRE only where there is none: a spend late in the day must not push the count past its day
    redis.set(host_key(), 5, ex=600)
    RedisLimiter(redis).spend_host(HOST)
    assert int(redis.get(host_key())) == 6
    assert 0 < redis.ttl(host_key()) <= 600


# --- the cap ------------------------------------------------------------------------------


def test_a_spend_over_the_cap_is_refused_uncounted_until_the_next_utc_midnight(redis):
    limiter = RedisLimiter(redis, host_daily=2)
    limiter.spend_host(HOST, account_id=ACCOUNT)
    limiter.spend_host(HOST, account_id=ACCOUNT)
    with pytest.raises(Deferred) as deferred:
        limiter.spend_host(HOST, account_id=ACCOUNT)
    assert deferred.value.daily is True
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert deferred.value.retry_at == datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)
    assert HOST in deferred.value.reason
    assert limiter.host_budget_used(HOST) == 2
    assert redis.zscore(account_key(), HOST) == 2  # the refused spend is not recorded for the account either


def test_a_count_already_over_a_lowered_cap_refuses_and_stays(redis):
    redis.set(host_key(), 7, ex=DAY_TTL)
    limiter = RedisLimiter(redis, host_daily=5)
    with pytest.raises(Deferred):
        limiter.spend_host(HOST)
    assert limiter.host_budget_used(HOST) == 7


def test_concurrent_spends_from_threads_never_exceed_the_cap():
    server = fakeredis.FakeServer()
    cap, threads, tries = 30, 8, 10
    admitted, refused = [], []
    lock = threading.Lock()

    def spend(n: int) -> None:
        limiter = RedisLimiter(SlowFakeRedis(server=server), host_daily=cap)  # a worker of its own
        for _ in range(tries):
            try:
                limiter.spend_host(HOST, account_id=ACCOUNT)
                outcome = admitted
            except Deferred:
                outcome = refused
            with lock:
                outcome.append(n)

    assert run_in_threads(threads, spend) == []
    redis = fakeredis.FakeRedis(server=server)
    assert (len(admitted), len(refused)) == (cap, threads * tries - cap)
    assert int(redis.get(host_key())) == cap
    assert redis.zscore(account_key(), HOST) == cap
    assert DAY_SECONDS < redis.ttl(host_key()) <= DAY_TTL


# --- refunds ------------------------------------------------------------------------------


def test_a_refund_with_nothing_spent_changes_nothing(redis):
    limiter = RedisLimiter(redis)
    limiter.refund_host(HOST, account_id=ACCOUNT)
    assert redis.exists(host_key(), account_key()) == 0  # no key made, no record made
    redis.set(host_key(), 0, ex=600)
    limiter.refund_host(HOST, account_id=ACCOUNT)
    assert int(redis.get(host_key())) == 0
    assert redis.exists(account_key()) == 0


def test_refunds_beyond_what_was_spent_stop_at_zero(redis):
    limiter = RedisLimiter(redis)
    limiter.spend_host(HOST, account_id=ACCOUNT)
    limiter.spend_host(HOST, account_id=ACCOUNT)
    for _ in range(4):
        limiter.refund_host(HOST, account_id=ACCOUNT)
    assert int(redis.get(host_key())) == 0
    assert redis.zscore(account_key(), HOST) is None  # nothing spent: no longer listed
    limiter.spend_host(HOST, account_id=ACCOUNT)  # and the budget is whole again, not one short
    assert limiter.host_budget_used(HOST) == 1


def test_concurrent_refunds_never_take_the_count_below_zero():
    server = fakeredis.FakeServer()
    limiter = RedisLimiter(fakeredis.FakeRedis(server=server))
    for _ in range(5):
        limiter.spend_host(HOST, account_id=ACCOUNT)

    def refund(_: int) -> None:
        mine = RedisLimiter(SlowFakeRedis(server=server))
        for _ in range(3):
            mine.refund_host(HOST, account_id=ACCOUNT)

    assert run_in_threads(8, refund) == []  # 24 refunds of 5 spends
    redis = fakeredis.FakeRedis(server=server)
    assert int(redis.get(host_key())) == 0
    assert redis.zscore(account_key(), HOST) is None


def test_spends_and_refunds_racing_keep_the_count_exact():
    server = fakeredis.FakeServer()
    cap = 1000  # never reached: every spend counts, every refund has one to give back

    def spend_then_refund(n: int) -> None:
        limiter = RedisLimiter(SlowFakeRedis(server=server), host_daily=cap)
        for _ in range(10):
            limiter.spend_host(HOST, account_id=ACCOUNT)
        for _ in range(n % 3):
            limiter.refund_host(HOST, account_id=ACCOUNT)

    assert run_in_threads(6, spend_then_refund) == []
    refunded = sum(n % 3 for n in range(6))
    redis = fakeredis.FakeRedis(server=server)
    assert int(redis.get(host_key())) == 60 - refunded
    assert redis.zscore(account_key(), HOST) == 60 - refunded
