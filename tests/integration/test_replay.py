"""A failed event is visible and replayable without a shell session in the database."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from models import InboxEvent
from tests.helpers import AUTH, create_training, deliver, fixture, run_jobs
from workers import handlers


def test_replay_command_reapplies_failed_events(client, app, session_factory, monkeypatch):
    training_id = create_training(client)
    run_jobs(app)

    def broken(ctx, event):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(handlers.HANDLERS, "meeting.started", broken)
    svc = app.extensions["zoomsync"]
    monkeypatch.setattr(svc, "settings", replace(svc.settings, max_event_attempts=1))
    deliver(client, fixture("meeting.started"))
    run_jobs(app)
    with session_factory() as session:
        [event] = session.scalars(select(InboxEvent).where(InboxEvent.event_type == "meeting.started")).all()
        assert event.status == "failed" and "database hiccup" in event.last_error

    monkeypatch.undo()
    result = app.test_cli_runner().invoke(args=["replay"])
    assert result.exit_code == 0 and "1 meeting" in result.output
    run_jobs(app)
    with session_factory() as session:
        event = session.get(InboxEvent, event.id)
        assert event.status == "processed" and event.attempts == 0
    assert client.get(f"/api/v1/trainings/{training_id}", headers=AUTH).json["status"] == "started"
