"""The inbox, written: a verified delivery (or the drift check's synthetic event) kept once, then its job queued.

One place for the row an event becomes and for what is queued after its commit, so the webhook intake and
the drift check write the same thing, and neither reaches into the other's package.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from redis import Redis
from redis.exceptions import RedisError

from models import InboxEvent, utcnow
from models.database import insert_ignoring_duplicates
from service.dedupe import dedupe_key
from service.envelope import ACCOUNT_EVENTS, Envelope
from service.unit_of_work import UnitOfWork
from workers.queues import enqueue_account_event, request_reconciles

log = logging.getLogger(__name__)

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


class RowWriter(Protocol):
    """What writes the webhook's rows: its group commit (webhook/group_commit.py)."""

    def store(self, row: dict) -> int | None: ...


def keep(writer: RowWriter, envelope: Envelope, raw_body: bytes, headers: dict[str, str]) -> Stored:
    """The webhook's path: the row goes in with whatever else this process is committing (group commit);
    returns once it is committed. DB errors propagate (503)."""
    row = inbox_row(envelope, raw_body, headers)
    return _stored(row, writer.store(row))


def _stored(row: dict, inbox_id: int | None) -> Stored:
    return Stored(inbox_id=inbox_id, status=row["status"] if inbox_id is not None else "duplicate")


def queue_committed(redis: Redis, committed: list[tuple[dict, int | None]]) -> None:
    """After a batch's commit, by its leader: one reconcile request per meeting of the batch's new pending
    events (markers set in one round trip), and a job per account event. Redis away loses nothing: the
    events are pending in the inbox and the sweeper queues them."""
    new = [(row, inbox_id) for row, inbox_id in committed if inbox_id is not None and row["status"] == "pending"]
    try:
        for row, inbox_id in new:
            if row["event_type"] in ACCOUNT_EVENTS:
                enqueue_account_event(redis, inbox_id)
        request_reconciles(redis, (row["meeting_id"] for row, _ in new if row["meeting_id"] is not None))
    except RedisError:
        log.warning("redis unavailable; %d new inbox event(s) left for the sweeper", len(new))
