"""The reconcile job: apply every pending inbox event of one meeting, in one transaction per batch."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from marshmallow import ValidationError
from redis.exceptions import RedisError
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from config import Settings
from models import InboxAttempt, InboxEvent, ParticipantEvent, Training, utcnow
from models.database import chunks, insert_ignoring_duplicates, lock_meeting
from service import metrics
from service.event_schemas import parse_meeting_event
from workers.attendance import write_attendance
from workers.handlers import FACT_EVENTS, HANDLERS, Context
from workers.queues import release_marker, request_push, retry_delay
from workers.runs import plan_report_pull, summarise_runs

log = logging.getLogger(__name__)


class ReconcileIncomplete(Exception):
    """Some events failed this time and will be tried again (RQ Retry backs off)."""


@dataclass
class BatchOutcome:
    fetched: int
    counts: Counter
    retry_ids: tuple[int, ...] = ()
    push_training: int | None = None  # Zoom holds an older value: push after the commit
    received: tuple[datetime, ...] = ()  # when the events applied arrived: receipt-to-reconciled latency


def reconcile_meeting(meeting_id: int) -> dict[str, int]:
    """RQ job. Arguments are ids only; the events are read from the inbox."""
    from service.services import services

    svc = services()
    # First, before reading: an event arriving from now on queues a follow-up job.
    release_marker(svc.redis, meeting_id)
    totals: Counter = Counter()
    tried: set[int] = set()  # an event that failed is retried by the next job run, not the next batch
    while True:
        try:
            with svc.unit_of_work() as uow:
                lock_meeting(uow.session, meeting_id)
                locked = utcnow()
                outcome = reconcile_batch(uow.session, meeting_id, svc.settings, skip=tried)
                uow.commit()
            committed = utcnow()
            metrics.observe_latencies(svc.redis, ((committed - at).total_seconds() for at in outcome.received))
            if outcome.fetched:
                _log_batch(meeting_id, outcome.fetched, locked, committed)
        except Exception as exc:
            # The batch as a whole failed (after its per-event savepoints): charge every event
            # of it an attempt, in a transaction of its own, so none can block the meeting forever.
            with svc.unit_of_work() as uow:
                lock_meeting(uow.session, meeting_id)
                charge_batch(uow.session, meeting_id, svc.settings, tried, exc)
                uow.commit()
            raise
        if outcome.push_training is not None:
            try:
                request_push(svc.redis, outcome.push_training)
            except RedisError:
                log.warning(
                    "redis unavailable; the outbox row of training %s waits for the sweeper", outcome.push_training
                )
        tried.update(outcome.retry_ids)
        totals.update(outcome.counts)
        if outcome.fetched < svc.settings.reconcile_batch_size:
            break
    if totals["retry"]:
        raise ReconcileIncomplete(f"{totals['retry']} event(s) of meeting {meeting_id} will be retried")
    return dict(totals)


@dataclass
class _Row:
    """The inbox columns a batch needs, read without ORM identity tracking (batches are large)."""

    id: int
    event_type: str
    dedupe_key: str
    event_ts: int | None
    raw_body: bytes
    attempts: int
    received_at: datetime


def _pending(session: Session, meeting_id: int, limit: int, skip: set[int]) -> list[_Row]:
    query = (
        select(
            InboxEvent.id,
            InboxEvent.event_type,
            InboxEvent.dedupe_key,
            InboxEvent.event_ts,
            InboxEvent.raw_body,
            InboxEvent.attempts,
            InboxEvent.received_at,
        )
        .where(InboxEvent.meeting_id == meeting_id, InboxEvent.status == "pending")
        .order_by(func.coalesce(InboxEvent.event_ts, 0), InboxEvent.id)
        .limit(limit)
    )
    if skip:
        query = query.where(InboxEvent.id.not_in(skip))
    return [_Row(*row) for row in session.execute(query)]


class _Outcomes:
    """Per-event results of a batch, written back in a few bulk statements."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.processed: list[int] = []
        self.received: list[datetime] = []  # of the processed ones: their latency is measured at the commit
        self.errors: list[dict] = []  # one UPDATE per failed event: they are few
        self.retry_ids: list[int] = []
        self.counts: Counter = Counter()

    def ok(self, row: _Row) -> None:
        self.processed.append(row.id)
        self.received.append(row.received_at)
        self.counts["processed"] += 1

    def fail(self, row: _Row, exc: Exception, *, permanent: bool) -> None:
        """Malformed events fail at once; others stay pending until they use up their attempts."""
        attempts = row.attempts + 1
        retry = not permanent and attempts < self.settings.max_event_attempts
        self.errors.append(
            dict(
                event_id=row.id,
                status="pending" if retry else "failed",
                attempts=attempts,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
                next_attempt_at=utcnow() + retry_delay(attempts) if retry else None,
            )
        )
        self.counts["retry" if retry else "failed"] += 1
        if retry:
            self.retry_ids.append(row.id)

    def write(self, session: Session, now) -> None:
        for chunk in chunks(self.processed):
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id.in_(chunk))
                .values(status="processed", processed_at=now, last_error=None, next_attempt_at=None)
                .execution_options(synchronize_session=False)
            )
        if self.errors:
            session.execute(
                insert(InboxAttempt),
                [
                    dict(
                        inbox_id=e["event_id"],
                        attempt=e["attempts"],
                        error=e["last_error"],
                        final=e["status"] == "failed",
                        attempted_at=now,
                    )
                    for e in self.errors
                ],
            )
        for error in self.errors:
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == error["event_id"])
                .values(
                    status=error["status"],
                    attempts=error["attempts"],
                    last_error=error["last_error"],
                    next_attempt_at=error["next_attempt_at"],
                )
                .execution_options(synchronize_session=False)
            )


# Malformed input fails at once; anything else (a bug, the database) is retried first.
PERMANENT_ERRORS = (ValidationError, json.JSONDecodeError, UnicodeDecodeError)


def _log_batch(meeting_id: int, events: int, locked: datetime, committed: datetime) -> None:
    """One line per batch: its size, and when it held the meeting (what shows no two workers ever overlap)."""
    log.info(
        "meeting %s: %d events applied",
        meeting_id,
        events,
        extra={
            "meeting_id": meeting_id,
            "events": events,
            "locked_at": locked.isoformat(timespec="microseconds"),
            "duration_ms": round((committed - locked).total_seconds() * 1000, 1),
            "worker_pid": os.getpid(),
        },
    )


def reconcile_batch(
    session: Session, meeting_id: int, settings: Settings, skip: set[int] = frozenset()
) -> BatchOutcome:
    """Apply up to one batch of pending events; the caller holds the meeting lock and commits.

    Events are parsed first; a malformed one ends `failed` with its reason. Events
    that change the training run one by one in savepoints, so one that fails is
    rolled back alone. Join/leave events only collect facts, inserted in bulk:
    a 10,000-person webinar is a few statements per batch, not several per event.
    """
    rows = _pending(session, meeting_id, settings.reconcile_batch_size, skip)
    outcomes = _Outcomes(settings)
    if not rows:
        return BatchOutcome(0, outcomes.counts)
    training = session.scalars(select(Training).where(Training.zoom_meeting_id == meeting_id)).first()
    now = utcnow()
    if training is None:
        # Kept for when a training links this meeting (the LMS API re-queues them then).
        for chunk in chunks([row.id for row in rows]):
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id.in_(chunk))
                .values(status="unmatched", processed_at=now)
                .execution_options(synchronize_session=False)
            )
        outcomes.counts["unmatched"] = len(rows)
        return BatchOutcome(len(rows), outcomes.counts)

    dirty_attendance = dirty_instances = report_due = push_due = False
    facts: list[tuple[_Row, list[dict]]] = []
    for row in rows:
        ctx = Context(session, training, row.event_type, row.dedupe_key, row.event_ts)
        try:
            event = parse_meeting_event(json.loads(row.raw_body))
            if row.event_type in FACT_EVENTS:
                HANDLERS[row.event_type](ctx, event)
            else:
                with session.begin_nested():
                    HANDLERS[row.event_type](ctx, event)
        except PERMANENT_ERRORS as exc:
            outcomes.fail(row, exc, permanent=True)
            continue
        except Exception as exc:  # noqa: BLE001 - any other error is retried, then kept as failed
            log.exception("reconcile of inbox event %s failed", row.id)
            outcomes.fail(row, exc, permanent=False)
            continue
        if ctx.facts:
            facts.append((row, ctx.facts))
        else:
            outcomes.ok(row)
        dirty_attendance |= ctx.attendance_dirty
        dirty_instances |= ctx.instances_dirty
        report_due |= ctx.report_due
        push_due |= ctx.push_due

    _insert_facts(session, facts, outcomes)
    outcomes.write(session, now)
    if dirty_instances:
        summarise_runs(session, training)
    if dirty_attendance:
        outcomes.counts["attendance_rows"] += write_attendance(session, training)
    if dirty_instances or report_due:
        # Due a while after the (latest) end of the runs that are the training, whenever its events were applied.
        plan_report_pull(
            session, training, ended=report_due, runs_changed=dirty_instances, delay_seconds=settings.report_delays[0]
        )
    return BatchOutcome(
        len(rows),
        outcomes.counts,
        tuple(outcomes.retry_ids),
        training.id if push_due else None,
        tuple(outcomes.received),
    )


def charge_batch(session: Session, meeting_id: int, settings: Settings, skip: set[int], exc: Exception) -> None:
    outcomes = _Outcomes(settings)
    for row in _pending(session, meeting_id, settings.reconcile_batch_size, skip):
        outcomes.fail(row, exc, permanent=False)
    outcomes.write(session, utcnow())


def _insert_facts(session: Session, facts: list[tuple[_Row, list[dict]]], outcomes: _Outcomes) -> None:
    """One multi-row INSERT .. ON CONFLICT DO NOTHING per chunk; if a chunk fails, event by event."""
    for chunk in chunks(facts):
        unique = {value["fact_key"]: value for _, values in chunk for value in values}
        try:
            with session.begin_nested():
                insert_ignoring_duplicates(session, ParticipantEvent, list(unique.values()), "fact_key")
        except Exception:  # noqa: BLE001 - find the event at fault, keep the rest
            log.exception("bulk insert of %d participant facts failed; retrying one event at a time", len(unique))
            for row, values in chunk:
                try:
                    with session.begin_nested():
                        insert_ignoring_duplicates(session, ParticipantEvent, values, "fact_key")
                except Exception as exc:  # noqa: BLE001
                    outcomes.fail(row, exc, permanent=False)
                else:
                    outcomes.ok(row)
            continue
        for row, _ in chunk:
            outcomes.ok(row)
