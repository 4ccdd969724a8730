"""What we send Zoom, built from LMS values (pure).

- The Zoom topic is the theme cut to Zoom's 200 characters; the LMS keeps the full theme.
- Start times go in UTC with a trailing `Z`, the IANA time zone beside them.
- Meetings are scheduled (type 2), webinars type 5: never a PMI, never recurring.
- Registration is on with automatic approval, so registrants can be synced.
- The description never syncs: no `agenda`, ever.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rules.time_formats import zoom_utc

TOPIC_MAX = 200
ZOOM_TYPE = {"meeting": 2, "webinar": 5}
# The fields of a training that go to Zoom, by their Zoom names: the topic when the meeting is created
# (after that the title is edited only in Zoom), the schedule whenever the LMS changes it.
PUSHED_FIELDS = ("topic", "start_time", "duration", "timezone")
SCHEDULE_FIELDS = ("start_time", "duration", "timezone")


def topic_of(theme: str) -> str:
    return theme[:TOPIC_MAX]


def zoom_values(theme: str, start_time: datetime, duration: int, timezone: str) -> dict[str, Any]:
    """A training's values as Zoom spells them: what Zoom should hold."""
    return {"topic": topic_of(theme), "start_time": zoom_utc(start_time), "duration": duration, "timezone": timezone}


def create_body(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {"approval_type": 0, "registrants_email_notification": False}
    if kind == "meeting":
        settings.update(registration_type=1, use_pmi=False)
    return {**{name: values[name] for name in PUSHED_FIELDS}, "type": ZOOM_TYPE[kind], "settings": settings}


def update_body(wanted: dict[str, Any], confirmed: dict[str, Any], edited: set[str] | None = None) -> dict[str, Any]:
    """Only the schedule fields the LMS edited, and only where Zoom holds something else.

    A blind overwrite would undo edits made in Zoom. A start time goes with its
    time zone, so Zoom reads it the way we mean it.
    """
    names = [name for name in SCHEDULE_FIELDS if edited is None or name in edited]
    body = {name: wanted[name] for name in names if wanted.get(name) != confirmed.get(name)}
    if "start_time" in body:
        body["timezone"] = wanted["timezone"]
    return body


def registrant_body(email: str, name: str) -> dict[str, str]:
    """Zoom requires a first name: the name's first word, else the address's local part."""
    first, _, last = (name or "").strip().partition(" ")
    if not first:
        first = email.split("@", 1)[0]
    return {"email": email, "first_name": first[:64], "last_name": last.strip()[:64]}
