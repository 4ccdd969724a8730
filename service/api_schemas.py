"""Marshmallow schemas of the LMS API: what a request may contain, and how answers look."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates

from models import MEETING_TYPES, THEME_MAX_LENGTH
from rules.time_formats import iso8601_z
from service.event_schemas import EARLIEST_TIME, LATEST_TIME, MAX_MEETING_NUMBER
from service.lms_rules import CREATE_MODES, CREATE_ON_SAVE, DEFAULT_ROLE, PERMISSIONS
from workers.field_rules import is_iana_timezone

MAX_ID = 2**63 - 1  # the largest id (BIGINT) a row can have: larger ones are refused before a query overflows
ID = validate.Range(min=1, max=MAX_ID)
MAX_DURATION = 25 * 60  # minutes: a session ends by midnight of its start day, and no day is longer than 25 hours
MAX_PARTICIPANTS = 2**31 - 1  # what the column (INTEGER) holds


class AwareDateTime(fields.DateTime):
    """ISO 8601 that must carry an offset: a bare local time is ambiguous."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise ValidationError("Must include a UTC offset, e.g. 2026-12-01T09:00:00+01:00.")
        try:
            moment = parsed.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before the first datetime
            moment = None
        # Nearer datetime's ends, the first arithmetic (the session's end, a local midnight) would overflow.
        if moment is None or not EARLIEST_TIME <= moment < LATEST_TIME:
            raise ValidationError(f"Must lie between {EARLIEST_TIME.date()} and {LATEST_TIME.date()} (UTC).")
        return moment


def _storable(value: object) -> bool:
    """Whether every string in `value` can be stored: PostgreSQL refuses NUL, UTF-8 a lone surrogate."""
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


class _Strict(Schema):
    class Meta:
        unknown = RAISE

    @pre_load
    def _only_storable_text(self, data: dict, **kwargs) -> dict:
        """Refused as invalid here, such text would otherwise fail the database write with a 500."""
        bad = {
            name: ["Must not contain NUL or unpaired surrogate characters."]
            for name, v in data.items()
            if not _storable(v)
        }
        if bad:
            raise ValidationError(bad)
        return data


class AcademyIn(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    # When a connected academy's trainings get their Zoom meeting: at save (iSpring) or at initiation (UltiPro).
    create_zoom_meetings = fields.String(load_default=CREATE_ON_SAVE, validate=validate.OneOf(CREATE_MODES))


def academy_out(academy) -> dict:
    return {"id": academy.id, "name": academy.name, "create_zoom_meetings": academy.create_zoom_meetings}


class UserIn(_Strict):
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=320))
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    zoom_user_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    role = fields.String(load_default=DEFAULT_ROLE, validate=validate.Length(min=1, max=64))


class RoleIn(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    permissions = fields.List(fields.String(validate=validate.OneOf(PERMISSIONS)), required=True)


def user_out(user) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "zoom_user_id": user.zoom_user_id, "role": user.role}


class TrainingIn(_Strict):
    academy_id = fields.Integer(required=True, strict=True, validate=ID)
    theme = fields.String(required=True, validate=validate.Length(min=1, max=THEME_MAX_LENGTH))
    start_time = AwareDateTime(required=True)
    duration = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_DURATION))
    timezone = fields.String(required=True)
    meeting_type = fields.String(required=True, validate=validate.OneOf(MEETING_TYPES))
    organizer_id = fields.Integer(load_default=None, allow_none=True, strict=True, validate=ID)  # none: the creator
    description = fields.String(load_default=None, allow_none=True)
    max_participants = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_PARTICIPANTS)
    )
    min_attendance_percent = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=100)
    )
    zoom_meeting_id = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_MEETING_NUMBER)
    )

    @validates("timezone")
    def _iana(self, value: str, **kwargs) -> None:
        if not is_iana_timezone(value):
            raise ValidationError("Not a known IANA time zone.")

    @validates("theme")
    def _not_blank(self, value: str, **kwargs) -> None:
        if not value.strip():
            raise ValidationError("Must not be blank.")


# Zoom's account ids and app credentials are printable ASCII; others could not even go into the Basic auth header.
CREDENTIAL = validate.Regexp(r"^[!-~]+$", error="Must be printable ASCII without spaces.")


class ServerToServerIn(_Strict):
    kind = fields.String(required=True, validate=validate.Equal("server_to_server"))
    account_id = fields.String(required=True, validate=[validate.Length(min=1, max=64), CREDENTIAL])
    client_id = fields.String(required=True, validate=[validate.Length(min=1, max=128), CREDENTIAL])
    client_secret = fields.String(required=True, validate=[validate.Length(min=1, max=256), CREDENTIAL])


def connection_out(view: dict) -> dict:
    return {k: iso8601_z(v) if isinstance(v, datetime) else v for k, v in view.items()}


def training_patch_schema() -> TrainingIn:
    """What PATCH may change: schedule, description, places, completion rule, organizer (theme, type: see service)."""
    return TrainingIn(partial=True, exclude=("academy_id", "zoom_meeting_id"))


class GuestAssignmentIn(_Strict):
    guest = fields.String(required=True, validate=validate.Length(min=1, max=400))
    user_id = fields.Integer(required=True, strict=True, validate=ID)


class RegistrantIn(_Strict):
    user_id = fields.Integer(required=True, strict=True, validate=ID)


def notification_out(notification) -> dict:
    return {
        "id": notification.id,
        "training_id": notification.training_id,
        "kind": notification.kind,
        "subject": notification.subject,
        "body": notification.body,
        "status": notification.status,
        "attempts": notification.attempts,
        "last_error": notification.last_error,
        "next_attempt_at": iso8601_z(notification.next_attempt_at),
        "created_at": iso8601_z(notification.created_at),
        "sent_at": iso8601_z(notification.sent_at),
    }


def training_out(training) -> dict:
    return {
        "id": training.id,
        "academy_id": training.academy_id,
        "theme": training.theme,
        "start_time": iso8601_z(training.start_time),
        "duration": training.duration,
        "timezone": training.timezone,
        "meeting_type": training.meeting_type,
        "status": training.status,
        "organizer_id": training.organizer_id,
        "description": training.description,
        "max_participants": training.max_participants,
        "min_attendance_percent": training.min_attendance_percent,
        "initiated_at": iso8601_z(training.initiated_at),
        "actual_start": iso8601_z(training.actual_start),
        "actual_end": iso8601_z(training.actual_end),
        "zoom": {
            "meeting_id": training.zoom_meeting_id,
            "uuid": training.zoom_uuid,
            "join_url": training.zoom_join_url,
            "host_id": training.zoom_host_id,
            "sync_state": training.zoom_sync_state,
            "sync_error": training.zoom_sync_error,
            "sync_issue": training.sync_issue,
            "report": _report_out(training.report_pull),
        },
    }


def _report_out(pull) -> dict | None:
    """Where the reading of Zoom's participant report stands (None before the meeting ended)."""
    if pull is None:
        return None
    return {
        "status": pull.status,
        "attempts": pull.attempts,
        "next_attempt_at": iso8601_z(pull.next_attempt_at),
        "last_error": pull.last_error,
        "instances": pull.instances,
        "rows": pull.rows,
        "completed_at": iso8601_z(pull.completed_at),
    }


def attendance_item_out(item: dict) -> dict:
    return {
        **item,
        "first_join_time": iso8601_z(item["first_join_time"]),
        "last_leave_time": iso8601_z(item["last_leave_time"]),
        **{name: _intervals_out(item[name]) for name in ("intervals", "waiting_intervals", "breakout_intervals")},
    }


def _intervals_out(intervals: list[dict]) -> list[dict]:
    return [{"join_time": iso8601_z(i["join_time"]), "leave_time": iso8601_z(i["leave_time"])} for i in intervals]
