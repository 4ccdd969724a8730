"""The LMS side: academies, users, trainings and their registrants."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy.orm import Mapped, attributes, mapped_column, relationship

from models.base import Base, BigId, UTCDateTime, utcnow

if TYPE_CHECKING:
    from models.report import ReportPull

MEETING_TYPES = ("meeting", "webinar")
# When a connected academy's trainings get their Zoom meeting: when saved (iSpring) or when initiated (UltiPro).
CREATE_MODES = ("on_save", "on_initiate")
TRAINING_STATUSES = ("not_started", "started", "completed", "cancelled")
THEME_MAX_LENGTH = 255


class Academy(Base):
    __tablename__ = "academies"
    __table_args__ = (CheckConstraint(f"create_zoom_meetings IN {CREATE_MODES}", name="create_zoom_meetings"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    create_zoom_meetings: Mapped[str] = mapped_column(
        String(16), default=CREATE_MODES[0], server_default=CREATE_MODES[0]
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Role(Base):
    """A custom role of the LMS: a name and what it grants (the built-in roles live in service.lms_rules)."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    permissions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))  # none: the user cannot register for live sessions
    name: Mapped[str] = mapped_column(String(255), default="")
    zoom_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A built-in role's name, or a custom Role's.
    role: Mapped[str] = mapped_column(String(64), default="learner", server_default="learner")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Case-insensitive uniqueness: "Ann@x.org" and "ann@x.org" are one person.
Index("uq_users_email_lower", func.lower(User.email), unique=True)


class Training(Base):
    __tablename__ = "trainings"
    __table_args__ = (
        CheckConstraint(f"meeting_type IN {MEETING_TYPES}", name="meeting_type"),
        CheckConstraint(f"status IN {TRAINING_STATUSES}", name="status"),
        CheckConstraint("duration > 0", name="duration_positive"),
        CheckConstraint("min_attendance_percent BETWEEN 1 AND 100", name="min_attendance_percent"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id"), index=True)
    theme: Mapped[str] = mapped_column(String(THEME_MAX_LENGTH))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    duration: Mapped[int] = mapped_column(Integer)  # minutes
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name
    meeting_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="not_started")
    # When the LMS cancelled it or the meeting was deleted in Zoom. The status is derived from this and the
    # meeting's runs (workers/runs.py): a session held stays completed, whatever came first.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    description: Mapped[str | None] = mapped_column(Text)
    max_participants: Mapped[int | None] = mapped_column(Integer)
    # iSpring's Completion tab: the share of the scheduled duration a registrant must attend; none: any time.
    min_attendance_percent: Mapped[int | None] = mapped_column(Integer)
    initiated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # UltiPro's "Initiate event"
    zoom_meeting_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    zoom_uuid: Mapped[str | None] = mapped_column(String(128))
    sync_issue: Mapped[str | None] = mapped_column(Text)
    actual_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actual_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # field name -> [epoch ms, tiebreak]: when each two-way field last changed, and by what.
    field_stamps: Mapped[dict] = mapped_column(JSON, default=dict)
    # Outbound sync. None: nothing to push (no connected account, or a meeting linked by hand);
    # pending: an edit waits for Zoom; synced: Zoom confirmed; error: Zoom refused (zoom_sync_error says why).
    zoom_sync_state: Mapped[str | None] = mapped_column(String(16))
    zoom_sync_error: Mapped[str | None] = mapped_column(Text)
    zoom_join_url: Mapped[str | None] = mapped_column(Text)
    zoom_host_id: Mapped[str | None] = mapped_column(String(64))
    # Zoom field -> [value, stamp]: what Zoom holds, as far as we know; a push sends only what differs.
    zoom_confirmed: Mapped[dict] = mapped_column(JSON, default=dict)
    # Bumped whenever what a calendar shows changes (CALENDAR_FIELDS): the feed's SEQUENCE.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    registrants: Mapped[list[Registrant]] = relationship(back_populates="training")
    report_pull: Mapped[ReportPull | None] = relationship(viewonly=True, lazy="selectin")


CALENDAR_FIELDS = ("theme", "start_time", "duration", "timezone", "status", "zoom_join_url", "organizer_id")


@event.listens_for(Training, "before_update")
def _bump_revision(_mapper, _connection, training: Training) -> None:
    """Whoever changes the training (the API, a reconcile job, a push), its calendar revision follows."""
    if any(attributes.get_history(training, name).has_changes() for name in CALENDAR_FIELDS):
        training.revision = Training.revision + 1  # in SQL: concurrent changes each count


class Registrant(Base):
    __tablename__ = "registrants"
    __table_args__ = (UniqueConstraint("training_id", "user_id", name="uq_registrants_training_user"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Set once the registrant exists in Zoom (outbound sync); matches participant events.
    zoom_registrant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    zoom_join_url: Mapped[str | None] = mapped_column(Text)  # the personal link: no passcode asked
    zoom_sync_state: Mapped[str | None] = mapped_column(String(16))  # as Training.zoom_sync_state
    zoom_sync_error: Mapped[str | None] = mapped_column(Text)
    # Removed from the training in the LMS: kept until Zoom cancelled the registration, then for history.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    training: Mapped[Training] = relationship(back_populates="registrants")
    user: Mapped[User] = relationship()
