"""Retries: a failing batch cannot block its meeting, and the sweeper honours the backoff."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import InboxEvent, utcnow
from tests.helpers import create_training, deliver, fixture, queued_job_count
from workers import reconcile
from workers.reconcile import ReconcileIncomplete, reconcile_meeting
from workers.sweeper import sweep_inbox

MEETING = 85212345678


def events(session_factory) -> list[InboxEvent]:
    with session_factory() as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def test_a_batch_failing_after_its_events_charges_each_an_attempt_until_they_fail(
    client, app, session_factory, monkeypatch
):
    create_training(client)
    deliver(client, fixture("meeting.participant_joined"))
    deliver(client, fixture("meeting.participant_left"))

    def broken(session, training):
        raise RuntimeError("attendance table unavailable")

    monkeypatch.setattr(reconcile, "write_attendance", broken)
    svc = app.extensions["zoomsync"]
    monkeypatch.setattr(svc, "settings", replace(svc.settings, max_event_attempts=2))
    with app.app_context():
        with pytest.raises(RuntimeError):
            reconcile_meeting(MEETING)
        first = events(session_factory)
        assert [(e.status, e.attempts) for e in first] == [("pending", 1), ("pending", 1)]
        assert all(e.next_attempt_at is not None and e.next_attempt_at > utcnow() for e in first)
        assert all("attendance table unavailable" in e.last_error for e in first)
        with pytest.raises(RuntimeError):
            reconcile_meeting(MEETING)
    assert [(e.status, e.attempts) for e in events(session_factory)] == [("failed", 2), ("failed", 2)]


def test_sweeper_waits_for_the_backoff_of_a_failed_try(client, app, session_factory, monkeypatch):
    create_training(client)
    deliver(client, fixture("meeting.started"))
    redis = app.extensions["zoomsync"].redis
    redis.flushdb()  # the intake job is gone: only the sweeper can queue this meeting now
    svc = app.extensions["zoomsync"]
    monkeypatch.setattr(svc, "settings", replace(svc.settings, sweep_after_seconds=0))
    long_ago = utcnow() - timedelta(hours=1)
    with session_factory() as session:
        session.execute(
            update(InboxEvent).values(received_at=long_ago, next_attempt_at=utcnow() + timedelta(minutes=2))
        )
        session.commit()
    with app.app_context():
        assert sweep_inbox() == 0  # RQ's scheduled retry is in charge until the backoff ends
    with session_factory() as session:
        session.execute(update(InboxEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    with app.app_context():
        assert sweep_inbox() == 1
    assert queued_job_count(app) == 1


def test_transient_failure_schedules_the_next_try_by_the_backoff(client, app, session_factory, monkeypatch):
    from workers import handlers
    from workers.queues import RETRY_INTERVALS

    create_training(client)
    deliver(client, fixture("meeting.started"))

    def broken(ctx, event):
        raise RuntimeError("hiccup")

    monkeypatch.setitem(handlers.HANDLERS, "meeting.started", broken)
    before = utcnow()
    with app.app_context(), pytest.raises(ReconcileIncomplete):
        reconcile_meeting(MEETING)
    [event] = events(session_factory)
    assert event.status == "pending" and event.attempts == 1
    delay = (event.next_attempt_at - before).total_seconds()
    assert RETRY_INTERVALS[0] <= delay < RETRY_INTERVALS[0] + 5
