"""When to try Zoom again (pure): Retry-After in any of its forms, and backoff with jitter."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Zoom's Retry-After: seconds (per-second limits) or a date-time (daily limits, `2026-12-02T00:00:00Z`).

    HTTP dates are accepted too. None when absent or unreadable; a time in the
    past means "now".
    """
    moment = retry_after_moment(value, now)
    return None if moment is None else max(moment, now)


def retry_after_moment(value: str | None, now: datetime) -> datetime | None:
    """The moment Retry-After names, in UTC, even one already past on our clock; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        try:
            return (now + timedelta(seconds=int(text))).astimezone(UTC)
        except OverflowError:
            return None
    moment = None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# Zoom's clock and ours may differ by a moment. A daily refusal whose reset has already
# passed on our clock was Zoom's last moment of the old day: try again after this.
RESET_SKEW_WAIT = timedelta(seconds=5)


def daily_refusal(retry_after: str | None, now: datetime) -> tuple[date, datetime]:
    """A daily-limit 429: the UTC day whose budget Zoom says is spent, and when to try again.

    The day is never later than ours, and earlier when Zoom's reset has passed on
    our clock: that refusal spent a day we have left, so it must not hold back
    the new day's budget until the next midnight.
    """
    reset = retry_after_moment(retry_after, now) or next_utc_midnight(now)
    today = now.astimezone(UTC).date()
    spent = min(today, (reset - timedelta(microseconds=1)).date())
    return spent, (reset if reset > now else now + RESET_SKEW_WAIT)


def next_utc_midnight(now: datetime) -> datetime:
    """When Zoom's daily limits reset, whatever zone `now` is written in."""
    day = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def backoff(attempt: int, base: float = 5.0, cap: float = 3600.0, rng: random.Random | None = None) -> float:
    """Seconds before try `attempt + 1` after a transient failure: exponential, capped, jittered.

    Drawn between half the ceiling and the ceiling: the jitter spreads the
    retries of many jobs that failed at once (a Zoom outage) instead of sending
    them back together, and the half keeps a floor under each wait.
    """
    ceiling = min(cap, base * (2 ** min(max(0, attempt - 1), 64)))
    return (rng or random).uniform(ceiling / 2, ceiling)
