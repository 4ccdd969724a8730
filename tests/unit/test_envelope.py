"""service/envelope.py: what intake reads from a verified body, and what it refuses."""

from __future__ import annotations

import json

import pytest

from service.envelope import MEETING_EVENTS, URL_VALIDATION, Envelope, MalformedBody, read_envelope
from workers.handlers import HANDLERS

HANDLED = [
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
] + [
    # Waiting and breakout rooms: Zoom documents them for meetings only.
    "meeting.participant_joined_waiting_room",
    "meeting.participant_admitted",
    "meeting.participant_left_waiting_room",
    "meeting.participant_put_in_waiting_room",
    "meeting.participant_joined_breakout_room",
    "meeting.participant_left_breakout_room",
]


def body(event="meeting.started", obj=None, **extra) -> bytes:
    payload = {"account_id": "acct", "object": {"id": "123", "uuid": "u==", **(obj or {})}}
    return json.dumps({"event": event, "payload": payload, **extra}).encode()


def envelope_with_id(value) -> Envelope:
    return read_envelope(json.dumps({"event": "meeting.started", "payload": {"object": {"id": value}}}).encode())


# --- refused bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"{",
        b'{"event": "meeting.started", "payload": {}',
        b"{'event': 'meeting.started', 'payload': {}}",
        b'{"event":"meeting.started","payload":{}} trailing',
    ],
    ids=["empty", "text", "open-brace", "truncated", "single-quotes", "trailing-garbage"],
)
def test_non_json_is_malformed(raw):
    with pytest.raises(MalformedBody, match="not valid JSON"):
        read_envelope(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event":"meeting.started","payload":{"object":{"topic":"\xff"}}}',
        b'{"event":"meeting.started","payload":{"object":{"topic":"\xc3"}}}',
        b'{"event":"meeting.started","payload":{"object":{"topic":"\xed\xa0\x80"}}}',
    ],
    ids=["0xff", "truncated-sequence", "encoded-surrogate"],
)
def test_invalid_utf8_is_malformed(raw):
    # "encoded-surrogate": ED A0 80 is U+D800 encoded as if it were a character, which UTF-8 forbids
    with pytest.raises(MalformedBody):
        read_envelope(raw)


@pytest.mark.parametrize(
    "raw",
    [b"[]", b'[{"event":"meeting.started","payload":{}}]', b'"meeting.started"', b"42", b"1.5", b"null", b"true"],
    ids=["empty-array", "array", "string", "int", "float", "null", "bool"],
)
def test_json_that_is_not_an_object_is_malformed(raw):
    with pytest.raises(MalformedBody, match="not a JSON object"):
        read_envelope(raw)


@pytest.mark.parametrize(
    "value",
    [
        {"payload": {}},
        {"event": None, "payload": {}},
        {"event": "", "payload": {}},
        {"event": 1, "payload": {}},
        {"event": ["meeting.started"], "payload": {}},
        {"event": {"name": "meeting.started"}, "payload": {}},
        {"event": True, "payload": {}},
        {"event": "meeting.started"},
        {"event": "meeting.started", "payload": None},
        {"event": "meeting.started", "payload": []},
        {"event": "meeting.started", "payload": "x"},
        {"event": "meeting.started", "payload": 1},
        {},
    ],
    ids=[
        "no-event",
        "event-null",
        "event-empty",
        "event-int",
        "event-list",
        "event-object",
        "event-bool",
        "no-payload",
        "payload-null",
        "payload-list",
        "payload-string",
        "payload-int",
        "empty-object",
    ],
)
def test_missing_or_wrong_event_or_payload_is_malformed(value):
    with pytest.raises(MalformedBody, match="`event`"):
        read_envelope(json.dumps(value).encode())


def test_deeply_nested_json_is_malformed_not_a_crash():
    # valid JSON nested deeper than the parser's recursion limit must still be a clean MalformedBody (400),
    # never RecursionError (a 500, which Zoom retries for hours)
    depth = 100_000
    raw = b'{"event":"meeting.started","payload":{"x":' + b"[" * depth + b"]" * depth + b"}}"
    with pytest.raises(MalformedBody):
        read_envelope(raw)


# --- accepted bodies --------------------------------------------------------------------


def test_minimal_event_is_accepted():
    envelope = read_envelope(b'{"event":"meeting.started","payload":{}}')
    assert envelope.event_type == "meeting.started"
    assert envelope.body == {"event": "meeting.started", "payload": {}}
    assert envelope.meeting_id is None
    assert envelope.meeting_uuid is None
    assert envelope.participant_uuid is None
    assert envelope.account_id is None
    assert envelope.event_ts is None


def test_body_is_kept_whole_with_unknown_fields():
    raw = body(obj={"extra": {"deep": [1, 2]}}, unknown_top="x", event_ts=5)
    envelope = read_envelope(raw)
    assert envelope.body == json.loads(raw)


def test_non_ascii_is_accepted():
    envelope = read_envelope(body(obj={"topic": "Über 🚀"}))
    assert envelope.body["payload"]["object"]["topic"] == "Über 🚀"


def test_object_that_is_not_a_dict_gives_no_ids():
    envelope = read_envelope(b'{"event":"meeting.started","payload":{"object":[1,2]}}')
    assert envelope.meeting_id is None
    assert envelope.meeting_uuid is None
    assert envelope.participant_uuid is None


def test_participant_that_is_not_a_dict_gives_no_participant_uuid():
    envelope = read_envelope(body(obj={"participant": "p"}))
    assert envelope.participant_uuid is None
    assert envelope.meeting_id == 123


def test_long_event_type_is_cut_to_128():
    envelope = read_envelope(body(event="x" * 500))
    assert envelope.event_type == "x" * 128


# --- meeting id -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (84321234567, 84321234567),
        ("84321234567", 84321234567),
        (1, 1),
        ("1", 1),
        ("007", 7),
        (" 123 ", 123),
        (2**63 - 1, 2**63 - 1),
        (str(2**63 - 1), 2**63 - 1),
    ],
    ids=["int", "digit-string", "one", "one-string", "leading-zeros", "padded", "max-int", "max-string"],
)
def test_meeting_id_int_or_digit_string(value, expected):
    meeting_id = envelope_with_id(value).meeting_id
    assert meeting_id == expected
    assert type(meeting_id) is int


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "12a",
        "",
        " ",
        "-5",
        -5,
        0,
        "0",
        True,
        False,
        12.0,
        12.5,
        "12.0",
        "1e3",
        2**63,
        str(2**63),
        10**30,
        None,
        [123],
        {"id": 123},
        "١٢٣",
        "{MEETING_ID}",
    ],
    ids=[
        "letters",
        "mixed",
        "empty",
        "space",
        "negative-string",
        "negative",
        "zero",
        "zero-string",
        "true",
        "false",
        "float-integral",
        "float",
        "decimal-string",
        "exponent-string",
        "2^63",
        "2^63-string",
        "huge",
        "null",
        "list",
        "object",
        "arabic-digits",
        "placeholder",
    ],
)
def test_bad_meeting_ids_give_none(value):
    envelope = envelope_with_id(value)
    assert envelope.meeting_id is None
    assert envelope.event_type == "meeting.started"  # still accepted: the worker judges it


def test_absent_object_id_gives_none():
    assert read_envelope(b'{"event":"meeting.started","payload":{"object":{}}}').meeting_id is None


# --- event_ts, account, uuids -----------------------------------------------------------


def test_event_ts_int_is_kept():
    assert read_envelope(body(event_ts=1626230691572)).event_ts == 1626230691572
    assert read_envelope(body(event_ts=0)).event_ts == 0


@pytest.mark.parametrize(
    "value",
    ["1626230691572", 1626230691572.0, 1.5, True, False, None, -1, 2**63, [1], {"ms": 1}],
    ids=["string", "float-integral", "float", "true", "false", "null", "negative", "2^63", "list", "object"],
)
def test_event_ts_not_a_plain_int_gives_none(value):
    assert read_envelope(body(event_ts=value)).event_ts is None


def test_absent_event_ts_gives_none():
    assert read_envelope(body()).event_ts is None


def test_uuid_and_participant_uuid_extracted():
    raw = body(obj={"uuid": "tubFEWg9SAaVamwu6V0+kw==", "participant": {"participant_uuid": "55555AAAiAAAAAiAiAiiAii"}})
    envelope = read_envelope(raw)
    assert envelope.meeting_uuid == "tubFEWg9SAaVamwu6V0+kw=="
    assert envelope.participant_uuid == "55555AAAiAAAAAiAiAiiAii"
    assert envelope.account_id == "acct"


def test_uuid_with_slashes_kept_verbatim():
    assert read_envelope(body(obj={"uuid": "/ab//cd+=="})).meeting_uuid == "/ab//cd+=="


@pytest.mark.parametrize(
    "value", ["", None, True, 1.5, ["x"], {"a": 1}], ids=["empty", "null", "bool", "float", "list", "obj"]
)
def test_odd_uuid_gives_none(value):
    envelope = read_envelope(body(obj={"uuid": value, "participant": {"participant_uuid": value}}))
    assert envelope.meeting_uuid is None
    assert envelope.participant_uuid is None


def test_numeric_account_id_becomes_text():
    raw = b'{"event":"meeting.started","payload":{"account_id":12345,"object":{"id":1}}}'
    assert read_envelope(raw).account_id == "12345"


def test_long_texts_are_cut():
    raw = json.dumps(
        {
            "event": "meeting.started",
            "payload": {
                "account_id": "a" * 100,
                "object": {"id": 1, "uuid": "u" * 300, "participant": {"participant_uuid": "p" * 300}},
            },
        }
    ).encode()
    envelope = read_envelope(raw)
    assert envelope.account_id == "a" * 64
    assert envelope.meeting_uuid == "u" * 128
    assert envelope.participant_uuid == "p" * 128


# --- handled ----------------------------------------------------------------------------


@pytest.mark.parametrize("event", HANDLED)
def test_handled_events(event):
    assert read_envelope(body(event=event)).handled is True


@pytest.mark.parametrize(
    "event",
    [
        "meeting.created",
        "webinar.created",
        "app_deauthorized",
        "recording.completed",
        "webinar.participant_joined_waiting_room",
        "webinar.participant_joined_breakout_room",
        # Families we do not act on (Zoom's README: store them, ignore them, answer 200).
        "meeting.participant_role_changed",
        "webinar.participant_role_changed",
        "meeting.participant_jbh_joined",
        "meeting.participant_jbh_waiting",
        "meeting.participant_jbh_waiting_left",
        "meeting.sharing_started",
        "meeting.sharing_ended",
        "webinar.sharing_started",
        "recording.started",
        "recording.stopped",
        "meeting.registration_created",
        "meeting.permanently_deleted",
        "meeting.recovered",
        URL_VALIDATION,
        "Meeting.Started",
        "meeting.started ",
        "meeting",
        "started",
    ],
)
def test_unhandled_events(event):
    assert read_envelope(body(event=event)).handled is False


def test_exactly_the_handled_meeting_events():
    assert MEETING_EVENTS == frozenset(HANDLED)
    assert len(MEETING_EVENTS) == 20


def test_meeting_events_agree_with_worker_handlers():
    # one rule in two places: intake's `handled` and the worker's dispatch table must agree
    assert set(MEETING_EVENTS) == set(HANDLERS)


def test_a_meeting_id_too_long_to_parse_is_no_meeting_id():
    body = json.dumps({"event": "meeting.started", "payload": {"object": {"id": "9" * 5000}}}).encode()
    assert read_envelope(body).meeting_id is None
