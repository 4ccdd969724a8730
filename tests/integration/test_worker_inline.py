"""A worker runs the outbound queue's jobs itself and forks a work horse for the others (workers/runner.py)."""

from __future__ import annotations

import os

import pytest
from rq.job import JobStatus

from service.services import EXTENSION_KEY
from workers.queues import MAINTENANCE_QUEUE, OUTBOUND_QUEUE, QUEUE_NAMES, RECONCILE_QUEUE, queue
from workers.runner import AppContextJob, SyncWorker, inline_queues


def process_id(_n: int) -> int:
    """A job that answers which process ran it."""
    return os.getpid()


def _run(app, inline: frozenset[str], *queue_names: str) -> dict[str, int]:
    """Queue `process_id` on each queue named, run a worker in burst mode; which pid ran each."""
    redis = app.extensions[EXTENSION_KEY].redis
    jobs = {name: queue(redis, name).enqueue(process_id, 1) for name in queue_names}
    worker = SyncWorker(
        [queue(redis, name) for name in QUEUE_NAMES], connection=redis, job_class=AppContextJob, inline_queues=inline
    )
    worker.work(burst=True, logging_level="WARNING")
    for job in jobs.values():
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED
    return {name: job.return_value() for name, job in jobs.items()}


def test_an_outbound_job_runs_in_the_worker_itself(app):
    assert _run(app, inline_queues(["outbound"]), OUTBOUND_QUEUE) == {OUTBOUND_QUEUE: os.getpid()}


@pytest.mark.parametrize("backend", ["postgres+redis"], indirect=True)  # a forked horse's writes need a real server
def test_the_other_queues_fork_a_work_horse_and_an_empty_choice_forks_all(app):
    ran = _run(app, inline_queues(["outbound"]), OUTBOUND_QUEUE, RECONCILE_QUEUE, MAINTENANCE_QUEUE)
    assert ran[OUTBOUND_QUEUE] == os.getpid()
    assert os.getpid() not in (ran[RECONCILE_QUEUE], ran[MAINTENANCE_QUEUE])
    assert os.getpid() not in _run(app, inline_queues([]), OUTBOUND_QUEUE).values()


def test_an_inline_jobs_heartbeat_outlives_its_whole_timeout(app):
    redis = app.extensions[EXTENSION_KEY].redis
    job = queue(redis, OUTBOUND_QUEUE).enqueue(process_id, 1, job_timeout=300)
    queues = [queue(redis, name) for name in QUEUE_NAMES]
    inline = SyncWorker(queues, connection=redis, inline_queues={OUTBOUND_QUEUE})
    forking = SyncWorker(queues, connection=redis)
    assert inline.get_heartbeat_ttl(job) == 360  # no horse to watch: nothing beats while it runs
    assert forking.get_heartbeat_ttl(job) < 360  # the worker beats while its horse works


def test_a_queue_that_is_not_ours_is_refused():
    with pytest.raises(ValueError, match="names no queue of ours: outgoing"):
        inline_queues(["outbound", "outgoing"])


def test_a_stop_command_during_an_inline_job_never_signals_the_workers_own_process_group(app, monkeypatch):
    # Without a horse, RQ's kill_horse would ask for the process group of pid 0: the worker's own.
    signalled = []
    monkeypatch.setattr(os, "killpg", lambda group, sig: signalled.append((group, sig)))
    redis = app.extensions[EXTENSION_KEY].redis
    worker = SyncWorker([queue(redis, OUTBOUND_QUEUE)], connection=redis, inline_queues={OUTBOUND_QUEUE})
    assert worker.horse_pid == 0
    worker.kill_horse()
    assert signalled == []
    worker._horse_pid = 4242  # a forked job's horse is still killed as RQ kills it
    monkeypatch.setattr(os, "getpgid", lambda pid: pid)
    worker.kill_horse()
    assert signalled and signalled[0][0] == 4242
