"""The LMS JSON API under /api/v1: bearer-token auth, marshmallow validation, service-layer calls."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Response, jsonify, redirect, request
from marshmallow import Schema, ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from rules.time_formats import iso8601_z
from service import lms, meeting_control, zoom_connections
from service.api_schemas import (
    MAX_ID,
    AcademyIn,
    GuestAssignmentIn,
    RegistrantIn,
    RoleIn,
    ServerToServerIn,
    TrainingIn,
    UserIn,
    academy_out,
    attendance_item_out,
    connection_out,
    notification_out,
    training_out,
    training_patch_schema,
    user_out,
)
from service.errors import NotFound, ServiceError
from service.services import services
from workers.queues import enqueue_attendance, enqueue_notifications, request_push, request_reconcile

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
ACTING_USER_HEADER = "X-Acting-User"
OPENAPI_DOCUMENT = Path(__file__).with_name("openapi.json")
# Answered without the bearer token: the API's description holds no data, and clients read it before they have one.
PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})


@bp.before_request
def require_token():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    expected = services().settings.api_token
    header = request.headers.get("Authorization", "")
    given = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return jsonify(error="missing or invalid bearer token"), 401, {"WWW-Authenticate": "Bearer"}
    return None


@bp.before_request
def ids_in_range():
    """An id no column can hold names nothing: 404 before the database is asked (it would raise an overflow)."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound(f"{name} {value} not found")


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI document of this blueprint (service/openapi.json), checked against the app by the tests."""
    return Response(OPENAPI_DOCUMENT.read_bytes(), mimetype="application/json")


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    body = {"error": exc.message}
    if exc.fields:
        body["fields"] = exc.fields
    return jsonify(body), exc.status


@bp.errorhandler(IntegrityError)
def integrity_error(_exc: IntegrityError):
    """Two requests raced past the service layer's checks; the database's unique index decided."""
    return jsonify(error="conflicts with existing data (e.g. the same email or meeting at once)"), 409


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
def database_unavailable(exc: DBAPIError):
    """The database is away (a restart, a failover, a cut network): 503 and Retry-After, so the LMS tries again,
    as the webhook endpoint answers Zoom; never a 500, which says the request itself was wrong."""
    log.warning("database unavailable, answering 503: %s", type(exc.orig).__name__)
    return jsonify(error="the database is unavailable; try again shortly"), 503, {"Retry-After": "1"}


@bp.errorhandler(ValidationError)
def validation_error(exc: ValidationError):
    return jsonify(error="invalid request", fields=exc.messages), 422


def _load(schema: Schema) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError({"_body": ["Request body must be a JSON object."]})
    return schema.load(body)


def _run_follow_ups(follow_ups: lms.FollowUps) -> None:
    """After the commit: queue the jobs the change calls for. Redis down only delays them (sweeper)."""
    redis = services().redis
    try:
        for meeting_id in follow_ups.reconcile_meetings:
            request_reconcile(redis, meeting_id)
        for training_id in follow_ups.recompute_trainings:
            enqueue_attendance(redis, training_id)
        for training_id in follow_ups.push_trainings:
            request_push(redis, training_id)
        if follow_ups.notify:
            enqueue_notifications(redis)
    except RedisError:
        log.warning("redis unavailable; follow-up jobs %s not queued", follow_ups)


@bp.post("/academies")
def create_academy():
    data = _load(AcademyIn())
    with services().unit_of_work() as uow:
        academy = lms.create_academy(uow, data["name"], data["create_zoom_meetings"])
        uow.commit()
        return jsonify(academy_out(academy)), 201


@bp.patch("/academies/<int:academy_id>")
def update_academy(academy_id: int):
    data = _load(AcademyIn(partial=True))
    with services().unit_of_work() as uow:
        academy = lms.update_academy(uow, academy_id, data)
        uow.commit()
        return jsonify(academy_out(academy))


@bp.post("/users")
def create_user():
    data = _load(UserIn())
    with services().unit_of_work() as uow:
        user = lms.create_user(uow, data["email"], data["name"], data["zoom_user_id"], data["role"])
        uow.commit()
        return jsonify(user_out(user)), 201


@bp.get("/users/<int:user_id>/calendar.ics")
def user_calendar(user_id: int):
    """An iCalendar feed for the calling LMS to serve or proxy to the user's calendar app."""
    with services().unit_of_work() as uow:
        body = lms.calendar_feed(uow, user_id)
    return Response(body, mimetype="text/calendar", headers={"Content-Disposition": "inline; filename=trainings.ics"})


@bp.get("/users/<int:user_id>/notifications")
def user_notifications(user_id: int):
    with services().unit_of_work() as uow:
        return jsonify(items=[notification_out(n) for n in lms.notifications_of(uow, user_id)])


@bp.post("/roles")
def create_role():
    data = _load(RoleIn())
    with services().unit_of_work() as uow:
        role = lms.create_role(uow, data["name"], data["permissions"])
        uow.commit()
        return jsonify(id=role.id, name=role.name, permissions=role.permissions), 201


def _acting_id() -> int | None:
    """The LMS user the calling LMS acts for; None when absent or not an id (the service layer refuses then)."""
    value = request.headers.get(ACTING_USER_HEADER, "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def _change_training(change, *args, status: int = 200):
    """Run a service-layer change of a training as the acting user, commit, then queue its jobs; answer it."""
    follow_ups = lms.FollowUps()
    with services().unit_of_work() as uow:
        training = change(uow, _acting_id(), *args, follow_ups)
        uow.commit()
        body = training_out(training)
    _run_follow_ups(follow_ups)
    return jsonify(body), status


@bp.post("/trainings")
def create_training():
    return _change_training(lms.create_training, _load(TrainingIn()), status=201)


@bp.get("/trainings/<int:training_id>")
def get_training(training_id: int):
    with services().unit_of_work() as uow:
        return jsonify(training_out(lms.get_training(uow, training_id)))


@bp.patch("/trainings/<int:training_id>")
def update_training(training_id: int):
    return _change_training(lms.update_training, training_id, _load(training_patch_schema()))


@bp.delete("/trainings/<int:training_id>")
def cancel_training(training_id: int):
    return _change_training(lms.cancel_training, training_id)


@bp.post("/trainings/<int:training_id>/initiate")
def initiate_training(training_id: int):
    """UltiPro's "Initiate event": the Zoom meeting is created now if it was not at save."""
    return _change_training(lms.initiate_training, training_id)


@bp.post("/trainings/<int:training_id>/start")
def start_training(training_id: int):
    return jsonify(meeting_control.start_link(services(), _acting_id(), training_id))


@bp.post("/trainings/<int:training_id>/end")
def end_training(training_id: int):
    return jsonify(meeting_control.end_meeting(services(), _acting_id(), training_id)), 202


@bp.post("/trainings/<int:training_id>/zoom-meeting")
def recreate_zoom_meeting(training_id: int):
    """After "meeting missing in Zoom": create a new Zoom meeting for the training (new join links)."""
    return _change_training(lms.recreate_zoom_meeting, training_id, status=202)


@bp.delete("/trainings/<int:training_id>/registrants/<int:user_id>")
def remove_registrant(training_id: int, user_id: int):
    follow_ups = lms.FollowUps()
    with services().unit_of_work() as uow:
        lms.remove_registrant(uow, _acting_id(), training_id, user_id, follow_ups)
        uow.commit()
    _run_follow_ups(follow_ups)
    return "", 204


@bp.post("/trainings/<int:training_id>/registrants")
def add_registrant(training_id: int):
    data = _load(RegistrantIn())
    follow_ups = lms.FollowUps()
    with services().unit_of_work() as uow:
        registrant = lms.add_registrant(uow, _acting_id(), training_id, data["user_id"], follow_ups)
        uow.commit()
        body = {"id": registrant.id, "training_id": training_id, "user_id": registrant.user_id}
    _run_follow_ups(follow_ups)
    return jsonify(body), 201


@bp.get("/trainings/<int:training_id>/registrants")
def list_registrants(training_id: int):
    with services().unit_of_work() as uow:
        rows = lms.list_registrants(uow, training_id)
        items = [
            {
                "id": r.id,
                "user_id": u.id,
                "email": u.email,
                "name": u.name,
                "registered_at": iso8601_z(r.created_at),
                "zoom": {
                    "registrant_id": r.zoom_registrant_id,
                    "join_url": r.zoom_join_url,
                    "sync_state": r.zoom_sync_state,
                    "sync_error": r.zoom_sync_error,
                },
            }
            for r, u in rows
        ]
    return jsonify(items=items)


@bp.get("/trainings/<int:training_id>/changes")
def field_changes(training_id: int):
    """The timeline of the schedule and title: each change, its side, and whether it won."""
    with services().unit_of_work() as uow:
        items = [
            {
                "field": change.field,
                "value": change.value.get("v"),
                "source": change.source,
                "changed_at": iso8601_z(datetime.fromtimestamp(change.stamp_ms / 1000, tz=UTC)),
                "outcome": change.outcome,
            }
            for change in lms.field_changes(uow, training_id)
        ]
    return jsonify(items=items)


@bp.post("/trainings/<int:training_id>/attendance/assignments")
def assign_guest(training_id: int):
    """An admin assigns an unmatched guest to an LMS user (Zoom blanks ids of external users; names never match)."""
    data = _load(GuestAssignmentIn())
    follow_ups = lms.FollowUps()
    with services().unit_of_work() as uow:
        lms.assign_guest(uow, _acting_id(), training_id, data["guest"], data["user_id"], follow_ups)
        uow.commit()
    _run_follow_ups(follow_ups)
    return jsonify(training_id=training_id, guest=data["guest"], user_id=data["user_id"]), 202


@bp.get("/trainings/<int:training_id>/attendance")
def attendance(training_id: int):
    with services().unit_of_work() as uow:
        report = lms.attendance_report(uow, training_id)
    return jsonify(items=[attendance_item_out(i) for i in report.items], unmatched=report.unmatched)


# --- the academy's Zoom connection ------------------------------------------------------------


@bp.get("/academies/<int:academy_id>/zoom-connection/authorize")
def zoom_authorize(academy_id: int):
    """302 to Zoom's consent page; Zoom sends the admin back to /oauth/zoom/callback."""
    return redirect(zoom_connections.authorization_url(services(), academy_id), code=302)


@bp.put("/academies/<int:academy_id>/zoom-connection")
def zoom_connect_server_to_server(academy_id: int):
    data = _load(ServerToServerIn())
    view = zoom_connections.connect_server_to_server(
        services(), academy_id, data["account_id"], data["client_id"], data["client_secret"]
    )
    return jsonify(connection_out(view))


@bp.get("/academies/<int:academy_id>/zoom-connection")
def zoom_connection(academy_id: int):
    return jsonify(connection_out(zoom_connections.get_connection(services(), academy_id)))


@bp.delete("/academies/<int:academy_id>/zoom-connection")
def zoom_disconnect(academy_id: int):
    return jsonify(connection_out(zoom_connections.disconnect(services(), academy_id)))
