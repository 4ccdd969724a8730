"""One rate limiter per Zoom account and category, in Redis, shared by every worker.

A sliding window per (account, category) allows at most Zoom's per-second
number of calls in any window; it runs as one Lua script on Redis's own clock,
so workers on several hosts count alike. A call that would exceed it waits a
moment when the wait is short (under `max_sleep`) or is deferred: the job is
rescheduled for then, so no worker sits idle. After a 429, the account's
category is blocked until Zoom's Retry-After; a daily limit blocks until the reset.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

from redis import Redis

from zoomapi.categories import HEAVY, LIGHT, MEDIUM
from zoomapi.timing import next_utc_midnight

PLAN_LIMITS: dict[str, dict[str, int]] = {
    "pro": {LIGHT: 30, MEDIUM: 20, HEAVY: 10},
    "business": {LIGHT: 80, MEDIUM: 60, HEAVY: 40},
}
# A little more than Zoom's one second, for the network's jitter between our count and Zoom's.
WINDOW_SECONDS = 1.05

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


class Deferred(Exception):  # noqa: N818 - a signal to reschedule, not a failure
    """The call may not go before `retry_at`; the job should be rescheduled for then."""

    def __init__(self, retry_at: datetime, reason: str):
        super().__init__(f"deferred until {retry_at.isoformat()}: {reason}")
        self.retry_at, self.reason = retry_at, reason


def _keys(account_id: str, category: str) -> tuple[str, str]:
    return f"zoomsync:rate:{account_id}:{category}", f"zoomsync:rate-blocked:{account_id}:{category}"


class RedisLimiter:
    def __init__(
        self, redis: Redis, plans: dict[str, str] | None = None, max_sleep: float = 0.25, host_daily: int = 100
    ) -> None:
        self.redis = redis
        self.host_daily = host_daily
        self.plans = plans or {}  # account id -> "pro" | "business" (default pro: the lower limits)
        self.max_sleep = max_sleep
        self._script = redis.register_script(_RESERVE)

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

    def spend_host(self, host_id: str) -> None:
        """Zoom allows 100 meeting/webinar creates or updates per host per UTC day: keep under it."""
        now = datetime.now(UTC)
        key = f"zoomsync:host-daily:{host_id}:{now:%Y-%m-%d}"
        used = self.redis.incr(key)
        if used == 1:
            self.redis.expire(key, 2 * 24 * 3600)
        if used > self.host_daily:
            self.redis.decr(key)
            raise Deferred(next_utc_midnight(now), f"the daily {self.host_daily} creates and updates of host {host_id}")

    def refund_host(self, host_id: str) -> None:
        key = f"zoomsync:host-daily:{host_id}:{datetime.now(UTC):%Y-%m-%d}"
        if int(self.redis.get(key) or 0) > 0:
            self.redis.decr(key)

    def exhaust_host(self, host_id: str, until: datetime) -> None:
        """Zoom answered the host's daily cap (our count may lag Zoom's): spent until Zoom's reset."""
        key = f"zoomsync:host-daily:{host_id}:{datetime.now(UTC):%Y-%m-%d}"
        ttl = max(1, int(until.timestamp() - time.time()) + 1)
        self.redis.set(key, self.host_daily, ex=max(ttl, 2 * 24 * 3600))

    def host_budget_used(self, host_id: str) -> int:
        return int(self.redis.get(f"zoomsync:host-daily:{host_id}:{datetime.now(UTC):%Y-%m-%d}") or 0)

    def block(self, account_id: str, category: str, until: datetime) -> None:
        """Zoom answered 429: nothing of this category goes for the account until `until`."""
        _, blocked_key = _keys(account_id, category)
        ttl = max(1, int(until.timestamp() - time.time()) + 1)
        self.redis.set(blocked_key, repr(until.timestamp()), ex=ttl)
