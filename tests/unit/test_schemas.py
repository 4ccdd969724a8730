"""service/event_schemas.py: tolerant parsing of Zoom meeting and webinar events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from service.event_schemas import MAX_MEETING_NUMBER, as_meeting_number, as_text, as_zoom_time, parse_meeting_event


def event(obj=None, event_type="meeting.participant_joined", **payload_extra):
    return {
        "event": event_type,
        "event_ts": 1626230691572,
        "payload": {"account_id": "AAAA", "object": {"id": "1234567890", **(obj or {})}, **payload_extra},
    }


def parsed_object(obj=None, **payload_extra):
    return parse_meeting_event(event(obj, **payload_extra))["payload"]["object"]


def participant(fields):
    return parsed_object({"participant": fields})["participant"]


def error_messages(body):
    with pytest.raises(ValidationError) as info:
        parse_meeting_event(body)
    return info.value.messages


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- ids --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1234567890, "1234567890", " 1234567890 "], ids=["number", "string", "padded"])
def test_object_id_number_or_string(value):
    result = parsed_object({"id": value})["id"]
    assert result == 1234567890
    assert type(result) is int


def test_meeting_number_over_32_bits():
    assert parsed_object({"id": "86431910364"})["id"] == 86431910364


@pytest.mark.parametrize(
    "value",
    [{"x": 1}, [1], "abc", "", 0, -1, True, 1.5, None, 2**63, "{MEETING_ID}"],
    ids=["object", "list", "letters", "empty", "zero", "negative", "bool", "float", "null", "2^63", "placeholder"],
)
def test_bad_object_id_is_a_validation_error_naming_id(value):
    messages = error_messages(event({"id": value}))
    assert "id" in messages["payload"]["object"]


def test_missing_object_id_is_a_validation_error():
    body = event()
    del body["payload"]["object"]["id"]
    assert "id" in error_messages(body)["payload"]["object"]


def test_missing_object_is_a_validation_error():
    body = event()
    del body["payload"]["object"]
    assert "object" in error_messages(body)["payload"]


def test_missing_payload_or_event_is_a_validation_error():
    assert "payload" in error_messages({"event": "meeting.started"})
    assert "event" in error_messages({"payload": {"object": {"id": 1}}})


def test_participant_ids_as_numbers_become_text():
    result = participant({"user_id": 16780288, "id": 42, "participant_user_id": "abc"})
    assert result["user_id"] == "16780288"
    assert result["id"] == "42"
    assert result["participant_user_id"] == "abc"


def test_account_id_as_number_becomes_text():
    assert parse_meeting_event(event(account_id=12345))["payload"]["account_id"] == "12345"


# --- registrant_id, email, timezone -----------------------------------------------------


@pytest.mark.parametrize(
    "fields", [{"registrant_id": None}, {"registrant_id": ""}, {}], ids=["null", "empty", "absent"]
)
def test_registrant_id_null_empty_or_absent_becomes_empty(fields):
    assert participant(fields)["registrant_id"] == ""


def test_registrant_id_kept():
    assert participant({"registrant_id": "abcdefghij0-klmnopq23456"})["registrant_id"] == "abcdefghij0-klmnopq23456"


def test_participant_defaults_when_fields_absent():
    assert participant({}) == {
        "user_id": "",
        "user_name": "",
        "id": "",
        "participant_uuid": "",
        "participant_user_id": "",
        "email": "",
        "registrant_id": "",
        "parent_user_id": "",
        "bind_user_id": "",
        "bind_participant_uuid": "",
        "leave_reason": "",
        "join_time": None,
        "leave_time": None,
        "date_time": None,
    }


def test_null_identifier_texts_become_empty():
    # as_text: "null becomes ''"; a participant with null identifiers must not make the whole event fail
    result = participant({"user_id": None, "user_name": None, "participant_user_id": None, "email": None, "id": None})
    assert result["user_id"] == ""
    assert result["user_name"] == ""
    assert result["participant_user_id"] == ""
    assert result["email"] == ""
    assert result["id"] == ""


def test_email_is_stripped():
    assert participant({"email": "  jill@example.com \n"})["email"] == "jill@example.com"


def test_timezone_empty_is_kept_empty():
    assert parsed_object({"timezone": ""})["timezone"] == ""


def test_timezone_kept():
    assert parsed_object({"timezone": "America/Los_Angeles"})["timezone"] == "America/Los_Angeles"


def test_instant_meeting_values():
    obj = parsed_object({"type": 1, "duration": 0, "timezone": "", "topic": "Instant"})
    assert obj["type"] == 1
    assert obj["duration"] == 0
    assert obj["timezone"] == ""
    assert obj["topic"] == "Instant"


def test_absent_optional_object_fields_are_absent():
    obj = parsed_object()
    for name in ("topic", "type", "start_time", "end_time", "duration", "timezone", "participant"):
        assert name not in obj, name
    assert obj["uuid"] == ""
    assert obj["settings"] == {}


def test_updated_event_keeps_only_changed_fields():
    body = event({"id": 1234567890, "topic": "New"}, event_type="meeting.updated", time_stamp=1626230691000)
    body["payload"]["old_object"] = {"id": 1234567890, "topic": "Old"}
    parsed = parse_meeting_event(body)
    assert parsed["payload"]["object"] == {"id": 1234567890, "uuid": "", "topic": "New", "settings": {}}
    assert parsed["payload"]["old_object"] == {"id": 1234567890, "topic": "Old"}
    assert parsed["payload"]["time_stamp"] == 1626230691000


def test_time_stamp_and_event_ts_default_to_none():
    body = event()
    del body["event_ts"]
    parsed = parse_meeting_event(body)
    assert parsed["event_ts"] is None
    assert parsed["payload"]["time_stamp"] is None


def test_numbers_as_strings_are_accepted_for_integer_fields():
    body = event({"type": "2", "duration": "60"}, time_stamp="1626230691000")
    body["event_ts"] = "1626230691572"
    parsed = parse_meeting_event(body)
    assert parsed["payload"]["object"]["type"] == 2
    assert parsed["payload"]["object"]["duration"] == 60
    assert parsed["payload"]["time_stamp"] == 1626230691000
    assert parsed["event_ts"] == 1626230691572


def test_settings_kept_as_dict():
    assert parsed_object({"settings": {"use_pmi": True}})["settings"] == {"use_pmi": True}


# --- date_time vs join_time -------------------------------------------------------------


def test_date_time_read_when_join_time_absent():
    result = participant({"date_time": "2021-07-13T21:44:51Z", "user_name": "Jill"})
    assert result["join_time"] is None
    assert result["date_time"] == utc(2021, 7, 13, 21, 44, 51)


def test_join_time_and_date_time_both_kept():
    result = participant({"join_time": "2021-07-13T21:45:00Z", "date_time": "2021-07-13T21:44:51Z"})
    assert result["join_time"] == utc(2021, 7, 13, 21, 45)
    assert result["date_time"] == utc(2021, 7, 13, 21, 44, 51)


def test_leave_time_parsed():
    result = participant({"leave_time": "2021-07-13T22:50:51Z"})
    assert result["leave_time"] == utc(2021, 7, 13, 22, 50, 51)
    assert result["join_time"] is None


@pytest.mark.parametrize("value", [None, ""], ids=["null", "empty"])
def test_empty_times_are_none(value):
    result = participant({"join_time": value, "leave_time": value, "date_time": value})
    assert result["join_time"] is None
    assert result["leave_time"] is None
    assert result["date_time"] is None


# --- times ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2021-07-13T21:44:51Z", utc(2021, 7, 13, 21, 44, 51)),
        ("2021-07-13T21:44:51", utc(2021, 7, 13, 21, 44, 51)),
        ("2021-07-13T21:44:51+02:00", utc(2021, 7, 13, 19, 44, 51)),
        ("2021-07-13T21:44:51-07:00", utc(2021, 7, 14, 4, 44, 51)),
        ("2021-07-13T23:30:00-01:00", utc(2021, 7, 14, 0, 30)),
        ("2021-07-13T21:44:51.123Z", utc(2021, 7, 13, 21, 44, 51, 123000)),
        ("2021-07-13T21:44:51+00:00", utc(2021, 7, 13, 21, 44, 51)),
    ],
    ids=["zulu", "no-offset-is-utc", "plus-2", "minus-7", "crosses-midnight", "millis", "plus-0"],
)
def test_times_are_aware_utc(text, expected):
    obj = parsed_object({"start_time": text, "end_time": text, "participant": {"join_time": text}})
    for value in (obj["start_time"], obj["end_time"], obj["participant"]["join_time"]):
        assert value == expected
        assert value.tzinfo is not None
        assert value.utcoffset() == timedelta(0)
        assert value.tzinfo == UTC


def test_start_time_null_allowed():
    assert parsed_object({"start_time": None})["start_time"] is None


# --- wrong types name the field ---------------------------------------------------------


@pytest.mark.parametrize(
    "obj, path",
    [
        ({"id": {"x": 1}}, ["id"]),
        ({"participant": {"join_time": 12}}, ["participant", "join_time"]),
        ({"participant": {"leave_time": "yesterday"}}, ["participant", "leave_time"]),
        ({"participant": {"date_time": ["2021-07-13T21:44:51Z"]}}, ["participant", "date_time"]),
        ({"participant": {"user_id": {"a": 1}}}, ["participant", "user_id"]),
        ({"participant": {"email": ["a@b.c"]}}, ["participant", "email"]),
        ({"participant": {"registrant_id": 1.5}}, ["participant", "registrant_id"]),
        ({"participant": {"user_name": True}}, ["participant", "user_name"]),
        ({"participant": "Jill"}, ["participant"]),
        ({"duration": "abc"}, ["duration"]),
        ({"duration": True}, ["duration"]),
        ({"duration": [60]}, ["duration"]),
        ({"type": "scheduled"}, ["type"]),
        ({"topic": 5}, ["topic"]),
        ({"timezone": 0}, ["timezone"]),
        ({"start_time": "2021-13-45T99:00:00Z"}, ["start_time"]),
        ({"end_time": 1626230691}, ["end_time"]),
        ({"settings": "on"}, ["settings"]),
        ({"uuid": {"u": 1}}, ["uuid"]),
    ],
    ids=lambda v: ".".join(v) if isinstance(v, list) else None,
)
def test_wrong_types_raise_validation_error_naming_the_field(obj, path):
    messages = error_messages(event(obj))
    node = messages["payload"]["object"]
    for key in path:
        assert key in node, (path, messages)
        node = node[key]


@pytest.mark.parametrize(
    "payload_extra, field",
    [({"time_stamp": "soon"}, "time_stamp"), ({"old_object": "x"}, "old_object"), ({"account_id": [1]}, "account_id")],
    ids=["time_stamp", "old_object", "account_id"],
)
def test_wrong_payload_types_name_the_field(payload_extra, field):
    assert field in error_messages(event(**payload_extra))["payload"]


def test_wrong_event_ts_names_the_field():
    body = event()
    body["event_ts"] = "yesterday"
    assert "event_ts" in error_messages(body)


def test_unknown_fields_are_ignored():
    body = event({"host_id": "h", "occurrences": [{"x": 1}], "participant": {"customer_key": "k", "phone": 1}})
    body["unknown_top"] = {"a": 1}
    body["payload"]["operator"] = "admin@example.com"
    parsed = parse_meeting_event(body)
    assert "unknown_top" not in parsed
    assert "operator" not in parsed["payload"]
    assert "host_id" not in parsed["payload"]["object"]
    assert "occurrences" not in parsed["payload"]["object"]
    assert "customer_key" not in parsed["payload"]["object"]["participant"]
    assert "phone" not in parsed["payload"]["object"]["participant"]


def test_multiple_errors_reported_together():
    messages = error_messages(event({"id": "x", "duration": "abc"}))
    assert {"id", "duration"} <= set(messages["payload"]["object"])


# --- as_meeting_number ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (1, 1),
        ("1", 1),
        (" 42\n", 42),
        ("0042", 42),
        (MAX_MEETING_NUMBER, MAX_MEETING_NUMBER),
        (str(MAX_MEETING_NUMBER), MAX_MEETING_NUMBER),
        (MAX_MEETING_NUMBER + 1, None),
        (str(MAX_MEETING_NUMBER + 1), None),
        (0, None),
        ("0", None),
        ("000", None),
        (-1, None),
        ("-1", None),
        ("+1", None),
        (True, None),
        (False, None),
        (1.0, None),
        ("1.0", None),
        ("1_000", None),
        ("1 000", None),
        ("", None),
        ("   ", None),
        (None, None),
        ("١٢", None),
        ("²", None),
        (b"12", None),
        ([1], None),
    ],
)
def test_as_meeting_number(value, expected):
    result = as_meeting_number(value)
    assert result == expected
    if expected is not None:
        assert type(result) is int


def test_max_meeting_number_is_bigint_max():
    assert MAX_MEETING_NUMBER == 9223372036854775807


# --- as_text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [(None, ""), ("", ""), ("abc", "abc"), (" a ", " a "), (0, "0"), (16780288, "16780288"), (-3, "-3"), ("é", "é")],
)
def test_as_text(value, expected):
    assert as_text(value) == expected


@pytest.mark.parametrize("value", [True, False, 1.5, 1.0, [1], {"a": 1}, b"x"])
def test_as_text_rejects_other_kinds(value):
    with pytest.raises(ValidationError):
        as_text(value)


# --- as_zoom_time -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, ""])
def test_as_zoom_time_empty_is_none(value):
    assert as_zoom_time(value) is None


def test_as_zoom_time_zulu():
    assert as_zoom_time("2021-07-13T21:44:51Z") == utc(2021, 7, 13, 21, 44, 51)


def test_as_zoom_time_naive_is_utc():
    value = as_zoom_time("2021-07-13T21:44:51")
    assert value == utc(2021, 7, 13, 21, 44, 51)
    assert value.tzinfo == UTC


def test_as_zoom_time_offset_converted_to_utc():
    value = as_zoom_time("2021-07-13T21:44:51+05:30")
    assert value == datetime(2021, 7, 13, 21, 44, 51, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert value.tzinfo == UTC
    assert (value.hour, value.minute) == (16, 14)


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2021-02-30T00:00:00Z",
        "2021-07-13T25:00:00Z",
        "13/07/2021 21:44",
        " ",
        1626230691,
        1.5,
        True,
        [],
        {},
    ],
    ids=["word", "feb-30", "hour-25", "local-format", "space", "int", "float", "bool", "list", "dict"],
)
def test_as_zoom_time_rejects_garbage(value):
    with pytest.raises(ValidationError):
        as_zoom_time(value)
