"""The sweeper: nothing waits forever when Redis was down at receipt or a worker died mid-job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models import InboxEvent, utcnow
from service.services import services
from webhook.envelope import ACCOUNT_EVENTS
from workers.queues import enqueue_account_event, ensure_reconcile


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
