"""Events about a Zoom account rather than a meeting: today, `app_deauthorized`."""

from __future__ import annotations

import json
import logging

from models import InboxEvent, utcnow
from service.services import services
from service.zoom_connections import deauthorized
from workers.queues import release_once

log = logging.getLogger(__name__)


def handle_account_event(inbox_id: int) -> str:
    """RQ job: a user removed our app in Zoom. Disconnect what they authorized, forget their tokens.

    Safe to run twice: a connection already disconnected is left as it is.
    """
    svc = services()
    release_once(svc.redis, f"account-event-{inbox_id}")
    with svc.unit_of_work() as uow:
        event = uow.session.get(InboxEvent, inbox_id)
        if event is None or event.status != "pending":
            return "nothing to do"
        payload = json.loads(event.raw_body).get("payload") or {}
        # The account as intake stored it (NUL and lone surrogates cleaned): a query cannot take the raw text.
        account_id = event.account_id if isinstance(payload.get("account_id"), str) else None
    user_id = payload.get("user_id")
    if not account_id:
        return _finish(inbox_id, "failed", "app_deauthorized without payload.account_id")
    academies = deauthorized(svc, account_id, user_id if isinstance(user_id, str) else "")
    log.info("app_deauthorized for account %s: academies %s disconnected", account_id, academies)
    return _finish(inbox_id, "processed", None)


def _finish(inbox_id: int, status: str, error: str | None) -> str:
    svc = services()
    with svc.unit_of_work() as uow:
        event = uow.session.get(InboxEvent, inbox_id)
        event.status, event.last_error, event.processed_at = status, error, utcnow()
        event.attempts += 1
        uow.commit()
    return status
