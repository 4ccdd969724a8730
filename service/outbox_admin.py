"""An admin's actions on pushes to Zoom: retry now, or cancel, and what the training's sync state becomes."""

from __future__ import annotations

from sqlalchemy import select

from models import OutboxItem, Registrant, Training
from service.unit_of_work import UnitOfWork

OPEN = ("pending", "failed")


def retry_now(uow: UnitOfWork, row_ids: list[int]) -> set[int]:
    """Pending or failed rows go again at once with a fresh count; answers the trainings to push."""
    trainings = set()
    for row in uow.session.scalars(select(OutboxItem).where(OutboxItem.id.in_(row_ids), OutboxItem.status.in_(OPEN))):
        row.status, row.attempts, row.next_attempt_at = "pending", 0, None
        training = uow.session.get(Training, row.training_id)
        training.zoom_sync_state, training.zoom_sync_error = "pending", None
        if row.registrant_id is not None:
            registrant = uow.session.get(Registrant, row.registrant_id)
            registrant.zoom_sync_state, registrant.zoom_sync_error = "pending", None
        trainings.add(row.training_id)
    return trainings


def cancel(uow: UnitOfWork, row_ids: list[int]) -> set[int]:
    """The admin gives up on these edits: they are never sent; the training shows what is left to do."""
    trainings = set()
    for row in uow.session.scalars(select(OutboxItem).where(OutboxItem.id.in_(row_ids), OutboxItem.status.in_(OPEN))):
        row.status, row.next_attempt_at = "cancelled", None
        if row.registrant_id is not None:
            registrant = uow.session.get(Registrant, row.registrant_id)
            if registrant.zoom_sync_state in ("pending", "error"):
                registrant.zoom_sync_state, registrant.zoom_sync_error = None, None
        trainings.add(row.training_id)
    uow.session.flush()
    for training_id in trainings:
        _resettle(uow, training_id)
    return trainings


def _resettle(uow: UnitOfWork, training_id: int) -> None:
    training = uow.session.get(Training, training_id)
    statuses = set(
        uow.session.scalars(
            select(OutboxItem.status).where(OutboxItem.training_id == training_id, OutboxItem.status.in_(OPEN))
        )
    )
    if "failed" in statuses:
        return  # still an error to look at
    if "pending" in statuses:
        training.zoom_sync_state, training.zoom_sync_error = "pending", None
    else:
        training.zoom_sync_state = "synced" if training.zoom_meeting_id is not None else None
        training.zoom_sync_error = None
