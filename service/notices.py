"""What an organizer is told, and in which words (pure: no I/O).

iSpring: "the organizer receives a notification about them being assigned as a
Zoom meeting organizer. Also, the organizer will be notified of any changes made
to the training." Times are given in the training's own time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

FIELD_LABELS = {
    "theme": "title",
    "start_time": "start",
    "duration": "duration (minutes)",
    "timezone": "time zone",
    "description": "description",
    "max_participants": "max participants",
    "min_attendance_percent": "minimum attendance (%)",
}


@dataclass(frozen=True)
class Notice:
    kind: str
    subject: str
    body: str


def _when(start: datetime, timezone: str) -> str:
    return f"{start.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M} ({timezone})"


def _shown(name: str, value: Any, timezone: str) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, datetime):
        return _when(value, timezone)
    return str(value)


def assigned(theme: str, start: datetime, duration: int, timezone: str) -> Notice:
    return Notice(
        "assigned",
        f"You organize “{theme}”",
        f"You are now the organizer of the training “{theme}”, on {_when(start, timezone)} for {duration} minutes.\n"
        "Only you can start and end its Zoom meeting.",
    )


def unassigned(theme: str, new_organizer: str) -> Notice:
    return Notice(
        "unassigned",
        f"You no longer organize “{theme}”",
        f"The training “{theme}” is now organized by {new_organizer}.",
    )


def changed(theme: str, timezone: str, changes: dict[str, tuple[Any, Any]], where: str = "") -> Notice:
    """`changes`: field -> (before, after), in the order they should be listed; `where`: e.g. "in Zoom"."""
    lines = [
        f"- {FIELD_LABELS.get(name, name)}: {_shown(name, before, timezone)} → {_shown(name, after, timezone)}"
        for name, (before, after) in changes.items()
    ]
    how = f"was changed {where}".rstrip()
    return Notice("changed", f"“{theme}” {how}", f"The training “{theme}” {how}:\n" + "\n".join(lines))


def cancelled(theme: str, start: datetime, timezone: str, in_zoom: bool = False) -> Notice:
    """Cancelled in the LMS (its Zoom meeting goes too), or in Zoom (the meeting was deleted there)."""
    what = "its Zoom meeting was deleted in Zoom" if in_zoom else "its Zoom meeting is deleted"
    return Notice(
        "cancelled",
        f"“{theme}” was cancelled",
        f"The training “{theme}” on {_when(start, timezone)} was cancelled; {what}.",
    )
