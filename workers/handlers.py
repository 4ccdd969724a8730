"""One small handler per Zoom event type, and the table that dispatches to them.

Handlers change the training and the participant facts; they never commit and
never look at Redis. Each one is safe to run twice and in any order (see
field_rules and intervals), which is what makes redelivery and reordering harmless.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import FieldChange, MeetingInstance, Notification, OutboxItem, Training, ZoomConnection, ZoomPush
from models.lms import THEME_MAX_LENGTH
from service import notices
from workers import field_rules, runs
from workers.intervals import JOIN, LEAVE
from workers.presence import ADMIT, BIND, PUT_BACK, WAITING_JOIN, WAITING_LEAVE


@dataclass
class Context:
    session: Session
    training: Training
    event_type: str
    dedupe_key: str
    event_ts: int | None
    # Set by handlers: what must be recomputed once the batch is applied.
    attendance_dirty: bool = False
    instances_dirty: bool = False
    report_due: bool = False  # the meeting ended: Zoom's participant report will follow
    push_due: bool = False  # Zoom holds an older value than the training: an outbox row waits
    # Join/leave facts collected for one bulk insert per batch (see reconcile).
    facts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.event_type.split(".", 1)[0]


def _ms_to_time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def on_updated(ctx: Context, event: dict[str, Any]) -> None:
    """Zoom's side of a two-way field: newest wins, our own pushes coming back change nothing.

    Whatever wins, what Zoom now holds is remembered (`zoom_confirmed`: value,
    when Zoom got it, and when that value was edited), so the push job knows
    what differs. When the training ends up with a newer value than the one Zoom
    holds (a push of ours overwrote a later Zoom edit, or the reverse), an
    outbox row sends it: the later edit wins on both sides. Every change is
    logged with what became of it.
    """
    payload = event["payload"]
    changed = payload["object"]
    training = ctx.training
    stamp = (payload.get("time_stamp") or event.get("event_ts") or 0, ctx.dedupe_key)
    stamps = dict(training.field_stamps or {})
    issue = field_rules.unsupported_change(ctx.kind, training.meeting_type, changed)
    if issue:
        if field_rules.newer(stamp, stamps.get("sync_issue")):
            training.sync_issue = issue
            stamps["sync_issue"] = list(stamp)
            training.field_stamps = stamps
        return
    zoom_changed = {name: changed[name] for name in field_rules.ZOOM_TO_TRAINING if name in changed}
    confirmed = dict(training.zoom_confirmed or {})
    last_zoom = {name: entry[1][0] for name, entry in confirmed.items() if entry[1][1] == "zoom"}
    old = payload.get("old_object") or {}
    echoed = field_rules.echoes(zoom_changed, old, _recent_pushes(ctx, stamp[0]), last_zoom, stamp[0])
    for name, value in zoom_changed.items():
        if name not in confirmed or stamp[0] >= confirmed[name][1][0]:
            source, origin = ("push", echoed[name]) if name in echoed else ("zoom", stamp[0])
            confirmed[name] = [field_rules.zoom_spelling(value), [stamp[0], source], origin]
    training.zoom_confirmed = confirmed
    accepted = field_rules.accepted_changes({k: v for k, v in changed.items() if k not in echoed}, stamp, stamps)
    applied = {change.attribute for change in accepted}
    before = {name: getattr(training, name) for name in applied}
    for change in accepted:
        if stamps.get(change.attribute, [0, ""])[1] == "lms":
            _lms_edit_lost(ctx, change.attribute)  # a later Zoom edit replaced it
        value = change.value[:THEME_MAX_LENGTH] if change.attribute == "theme" else change.value
        setattr(training, change.attribute, value)
        stamps[change.attribute] = list(stamp)
    training.field_stamps = stamps
    if applied & {"start_time", "timezone"}:
        ctx.instances_dirty = ctx.attendance_dirty = True  # which runs are the training's day may change
    order = list(notices.FIELD_LABELS)
    edits = {
        name: (before[name], getattr(training, name))
        for name in sorted(applied, key=order.index)
        if before[name] != getattr(training, name)
    }
    if edits:  # iSpring: the organizer hears of changes; the sweeper queues the sender
        notice = notices.changed(training.theme, training.timezone, edits, where="in Zoom")
        ctx.session.add(Notification.of(notice, training.organizer_id, training.id))
    for name, value in zoom_changed.items():
        attribute = field_rules.ZOOM_TO_TRAINING[name]
        outcome = "echo" if name in echoed else "applied" if attribute in applied else "lost"
        _log_change(ctx, attribute, value, stamp[0], outcome)
    behind = field_rules.zoom_behind(training, confirmed, stamps, names=zoom_changed)
    # An academy without a Zoom connection pushes nothing (as in service.lms._syncs).
    if behind and ctx.session.scalars(ZoomConnection.in_use(training.academy_id)).first() is not None:
        ctx.session.add(OutboxItem(training_id=training.id, kind="update", changes=behind))
        ctx.push_due = True


def _recent_pushes(ctx: Context, event_ms: int) -> list[field_rules.Push]:
    since = event_ms - field_rules.ECHO_WINDOW_MS - field_rules.CLOCK_SKEW_MS
    rows = ctx.session.scalars(
        select(ZoomPush)
        .where(ZoomPush.training_id == ctx.training.id, ZoomPush.sent_ms >= since)
        .order_by(ZoomPush.sent_ms.desc())
        .limit(50)
    )
    return [field_rules.Push(p.sent_ms, p.fields, p.previous or {}, p.origins or {}) for p in rows]


def _log_change(ctx: Context, attribute: str, value: Any, stamp_ms: int, outcome: str) -> None:
    spelled = value.isoformat() if isinstance(value, datetime) else value
    ctx.session.add(
        FieldChange(
            training_id=ctx.training.id,
            field=attribute,
            value={"v": spelled},
            source="zoom",
            stamp_ms=stamp_ms,
            outcome=outcome,
        )
    )


def _lms_edit_lost(ctx: Context, attribute: str) -> None:
    last = ctx.session.scalars(
        select(FieldChange)
        .where(
            FieldChange.training_id == ctx.training.id,
            FieldChange.field == attribute,
            FieldChange.source == "lms",
            FieldChange.outcome == "applied",
        )
        .order_by(FieldChange.id.desc())
    ).first()
    if last is not None:
        last.outcome = "lost"


def _instance(ctx: Context, event: dict[str, Any]) -> MeetingInstance:
    obj = event["payload"]["object"]
    uuid = obj.get("uuid") or ""
    if not uuid:
        raise ValidationError("payload.object.uuid is missing", field_name="uuid")
    instance = ctx.session.scalars(select(MeetingInstance).where(MeetingInstance.uuid == uuid)).first()
    if instance is None:
        instance = MeetingInstance(meeting_id=obj["id"], uuid=uuid)
        ctx.session.add(instance)
    ctx.instances_dirty = True
    ctx.attendance_dirty = True  # whether the run is the training decides whose time counts
    return instance


def on_started(ctx: Context, event: dict[str, Any]) -> None:
    instance = _instance(ctx, event)
    started = event["payload"]["object"].get("start_time") or _ms_to_time(ctx.event_ts)
    if started is not None and (instance.started_at is None or started < instance.started_at):
        instance.started_at = started
    # The training's status follows from all its runs (runs.summarise_runs): a webinar.started
    # does not say whether it is a practice session; only the webinar.ended does.


def on_ended(ctx: Context, event: dict[str, Any]) -> None:
    instance = _instance(ctx, event)
    obj = event["payload"]["object"]
    ended = obj.get("end_time") or _ms_to_time(ctx.event_ts)
    started = obj.get("start_time")
    if started is not None and (instance.started_at is None or started < instance.started_at):
        instance.started_at = started
    if ended is not None and (instance.ended_at is None or ended > instance.ended_at):
        instance.ended_at = ended
    if obj.get("practice_session"):
        instance.practice = True  # the panelists' rehearsal: no status, no attendance, no report
    # Joins without a leave close at the end; Zoom's report of a run that is the training follows.
    ctx.report_due = runs.why_not(ctx.training, instance.practice, instance.started_at, instance.ended_at) is None


def on_deleted(ctx: Context, event: dict[str, Any]) -> None:
    """Deleted in Zoom: the training is cancelled, unless it was held (the status follows from both: runs.py)."""
    training = ctx.training
    deleted = _ms_to_time(ctx.event_ts) or datetime.now(UTC)
    if training.cancelled_at is None or deleted < training.cancelled_at:
        training.cancelled_at = deleted
    was = training.status
    runs.summarise_runs(ctx.session, training)
    if training.status == "cancelled" and was != "cancelled":
        notice = notices.cancelled(training.theme, training.start_time, training.timezone, in_zoom=True)
        ctx.session.add(Notification.of(notice, training.organizer_id, training.id))


# Fields a fact gained after facts were first stored: in its key only when set, so the key of a plain
# join or leave, and with it the deduplication of a redelivery, stays what it was.
_LATER_FIELDS = ("room_uuid", "link_session_id", "link_participant_uuid")
# participant_left's leave_reason for someone who was only ever in the waiting room (Zoom's events spec).
_WAITING_ROOM_REASON = "waiting room"


def _participant_fact(ctx: Context, event: dict[str, Any], kind: str, *times: str) -> None:
    """Collect one participant fact; `times` are the participant's time fields, the first one set wins.

    Zoom's waiting-room events carry `date_time`, its room events `join_time` or
    `leave_time` (its examples show `date_time`), old payloads `date_time`: every
    handler names its own field first and falls back to the others.
    """
    obj = event["payload"]["object"]
    person = obj.get("participant")
    if person is None:
        raise ValidationError("payload.object.participant is missing", field_name="participant")
    at = next((person[name] for name in times if person[name] is not None), None) or _ms_to_time(ctx.event_ts)
    if at is None:
        raise ValidationError(f"participant has no {kind} time", field_name="participant")
    room = obj.get("breakout_room_uuid") or ""
    values = dict(
        meeting_id=obj["id"],
        meeting_uuid=obj.get("uuid") or "",
        kind=kind,
        at=at,
        session_id=person["user_id"][:64],
        participant_uuid=person["participant_uuid"][:128],
        participant_user_id=person["participant_user_id"][:64],
        registrant_id=person["registrant_id"][:64],
        email=person["email"][:320],
        name=person["user_name"][:255],
        room_uuid=room[:128],
        link_session_id=(person["parent_user_id"] if room else person["bind_user_id"])[:64],
        link_participant_uuid=person["bind_participant_uuid"][:128],
    )
    keyed = sorted(k for k in values if k != "at" and (k not in _LATER_FIELDS or values[k]))
    identity = "\x1f".join(str(values[k]) for k in keyed) + "\x1f" + at.isoformat()
    values["fact_key"] = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
    ctx.facts.append(values)
    ctx.attendance_dirty = True


def on_joined(ctx: Context, event: dict[str, Any]) -> None:
    _participant_fact(ctx, event, JOIN, "join_time", "date_time")


def on_left(ctx: Context, event: dict[str, Any]) -> None:
    """A leave; one whose reason is the waiting room ends a wait, never presence (the person was not admitted)."""
    reason = (event["payload"]["object"].get("participant") or {}).get("leave_reason", "")
    kind = WAITING_LEAVE if _WAITING_ROOM_REASON in reason.lower() else LEAVE
    _participant_fact(ctx, event, kind, "leave_time", "date_time")


def on_joined_waiting_room(ctx: Context, event: dict[str, Any]) -> None:
    _participant_fact(ctx, event, WAITING_JOIN, "date_time", "join_time")


def on_admitted(ctx: Context, event: dict[str, Any]) -> None:
    _participant_fact(ctx, event, ADMIT, "date_time", "join_time")


def on_put_in_waiting_room(ctx: Context, event: dict[str, Any]) -> None:
    _participant_fact(ctx, event, PUT_BACK, "date_time", "leave_time")


def on_left_waiting_room(ctx: Context, event: dict[str, Any]) -> None:
    _participant_fact(ctx, event, WAITING_LEAVE, "date_time", "leave_time")


def on_joined_breakout_room(ctx: Context, event: dict[str, Any]) -> None:
    """A stint in a room is its own session (a new user_id), tied to the main-room one by parent_user_id."""
    _participant_fact(ctx, event, JOIN, "join_time", "date_time")


def on_left_breakout_room(ctx: Context, event: dict[str, Any]) -> None:
    _participant_fact(ctx, event, LEAVE, "leave_time", "date_time")


def on_bind(ctx: Context, event: dict[str, Any]) -> None:
    """A phone caller bound to an attendee: the phone's session is that attendee's (bind_user_id)."""
    _participant_fact(ctx, event, BIND, "join_time", "date_time")


Handler = Callable[[Context, dict[str, Any]], None]

# Handlers that only collect facts into the context (no database access): they need no savepoint.
_FACT_HANDLERS: dict[str, Handler] = {
    "meeting.participant_joined_waiting_room": on_joined_waiting_room,
    "meeting.participant_admitted": on_admitted,
    "meeting.participant_left_waiting_room": on_left_waiting_room,
    "meeting.participant_put_in_waiting_room": on_put_in_waiting_room,
    "meeting.participant_joined_breakout_room": on_joined_breakout_room,
    "meeting.participant_left_breakout_room": on_left_breakout_room,
}
HANDLERS: dict[str, Handler] = {}
for _kind in ("meeting", "webinar"):
    _FACT_HANDLERS.update(
        {
            f"{_kind}.participant_joined": on_joined,
            f"{_kind}.participant_left": on_left,
            f"{_kind}.participant_bind": on_bind,
        }
    )
    HANDLERS.update(
        {
            f"{_kind}.updated": on_updated,
            f"{_kind}.started": on_started,
            f"{_kind}.ended": on_ended,
            f"{_kind}.deleted": on_deleted,
        }
    )
HANDLERS.update(_FACT_HANDLERS)
FACT_EVENTS = frozenset(_FACT_HANDLERS)
