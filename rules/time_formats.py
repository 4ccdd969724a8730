"""How the service writes a UTC moment, one function per format and per consumer that needs it (pure).

Each converts an aware datetime of any zone to UTC first. A naive datetime is read as the machine's local time
(what `datetime.astimezone` does with one): the service never makes one (models.base.UTCDateTime and
models.utcnow are aware), so this only keeps what the formatters always did.

- `zoom_utc`: Zoom's `yyyy-MM-ddTHH:mm:ssZ`, whole seconds, for what we send Zoom and compare with what it sends.
- `ical_utc`: iCalendar's `YYYYMMDDTHHMMSSZ`, whole seconds, for the calendar feed.
- `iso8601_z`: ISO 8601 with a `Z`, microseconds kept when there are any, for every time the LMS API shows.
"""

from __future__ import annotations

from datetime import UTC, datetime


def zoom_utc(moment: datetime) -> str:
    """`yyyy-MM-ddTHH:mm:ssZ` in UTC, microseconds dropped, e.g. `2030-06-01T10:00:30Z`.

    Zoom's REST API reads a `start_time` with the `Z` as GMT (without it, as local time in `timezone`): the
    `start_time` of the request bodies of `POST /users/{userId}/meetings`, `PATCH /meetings/{meetingId}` and
    their webinar twins in ZoomMeetingAPISpec.json. Zoom writes its own times the same way, so what we sent
    and what Zoom echoes back compare as text (workers.field_rules, workers.push).
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ical_utc(moment: datetime) -> str:
    """`YYYYMMDDTHHMMSSZ` in UTC, microseconds dropped, e.g. `20300601T100030Z`.

    RFC 5545's DATE-TIME in UTC form (3.3.5, "FORM #2"): no separators, no fraction of a second. The
    calendar feed (service.ical) writes DTSTART, DTEND, DTSTAMP and LAST-MODIFIED so, and needs no VTIMEZONE.
    """
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def iso8601_z(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z` for `+00:00`, e.g. `2030-06-01T10:00:30Z` (`.123456` kept before the `Z`).

    Every time in the LMS API's answers (service.api_schemas, service.api), which clients parse as ISO 8601;
    None (a time not set) stays None, `null` in JSON.
    """
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
