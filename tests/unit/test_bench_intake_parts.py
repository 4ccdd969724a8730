"""bench/intake_parts.py's arithmetic: what is timed, per delivery, and how the table's derived rows are made."""

from __future__ import annotations

import pytest

from bench.intake_parts import Spent, per_delivery, table, timed, timed_threads

NAMES = (
    "verify envelope dedupe inbox_row store store_threads queue_jobs queue_jobs_batched tally log_line jsonify "
    "whole healthz old_store old_store_threads old_reconcile old_count"
).split()


def test_timed_runs_each_item_once_in_order_and_counts_this_threads_time():
    spent, out = timed(lambda x: x * 2, [1, 2, 3])
    assert out == [2, 4, 6]
    assert spent.cpu_ns >= 0 and spent.wall_ns > 0


def test_timed_threads_runs_each_item_once_and_keeps_an_exception_as_its_result():
    def work(x: int) -> int:
        if x == 5:
            raise ValueError("five")
        return sum(range(20_000)) and x

    spent, out = timed_threads(work, list(range(40)), threads=4)
    assert [o for i, o in enumerate(out) if i != 5] == [i for i in range(40) if i != 5]
    assert isinstance(out[5], ValueError)
    assert spent.cpu_ns > 0 and spent.wall_ns > 0  # the workers' CPU, summed: the caller's own is not in it


def test_per_delivery_is_the_median_of_each_clock_on_its_own_in_ms():
    runs = [Spent(3_000_000, 1_000_000), Spent(1_000_000, 9_000_000), Spent(2_000_000, 5_000_000)]
    assert per_delivery(runs, 2) == (1.0, 2.5)


def _row(rows: list[list[object]], start: str, path: str) -> tuple[float, float]:
    found = [r for r in rows if str(r[0]).startswith(start) and r[1] == path]
    assert len(found) == 1, (start, path, rows)
    return float(found[0][2]), float(found[0][3])


def test_the_derived_rows_subtract_and_add_what_they_say():
    ms = dict.fromkeys(NAMES, 0.1) | {"dedupe": 0.02, "inbox_row": 0.03, "store": 0.5, "whole": 2.0, "old_store": 0.85}
    spent = {name: [Spent(int(value * 1e6 * 10), int(value * 2e6 * 10))] for name, value in ms.items()}
    rows = table(spent, [7.6, 8.4, 8.0], n=10, threads=16)
    assert _row(rows, "4)", "both") == pytest.approx((0.01, 0.02))  # inbox_row less the dedupe key
    assert _row(rows, "5)", "old") == pytest.approx((0.82, 1.64))  # store_event less parts 3 and 4
    new = _row(rows, "Sum", "new")
    assert new[0] == pytest.approx(0.1 + 0.1 + 0.02 + 0.01 + 0.5 + 0.1 + 0.1 + 0.1 + 0.1)
    rest = _row(rows, "Flask and the rest", "new")
    assert rest[0] == pytest.approx(2.0 - new[0])
    assert _row(rows, "11) whole request, estimated", "old")[0] == pytest.approx(_row(rows, "Sum", "old")[0] + rest[0])
    assert "mean batch 8.0" in str(next(r[0] for r in rows if str(r[0]).startswith("6) Group")))
    assert all(r[1] in ("new", "old", "both") for r in rows)
