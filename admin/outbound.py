"""The outbound page: pushes to Zoom that wait or failed, with Zoom's message; retry now or cancel."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from sqlalchemy import select

from admin import security
from admin.views import bp
from models import OutboxItem, Training
from service import outbox_admin
from service.services import services
from workers.queues import request_push

OUTBOX_FILTERS = ("open", "pending", "failed", "sent", "cancelled")


@bp.get("/outbound")
@security.login_required
def outbound():
    shown = request.args.get("status", "open")
    if shown not in OUTBOX_FILTERS:
        abort(400, description=f"status must be one of {', '.join(OUTBOX_FILTERS)}")
    statuses = outbox_admin.OPEN if shown == "open" else (shown,)
    with services().unit_of_work() as uow:
        rows = uow.session.execute(
            select(OutboxItem, Training.theme)
            .join(Training, Training.id == OutboxItem.training_id)
            .where(OutboxItem.status.in_(statuses))
            .order_by(OutboxItem.id.desc())
            .limit(200)
        ).all()
        return render_template("admin/outbound.html", rows=rows, shown=shown, filters=OUTBOX_FILTERS)


def _row_ids() -> list[int]:
    ids = request.form.getlist("row")
    if not ids or not all(value.isdigit() for value in ids):
        abort(400, description="choose at least one push")
    return [int(value) for value in ids]


@bp.post("/outbound/retry")
@security.login_required
def outbound_retry():
    svc = services()
    with svc.unit_of_work() as uow:
        trainings = outbox_admin.retry_now(uow, _row_ids())
        uow.commit()
    for training_id in sorted(trainings):
        try:
            request_push(svc.redis, training_id)
        except RedisError:
            pass  # pending: the sweeper queues it
    flash(f"Pushing again now, for {len(trainings)} training(s).")
    return _back()


@bp.post("/outbound/cancel")
@security.login_required
def outbound_cancel():
    with services().unit_of_work() as uow:
        trainings = outbox_admin.cancel(uow, _row_ids())
        uow.commit()
    flash(f"Cancelled: those edits will not be sent ({len(trainings)} training(s)).")
    return _back()


def _back():
    """To the page the form came from (a training's page), else the outbound page; our pages only."""
    back = request.form.get("next")
    return redirect(security.safe_next(back) if back else url_for("admin.outbound"))
