"""An academy's connection to a Zoom account: how we act in Zoom on its behalf."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, Select, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow

CONNECTION_KINDS = ("oauth", "server_to_server")
CONNECTION_STATUSES = ("connected", "error", "disconnected")


class ZoomConnection(Base):
    __tablename__ = "zoom_connections"
    __table_args__ = (
        CheckConstraint(f"kind IN {CONNECTION_KINDS}", name="kind"),
        CheckConstraint(f"status IN {CONNECTION_STATUSES}", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    academy_id: Mapped[int] = mapped_column(ForeignKey("academies.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    # connected; error (a call keeps failing, e.g. Zoom refused the refresh token); disconnected
    status: Mapped[str] = mapped_column(String(16), default="connected")
    account_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # The Zoom user who authorized (OAuth), or whom the account's calls read as (Server-to-Server).
    zoom_user_id: Mapped[str | None] = mapped_column(String(64))
    zoom_user_email: Mapped[str | None] = mapped_column(String(320))
    # Server-to-Server apps bring their own credentials; OAuth uses the service's app.
    client_id: Mapped[str | None] = mapped_column(String(128))
    client_secret_sealed: Mapped[str | None] = mapped_column(Text)
    # Sealed with TOKEN_ENCRYPTION_KEY (service/token_box.py); never stored in the clear.
    access_token_sealed: Mapped[str | None] = mapped_column(Text)
    refresh_token_sealed: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on every new token: a worker that waited for another's refresh sees it changed.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    scopes: Mapped[str] = mapped_column(Text, default="")
    user_type: Mapped[int | None] = mapped_column(Integer)  # Zoom's 1 Basic, 2 Licensed
    meeting_capacity: Mapped[int | None] = mapped_column(Integer)
    webinar_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    webinar_capacity: Mapped[int | None] = mapped_column(Integer)
    rate_plan: Mapped[str] = mapped_column(String(16), default="pro")  # whose limits the limiter keeps
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @classmethod
    def in_use(cls, academy_id: int) -> Select:
        """The academy's connection unless it was disconnected (a broken one still queues work)."""
        return select(cls).where(cls.academy_id == academy_id, cls.status != "disconnected")
