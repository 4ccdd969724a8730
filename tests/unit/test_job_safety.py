"""What RQ may store about a job: ids, our own words, and escaped text (rq-dashboard shows it raw, #526)."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.job_safety import SAFE_DESCRIPTION, JobFailed, UnsafeJob, check_job_call, inert_failure, inert_result


@pytest.mark.parametrize("args", [(), (1,), (1, 2, 3), [42], (0,), (-1,), (10**15,)])
def test_integer_ids_pass(args):
    check_job_call(args, None, None)


@pytest.mark.parametrize("value", ["1", "<b>", 1.0, True, False, None, b"1", [1], {"id": 1}])
def test_anything_but_an_integer_argument_is_refused(value):
    with pytest.raises(UnsafeJob, match="integer ids"):
        check_job_call((1, value), None, None)


def test_keyword_arguments_are_refused():
    with pytest.raises(UnsafeJob, match="keyword"):
        check_job_call((), {"training_id": 1}, None)


def test_metadata_is_refused():
    with pytest.raises(UnsafeJob, match="metadata"):
        check_job_call((), None, None, {"topic": "x"})


@pytest.mark.parametrize(
    "description",
    [
        "reconcile meeting 123",
        "read Zoom's participant report of training 7",
        "push training 4 to Zoom",
        "email pending notifications",
        "account event 9",
        "",
    ],
)
def test_our_descriptions_pass(description):
    check_job_call((1,), None, description)


@pytest.mark.parametrize("description", ["<script>", "a & b", 'say "hi"', "x>y", "`tick`", "line\nbreak", "é"])
def test_a_description_with_markup_characters_is_refused(description):
    with pytest.raises(UnsafeJob, match="description"):
        check_job_call((1,), None, description)


@given(st.text())
def test_no_allowed_description_holds_a_markup_character(text):
    if SAFE_DESCRIPTION.fullmatch(text):
        assert not set(text) & set('<>&"`\n\r')


def _raised(error: Exception) -> Exception:
    try:
        raise error
    except Exception as caught:  # noqa: BLE001 - a traceback to format
        return caught


def test_a_failure_keeps_the_original_traceback_escaped():
    failure = inert_failure(_raised(ValueError('topic <img src=x onerror="go()"> & co')))
    text = str(failure)
    assert isinstance(failure, JobFailed)
    assert "Traceback (most recent call last)" in text and "ValueError" in text
    assert "&lt;img src=x onerror=&quot;go()&quot;&gt; &amp; co" in text
    assert "<" not in text and '"' not in text
    assert html.unescape(text).endswith('ValueError: topic <img src=x onerror="go()"> & co\n')


@given(st.text())
def test_no_failure_text_survives_as_markup(message):
    text = str(inert_failure(_raised(RuntimeError(message))))
    last_line = f"RuntimeError: {message}\n" if message else "RuntimeError\n"
    assert not set(text) & set("<>\"'") and html.unescape(text).endswith(last_line)


@pytest.mark.parametrize("value", [None, 0, 7, 2.5, True])
def test_numbers_and_none_pass_unchanged(value):
    assert inert_result(value) is value


def test_strings_in_results_are_escaped_at_any_depth():
    result = {"<k>": ["<a>", ("&", 1)], "n": None}
    assert inert_result(result) == {"&lt;k&gt;": ["&lt;a&gt;", ["&amp;", 1]], "n": None}


def test_other_objects_become_their_escaped_repr():
    class Odd:
        def __repr__(self) -> str:
            return "<Odd>"

    assert inert_result(Odd()) == "&lt;Odd&gt;"
