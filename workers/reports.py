"""After a meeting ends: read Zoom's participant report and make it the training's attendance.

The live join/leave events are the early estimate; the report is authoritative
(it knows the leaves whose events were lost). A training's session may have run
several times (the host restarted it): every ended instance's report is read.
A report is taken whole or not at all: one page that fails means trying again
later, never half an attendance. Reports appear minutes after the end and may
show durations of 0 until Zoom has processed them: the pull tries again with
growing delays (REPORT_DELAYS), then records that none came.

The pull is a row written with `meeting.ended` (ReportPull); the sweeper queues
it when due, so nothing depends on a job surviving in Redis for hours.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from models import ReportPull, ReportRow, Training, utcnow
from models.database import insert_ignoring_duplicates, lock_meeting
from service.broker import held
from service.event_schemas import as_zoom_time
from service.lms import connection_of
from service.services import Services, services
from service.zoom_connections import zoom_client
from service.zoom_tokens import ConnectionBroken
from workers.attendance import write_attendance
from workers.queues import release_once
from workers.runs import not_the_training, runs_of, why_not_day
from zoomapi.errors import ZoomNotFound, ZoomRateLimited, ZoomRejected, ZoomUnauthorized, ZoomUnavailable
from zoomapi.limiter import Deferred
from zoomapi.timing import backoff

log = logging.getLogger(__name__)


class NotReady(Exception):
    """Zoom has no (complete) report yet."""


def row_key(meeting_uuid: str, row: dict[str, Any]) -> str:
    """Only Zoom's data: the same row read twice is the same key."""
    parts = [meeting_uuid] + [
        str(row.get(name) or "")
        for name in ("user_id", "id", "participant_user_id", "registrant_id", "user_email", "name", "join_time")
    ]
    parts.append(str(row.get("leave_time") or ""))
    # Fields read since rows were first kept: in the key only when they say more than a plain meeting row,
    # so a row kept before reads as the same row now.
    if row.get("status") not in (None, "", "in_meeting"):
        parts.append(f"status={row['status']}")
    if row.get("bo_mtg_id"):
        parts.append(f"bo_mtg_id={row['bo_mtg_id']}")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _time(value: Any) -> datetime | None:
    try:
        return as_zoom_time(value)
    except ValidationError:
        return None  # a row Zoom wrote without a readable time is left out


def settled(rows: list[dict[str, Any]]) -> bool:
    """Zoom shows durations of 0 until a report is processed: a row that spans time with 0 is not ready."""
    for row in rows:
        join, leave = _time(row.get("join_time")), _time(row.get("leave_time"))
        if join and leave and leave > join and not row.get("duration"):
            return False
    return True


def pull_report(training_id: int) -> str:
    """RQ job (queue outbound). Argument: the training id only."""
    svc = services()
    release_once(svc.redis, f"report-{training_id}")  # first: asking again from now on queues another
    with held(svc.redis, f"zoomsync:report-lock:{training_id}", timeout=600) as alone:
        return _pull(svc, training_id) if alone else "another pull of this report is running"


def _pull(svc: Services, training_id: int) -> str:
    with svc.unit_of_work() as uow:
        pull = uow.session.scalars(select(ReportPull).where(ReportPull.training_id == training_id)).first()
        training = uow.session.get(Training, training_id)
        if pull is None or pull.status != "pending" or training is None or training.zoom_meeting_id is None:
            return "nothing to pull"
        connection = connection_of(uow, training.academy_id)
        if connection is None:
            pull.status, pull.last_error = "skipped", "the academy is not connected to Zoom: no report to read"
            uow.commit()
            return pull.status
        kind, meeting_id, attempts = training.meeting_type, training.zoom_meeting_id, pull.attempts
        wanted = _the_training(training, not_the_training(runs_of(uow.session, training)))
        generation = pull.generation
        uow.session.expunge(connection)
    client = zoom_client(svc, connection)
    try:
        reports = _read(client, kind, meeting_id, wanted)
    except (NotReady, ZoomNotFound) as exc:
        return _not_ready(svc, training_id, generation, attempts, str(exc) or "Zoom has no report yet")
    except (Deferred, ZoomRateLimited) as exc:
        return _retry_at(svc, training_id, generation, exc.retry_at, f"waiting for Zoom's rate limit: {exc}")
    except ZoomUnavailable as exc:
        at = datetime.now(UTC) + timedelta(seconds=backoff(attempts + 1, base=60))
        return _retry_at(svc, training_id, generation, at, f"Zoom unavailable: {exc.message}")
    except (ZoomRejected, ZoomUnauthorized, ConnectionBroken) as exc:
        return _give_up(svc, training_id, generation, f"Zoom refused the report: {exc}")
    return _store(svc, training_id, generation, meeting_id, reports)


Wanted = Callable[[dict[str, Any]], bool]


def _read(client, kind: str, meeting_id: int, wanted: Wanted) -> dict[str, list[dict[str, Any]]]:
    """Every ended instance's report that `wanted` keeps, each read to its last page, or NotReady.

    Zoom lists practice sessions and runs of other days among the ended instances: they are not read.
    """
    listed = [i for i in client.past_instances(kind, meeting_id) if i.get("uuid") and wanted(i)]
    uuids = list(dict.fromkeys(i["uuid"] for i in listed))
    if not uuids:
        raise NotReady("Zoom lists no ended instance of the meeting yet")
    reports = {}
    for uuid in uuids:
        rows = client.report_participants(kind, uuid)
        if not settled(rows):
            raise NotReady(f"Zoom's report of {uuid} still shows durations of 0")
        reports[uuid] = rows
    return reports


def _the_training(training: Training, known_not: set[str]) -> Wanted:
    """Which of Zoom's listed instances are the training: not one we know is not, and started on its day."""
    start, timezone = training.start_time, training.timezone

    def wanted(instance: dict[str, Any]) -> bool:
        if instance["uuid"] in known_not:
            return False
        started = _time(instance.get("start_time"))
        return started is None or why_not_day(started, start, timezone) is None

    return wanted


def _current(uow, training_id: int, generation: int) -> ReportPull | None:
    """The pull, if no newer meeting.ended has asked for it again since this try began."""
    pull = uow.session.scalars(select(ReportPull).where(ReportPull.training_id == training_id)).one()
    return pull if pull.generation == generation else None


def _store(
    svc: Services, training_id: int, generation: int, meeting_id: int, reports: dict[str, list[dict[str, Any]]]
) -> str:
    values = []
    for uuid, rows in reports.items():
        for row in rows:
            join, leave = _time(row.get("join_time")), _time(row.get("leave_time"))
            if join is None or leave is None:
                continue
            values.append(
                dict(
                    row_key=row_key(uuid, row),
                    meeting_id=meeting_id,
                    meeting_uuid=uuid[:128],
                    session_id=str(row.get("user_id") or "")[:64],
                    participant_user_id=str(row.get("participant_user_id") or row.get("id") or "")[:64],
                    registrant_id=str(row.get("registrant_id") or "")[:64],
                    email=str(row.get("user_email") or "")[:320],
                    name=str(row.get("name") or "")[:255],
                    join_time=join,
                    leave_time=max(join, leave),
                    duration=int(row.get("duration") or 0),
                    status=str(row.get("status") or "in_meeting")[:32],
                    bo_mtg_id=str(row.get("bo_mtg_id") or "")[:128],
                    failover=row.get("failover") is True,
                )
            )
    with svc.unit_of_work() as uow:
        lock_meeting(uow.session, meeting_id)
        insert_ignoring_duplicates(uow.session, ReportRow, values, "row_key")
        training = uow.session.get(Training, training_id)
        written = write_attendance(uow.session, training)
        pull = _current(uow, training_id, generation)
        if pull is not None:  # else: the rows stand, and the newer request reads the report again
            pull.status, pull.last_error, pull.next_attempt_at = "done", None, None
            pull.instances, pull.rows, pull.completed_at = len(reports), len(values), utcnow()
        uow.commit()
    log.info(
        "report of training %s: %d rows from %d runs; %d attendance rows",
        training_id,
        len(values),
        len(reports),
        written,
    )
    return "done"


def _not_ready(svc: Services, training_id: int, generation: int, attempts: int, reason: str) -> str:
    delays = svc.settings.report_delays
    if attempts + 1 >= len(delays):
        reason = f"Zoom's participant report did not come ({reason}); live events stand"
        return _give_up(svc, training_id, generation, reason)
    at = datetime.now(UTC) + timedelta(seconds=delays[attempts + 1])
    return _retry_at(svc, training_id, generation, at, reason, charge=True)


def _retry_at(svc: Services, training_id: int, generation: int, at: datetime, reason: str, charge: bool = False) -> str:
    with svc.unit_of_work() as uow:
        pull = _current(uow, training_id, generation)
        if pull is not None:
            pull.next_attempt_at, pull.last_error = at, reason
            pull.attempts += 1 if charge else 0
        uow.commit()
    return f"again at {at.isoformat()}: {reason}"


def _give_up(svc: Services, training_id: int, generation: int, reason: str) -> str:
    """Recorded on the pull, and as the training's sync issue unless it has another already."""
    with svc.unit_of_work() as uow:
        pull = _current(uow, training_id, generation)
        if pull is not None:
            pull.status, pull.last_error, pull.next_attempt_at = "failed", reason, None
            training = uow.session.get(Training, training_id)
            training.sync_issue = training.sync_issue or reason
        uow.commit()
    log.warning("report of training %s: %s", training_id, reason)
    return "failed"
