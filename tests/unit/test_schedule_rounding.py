"""workers.queues.whole_second_after: a scheduled push never starts before its rows are due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workers.queues import whole_second_after

WHOLE = datetime(2026, 12, 2, 4, 30, 0, tzinfo=UTC)


@pytest.mark.parametrize("micros", [1, 400_000, 500_000, 999_999])
def test_a_moment_inside_a_second_goes_to_the_next_whole_second(micros):
    assert whole_second_after(WHOLE + timedelta(microseconds=micros)) == WHOLE + timedelta(seconds=1)


def test_a_whole_second_stays_where_it_is():
    assert whole_second_after(WHOLE) == WHOLE


def test_the_last_moment_of_a_day_goes_to_midnight_in_the_same_zone():
    late = datetime(2026, 12, 2, 23, 59, 59, 900_000, tzinfo=UTC)
    assert whole_second_after(late) == datetime(2026, 12, 3, tzinfo=UTC)
