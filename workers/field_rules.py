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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.time_formats import zoom_utc

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
# The Zoom fields the LMS pushes after a meeting exists (the title is edited only in Zoom).
SCHEDULE_FIELDS = ("start_time", "duration", "timezone")

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
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a directory, long names
        return False
    return True


def status_from_runs(cancelled: bool, runs: Iterable[tuple[bool, bool]]) -> str:
    """The training's status from whether it was cancelled and its meeting's runs that count, each `(started, ended)`.

    A run that ended held the session (completed), even if the meeting was then
    deleted: it happened. Otherwise a cancellation (in the LMS, or the meeting
    deleted in Zoom) stands; else a run under way started it; without one the
    training has not started, even if a practice session (which never counts) had
    looked like a start. Derived from facts, never from the status before, so the
    order events came in cannot matter.
    """
    runs = list(runs)
    if any(ended for _, ended in runs):
        return "completed"
    if cancelled:
        return "cancelled"
    return "started" if any(started for started, _ in runs) else "not_started"


# --- our own changes coming back ---------------------------------------------------------------

# Zoom stamps an update with its own clock: allow ours to be this far ahead or behind.
CLOCK_SKEW_MS = 5 * 60 * 1000
# An echo arrives within minutes of the push; later, the same value is somebody's edit.
ECHO_WINDOW_MS = 60 * 60 * 1000


def zoom_spelling(value: Any) -> Any:
    """A parsed Zoom value as Zoom writes it, so it compares with what we sent."""
    return zoom_utc(value) if isinstance(value, datetime) else value


@dataclass(frozen=True)
class Push:
    """One PATCH we sent: the values, what we believed Zoom held before, and when each value was edited."""

    sent_ms: int
    fields: dict[str, Any]
    previous: dict[str, Any]
    origins: dict[str, int]


def echoes(
    changed: dict[str, Any],
    old: dict[str, Any],
    pushes: list[Push],
    last_zoom_change_ms: dict[str, int],
    event_ms: int,
) -> dict[str, int]:
    """The fields of a `meeting.updated` that are our own push coming back, with the edit time of each.

    A field is an echo of push P when it carries P's value, Zoom stamped it
    shortly after P was sent, Zoom has reported no change of the field since P,
    and either P is our latest push of the field or the update's `old_object`
    shows what we believed Zoom held before P (the echo of an earlier push that
    arrives after a later one). A value that matches an earlier push but follows
    another value (someone set it back in Zoom) is an edit, not an echo. Pushes
    are recorded before they are sent, so an echo that beats the push's own
    bookkeeping back is still recognised.
    """
    found: dict[str, int] = {}
    recent = sorted(
        (p for p in pushes if p.sent_ms - CLOCK_SKEW_MS <= event_ms <= p.sent_ms + ECHO_WINDOW_MS),
        key=lambda p: p.sent_ms,
        reverse=True,
    )
    for name, value in changed.items():
        spelled = zoom_spelling(value)
        latest = next((p for p in recent if name in p.fields), None)
        for push in recent:
            if push.fields.get(name, object()) != spelled or last_zoom_change_ms.get(name, 0) >= push.sent_ms:
                continue
            if push is latest or (name in old and old[name] == push.previous.get(name)):
                found[name] = push.origins.get(name, push.sent_ms)
                break
    return found


def zoom_behind(
    training: Any, confirmed: dict[str, list], stamps: dict[str, list], names: Iterable[str] = SCHEDULE_FIELDS
) -> dict[str, Any]:
    """Schedule fields (of `names`) where Zoom holds another value than the training, edited before the training's.

    `confirmed[name]` is [value Zoom holds, [when Zoom got it, source], when that value was edited].
    """
    behind = {}
    for name in (n for n in SCHEDULE_FIELDS if n in names):
        attribute = ZOOM_TO_TRAINING[name]
        entry = confirmed.get(name)
        if entry is None:
            continue
        edited = entry[2] if len(entry) > 2 else entry[1][0]
        wanted = zoom_spelling(getattr(training, attribute))
        if wanted != entry[0] and (stamps.get(attribute) or [0])[0] > edited:
            behind[attribute] = wanted
    return behind
