"""What Zoom told us about who was in a meeting, and the attendance derived from it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime


class MeetingInstance(Base):
    """One run of a meeting (Zoom gives each run its own uuid)."""

    __tablename__ = "meeting_instances"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(BigInteger, index=True)
    uuid: Mapped[str] = mapped_column(String(128), unique=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ParticipantEvent(Base):
    """A join or leave exactly as reported; stored once however often Zoom sends it."""

    __tablename__ = "participant_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fact_key: Mapped[str] = mapped_column(String(64), unique=True)
    meeting_id: Mapped[int] = mapped_column(BigInteger, index=True)
    meeting_uuid: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))  # "join" | "leave"
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Zoom's participant user_id: one join session (a new one on every re-join).
    session_id: Mapped[str] = mapped_column(String(64), default="")
    participant_uuid: Mapped[str] = mapped_column(String(128), default="")
    participant_user_id: Mapped[str] = mapped_column(String(64), default="")
    registrant_id: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    name: Mapped[str] = mapped_column(String(255), default="")


class Attendance(Base):
    """Attended time of one person in one training: the union of their intervals."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("training_id", "identity_key", name="uq_attendance_training_identity"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    # "user:<id>" for a matched LMS user, "guest:<key>" for anyone else.
    identity_key: Mapped[str] = mapped_column(String(400))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    first_join_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_leave_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attended_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    # [[join iso, leave iso or null], ...] after union: what the time line shows.
    intervals: Mapped[list] = mapped_column(JSON, default=list)


class AttendanceAssignment(Base):
    """An admin's word that a guest of a training's meeting is this LMS user (Zoom gave nothing to match by)."""

    __tablename__ = "attendance_assignments"
    __table_args__ = (UniqueConstraint("training_id", "identity_key", name="uq_attendance_assignments_training_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    identity_key: Mapped[str] = mapped_column(String(400))  # the guest's key, as the attendance report shows it
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
