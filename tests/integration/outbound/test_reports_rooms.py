"""Zoom's report as Zoom writes it for waiting rooms, breakout rooms, failovers, phone callers and rehearsals.

The simulator plays the meeting from Zoom's documents (its own attendance answer
follows Zoom's rule: waiting never counts, room time does, overlaps once, a bound
phone is its attendee); the service's live estimate and its figure after the
report must both equal it.
"""

from __future__ import annotations

from sqlalchemy import select

from models import ReportRow
from tests.helpers import run_jobs
from tests.integration.outbound.support import new_training, training
from tests.integration.outbound.test_reports import play, pull, register

ANN, FAY, PHIL, NIA = "ann@example.org", "fay@example.org", "phil@example.org", "nia@example.org"
START = "2026-11-30T08:00:00Z"  # past, so the report is due at once
SCRIPT = {
    "start": START,
    "end_after": 3600,
    "participants": [
        {
            "name": "Ann Able",
            "email": ANN,
            "room_rows_blank": True,  # her room's rows carry no id and no email: the registrant id says who
            "sessions": [{"join": 0, "waiting": 120, "rooms": [{"at": 600, "until": 1200, "room": "Red"}]}],
        },
        {"name": "Fay Fail", "email": FAY, "sessions": [{"join": 60, "leave": 3000, "failover_at": 1800}]},
        {
            "name": "Phil Phone",
            "email": PHIL,
            "sessions": [{"join": 300, "leave": 2400}],
            "phone": {"number": "+15550100", "join": 1000, "leave": 3300, "bind_at": 1100},
        },
        {"name": "Nia Never", "email": NIA, "sessions": [{"join": 90, "leave": 400, "never_admitted": True}]},
    ],
}
PEOPLE = {ANN: "Ann Able", FAY: "Fay Fail", PHIL: "Phil Phone", NIA: "Nia Never"}


def figures(client, training_id: int) -> dict:
    from tests.helpers import AUTH

    body = client.get(f"/api/v1/trainings/{training_id}/attendance", headers=AUTH).json
    return {
        "attended": {item["email"]: item["attended_seconds"] for item in body["items"]},
        "waiting": {item["email"]: item["waiting_seconds"] for item in body["items"] if item["waiting_seconds"]},
        "guests": [(g["name"], g["attended_seconds"]) for g in body["unmatched"]],
    }


def rooms_training(app, client, academy) -> dict:
    shown = new_training(client, academy, start_time="2026-11-30T09:00:00+01:00")
    run_jobs(app)
    for email, name in PEOPLE.items():
        register(client, shown["id"], email, name)
    run_jobs(app)  # registered in Zoom: the report carries their registrant ids
    return training(client, shown["id"])


def test_live_and_reported_attendance_follow_zooms_rule(app, client, academy, zoom, svc):
    shown = rooms_training(app, client, academy)
    played = play(client, zoom, shown["zoom"]["meeting_id"], SCRIPT)
    expected = {email: played["attendance"].get(email, 0) for email in PEOPLE}
    # Zoom's rule, written out: Ann 60 min less 2 waiting; Nia never admitted.
    assert expected[ANN] == 3600 - 120
    assert expected[NIA] == 0
    run_jobs(app)

    live = figures(client, shown["id"])
    assert live["attended"] == expected
    assert live["waiting"] == {email: played["waiting"][email] for email in (ANN, NIA)}
    assert live["guests"] == []  # the bound phone is Phil's

    assert pull(app) == 1
    reported = figures(client, shown["id"])
    assert reported["attended"] == expected
    assert reported["waiting"] == live["waiting"]
    assert reported["guests"] == []
    assert training(client, shown["id"])["zoom"]["report"]["status"] == "done"

    with svc.unit_of_work() as uow:
        rows = uow.session.execute(select(ReportRow.status, ReportRow.bo_mtg_id, ReportRow.failover)).all()
    assert {status for status, _, _ in rows} == {"in_meeting", "in_waiting_room"}  # kept as Zoom wrote them
    assert any(bo for _, bo, _ in rows)
    assert any(failover for _, _, failover in rows)


def test_a_practice_session_is_skipped_when_the_report_is_read(app, client, academy, zoom, svc):
    shown = new_training(client, academy, meeting_type="webinar", start_time="2026-11-30T09:00:00+01:00")
    run_jobs(app)
    shown = training(client, shown["id"])
    register(client, shown["id"], ANN, "Ann Able")
    run_jobs(app)
    webinar_id = shown["zoom"]["meeting_id"]
    rehearsal = {
        "start": "2026-11-30T07:00:00Z",
        "end_after": 1800,
        "practice": True,
        "participants": [{"name": "Pat Panelist", "email": "pat@example.org", "sessions": [{"join": 10}]}],
    }
    play(client, zoom, webinar_id, rehearsal)
    run_jobs(app)
    assert training(client, shown["id"])["status"] == "not_started"
    assert training(client, shown["id"])["zoom"]["report"] is None

    live = {
        "start": START,
        "end_after": 3600,
        "participants": [{"name": "Ann Able", "email": ANN, "sessions": [{"join": 0, "leave": 1800}]}],
    }
    play(client, zoom, webinar_id, live)
    run_jobs(app)
    assert training(client, shown["id"])["status"] == "completed"
    assert pull(app) == 1
    report = training(client, shown["id"])["zoom"]["report"]
    assert (report["status"], report["instances"]) == ("done", 1)  # Zoom lists two ended instances
    reported = figures(client, shown["id"])
    assert reported["attended"] == {ANN: 1800}
    assert reported["guests"] == []  # the panelist of the rehearsal is nobody's guest
    with svc.unit_of_work() as uow:
        names = set(uow.session.scalars(select(ReportRow.name)))
    assert "Pat Panelist" not in names  # its report was never read
