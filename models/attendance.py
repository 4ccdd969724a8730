"""What Zoom told us about who was in a meeting, and the attendance derived from it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from models.base import Base, BigId, UTCDateTime


class MeetingInstance(Base):
    """One run of a meeting (Zoom gives each run its own uuid)."""

    __tablename__ = "meeting_instances"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(BigInteger, index=True)
    uuid: Mapped[str] = mapped_column(String(128), unique=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # webinar.ended said practice_session: the panelists' rehearsal, not the session.
    practice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ParticipantEvent(Base):
    """A participant event exactly as reported; stored once however often Zoom sends it.

    `kind` is one of workers.presence.KINDS: a join or leave of the meeting (or,
    with `room_uuid`, of a breakout room), a waiting-room move, or a phone bind.
    """

    __tablename__ = "participant_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fact_key: Mapped[str] = mapped_column(String(64), unique=True)
    meeting_id: Mapped[int] = mapped_column(BigInteger, index=True)
    meeting_uuid: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Zoom's participant user_id: one join session (a new one on every re-join).
    session_id: Mapped[str] = mapped_column(String(64), default="")
    participant_uuid: Mapped[str] = mapped_column(String(128), default="")
    participant_user_id: Mapped[str] = mapped_column(String(64), default="")
    registrant_id: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    name: Mapped[str] = mapped_column(String(255), default="")
    room_uuid: Mapped[str] = mapped_column(String(128), default="", server_default="")  # breakout_room_uuid
    # The session Zoom says this one belongs to: a room's parent_user_id, a phone's bind_user_id.
    link_session_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    link_participant_uuid: Mapped[str] = mapped_column(String(128), default="", server_default="")


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
    # Time in the waiting room that was not also presence: shown beside the attendance, never counted.
    waiting_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    waiting_intervals: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # Breakout-room stints, a part of `intervals`.
    room_intervals: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")


class AttendanceAssignment(Base):
    """An admin's word that a guest of a training's meeting is this LMS user (Zoom gave nothing to match by)."""

    __tablename__ = "attendance_assignments"
    __table_args__ = (UniqueConstraint("training_id", "identity_key", name="uq_attendance_assignments_training_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    identity_key: Mapped[str] = mapped_column(String(400))  # the guest's key, as the attendance report shows it
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
