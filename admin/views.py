"""The admin pages: login, overview, and the webhook inbox (filter, inspect, replay)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from redis.exceptions import RedisError
from sqlalchemy import func, select

from admin import charts, security
from models import Academy, InboxAttempt, InboxEvent, ZoomConnection, utcnow
from models.database import minute_of
from service import doctor, health
from service.inbox_admin import replay_events
from service.services import services
from service.zoom_tokens import token_state
from workers.queues import request_reconcile

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static")

PAGE_SIZE = 50
EVENT_STATUSES = ("pending", "processed", "failed", "ignored", "unmatched")


@bp.before_request
def _guard():
    if request.method == "POST":
        security.check_csrf()


@bp.after_request
def _headers(response):
    response.headers.update(security.SECURITY_HEADERS)
    return response


@bp.app_context_processor
def _template_helpers():
    return {"csrf_token": security.csrf_token, "logged_in": security.logged_in}


# --- login ----------------------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    settings = services().settings
    if not settings.admin_configured:
        message = "The admin pages are off: set ADMIN_USERNAME, ADMIN_PASSWORD and SECRET_KEY."
        return render_template("admin/login.html", disabled=message), 503
    next_page = security.safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("admin/login.html", next_page=next_page)
    if security.login_blocked():
        return render_template("admin/login.html", error="Too many failed logins: wait 15 minutes."), 429
    username, password = request.form.get("username", ""), request.form.get("password", "")
    if not security.credentials_match(username, password):
        security.record_failed_login()
        return render_template("admin/login.html", error="Wrong username or password.", next_page=next_page), 401
    security.log_in(username)
    return redirect(next_page)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("admin.login"))


# --- overview -------------------------------------------------------------------------------------------------


@bp.get("/")
@security.login_required
def overview():
    svc = services()
    now = utcnow()
    with svc.unit_of_work() as uow:
        inbox, outbox = health.inbox_by_status(uow), health.outbox_by_status(uow)
        minute = minute_of(uow.session, InboxEvent.received_at)
        intake: dict[str, dict[str, int]] = {}
        for event_type, key, n in uow.session.execute(
            select(InboxEvent.event_type, minute, func.count())
            .where(InboxEvent.received_at >= now - timedelta(hours=24))
            .group_by(InboxEvent.event_type, minute)
        ):
            intake.setdefault(event_type, {})[key] = n
        recent = uow.session.execute(
            select(InboxEvent.received_at, InboxEvent.processed_at)
            .where(InboxEvent.status == "processed", InboxEvent.processed_at >= now - timedelta(hours=1))
            .order_by(InboxEvent.processed_at.desc())
            .limit(LAG_SAMPLE)
        ).all()
        lags = [(processed - received).total_seconds() for received, processed in recent]
        connections = uow.session.execute(
            select(ZoomConnection, Academy.name).join(Academy, Academy.id == ZoomConnection.academy_id)
        ).all()
        states = [_health(connection, name, now) for connection, name in connections]
        plans = {connection.account_id: connection.rate_plan for connection, _ in connections if connection.account_id}
    try:  # after the unit of work: no database connection is held while Redis is read
        limits = health.zoom_headroom(svc.redis, plans)
    except RedisError:
        limits = None  # Redis does not answer: the limits are shown as unknown
    for state in states:
        state["limits"] = (limits or {}).get(state["account"] or "")
    lag = {"p50": charts.percentile(lags, 0.5), "p95": charts.percentile(lags, 0.95), "n": len(lags)}
    try:
        queues = health.queue_depths(svc.redis)
    except RedisError:
        queues = None
    return render_template(
        "admin/overview.html",
        checks=doctor.run_checks(svc, renew_tokens=False, now=now),
        inbox=inbox,
        outbox=outbox,
        queues=queues,
        chart=charts.intake_chart(intake, now),
        size=(charts.WIDTH, charts.HEIGHT),
        lag=lag,
        health=states,
        limits_known=limits is not None,
    )


LAG_SAMPLE = 5000  # the latest processed events of the last hour that the lag percentiles are read from


def _health(connection: ZoomConnection, academy: str, now: datetime) -> dict:
    return {
        "academy": academy,
        "kind": connection.kind,
        "status": connection.status,
        "account": connection.account_id,
        "token": token_state(connection, now),
        "token_expires_at": connection.token_expires_at,
        "last_error": connection.last_error,
        "last_error_at": connection.last_error_at,
    }


# --- events ---------------------------------------------------------------------------------------------------


def _event_filter() -> tuple[dict[str, str], list]:
    """The filter from the query string (or a replay form): what was asked, and its SQL conditions."""
    asked = {name: (request.values.get(name) or "").strip() for name in ("type", "status", "meeting", "account")}
    asked["since"] = (request.values.get("since") or "").strip()
    asked["until"] = (request.values.get("until") or "").strip()
    conditions = []
    if asked["type"]:
        conditions.append(InboxEvent.event_type == asked["type"])
    if asked["status"]:
        if asked["status"] not in EVENT_STATUSES:
            abort(400, description=f"status must be one of {', '.join(EVENT_STATUSES)}")
        conditions.append(InboxEvent.status == asked["status"])
    if asked["meeting"]:
        if not asked["meeting"].isdigit():
            abort(400, description="meeting must be a Zoom meeting id (digits)")
        conditions.append(InboxEvent.meeting_id == int(asked["meeting"]))
    if asked["account"]:
        conditions.append(InboxEvent.account_id == asked["account"])
    for name, compare in (("since", InboxEvent.received_at.__ge__), ("until", InboxEvent.received_at.__lt__)):
        if asked[name]:
            conditions.append(compare(_moment(asked[name], name)))
    return asked, conditions


def _moment(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        abort(400, description=f"{name} must be a date and time like 2026-12-01T09:00")
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


@bp.get("/events")
@security.login_required
def events():
    asked, conditions = _event_filter()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    with services().unit_of_work() as uow:
        rows = list(
            uow.session.scalars(
                select(InboxEvent)
                .where(*conditions)
                .order_by(InboxEvent.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE + 1)
            )
        )
        types = list(uow.session.scalars(select(InboxEvent.event_type).distinct().order_by(InboxEvent.event_type)))
        failed = uow.session.scalar(
            select(func.count()).select_from(InboxEvent).where(*conditions, InboxEvent.status == "failed")
        )
        return render_template(  # inside the unit of work: the rows stay loaded while the page is drawn
            "admin/events.html",
            events=rows[:PAGE_SIZE],
            more=len(rows) > PAGE_SIZE,
            page=page,
            asked=asked,
            query={name: value for name, value in asked.items() if value},
            types=types,
            statuses=EVENT_STATUSES,
            failed=failed,
        )


def get_or_404(uow, model, ident: int):
    found = uow.session.get(model, ident)
    if found is None:
        abort(404)
    return found


@bp.get("/events/<int:event_id>")
@security.login_required
def event(event_id: int):
    with services().unit_of_work() as uow:
        row = get_or_404(uow, InboxEvent, event_id)
        body = _pretty(row.raw_body)
        tries = list(
            uow.session.scalars(
                select(InboxAttempt).where(InboxAttempt.inbox_id == event_id).order_by(InboxAttempt.id).limit(100)
            )
        )
        return render_template("admin/event.html", event=row, body=body, headers=row.headers or {}, tries=tries)


def _pretty(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


@bp.post("/events/<int:event_id>/replay")
@security.login_required
def replay_one(event_id: int):
    _replay([event_id])
    flash(f"Event {event_id} is queued again.")
    return redirect(url_for("admin.event", event_id=event_id))


@bp.post("/events/replay")
@security.login_required
def replay_failed():
    """Every failed event the filter matches."""
    asked, conditions = _event_filter()
    with services().unit_of_work() as uow:
        ids = list(uow.session.scalars(select(InboxEvent.id).where(*conditions, InboxEvent.status == "failed")))
    count = _replay(ids) if ids else 0
    flash(f"{len(ids)} failed event(s) queued again, for {count} meeting(s).")
    return redirect(url_for("admin.events", **{k: v for k, v in asked.items() if v}))


def _replay(ids: list[int]) -> int:
    svc = services()
    with svc.unit_of_work() as uow:
        meetings = replay_events(uow, ids)
        uow.commit()
    for meeting_id in sorted(meetings):
        try:
            request_reconcile(svc.redis, meeting_id)
        except RedisError:
            pass  # pending again: the sweeper queues it
    return len(meetings)
