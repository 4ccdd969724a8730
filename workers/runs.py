"""Which runs of a training's meeting are the training, and what they make of it.

Zoom gives every run of a meeting (an instance) its own uuid: a host restarting
it, a webinar's practice session, a learner opening the link a week later. Only
the runs that are the training count: not a practice session (webinar.ended said
`practice_session`), and only on the training's day (lms_rules.run_is_the_training).
The others are kept and shown to the admin; they change neither the training's
status nor its attendance, and their reports are not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import MeetingInstance, ReportPull, Training
from service import lms_rules
from workers import field_rules

PRACTICE = "a practice session"
ANOTHER_DAY = "held on another day"


@dataclass(frozen=True)
class Run:
    uuid: str
    started_at: datetime | None
    ended_at: datetime | None
    why_not: str | None  # None: the run is the training

    @property
    def counts(self) -> bool:
        return self.why_not is None


def why_not(training: Training, practice: bool, started_at: datetime | None, ended_at: datetime | None) -> str | None:
    """Why a run is not the training, or None when it is (a run with no time known counts)."""
    if practice:
        return PRACTICE
    moment = started_at or ended_at
    return None if moment is None else why_not_day(moment, training.start_time, training.timezone)


def why_not_day(run_start: datetime, start: datetime, timezone: str) -> str | None:
    return None if lms_rules.run_is_the_training(run_start, start, timezone) else ANOTHER_DAY


def runs_of(session: Session, training: Training) -> list[Run]:
    """Every recorded run of the training's meeting, earliest first."""
    if training.zoom_meeting_id is None:
        return []
    rows = session.execute(
        select(MeetingInstance.uuid, MeetingInstance.started_at, MeetingInstance.ended_at, MeetingInstance.practice)
        .where(MeetingInstance.meeting_id == training.zoom_meeting_id)
        .order_by(MeetingInstance.started_at, MeetingInstance.id)
    )
    return [
        Run(row.uuid, row.started_at, row.ended_at, why_not(training, row.practice, row.started_at, row.ended_at))
        for row in rows
    ]


def not_the_training(runs: list[Run]) -> set[str]:
    return {run.uuid for run in runs if not run.counts}


def summarise_runs(session: Session, training: Training) -> None:
    """Status, actual start/end and current uuid follow from the runs that count, whatever order they came in."""
    runs = runs_of(session, training)
    counted = [run for run in runs if run.counts]
    held = ((True, r.ended_at is not None) for r in counted)
    training.status = field_rules.status_from_runs(training.cancelled_at is not None, held)
    starts = [r.started_at for r in counted if r.started_at is not None]
    ends = [r.ended_at for r in counted if r.ended_at is not None]
    training.actual_start = min(starts) if starts else None
    training.actual_end = max(ends) if ends else None
    never = datetime.min.replace(tzinfo=UTC)
    # The current run: the latest that is the training, else the latest of any (Zoom's latest instance).
    latest = max(counted or runs, key=lambda r: (r.started_at or never, r.uuid), default=None)
    training.zoom_uuid = latest.uuid if latest else training.zoom_uuid


def schedule_report_pull(session: Session, training_id: int, ended: datetime, delay_seconds: int) -> None:
    """In the caller's transaction: (re)start the pull of this training's report, due `delay_seconds` after `ended`."""
    pull = session.scalars(select(ReportPull).where(ReportPull.training_id == training_id)).first()
    if pull is None:
        pull = ReportPull(training_id=training_id)
        session.add(pull)
    pull.status, pull.attempts, pull.last_error = "pending", 0, None
    pull.generation = (pull.generation or 0) + 1
    pull.next_attempt_at = ended + timedelta(seconds=delay_seconds)


def plan_report_pull(
    session: Session, training: Training, *, ended: bool, runs_changed: bool, delay_seconds: int
) -> None:
    """After summarise_runs: a report to read exactly when a run that is the training has ended.

    `ended`: a run that is the training ended now (Zoom's report of it will
    follow: read it again). `runs_changed`: the runs that are the training may
    have changed, so a pull still waiting is due after their (new) end. A pull
    still pending when no such run is left (the training moved to another day)
    goes: there is nothing to read. Like the status, this follows from the runs,
    not from the order their events came in.
    """
    pull = session.scalars(select(ReportPull).where(ReportPull.training_id == training.id)).first()
    if training.actual_end is None:
        if pull is not None and pull.status == "pending":
            session.delete(pull)
        return
    if ended or pull is None or (runs_changed and pull.status == "pending"):
        schedule_report_pull(session, training.id, training.actual_end, delay_seconds)
