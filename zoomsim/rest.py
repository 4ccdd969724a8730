"""Zoom's REST API under /v2: users, meetings and webinars, registrants, past meetings and reports.

Before any view runs, `gate` does what Zoom's edge does, in this order: the
bearer token (401 code 124), its scopes (400 code 4711), the account's rate
limit for the endpoint's category (429), and the request against Zoom's OpenAPI
description (400 code 300). Views hold the world's lock while they change it.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Response, g, jsonify, request

from zoomsim import errors
from zoomsim.app import simulator
from zoomsim.endpoints import BY_NAME, Endpoint
from zoomsim.errors import ZoomError
from zoomsim.times import zoom_time
from zoomsim.world import APPROVED, DENIED, PENDING, Meeting, World

log = logging.getLogger("zoomsim")
bp = Blueprint("rest", __name__)
_ENDPOINTS: dict[str, Endpoint] = {}
KINDS = (("meeting", "meetingId"), ("webinar", "webinarId"))


def route(method: str, path: str, name: str, view: Callable[..., Any]) -> None:
    endpoint = BY_NAME[f"{method} {path}"]
    bp.add_url_rule(endpoint.flask_rule, endpoint=name, view_func=view, methods=[method])
    _ENDPOINTS[f"{bp.name}.{name}"] = endpoint


def _endpoint() -> Endpoint:
    return _ENDPOINTS[request.endpoint or ""]


@bp.before_request
def gate():
    endpoint = _ENDPOINTS.get(request.endpoint or "")
    if endpoint is None:
        return None  # Flask answers 404/405
    sim = simulator()
    g.endpoint_name = endpoint.name
    g.world = world = sim.world  # one world for the whole request, even if a test resets meanwhile
    with world.lock:
        grant = world.authenticate(request.headers.get("Authorization"))
        account = world.accounts[grant.account_id]
    g.grant, g.account_id = grant, grant.account_id
    if not set(endpoint.scopes) & set(grant.scopes):
        raise errors.missing_scopes(endpoint.scopes)
    g.rate = sim.limiter.admit(account.id, account.limits, endpoint.category, time.monotonic(), world.now())
    g.rate_headers = g.rate.headers
    raw = request.get_data(cache=True)
    g.body = None
    if raw.strip():
        try:
            g.body = json.loads(raw)
        except ValueError:
            raise ZoomError(400, 300, "Request Body should be a valid JSON object.") from None
        if not isinstance(g.body, dict):
            raise ZoomError(400, 300, "Request Body should be a valid JSON object.")
    if sim.validator is not None:
        query = {name: request.args.getlist(name) for name in request.args}
        problems = sim.validator.request_errors(request.method, endpoint.path, query, g.body, bool(raw.strip()))
        if problems:
            g.validation_errors = problems
            log.warning("zoomsim: %s does not match Zoom's API description: %s", endpoint.name, problems)
            raise errors.validation_failed(problems)
    return None


def _world() -> World:
    return g.world


def _body() -> dict[str, Any]:
    return g.body or {}


def _no_content() -> Response:
    return Response(status=204)


def _page_size(default: int = 30) -> int:
    raw = request.args.get("page_size")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 300:
        raise errors.invalid_field("page_size", "page_size must be between 1 and 300.")
    return int(raw)


def _paged(key: str, items: list[Any], field: str, **extra: Any) -> dict[str, Any]:
    size = _page_size()
    chunk, next_token = _world().page(key, items, size, request.args.get("next_page_token") or None)
    return {
        "next_page_token": next_token,
        "page_count": math.ceil(len(items) / size) if items else 0,
        "page_size": size,
        "total_records": len(items),
        **extra,
        field: chunk,
    }


def path_ref(endpoint: Endpoint) -> str:
    """The meeting id or uuid as Zoom reads it from the raw path.

    Zoom's gateway decodes a path once before routing, so a uuid that starts with
    `/` or holds `//` survives only double-encoded; encoded once, it no longer
    names a meeting and the answer is 404. Not encoded at all, a `/` in it is a
    path separator, and the path names nothing.
    """
    raw_path = (request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path).split("?")[0]
    segments = raw_path.split("/")[2:]  # drop "" and "v2"
    template = endpoint.path.split("/")[1:]
    at = template.index("{" + str(endpoint.uuid_param) + "}")
    tail = len(template) - at - 1
    if len(segments) != len(template):
        # A literal `/` inside the uuid: Zoom routes the extra segments nowhere.
        raise errors.meeting_not_found("/".join(segments[at : len(segments) - tail]))
    once = unquote(segments[at])
    if "%" in once:
        return unquote(once)
    if once.startswith("/") or "//" in once:
        raise errors.meeting_not_found(once)
    return once


# --- users ---------------------------------------------------------------------------------


def get_user(userId: str):
    world = _world()
    with world.lock:
        user = world.user_for(userId, g.grant)
        world.require_reach(g.grant, _endpoint(), user.id)
        account = world.accounts[user.account_id]
        return jsonify(
            {
                "id": user.id,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "display_name": user.display_name,
                "email": user.email,
                "type": user.type,
                "role_name": user.role_name,
                "pmi": user.pmi,
                "use_pmi": False,
                "personal_meeting_url": f"{world.public_url or 'https://zoom.us'}/j/{user.pmi}",
                "timezone": user.timezone,
                "verified": 1,
                "dept": "",
                "created_at": zoom_time(user.created_at),
                "user_created_at": zoom_time(user.created_at),
                "last_login_time": zoom_time(user.created_at),
                "language": "en-US",
                "phone_number": "",
                "status": "active",
                "role_id": "0" if user.id == account.owner_id else "2",
                "account_id": user.account_id,
                "account_number": account.number,
                "cluster": "us06",
                "login_types": [100],
            }
        )


def get_user_settings(userId: str):
    world = _world()
    with world.lock:
        user = world.user_for(userId, g.grant)
        world.require_reach(g.grant, _endpoint(), user.id)
        return jsonify(
            {
                "feature": {
                    "meeting_capacity": user.meeting_capacity,
                    "large_meeting": False,
                    "webinar": user.webinar,
                    "webinar_capacity": user.webinar_capacity,
                    "zoom_events": False,
                    "cn_meeting": False,
                    "in_meeting": False,
                },
                "schedule_meeting": {"host_video": False, "participants_video": False, "join_before_host": False},
            }
        )


route("GET", "/users/{userId}", "get_user", get_user)
route("GET", "/users/{userId}/settings", "get_user_settings", get_user_settings)


# --- meetings and webinars -------------------------------------------------------------------


def _meeting(kind: str, ref: str) -> Meeting:
    world = _world()
    meeting = world.meeting(kind, ref, g.grant.account_id)
    world.require_reach(g.grant, _endpoint(), meeting.host_id)
    return meeting


def _charge_host(host_id: str) -> None:
    world = _world()
    account = world.accounts[g.grant.account_id]
    simulator().limiter.charge_host(host_id, account.limits, world.now(), g.rate)


def create(kind: str, userId: str):
    world = _world()
    with world.lock:
        host = world.user_for(userId, g.grant)
        world.require_reach(g.grant, _endpoint(), host.id)
        _charge_host(host.id)
        meeting = world.create_meeting(kind, host, _body(), world.operator(g.grant))
        return jsonify(world.meeting_view(meeting)), 201


def list_hosted(kind: str, userId: str):
    world = _world()
    with world.lock:
        user = world.user_for(userId, g.grant)
        world.require_reach(g.grant, _endpoint(), user.id)
        hosted = world.hosted_by(user, kind)
        if kind == "webinar":
            size, raw_number = _page_size(), request.args.get("page_number") or "1"
            if not raw_number.isdigit() or int(raw_number) < 1:
                raise errors.invalid_field("page_number")
            number = int(raw_number)
            rows = [world.meeting_summary(m) for m in hosted]
            return jsonify(
                page_count=math.ceil(len(rows) / size) if rows else 0,
                page_number=number,
                page_size=size,
                total_records=len(rows),
                next_page_token="",
                webinars=rows[(number - 1) * size : number * size],
            )
        wanted = request.args.get("type", "scheduled")
        hosted = [m for m in hosted if m.type != 1]  # Zoom lists no instant meetings
        now = world.now()
        if wanted == "live":
            hosted = [m for m in hosted if m.live]
        elif wanted in ("upcoming", "upcoming_meetings"):
            hosted = [m for m in hosted if m.start_time >= now or m.live]
        elif wanted == "previous_meetings":
            hosted = [m for m in hosted if any(i.end_time for i in m.instances)]
        rows = [world.meeting_summary(m) for m in hosted]
        return jsonify(_paged(f"meetings:{user.id}:{wanted}", rows, "meetings", page_number=1))


def read(kind: str, ref: str):
    world = _world()
    with world.lock:
        return jsonify(world.meeting_view(_meeting(kind, ref)))


def update(kind: str, ref: str):
    world = _world()
    with world.lock:
        meeting = _meeting(kind, ref)
        _charge_host(meeting.host_id)
        world.update_meeting(meeting, _body(), world.operator(g.grant))
    return _no_content()


def delete(kind: str, ref: str):
    world = _world()
    with world.lock:
        world.delete_meeting(_meeting(kind, ref), world.operator(g.grant))
    return _no_content()


def set_status(kind: str, ref: str):
    world = _world()
    action = _body().get("action")
    with world.lock:
        if action == "recover" and kind == "meeting":
            world.recover_meeting(kind, ref, g.grant.account_id, world.operator(g.grant))
        elif action == "end":
            meeting = _meeting(kind, ref)
            if meeting.live:
                world.end(meeting)
        else:
            raise errors.invalid_field("action")
    return _no_content()


# --- registrants ---------------------------------------------------------------------------


def list_registrants(kind: str, ref: str):
    world = _world()
    status = request.args.get("status", APPROVED)
    if status not in (APPROVED, PENDING, DENIED):
        raise errors.invalid_field("status")
    with world.lock:
        meeting = _meeting(kind, ref)
        rows = [world.registrant_view(r) for r in world.registrants(meeting, status)]
        return jsonify(_paged(f"registrants:{meeting.id}:{status}", rows, "registrants", page_number=1))


def add_registrant(kind: str, ref: str):
    sim = simulator()
    world = _world()
    body = _body()
    with world.lock:
        meeting = _meeting(kind, ref)
        account = world.accounts[meeting.account_id]
        sim.limiter.charge_registration(meeting.id, str(body.get("email") or ""), account.limits, world.now())
        registrant, _ = world.register(meeting, body)
        return jsonify(world.registrant_answer(meeting, registrant)), 201


def batch_registrants(kind: str, ref: str):
    world = _world()
    body = _body()
    people = body.get("registrants") or []
    with world.lock:
        meeting = _meeting(kind, ref)
        scheduled = 2 if kind == "meeting" else 5
        if meeting.type != scheduled:
            raise ZoomError(
                400,
                303,
                f"This API can only be used for scheduled {kind}({kind} type: {scheduled}). "
                f"Batch registration is not supported for other {kind} types.",
            )
        if not meeting.registration_on:
            raise ZoomError(400, 404, f"Registration has not been enabled for this {kind}: {meeting.id}.")
        if not isinstance(people, list) or not 1 <= len(people) <= 30 or not all(isinstance(p, dict) for p in people):
            raise errors.invalid_field("registrants", "Between 1 and 30 registrants at once.")
        answers = []
        for person in people:
            person = {**person, "auto_approve": body.get("auto_approve", False)}
            registrant, _ = world.register(meeting, person)
            answers.append(
                {
                    "email": registrant.email,
                    "join_url": registrant.join_url,
                    "registrant_id": registrant.id,
                    "participant_pin_code": registrant.participant_pin_code,
                }
            )
        return jsonify(registrants=answers), 201


def registrant_status(kind: str, ref: str):
    world = _world()
    body = _body()
    action = body.get("action")
    refs = body.get("registrants") or []
    if action not in ("approve", "cancel", "deny"):
        raise errors.invalid_field("action")
    if not isinstance(refs, list) or len(refs) > 30 or not all(isinstance(r, dict) for r in refs):
        raise errors.invalid_field("registrants", "At most 30 registrants at once, each {id, email}.")
    sim = simulator()
    with world.lock:
        meeting = _meeting(kind, ref)
        limits = world.accounts[meeting.account_id].limits
        for registrant in world.status_changes(meeting, action, refs):
            sim.limiter.charge_status_change(meeting.id, registrant.email, limits, world.now())
        world.set_registrant_status(meeting, action, refs, world.operator(g.grant))
    return _no_content()


def remove_registrant(kind: str, ref: str, registrant_id: str):
    world = _world()
    with world.lock:
        world.delete_registrant(_meeting(kind, ref), registrant_id, world.operator(g.grant))
    return _no_content()


# --- past meetings and reports ---------------------------------------------------------------


def _past(kind: str):
    world = _world()
    instance = world.past_instance(kind, path_ref(_endpoint()), g.grant.account_id)
    meeting = world.meetings[instance.meeting_id]
    world.require_reach(g.grant, _endpoint(), meeting.host_id)
    return world, instance


def report_participants(kind: str, _ref: str):
    world = _world()
    ref = path_ref(_endpoint())
    with world.lock:
        try:
            _, instance = _past(kind)
        except ZoomError as exc:
            raise errors.report_not_found(ref, kind) from exc
        if not world.report_ready(instance):
            raise errors.report_not_found(ref, kind)
        include = request.args.get("include_fields") == "registrant_id"
        rows = world.participant_rows(instance, report=True, include_registrant=include)
        return jsonify(_paged(f"report:{instance.uuid}:{include}", rows, "participants"))


def past_participants(kind: str, _ref: str):
    with _world().lock:
        world, instance = _past(kind)
        rows = world.participant_rows(instance, report=False, include_registrant=True)
        return jsonify(_paged(f"past:{instance.uuid}", rows, "participants"))


def past_instances(kind: str, _ref: str):
    world = _world()
    ref = path_ref(_endpoint())
    with world.lock:
        meeting = world.meetings.get(int(ref)) if ref.isdigit() else None
        if meeting is None or meeting.kind != kind or meeting.account_id != g.grant.account_id:
            raise errors.meeting_not_found(ref, kind)
        world.require_reach(g.grant, _endpoint(), meeting.host_id)
        rows = [{"uuid": i.uuid, "start_time": zoom_time(i.start_time)} for i in meeting.instances if i.end_time]
        return jsonify(meetings=rows) if kind == "meeting" else jsonify(webinars=rows)


def _bind(view: Callable[..., Any], kind: str) -> Callable[..., Any]:
    """A view for one kind; Flask passes the path parameters by Zoom's names (meetingId, webinarId...)."""

    def bound(**params: str):
        ref = params.pop("meetingId", None) or params.pop("webinarId", None)
        if "registrantId" in params:
            return view(kind, ref, params["registrantId"])
        if "userId" in params:
            return view(kind, params["userId"])
        return view(kind, ref)

    return bound


for _kind, _param in KINDS:
    _plural = f"{_kind}s"
    _one = f"/{_plural}/{{{_param}}}"
    route("POST", f"/users/{{userId}}/{_plural}", f"create_{_kind}", _bind(create, _kind))
    route("GET", f"/users/{{userId}}/{_plural}", f"list_{_plural}", _bind(list_hosted, _kind))
    route("GET", _one, f"get_{_kind}", _bind(read, _kind))
    route("PATCH", _one, f"update_{_kind}", _bind(update, _kind))
    route("DELETE", _one, f"delete_{_kind}", _bind(delete, _kind))
    route("PUT", f"{_one}/status", f"{_kind}_status", _bind(set_status, _kind))
    route("GET", f"{_one}/registrants", f"list_{_kind}_registrants", _bind(list_registrants, _kind))
    route("POST", f"{_one}/registrants", f"add_{_kind}_registrant", _bind(add_registrant, _kind))
    route("POST", f"{_one}/batch_registrants", f"batch_{_kind}_registrants", _bind(batch_registrants, _kind))
    route("PUT", f"{_one}/registrants/status", f"{_kind}_registrant_status", _bind(registrant_status, _kind))
    route(
        "DELETE",
        f"{_one}/registrants/{{registrantId}}",
        f"remove_{_kind}_registrant",
        _bind(remove_registrant, _kind),
    )
    route("GET", f"/report/{_plural}/{{{_param}}}/participants", f"report_{_kind}", _bind(report_participants, _kind))
    route(
        "GET",
        f"/past_{_plural}/{{{_param}}}/participants",
        f"past_{_kind}_participants",
        _bind(past_participants, _kind),
    )
    route("GET", f"/past_{_plural}/{{{_param}}}/instances", f"past_{_kind}_instances", _bind(past_instances, _kind))
