"""The hostile tests call run_jobs once per example: make a burst worker cheap to stop."""

from __future__ import annotations

import pytest
from rq import SimpleWorker


@pytest.fixture(autouse=True)
def burst_worker_without_command_channel(monkeypatch):
    """No pubsub listener for the tests' SimpleWorker (production's Worker keeps it).

    The channel carries only RQ's control commands (stop a job, kill the horse, shut down), which no
    test sends; stopping its thread makes every run_jobs on a real Redis wait up to a second, and the
    properties here run the jobs after each of their examples.
    """
    monkeypatch.setattr(SimpleWorker, "subscribe", lambda self: None)
