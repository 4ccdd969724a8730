"""The push job: make Zoom hold what the LMS says for one training, and record what Zoom confirmed.

It does not replay the outbox row by row. It reads the training, its pending
outbox rows and its registrants, then asks Zoom for what differs: create the
meeting (or adopt the one an interrupted attempt made), register the new
registrants and cancel the removed ones, send only the schedule fields the LMS
edited that Zoom holds otherwise, or delete the meeting of a cancelled training.
Ten edits of one training inside a second cost one PATCH. Each Zoom answer is
recorded in a short transaction of its own, and only if what it answers still
stands (a registrant removed meanwhile stays to be cancelled); rows written
meanwhile stay pending for the follow-up job, so nothing is lost and nothing is
sent twice.

Zoom's answers decide what happens next (zoomapi/errors.py): a rate limit or the
daily cap reschedules the job for when Zoom allows it; 5xx and network failures
back off with jitter, without end; a 404 is checked once more before the meeting
is declared missing; any other 4xx fails that step with Zoom's message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from models import OutboxItem, Registrant, Training, User, ZoomConnection, ZoomPush, utcnow
from models.database import lock_meeting
from rules.time_formats import zoom_utc
from service import lms_rules
from service.broker import held
from service.inbox_admin import requeue_unmatched
from service.lms import connection_of
from service.services import Services, services
from service.zoom_connections import zoom_client
from service.zoom_tokens import ConnectionBroken
from workers.queues import PUSH_TIMEOUT, release_push_marker, request_reconcile, schedule_push
from zoomapi import payloads
from zoomapi.client import BATCH_SIZE, ZoomClient
from zoomapi.errors import (
    ZoomAPIError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomRejected,
    ZoomUnauthorized,
    ZoomUnavailable,
)
from zoomapi.limiter import Deferred
from zoomapi.timing import backoff

log = logging.getLogger(__name__)

MISSING = "meeting missing in Zoom"
BUSY_RETRY = timedelta(seconds=3)
BROKEN_RETRY = timedelta(minutes=10)


@dataclass
class Plan:
    """What one push must do, read in one transaction."""

    training_id: int
    kind: str
    meeting_id: int | None
    host: str
    host_emails: set[str]
    cancelled: bool
    wanted: dict[str, Any]
    confirmed: dict[str, Any]
    origins: dict[str, int]  # when the LMS set each schedule field: what the push carries
    connection: ZoomConnection
    rows: list[OutboxItem]
    to_register: list[tuple[int, str, str]] = field(default_factory=list)  # (registrant id, email, name)
    to_cancel: list[tuple[int, str | None, str]] = field(default_factory=list)  # (registrant id, zoom id, email)
    hosting: list[int] = field(default_factory=list)  # registrants who host it: never registered in Zoom
    organizer_host: str = ""  # the organizer's Zoom user id, else email: whom a reassign makes the host

    @property
    def row_ids(self) -> list[int]:
        return [row.id for row in self.rows]

    def rows_of(self, *kinds: str) -> list[int]:
        return [row.id for row in self.rows if row.kind in kinds]

    @property
    def edited(self) -> set[str]:
        return {name for row in self.rows if row.kind == "update" for name in row.changes}


def push_training(training_id: int) -> str:
    """RQ job, one training at a time (a Redis lock); argument: the training id only."""
    svc = services()
    release_push_marker(svc.redis, training_id)  # first: an edit from now on queues a follow-up
    with held(svc.redis, f"zoomsync:push-lock:{training_id}", timeout=PUSH_TIMEOUT) as alone:
        if not alone:
            schedule_push(svc.redis, training_id, datetime.now(UTC) + BUSY_RETRY)
            return "another push of this training is running: again shortly"
        return _push(svc, training_id)


def _push(svc: Services, training_id: int) -> str:
    plan = read_plan(svc, training_id)
    if plan is None:
        return "nothing to push"
    client = zoom_client(svc, plan.connection)
    try:
        return carry_out(svc, client, plan)
    except (Deferred, ZoomRateLimited) as exc:
        reason = f"waiting for Zoom's {'daily ' if exc.daily else ''}rate limit"
        return _later(svc, plan, exc.retry_at, reason, charge=False)
    except ZoomUnavailable as exc:
        attempts = 1 + max((row.attempts for row in plan.rows), default=0)
        at = datetime.now(UTC) + timedelta(seconds=backoff(attempts))
        return _later(svc, plan, at, f"Zoom unavailable: {exc.message}", charge=True)
    except (ConnectionBroken, ZoomUnauthorized) as exc:
        reason = f"the Zoom connection does not work: {exc}"
        return _later(svc, plan, datetime.now(UTC) + BROKEN_RETRY, reason, charge=True)


def read_plan(svc: Services, training_id: int) -> Plan | None:
    now = utcnow()
    with svc.unit_of_work() as uow:
        training = uow.session.get(Training, training_id)
        if training is None:
            return None
        rows = list(
            uow.session.scalars(
                select(OutboxItem)
                .where(OutboxItem.training_id == training_id, OutboxItem.status == "pending")
                .order_by(OutboxItem.id)
            )
        )
        if not rows:
            return None
        waiting = [row.next_attempt_at for row in rows if row.next_attempt_at is not None and row.next_attempt_at > now]
        if waiting:
            # A training is pushed whole: while one of its rows waits (a backoff, a limit), all wait.
            schedule_push(svc.redis, training_id, min(waiting))
            return None
        connection = connection_of(uow, training.academy_id)
        if connection is None:
            _fail_rows(uow, [row.id for row in rows], "the academy is not connected to Zoom")
            training.zoom_sync_state, training.zoom_sync_error = "error", "the academy is not connected to Zoom"
            uow.commit()
            return None
        organizer = uow.session.get(User, training.organizer_id)
        host = training.zoom_host_id or (organizer.zoom_user_id if organizer else None) or (organizer.email or "")
        host_emails = {(organizer.email or "").lower()} if organizer and organizer.email else set()
        reassigning = any(row.kind == "reassign" for row in rows)  # the organizer hosts once this push is done
        if (
            not reassigning
            and connection.zoom_user_email
            and host in (connection.zoom_user_id, connection.zoom_user_email)
        ):
            host_emails.add(connection.zoom_user_email.lower())
        stamps = training.field_stamps or {}
        plan = Plan(
            training_id=training.id,
            kind=training.meeting_type,
            meeting_id=training.zoom_meeting_id,
            host=host,
            host_emails=host_emails,
            cancelled=training.status == "cancelled",
            wanted=payloads.zoom_values(training.theme, training.start_time, training.duration, training.timezone),
            confirmed={name: entry[0] for name, entry in (training.zoom_confirmed or {}).items()},
            origins={name: (stamps.get(name) or [0])[0] for name in payloads.SCHEDULE_FIELDS},
            connection=connection,
            rows=rows,
            organizer_host=(organizer.zoom_user_id or organizer.email or "") if organizer else "",
        )
        registrants = uow.session.execute(
            select(Registrant, User)
            .join(User, User.id == Registrant.user_id)
            .where(Registrant.training_id == training_id, Registrant.zoom_sync_state == "pending")
        )
        for registrant, user in registrants:
            email = user.email or ""
            if registrant.removed_at is not None:
                plan.to_cancel.append((registrant.id, registrant.zoom_registrant_id, email))
            elif email.lower() in plan.host_emails:
                plan.hosting.append(registrant.id)  # Zoom refuses to register a meeting's host
            else:
                plan.to_register.append((registrant.id, email, user.name or ""))
        uow.session.expunge_all()
        return plan


def carry_out(svc: Services, client: ZoomClient, plan: Plan) -> str:
    if plan.cancelled:
        return _delete(svc, client, plan)
    try:
        if plan.meeting_id is None and not _create(svc, client, plan):
            return "the meeting could not be created"
        _reassign(svc, client, plan)
        _registrants(svc, client, plan)
        _update(svc, client, plan)  # last: the host's daily budget, if spent, holds back only this step
    except ZoomNotFound:
        _check_missing(svc, client, plan)
        return MISSING
    _settle(svc, plan)
    return "pushed"


# --- the steps ---------------------------------------------------------------------------------


def _create(svc: Services, client: ZoomClient, plan: Plan) -> bool:
    """Create the meeting, or adopt the one an earlier attempt created before it could record it."""
    creates = [row for row in plan.rows if row.kind == "create"]
    if not creates:
        _refused(svc, plan, plan.row_ids, "the training has no Zoom meeting: recreate it to push again")
        return False
    if not plan.host:
        _refused(svc, plan, plan.row_ids, "the organizer has no Zoom user or email")
        return False
    create = creates[0]
    meeting = _orphan(svc, client, plan, create.created_at) if create.attempts else None
    if meeting is None:
        _user, problem = _host_user(client, plan.host)
        if problem:
            _refused(svc, plan, plan.row_ids, problem)
            return False
        _charge(svc, [create.id])  # before the call: a crash after it leaves the evidence to look for an orphan
        try:
            meeting = client.create(plan.kind, plan.host, payloads.create_body(plan.kind, plan.wanted))
        except (Deferred, ZoomRateLimited):
            # Held back by our limiter or refused at Zoom's door: nothing was created, so the next
            # try has no orphan to look for (a call of its own) and this one was no attempt.
            _charge(svc, [create.id], -1)
            raise
        except ZoomRejected as exc:
            _refused(svc, plan, plan.row_ids, exc.message or str(exc))
            return False
    plan.meeting_id = int(meeting["id"])
    plan.confirmed = _confirmed_from(meeting)
    with svc.unit_of_work() as uow:
        lock_meeting(uow.session, plan.meeting_id)
        training = uow.session.get(Training, plan.training_id)
        training.zoom_meeting_id = plan.meeting_id
        training.zoom_uuid = meeting.get("uuid")
        training.zoom_join_url = meeting.get("join_url")
        training.zoom_host_id = meeting.get("host_id") or plan.host
        training.zoom_confirmed = _stamped(plan.confirmed, "push", plan.origins)
        training.zoom_sync_error = None
        _sent(uow, [row.id for row in creates])
        requeue_unmatched(uow, plan.meeting_id)
        uow.commit()
    plan.host = meeting.get("host_id") or plan.host
    request_reconcile(svc.redis, plan.meeting_id)
    return True


def _host_user(client: ZoomClient, host: str) -> tuple[dict[str, Any] | None, str | None]:
    """The organizer's Zoom user, and why they cannot host: a Licensed user of the account is needed."""
    try:
        user = client.user(host)
    except ZoomNotFound as exc:  # not a missing meeting: nothing to check again
        return None, f"the organizer's Zoom user {host} is not in the connected Zoom account ({exc.message})"
    return user, lms_rules.paid_host_problem(user.get("type"), host)


def _reassign(svc: Services, client: ZoomClient, plan: Plan) -> None:
    """The organizer changed: make them the meeting's host in place (same meeting id, passcode and links)."""
    rows = plan.rows_of("reassign")
    if not rows:
        return
    user, problem = _host_user(client, plan.organizer_host)
    new_host = (user or {}).get("id") or plan.organizer_host
    if not problem and plan.kind == "webinar" and plan.host not in (new_host, plan.organizer_host):
        problem = "a webinar's host cannot be changed in Zoom: it was created for the former organizer"
    if problem:
        _refused(svc, plan, rows, problem)
        return
    if plan.host not in (new_host, plan.organizer_host):  # a create in this push may have used them already
        try:
            client.update(plan.kind, plan.meeting_id, {"schedule_for": plan.organizer_host}, plan.host)
        except ZoomRejected as exc:
            _refused(svc, plan, rows, exc.message or str(exc))
            return
    with svc.unit_of_work() as uow:
        uow.session.get(Training, plan.training_id).zoom_host_id = new_host
        _sent(uow, rows)
        uow.commit()
    plan.host = new_host


def _orphan(svc: Services, client: ZoomClient, plan: Plan, since: datetime) -> dict[str, Any] | None:
    """A meeting an interrupted attempt created: same topic and start, created after the edit, linked to none."""
    with svc.unit_of_work() as uow:
        linked = set(uow.session.scalars(select(Training.zoom_meeting_id).where(Training.zoom_meeting_id.is_not(None))))
    for candidate in client.upcoming(plan.kind, plan.host):
        created = candidate.get("created_at") or ""
        if (
            int(candidate["id"]) not in linked
            and candidate.get("topic") == plan.wanted["topic"]
            and candidate.get("start_time") == plan.wanted["start_time"]
            and created >= zoom_utc(since.replace(microsecond=0))
        ):
            return client.get(plan.kind, int(candidate["id"]))
    return None


def _registrants(svc: Services, client: ZoomClient, plan: Plan) -> None:
    for start in range(0, len(plan.to_register), BATCH_SIZE):
        chunk = plan.to_register[start : start + BATCH_SIZE]
        people = [payloads.registrant_body(email, name) for _, email, name in chunk]
        try:
            if len(people) == 1:  # one person: the Light endpoint, not the Heavy batch
                answer = client.add_registrant(plan.kind, plan.meeting_id, people[0])
                answers = {people[0]["email"].lower(): {**answer, "email": people[0]["email"]}}
            else:
                answered = client.batch_registrants(plan.kind, plan.meeting_id, people)
                answers = {a.get("email", "").lower(): a for a in answered}
        except ZoomRejected as exc:
            _refused_registrants(svc, plan, [registrant_id for registrant_id, _, _ in chunk], exc)
            continue
        with svc.unit_of_work() as uow:
            for registrant_id, email, _ in chunk:
                registrant = uow.session.get(Registrant, registrant_id)
                answer = answers.get(email.lower())
                if answer is None:
                    registrant.zoom_sync_state = "error"
                    registrant.zoom_sync_error = "Zoom did not register this person"
                    continue
                # Zoom holds the registration now, whatever happened meanwhile: remember it.
                registrant.zoom_registrant_id = answer.get("registrant_id")
                registrant.zoom_join_url = answer.get("join_url")
                if registrant.removed_at is None and registrant.zoom_sync_state == "pending":
                    registrant.zoom_sync_state, registrant.zoom_sync_error = "synced", None
                # else: removed while we registered them; still pending, the next push cancels it
            uow.commit()
    known = [(rid, zid, email) for rid, zid, email in plan.to_cancel if zid]
    if known:
        try:
            client.cancel_registrants(
                plan.kind, plan.meeting_id, [{"id": zid, "email": email} for _, zid, email in known]
            )
        except ZoomRejected as exc:
            _refused_registrants(svc, plan, [rid for rid, _, _ in known], exc)
            known = []
    cancelled = {rid for rid, _, _ in known} | {rid for rid, zid, _ in plan.to_cancel if not zid}
    with svc.unit_of_work() as uow:
        for registrant_id in cancelled:
            registrant = uow.session.get(Registrant, registrant_id)
            if registrant.removed_at is not None:  # else registered again meanwhile: the next push registers
                registrant.zoom_sync_state = "cancelled" if registrant.zoom_registrant_id else None
        for registrant_id in plan.hosting:
            registrant = uow.session.get(Registrant, registrant_id)
            if registrant.zoom_sync_state == "pending":
                registrant.zoom_sync_state = "host"
        _sent(uow, plan.rows_of("register", "unregister"))  # only those still pending: not the refused
        uow.commit()


def _update(svc: Services, client: ZoomClient, plan: Plan) -> None:
    updates = plan.rows_of("update")
    if not updates:
        return
    learned: dict[str, Any] = {}
    if any(name not in plan.confirmed for name in payloads.SCHEDULE_FIELDS):
        # A meeting linked by hand: learn what Zoom holds before judging what differs.
        learned = _confirmed_from(client.get(plan.kind, plan.meeting_id))
        plan.confirmed = {**learned, **plan.confirmed}
    body = payloads.update_body(plan.wanted, plan.confirmed, plan.edited)
    if body:
        _record_push(svc, plan, body)
        try:
            client.update(plan.kind, plan.meeting_id, body, plan.host)
        except ZoomRejected as exc:
            _refused(svc, plan, updates, exc.message or str(exc))
            return
        plan.confirmed.update(body)
    with svc.unit_of_work() as uow:
        training = uow.session.get(Training, plan.training_id)
        # Oldest first: what we just learned, what webhooks told us meanwhile, what Zoom has just accepted.
        training.zoom_confirmed = {
            **_stamped(learned, "zoom", {}),
            **(training.zoom_confirmed or {}),
            **_stamped(body, "push", plan.origins),
        }
        _sent(uow, updates)
        uow.commit()


def _delete(svc: Services, client: ZoomClient, plan: Plan) -> str:
    if plan.meeting_id is not None:
        try:
            client.delete(plan.kind, plan.meeting_id)
        except ZoomNotFound:
            pass  # already gone: what we wanted
        except ZoomRejected as exc:
            _refused(svc, plan, plan.rows_of("delete"), exc.message or str(exc))
            return f"Zoom refused to delete: {exc.message}"
    with svc.unit_of_work() as uow:
        _sent(uow, plan.rows_of("delete"))
        _cancel_rows(uow, [row.id for row in plan.rows if row.kind != "delete"])
        training = uow.session.get(Training, plan.training_id)
        training.zoom_sync_state, training.zoom_sync_error = "synced", None
        uow.commit()
    return "deleted in Zoom" if plan.meeting_id is not None else "cancelled before it reached Zoom"


def _check_missing(svc: Services, client: ZoomClient, plan: Plan) -> None:
    """A 404: look once more before believing it (a passing error must not flag a healthy meeting)."""
    if plan.meeting_id is not None and meeting_gone(client, plan.kind, plan.meeting_id):
        flag_missing(svc, plan.training_id, plan.row_ids)
        return
    raise ZoomUnavailable(404, None, "Zoom answered 404 for a meeting that exists: trying again")


def meeting_gone(client: ZoomClient, kind: str, meeting_id: int) -> bool:
    """Whether Zoom says, when asked (again), that the meeting does not exist."""
    try:
        client.get(kind, meeting_id)
    except ZoomNotFound:
        return True
    return False


def flag_missing(svc: Services, training_id: int, row_ids: list[int] = ()) -> None:
    """Zoom says twice the meeting does not exist: the training says so; its attendance history stays."""
    with svc.unit_of_work() as uow:
        training = uow.session.get(Training, training_id)
        training.sync_issue = MISSING
        training.zoom_sync_state, training.zoom_sync_error = "error", MISSING
        _fail_rows(uow, list(row_ids), MISSING)
        uow.commit()


def _settle(svc: Services, plan: Plan) -> None:
    """All that this push read is done: synced, unless something of it failed or new edits wait."""
    with svc.unit_of_work() as uow:
        training = uow.session.get(Training, plan.training_id)
        rows = _rows(uow, plan.row_ids)
        failed = [row.last_error for row in rows if row.status == "failed"]
        still = uow.session.scalars(
            select(OutboxItem.id).where(OutboxItem.training_id == plan.training_id, OutboxItem.status == "pending")
        ).first()
        if failed:
            training.zoom_sync_state, training.zoom_sync_error = "error", failed[-1]
        elif still is None:
            training.zoom_sync_state, training.zoom_sync_error = "synced", None
        uow.commit()


# --- recording outcomes --------------------------------------------------------------------------


def _record_push(svc: Services, plan: Plan, body: dict[str, Any]) -> None:
    """Before the call: its echo may come back through the webhook before we hear Zoom's answer."""
    with svc.unit_of_work() as uow:
        uow.session.add(
            ZoomPush(
                training_id=plan.training_id,
                fields=body,
                previous={name: plan.confirmed.get(name) for name in body},
                origins={name: plan.origins.get(name, 0) for name in body},
                sent_ms=_now_ms(),
            )
        )
        uow.commit()


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _stamped(values: dict[str, Any], source: str, origins: dict[str, int]) -> dict[str, list]:
    """`zoom_confirmed` entries: [value, [when Zoom got it, source], when the value was edited]."""
    now = _now_ms()
    return {name: [value, [now, source], origins.get(name, now)] for name, value in values.items()}


def _confirmed_from(meeting: dict[str, Any]) -> dict[str, Any]:
    return {name: meeting[name] for name in payloads.PUSHED_FIELDS if name in meeting}


def _rows(uow, ids: list[int]) -> list[OutboxItem]:
    return list(uow.session.scalars(select(OutboxItem).where(OutboxItem.id.in_(ids)))) if ids else []


def _sent(uow, ids: list[int]) -> None:
    for row in _rows(uow, ids):
        if row.status == "pending":
            row.status, row.sent_at, row.last_error, row.next_attempt_at = "sent", utcnow(), None, None


def _cancel_rows(uow, ids: list[int]) -> None:
    for row in _rows(uow, ids):
        if row.status == "pending":
            row.status = "cancelled"


def _fail_rows(uow, ids: list[int], error: str) -> None:
    for row in _rows(uow, ids):
        if row.status == "pending":
            row.status, row.last_error = "failed", error


def _charge(svc: Services, ids: list[int], attempts: int = 1) -> None:
    with svc.unit_of_work() as uow:
        for row in _rows(uow, ids):
            row.attempts += attempts
        uow.commit()


def _refused(svc: Services, plan: Plan, ids: list[int], message: str) -> None:
    """A permanent failure of these rows: shown with Zoom's message, never retried blindly."""
    with svc.unit_of_work() as uow:
        _fail_rows(uow, ids, message)
        training = uow.session.get(Training, plan.training_id)
        training.zoom_sync_state, training.zoom_sync_error = "error", message
        uow.commit()


def _refused_registrants(svc: Services, plan: Plan, registrant_ids: list[int], exc: ZoomAPIError) -> None:
    """Zoom refused these registrations or cancellations (capacity, a host...): those people, not the push."""
    message = exc.message or str(exc)
    wanted = set(registrant_ids)
    with svc.unit_of_work() as uow:
        rows = [row.id for row in plan.rows if row.registrant_id in wanted]
        _fail_rows(uow, rows, message)
        for registrant_id in registrant_ids:
            registrant = uow.session.get(Registrant, registrant_id)
            registrant.zoom_sync_state, registrant.zoom_sync_error = "error", message
        uow.commit()


def _later(svc: Services, plan: Plan, at: datetime, reason: str, charge: bool) -> str:
    """Keep the rows pending until `at`, and schedule the push for then."""
    with svc.unit_of_work() as uow:
        for row in _rows(uow, plan.row_ids):
            if row.status != "pending":
                continue  # done before the interruption
            row.next_attempt_at, row.last_error = at, reason
            if charge:
                row.attempts += 1
        uow.commit()
    schedule_push(svc.redis, plan.training_id, at)
    log.info("push of training %s deferred to %s: %s", plan.training_id, at.isoformat(), reason)
    return f"deferred to {at.isoformat()}: {reason}"
