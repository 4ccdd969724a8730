"""What a failed Zoom call means for the caller (pure): retry when, give up, refresh, or look again.

- 429: rate limited; `retry_at` from Retry-After; `daily` when the budget is the
  day's (X-RateLimit-Type: Daily-limit), which defers the account's work to the reset;
  `spent_day` is the UTC day Zoom refused for, which is Zoom's and may be the one ours has left.
- 5xx, timeouts, refused or dropped connections: unavailable; back off and retry.
- 401: the token; refresh once and retry once.
- 404: not found; the caller checks again before believing it.
- other 4xx: rejected; permanent, shown with Zoom's message, never retried blindly.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from zoomapi.timing import daily_refusal, parse_retry_after


class ZoomAPIError(Exception):
    def __init__(self, status: int | None, code: int | None, message: str, headers: dict[str, str] | None = None):
        super().__init__(f"Zoom {status or 'unreachable'}: {message}" + (f" (code {code})" if code else ""))
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


class ZoomUnavailable(ZoomAPIError):
    """Try again later, with backoff."""


class ZoomRateLimited(ZoomAPIError):
    """`spent_day`: for a daily limit, the UTC day whose budget Zoom says is spent (Zoom's day, not always ours)."""

    def __init__(
        self, status, code, message, headers, retry_at: datetime, daily: bool, category: str, spent_day: date | None
    ):
        super().__init__(status, code, message, headers)
        self.retry_at, self.daily, self.category, self.spent_day = retry_at, daily, category, spent_day


class ZoomUnauthorized(ZoomAPIError):
    """The access token was refused (expired, revoked or unknown)."""


class ZoomNotFound(ZoomAPIError):
    """Zoom says the meeting (or user, registrant) does not exist."""


class ZoomRejected(ZoomAPIError):
    """A request Zoom will not take as it is: retrying the same call cannot help."""


# Without a Retry-After, wait this long after a per-second 429.
DEFAULT_QPS_WAIT = timedelta(seconds=1)


def classify(status: int, body: Any, headers: dict[str, str], now: datetime) -> ZoomAPIError:
    """The error an answer with this status (>= 400) stands for."""
    code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), int) else None
    message = body.get("message") if isinstance(body, dict) and isinstance(body.get("message"), str) else ""
    lowered = {k.lower(): v for k, v in headers.items()}
    if status == 300 and (code == 300 or "daily" in message.lower()):
        status = 429  # older endpoints answered the daily create/update cap this way
        lowered.setdefault("x-ratelimit-type", "Daily-limit")
    if status == 429:
        daily = lowered.get("x-ratelimit-type", "").lower() == "daily-limit" or "daily" in message.lower()
        spent_day = None
        if daily:
            spent_day, retry_at = daily_refusal(lowered.get("retry-after"), now)
        else:
            retry_at = parse_retry_after(lowered.get("retry-after"), now) or now + DEFAULT_QPS_WAIT
        category = lowered.get("x-ratelimit-category", "").lower()
        return ZoomRateLimited(status, code, message or "rate limited", lowered, retry_at, daily, category, spent_day)
    if status >= 500:
        return ZoomUnavailable(status, code, message or f"HTTP {status}", lowered)
    if status == 401:
        return ZoomUnauthorized(status, code, message or "unauthorized", lowered)
    if status == 404:
        return ZoomNotFound(status, code, message or "not found", lowered)
    return ZoomRejected(status, code, message or f"HTTP {status}", lowered)
