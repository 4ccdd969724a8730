"""Jobs run in the app their entrypoint gave the runner: the runner never builds one (that was an import cycle)."""

from __future__ import annotations

import fakeredis
import pytest
from flask import Flask, current_app

from workers import runner
from workers.runner import AppContextJob, jobs_in


def app_name() -> str:
    """A job that answers which app it ran in."""
    return current_app.name


def test_a_job_runs_in_the_app_it_was_given(monkeypatch):
    monkeypatch.setattr(runner, "_app", None)
    job = AppContextJob.create(f"{__name__}.app_name", connection=fakeredis.FakeRedis())
    with jobs_in(Flask("given")):
        assert job.perform() == "given"
    assert runner._app is None


def test_without_an_app_a_job_fails_and_says_how_to_give_one(monkeypatch):
    monkeypatch.setattr(runner, "_app", None)
    job = AppContextJob.create("os.getpid", connection=fakeredis.FakeRedis())
    with pytest.raises(RuntimeError, match=r"run_worker\(app\)"):
        job.perform()
