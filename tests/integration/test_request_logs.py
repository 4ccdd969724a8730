"""One log line per request and per job, with the ids that let an operator follow an event; no payload."""

from __future__ import annotations

import logging

from service.logs import JsonLines
from tests.helpers import deliver, fixture, run_jobs
from tests.integration.test_reconcile import MEETING_ID, Lms


def _lines(caplog, logger: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == logger]


def test_a_webhook_request_logs_its_event_meeting_and_zoom_tracking_id(client, caplog):
    caplog.set_level(logging.INFO)
    body = fixture("meeting.participant_joined")
    assert deliver(client, body).status_code == 200
    [line] = _lines(caplog, "zoomsync.request")
    assert (line.method, line.path, line.status) == ("POST", "/webhooks/zoom", 200)
    assert (line.event_type, line.meeting_id) == ("meeting.participant_joined", MEETING_ID)
    assert line.inbox_id is not None and line.duration_ms >= 0
    formatted = JsonLines().format(line)
    email = body["payload"]["object"]["participant"]["email"]
    assert email and email not in formatted and body["payload"]["object"]["participant"]["user_name"] not in formatted


def test_an_api_request_logs_its_path_without_the_query_string(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/api/v1/trainings/1?code=secret")
    [line] = _lines(caplog, "zoomsync.request")
    assert line.path == "/api/v1/trainings/1" and "secret" not in JsonLines().format(line)


def test_a_job_logs_its_id_its_meeting_and_how_it_ended(app, client, caplog):
    Lms(client).training()
    deliver(client, fixture("meeting.started"))
    caplog.set_level(logging.INFO)
    run_jobs(app)
    reconciles = [line for line in _lines(caplog, "zoomsync.job") if line.job.endswith("reconcile_meeting")]
    assert len(reconciles) == 1
    assert (reconciles[0].meeting_id, reconciles[0].outcome) == (MEETING_ID, "ok") and reconciles[0].job_id
