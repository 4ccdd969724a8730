"""What intake needs from a verified body, read without ever refusing it (pure).

A verified event is kept whatever its fields hold; anything odd inside is for the
worker to judge, where it ends `failed` with a reason. Only a body that is not a
JSON object with `event` and `payload`, or is nested deeper than MAX_NESTING, is refused (400).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from service.event_schemas import as_meeting_number, storable_text

# The events this service acts on; anything else is stored as `ignored`.
MEETING_EVENTS = frozenset(
    f"{kind}.{action}"
    for kind in ("meeting", "webinar")
    for action in (
        "updated",
        "started",
        "ended",
        "deleted",
        "participant_joined",
        "participant_left",
        "participant_bind",
    )
) | frozenset(
    # Zoom documents waiting and breakout rooms for meetings only (ZoomMeetingEventsSpec.json).
    f"meeting.participant_{action}"
    for action in (
        "joined_waiting_room",
        "admitted",
        "left_waiting_room",
        "put_in_waiting_room",
        "joined_breakout_room",
        "left_breakout_room",
    )
)
URL_VALIDATION = "endpoint.url_validation"
# Events about an account, not a meeting: handled by a job of their own (workers/account_events.py).
ACCOUNT_EVENTS = frozenset({"app_deauthorized"})
# Zoom's bodies nest a few levels. Deeper ones are refused before anything recurses over them (the
# dedupe key, the worker's parse, the admin's pretty-print): Python's recursion limit is shared with
# the call stack, so without a limit of our own a body that parses here fails one frame further in.
MAX_NESTING = 64


class MalformedBody(Exception):
    """The body cannot be an event; the message is safe to return."""


@dataclass(frozen=True)
class Envelope:
    body: dict[str, Any]
    event_type: str
    event_ts: int | None
    account_id: str | None
    meeting_id: int | None
    meeting_uuid: str | None
    participant_uuid: str | None

    @property
    def handled(self) -> bool:
        """A meeting event: reconciled with the others of its meeting."""
        return self.event_type in MEETING_EVENTS

    @property
    def account_event(self) -> bool:
        return self.event_type in ACCOUNT_EVENTS


def _short_text(value: Any, limit: int) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = storable_text(str(value))
        return text[:limit] if text else None
    return None


def _nesting(value: Any) -> int:
    """How many containers deep `value` goes, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            break
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def read_envelope(raw_body: bytes) -> Envelope:
    try:
        # Strict UTF-8 (json.loads on bytes would also take UTF-16 and encoded surrogates).
        body = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedBody("body is not valid JSON (UTF-8)") from exc
    if not isinstance(body, dict):
        raise MalformedBody("body is not a JSON object")
    if _nesting(body) > MAX_NESTING:
        raise MalformedBody(f"body is nested deeper than {MAX_NESTING} levels")
    event_type = body.get("event")
    payload = body.get("payload")
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        raise MalformedBody("body must have a string `event` and an object `payload`")
    obj = payload.get("object") if isinstance(payload.get("object"), dict) else {}
    participant = obj.get("participant") if isinstance(obj.get("participant"), dict) else {}
    event_ts = body.get("event_ts")
    return Envelope(
        body=body,
        event_type=storable_text(event_type)[:128],
        event_ts=event_ts
        if isinstance(event_ts, int) and not isinstance(event_ts, bool) and 0 <= event_ts < 2**63
        else None,
        account_id=_short_text(payload.get("account_id"), 64),
        meeting_id=as_meeting_number(obj.get("id")),
        meeting_uuid=_short_text(obj.get("uuid"), 128),
        participant_uuid=_short_text(participant.get("participant_uuid"), 128),
    )
