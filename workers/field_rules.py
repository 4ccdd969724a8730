"""Which Zoom changes reach a training, and which win (pure).

Rules from the LMS products we follow:
- the title is edited only in Zoom: `topic` always flows to the training's theme;
- date, time, duration and time zone sync both ways: the newest change wins, by
  the time it was made (Zoom's `time_stamp`, or the LMS edit time), so an older
  event delivered late never overwrites newer data;
- the description (`agenda`) never syncs;
- recurring meetings, PMIs and meeting<->webinar conversion are not supported:
  such a change is reported as a sync issue and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RECURRING_TYPES = frozenset({3, 8, 6, 9})
PMI_TYPES = frozenset({4})
MEETING_TYPE_CODES = frozenset({1, 2, 3, 4, 8})
WEBINAR_TYPE_CODES = frozenset({5, 6, 9})

# Zoom field -> training attribute, for the fields that flow from Zoom.
ZOOM_TO_TRAINING = {
    "topic": "theme",
    "start_time": "start_time",
    "duration": "duration",
    "timezone": "timezone",
}

TRAINING_TO_ZOOM = {attribute: name for name, attribute in ZOOM_TO_TRAINING.items()}

# A change is ranked by (time in epoch ms, tiebreak): equal times resolve the same
# way whatever the arrival order.
Stamp = tuple[int, str]


def newer(candidate: Stamp, current: Stamp | list | None) -> bool:
    return current is None or tuple(candidate) > tuple(current)


def unsupported_change(event_kind: str, training_type: str, changed: dict[str, Any]) -> str | None:
    """Why this Zoom change cannot be synced, or None when it can."""
    if event_kind != training_type:
        return (
            f"Zoom sent a {event_kind} event for a {training_type}: "
            "converting between meeting and webinar is not supported"
        )
    zoom_type = changed.get("type")
    if zoom_type in RECURRING_TYPES:
        return (
            f"the {training_type} was changed to a recurring type ({zoom_type}) in Zoom: "
            "recurring meetings are not supported"
        )
    if zoom_type in PMI_TYPES or (changed.get("settings") or {}).get("use_pmi") is True:
        return "the meeting was changed to use a Personal Meeting ID in Zoom: PMI meetings are not supported"
    if training_type == "meeting" and zoom_type in WEBINAR_TYPE_CODES:
        return "the meeting was converted to a webinar in Zoom: converting between meeting and webinar is not supported"
    if training_type == "webinar" and zoom_type in MEETING_TYPE_CODES:
        return "the webinar was converted to a meeting in Zoom: converting between meeting and webinar is not supported"
    return None


@dataclass(frozen=True)
class FieldChange:
    attribute: str
    value: Any


def accepted_changes(changed: dict[str, Any], stamp: Stamp, stamps: dict[str, list]) -> list[FieldChange]:
    """The training attributes this update may set: present, valid, and newer than what we have."""
    result = []
    for zoom_field, attribute in ZOOM_TO_TRAINING.items():
        if zoom_field not in changed:
            continue
        value = changed[zoom_field]
        if not _usable(attribute, value):
            continue
        if newer(stamp, stamps.get(attribute)):
            result.append(FieldChange(attribute, value))
    return result


def _usable(attribute: str, value: Any) -> bool:
    if attribute == "theme":
        return isinstance(value, str) and value.strip() != ""
    if attribute == "start_time":
        return isinstance(value, datetime)
    if attribute == "duration":
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    if attribute == "timezone":
        return is_iana_timezone(value)
    return False


def is_iana_timezone(name: Any) -> bool:
    """The one check of a time zone name, for Zoom's values and the LMS API's alike."""
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


STATUS_RANK = {"not_started": 0, "started": 1, "cancelled": 2, "completed": 3}


def later_status(current: str, reported: str) -> str:
    """Statuses only move forward, so late or repeated events cannot move a training back.

    A meeting held and then deleted stays completed: it happened.
    """
    return reported if STATUS_RANK[reported] > STATUS_RANK[current] else current


# --- our own changes coming back ---------------------------------------------------------------

# Zoom stamps an update with its own clock: allow ours to be this far ahead or behind.
CLOCK_SKEW_MS = 5 * 60 * 1000
# An echo arrives within minutes of the push; later, the same value is somebody's edit.
ECHO_WINDOW_MS = 60 * 60 * 1000


def zoom_spelling(value: Any) -> Any:
    """A parsed Zoom value as Zoom writes it, so it compares with what we sent."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def echoes(
    changed: dict[str, Any],
    pushes: list[tuple[int, dict[str, Any]]],
    last_zoom_change_ms: dict[str, int],
    event_ms: int,
) -> set[str]:
    """The fields of a `meeting.updated` that are our own push coming back, and must change nothing.

    A field is an echo when a push sent exactly this value shortly before Zoom's
    time stamp, and Zoom has reported no change of that field since that push
    (otherwise this value is somebody's edit that happens to match). `pushes`
    are (sent at ms, fields as Zoom spells them); written before the call, so an
    echo that beats the push's own bookkeeping back is still recognised.
    """
    found = set()
    for sent_ms, fields in pushes:
        if not sent_ms - CLOCK_SKEW_MS <= event_ms <= sent_ms + ECHO_WINDOW_MS:
            continue
        for name, value in changed.items():
            if name in fields and fields[name] == zoom_spelling(value) and last_zoom_change_ms.get(name, 0) < sent_ms:
                found.add(name)
    return found
