"""The webhooks the World queues for each change (zoomsim/world.py + zoomsim/events.py), built without HTTP.

Shapes checked against Zoom's documented quirks: the meeting id is a number in created/updated events and a
string in started/ended/participant events; `meeting.updated` carries only what changed; `registrant_id` is
null on join and "" on leave for people who did not register.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.simulator.unit.support import T0, operator_of
from zoomsim import events
from zoomsim.times import epoch_ms

BODY = {"topic": "Algebra", "type": 2, "start_time": "2024-05-01T10:00:00Z", "duration": 60, "timezone": "UTC"}


@pytest.fixture
def meeting(world, host):
    made = world.create_meeting("meeting", host, dict(BODY), operator_of(host))
    world.take_outbox()
    return made


@pytest.fixture
def open_meeting(world, host):
    made = world.create_meeting("meeting", host, {**BODY, "settings": {"approval_type": 0}}, operator_of(host))
    world.take_outbox()
    return made


def only(outbox: list[dict]) -> dict:
    assert len(outbox) == 1, [body["event"] for body in outbox]
    return outbox[0]


def participant(body: dict) -> dict:
    return body["payload"]["object"]["participant"]


# --- created ---------------------------------------------------------------------------------


def test_created_event_has_a_numeric_id(world, host, clock):
    meeting = world.create_meeting("meeting", host, dict(BODY), operator_of(host))
    body = only(world.take_outbox())
    assert body["event"] == "meeting.created"
    obj = body["payload"]["object"]
    assert type(obj["id"]) is int
    assert obj["id"] == meeting.id
    assert obj["id"] > 2**32  # meeting numbers exceed 32 bits
    assert obj["uuid"] == meeting.uuid
    assert obj["topic"] == "Algebra"
    assert obj["start_time"] == "2024-05-01T10:00:00Z"
    assert body["event_ts"] == int(clock() * 1000)


def test_created_event_names_the_operator(world, host):
    world.create_meeting("meeting", host, dict(BODY), operator_of(host))
    payload = only(world.take_outbox())["payload"]
    assert payload["operator"] == host.email
    assert payload["operator_id"] == host.id
    assert payload["account_id"] == host.account_id
    assert payload["operation"] == "single"


def test_webinar_created_event(world, host):
    webinar = world.create_meeting("webinar", host, {"topic": "Lecture", "type": 5}, operator_of(host))
    body = only(world.take_outbox())
    assert body["event"] == "webinar.created"
    assert body["payload"]["object"]["id"] == webinar.id


def test_local_start_time_is_stored_in_utc(world, host):
    body = {**BODY, "start_time": "2024-07-01T09:00:00", "timezone": "America/New_York"}
    world.create_meeting("meeting", host, body, operator_of(host))
    obj = only(world.take_outbox())["payload"]["object"]
    assert obj["start_time"] == "2024-07-01T13:00:00Z"
    assert obj["timezone"] == "America/New_York"


# --- updated -----------------------------------------------------------------------------


def test_update_carries_only_the_changed_fields(world, host, meeting, clock):
    clock.advance(123.456)
    changed = world.update_meeting(meeting, {"topic": "Geometry", "duration": 60, "agenda": ""}, operator_of(host))
    assert changed == {"topic": "Geometry"}
    body = only(world.take_outbox())
    assert body["event"] == "meeting.updated"
    payload = body["payload"]
    assert payload["object"] == {"id": meeting.id, "topic": "Geometry"}
    assert payload["old_object"] == {"id": meeting.id, "topic": "Algebra"}
    assert type(payload["object"]["id"]) is int
    assert payload["time_stamp"] == int((T0.timestamp() + 123.456) * 1000)
    assert payload["operator"] == host.email
    assert payload["operator_id"] == host.id


def test_update_time_stamp_is_in_milliseconds(world, host, meeting, clock):
    clock.advance(0.25)
    world.update_meeting(meeting, {"topic": "Geometry"}, operator_of(host))
    stamp = only(world.take_outbox())["payload"]["time_stamp"]
    assert stamp == epoch_ms(T0 + timedelta(milliseconds=250))
    assert stamp % 1000 == 250


def test_update_of_several_fields(world, host, meeting):
    world.update_meeting(
        meeting, {"topic": "Geometry", "duration": 90, "start_time": "2024-05-01T15:00:00Z"}, operator_of(host)
    )
    payload = only(world.take_outbox())["payload"]
    assert payload["object"] == {
        "id": meeting.id,
        "topic": "Geometry",
        "duration": 90,
        "start_time": "2024-05-01T15:00:00Z",
    }
    assert payload["old_object"] == {
        "id": meeting.id,
        "topic": "Algebra",
        "duration": 60,
        "start_time": "2024-05-01T10:00:00Z",
    }


def test_update_of_settings_carries_only_the_changed_settings(world, host, meeting):
    world.update_meeting(meeting, {"settings": {"host_video": True, "audio": "voip"}}, operator_of(host))
    payload = only(world.take_outbox())["payload"]
    assert payload["object"] == {"id": meeting.id, "settings": {"host_video": True}}
    assert payload["old_object"] == {"id": meeting.id, "settings": {"host_video": False}}


def test_new_zone_for_the_same_instant_changes_only_the_timezone(world, host, meeting):
    # 12:00 in Berlin (CEST) on May 1st is the 10:00 UTC the meeting already starts at.
    world.update_meeting(meeting, {"start_time": "2024-05-01T12:00:00", "timezone": "Europe/Berlin"}, operator_of(host))
    payload = only(world.take_outbox())["payload"]
    assert payload["object"] == {"id": meeting.id, "timezone": "Europe/Berlin"}
    assert payload["old_object"] == {"id": meeting.id, "timezone": "UTC"}


def test_update_is_applied_to_the_meeting(world, host, meeting):
    world.update_meeting(meeting, {"topic": "Geometry", "settings": {"host_video": True}}, operator_of(host))
    assert meeting.topic == "Geometry"
    assert meeting.settings["host_video"] is True


def test_update_without_a_change_emits_nothing(world, host, meeting):
    same = {"topic": "Algebra", "duration": 60, "start_time": "2024-05-01T10:00:00Z", "timezone": "UTC"}
    assert world.update_meeting(meeting, {**same, "settings": {"host_video": False}}, operator_of(host)) == {}
    assert world.take_outbox() == []
    assert world.update_meeting(meeting, {}, operator_of(host)) == {}
    assert world.take_outbox() == []


def test_webinar_updated_event(world, host):
    webinar = world.create_meeting("webinar", host, {"topic": "Lecture", "type": 5}, operator_of(host))
    world.take_outbox()
    world.update_meeting(webinar, {"topic": "Seminar"}, operator_of(host))
    assert only(world.take_outbox())["event"] == "webinar.updated"


# --- started, joined, left, ended ------------------------------------------------------------


def test_started_event_has_the_id_as_a_string(world, meeting):
    instance = world.start(meeting)
    body = only(world.take_outbox())
    assert body["event"] == "meeting.started"
    obj = body["payload"]["object"]
    assert obj["id"] == str(meeting.id)
    assert obj["uuid"] == instance.uuid == meeting.uuid
    assert obj["start_time"] == "2024-05-01T09:00:00Z"  # when it really started
    assert body["event_ts"] == epoch_ms(T0)


def test_start_at_a_given_time(world, meeting):
    world.start(meeting, at=T0 + timedelta(minutes=5, microseconds=500))
    body = only(world.take_outbox())
    assert body["payload"]["object"]["start_time"] == "2024-05-01T09:05:00Z"
    assert body["event_ts"] == epoch_ms(T0 + timedelta(minutes=5))


def test_join_and_leave_events_have_the_id_as_a_string(world, meeting):
    world.start(meeting)
    session = world.join(meeting, "Ann Lee", "ann@school.example", at=T0 + timedelta(minutes=1))
    world.leave(meeting, session.user_id, at=T0 + timedelta(minutes=31))
    started, joined, left = world.take_outbox()
    assert (started["event"], joined["event"], left["event"]) == (
        "meeting.started",
        "meeting.participant_joined",
        "meeting.participant_left",
    )
    for body in (joined, left):
        assert body["payload"]["object"]["id"] == str(meeting.id)
        assert body["payload"]["object"]["uuid"] == meeting.uuid
    assert participant(joined)["join_time"] == "2024-05-01T09:01:00Z"
    assert participant(left)["leave_time"] == "2024-05-01T09:31:00Z"
    assert joined["event_ts"] == epoch_ms(T0 + timedelta(minutes=1))
    assert left["event_ts"] == epoch_ms(T0 + timedelta(minutes=31))


def test_participant_fields(world, meeting):
    world.start(meeting)
    session = world.join(meeting, "Ann Lee", "ann@school.example")
    world.leave(meeting, session.user_id)
    _, joined, left = world.take_outbox()
    person = participant(joined)
    assert person["user_id"] == session.user_id
    assert person["user_name"] == "Ann Lee"
    assert person["email"] == "ann@school.example"
    assert person["participant_user_id"] == ""  # not signed in to Zoom
    assert "leave_time" not in person
    assert "join_time" not in participant(left)
    assert "Ann Lee" in participant(left)["leave_reason"]


def test_unregistered_participant_has_null_registrant_id_on_join_and_empty_on_leave(world, meeting):
    world.start(meeting)
    session = world.join(meeting, "Ann Lee", "ann@school.example")
    world.leave(meeting, session.user_id)
    _, joined, left = world.take_outbox()
    assert "registrant_id" in participant(joined)
    assert participant(joined)["registrant_id"] is None
    assert participant(left)["registrant_id"] == ""


def test_registered_participant_carries_the_registrant_id(world, open_meeting):
    registrant, created = world.register(open_meeting, {"email": "Reg@School.example", "first_name": "Reg"})
    assert created
    world.take_outbox()
    world.start(open_meeting)
    session = world.join(open_meeting, "Reg", "reg@school.example")
    world.leave(open_meeting, session.user_id)
    _, joined, left = world.take_outbox()
    assert participant(joined)["registrant_id"] == registrant.id
    assert participant(left)["registrant_id"] == registrant.id


def test_signed_in_zoom_user_carries_the_participant_user_id(world, meeting, host):
    world.start(meeting)
    world.join(meeting, host.display_name, host.email)
    person = participant(world.take_outbox()[-1])
    assert person["participant_user_id"] == host.id
    assert person["id"] == host.id


def test_user_id_is_per_session_and_participant_uuid_per_person(world, meeting):
    world.start(meeting)
    first = world.join(meeting, "Ann Lee", "ann@school.example")
    world.leave(meeting, first.user_id, at=T0 + timedelta(minutes=5))
    again = world.join(meeting, "Ann Lee", "ANN@school.example", at=T0 + timedelta(minutes=6))
    phone = world.join(meeting, "Ann's iPhone", "ann@school.example", at=T0 + timedelta(minutes=7))
    other = world.join(meeting, "Bob Roe", "bob@school.example", at=T0 + timedelta(minutes=7))
    assert len({first.user_id, again.user_id, phone.user_id, other.user_id}) == 4
    assert first.participant_uuid == again.participant_uuid == phone.participant_uuid
    assert other.participant_uuid != first.participant_uuid
    joined = [participant(b) for b in world.take_outbox() if b["event"] == "meeting.participant_joined"]
    assert [p["participant_uuid"] for p in joined] == [first.participant_uuid] * 3 + [other.participant_uuid]


def test_guests_without_email_are_told_apart_by_name(world, meeting):
    world.start(meeting)
    first = world.join(meeting, "Guest One")
    world.leave(meeting, first.user_id)
    again = world.join(meeting, "Guest One")
    other = world.join(meeting, "Guest Two")
    assert again.participant_uuid == first.participant_uuid
    assert other.participant_uuid != first.participant_uuid


def test_ended_event_has_the_id_as_a_string(world, meeting):
    instance = world.start(meeting)
    world.end(meeting, at=T0 + timedelta(hours=1))
    body = world.take_outbox()[-1]
    assert body["event"] == "meeting.ended"
    obj = body["payload"]["object"]
    assert obj["id"] == str(meeting.id)
    assert obj["uuid"] == instance.uuid
    assert obj["start_time"] == "2024-05-01T09:00:00Z"
    assert obj["end_time"] == "2024-05-01T10:00:00Z"
    assert body["event_ts"] == epoch_ms(T0 + timedelta(hours=1))


def test_webinar_life_events(world, host):
    webinar = world.create_meeting("webinar", host, {"topic": "Lecture", "type": 5}, operator_of(host))
    world.start(webinar)
    session = world.join(webinar, "Ann Lee", "ann@school.example")
    world.leave(webinar, session.user_id)
    world.end(webinar)
    assert [b["event"] for b in world.take_outbox()] == [
        "webinar.created",
        "webinar.started",
        "webinar.participant_joined",
        "webinar.participant_left",
        "webinar.ended",
    ]


def test_registration_created_event(world, open_meeting):
    registrant, _ = world.register(
        open_meeting, {"email": "reg@school.example", "first_name": "Reg", "last_name": "Ist"}
    )
    body = only(world.take_outbox())
    assert body["event"] == "meeting.registration_created"
    obj = body["payload"]["object"]
    assert type(obj["id"]) is int
    assert obj["id"] == open_meeting.id
    assert obj["registrant"]["id"] == registrant.id
    assert obj["registrant"]["email"] == "reg@school.example"
    assert obj["registrant"]["status"] == "approved"


# --- serialize ------------------------------------------------------------------------------


def test_serialize_is_compact_utf8_with_non_ascii_unescaped():
    body = events.envelope("meeting.created", {"object": {"topic": "Café 数学 ✓", "id": 81234567890}}, 1714554000000)
    raw = events.serialize(body)
    assert isinstance(raw, bytes)
    assert (
        raw
        == (
            '{"event":"meeting.created","payload":{"object":{"topic":"Café 数学 ✓","id":81234567890}},'
            '"event_ts":1714554000000}'
        ).encode()
    )
    assert b"\\u" not in raw
    assert b" " not in raw.replace("Café 数学 ✓".encode(), b"")
    assert json.loads(raw) == body


def test_envelope_keys_are_in_zoom_order():
    body = events.envelope("meeting.started", {"account_id": "a"}, 1)
    assert list(body) == ["event", "payload", "event_ts"]
    assert events.serialize(body).startswith(b'{"event":"meeting.started","payload":')
    assert events.serialize(body).endswith(b',"event_ts":1}')


def test_serialized_world_events_keep_zoom_key_order(world, host):
    world.create_meeting("meeting", host, {**BODY, "topic": "Química básica"}, operator_of(host))
    raw = events.serialize(only(world.take_outbox()))
    assert list(json.loads(raw)) == ["event", "payload", "event_ts"]
    assert "Química básica".encode() in raw


def test_url_validation_body_in_zoom_order():
    body = events.url_validation("plain-123", 1714554000000)
    assert events.serialize(body) == (
        b'{"payload":{"plainToken":"plain-123"},"event_ts":1714554000000,"event":"endpoint.url_validation"}'
    )
