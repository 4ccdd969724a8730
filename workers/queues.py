"""Queues by purpose, and coalescing: one queued reconcile job per meeting, however many events.

A burst of 5,000 participant events for one webinar must not become 5,000 jobs.
Per meeting, a Redis key holds the id of the job that is queued and not yet
started; intake only enqueues when it can create that key (SET NX). The job
deletes the key as its first step, before reading the inbox, so an event that
arrives while it runs creates the key again and gets a prompt follow-up job,
and an event committed before the deletion is read by the running job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from workers.job_safety import check_job_call

RECONCILE_QUEUE = "reconcile"
OUTBOUND_QUEUE = "outbound"  # pushes to Zoom: never behind a burst of webhooks, nor in front of it
MAINTENANCE_QUEUE = "maintenance"
QUEUE_NAMES = (RECONCILE_QUEUE, OUTBOUND_QUEUE, MAINTENANCE_QUEUE)

# Backoff between attempts of a reconcile job that left events to retry (seconds).
RETRY_INTERVALS = (5, 30, 120, 600)
RECONCILE_RETRY = Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))


def retry_delay(attempts: int) -> timedelta:
    """When the next try of an event that failed `attempts` times is due."""
    return timedelta(seconds=RETRY_INTERVALS[min(attempts, len(RETRY_INTERVALS)) - 1])


RECONCILE_TIMEOUT = 600
# A queued marker outlives no job: if its job vanished (Redis flushed, enqueue
# interrupted), the sweeper notices and queues again.
MARKER_TTL_SECONDS = 3600

LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}

# The jobs, by dotted path (RQ imports the function in the worker): the job modules import this one to
# release their markers, and it imports none of them back.
RECONCILE_JOB = "workers.reconcile.reconcile_meeting"
ATTENDANCE_JOB = "workers.attendance.recompute_training_attendance"
ACCOUNT_EVENT_JOB = "workers.account_events.handle_account_event"
NOTIFICATIONS_JOB = "workers.notify.send_notifications"
PUSH_JOB = "workers.push.push_training"
REPORT_PULL_JOB = "workers.reports.pull_report"
JOBS = (RECONCILE_JOB, ATTENDANCE_JOB, ACCOUNT_EVENT_JOB, NOTIFICATIONS_JOB, PUSH_JOB, REPORT_PULL_JOB)

log = logging.getLogger(__name__)


class IdOnlyQueue(Queue):
    """A queue that refuses jobs carrying anything but ids: what RQ stores must stay ours (job_safety)."""

    def create_job(self, func, args=None, kwargs=None, *more, **options) -> Job:
        check_job_call(args, kwargs, options.get("description"), options.get("meta"))
        return super().create_job(func, args, kwargs, *more, **options)


def queue(redis: Redis, name: str) -> Queue:
    return IdOnlyQueue(name, connection=redis)


def marker_key(meeting_id: int) -> str:
    return f"zoomsync:reconcile-queued:{meeting_id}"


def reconcile_job_id(meeting_id: int) -> str:
    """One id per coalescing window: every event of a burst maps to the job in the marker."""
    return f"reconcile-{meeting_id}-{uuid.uuid4().hex[:12]}"


# --- markers: at most one waiting job per meeting, training or piece of work ---------------------


def _marked_job(redis: Redis, key: str) -> Job | None:
    marked = redis.get(key)
    if not marked:
        return None
    try:
        return Job.fetch(marked.decode(), connection=redis)
    except NoSuchJobError:
        return None  # the marker outlived its job (Redis lost it)


def _marked_job_waits(redis: Redis, key: str) -> bool:
    """Whether the job a marker names is really still waiting in Redis (queued, scheduled or deferred).

    A scheduled job long overdue is queued here: RQ's scheduler runs inside one worker, and when that
    worker dies its lock holds the others off for a minute, so due jobs would wait for the next worker's
    maintenance. The sweeper does the scheduler's work for them.
    """
    job = _marked_job(redis, key)
    status = job.get_status() if job is not None else None
    if status == JobStatus.SCHEDULED:
        _queue_if_overdue(redis, job)
    return status in LIVE_STATUSES


SCHEDULER_LAG_SECONDS = 90  # longer than a healthy scheduler ever lags (its lock lives 61 s after it dies)


def _queue_if_overdue(redis: Redis, job: Job) -> None:
    registry = ScheduledJobRegistry(job.origin, connection=redis)
    try:
        due = registry.get_scheduled_time(job.id)
    except NoSuchJobError:
        return  # queued (or gone) meanwhile
    if due > datetime.now(UTC) - timedelta(seconds=SCHEDULER_LAG_SECONDS):
        return
    registry.remove(job)
    queue(redis, job.origin).enqueue_job(job)
    log.warning("job %s was due at %s and no scheduler queued it: queued by the sweeper", job.id, due.isoformat())


def _request(redis: Redis, key: str, job_id: str, enqueue, ttl: int = MARKER_TTL_SECONDS) -> str | None:
    """The fast path (intake, the API): queue only if no job is marked."""
    return next(iter(_request_many(redis, [(key, job_id, enqueue)], ttl)), None)


def _request_many(redis: Redis, marked: list[tuple[str, str, Callable]], ttl: int = MARKER_TTL_SECONDS) -> list[str]:
    """`_request` for many (key, job id, enqueue): the markers set in one round trip, then a job queued for
    each whose marker was free; returns the queued job ids."""
    if not marked:
        return []
    pipe = redis.pipeline(transaction=False)
    for key, job_id, _ in marked:
        pipe.set(key, job_id, nx=True, ex=ttl)
    queued = []
    for (_, job_id, enqueue), was_free in zip(marked, pipe.execute(), strict=True):
        if was_free:
            enqueue(job_id)
            queued.append(job_id)
    return queued


def _ensure(redis: Redis, key: str, job_id: str, enqueue, ttl: int = MARKER_TTL_SECONDS) -> str | None:
    """The sweeper's path: queue unless the marked job is really waiting; a stale marker is replaced."""
    if _marked_job_waits(redis, key):
        return None
    redis.set(key, job_id, ex=ttl)
    enqueue(job_id)
    return job_id


def request_reconcile(redis: Redis, meeting_id: int) -> str | None:
    """Queue a reconcile job for the meeting unless one is already waiting; return the new job id."""
    return next(iter(request_reconciles(redis, [meeting_id])), None)


def request_reconciles(redis: Redis, meeting_ids: Iterable[int]) -> list[str]:
    """`request_reconcile` for many meetings (an intake batch's), their markers set in one round trip."""
    return _request_many(redis, [_reconcile_marked(redis, meeting_id) for meeting_id in sorted(set(meeting_ids))])


def _reconcile_marked(redis: Redis, meeting_id: int) -> tuple[str, str, Callable]:
    return marker_key(meeting_id), reconcile_job_id(meeting_id), lambda j: _enqueue_reconcile(redis, meeting_id, j)


def ensure_reconcile(redis: Redis, meeting_id: int) -> str | None:
    """For the sweeper: queue a job unless the marked one is really still waiting in Redis."""
    return _ensure(redis, *_reconcile_marked(redis, meeting_id))


def release_marker(redis: Redis, meeting_id: int) -> None:
    redis.delete(marker_key(meeting_id))


def _enqueue_reconcile(redis: Redis, meeting_id: int, job_id: str) -> None:
    queue(redis, RECONCILE_QUEUE).enqueue(
        RECONCILE_JOB,
        meeting_id,
        job_id=job_id,
        description=f"reconcile meeting {meeting_id}",
        retry=RECONCILE_RETRY,
        job_timeout=RECONCILE_TIMEOUT,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )


def enqueue_attendance(redis: Redis, training_id: int) -> None:
    """Recompute a training's attendance after LMS data that matching depends on changed."""
    queue(redis, RECONCILE_QUEUE).enqueue(
        ATTENDANCE_JOB,
        training_id,
        job_id=f"attendance-{training_id}-{uuid.uuid4().hex[:12]}",
        description=f"recompute attendance of training {training_id}",
        retry=RECONCILE_RETRY,
        result_ttl=3600,
    )


# A job queued "once" holds this marker until it starts; a marker whose job was lost lapses by itself.
ONCE_TTL_SECONDS = 600


def once_key(name: str) -> str:
    return f"zoomsync:queued:{name}"


def enqueue_once(redis: Redis, name: str, queue_name: str, func: str | Callable, *args, **options) -> str | None:
    """Queue `func(*args)` unless a job of that name is already waiting; the job calls `release_once(name)`.

    `func` is a job's dotted path (or, from the job's own module, the function). For work whose state
    lives in the database (an account event, a report pull): the sweeper may ask again and again, and at
    most one job waits at a time.
    """
    return _ensure(
        redis,
        once_key(name),
        f"{name}-{uuid.uuid4().hex[:12]}",
        lambda j: queue(redis, queue_name).enqueue(func, *args, job_id=j, **options),
        ttl=ONCE_TTL_SECONDS,
    )


def release_once(redis: Redis, name: str) -> None:
    redis.delete(once_key(name))


def enqueue_account_event(redis: Redis, inbox_id: int) -> None:
    """An account event (app_deauthorized) is its own job: it concerns no meeting."""
    enqueue_once(
        redis,
        f"account-event-{inbox_id}",
        MAINTENANCE_QUEUE,
        ACCOUNT_EVENT_JOB,
        inbox_id,
        description=f"account event {inbox_id}",
        retry=RECONCILE_RETRY,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )


def enqueue_notifications(redis: Redis) -> None:
    """One waiting sender job at a time: it takes every pending notification."""
    enqueue_once(
        redis,
        "notifications",
        MAINTENANCE_QUEUE,
        NOTIFICATIONS_JOB,
        description="email pending notifications",
        job_timeout=600,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )


# --- pushes to Zoom: one waiting job per training, like reconcile per meeting ------------------


def push_marker_key(training_id: int) -> str:
    return f"zoomsync:push-queued:{training_id}"


def _push_job_id(training_id: int) -> str:
    return f"push-{training_id}-{uuid.uuid4().hex[:12]}"


def request_push(redis: Redis, training_id: int) -> str | None:
    """Queue a push of the training's pending edits unless one is already queued.

    One scheduled for later (a backoff, Zoom's daily reset) does not hold back a
    new edit: the push runs now, and whatever must still wait is deferred again.
    """
    key = push_marker_key(training_id)
    queued = _request(redis, key, _push_job_id(training_id), lambda j: _enqueue_push(redis, training_id, j))
    marked = _marked_job(redis, key) if queued is None else None
    if marked is not None and marked.get_status() == JobStatus.SCHEDULED:
        job_id = _push_job_id(training_id)
        redis.set(key, job_id, ex=MARKER_TTL_SECONDS)
        _enqueue_push(redis, training_id, job_id)
        return job_id
    return queued


def ensure_push(redis: Redis, training_id: int) -> str | None:
    """For the sweeper: queue a push unless the marked job really is still waiting in Redis."""
    return _ensure(
        redis, push_marker_key(training_id), _push_job_id(training_id), lambda j: _enqueue_push(redis, training_id, j)
    )


def schedule_push(redis: Redis, training_id: int, at: datetime) -> str:
    """Push again at `at` (a rate limit, Zoom's daily reset, backoff); edits made meanwhile wait for it."""
    at = whole_second_after(at)
    job_id = _push_job_id(training_id)
    ttl = max(MARKER_TTL_SECONDS, int((at - datetime.now(UTC)).total_seconds()) + MARKER_TTL_SECONDS)
    redis.set(push_marker_key(training_id), job_id, ex=ttl)
    _enqueue_push(redis, training_id, job_id, at=at)
    return job_id


def whole_second_after(at: datetime) -> datetime:
    """`at`, rounded up to a whole second.

    RQ scores a scheduled job by whole seconds rounded down, so a job due at
    :00.7 may start at :00.0; a push that starts before its rows' time finds
    them still waiting and only schedules itself again, a job and up to a
    second of the scheduler's polling lost.
    """
    whole = at.replace(microsecond=0)
    return whole if whole == at else whole + timedelta(seconds=1)


def release_push_marker(redis: Redis, training_id: int) -> None:
    redis.delete(push_marker_key(training_id))


def _enqueue_push(redis: Redis, training_id: int, job_id: str, at: datetime | None = None) -> None:
    options = dict(
        job_id=job_id,
        description=f"push training {training_id} to Zoom",
        job_timeout=PUSH_TIMEOUT,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )
    outbound = queue(redis, OUTBOUND_QUEUE)
    if at is None:
        outbound.enqueue(PUSH_JOB, training_id, **options)
    else:
        outbound.enqueue_at(at, PUSH_JOB, training_id, **options)


PUSH_TIMEOUT = 300


def enqueue_report_pull(redis: Redis, training_id: int) -> None:
    """Read the training's participant report now (the sweeper calls this when the pull is due)."""
    enqueue_once(
        redis,
        f"report-{training_id}",
        OUTBOUND_QUEUE,
        REPORT_PULL_JOB,
        training_id,
        description=f"read Zoom's participant report of training {training_id}",
        job_timeout=600,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
    )
