"""One rate limiter per Zoom account and category, in Redis, shared by every worker.

A sliding window per (account, category) allows at most Zoom's per-second
number of calls in any window; it runs as one Lua script on Redis's own clock,
so workers on several hosts count alike. A call that would exceed it waits a
moment when the wait is short (under `max_sleep`) or is deferred: the job is
rescheduled for then, so no worker sits idle. After a 429, the account's
category is blocked until Zoom's Retry-After; a daily limit blocks until the reset.

The daily create/update budget is Zoom's per host: the per-host counter is what
holds calls back. Beside it, each account keeps a sorted set of what its hosts
spent today, so the admin overview can tell which connection spends it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from redis import Redis

from zoomapi.categories import HEAVY, LIGHT, MEDIUM
from zoomapi.timing import next_utc_midnight

PLAN_LIMITS: dict[str, dict[str, int]] = {
    "pro": {LIGHT: 30, MEDIUM: 20, HEAVY: 10},
    "business": {LIGHT: 80, MEDIUM: 60, HEAVY: 40},
}
CATEGORIES = (LIGHT, MEDIUM, HEAVY)
# A little more than Zoom's one second, for the network's jitter between our count and Zoom's.
WINDOW_SECONDS = 1.05
CLOCK_NOISE_SECONDS = 0.05  # what a round trip to Redis can add to a reading of its clock
DAY_TTL = 2 * 24 * 3600  # a UTC day's counts: kept through the day, then they go by themselves

_RESERVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > t then return tostring(blocked - t) end
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], t, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - t)
"""

# KEYS[1] the host's count of the day, KEYS[2] (if given) the account's record of it; ARGV: TTL, cap, host id.
# The TTL is set whenever the count has none, not only on its first spend: a count left without one by a
# process that died between two steps (as before this script) still goes at the end of its day.
_SPEND_HOST = """
local used = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if used > tonumber(ARGV[2]) then
  redis.call('DECR', KEYS[1])
  return {0, used - 1}
end
if KEYS[2] then
  redis.call('ZINCRBY', KEYS[2], 1, ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return {1, used}
"""

# KEYS as _SPEND_HOST; ARGV: TTL, host id. Nothing to give back (0 or no key) changes nothing.
_REFUND_HOST = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used <= 0 then return 0 end
redis.call('DECR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if KEYS[2] then
  redis.call('ZINCRBY', KEYS[2], -1, ARGV[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', 0)  -- a host with nothing spent is no longer listed
end
return 1
"""


class Deferred(Exception):  # noqa: N818 - a signal to reschedule, not a failure
    """The call may not go before `retry_at`; the job should be rescheduled for then.

    `daily`: the budget spent is a day's (a host's creates and updates), as for Zoom's own daily 429.
    """

    def __init__(self, retry_at: datetime, reason: str, daily: bool = False):
        super().__init__(f"deferred until {retry_at.isoformat()}: {reason}")
        self.retry_at, self.reason, self.daily = retry_at, reason, daily


@dataclass(frozen=True)
class CategoryHeadroom:
    """One category's per-second window as it stands: `limit - used` calls may go at once."""

    category: str
    limit: int
    used: int
    blocked_until: datetime | None  # after a 429: nothing of the category goes before then

    @property
    def headroom(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class AccountHeadroom:
    """What an account may still spend: per-second headroom per category, and its hosts' daily use today."""

    categories: tuple[CategoryHeadroom, ...]
    hosts: tuple[tuple[str, int], ...]  # (host id, creates and updates today), busiest first
    host_daily: int

    @property
    def hosts_total(self) -> int:
        return sum(used for _, used in self.hosts)


def _keys(account_id: str, category: str) -> tuple[str, str]:
    return f"zoomsync:rate:{account_id}:{category}", f"zoomsync:rate-blocked:{account_id}:{category}"


def _host_key(host_id: str, day: date) -> str:
    """The host's creates and updates of the UTC day: what holds their calls back."""
    return f"zoomsync:host-daily:{host_id}:{day:%Y-%m-%d}"


def _account_hosts_key(account_id: str, day: date) -> str:
    """Per host, what the account's connection spent of it that day: for display, never enforced."""
    return f"zoomsync:host-daily-by-account:{account_id}:{day:%Y-%m-%d}"


class RedisLimiter:
    def __init__(
        self, redis: Redis, plans: dict[str, str] | None = None, max_sleep: float = 0.25, host_daily: int = 100
    ) -> None:
        self.redis = redis
        self.host_daily = host_daily
        self.plans = plans or {}  # account id -> "pro" | "business" (default pro: the lower limits)
        self.max_sleep = max_sleep
        self._script = redis.register_script(_RESERVE)
        self._spend = redis.register_script(_SPEND_HOST)
        self._refund = redis.register_script(_REFUND_HOST)

    def limit(self, account_id: str, category: str) -> int:
        return PLAN_LIMITS[self.plans.get(account_id, "pro")][category]

    def acquire(self, account_id: str, category: str) -> None:
        window_key, blocked_key = _keys(account_id, category)
        while True:
            member = secrets.token_hex(8)
            wait = float(
                self._script(
                    keys=[window_key, blocked_key], args=[WINDOW_SECONDS, self.limit(account_id, category), member]
                )
            )
            if wait <= 0:
                return
            if wait > self.max_sleep:
                raise Deferred(datetime.fromtimestamp(time.time() + wait, tz=UTC), f"{category} calls of {account_id}")
            time.sleep(wait)

    def spend_host(self, host_id: str, account_id: str = "") -> None:
        """Zoom allows 100 meeting/webinar creates or updates per host per UTC day: keep under it.

        The per-host counter decides; `account_id` (whose connection spends) is recorded for the overview only.
        One script does it all, so a worker that dies mid-way cannot leave a count without its TTL or a refused
        call counted.
        """
        now = datetime.now(UTC)
        keys = [_host_key(host_id, now)]
        if account_id:
            keys.append(_account_hosts_key(account_id, now))
        spent, _ = self._spend(keys=keys, args=[DAY_TTL, self.host_daily, host_id])
        if not spent:
            raise Deferred(
                next_utc_midnight(now), f"the daily {self.host_daily} creates and updates of host {host_id}", daily=True
            )

    def refund_host(self, host_id: str, account_id: str = "") -> None:
        """Give back a spend Zoom refused at the door (401, 429): it changed nothing. One script; never below 0."""
        now = datetime.now(UTC)
        keys = [_host_key(host_id, now)]
        if account_id:
            keys.append(_account_hosts_key(account_id, now))
        self._refund(keys=keys, args=[DAY_TTL, host_id])

    def exhaust_host(self, host_id: str, day: date, account_id: str = "") -> None:
        """Zoom answered the host's daily cap (our count may lag Zoom's): that UTC day is spent.

        `day` is the one Zoom refused for: just after our midnight, a Zoom whose clock
        is a moment behind still refuses for the day before, which leaves ours whole.
        """
        self.redis.set(_host_key(host_id, day), self.host_daily, ex=DAY_TTL)
        if account_id:
            by_account = _account_hosts_key(account_id, day)
            pipe = self.redis.pipeline(transaction=False)
            pipe.zadd(by_account, {host_id: self.host_daily})
            pipe.expire(by_account, DAY_TTL)
            pipe.execute()

    def host_budget_used(self, host_id: str) -> int:
        return int(self.redis.get(_host_key(host_id, datetime.now(UTC))) or 0)

    def headroom(self, account_id: str) -> AccountHeadroom:
        """The account's budgets as the limiter sees them now, for the admin overview (reads only, writes nothing).

        Windows are read on Redis's clock, as the reserve script counts them; raises RedisError when Redis is away.
        """
        seconds, micros = self.redis.time()
        now = seconds + micros / 1_000_000
        pipe = self.redis.pipeline(transaction=False)
        for category in CATEGORIES:
            window_key, blocked_key = _keys(account_id, category)
            pipe.zcount(window_key, f"({now - WINDOW_SECONDS!r}", "+inf")  # what the script would keep
            pipe.get(blocked_key)
        pipe.zrevrange(_account_hosts_key(account_id, datetime.now(UTC)), 0, -1, withscores=True)
        *windows, hosts = pipe.execute()
        categories = []
        for n, category in enumerate(CATEGORIES):
            used, blocked = windows[2 * n], float(windows[2 * n + 1] or 0)
            blocked_until = datetime.fromtimestamp(blocked, tz=UTC) if blocked > now else None
            categories.append(CategoryHeadroom(category, self.limit(account_id, category), int(used), blocked_until))
        return AccountHeadroom(
            categories=tuple(categories),
            hosts=tuple((_text(host), int(used)) for host, used in hosts),
            host_daily=self.host_daily,
        )

    def block(self, account_id: str, category: str, until: datetime) -> None:
        """Zoom answered 429: nothing of this category goes for the account until `until`.

        Stored on Redis's clock, which the reserve script reads: a worker whose own clock is off
        (another host) blocks for as long as Zoom said, not longer or shorter by its skew. A difference
        smaller than a round trip to Redis is the measurement, not a skew, and is not applied.
        """
        wait = until.timestamp() - time.time()
        if wait <= 0:
            return
        _, blocked_key = _keys(account_id, category)
        seconds, micros = self.redis.time()
        skew = seconds + micros / 1_000_000 - time.time()
        if abs(skew) < CLOCK_NOISE_SECONDS:
            skew = 0.0
        self.redis.set(blocked_key, repr(until.timestamp() + skew), ex=max(1, int(wait) + 1))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
