"""The outbox: every LMS edit bound for Zoom, committed in the transaction of the edit itself.

A row records what was asked (create, update, delete, register, unregister) and
what became of it. The push job does not replay rows one by one: it sends Zoom
whatever differs between the training and what Zoom last confirmed, and marks
every row it covered. A crash between the commit and the enqueue loses nothing:
the sweeper finds pending rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow

# reassign: the organizer changed; the Zoom meeting's host follows (same meeting, links and passcode).
OUTBOX_KINDS = ("create", "update", "delete", "register", "unregister", "reassign")
OUTBOX_STATUSES = ("pending", "sent", "failed", "cancelled")


class OutboxItem(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(f"kind IN {OUTBOX_KINDS}", name="kind"),
        CheckConstraint(f"status IN {OUTBOX_STATUSES}", name="status"),
        Index("ix_outbox_training_status", "training_id", "status"),
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"))
    registrant_id: Mapped[int | None] = mapped_column(ForeignKey("registrants.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # What the edit changed, for the record: {"start_time": "...", ...}.
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Not before: set by backoff, a rate limit or Zoom's daily limit.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
