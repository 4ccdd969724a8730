"""The sweeper: nothing waits forever when Redis was down at receipt or a worker died mid-job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models import InboxEvent, Notification, OutboxItem, ReportPull, utcnow
from service.envelope import ACCOUNT_EVENTS
from service.services import services
from workers.queues import (
    enqueue_account_event,
    enqueue_notifications,
    enqueue_report_pull,
    ensure_push,
    ensure_reconcile,
)


def sweep_inbox() -> int:
    """RQ cron job: queue a reconcile for every meeting with events overdue by more than the threshold.

    An event is due when it arrived, or after a failed try when its backoff ends;
    until then RQ's own retry is in charge, and the sweeper must not hurry it.
    """
    svc = services()
    cutoff = utcnow() - timedelta(seconds=svc.settings.sweep_after_seconds)
    with svc.unit_of_work() as uow:
        meeting_ids = list(
            uow.session.scalars(
                select(InboxEvent.meeting_id)
                .where(
                    InboxEvent.status == "pending",
                    func.coalesce(InboxEvent.next_attempt_at, InboxEvent.received_at) < cutoff,
                    InboxEvent.meeting_id.is_not(None),
                )
                .distinct()
            )
        )
        account_events = list(
            uow.session.scalars(
                select(InboxEvent.id).where(
                    InboxEvent.status == "pending",
                    InboxEvent.event_type.in_(ACCOUNT_EVENTS),
                    func.coalesce(InboxEvent.next_attempt_at, InboxEvent.received_at) < cutoff,
                )
            )
        )
    for inbox_id in account_events:
        enqueue_account_event(svc.redis, inbox_id)
    return sum(1 for meeting_id in meeting_ids if ensure_reconcile(svc.redis, meeting_id)) + len(account_events)


def sweep_outbox() -> int:
    """RQ cron job: queue a push for every training with outbox rows due and waiting longer than the threshold.

    A crash between an edit's commit and its enqueue, or a lost job, leaves rows
    pending; rows waiting for a rate limit or a backoff are not due until then.
    """
    svc = services()
    cutoff = utcnow() - timedelta(seconds=svc.settings.sweep_after_seconds)
    with svc.unit_of_work() as uow:
        training_ids = list(
            uow.session.scalars(
                select(OutboxItem.training_id)
                .where(
                    OutboxItem.status == "pending",
                    func.coalesce(OutboxItem.next_attempt_at, OutboxItem.created_at) < cutoff,
                )
                .distinct()
            )
        )
    return sum(1 for training_id in training_ids if ensure_push(svc.redis, training_id))


def sweep_report_pulls() -> int:
    """RQ cron job: queue every participant-report pull that is due (the schedule lives in the database)."""
    svc = services()
    with svc.unit_of_work() as uow:
        training_ids = list(
            uow.session.scalars(
                select(ReportPull.training_id).where(
                    ReportPull.status == "pending", ReportPull.next_attempt_at <= utcnow()
                )
            )
        )
    for training_id in training_ids:
        enqueue_report_pull(svc.redis, training_id)
    return len(training_ids)


def sweep_notifications() -> int:
    """RQ cron job: queue the sender while notifications wait (a lost job or an SMTP outage only delays them)."""
    svc = services()
    with svc.unit_of_work() as uow:
        waiting = uow.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status == "pending")
        )
    if waiting:
        enqueue_notifications(svc.redis)
    return waiting
