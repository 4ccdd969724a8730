"""Emailing notifications: a job sends the due ones over SMTP (the settings say where), one row at a time.

The row was written with the change it reports, so a lost job or an SMTP outage
only delays it: failed tries back off (a minute, doubling, up to four hours) and
the sweeper queues this job while rows wait. Each row is claimed before it is
sent (a lease: `next_attempt_at` moves ahead in a committed update that only one
run can win), the message goes out with no transaction open, and the row is
marked sent right after; only a crash between the two sends it twice.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import or_, select, update

from models import Notification, User, utcnow
from service.services import Services, services
from workers.queues import release_once
from zoomapi.timing import backoff

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10  # about a day of backoff
LEASE = timedelta(minutes=10)  # a run that died while sending gives its rows back after this
BATCH = 200


def due(now: datetime):
    """The notifications to email now."""
    return (Notification.status == "pending") & or_(
        Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now
    )


def send_notifications() -> int:
    """RQ job: email the due notifications (a batch; the sweeper queues the rest); answers how many were sent."""
    svc = services()
    release_once(svc.redis, "notifications")  # first: a notification written from now on queues another run
    if not svc.settings.notification_email:
        with svc.unit_of_work() as uow:  # email is off: the rows are the record (GET .../notifications)
            uow.session.execute(update(Notification).where(Notification.status == "pending").values(status="kept"))
            uow.commit()
        return 0
    with svc.unit_of_work() as uow:
        ids = list(
            uow.session.scalars(select(Notification.id).where(due(utcnow())).order_by(Notification.id).limit(BATCH))
        )
    if not ids:
        return 0
    sent, left, current = 0, list(ids), None
    try:
        with _connect(svc) as smtp:
            while left:
                current = left[0]
                sent += _send_one(svc, smtp, current)
                left.pop(0)
    except (OSError, smtplib.SMTPException) as exc:  # the server went away: what was not sent waits
        log.warning("SMTP unavailable; %d notification(s) wait: %s", len(left), exc)
        _retry_later(svc, left, f"SMTP unavailable: {exc}", current)
    return sent


def _connect(svc: Services) -> smtplib.SMTP:
    settings = svc.settings
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    if settings.smtp_starttls:
        smtp.starttls()
    if settings.smtp_username:
        smtp.login(settings.smtp_username, settings.smtp_password)
    return smtp


def _claim(svc: Services, notification_id: int) -> tuple[str, str, str] | None:
    """Take the row for this run, or None if another run has it (or it is done); answers (to, subject, body)."""
    now = utcnow()
    with svc.unit_of_work() as uow:
        won = uow.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, due(now))
            .values(next_attempt_at=now + LEASE, attempts=Notification.attempts + 1)
        ).rowcount
        if not won:
            return None
        row = uow.session.get(Notification, notification_id)
        email = uow.session.scalar(select(User.email).where(User.id == row.user_id))
        uow.commit()
        return email or "", row.subject, row.body


def _send_one(svc: Services, smtp: smtplib.SMTP, notification_id: int) -> int:
    claimed = _claim(svc, notification_id)
    if claimed is None:
        return 0
    email, subject, body = claimed
    if not email:
        _finish(svc, notification_id, "failed", "the user has no email address")
        return 0
    try:
        message = EmailMessage()
        message["From"] = svc.settings.smtp_from
        message["To"] = email
        message["Subject"] = " ".join(subject.split())  # a header is one line
        message.set_content(body)
    except ValueError as exc:  # this message cannot be written; the others can
        _finish(svc, notification_id, "failed", f"cannot build the message: {exc}")
        return 0
    try:
        smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        _finish(svc, notification_id, "failed", f"refused by the mail server: {exc.recipients}")
        return 0
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:  # the server says: later
            _retry_later(svc, [notification_id], f"mail server: {exc.smtp_code} {exc.smtp_error!r}", notification_id)
        else:
            _finish(svc, notification_id, "failed", f"mail server: {exc.smtp_code} {exc.smtp_error!r}")
        return 0
    except smtplib.SMTPServerDisconnected:
        raise  # the server went away: the whole run stops, this row with the rest
    except smtplib.SMTPException as exc:  # this message (e.g. an address the server cannot take): this row only
        _finish(svc, notification_id, "failed", f"cannot send: {exc}")
        return 0
    _finish(svc, notification_id, "sent", None)
    return 1


def _finish(svc: Services, notification_id: int, status: str, error: str | None) -> None:
    with svc.unit_of_work() as uow:
        row = uow.session.get(Notification, notification_id)
        row.status, row.last_error, row.next_attempt_at = status, error, None
        if status == "sent":
            row.sent_at = utcnow()
        uow.commit()


def _retry_later(svc: Services, ids: list[int], error: str, current: int | None) -> None:
    """Back off these rows; after the last try they are failed.

    `current` is the row this run claimed (its try is counted); any other is
    charged the try it could not have, unless another run holds it (its lease).
    """
    now = utcnow()
    with svc.unit_of_work() as uow:
        attempts = dict(
            uow.session.execute(select(Notification.id, Notification.attempts).where(Notification.id.in_(ids))).all()
        )
        for notification_id, tried in attempts.items():
            conditions = [Notification.id == notification_id, Notification.status == "pending"]
            if notification_id != current:
                tried += 1
                conditions.append(due(now))  # in the same statement: a row another run has just claimed is its own
            values: dict = {"attempts": tried, "last_error": error}
            if tried >= MAX_ATTEMPTS:
                values.update(status="failed", next_attempt_at=None)
            else:
                values["next_attempt_at"] = now + timedelta(seconds=backoff(tried, base=60, cap=4 * 3600))
            uow.session.execute(update(Notification).where(*conditions).values(**values))
        uow.commit()
