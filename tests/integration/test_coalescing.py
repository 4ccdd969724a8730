"""Coalescing: a burst for one meeting queues one job; an event during a running job gets a follow-up."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime, timedelta

from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from models import InboxEvent
from tests.helpers import create_training, deliver, fixture, queued_job_count, run_jobs
from workers import handlers
from workers.queues import (
    OUTBOUND_QUEUE,
    RECONCILE_QUEUE,
    SCHEDULER_LAG_SECONDS,
    ensure_push,
    ensure_reconcile,
    marker_key,
    queue,
    schedule_push,
)
from workers.reconcile import reconcile_meeting
from workers.sweeper import sweep_inbox

MEETING = 85212345678


def participant_event(n: int) -> dict:
    body = copy.deepcopy(fixture("meeting.participant_joined"))
    person = body["payload"]["object"]["participant"]
    person.update(user_id=str(1000 + n), participant_uuid=f"PU-{n}", email=f"p{n}@example.org", user_name=f"P {n}")
    body["event_ts"] += n
    return body


def pending(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "pending"))


def test_a_burst_for_one_meeting_queues_one_job(client, app, session_factory):
    create_training(client)
    run_jobs(app)
    for n in range(300):
        assert deliver(client, participant_event(n)).status_code == 200
    assert queued_job_count(app) == 1
    assert run_jobs(app) == 1
    assert pending(session_factory) == 0


def test_job_arguments_are_ids_only(client, app):
    deliver(client, participant_event(1))
    redis = app.extensions["zoomsync"].redis
    [job] = queue(redis, RECONCILE_QUEUE).jobs
    assert job.args == (MEETING,)
    assert job.kwargs == {}


def test_event_arriving_while_the_job_runs_gets_a_prompt_follow_up(client, app, session_factory, monkeypatch):
    create_training(client)
    run_jobs(app)
    deliver(client, participant_event(1))
    inside, go_on = threading.Event(), threading.Event()
    real = handlers.HANDLERS["meeting.participant_joined"]

    def slow_handler(ctx, event):
        inside.set()
        go_on.wait(10)
        real(ctx, event)

    monkeypatch.setitem(handlers.HANDLERS, "meeting.participant_joined", slow_handler)
    redis = app.extensions["zoomsync"].redis
    queue(redis, RECONCILE_QUEUE).empty()  # this test runs the job itself, in a thread

    def run_job():
        with app.app_context():
            reconcile_meeting(MEETING)

    worker = threading.Thread(target=run_job)
    worker.start()
    assert inside.wait(10), "job never reached the handler"
    go_on.set()
    # Arrives after the job read its batch: must not wait for the sweeper.
    assert deliver(client, participant_event(2)).status_code == 200
    worker.join(30)
    assert not worker.is_alive()
    monkeypatch.setitem(handlers.HANDLERS, "meeting.participant_joined", real)
    assert queued_job_count(app) == 1, "no follow-up job was queued"
    run_jobs(app)
    assert pending(session_factory) == 0


def test_sweeper_requeues_when_the_marked_job_has_vanished(client, app, session_factory):
    from dataclasses import replace

    deliver(client, participant_event(1))
    redis = app.extensions["zoomsync"].redis
    queue(redis, RECONCILE_QUEUE).empty()  # e.g. Redis lost the job, marker survived
    assert redis.get(marker_key(MEETING)) is not None
    app.extensions["zoomsync"].settings = replace(app.extensions["zoomsync"].settings, sweep_after_seconds=0)
    with app.app_context():
        assert sweep_inbox() == 1
    assert queued_job_count(app) == 1


def test_sweeper_leaves_fresh_events_to_the_intake_job(client, app):
    deliver(client, participant_event(1))
    with app.app_context():
        assert sweep_inbox() == 0  # younger than sweep_after_seconds (30 s)


def test_ensure_reconcile_does_not_duplicate_a_waiting_job(client, app):
    deliver(client, participant_event(1))
    redis = app.extensions["zoomsync"].redis
    job_id = redis.get(marker_key(MEETING)).decode()
    assert ensure_reconcile(redis, MEETING) is None
    assert Job.fetch(job_id, connection=redis).get_status() == "queued"
    assert queued_job_count(app) == 1


def test_the_sweeper_queues_a_scheduled_push_no_scheduler_took_and_leaves_one_not_yet_due(app):
    """RQ's scheduler runs in one worker; when that worker dies, due jobs wait until another takes it over."""
    redis = app.extensions["zoomsync"].redis
    overdue = schedule_push(redis, 1, datetime.now(UTC) - timedelta(seconds=SCHEDULER_LAG_SECONDS + 10))
    upcoming = schedule_push(redis, 2, datetime.now(UTC) + timedelta(seconds=60))
    assert ensure_push(redis, 1) is None and ensure_push(redis, 2) is None  # both still wait: no second job
    outbound = queue(redis, OUTBOUND_QUEUE)
    assert outbound.job_ids == [overdue]
    assert ScheduledJobRegistry(queue=outbound).get_job_ids() == [upcoming]


def test_a_push_scheduled_within_a_second_is_never_due_before_its_time(app):
    """RQ scores scheduled jobs in whole seconds rounded down: a push due at :00.4 must not start at :00.0."""
    redis = app.extensions["zoomsync"].redis
    at = (datetime.now(UTC) + timedelta(seconds=30)).replace(microsecond=400_000)
    job_id = schedule_push(redis, 3, at)
    registry = ScheduledJobRegistry(queue=queue(redis, OUTBOUND_QUEUE))
    assert registry.get_scheduled_time(job_id) >= at
    assert registry.get_jobs_to_schedule(int(at.timestamp())) == []  # not due in the second it falls in
    assert registry.get_jobs_to_schedule(int(at.timestamp()) + 1) == [job_id]
