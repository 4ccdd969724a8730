"""Zoom's rate limits, per account and category, as Zoom answers them (pure: the caller passes the time).

- Per-second (QPS) limits per account and category, shared by every app on the
  account: over them a 429 with `X-RateLimit-Type: QPS` and `Retry-After` seconds.
- A daily cap shared by Heavy and Resource-intensive calls per account, and 100
  meeting/webinar creates or updates per host per UTC day: over them a 429 with
  `X-RateLimit-Type: Daily-limit` and `Retry-After` at the next UTC midnight.
- Ordinary answers carry `X-RateLimit-Category`, `X-RateLimit-Limit` and
  `X-RateLimit-Remaining`.

A window counts the calls it let through, not the refused ones: a client that
keeps knocking while refused is not locked out forever.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from datetime import datetime

from zoomsim.endpoints import HEAVY, LIGHT, MEDIUM, RESOURCE_INTENSIVE
from zoomsim.errors import ZoomError
from zoomsim.times import next_utc_midnight, utc_day, zoom_time

HOST_DAILY_CREATE_UPDATE = 100
REGISTRATIONS_PER_REGISTRANT_PER_DAY = 3
STATUS_CHANGES_PER_REGISTRANT_PER_DAY = 10


@dataclass(frozen=True)
class Limits:
    """One account's limits: calls per window by category, and the Heavy/Resource-intensive daily cap."""

    per_window: dict[str, int]
    window_seconds: dict[str, float]
    heavy_daily: int
    host_daily: int = HOST_DAILY_CREATE_UPDATE
    registrations_per_day: int = REGISTRATIONS_PER_REGISTRANT_PER_DAY
    status_changes_per_day: int = STATUS_CHANGES_PER_REGISTRANT_PER_DAY

    def with_overrides(self, **values) -> Limits:
        """A copy with some limits changed: `light=5`, `heavy_daily=10`, `host_daily=3`..."""
        per_window = dict(self.per_window)
        rest = {}
        for name, value in values.items():
            if name.upper() in per_window:
                per_window[name.upper()] = int(value)
            else:
                rest[name] = int(value)
        return replace(self, per_window=per_window, **rest)


_SECOND = {LIGHT: 1.0, MEDIUM: 1.0, HEAVY: 1.0, RESOURCE_INTENSIVE: 60.0}
PLANS: dict[str, Limits] = {
    "pro": Limits({LIGHT: 30, MEDIUM: 20, HEAVY: 10, RESOURCE_INTENSIVE: 10}, _SECOND, heavy_daily=30_000),
    "business": Limits({LIGHT: 80, MEDIUM: 60, HEAVY: 40, RESOURCE_INTENSIVE: 20}, _SECOND, heavy_daily=60_000),
}
PER_SECOND_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."


@dataclass
class Decision:
    headers: dict[str, str] = field(default_factory=dict)


class RateLimiter:
    """Sliding windows and daily counters; thread-safe; `mono` is a monotonic clock, `wall` the UTC time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._daily: dict[tuple[str, ...], int] = defaultdict(int)
        self._day = ""

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._daily.clear()
            self._day = ""

    def admit(self, account_id: str, limits: Limits, category: str, mono: float, wall: datetime) -> Decision:
        """Let one call of `category` through or raise the 429 Zoom would answer."""
        label = category.replace("_", "-").title()
        limit = limits.per_window[category]
        span = limits.window_seconds[category]
        with self._lock:
            window = self._windows[(account_id, category)]
            while window and window[0] <= mono - span:
                window.popleft()
            if len(window) >= limit:
                wait = max(1, math.ceil(window[0] + span - mono))
                raise ZoomError(
                    429,
                    4001,
                    PER_SECOND_MESSAGE,
                    headers={
                        "Retry-After": str(wait),
                        "X-RateLimit-Category": label,
                        "X-RateLimit-Type": "QPS",
                        "X-RateLimit-Limit": str(limit),
                        "X-RateLimit-Remaining": "0",
                    },
                )
            if category in (HEAVY, RESOURCE_INTENSIVE):
                used = self._spend_daily(
                    ("heavy", account_id),
                    limits.heavy_daily,
                    label,
                    wall,
                    f"You have reached the daily limit of {label} API requests.",
                )
                window.append(mono)
                return Decision(_ordinary(label, limits.heavy_daily, limits.heavy_daily - used))
            window.append(mono)
            return Decision(_ordinary(label, limit, limit - len(window)))

    def _spend_daily(self, scope: tuple[str, ...], limit: int, label: str, wall: datetime, message: str) -> int:
        """Count one call against a UTC-day budget (caller holds the lock); returns what is used."""
        day = utc_day(wall)
        if day != self._day:  # yesterday's counts can never matter again
            self._daily = defaultdict(int, {k: v for k, v in self._daily.items() if k[-1] >= day})
            self._day = day
        key = (*scope, day)
        if self._daily[key] >= limit:
            raise _daily_limit(label, limit, wall, message)
        self._daily[key] += 1
        return self._daily[key]

    def charge_host(self, host_id: str, limits: Limits, wall: datetime, decision: Decision) -> None:
        """Count one meeting/webinar create or update against the host's daily 100."""
        with self._lock:
            used = self._spend_daily(
                ("host", host_id),
                limits.host_daily,
                "Light",
                wall,
                f"You have exceeded the daily rate limit ({limits.host_daily}) of Meeting Create/Update API "
                "requests permitted for this particular user. You may resume these requests at GMT 00:00:00.",
            )
            decision.headers.update(_ordinary("Light", limits.host_daily, limits.host_daily - used))

    def charge_registration(self, meeting_id: int, email: str, limits: Limits, wall: datetime) -> None:
        """Zoom allows 3 registration requests per registrant per meeting per day."""
        with self._lock:
            self._spend_daily(
                ("registration", str(meeting_id), email.lower()),
                limits.registrations_per_day,
                "Light",
                wall,
                f"You have exceeded the daily rate limit of ({limits.registrations_per_day}) for Add meeting "
                f"registrant API requests for the registrant ({email}).",
            )

    def charge_status_change(self, meeting_id: int, registrant: str, limits: Limits, wall: datetime) -> None:
        """Zoom allows 10 status changes per registrant per meeting per day."""
        with self._lock:
            self._spend_daily(
                ("status", str(meeting_id), registrant.lower()),
                limits.status_changes_per_day,
                "Medium",
                wall,
                f"You have exceeded the daily rate limit of ({limits.status_changes_per_day}) for Update meeting "
                f"registrant's status API requests for the registrant ({registrant}).",
            )


def _ordinary(label: str, limit: int, remaining: int) -> dict[str, str]:
    return {"X-RateLimit-Category": label, "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining)}


def _daily_limit(label: str, limit: int, wall: datetime, message: str) -> ZoomError:
    return ZoomError(
        429,
        429,
        message,
        headers={
            "Retry-After": zoom_time(next_utc_midnight(wall)),
            "X-RateLimit-Category": label,
            "X-RateLimit-Type": "Daily-limit",
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
        },
    )
