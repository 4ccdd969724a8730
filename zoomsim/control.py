"""The levers under /_sim/ for tests and the demo (registered only when the simulator runs with control on).

They do what a person would do in Zoom itself (edit or delete a meeting in the
web portal, start it, join it from two devices, remove the app) and what a test
needs around that: faults, delivery order, the clock, and reading back every
request received and every webhook sent. Changes made here emit the same
webhooks as changes made through the API.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, request

from zoomsim import life
from zoomsim.app import simulator
from zoomsim.faults import parse_fault
from zoomsim.times import parse_start_time, zoom_time
from zoomsim.world import App, Meeting, SimUsageError, World

bp = Blueprint("control", __name__, url_prefix="/_sim")


def _json() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if body is None and request.get_data().strip():
        raise SimUsageError("body is not JSON")
    if body is not None and not isinstance(body, dict):
        raise SimUsageError("body must be a JSON object")
    return body or {}


def _at(body: dict[str, Any], name: str = "at"):
    if body.get(name) is None:
        return None
    moment = parse_start_time(body[name], "UTC")
    if moment is None:
        raise SimUsageError(f"{name} must be yyyy-MM-ddTHH:mm:ssZ")
    return moment


def _meeting(world: World, meeting_id: int) -> Meeting:
    meeting = world.meetings.get(meeting_id)
    if meeting is None or meeting.deleted:
        raise SimUsageError(f"no meeting or webinar {meeting_id}", 404)
    return meeting


def _portal_operator(world: World, meeting: Meeting, body: dict[str, Any]) -> tuple[str, str]:
    email = body.pop("operator", None) or meeting.host_email
    user = next((u for u in world.users.values() if u.email.lower() == email.lower()), None)
    return email, user.id if user else world.users[meeting.host_id].id


def _user_view(world: World, user_id: str) -> dict[str, Any]:
    user = world.users[user_id]
    return {k: v for k, v in user.__dict__.items() if k != "created_at"}


# --- the world ------------------------------------------------------------------------------


@bp.get("/state")
def state():
    sim = simulator()
    world = sim.world
    with world.lock:
        return jsonify(
            validation=sim.describe(),
            validating=sim.validator is not None,
            clock_offset=sim.clock.offset,
            accounts=[{"id": a.id, "plan": a.plan, "owner_id": a.owner_id} for a in world.accounts.values()],
            users=[_user_view(world, uid) for uid in world.users],
            apps=[{"client_id": a.client_id, "kind": a.kind, "account_id": a.account_id} for a in world.apps.values()],
            meetings=len(world.meetings),
            webhooks=sim.dispatcher.settings(),
        )


@bp.post("/reset")
def reset():
    simulator().reset()
    return jsonify(reset=True)


@bp.post("/accounts")
def add_account():
    body = _json()
    world = simulator().world
    with world.lock:
        account = world.add_account(body.get("id"), body.get("plan", "pro"), **(body.get("limits") or {}))
        return jsonify(id=account.id, plan=account.plan), 201


@bp.put("/accounts/<account_id>/limits")
def set_limits(account_id: str):
    body = _json()
    world = simulator().world
    with world.lock:
        account = world.accounts.get(account_id)
        if account is None:
            raise SimUsageError(f"no account {account_id}", 404)
        try:
            account.limits = account.limits.with_overrides(**body)
        except (TypeError, ValueError) as exc:
            raise SimUsageError(f"bad limits: {exc}") from exc
        return jsonify(
            per_window=account.limits.per_window,
            heavy_daily=account.limits.heavy_daily,
            host_daily=account.limits.host_daily,
        )


@bp.post("/users")
def add_user():
    body = _json()
    world = simulator().world
    options = {
        k: body[k]
        for k in (
            "type",
            "first_name",
            "last_name",
            "timezone",
            "role_name",
            "meeting_capacity",
            "webinar",
            "webinar_capacity",
        )
        if k in body
    }
    with world.lock:
        account_id = body.get("account_id") or simulator().config.account_id
        user = world.add_user(account_id, str(body.get("email") or ""), user_id=body.get("id"), **options)
        return jsonify(_user_view(world, user.id)), 201


@bp.post("/apps")
def add_app():
    body = _json()
    world = simulator().world
    kind = body.get("kind", "user")
    if kind not in ("user", "s2s") or not body.get("client_id") or not body.get("client_secret"):
        raise SimUsageError("an app needs kind (user or s2s), client_id and client_secret")
    with world.lock:
        app = App(
            body["client_id"],
            body["client_secret"],
            kind,
            tuple(body.get("scopes") or simulator().config.scopes),
            tuple(body.get("redirect_uris") or ()),
            body.get("account_id") or (simulator().config.account_id if kind == "s2s" else None),
        )
        world.apps[app.client_id] = app
        return jsonify(client_id=app.client_id, kind=app.kind, scopes=list(app.scopes)), 201


@bp.put("/oauth")
def oauth_settings():
    """Who approves at /oauth/authorize (an email or user id of the simulator)."""
    body = _json()
    world = simulator().world
    with world.lock:
        ref = str(body.get("authorizing_user") or "")
        user = next((u for u in world.users.values() if ref in (u.id, u.email)), None)
        if user is None:
            raise SimUsageError(f"no user {ref}", 404)
        world.authorizing_user = user.id
        return jsonify(authorizing_user=user.id)


@bp.post("/tokens/expire")
def expire_tokens():
    world = simulator().world
    with world.lock:
        return jsonify(expired=world.expire_tokens())


@bp.post("/clock")
def move_clock():
    """Move the simulator's clock by `advance` seconds: forward past a token's life or to the next day, or back."""
    body = _json()
    sim = simulator()
    sim.clock.offset += float(body.get("advance", 0))
    return jsonify(offset=sim.clock.offset, now=zoom_time(sim.world.now()))


@bp.post("/deauthorize")
def deauthorize():
    body = _json()
    sim = simulator()
    with sim.world.lock:
        client_id = body.get("client_id") or sim.config.client_id
        installation = sim.world.deauthorize(client_id, str(body.get("user_id") or ""))
        return jsonify(account_id=installation.account_id, user_id=installation.user_id)


# --- meetings as in Zoom's own web portal and client ------------------------------------------


@bp.post("/meetings")
def portal_create():
    """Schedule as a host would in the web portal; any type is allowed here (PMI 4, recurring 3/8...)."""
    body = _json()
    world = simulator().world
    kind = body.pop("kind", "meeting")
    if kind not in ("meeting", "webinar"):
        raise SimUsageError("kind must be meeting or webinar")
    with world.lock:
        host_ref = str(body.pop("host", "") or world.accounts[simulator().config.account_id].owner_id)
        host = next((u for u in world.users.values() if host_ref in (u.id, u.email)), None)
        if host is None:
            raise SimUsageError(f"no user {host_ref}", 404)
        meeting = world.create_meeting(kind, host, body, (host.email, host.id), source="web_portal")
        return jsonify(world.meeting_view(meeting)), 201


@bp.get("/meetings/<int:meeting_id>")
def inspect(meeting_id: int):
    world = simulator().world
    with world.lock:
        meeting = world.meetings.get(meeting_id)
        if meeting is None:
            raise SimUsageError(f"no meeting or webinar {meeting_id}", 404)
        view = world.meeting_view(meeting)
        view.update(
            kind=meeting.kind,
            deleted=meeting.deleted,
            registrants=[{**world.registrant_view(r), "token": r.token} for r in meeting.registrants.values()],
            instances=[
                {
                    "uuid": i.uuid,
                    "start_time": zoom_time(i.start_time),
                    "end_time": i.end_time and zoom_time(i.end_time),
                    "sessions": [
                        {
                            **{k: v for k, v in s.__dict__.items() if not k.endswith("_time")},
                            "join_time": zoom_time(s.join_time),
                            "leave_time": s.leave_time and zoom_time(s.leave_time),
                        }
                        for s in i.sessions
                    ],
                    "attendance": world.attendance(i) if i.end_time else None,
                }
                for i in meeting.instances
            ],
        )
        return jsonify(view)


@bp.patch("/meetings/<int:meeting_id>")
def portal_edit(meeting_id: int):
    """Edit in Zoom's UI: the same `*.updated` webhook as an API change, with the host (or `operator`) as operator."""
    body = _json()
    world = simulator().world
    with world.lock:
        meeting = _meeting(world, meeting_id)
        operator = _portal_operator(world, meeting, body)
        changed = world.update_meeting(meeting, body, operator, from_portal=True)
        return jsonify(changed=changed)


@bp.delete("/meetings/<int:meeting_id>")
def portal_delete(meeting_id: int):
    body = _json()
    world = simulator().world
    with world.lock:
        meeting = _meeting(world, meeting_id)
        world.delete_meeting(meeting, _portal_operator(world, meeting, body))
        return jsonify(deleted=True)


@bp.post("/meetings/<int:meeting_id>/start")
def start(meeting_id: int):
    body = _json()
    world = simulator().world
    with world.lock:
        practice = body.get("practice", False)
        if not isinstance(practice, bool):
            raise SimUsageError("practice must be true or false")
        instance = world.start(_meeting(world, meeting_id), _at(body), body.get("uuid"), practice=practice)
        return jsonify(uuid=instance.uuid, start_time=zoom_time(instance.start_time))


@bp.post("/meetings/<int:meeting_id>/join")
def join(meeting_id: int):
    body = _json()
    if not body.get("name"):
        raise SimUsageError("a participant needs a name")
    world = simulator().world
    with world.lock:
        session = world.join(
            _meeting(world, meeting_id),
            name=body["name"],
            email=body.get("email") or "",
            at=_at(body),
            participant_user_id=body.get("zoom_user_id") or "",
            participant_uuid=body.get("participant_uuid") or "",
            registrant_id=body.get("registrant_id") or "",
        )
        return jsonify(
            user_id=session.user_id, participant_uuid=session.participant_uuid, registrant_id=session.registrant_id
        )


@bp.post("/meetings/<int:meeting_id>/leave")
def leave(meeting_id: int):
    body = _json()
    world = simulator().world
    with world.lock:
        session = world.leave(
            _meeting(world, meeting_id),
            str(body.get("user_id") or ""),
            _at(body),
            lose_event=bool(body.get("lose_event")),
        )
        return jsonify(user_id=session.user_id, leave_time=zoom_time(session.leave_time))


@bp.post("/meetings/<int:meeting_id>/end")
def end(meeting_id: int):
    body = _json()
    world = simulator().world
    with world.lock:
        instance = world.end(_meeting(world, meeting_id), _at(body))
        return jsonify(uuid=instance.uuid, end_time=zoom_time(instance.end_time), attendance=world.attendance(instance))


@bp.post("/meetings/<int:meeting_id>/play")
def play(meeting_id: int):
    body = _json()
    world = simulator().world
    with world.lock:
        return jsonify(life.play(world, _meeting(world, meeting_id), body))


# --- requests and webhooks ------------------------------------------------------------------


def _since() -> int:
    raw = request.args.get("since", "0")
    return int(raw) if raw.isdigit() else 0


@bp.get("/requests")
def requests_received():
    sim = simulator()
    path = request.args.get("path")
    rows = [r for r in list(sim.requests) if r["id"] > _since() and (not path or path in r["path"])]
    return jsonify(items=rows)


@bp.delete("/requests")
def clear_requests():
    simulator().requests.clear()
    return jsonify(cleared=True)


@bp.get("/webhooks")
def deliveries():
    dispatcher = simulator().dispatcher
    event = request.args.get("event")
    rows = [d for d in list(dispatcher.deliveries) if not event or d["event"] == event]
    return jsonify(items=rows, pending=dispatcher.pending(), settings=dispatcher.settings())


@bp.get("/webhooks/events")
def messages():
    """Every webhook body the simulator produced (duplicates included), in the order produced."""
    dispatcher = simulator().dispatcher
    rows = []
    for m in list(dispatcher.messages):
        if m.id > _since():
            row: dict[str, Any] = {"id": m.id, "event": m.event, "duplicate_of": m.duplicate_of}
            try:
                row["body"] = json.loads(m.body)
            except ValueError:  # a raw body a test sent on purpose
                row["raw"] = m.body.decode("utf-8", "replace")
            rows.append(row)
    return jsonify(items=rows)


@bp.put("/webhooks/settings")
def webhook_settings():
    body = _json()
    try:
        return jsonify(simulator().dispatcher.configure(**body))
    except (TypeError, ValueError) as exc:
        raise SimUsageError(str(exc)) from exc


@bp.post("/webhooks/flush")
def flush():
    body = _json()
    try:
        sent = simulator().dispatcher.flush(body.get("order"), body.get("duplicate_share"))
    except ValueError as exc:
        raise SimUsageError(str(exc)) from exc
    return jsonify(flushed=sent)


@bp.post("/webhooks/wait")
def wait():
    body = _json()
    dispatcher = simulator().dispatcher
    idle = dispatcher.wait_idle(float(body.get("timeout", 30)))
    return jsonify(idle=idle, pending=dispatcher.pending())


@bp.post("/webhooks/send")
def send():
    """Sign and deliver a body a test wrote: `{"body": {...}}`, or `{"raw": "..."}` for bytes as they are."""
    body = _json()
    dispatcher = simulator().dispatcher
    if "raw" in body:
        message = dispatcher.submit_raw(str(body["raw"]).encode("utf-8"), event=str(body.get("event", "")))
        return jsonify(message_id=message.id)
    if not isinstance(body.get("body"), dict):
        raise SimUsageError("send needs body (an object) or raw (a string)")
    [message] = dispatcher.submit([body["body"]])
    return jsonify(message_id=message.id)


@bp.post("/webhooks/validate")
def validate():
    body = _json()
    dispatcher = simulator().dispatcher
    targets = [body["target"]] if body.get("target") else dispatcher.targets
    return jsonify(results={target: dispatcher.validate_endpoint(target) for target in targets})


@bp.get("/faults")
def faults():
    return jsonify(items=simulator().faults.describe())


@bp.post("/faults")
def add_fault():
    try:
        fault = parse_fault(_json())
    except (TypeError, ValueError) as exc:
        raise SimUsageError(str(exc)) from exc
    simulator().faults.add(fault)
    return jsonify(fault.describe()), 201


@bp.delete("/faults")
def clear_faults():
    simulator().faults.clear()
    return jsonify(cleared=True)
