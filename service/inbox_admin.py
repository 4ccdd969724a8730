"""Actions on the webhook inbox taken from the LMS side: replay what failed, apply what waited for a link."""

from __future__ import annotations

from sqlalchemy import select, update

from models import InboxEvent
from service.unit_of_work import UnitOfWork


def replay_events(uow: UnitOfWork, event_ids: list[int] | None = None, status: str = "failed") -> set[int]:
    """Put events back to `pending` with a fresh attempt count; returns the meetings to reconcile.

    Replaying is safe at any time: every handler is idempotent, so an event that
    had in fact been applied changes nothing the second time.
    """
    query = select(InboxEvent).where(InboxEvent.meeting_id.is_not(None))
    query = query.where(InboxEvent.id.in_(event_ids)) if event_ids else query.where(InboxEvent.status == status)
    meetings = set()
    for event in uow.session.scalars(query):
        event.status, event.attempts, event.processed_at, event.next_attempt_at = "pending", 0, None, None
        meetings.add(event.meeting_id)
    return meetings


def requeue_unmatched(uow: UnitOfWork, meeting_id: int) -> int:
    """A training now links this meeting: its earlier events become pending again."""
    result = uow.session.execute(
        update(InboxEvent)
        .where(InboxEvent.meeting_id == meeting_id, InboxEvent.status == "unmatched")
        .values(status="pending", processed_at=None)
    )
    return result.rowcount or 0
