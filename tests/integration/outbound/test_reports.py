"""After the meeting: Zoom's participant report replaces the live estimate, read whole, every run, once.

A meeting is played in the simulator (a learner on two devices, one whose leave
event Zoom loses, a guest); its webhooks reach the service through the test
client; then the report pull runs as the sweeper queues it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from sqlalchemy import func, select, text

from models import ReportPull, ReportRow
from tests.helpers import AUTH, acting, deliver, run_jobs, sim_bodies
from tests.integration.outbound.support import new_training, training
from workers.sweeper import sweep_report_pulls

ADA, ALAN = "ada@example.org", "alan@example.org"


def register(client, training_id: int, email: str, name: str) -> int:
    user = client.post("/api/v1/users", json={"email": email, "name": name}, headers=AUTH).json["id"]
    client.post(f"/api/v1/trainings/{training_id}/registrants", json={"user_id": user}, headers=acting(user))
    return user


def play(client, zoom, meeting_id: int, script: dict | None = None) -> dict:
    """Play the meeting in Zoom and deliver every webhook it produced to the service."""
    mark = max((m.id for m in zoom.sim.dispatcher.messages), default=0)
    played = zoom.control.play(
        meeting_id,
        script
        or {
            "start": "2026-11-30T08:00:00Z",
            "end_after": 3600,
            "participants": [
                {
                    "name": "Ada Lovelace",
                    "email": ADA,
                    "sessions": [{"join": 60, "leave": 3000}, {"join": 600, "leave": 900}],
                },
                {"name": "Alan Turing", "email": ALAN, "sessions": [{"join": 300, "leave": 2100, "lose_leave": True}]},
                {"name": "A guest", "email": "", "sessions": [{"join": 900, "leave": 1800}]},
            ],
        },
    )
    for body in sim_bodies(zoom, mark):
        assert deliver(client, body).status_code == 200
    return played


def attendance(client, training_id: int) -> dict[str, int]:
    body = client.get(f"/api/v1/trainings/{training_id}/attendance", headers=AUTH).json
    seconds = {item["email"]: item["attended_seconds"] for item in body["items"]}
    seconds.update({f"guest:{g['name']}": g["attended_seconds"] for g in body["unmatched"]})
    return seconds


def pull(app) -> int:
    with app.app_context():
        queued = sweep_report_pulls()
    run_jobs(app)
    return queued


def report_rows(svc) -> int:
    with svc.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(ReportRow))


def ready_training(app, client, academy, zoom):
    # The training's day is the day the meetings below are played: runs of other days are not the training.
    created = new_training(client, academy, start_time="2026-11-30T09:00:00+01:00")
    run_jobs(app)
    shown = training(client, created["id"])
    register(client, shown["id"], ADA, "Ada Lovelace")
    register(client, shown["id"], ALAN, "Alan Turing")
    run_jobs(app)  # registered in Zoom: the report will carry their registrant ids
    return shown


def test_the_report_replaces_the_live_estimate(app, client, academy, zoom, svc):
    shown = ready_training(app, client, academy, zoom)
    played = play(client, zoom, shown["zoom"]["meeting_id"])
    run_jobs(app)  # reconcile the live events
    live = attendance(client, shown["id"])
    assert live[ALAN] == 3600 - 300  # his leave never came: counted until the end
    assert training(client, shown["id"])["zoom"]["report"]["status"] == "pending"
    assert pull(app) == 1
    reported = attendance(client, shown["id"])
    assert reported[ALAN] == played["attendance"][ALAN] == 1800
    assert reported[ADA] == played["attendance"][ADA] == 2940
    assert reported["guest:A guest"] == 900
    report = training(client, shown["id"])["zoom"]["report"]
    assert (report["status"], report["instances"], report["rows"]) == ("done", 1, 4)
    [asked] = [parse_qs(r["query"]) for r in zoom.sim.requests if "/report/" in r["path"]]
    assert asked == {"page_size": ["300"], "include_fields": ["registrant_id"]}


def test_matching_uses_the_registrant_ids_zoom_reports(app, client, academy, zoom, svc):
    shown = ready_training(app, client, academy, zoom)
    meeting_id = shown["zoom"]["meeting_id"]
    [ada_registration] = [r for r in zoom.control.meeting(meeting_id)["registrants"] if r["email"] == ADA]
    zoom.control.call("POST", f"/meetings/{meeting_id}/start", {"at": "2026-11-30T08:00:00Z"})
    # Joined under another address: only the registrant id (from the personal link) says who it is.
    person = {"name": "Ada at home", "email": "ada.private@example.net", "registrant_id": ada_registration["id"]}
    zoom.control.call("POST", f"/meetings/{meeting_id}/join", {**person, "at": "2026-11-30T08:00:00Z"})
    zoom.control.call("POST", f"/meetings/{meeting_id}/end", {"at": "2026-11-30T08:20:00Z"})
    for body in sim_bodies(zoom):
        deliver(client, body)
    run_jobs(app)
    pull(app)
    assert attendance(client, shown["id"])[ADA] == 1200


def test_no_report_yet_means_trying_again_later(app, client, academy, zoom, svc):
    shown = ready_training(app, client, academy, zoom)
    zoom.sim.config.report_delay = 120  # Zoom publishes the report two minutes after the end
    try:
        play(client, zoom, shown["zoom"]["meeting_id"])
        run_jobs(app)
        pull(app)
        report = training(client, shown["id"])["zoom"]["report"]
        assert (report["status"], report["attempts"]) == ("pending", 1) and report_rows(svc) == 0
        zoom.control.call("POST", "/clock", {"advance": 121})
        pull(app)
        assert training(client, shown["id"])["zoom"]["report"]["status"] == "done"
    finally:
        zoom.sim.config.report_delay = 0


def test_durations_of_zero_mean_the_report_is_not_processed_yet(app, client, academy, zoom, svc):
    shown = ready_training(app, client, academy, zoom)
    zoom.sim.config.report_settle = 120
    try:
        play(client, zoom, shown["zoom"]["meeting_id"])
        run_jobs(app)
        pull(app)
        assert (
            report_rows(svc) == 0 and "durations of 0" in training(client, shown["id"])["zoom"]["report"]["last_error"]
        )
        zoom.control.call("POST", "/clock", {"advance": 121})
        pull(app)
        assert attendance(client, shown["id"])[ALAN] == 1800
    finally:
        zoom.sim.config.report_settle = 0


def test_no_report_after_the_last_try_is_recorded_and_the_live_estimate_stands(app, client, academy, zoom, svc):
    shown = ready_training(app, client, academy, zoom)
    zoom.sim.config.report_delay = 10_000
    try:
        play(client, zoom, shown["zoom"]["meeting_id"])
        run_jobs(app)
        for _ in range(3):
            pull(app)
        report = training(client, shown["id"])["zoom"]["report"]
        assert report["status"] == "failed" and "did not come" in report["last_error"]
        assert "did not come" in training(client, shown["id"])["zoom"]["sync_issue"]  # an issue an admin sees
        assert attendance(client, shown["id"])[ALAN] == 3300
        assert pull(app) == 0  # given up: no more tries
    finally:
        zoom.sim.config.report_delay = 0


def test_a_page_that_fails_stores_nothing_and_the_report_is_read_whole_later(app, client, academy, zoom, svc):
    shown = ready_training(app, client, academy, zoom)
    crowd = [
        {"name": f"Viewer {n}", "email": f"viewer{n}@example.org", "sessions": [{"join": n % 600, "leave": 1800}]}
        for n in range(320)
    ]
    play(
        client,
        zoom,
        shown["zoom"]["meeting_id"],
        {"start": "2026-11-30T08:00:00Z", "end_after": 3600, "participants": crowd},
    )
    run_jobs(app)
    zoom.control.fault(kind="status", status=502, path="/v2/report/", skip=1, count=1)  # the second page
    pull(app)
    assert report_rows(svc) == 0
    assert training(client, shown["id"])["zoom"]["report"]["status"] == "pending"
    with svc.unit_of_work() as uow:
        uow.session.execute(text("UPDATE report_pulls SET next_attempt_at = :t"), {"t": "2000-01-01 00:00:00"})
        uow.commit()
    pull(app)
    assert report_rows(svc) == 320
    assert sum(1 for key in attendance(client, shown["id"]) if key.startswith("guest:")) == 320
    assert training(client, shown["id"])["zoom"]["report"]["rows"] == 320


def test_every_run_of_a_restarted_meeting_is_read_and_reading_again_duplicates_nothing(app, client, academy, zoom, svc):
    shown = ready_training(app, client, academy, zoom)
    meeting_id = shown["zoom"]["meeting_id"]
    first = {
        "start": "2026-11-30T08:00:00Z",
        "end_after": 600,
        "participants": [{"name": "Ada Lovelace", "email": ADA, "sessions": [{"join": 0, "leave": 600}]}],
    }
    second = {
        "start": "2026-11-30T08:15:00Z",
        "end_after": 900,
        "uuid": "/restart//uuid==",
        "participants": [{"name": "Ada Lovelace", "email": ADA, "sessions": [{"join": 0, "leave": 900}]}],
    }
    play(client, zoom, meeting_id, first)
    play(client, zoom, meeting_id, second)  # a uuid Zoom needs double-encoded
    run_jobs(app)
    pull(app)
    assert attendance(client, shown["id"])[ADA] == 1500
    assert training(client, shown["id"])["zoom"]["report"]["instances"] == 2
    with svc.unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE report_pulls SET status = 'pending', next_attempt_at = :t"), {"t": "2000-01-01"}
        )
        uow.commit()
    pull(app)
    assert report_rows(svc) == 2 and attendance(client, shown["id"])[ADA] == 1500


def test_the_pull_is_due_a_while_after_the_meetings_end(app, client, academy, zoom, svc):
    delay = 10 * 365 * 86400  # so long that the pull is not due whenever this test runs
    svc.settings = replace(svc.settings, report_delays=(delay, 0, 0))
    shown = ready_training(app, client, academy, zoom)
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    script = {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end_after": 3600, "participants": []}
    play(client, zoom, shown["zoom"]["meeting_id"], script)
    run_jobs(app)
    report = training(client, shown["id"])["zoom"]["report"]
    ended = start + timedelta(hours=1)
    assert report["next_attempt_at"] == (ended + timedelta(seconds=delay)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert pull(app) == 0  # not due yet
    with svc.unit_of_work() as uow:
        uow.session.execute(text("UPDATE report_pulls SET next_attempt_at = :t"), {"t": "2000-01-01 00:00:00"})
        uow.commit()
    assert pull(app) == 1


def test_a_pull_that_began_before_a_newer_end_does_not_close_the_newer_request(app, client, academy, zoom, svc):
    from workers import reports, runs

    shown = ready_training(app, client, academy, zoom)
    play(client, zoom, shown["zoom"]["meeting_id"])
    run_jobs(app)
    with svc.unit_of_work() as uow:
        began_with = uow.session.scalars(select(ReportPull)).one().generation
        runs.schedule_report_pull(uow.session, shown["id"], datetime.now(UTC), 0)  # the host ran it again
        uow.commit()
    with app.app_context():
        reports._store(svc, shown["id"], began_with, shown["zoom"]["meeting_id"], {})  # the older pull finishes
    assert training(client, shown["id"])["zoom"]["report"]["status"] == "pending"  # the newer request stands
    pull(app)
    assert training(client, shown["id"])["zoom"]["report"]["status"] == "done"


# --- completion (iSpring's Completion tab) ----------------------------------------------------------------------


def completion(client, training_id: int) -> dict[str, str]:
    body = client.get(f"/api/v1/trainings/{training_id}/attendance", headers=AUTH).json
    return {item["email"]: item["completion"] for item in body["items"]}


def test_completion_waits_for_the_report_then_follows_the_rule_as_it_changes(app, client, academy, zoom, svc):
    shown = ready_training(app, client, academy, zoom)
    register(client, shown["id"], "absent@example.org", "Abe Sent")
    path = f"/api/v1/trainings/{shown['id']}"
    answer = client.patch(path, json={"min_attendance_percent": 50}, headers=academy["headers"])
    assert answer.status_code == 200 and answer.json["min_attendance_percent"] == 50
    assert set(completion(client, shown["id"]).values()) == {"pending"}  # not held yet
    play(client, zoom, shown["zoom"]["meeting_id"])
    run_jobs(app)
    assert training(client, shown["id"])["status"] == "completed"
    assert set(completion(client, shown["id"]).values()) == {"pending"}  # Zoom's report not read yet
    pull(app)
    # 60 scheduled minutes: 50 % is 1,800 s. Ada attended 2,940 s, Alan 1,800 s (the report's figure).
    assert completion(client, shown["id"]) == {
        ADA: "completed",
        ALAN: "completed",
        "absent@example.org": "not_completed",
    }
    client.patch(path, json={"min_attendance_percent": 80}, headers=academy["headers"])  # 2,880 s
    assert completion(client, shown["id"]) == {
        ADA: "completed",
        ALAN: "not_completed",
        "absent@example.org": "not_completed",
    }
    client.patch(path, json={"min_attendance_percent": None}, headers=academy["headers"])  # any attendance
    assert completion(client, shown["id"]) == {
        ADA: "completed",
        ALAN: "completed",
        "absent@example.org": "not_completed",
    }


def test_a_minimum_attendance_is_a_percentage(app, client, academy):
    for bad in (0, 101, "50", 50.5):
        answer = client.post(
            "/api/v1/trainings",
            json={
                "academy_id": academy["id"],
                "theme": "T",
                "start_time": "2026-12-10T09:00:00Z",
                "duration": 60,
                "timezone": "UTC",
                "meeting_type": "meeting",
                "min_attendance_percent": bad,
            },
            headers=academy["headers"],
        )
        assert answer.status_code == 422 and "min_attendance_percent" in answer.json["fields"], bad
