"""What went to Zoom and every change of a synced field, kept for echo recognition and the admin's timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow

CHANGE_SOURCES = ("lms", "zoom")
# applied: it became the training's value; lost: a later edit on the other side won; echo: Zoom repeating our push
CHANGE_OUTCOMES = ("applied", "lost", "echo")


class ZoomPush(Base):
    """One PATCH we sent Zoom, written before the call so its echo is known even if it beats us back."""

    __tablename__ = "zoom_pushes"
    __table_args__ = (Index("ix_zoom_pushes_training_sent", "training_id", "sent_ms"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"))
    fields: Mapped[dict] = mapped_column(JSON, default=dict)  # what we sent, as Zoom spells it
    previous: Mapped[dict] = mapped_column(JSON, default=dict)  # what we believed Zoom held before
    origins: Mapped[dict] = mapped_column(JSON, default=dict)  # when the LMS set each value, epoch ms
    sent_ms: Mapped[int] = mapped_column(BigInteger)


class FieldChange(Base):
    """A change of a two-way field from either side, and what became of it."""

    __tablename__ = "field_changes"
    __table_args__ = (Index("ix_field_changes_training_field", "training_id", "field"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("trainings.id"))
    field: Mapped[str] = mapped_column(String(32))  # the training's attribute
    value: Mapped[dict] = mapped_column(JSON)  # {"v": the value, JSON-spelled}
    source: Mapped[str] = mapped_column(String(8))
    stamp_ms: Mapped[int] = mapped_column(BigInteger)  # when it was made (Zoom's time_stamp, the LMS edit time)
    outcome: Mapped[str] = mapped_column(String(8))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
