"""Marshmallow schemas for Zoom webhook bodies, tolerant of what real deliveries look like.

Real payloads vary: meeting ids arrive as numbers or strings, `registrant_id` is
null or "", `timezone` may be "", old participant payloads carry `date_time`
instead of `join_time`/`leave_time`, and new fields appear all the time. Unknown
fields are ignored; a value of the wrong kind is a ValidationError naming the field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load
from marshmallow.validate import Length, Range

MAX_MEETING_NUMBER = 2**63 - 1
# Zoom's times and durations lie far inside what datetime holds. Nearer its ends they are malformed:
# the first arithmetic on them would overflow (a report pull due after a meeting "ended" in 9999, a
# calendar's end of a meeting starting in 9998 and lasting a year, a time zone's offset of either).
EARLIEST_TIME = datetime(2, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9998, 1, 1, tzinfo=UTC)
LATEST_MS = int(LATEST_TIME.timestamp() * 1000)  # event_ts and time_stamp are ms since 1970
MAX_DURATION_MINUTES = 365 * 24 * 60  # and well inside a training's INTEGER column
UUID_MAX_LENGTH = 128  # the meeting_instances and participant_events columns


def as_meeting_number(value: Any) -> int | None:
    """A Zoom meeting number from an int or a digit string; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 19:
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= MAX_MEETING_NUMBER else None


# A lone surrogate: valid as a JSON escape ("\ud800"), but no database driver can encode it as UTF-8.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """Text every backend can hold: NUL removed (PostgreSQL text cannot hold it), lone surrogates as U+FFFD.

    A signed event carrying either must still be stored, not answered 500 or 503 forever.
    """
    return _LONE_SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def as_text(value: Any) -> str:
    """Identifier-ish text: numbers become their digits, null becomes ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValidationError("Not a valid string.")
    if isinstance(value, (int, str)):
        return storable_text(str(value))
    raise ValidationError("Not a valid string.")


def as_zoom_time(value: Any) -> datetime | None:
    """Zoom's `yyyy-MM-ddTHH:mm:ssZ`; a time without an offset is taken as UTC; "" is no time."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError("Not a valid datetime.")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # 0001-01-01T00:00:00+01:00 overflows
        raise ValidationError("Not a valid datetime.") from exc


class MeetingNumber(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        number = as_meeting_number(value)
        if number is None:
            raise ValidationError("Not a Zoom meeting number.")
        return number


class Text(fields.Field):
    """Identifier text; null is accepted and read as "" (marshmallow would refuse it before _deserialize)."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        return super().deserialize("" if value is None else value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return as_text(value)


class CleanString(fields.String):
    """A real string (a number is an error here), made storable (storable_text)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return storable_text(super()._deserialize(value, attr, data, **kwargs))


class ZoomTime(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        moment = as_zoom_time(value)
        if moment is not None and not EARLIEST_TIME <= moment < LATEST_TIME:
            raise ValidationError("Not a time Zoom could have meant.")
        return moment


class Milliseconds(fields.Integer):
    """Epoch ms, optional; out of range they would overflow BIGINT columns and datetime further on."""

    def __init__(self):
        super().__init__(load_default=None, allow_none=True, strict=False, validate=Range(0, LATEST_MS))


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class ParticipantSchema(_Lenient):
    user_id = Text(load_default="")
    user_name = Text(load_default="")
    id = Text(load_default="")
    participant_uuid = Text(load_default="")
    participant_user_id = Text(load_default="")
    email = Text(load_default="")
    registrant_id = Text(load_default="", allow_none=True)
    parent_user_id = Text(load_default="")  # breakout rooms: the main-room session
    bind_user_id = Text(load_default="")  # participant_bind: the attendee's session a phone joins
    bind_participant_uuid = Text(load_default="")
    leave_reason = Text(load_default="")
    join_time = ZoomTime(load_default=None, allow_none=True)
    leave_time = ZoomTime(load_default=None, allow_none=True)
    date_time = ZoomTime(load_default=None, allow_none=True)

    @post_load
    def _normalise(self, data: dict, **kwargs) -> dict:
        data["registrant_id"] = data.get("registrant_id") or ""
        data["email"] = data["email"].strip()
        return data


class MeetingObjectSchema(_Lenient):
    """`payload.object`; in `*.updated` it holds only `id` and the fields that changed."""

    id = MeetingNumber(required=True)
    uuid = Text(load_default="", validate=Length(max=UUID_MAX_LENGTH))
    breakout_room_uuid = Text()
    practice_session = fields.Boolean(allow_none=True)  # webinar.ended
    topic = CleanString()
    type = fields.Integer(strict=False)
    start_time = ZoomTime(allow_none=True)
    end_time = ZoomTime(allow_none=True)
    duration = fields.Integer(allow_none=True, strict=False, validate=Range(max=MAX_DURATION_MINUTES))
    timezone = CleanString(allow_none=True)
    settings = fields.Dict(load_default=dict)
    participant = fields.Nested(ParticipantSchema)


class PayloadSchema(_Lenient):
    account_id = Text(load_default="")
    object = fields.Nested(MeetingObjectSchema, required=True)
    old_object = fields.Dict(load_default=dict)
    # ms; set on *.updated: when the change was made in Zoom.
    time_stamp = Milliseconds()


class EventSchema(_Lenient):
    event = fields.String(required=True)
    event_ts = Milliseconds()
    payload = fields.Nested(PayloadSchema, required=True)


EVENT_SCHEMA = EventSchema()


def parse_meeting_event(body: dict[str, Any]) -> dict[str, Any]:
    """Load a meeting or webinar event; raises ValidationError with the field that is wrong."""
    return EVENT_SCHEMA.load(body)
