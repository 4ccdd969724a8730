"""The overview's pure drawing: per-minute intake as polylines, and nearest-rank percentiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admin import charts

NOW = datetime(2026, 12, 1, 12, 30, 42, tzinfo=UTC)


def _points(series: charts.Series) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in series.points.split()]


def test_one_point_per_minute_of_the_last_24_hours_ending_now():
    chart = charts.intake_chart({"meeting.started": {"2026-12-01 12:30": 4}}, NOW)
    points = _points(chart.series[0])
    assert len(points) == 24 * 60
    assert points[0][0] == 0 and points[-1][0] == pytest.approx(charts.WIDTH)
    assert points[-1][1] == 0  # the busiest minute touches the top
    assert all(y == charts.HEIGHT for _, y in points[:-1])


def test_the_peak_scales_every_series_and_minutes_outside_the_window_do_not_count():
    counts = {
        "meeting.participant_joined": {"2026-12-01 12:00": 10, "2026-11-30 12:30": 99},  # the second: 24 h ago
        "meeting.started": {"2026-12-01 12:00": 5},
    }
    chart = charts.intake_chart(counts, NOW)
    assert chart.peak == 10  # only the window sets the scale
    joined, started = chart.series
    assert (joined.name, joined.total, started.total) == ("meeting.participant_joined", 10, 5)
    minute = 24 * 60 - 1 - 30
    assert _points(joined)[minute][1] == 0 and _points(started)[minute][1] == pytest.approx(charts.HEIGHT / 2, abs=0.05)


def test_no_events_draws_flat_lines_and_ticks_every_three_hours():
    chart = charts.intake_chart({}, NOW)
    assert chart.series == [] and chart.peak == 0
    assert [label for _, label in chart.ticks] == [
        (NOW.replace(second=0) - timedelta(minutes=24 * 60 - 1 - i)).strftime("%H:%M") for i in range(0, 1440, 180)
    ]


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        ([], 0.5, None),
        ([3.0], 0.95, 3.0),
        ([1, 2, 3, 4], 0.5, 2),
        ([1, 2, 3, 4], 0.95, 4),
        (list(range(1, 21)), 0.95, 19),
        (list(range(1, 101)), 0.5, 50),
        ([5, 1, 4, 2, 3], 0.5, 3),
    ],
)
def test_percentiles_are_nearest_rank(values, share, expected):
    assert charts.percentile(values, share) == expected
