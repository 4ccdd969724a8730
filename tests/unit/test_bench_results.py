"""The benchmarks' reporting: targets marked met or missed, wrong results failing, profiles summarised."""

from __future__ import annotations

import pytest

from bench import results
from bench.processes import attendance_difference
from bench.profile import summarise
from bench.results import Result, Target


@pytest.mark.parametrize(
    ("value", "goal", "at_least", "met"),
    [(0.8, 0.8, True, True), (0.79, 0.8, True, False), (100, 100, False, True), (100.1, 100, False, False)],
)
def test_a_target_is_met_on_its_side_of_the_goal_including_the_goal(value, goal, at_least, met):
    target = Target("x", value, goal, at_least=at_least)
    assert target.met is met
    assert ("**missed**" not in target.line()) is met


def test_a_target_line_names_its_direction_and_unit():
    assert Target("p99", 42.5, 100, at_least=False, unit=" ms").line() == "p99: 42.50 ms (target ≤ 100 ms): met"
    assert Target("events/s", 1234, 1000).line() == "events/s: 1,234 (target ≥ 1,000): met"


def test_a_missed_target_alone_is_not_a_wrong_result():
    result = Result("x", "X", ["a"], targets=[Target("t", 1, 2)])
    assert result.ok
    assert "**missed**" in result.markdown(quick=False)


def test_a_problem_makes_the_result_wrong_and_is_shown():
    result = Result("x", "X", ["a"], rows=[[1]], problems=["3 events lost"])
    assert not result.ok
    text = result.markdown(quick=True)
    assert "WRONG RESULT: 3 events lost" in text
    assert "every result was right" not in text
    assert text.startswith("### X (quick)")


def test_table_cells_format_numbers_and_keep_text():
    text = Result("x", "X", ["n", "f", "s"], rows=[[1, 1234.5, "live"]]).markdown(quick=False)
    assert "| 1 | 1,234 | live |" in text


def test_a_quick_run_is_kept_under_artifacts_and_a_full_one_appended_to_the_docs(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "ARTIFACTS", tmp_path / "artifacts")
    monkeypatch.setattr(results, "DOCS", tmp_path / "docs" / "benchmarks.md")
    result = Result("intake", "Intake", ["a"], rows=[[1]])
    assert results.record(result, quick=True) == tmp_path / "artifacts" / "intake.md"
    assert not (tmp_path / "docs" / "benchmarks.md").exists()
    results.record(result, quick=False)
    results.record(result, quick=False)
    assert (tmp_path / "docs" / "benchmarks.md").read_text().count("### Intake\n") == 2


def test_attendance_difference_counts_the_pairs_that_differ():
    assert attendance_difference({"a": 1, "b": 2}, {"b": 2, "a": 1}) is None
    found = attendance_difference({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4})
    assert found is not None and "3 (person, seconds) pairs" in found


_WORKER = 'process 1:"gunicorn";thread (0x1);handle (gunicorn/workers/gthread.py:1)'
RAW = "\n".join(
    [
        f"{_WORKER};zoom_webhook (webhook/views.py:60);store_event (webhook/intake.py:48) 6",
        f"{_WORKER};zoom_webhook (webhook/views.py:50) 2",
        'process 1:"gunicorn";thread (0x1);wait (selectors.py:3) 2',
        "not a stack line",
    ]
)


def test_a_profile_summary_gives_inclusive_and_self_shares():
    text = summarise(RAW)
    assert text.startswith("10 samples")
    inclusive, own = text.split("self (at the top of the stack):")
    assert "80.0%  zoom_webhook (webhook/views.py)" in inclusive  # counted once per stack, whatever its lines
    assert "60.0%  store_event (webhook/intake.py)" in own
    assert "20.0%  zoom_webhook (webhook/views.py)" in own


def test_a_profile_summary_can_keep_only_our_files_in_the_inclusive_list():
    inclusive = summarise(RAW, only="webhook/").split("self")[0]
    assert "zoom_webhook" in inclusive and "gthread" not in inclusive


def test_no_samples_say_so():
    assert summarise("") == "no samples\n"


def test_batches_of_one_meeting_overlap_only_when_one_starts_before_the_other_ends():
    from bench.scale_out import overlaps

    def batch(meeting: int, at: str, ms: float) -> dict:
        return {"meeting_id": meeting, "locked_at": f"2026-12-01T10:00:{at}+00:00", "duration_ms": ms}

    apart = [batch(1, "00.000", 500), batch(1, "00.500", 100), batch(2, "00.100", 1000)]
    assert overlaps(apart) == []  # one after the other, and another meeting at the same time
    found = overlaps([batch(1, "01.000", 300), batch(1, "00.000", 1200)])
    assert [meeting for meeting, _, _ in found] == [1]


def test_the_intake_title_names_gunicorns_shape_from_the_procfile_or_the_environment():
    from bench.intake import gunicorn_shape

    command = "gunicorn --workers ${WEB_CONCURRENCY:-4} --threads ${WEB_THREADS:-1} app"
    assert gunicorn_shape(command, {}) == "4 workers × 1 thread"
    assert gunicorn_shape(command, {"WEB_CONCURRENCY": "2", "WEB_THREADS": "4"}) == "2 workers × 4 threads"
