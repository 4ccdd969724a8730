"""The bodies of the webhooks Zoom sends, built from the simulator's state (pure).

Shapes follow Zoom's event reference and real deliveries: the meeting id is a
string in started/ended/participant events and a number elsewhere;
`meeting.updated` carries the id plus only the changed fields in `object` and
`old_object`, and `time_stamp` in milliseconds; a participant's `registrant_id`
is null on join and "" on leave when they did not register (as real captures show).
Waiting-room events carry `date_time` instead of join/leave times; breakout-room
events carry `breakout_room_uuid` and `parent_user_id`; `participant_bind` names
the phone caller and the computer session it bound to; `webinar.ended` says
whether it was a practice session.
Bodies are serialised the way Zoom does: compact JSON, UTF-8 unescaped, keys in
Zoom's order (`event`, `payload`, `event_ts`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from zoomsim.times import epoch_ms, zoom_time

if TYPE_CHECKING:
    from zoomsim.world import Instance, Meeting, Registrant, Session


def serialize(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def envelope(event: str, payload: dict[str, Any], event_ts: int) -> dict[str, Any]:
    return {"event": event, "payload": payload, "event_ts": event_ts}


def url_validation(plain_token: str, event_ts: int) -> dict[str, Any]:
    # Zoom's own validation request puts the keys in this order.
    return {"payload": {"plainToken": plain_token}, "event_ts": event_ts, "event": "endpoint.url_validation"}


def _schedule(meeting: Meeting) -> dict[str, Any]:
    return {
        "topic": meeting.topic,
        "type": meeting.type,
        "start_time": zoom_time(meeting.start_time),
        "duration": meeting.duration,
        "timezone": meeting.timezone,
    }


def _operated(meeting: Meeting, operator: tuple[str, str], **rest: Any) -> dict[str, Any]:
    email, user_id = operator
    return {"account_id": meeting.account_id, "operator": email, "operator_id": user_id, **rest}


def created(meeting: Meeting, operator: tuple[str, str], event_ts: int) -> dict[str, Any]:
    obj = {
        "uuid": meeting.uuid,
        "id": meeting.id,
        "host_id": meeting.host_id,
        **_schedule(meeting),
        "join_url": meeting.join_url,
        "password": meeting.password,
        "creation_source": meeting.creation_source,
        "settings": {
            "use_pmi": bool(meeting.settings.get("use_pmi", False)),
            "alternative_hosts": str(meeting.settings.get("alternative_hosts") or ""),
            **{key: meeting.settings[key] for key in ("join_before_host", "jbh_time") if key in meeting.settings},
        },
    }
    payload = _operated(meeting, operator, operation="single", object=obj)
    return envelope(f"{meeting.kind}.created", payload, event_ts)


def updated(
    meeting: Meeting,
    operator: tuple[str, str],
    new: dict[str, Any],
    old: dict[str, Any],
    time_stamp: int,
    event_ts: int,
) -> dict[str, Any]:
    payload = _operated(
        meeting,
        operator,
        object={"id": meeting.id, **new},
        time_stamp=time_stamp,
        old_object={"id": meeting.id, **old},
    )
    return envelope(f"{meeting.kind}.updated", payload, event_ts)


def deleted(meeting: Meeting, operator: tuple[str, str], event_ts: int, action: str = "deleted") -> dict[str, Any]:
    obj = {"uuid": meeting.uuid, "id": meeting.id, "host_id": meeting.host_id, **_schedule(meeting)}
    payload = _operated(meeting, operator, operation="single", object=obj)
    return envelope(f"{meeting.kind}.{action}", payload, event_ts)


def _live_object(meeting: Meeting, instance: Instance) -> dict[str, Any]:
    return {
        "id": str(meeting.id),
        "uuid": instance.uuid,
        "host_id": meeting.host_id,
        "host_email": meeting.host_email,
        "topic": meeting.topic,
        "type": meeting.type,
        "start_time": zoom_time(instance.start_time),
        "timezone": meeting.timezone,
        "duration": meeting.duration,
    }


def started(meeting: Meeting, instance: Instance, event_ts: int) -> dict[str, Any]:
    payload = {"account_id": meeting.account_id, "object": _live_object(meeting, instance)}
    return envelope(f"{meeting.kind}.started", payload, event_ts)


def ended(meeting: Meeting, instance: Instance, event_ts: int) -> dict[str, Any]:
    assert instance.end_time is not None
    obj = {**_live_object(meeting, instance), "end_time": zoom_time(instance.end_time)}
    if meeting.kind == "webinar":
        obj["practice_session"] = instance.practice
    return envelope(f"{meeting.kind}.ended", {"account_id": meeting.account_id, "object": obj}, event_ts)


def _participant(session: Session, joined: bool) -> dict[str, Any]:
    person = {
        "user_id": session.event_user_id or session.user_id,
        "user_name": session.name,
        "id": session.participant_user_id,
        "participant_uuid": session.participant_uuid,
    }
    if joined:
        person["join_time"] = zoom_time(session.join_time)
    else:
        assert session.leave_time is not None
        person["leave_time"] = zoom_time(session.leave_time)
        person["leave_reason"] = session.leave_reason
    person["email"] = session.email
    person["registrant_id"] = session.registrant_id or (None if joined else "")
    person["participant_user_id"] = session.participant_user_id
    if session.phone_number:
        person["phone_number"] = session.phone_number
    return person


def _about(meeting: Meeting, instance: Instance, event: str, person: dict[str, Any], event_ts: int, **extra: Any):
    """A participant-level event: the live meeting's fields (no host_email), `extra` right after its uuid."""
    live = _live_object(meeting, instance)
    del live["host_email"]
    obj = {"id": live.pop("id"), "uuid": live.pop("uuid"), **extra, **live, "participant": person}
    return envelope(f"{meeting.kind}.{event}", {"account_id": meeting.account_id, "object": obj}, event_ts)


WAITING_ROOM_EVENTS = (
    "participant_joined_waiting_room",
    "participant_admitted",
    "participant_put_in_waiting_room",
    "participant_left_waiting_room",
)


def waiting_room(meeting: Meeting, instance: Instance, session: Session, event: str, when: datetime) -> dict[str, Any]:
    """One of WAITING_ROOM_EVENTS: the participant carries `date_time`, not join/leave times (Zoom's reference)."""
    assert event in WAITING_ROOM_EVENTS, event
    person = {
        "user_id": session.event_user_id or session.user_id,
        "user_name": session.name,
        "id": session.participant_user_id,
        "participant_uuid": session.participant_uuid,
        "date_time": zoom_time(when),
        "email": session.email,
        "participant_user_id": session.participant_user_id,
        "registrant_id": session.registrant_id,
    }
    return _about(meeting, instance, event, person, epoch_ms(when))


def breakout_room(
    meeting: Meeting, instance: Instance, session: Session, room_uuid: str, joined: bool
) -> dict[str, Any]:
    """`participant_joined_breakout_room` (join_time) or `participant_left_breakout_room` (leave_time, reason)."""
    person: dict[str, Any] = {
        "user_id": session.user_id,
        "parent_user_id": session.parent_user_id,
        "user_name": session.name,
        "id": session.participant_user_id,
        "participant_uuid": session.participant_uuid,
    }
    if joined:
        when = session.join_time
        person["join_time"] = zoom_time(when)
    else:
        assert session.leave_time is not None
        when = session.leave_time
        person.update(leave_time=zoom_time(when), leave_reason=session.leave_reason)
    person.update(email=session.email, registrant_id=session.registrant_id)
    person["participant_user_id"] = session.participant_user_id
    event = "participant_joined_breakout_room" if joined else "participant_left_breakout_room"
    return _about(meeting, instance, event, person, epoch_ms(when), breakout_room_uuid=room_uuid)


def bind(
    meeting: Meeting, instance: Instance, phone: Session, attendee: Session, bind_user_id: str, when: datetime
) -> dict[str, Any]:
    """`*.participant_bind`: a phone caller linked to an attendee's computer session.

    Both schemas require `join_time` (when the phone joined); the meeting's also lists `date_time`
    ("when the participant is bond") without listing `join_time`, so a meeting's bind carries both.
    """
    person: dict[str, Any] = {
        "user_id": phone.user_id,
        "bind_user_id": bind_user_id,
        "user_name": phone.name,
        "id": phone.participant_user_id,
        "participant_uuid": phone.participant_uuid,
        "bind_participant_uuid": attendee.participant_uuid,
    }
    if meeting.kind == "meeting":
        person["date_time"] = zoom_time(when)
    person.update(
        registrant_id=attendee.registrant_id, phone_number=phone.phone_number, join_time=zoom_time(phone.join_time)
    )
    return _about(meeting, instance, "participant_bind", person, epoch_ms(when))


def participant(meeting: Meeting, instance: Instance, session: Session, joined: bool, event_ts: int) -> dict[str, Any]:
    action = "participant_joined" if joined else "participant_left"
    return _about(meeting, instance, action, _participant(session, joined), event_ts)


def registration(
    meeting: Meeting,
    registrant: Registrant,
    action: str,
    event_ts: int,
    operator: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """`registration_created`, `_approved`, `_cancelled` or `_denied`."""
    person: dict[str, Any] = {
        "id": registrant.id,
        "first_name": registrant.first_name,
        "last_name": registrant.last_name,
        "email": registrant.email,
    }
    # What each event carries differs, and webinars' schemas allow nothing more.
    if action == "created":
        person.update(status=registrant.status, join_url=registrant.join_url)
    elif action == "approved":
        person["join_url"] = registrant.join_url
    if action in ("created", "approved") and meeting.kind == "meeting":
        person["participant_pin_code"] = registrant.participant_pin_code
    obj = {"uuid": meeting.uuid, "id": meeting.id, "host_id": meeting.host_id, **_schedule(meeting)}
    obj["registrant"] = person
    payload: dict[str, Any] = {"account_id": meeting.account_id}
    if operator is not None:
        payload["operator"], payload["operator_id"] = operator
    payload["object"] = obj
    return envelope(f"{meeting.kind}.registration_{action}", payload, event_ts)


def app_deauthorized(
    account_id: str, user_id: str, client_id: str, signature: str, when: str, event_ts: int
) -> dict[str, Any]:
    payload = {
        "account_id": account_id,
        "user_id": user_id,
        "signature": signature,
        "deauthorization_time": when,
        "client_id": client_id,
    }
    return envelope("app_deauthorized", payload, event_ts)
