"""Helpers the outbound tests share: trainings, what Zoom holds, the outbox, scheduled pushes."""

from __future__ import annotations

from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, text

from models import OutboxItem
from tests.helpers import AUTH, acting, run_jobs
from workers.queues import OUTBOUND_QUEUE, queue


def new_training(client, academy: dict, **overrides) -> dict:
    body = {
        "academy_id": academy["id"],
        "theme": "Fire safety",
        "start_time": "2026-12-10T09:00:00+01:00",
        "duration": 60,
        "timezone": "Europe/Berlin",
        "meeting_type": "meeting",
        "organizer_id": academy["organizer"],
        **overrides,
    }
    answer = client.post("/api/v1/trainings", json=body, headers=acting(academy["organizer"]))
    assert answer.status_code == 201, answer.json
    return answer.json


def learner(client, n: int) -> int:
    body = {"email": f"learner{n}@example.org", "name": f"Learner Number{n}"}
    return client.post("/api/v1/users", json=body, headers=AUTH).json["id"]


def training(client, training_id: int) -> dict:
    return client.get(f"/api/v1/trainings/{training_id}", headers=AUTH).json


def zoom_meeting(zoom, meeting_id: int) -> dict:
    return zoom.control.meeting(meeting_id)


def zoom_calls(zoom, method: str, fragment: str) -> list[dict]:
    return [r for r in zoom.sim.requests if r["method"] == method and fragment in r["path"]]


def outbox(svc, training_id: int) -> list[tuple[str, str]]:
    with svc.unit_of_work() as uow:
        rows = uow.session.scalars(
            select(OutboxItem).where(OutboxItem.training_id == training_id).order_by(OutboxItem.id)
        )
        return [(row.kind, row.status) for row in rows]


def run_scheduled(app, svc) -> None:
    """Move every scheduled push to its queue, as RQ's scheduler does when the time comes, and run it."""
    outbound = queue(svc.redis, OUTBOUND_QUEUE)
    registry = ScheduledJobRegistry(queue=outbound)
    for job_id in registry.get_job_ids():
        registry.remove(job_id)
        outbound.enqueue_job(outbound.fetch_job(job_id))
    run_jobs(app)


def due_now(svc) -> None:
    with svc.unit_of_work() as uow:
        uow.session.execute(text("UPDATE outbox SET next_attempt_at = NULL"))
        uow.commit()


def synced_training(app, client, academy) -> dict:
    created = new_training(client, academy)
    run_jobs(app)
    return training(client, created["id"])
