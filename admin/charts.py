"""What the overview draws, computed without I/O: intake per minute as SVG polylines, lag percentiles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

WIDTH, HEIGHT = 960, 200
MINUTES = 24 * 60


@dataclass(frozen=True)
class Series:
    name: str
    total: int
    points: str  # SVG polyline points, x from the oldest minute to now


@dataclass(frozen=True)
class Chart:
    series: list[Series]
    peak: int  # events in the busiest minute of any type: the top of the chart
    ticks: list[tuple[float, str]]  # (x, "HH:MM") every three hours


def minute_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def intake_chart(counts: dict[str, dict[str, int]], now: datetime) -> Chart:
    """`counts`: event type -> minute key -> events received; the 24 hours up to `now`'s minute."""
    last = now.replace(second=0, microsecond=0)
    minutes = [last - timedelta(minutes=MINUTES - 1 - i) for i in range(MINUTES)]
    keys = [minute_key(m) for m in minutes]
    peak = max((per_minute.get(key, 0) for per_minute in counts.values() for key in keys), default=0)
    scale = HEIGHT / peak if peak else 0.0
    step = WIDTH / (MINUTES - 1)
    series = []
    for name in sorted(counts):
        per_minute = counts[name]
        points = " ".join(f"{i * step:.1f},{HEIGHT - per_minute.get(key, 0) * scale:.1f}" for i, key in enumerate(keys))
        series.append(Series(name, sum(per_minute.get(key, 0) for key in keys), points))
    ticks = [(i * step, minutes[i].strftime("%H:%M")) for i in range(0, MINUTES, 180)]
    return Chart(series, peak, ticks)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (share in 0..1) of the values; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]
