"""Intake: keep a verified delivery in the inbox, once, before Zoom gets its answer."""

from __future__ import annotations

from dataclasses import dataclass

from models import InboxEvent, utcnow
from models.database import insert_ignoring_duplicates
from service.unit_of_work import UnitOfWork
from webhook.dedupe import dedupe_key
from webhook.envelope import Envelope
from webhook.group_commit import GroupCommit

# Request headers kept with the event for the admin's detail view. Not the signature: stored beside
# the body it would let anyone who reads the database guess at a weak secret offline.
KEPT_HEADERS = (
    "x-zm-request-timestamp",
    "x-zm-trackingid",
    "x-zm-request-id",
    "user-agent",
    "content-type",
)


@dataclass(frozen=True)
class Stored:
    inbox_id: int | None  # None: a redelivery of an event we already have
    status: str

    @property
    def created(self) -> bool:
        return self.inbox_id is not None


def initial_status(envelope: Envelope) -> tuple[str, str | None]:
    """Status a new row starts in, and why, when it will never be reconciled."""
    if envelope.account_event:
        return "pending", None
    if not envelope.handled:
        return "ignored", None
    if envelope.meeting_id is None:
        return "failed", "payload.object.id is missing or is not a Zoom meeting number"
    return "pending", None


def inbox_row(envelope: Envelope, raw_body: bytes, headers: dict[str, str]) -> dict:
    """The inbox row of a verified delivery, as the intake and the drift check insert it."""
    status, error = initial_status(envelope)
    return dict(
        dedupe_key=dedupe_key(envelope.body),
        event_type=envelope.event_type,
        event_ts=envelope.event_ts,
        account_id=envelope.account_id,
        # An account event concerns no meeting: with a meeting id (a signed body may carry one), that
        # meeting's reconcile job would take it up too, find no handler and retry it as a fault.
        meeting_id=None if envelope.account_event else envelope.meeting_id,
        meeting_uuid=envelope.meeting_uuid,
        participant_uuid=envelope.participant_uuid,
        raw_body=raw_body,
        headers={name: headers[name] for name in KEPT_HEADERS if name in headers},
        status=status,
        last_error=error,
        received_at=utcnow(),
    )


def store_event(uow: UnitOfWork, envelope: Envelope, raw_body: bytes, headers: dict[str, str]) -> Stored:
    """Insert the event unless its dedupe key is already there; commits. DB errors propagate (503)."""
    row = inbox_row(envelope, raw_body, headers)
    inbox_id = insert_ignoring_duplicates(uow.session, InboxEvent, row, conflict_column="dedupe_key")
    uow.commit()
    return _stored(row, inbox_id)


def keep(writer: GroupCommit, envelope: Envelope, raw_body: bytes, headers: dict[str, str]) -> Stored:
    """The webhook's path: the row goes in with whatever else this process is committing (group commit);
    returns once it is committed. DB errors propagate (503)."""
    row = inbox_row(envelope, raw_body, headers)
    return _stored(row, writer.store(row))


def _stored(row: dict, inbox_id: int | None) -> Stored:
    return Stored(inbox_id=inbox_id, status=row["status"] if inbox_id is not None else "duplicate")
