"""The reconcile benchmark's baseline: the textbook design, one RQ job per event.

Each job applies one inbox event with the service's own handlers in a
transaction of its own, as a queue-per-event design does. It is given every
advantage but batching: it never recomputes attendance (that is done once, by
`finish`, after the last event), so what it costs is the price of a job and a
transaction per event, which coalescing and batch reconcile avoid.
"""

from __future__ import annotations

import json

from sqlalchemy import select, update

from models import InboxEvent, ParticipantEvent, Training, utcnow
from models.database import insert_ignoring_duplicates, lock_meeting
from service.event_schemas import parse_meeting_event
from workers.attendance import write_attendance
from workers.handlers import FACT_EVENTS, HANDLERS, Context


def apply_event(inbox_id: int) -> str:
    """RQ job: the one event, applied and marked processed."""
    from service.services import services

    with services().unit_of_work() as uow:
        session = uow.session
        row = session.get(InboxEvent, inbox_id)
        if row is None or row.status != "pending":
            return "nothing to do"
        lock_meeting(session, row.meeting_id)
        training = session.scalars(select(Training).where(Training.zoom_meeting_id == row.meeting_id)).one()
        ctx = Context(session, training, row.event_type, row.dedupe_key, row.event_ts)
        HANDLERS[row.event_type](ctx, parse_meeting_event(json.loads(row.raw_body)))
        if ctx.facts and row.event_type in FACT_EVENTS:
            insert_ignoring_duplicates(session, ParticipantEvent, ctx.facts, "fact_key")
        session.execute(
            update(InboxEvent).where(InboxEvent.id == inbox_id).values(status="processed", processed_at=utcnow())
        )
        uow.commit()
    return "processed"


def finish(training_id: int) -> int:
    """RQ job, queued after the last event's: the training's attendance, computed once."""
    from service.services import services

    with services().unit_of_work() as uow:
        training = uow.session.get(Training, training_id)
        lock_meeting(uow.session, training.zoom_meeting_id)
        written = write_attendance(uow.session, training)
        uow.commit()
    return written
