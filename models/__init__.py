"""SQLAlchemy models: plain data, no HTTP, no queues."""

from models.attendance import Attendance, AttendanceAssignment, MeetingInstance, ParticipantEvent
from models.base import Base, utcnow
from models.inbox import InboxAttempt, InboxEvent
from models.lms import (
    MEETING_TYPES,
    THEME_MAX_LENGTH,
    TRAINING_STATUSES,
    Academy,
    Registrant,
    Role,
    Training,
    User,
)
from models.notification import NOTIFICATION_KINDS, NOTIFICATION_STATUSES, Notification
from models.outbox import OUTBOX_KINDS, OUTBOX_STATUSES, OutboxItem
from models.report import PULL_STATUSES, ReportPull, ReportRow
from models.sync_log import FieldChange, ZoomPush
from models.zoom import CONNECTION_KINDS, CONNECTION_STATUSES, ZoomConnection

__all__ = [
    "Academy",
    "Attendance",
    "AttendanceAssignment",
    "Base",
    "FieldChange",
    "CONNECTION_KINDS",
    "CONNECTION_STATUSES",
    "InboxAttempt",
    "InboxEvent",
    "MEETING_TYPES",
    "MeetingInstance",
    "NOTIFICATION_KINDS",
    "NOTIFICATION_STATUSES",
    "Notification",
    "OUTBOX_KINDS",
    "OUTBOX_STATUSES",
    "OutboxItem",
    "PULL_STATUSES",
    "ReportPull",
    "ReportRow",
    "ParticipantEvent",
    "Registrant",
    "Role",
    "THEME_MAX_LENGTH",
    "TRAINING_STATUSES",
    "Training",
    "User",
    "ZoomConnection",
    "ZoomPush",
    "utcnow",
]
