"""Webhook bodies checked against Zoom's events description, ZoomMeetingEventsSpec.json, read where it lies.

The file is Zoom's (../shared/zoom, or ZOOM_SHARED_DIR): read from there, never copied. Without it
`problems` skips the calling test, with the path in the reason.

The deviations the simulator makes on purpose, and nothing else, are let through:
- `registrant_id: null` on `*.participant_joined` for someone who did not register (real captures
  show it; the schema says string);
- `join_time` on `meeting.participant_bind`: the schema requires it but does not list it among the
  participant's properties (which admit no others), so no body can satisfy both; Zoom's example has it;
- a webinar's own `type` (5, 6, 9) on `webinar.participant_bind`, whose schema copies the meetings'
  list of types.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from zoomsim.config import default_spec_dir

URI = "urn:zoom:meeting-events-spec"
SPEC = default_spec_dir().resolve() / "ZoomMeetingEventsSpec.json"


@functools.cache
def _registry() -> Registry | None:
    if not SPEC.is_file():
        return None
    # a few of Zoom's `$ref`s point at `#/paths/...` although the events live under `#/webhooks/`
    text = SPEC.read_text(encoding="utf-8").replace('"#/paths/', '"#/webhooks/')
    return Registry().with_resource(URI, Resource.from_contents(json.loads(text), default_specification=DRAFT202012))


def _validator(event: str) -> Draft202012Validator:
    registry = _registry()
    if registry is None:
        pytest.skip(f"Zoom's events description not found at {SPEC} (set ZOOM_SHARED_DIR)")
    pointer = f"{URI}#/webhooks/{event}/post/requestBody/content/application~1json/schema"
    return Draft202012Validator({"$ref": pointer}, registry=registry)


def _deliberate(event: str, error: Any) -> bool:
    path = tuple(error.absolute_path)
    if event.endswith(".participant_joined") and path == ("payload", "object", "participant", "registrant_id"):
        return error.instance is None and error.validator == "type"
    if event == "meeting.participant_bind" and path == ("payload", "object", "participant"):
        return error.validator == "additionalProperties" and set(error.instance) - _bind_listed() == {"join_time"}
    if event == "webinar.participant_bind" and path == ("payload", "object", "type"):
        return error.validator == "enum" and error.instance in (5, 6, 9)
    return False


@functools.cache
def _bind_listed() -> frozenset[str]:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    schema = spec["webhooks"]["meeting.participant_bind"]["post"]["requestBody"]["content"]["application/json"]
    participant = schema["schema"]["properties"]["payload"]["properties"]["object"]["properties"]["participant"]
    return frozenset(participant["properties"])


def problems(bodies: list[dict[str, Any]]) -> list[str]:
    """Every mismatch between the bodies and their event's schema, but the deliberate ones."""
    found = []
    for body in bodies:
        for error in _validator(body["event"]).iter_errors(body):
            if not _deliberate(body["event"], error):
                where = ".".join(map(str, error.absolute_path)) or "(body)"
                found.append(f"{body['event']} {where}: {error.message}")
    return found
