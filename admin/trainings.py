"""The trainings pages: each training's sync state, the timeline of its field changes, attendance on a time line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import abort, render_template, request
from sqlalchemy import func, select

from admin import security
from admin.views import bp, get_or_404
from models import FieldChange, InboxEvent, OutboxItem, Training
from service import lms, lms_rules
from service.services import services
from workers.runs import runs_of

SYNC_STATES = ("pending", "synced", "error", "none")
CHART_WIDTH = 720  # px of the attendance time line (SVG: no inline styles under the CSP)


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    title: str


@bp.get("/trainings")
@security.login_required
def trainings():
    state = request.args.get("sync", "")
    if state and state not in SYNC_STATES:
        abort(400, description=f"sync must be one of {', '.join(SYNC_STATES)}")
    query = select(Training).order_by(Training.start_time.desc(), Training.id.desc()).limit(200)
    if state == "none":
        query = query.where(Training.zoom_sync_state.is_(None))
    elif state:
        query = query.where(Training.zoom_sync_state == state)
    with services().unit_of_work() as uow:
        rows = list(uow.session.scalars(query))
        return render_template("admin/trainings.html", trainings=rows, state=state, states=SYNC_STATES)


@bp.get("/trainings/<int:training_id>")
@security.login_required
def training(training_id: int):
    with services().unit_of_work() as uow:
        found = get_or_404(uow, Training, training_id)
        changes = [
            (change, datetime.fromtimestamp(change.stamp_ms / 1000, tz=UTC))  # when it was made, on its side
            for change in uow.session.scalars(
                select(FieldChange).where(FieldChange.training_id == training_id).order_by(FieldChange.id)
            )
        ]
        pushes = list(
            uow.session.scalars(
                select(OutboxItem).where(OutboxItem.training_id == training_id).order_by(OutboxItem.id.desc()).limit(50)
            )
        )
        failed_events = (
            uow.session.scalar(
                select(func.count())
                .select_from(InboxEvent)
                .where(InboxEvent.meeting_id == found.zoom_meeting_id, InboxEvent.status == "failed")
            )
            if found.zoom_meeting_id
            else 0
        )
        report = lms.attendance_report(uow, training_id)
        meeting_runs = runs_of(uow.session, found)
        start = found.actual_start or found.start_time
        end = found.actual_end or lms_rules.session_end(found.start_time, found.duration)
        people = [
            (
                item,
                {
                    "presence": _bars(item["intervals"], start, end),
                    "waiting": _bars(item["waiting_intervals"], start, end),
                    "room": _bars(item["breakout_intervals"], start, end),
                },
            )
            for item in report.items
        ]
        return render_template(
            "admin/training.html",
            training=found,
            changes=changes,
            pushes=pushes,
            failed_events=failed_events,
            people=people,
            runs=meeting_runs,
            unmatched=report.unmatched,
            span=(start, end),
            width=CHART_WIDTH,
        )


def _bars(intervals: list[dict], start: datetime, end: datetime) -> list[Bar]:
    """Each interval as a bar on the meeting's span (a leave never seen runs to the end)."""
    total = max((end - start).total_seconds(), 1)
    bars = []
    for interval in intervals:
        joined, left = interval["join_time"], interval["leave_time"] or end
        x = max(0.0, (joined - start).total_seconds()) / total * CHART_WIDTH
        right = min(CHART_WIDTH, max(0.0, (left - start).total_seconds()) / total * CHART_WIDTH)
        bars.append(Bar(round(x, 1), round(max(right - x, 1.0), 1), f"{joined:%H:%M:%S} – {left:%H:%M:%S}"))
    return bars
