"""The drift check: read upcoming meetings from Zoom and repair what a lost webhook left behind.

Zoom delivers at least once, but gives up after its retries: an edit made in
Zoom while we were unreachable for hours never arrives. Every DRIFT_CHECK_SECONDS
each connected account's upcoming trainings are compared with Zoom's list of
the hosts' upcoming meetings (one paged call per host, within the shared rate
limits). A field Zoom holds otherwise than it last told us becomes a
`meeting.updated` in the inbox, applied by the reconcile job under the same
rules as any webhook; a meeting Zoom no longer has is flagged missing after a
second look. A training with edits still waiting to be pushed is left to the
push job, so a drift repair never overrides a newer LMS edit.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from models import OutboxItem, Training, ZoomConnection, utcnow
from service.envelope import read_envelope
from service.inbox import store_event
from service.services import Services, services
from service.zoom_connections import zoom_client
from service.zoom_tokens import ConnectionBroken
from workers.push import flag_missing, meeting_gone
from workers.queues import OUTBOUND_QUEUE, enqueue_once, release_once, request_reconcile
from zoomapi import payloads
from zoomapi.errors import ZoomAPIError, ZoomNotFound, ZoomRateLimited
from zoomapi.limiter import Deferred

log = logging.getLogger(__name__)

DRIFT_OPERATOR = "drift-check@zoomsync"


def drift_check() -> int:
    """RQ cron job: one check per connected account."""
    svc = services()
    with svc.unit_of_work() as uow:
        ids = list(uow.session.scalars(select(ZoomConnection.id).where(ZoomConnection.status == "connected")))
    for connection_id in ids:
        enqueue_once(
            svc.redis,
            f"drift-{connection_id}",
            OUTBOUND_QUEUE,
            check_connection,
            connection_id,
            description=f"drift check of Zoom connection {connection_id}",
            job_timeout=900,
            result_ttl=3600,
        )
    return len(ids)


def check_connection(connection_id: int) -> dict[str, int]:
    """RQ job: compare one account's upcoming trainings with Zoom; returns what it found."""
    svc = services()
    release_once(svc.redis, f"drift-{connection_id}")
    with svc.unit_of_work() as uow:
        connection = uow.session.get(ZoomConnection, connection_id)
        if connection is None or connection.status != "connected":
            return {}
        trainings = _upcoming(uow.session, connection.academy_id)
        uow.session.expunge_all()
    found = {"checked": 0, "repaired": 0, "missing": 0}
    groups: dict[tuple[str, str], list[Training]] = defaultdict(list)
    for training in trainings:
        groups[(training.meeting_type, training.zoom_host_id or "")].append(training)
    client = zoom_client(svc, connection)
    for (kind, host), group in groups.items():
        try:
            _check_group(svc, client, kind, host, group, connection.account_id or "", found)
        except (Deferred, ZoomRateLimited, ConnectionBroken) as exc:
            log.info("drift check of connection %s stopped for now: %s", connection_id, exc)
            break  # the account's budget or tokens: the next check goes on
        except ZoomAPIError as exc:
            # One host's trouble (a user removed from Zoom...) must not keep the others unchecked.
            log.info("drift check of connection %s skipped host %s: %s", connection_id, host, exc)
    return found


def _check_group(svc, client, kind: str, host: str, group: list[Training], account_id: str, found: dict) -> None:
    read_ms = int(datetime.now(UTC).timestamp() * 1000)  # what Zoom holds as of this moment, not later
    listed = {int(m["id"]): m for m in client.upcoming(kind, host)} if host else {}
    for training in group:
        found["checked"] += 1
        meeting = listed.get(training.zoom_meeting_id)
        if meeting is None:
            try:
                meeting = client.get(kind, training.zoom_meeting_id)
            except ZoomNotFound:
                if meeting_gone(client, kind, training.zoom_meeting_id):  # a second look before believing it
                    flag_missing(svc, training.id)
                    found["missing"] += 1
                continue
        if _repair(svc, training, meeting, account_id, read_ms):
            found["repaired"] += 1


def _upcoming(session, academy_id: int) -> list[Training]:
    """Trainings whose meetings are still to come, with no edit waiting to be pushed."""
    waiting = select(OutboxItem.training_id).where(OutboxItem.status == "pending")
    return list(
        session.scalars(
            select(Training).where(
                Training.academy_id == academy_id,
                Training.zoom_meeting_id.is_not(None),
                Training.status == "not_started",
                Training.start_time > utcnow() - timedelta(hours=1),
                Training.id.not_in(waiting),
            )
        )
    )


def _moved_on(svc: Services, training: Training) -> bool:
    """Whether the training changed since it was read for this check: an edit now waits to be pushed, or a push
    landed (what Zoom was compared with is stale). Zoom's answer may hold that push, or come from before it, so
    it proves no drift; the next check looks again. Without this, an LMS edit made before Zoom was read could
    lose to what the check took for a change in Zoom."""
    with svc.unit_of_work() as uow:
        fresh = uow.session.get(Training, training.id)
        waiting = uow.session.scalars(
            select(OutboxItem.id).where(OutboxItem.training_id == training.id, OutboxItem.status == "pending")
        ).first()
        return fresh is None or waiting is not None or (fresh.zoom_confirmed or {}) != (training.zoom_confirmed or {})


def _repair(svc: Services, training: Training, meeting: dict[str, Any], account_id: str, read_ms: int) -> bool:
    """Turn what Zoom holds otherwise than it last told us into a meeting.updated for the reconcile job."""
    confirmed = {name: entry[0] for name, entry in (training.zoom_confirmed or {}).items()}
    # A field we never learned is no evidence of drift: learning it is the next push's business.
    drift = {
        name: meeting[name]
        for name in payloads.PUSHED_FIELDS
        if name in meeting and name in confirmed and meeting[name] != confirmed[name]
    }
    if not drift or _moved_on(svc, training):
        return False
    # Stamped with the time Zoom was read: an LMS edit made since is newer and wins.
    now_ms = read_ms
    body = {
        "event": f"{training.meeting_type}.updated",
        "payload": {
            "account_id": account_id,
            "operator": DRIFT_OPERATOR,
            "operator_id": "drift-check",
            "object": {"id": training.zoom_meeting_id, **drift},
            "time_stamp": now_ms,
            "old_object": {"id": training.zoom_meeting_id, **{name: confirmed[name] for name in drift}},
        },
        "event_ts": now_ms,
    }
    raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
    with svc.unit_of_work() as uow:
        store_event(uow, read_envelope(raw), raw, {"user-agent": "zoomsync drift check"})
    request_reconcile(svc.redis, training.zoom_meeting_id)
    log.info("drift: training %s differs from Zoom in %s", training.id, sorted(drift))
    return True
