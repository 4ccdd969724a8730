"""The webhook inbox: every verified Zoom delivery, kept before we answer Zoom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow


class InboxEvent(Base):
    __tablename__ = "inbox_events"
    __table_args__ = (
        Index("ix_inbox_events_meeting_status", "meeting_id", "status"),
        Index("ix_inbox_events_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # sha256 of the body's canonical JSON: a redelivery finds its first copy here.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(128), index=True)
    event_ts: Mapped[int | None] = mapped_column(BigInteger)  # ms, as Zoom sends it
    account_id: Mapped[str | None] = mapped_column(String(64))
    meeting_id: Mapped[int | None] = mapped_column(BigInteger)
    meeting_uuid: Mapped[str | None] = mapped_column(String(128))
    participant_uuid: Mapped[str | None] = mapped_column(String(128))
    raw_body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    # pending -> processed | failed; ignored (a type we do not act on); unmatched (no training links it yet)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After a failed attempt: when the retry is due (the sweeper leaves it to RQ's retry until then).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboxAttempt(Base):
    """One failed try at applying an event, with its error: the admin's history of that event.

    Successes are not rows (an event's `processed_at` says when): a 10,000-person
    webinar must not double its writes.
    """

    __tablename__ = "inbox_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inbox_events.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)  # 1 for the first try
    error: Mapped[str] = mapped_column(Text)
    final: Mapped[bool] = mapped_column(Boolean, default=False)  # the event was marked failed by this try
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
