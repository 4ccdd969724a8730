"""Conformance with Zoom's published documents (signature vectors, example payloads, the events spec).

The documents live outside the project, at ../shared/zoom from the repository root, or wherever
ZOOM_SHARED_DIR points. They are Zoom's, under Zoom's API terms: read them from there, never copy
them into the project. When they are absent every test here is skipped, with the path in the reason.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from marshmallow import ValidationError

from service.envelope import MEETING_EVENTS, read_envelope
from service.event_schemas import parse_meeting_event
from tests.conformance.shared import EVENTS_SPEC, MISSING, PAYLOADS, VECTORS, absent, load_json
from webhook.signature import SignatureError, encrypt_token, sign, verify

HANDLED_EVENTS = sorted(MEETING_EVENTS)
# Zoom's sample app publishes its bodies with `{PLACEHOLDER}` values instead of real ones.
PLACEHOLDER = re.compile(r"^\{[A-Z_]+\}$")


def _vectors(kind: str) -> list:
    if absent() or not VECTORS.is_file():
        return [MISSING]
    vectors = load_json(VECTORS)["vectors"]
    key = "raw_body_utf8" if kind == "signature" else "url_validation_plainToken"
    return [v for v in vectors if key in v] or [MISSING]


def _vector_id(vector) -> str:
    if vector == MISSING:
        return MISSING
    if "raw_body_utf8" in vector:
        event = json.loads(vector["raw_body_utf8"]).get("event", "?")
        return f"{event}@{vector['x-zm-request-timestamp']}"
    return f"token-{vector['url_validation_plainToken']}"


def _payload_files() -> list:
    if absent() or not PAYLOADS.is_dir():
        return [MISSING]
    files = [
        p.name
        for p in sorted(PAYLOADS.glob("*.json"))
        if not p.name.startswith("_") and not p.name.endswith(".response.json")
    ]
    return files or [MISSING]


def _wrong_signature(vector) -> str:
    (key,) = [k for k in vector if "WRONG" in k]
    return vector[key]


def _placeholders(value) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_placeholders(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_placeholders(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) and PLACEHOLDER.match(value) else set()


# The time each handled participant event carries: the field its schema in the events spec requires
# (webinar.participant_left requires none and has only leave_time). test_participant_time_fields_are_the_specs
# holds this table to the spec.
PARTICIPANT_TIME = {
    "participant_joined": "join_time",
    "participant_left": "leave_time",
    "participant_joined_breakout_room": "join_time",
    "participant_left_breakout_room": "leave_time",
    "participant_joined_waiting_room": "date_time",
    "participant_left_waiting_room": "date_time",
    "participant_admitted": "date_time",
    "participant_put_in_waiting_room": "date_time",
    "participant_bind": "join_time",
}
# Zoom's published examples of these (the events spec's, which payloads/<event>.json copies) show `date_time`
# and no `join_time`, although the schema requires `join_time` (payloads/SOURCES.md); real traffic carries
# `join_time`. In those two examples only, `date_time` stands in and the handler must take it.
DATE_TIME_IN_ZOOMS_EXAMPLE = {"meeting.participant_joined", "meeting.participant_joined_breakout_room"}


def _check_participant_times(event_type: str, participant: dict, raw: dict, zooms_example: bool) -> None:
    """`participant` parsed from `raw`: the time its event carries is read, in the one shape the documents give."""
    field = PARTICIPANT_TIME[event_type.split(".", 1)[1]]
    if zooms_example and event_type in DATE_TIME_IN_ZOOMS_EXAMPLE:
        assert field not in raw and "date_time" in raw
        assert participant[field] is None
        assert isinstance(participant["date_time"], datetime)
        assert participant["date_time"].utcoffset().total_seconds() == 0
    else:
        assert field in raw, f"{event_type} without {field}"
        assert isinstance(participant[field], datetime)
        assert participant[field].utcoffset().total_seconds() == 0
    assert isinstance(participant["registrant_id"], str)


# --- (a) signature vectors --------------------------------------------------------------


@pytest.mark.parametrize("vector", _vectors("signature"), ids=_vector_id)
def test_signature_vector(vector):
    secret = vector["secret_token"]
    timestamp = vector["x-zm-request-timestamp"]
    raw = vector["raw_body_utf8"].encode("utf-8")
    expected = vector["expected_x-zm-signature"]
    wrong = _wrong_signature(vector)

    assert sign(secret, timestamp, raw) == expected
    now = int(timestamp)
    verified = verify([secret], timestamp, expected, raw, now=now, max_age=300, max_future=60)
    assert verified.secret == secret
    assert verified.timestamp == now

    # the WRONG value is what hashing a json.dumps re-serialisation gives: it must not verify the raw body
    assert wrong != expected
    reserialised = json.dumps(json.loads(raw)).encode("utf-8")
    assert sign(secret, timestamp, reserialised) == wrong
    with pytest.raises(SignatureError):
        verify([secret], timestamp, wrong, raw, now=now, max_age=300, max_future=60)
    with pytest.raises(SignatureError):
        verify([secret], timestamp, expected, reserialised, now=now, max_age=300, max_future=60)


@pytest.mark.parametrize("vector", _vectors("token"), ids=_vector_id)
def test_url_validation_vector(vector):
    secret = vector["secret_token"]
    plain = vector["url_validation_plainToken"]
    assert encrypt_token(secret, plain) == vector["expected_encryptedToken"]
    if "expected_response_body" in vector:
        assert vector["expected_response_body"] == {"plainToken": plain, "encryptedToken": encrypt_token(secret, plain)}


def test_vectors_cover_a_non_ascii_body():
    raws = [v["raw_body_utf8"] for v in _vectors("signature") if v != MISSING]
    assert raws, f"no signature vectors in {VECTORS}"
    assert any(not raw.isascii() for raw in raws)


# --- (b) example payloads ---------------------------------------------------------------


@pytest.mark.parametrize("name", _payload_files())
def test_payload(name):
    raw = (PAYLOADS / name).read_bytes()
    envelope = read_envelope(raw)
    body = json.loads(raw)
    assert envelope.body == body
    assert envelope.event_type == body["event"]
    if not envelope.handled:
        assert envelope.event_type not in MEETING_EVENTS
        return

    obj = body["payload"]["object"]
    if isinstance(obj.get("uuid"), str) and obj["uuid"]:
        assert envelope.meeting_uuid == obj["uuid"]

    placeholders = _placeholders(body)
    if placeholders:
        # a template: intake keeps it (as `failed`: no meeting number) and the schema names the bad field;
        # filled in with real-looking values it must parse
        assert envelope.meeting_id is None
        with pytest.raises(ValidationError) as info:
            parse_meeting_event(body)
        assert "id" in info.value.messages["payload"]["object"]
        filled = json.loads(re.sub(r'"\{MEETING_ID\}"', '"85746065432"', raw.decode("utf-8")))
        parsed = parse_meeting_event(filled)
        assert parsed["payload"]["object"]["id"] == 85746065432
        return

    parsed = parse_meeting_event(body)
    meeting_id = parsed["payload"]["object"]["id"]
    assert type(meeting_id) is int and meeting_id > 0
    assert envelope.meeting_id == meeting_id
    assert parsed["event"] == envelope.event_type
    if "participant" in obj:
        participant = parsed["payload"]["object"]["participant"]
        zooms_example = name == f"{envelope.event_type}.json"  # payloads/SOURCES.md: the events spec's example
        _check_participant_times(envelope.event_type, participant, obj["participant"], zooms_example)
        if obj["participant"].get("participant_uuid"):
            assert envelope.participant_uuid == obj["participant"]["participant_uuid"]


# Handled events that payloads/ has no example of; the events spec's own examples stand for them
# (test_spec_example_parses).
SPEC_EXAMPLE_ONLY = {"meeting.participant_bind", "webinar.participant_bind"}


def test_payloads_cover_every_handled_event():
    names = _payload_files()
    assert names != [MISSING], f"no payloads in {PAYLOADS}"
    events = {json.loads((PAYLOADS / n).read_bytes())["event"] for n in names}
    assert set(HANDLED_EVENTS) - SPEC_EXAMPLE_ONLY <= events


# --- (c) the events spec ----------------------------------------------------------------


@pytest.fixture(scope="module")
def webhooks(shared_documents):
    spec = load_json(EVENTS_SPEC)
    assert spec["openapi"].startswith("3.1")
    return spec["webhooks"]


def _spec_examples(operation: dict) -> list:
    """Every example body of one webhook operation, wherever the spec puts it."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    found = []
    for example in (content.get("examples") or {}).values():
        if "value" in example:
            found.append(example["value"])
    if "example" in content:
        found.append(content["example"])
    schema = content.get("schema") or {}
    if "example" in schema:
        found.append(schema["example"])
    found.extend(schema.get("examples") or [])
    return [json.loads(value) if isinstance(value, str) else value for value in found]


@pytest.mark.parametrize("event_type", HANDLED_EVENTS)
def test_spec_example_parses(webhooks, event_type):
    assert event_type in webhooks, f"{event_type} not in {EVENTS_SPEC.name}"
    examples = [ex for operation in webhooks[event_type].values() for ex in _spec_examples(operation)]
    assert examples, f"no example for {event_type}"
    for example in examples:
        assert example["event"] == event_type
        parsed = parse_meeting_event(example)
        obj = parsed["payload"]["object"]
        assert type(obj["id"]) is int and obj["id"] > 0
        envelope = read_envelope(json.dumps(example).encode("utf-8"))
        assert envelope.handled
        assert envelope.meeting_id == obj["id"]
        if ".participant_" in event_type:
            assert "participant" in obj
            raw = example["payload"]["object"]["participant"]
            _check_participant_times(event_type, obj["participant"], raw, zooms_example=True)


def test_spec_participant_joined_example_has_date_time_not_join_time(webhooks):
    # known quirk of Zoom's example (payloads/SOURCES.md): no `join_time`, only `date_time`; we must still get the time
    operation = webhooks["meeting.participant_joined"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    participant_schema = schema["properties"]["payload"]["properties"]["object"]["properties"]["participant"]
    assert "join_time" in participant_schema["required"]  # what real traffic carries
    (example,) = _spec_examples(operation)
    raw_participant = example["payload"]["object"]["participant"]
    assert "join_time" not in raw_participant and raw_participant["date_time"].endswith("Z")
    participant = parse_meeting_event(example)["payload"]["object"]["participant"]
    assert participant["join_time"] is None
    assert participant["date_time"] == datetime.fromisoformat(raw_participant["date_time"])
    assert participant["date_time"].tzinfo is not None and participant["date_time"].utcoffset() == timedelta(0)


def test_participant_time_fields_are_the_specs(webhooks):
    participant_events = [event for event in HANDLED_EVENTS if ".participant_" in event]
    assert {event.split(".", 1)[1] for event in participant_events} == set(PARTICIPANT_TIME)
    for event in participant_events:
        schema = webhooks[event]["post"]["requestBody"]["content"]["application/json"]["schema"]
        participant = schema["properties"]["payload"]["properties"]["object"]["properties"]["participant"]
        required = [name for name in participant.get("required", []) if name.endswith("time")]
        declared = [name for name in participant["properties"] if name.endswith("time")]
        assert (required or declared) == [PARTICIPANT_TIME[event.split(".", 1)[1]]], event
