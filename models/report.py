"""Zoom's participant reports: when to read them, and their rows as Zoom wrote them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from models.base import Base, BigId, UTCDateTime, utcnow

PULL_STATUSES = ("pending", "done", "failed", "skipped")
# A report row's `status` for a stint in the waiting room (the other is "in_meeting"): kept, never counted.
WAITING_ROOM_STATUS = "in_waiting_room"


class ReportPull(Base):
    """The reading of a training's participant report after its meeting ended: one per training.

    Written in the transaction that applied `meeting.ended`; the sweeper queues it
    when due, so a lost job or a restart delays it and loses nothing.
    """

    __tablename__ = "report_pulls"
    __table_args__ = (CheckConstraint(f"status IN {PULL_STATUSES}", name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # tries that found no report yet
    # Bumped by every meeting.ended: a pull that started before may not write over the newer request.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    instances: Mapped[int] = mapped_column(Integer, default=0)  # meeting runs the last read covered
    rows: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportRow(Base):
    """One row of Zoom's report (one join session), kept as Zoom gave it.

    The key is made only of Zoom's data, so reading the report again, or matching
    its rows to users again, never duplicates a row.
    """

    __tablename__ = "report_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    row_key: Mapped[str] = mapped_column(String(64), unique=True)
    meeting_id: Mapped[int] = mapped_column(BigInteger, index=True)
    meeting_uuid: Mapped[str] = mapped_column(String(128))
    session_id: Mapped[str] = mapped_column(String(64), default="")  # Zoom's user_id of the row
    participant_user_id: Mapped[str] = mapped_column(String(64), default="")
    registrant_id: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    name: Mapped[str] = mapped_column(String(255), default="")
    join_time: Mapped[datetime] = mapped_column(UTCDateTime)
    leave_time: Mapped[datetime] = mapped_column(UTCDateTime)
    duration: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(32), default="in_meeting", server_default="in_meeting")
    bo_mtg_id: Mapped[str] = mapped_column(String(128), default="", server_default="")  # a breakout room's
    failover: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
