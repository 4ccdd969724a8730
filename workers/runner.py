"""Running jobs: every job inside an app context; one command starts worker, scheduler and sweeper."""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from flask import Flask
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker, Worker
from rq.cron import CronScheduler
from rq.job import Job
from rq.worker.base import SHUTDOWN_SIGNAL
from sqlalchemy.orm import configure_mappers

from service.services import EXTENSION_KEY
from workers.job_safety import inert_failure, inert_result
from workers.queues import MAINTENANCE_QUEUE, QUEUE_NAMES, queue

_app: Flask | None = None


def set_job_app(app: Flask | None) -> None:
    """The app jobs run in, given by the entrypoint (`run_worker`, a test): the runner builds none itself."""
    global _app
    _app = app


@contextmanager
def jobs_in(app: Flask) -> Iterator[None]:
    """Jobs performed meanwhile run in `app`'s context (tests, one-off runs); the previous app after."""
    global _app
    previous, _app = _app, app
    try:
        yield
    finally:
        _app = previous


def _job_app() -> Flask:
    if _app is None:
        raise RuntimeError("no app for jobs: start workers with run_worker(app) (`flask worker`), or use jobs_in(app)")
    return _app


job_log = logging.getLogger("zoomsync.job")
worker_log = logging.getLogger("zoomsync.worker")


class AppContextJob(Job):
    """Runs the job function inside the Flask app context, as flask-rq does; one log line per run."""

    def perform(self):
        started = time.perf_counter()
        extra = {"job_id": self.id, "job": self.func_name, "meeting_id": _meeting_of(self)}
        with _job_app().app_context():
            try:
                result = super().perform()
            except Exception as error:  # noqa: BLE001 - re-raised, as its escaped text
                extra |= {"outcome": "error", "duration_ms": _ms_since(started)}
                job_log.exception("job %s failed", self.func_name, extra=extra)
                # What RQ stores (and rq-dashboard shows raw) is the escaped text, never the original.
                raise inert_failure(error) from None
        extra |= {"outcome": "ok", "duration_ms": _ms_since(started)}
        job_log.info("job %s done", self.func_name, extra=extra)
        return inert_result(result)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _meeting_of(job: Job) -> int | None:
    """Jobs take ids only; a reconcile job's one argument is its meeting."""
    return job.args[0] if job.func_name.endswith("reconcile_meeting") and job.args else None


def _run_cron(app: Flask) -> None:
    """The sweeper's schedule; through a Redis outage it waits and starts again (the sweeps are what
    re-queue the work the outage lost)."""
    svc = app.extensions[EXTENSION_KEY]
    while True:
        try:
            _cron_scheduler(svc).start()
            return  # stopped on request
        except REDIS_DOWN as error:
            worker_log.warning("cron: Redis does not answer (%s): waiting for it", error)
            wait_for_redis(svc.redis)


def _cron_scheduler(svc) -> CronScheduler:
    from workers.drift import drift_check
    from workers.sweeper import sweep_inbox, sweep_notifications, sweep_outbox, sweep_report_pulls

    scheduler = CronScheduler(connection=svc.redis, name=f"zoomsync-cron-{os.getpid()}")
    for sweep in (sweep_inbox, sweep_outbox, sweep_report_pulls, sweep_notifications):
        scheduler.register(
            sweep, MAINTENANCE_QUEUE, interval=svc.settings.sweep_interval_seconds, job_timeout=120, result_ttl=600
        )
    scheduler.register(
        drift_check, MAINTENANCE_QUEUE, interval=svc.settings.drift_check_seconds, job_timeout=120, result_ttl=600
    )
    return scheduler


REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
REDIS_WAIT_MAX_SECONDS = 30.0


def wait_for_redis(redis: Redis, first_wait: float = 0.5) -> None:
    """Until Redis answers a PING, backing off to REDIS_WAIT_MAX_SECONDS between tries."""
    wait = first_wait
    while True:
        try:
            if redis.ping():
                return
        except REDIS_DOWN:
            pass
        time.sleep(wait)
        wait = min(wait * 2, REDIS_WAIT_MAX_SECONDS)


# How often a worker tidies RQ's registries and, if no scheduler runs (its worker died), takes it over;
# RQ's 10 minutes would hold every retry and deferred push that long after the scheduler's worker is lost.
MAINTENANCE_SECONDS = 30


class SyncWorker(Worker):
    """RQ's worker, knowing whether it was asked to stop: if it ends otherwise, Redis was lost.

    Jobs of the `inline_queues` run in the worker itself, as RQ's SimpleWorker runs them; the others in a
    forked work horse. A forked horse starts cold: a new PostgreSQL connection, every SQL statement
    compiled again, the Zoom token decrypted again. That is most of a push job's 180 ms, and it held two
    workers to a third of Zoom's rate limit (docs/benchmarks.md). A push is short, bounded by its timeout
    and leaves its state in the outbox, so it gives up the horse's isolation; a reconcile batch keeps it.
    """

    stop_asked = False

    def __init__(self, *args, inline_queues: Iterable[str] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.inline_queues = frozenset(inline_queues)

    def request_stop(self, signum, frame) -> None:
        self.stop_asked = True
        super().request_stop(signum, frame)

    def execute_job(self, job: Job, queue: Queue) -> None:
        if job.origin in self.inline_queues:
            SimpleWorker.execute_job(self, job, queue)  # RQ's own no-fork path, on this worker
        else:
            super().execute_job(job, queue)

    def kill_horse(self, sig: signal.Signals = SHUTDOWN_SIGNAL) -> None:
        # RQ's stop-job command kills the horse's process group; during an inline job there is no horse,
        # and RQ would look up the group of pid 0, which is the worker's own. An inline job runs to its
        # end or its timeout instead.
        if self.horse_pid:
            super().kill_horse(sig)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # An inline job blocks the worker's heartbeats: its key must outlive the job's whole timeout, as
        # RQ's SimpleWorker sets it.
        if job.origin in self.inline_queues:
            return SimpleWorker.get_heartbeat_ttl(self, job, working_time)
        return super().get_heartbeat_ttl(job, working_time)


# The modules of every job we queue: imported once by the worker, not again by each job's forked work horse.
# Measured (docs/benchmarks.md): a job that reads one row took 118 ms in the worker before, 74 ms after.
JOB_MODULES = (
    "workers.reconcile",
    "workers.attendance",
    "workers.push",
    "workers.reports",
    "workers.notify",
    "workers.account_events",
    "workers.sweeper",
    "workers.drift",
)


def preload_jobs() -> None:
    """Import every job's module and configure the ORM once, in the worker, before it forks a horse per job."""
    for name in JOB_MODULES:
        importlib.import_module(name)
    configure_mappers()


def inline_queues(names: Iterable[str]) -> frozenset[str]:
    """The queues whose jobs run without a fork (WORKER_INLINE_QUEUES); a name that is no queue of ours is
    refused at start, not silently forked."""
    chosen = frozenset(names)
    unknown = sorted(chosen - set(QUEUE_NAMES))
    if unknown:
        raise ValueError(
            f"WORKER_INLINE_QUEUES names no queue of ours: {', '.join(unknown)} (ours: {', '.join(QUEUE_NAMES)})"
        )
    return chosen


def run_worker(app: Flask, burst: bool = False, with_cron: bool = True) -> None:
    """RQ worker on every queue, with RQ's scheduler (retries) and a cron process (the sweeper)."""
    set_job_app(app)
    svc = app.extensions[EXTENSION_KEY]
    inline = inline_queues(svc.settings.worker_inline_queues)
    preload_jobs()
    # A forked job must not share the parent's database connections.
    os.register_at_fork(after_in_child=lambda: svc.engine.dispose(close=False))
    cron = None
    if with_cron and not burst:
        cron = multiprocessing.get_context("fork").Process(target=_run_cron, args=(app,), daemon=True)
        cron.start()
    try:
        while True:
            # Redis may be away when the worker starts, or go away under it (RQ then quits): a worker
            # waits for it and starts again, so no supervisor is needed to outlive an outage.
            try:
                worker = SyncWorker(
                    [queue(svc.redis, name) for name in QUEUE_NAMES],
                    connection=svc.redis,
                    job_class=AppContextJob,
                    maintenance_interval=MAINTENANCE_SECONDS,
                    inline_queues=inline,
                )
                worker.work(burst=burst, with_scheduler=True)
                if burst or worker.stop_asked:
                    return
                worker_log.warning("the worker stopped without being asked: waiting for Redis, then again")
            except REDIS_DOWN as error:
                worker_log.warning("Redis does not answer (%s): waiting for it", error)
            wait_for_redis(svc.redis)
    finally:
        if cron is not None and cron.is_alive():
            cron.terminate()
