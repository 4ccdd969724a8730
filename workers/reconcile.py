"""The reconcile job: apply every pending inbox event of one meeting, in one transaction per batch."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass

from marshmallow import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from config import Settings
from models import InboxEvent, MeetingInstance, Training, utcnow
from models.database import lock_meeting
from webhook.schemas import parse_meeting_event
from workers.attendance import write_attendance
from workers.handlers import HANDLERS, Context
from workers.queues import release_marker

log = logging.getLogger(__name__)


class ReconcileIncomplete(Exception):
    """Some events failed this time and will be tried again (RQ Retry backs off)."""


@dataclass
class BatchOutcome:
    fetched: int
    counts: Counter


def reconcile_meeting(meeting_id: int) -> dict[str, int]:
    """RQ job. Arguments are ids only; the events are read from the inbox."""
    from service.services import services

    svc = services()
    # First, before reading: an event arriving from now on queues a follow-up job.
    release_marker(svc.redis, meeting_id)
    totals: Counter = Counter()
    while True:
        with svc.unit_of_work() as uow:
            lock_meeting(uow.session, meeting_id)
            outcome = reconcile_batch(uow.session, meeting_id, svc.settings)
            uow.commit()
        totals.update(outcome.counts)
        if outcome.fetched < svc.settings.reconcile_batch_size:
            break
    if totals["retry"]:
        raise ReconcileIncomplete(f"{totals['retry']} event(s) of meeting {meeting_id} will be retried")
    return dict(totals)


def _pending(session: Session, meeting_id: int, limit: int) -> list[InboxEvent]:
    return list(
        session.scalars(
            select(InboxEvent)
            .where(InboxEvent.meeting_id == meeting_id, InboxEvent.status == "pending")
            .order_by(func.coalesce(InboxEvent.event_ts, 0), InboxEvent.id)
            .limit(limit)
        )
    )


def reconcile_batch(session: Session, meeting_id: int, settings: Settings) -> BatchOutcome:
    """Apply up to one batch of pending events; the caller holds the meeting lock and commits.

    Each event runs in a savepoint: one that fails is rolled back alone, counted,
    and ends `failed` when it is malformed or has used up its attempts; the others
    are applied regardless.
    """
    events = _pending(session, meeting_id, settings.reconcile_batch_size)
    counts: Counter = Counter()
    if not events:
        return BatchOutcome(0, counts)
    training = session.scalars(select(Training).where(Training.zoom_meeting_id == meeting_id)).first()
    now = utcnow()
    if training is None:
        # Kept for when a training links this meeting (the LMS API re-queues them then).
        for event in events:
            event.status, event.processed_at = "unmatched", now
        counts["unmatched"] = len(events)
        return BatchOutcome(len(events), counts)

    dirty_attendance = dirty_instances = False
    for event in events:
        ctx = Context(session, training, event.event_type, event.dedupe_key, event.event_ts)
        try:
            with session.begin_nested():
                body = json.loads(event.raw_body)
                HANDLERS[event.event_type](ctx, parse_meeting_event(body))
        except (ValidationError, ValueError, KeyError, TypeError) as exc:
            _fail(event, exc, permanent=True, settings=settings)
            counts["failed"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - any other error is retried, then kept as failed
            log.exception("reconcile of inbox event %s failed", event.id)
            retry = _fail(event, exc, permanent=False, settings=settings)
            counts["retry" if retry else "failed"] += 1
            continue
        event.status, event.processed_at, event.last_error = "processed", now, None
        dirty_attendance |= ctx.attendance_dirty
        dirty_instances |= ctx.instances_dirty
        counts["processed"] += 1

    if dirty_instances:
        _summarise_runs(session, training)
    if dirty_attendance:
        counts["attendance_rows"] += write_attendance(session, training)
    return BatchOutcome(len(events), counts)


def _fail(event: InboxEvent, exc: Exception, *, permanent: bool, settings: Settings) -> bool:
    """Record the error; return True when the event stays pending for another attempt."""
    event.attempts += 1
    event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if permanent or event.attempts >= settings.max_event_attempts:
        event.status = "failed"
        return False
    return True


def _summarise_runs(session: Session, training: Training) -> None:
    """Actual start/end and current uuid follow from all runs, whatever order they were reported in."""
    runs = list(session.scalars(select(MeetingInstance).where(MeetingInstance.meeting_id == training.zoom_meeting_id)))
    starts = [r.started_at for r in runs if r.started_at is not None]
    ends = [r.ended_at for r in runs if r.ended_at is not None]
    training.actual_start = min(starts) if starts else None
    training.actual_end = max(ends) if ends else None
    latest = max(runs, key=lambda r: (r.started_at is not None, r.started_at or utcnow(), r.uuid), default=None)
    training.zoom_uuid = latest.uuid if latest else training.zoom_uuid


def requeue_unmatched(session: Session, meeting_id: int) -> int:
    """A training now links this meeting: its earlier events become pending again."""
    result = session.execute(
        update(InboxEvent)
        .where(InboxEvent.meeting_id == meeting_id, InboxEvent.status == "unmatched")
        .values(status="pending", processed_at=None)
    )
    return result.rowcount or 0
