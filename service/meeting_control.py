"""Starting and ending a training's Zoom meeting: the organizer's two buttons (iSpring), answered live from Zoom.

Unlike edits, these cannot wait for a queue: the organizer is about to host, and
Zoom's start links expire (about two hours), so each start reads a fresh one.
Checks run in a short transaction; the Zoom call happens after it.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError

from models import Training
from service import lms, lms_rules
from service.errors import Conflict, Unavailable
from service.services import Services
from service.unit_of_work import UnitOfWork
from service.zoom_connections import zoom_client
from service.zoom_tokens import ConnectionBroken
from zoomapi.client import ZoomClient
from zoomapi.errors import ZoomAPIError, ZoomNotFound, ZoomRateLimited, ZoomUnauthorized, ZoomUnavailable
from zoomapi.limiter import Deferred


def start_link(svc: Services, acting_id: int | None, training_id: int) -> dict[str, Any]:
    """A fresh start link for the organizer (hosts are never asked for a password: the link carries a token)."""
    client, kind, meeting_id = _organizer_call(svc, acting_id, training_id, "started")
    meeting = _zoom(lambda: client.get(kind, meeting_id), "start")
    return {"start_url": meeting["start_url"], "join_url": meeting.get("join_url"), "meeting_id": meeting_id}


def end_meeting(svc: Services, acting_id: int | None, training_id: int) -> dict[str, Any]:
    """Ask Zoom to end the meeting; the training completes when Zoom's `meeting.ended` arrives."""
    client, kind, meeting_id = _organizer_call(svc, acting_id, training_id, "ended")
    _zoom(lambda: client.end(kind, meeting_id), "end")
    return {"status": "ending", "meeting_id": meeting_id}


def _organizer_call(svc: Services, acting_id: int | None, training_id: int, what: str) -> tuple[ZoomClient, str, int]:
    with svc.unit_of_work() as uow:
        training = lms.get_training(uow, training_id)
        lms.require_organizer(uow, acting_id, training)
        _check_can_be(uow, training, what)
        connection = lms.connection_of(uow, training.academy_id)
        if connection is None:
            raise Conflict(f"the academy of training {training_id} is not connected to Zoom")
        return zoom_client(svc, connection), training.meeting_type, training.zoom_meeting_id


def _check_can_be(uow: UnitOfWork, training: Training, what: str) -> None:
    if training.status in ("cancelled", "completed"):
        raise Conflict(f"training {training.id} is {training.status}: it cannot be {what}")
    if training.zoom_meeting_id is None:
        raise Conflict(f"training {training.id} has no Zoom meeting yet: {lms.meeting_pending_reason(uow, training)}")
    if what == "started":
        problem = lms_rules.registrant_problem(lms.registered_count(uow, training.id), "started")
        if problem:
            raise Conflict(problem)
        handover = lms.last_handover(uow, training.id)
        if handover is not None and handover.status != "sent":  # Zoom's start link would start it as the old host
            if handover.status == "failed":
                raise Conflict(f"Zoom did not make the organizer the meeting's host: {handover.last_error}")
            raise Conflict("the meeting's host is being changed to the organizer in Zoom; try again in a moment")


def _zoom(call, what: str):
    try:
        return call()
    except ZoomNotFound as exc:
        raise Conflict(f"Zoom no longer has this meeting ({exc.message}): recreate it first") from exc
    except (ZoomUnavailable, ZoomRateLimited) as exc:
        raise Unavailable(f"Zoom cannot {what} the meeting now; try again ({exc.message})") from exc
    except Deferred as exc:  # our share of Zoom's rate limit is spent until then
        raise Unavailable(f"Zoom's rate limit is reached until {exc.retry_at:%H:%M:%S} UTC; try again then") from exc
    except (ConnectionBroken, ZoomUnauthorized) as exc:
        raise Conflict(f"the academy's Zoom connection does not work ({exc}): reconnect it") from exc
    except RedisError as exc:
        raise Unavailable("the rate limiter cannot be reached; try again") from exc
    except ZoomAPIError as exc:
        raise Conflict(f"Zoom refused to {what} the meeting: {exc.message}") from exc
