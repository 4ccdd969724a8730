"""Messages to LMS users about their trainings (iSpring: the organizer hears of assignment and of changes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow

NOTIFICATION_KINDS = ("assigned", "unassigned", "changed", "cancelled")
# pending: to be emailed; sent; failed: gave up after the last try; kept: email is off, the row is the record.
NOTIFICATION_STATUSES = ("pending", "sent", "failed", "kept")


class Notification(Base):
    """Written in the transaction that made the change; emailed after it by a job (or kept, if email is off)."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"kind IN {NOTIFICATION_KINDS}", name="kind"),
        CheckConstraint(f"status IN {NOTIFICATION_STATUSES}", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)  # the theme alone may take 255 characters
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Not before this: a backoff after a failed try, or the lease of the run sending it (none: now).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @classmethod
    def of(cls, notice, user_id: int, training_id: int) -> Notification:
        """A row for a notice (anything with kind, subject and body: service.notices.Notice)."""
        return cls(user_id=user_id, training_id=training_id, kind=notice.kind, subject=notice.subject, body=notice.body)
