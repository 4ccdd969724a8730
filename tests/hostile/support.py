"""What the hostile tests share: the database's and the queues' view of a run, trainings, big bodies."""

from __future__ import annotations

import logging
from contextlib import contextmanager

from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import func, select

from models import InboxEvent
from service.services import EXTENSION_KEY
from tests.helpers import AUTH, acting, create_training, run_jobs
from workers.queues import QUEUE_NAMES, queue

# What an event may be left in once the worker is done (models/inbox.py); `pending` is not one.
SETTLED = {"processed", "ignored", "unmatched", "failed"}


def inbox_count(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(InboxEvent))


def stored_body(session_factory, inbox_id: int) -> bytes:
    with session_factory() as session:
        return session.get(InboxEvent, inbox_id).raw_body


def unsettled_rows(session_factory) -> list[tuple]:
    """Rows the worker left pending, or failed without saying why."""
    with session_factory() as session:
        rows = session.execute(select(InboxEvent.id, InboxEvent.event_type, InboxEvent.status, InboxEvent.last_error))
        return [row for row in rows if row.status not in SETTLED or (row.status == "failed" and not row.last_error)]


@contextmanager
def job_errors():
    """The errors jobs logged while the block ran (AppContextJob logs every job that raised)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append
    logger = logging.getLogger("zoomsync.job")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def jobs_that_raised(app) -> set[str]:
    """Jobs RQ holds as failed, or scheduled again after they raised."""
    redis = app.extensions[EXTENSION_KEY].redis
    found: set[str] = set()
    for name in QUEUE_NAMES:
        q = queue(redis, name)
        found.update(FailedJobRegistry(queue=q).get_job_ids(), ScheduledJobRegistry(queue=q).get_job_ids())
    return found


def _last_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else ""


NO_PROBLEMS = {"jobs that raised": [], "unsettled rows": []}


def worker_problems(app, session_factory, described: dict[str, str] | None = None) -> dict[str, list]:
    """Run the queued jobs; what went wrong: jobs that raised this time (with their error), events not settled."""
    redis = app.extensions[EXTENSION_KEY].redis
    before = jobs_that_raised(app)
    with job_errors() as errors:
        run_jobs(app)
    raised = [f"{record.getMessage()}: {_last_line(record.exc_text)}" for record in errors]
    for job_id in sorted(jobs_that_raised(app) - before):
        result = Job.fetch(job_id, redis).latest_result()
        raised.append(f"in RQ's failed or scheduled registry: {job_id}: {_last_line(result and result.exc_string)}")
    names = described or {}
    unsettled = [(names.get(str(row.id), row.id), *row[1:]) for row in unsettled_rows(session_factory)]
    return {"jobs that raised": raised, "unsettled rows": unsettled}


def create_meeting_and_webinar(client) -> None:
    """Trainings for the fixtures' meeting (85212345678) and webinar (93456789012): their events are applied."""
    meeting = client.get(f"/api/v1/trainings/{create_training(client)}", headers=AUTH).json
    organizer = meeting["organizer_id"]
    webinar = client.post(
        "/api/v1/trainings",
        json={
            "academy_id": meeting["academy_id"],
            "theme": "Webinar",
            "start_time": "2026-12-02T15:00:00+00:00",
            "duration": 120,
            "timezone": "UTC",
            "meeting_type": "webinar",
            "organizer_id": organizer,
            "zoom_meeting_id": 93456789012,  # as the webinar fixtures say
        },
        headers=acting(organizer),
    )
    assert webinar.status_code == 201, webinar.json


def padded_event(size: int) -> bytes:
    """A valid event of exactly `size` bytes: were the limit not enforced, it would be kept."""
    head = b'{"event":"meeting.updated","payload":{"time_stamp":1,"object":{"id":85212345678,"agenda":"'
    tail = b'"}}}'
    return head + b"x" * (size - len(head) - len(tail)) + tail
