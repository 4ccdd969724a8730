"""The demo's meeting starts in the past and its 75 minutes never cross midnight in Berlin, at any hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from demo.__main__ import LENGTH, TIMEZONE, _start


@pytest.mark.parametrize("month", [1, 7])  # winter and summer time
def test_at_every_hour_the_meeting_is_past_and_within_one_day_in_berlin(month):
    for minute in range(0, 24 * 60, 15):
        now = datetime(2026, month, 2, tzinfo=UTC) + timedelta(minutes=minute)
        start = _start(now)
        local = start.astimezone(ZoneInfo(TIMEZONE))
        assert start + LENGTH < now, now  # held and over: its report is due
        assert (local + LENGTH).date() == local.date(), now
        assert start.minute == start.second == 0


def test_the_night_that_failed_moves_three_hours_earlier():
    # 00:43 UTC is 01:43 in Berlin: two hours back is 23:00 Berlin, and 75 minutes would end after midnight.
    assert _start(datetime(2026, 12, 2, 0, 43, tzinfo=UTC)) == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
