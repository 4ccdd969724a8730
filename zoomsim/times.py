"""Zoom's time formats (pure).

Zoom writes times as `yyyy-MM-ddTHH:mm:ssZ` (UTC). A request's `start_time`
without the `Z` is local time in the request's `timezone`; any other offset is
not one of Zoom's formats and is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_ZOOM_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z?)")


def zoom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def zone(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, or None (Zoom accepts IANA names only)."""
    if not name or not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the zone database ("America")
        return None


def parse_start_time(value: str, timezone: str) -> datetime | None:
    """A request's start_time as a UTC datetime, or None if it is not in one of Zoom's two forms."""
    match = _ZOOM_TIME.fullmatch(value) if isinstance(value, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if match.group(8) == "Z":
        return naive.replace(tzinfo=UTC)
    local = zone(timezone)
    if local is None:
        return None
    return naive.replace(tzinfo=local).astimezone(UTC)


def next_utc_midnight(moment: datetime) -> datetime:
    """When Zoom's daily limits reset."""
    day = moment.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def utc_day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
