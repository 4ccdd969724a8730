"""The drift check repairs what a lost webhook left behind, and never overrides a newer LMS edit."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from models import InboxEvent, Training, ZoomConnection
from tests.helpers import AUTH, STAFF, run_jobs
from tests.integration.outbound.support import synced_training, training, zoom_calls
from workers.drift import check_connection, drift_check


def connection_id(svc) -> int:
    with svc.unit_of_work() as uow:
        return uow.session.scalars(select(ZoomConnection.id)).one()


def check(app, svc) -> dict:
    with app.app_context():
        found = check_connection(connection_id(svc))
    run_jobs(app)
    return found


def test_an_edit_in_zoom_whose_webhook_was_lost_reaches_the_training(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], duration=45, topic="Renamed while we were away")
    # Its webhook never arrives: nothing here delivers the simulator's events.
    assert check(app, svc) == {"checked": 1, "repaired": 1, "missing": 0}
    after = training(client, shown["id"])
    assert (after["duration"], after["theme"]) == (45, "Renamed while we were away")
    with svc.unit_of_work() as uow:
        event = uow.session.scalars(select(InboxEvent).where(InboxEvent.event_type == "meeting.updated")).one()
        assert (event.status, event.headers["user-agent"]) == ("processed", "zoomsync drift check")
    assert zoom_calls(zoom, "PATCH", "/meetings/") == []  # nothing pushed back
    assert check(app, svc)["repaired"] == 0  # repaired once: now in line


def test_one_list_per_host_and_no_repair_when_nothing_drifted(app, client, academy, zoom, svc):
    for _ in range(3):
        synced_training(app, client, academy)
    assert check(app, svc) == {"checked": 3, "repaired": 0, "missing": 0}
    assert len(zoom_calls(zoom, "GET", "/meetings")) == 1


def test_a_training_with_an_edit_waiting_to_be_pushed_is_left_to_the_push(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], duration=45)
    client.patch(
        f"/api/v1/trainings/{shown['id']}", json={"duration": 75}, headers=academy["headers"]
    )  # newer, not pushed
    with app.app_context():
        assert check_connection(connection_id(svc))["checked"] == 0
    run_jobs(app)  # the push: the later LMS edit wins on both sides
    assert training(client, shown["id"])["duration"] == 75
    assert zoom.control.meeting(shown["zoom"]["meeting_id"])["duration"] == 75


def test_a_meeting_deleted_in_zoom_without_a_webhook_is_flagged_missing(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    zoom.control.delete_meeting(shown["zoom"]["meeting_id"])
    assert check(app, svc)["missing"] == 1
    assert training(client, shown["id"])["zoom"]["sync_issue"] == "meeting missing in Zoom"


def test_zoom_unavailable_stops_the_check_and_the_next_one_repairs(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], duration=45)
    zoom.control.fault(kind="status", status=503, count=1, path="/meetings")
    assert check(app, svc) == {"checked": 0, "repaired": 0, "missing": 0}
    assert check(app, svc)["repaired"] == 1
    assert training(client, shown["id"])["duration"] == 45


def test_the_cron_queues_one_check_per_connected_account(app, client, academy, zoom, svc):
    with app.app_context():
        assert drift_check() == 1
        assert drift_check() == 1  # asked again: still one waiting job
    assert run_jobs(app) == 1


def test_an_lms_edit_made_after_zoom_was_read_wins_over_the_repair(app, client, academy, zoom, svc):
    from workers import drift

    shown = synced_training(app, client, academy)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], duration=45)
    read_ms = int(datetime.now(UTC).timestamp() * 1000) - 5000  # the check read Zoom five seconds ago...
    client.patch(
        f"/api/v1/trainings/{shown['id']}", json={"duration": 75}, headers=academy["headers"]
    )  # ...then the LMS edited
    with svc.unit_of_work() as uow:
        stale = uow.session.get(Training, shown["id"])
        uow.session.expunge(stale)
    meeting = zoom.control.meeting(shown["zoom"]["meeting_id"])
    with app.app_context():
        assert not drift._repair(svc, stale, meeting, zoom.sim.config.account_id, read_ms)  # left to the push
    run_jobs(app)
    assert training(client, shown["id"])["duration"] == 75
    assert zoom.control.meeting(shown["zoom"]["meeting_id"])["duration"] == 75


def test_a_push_landing_while_zoom_is_read_is_not_taken_for_drift(app, client, academy, zoom, svc):
    """The check read its trainings, then an LMS edit was pushed and another made before it read Zoom: Zoom's
    answer (the first edit) must not come back as a change in Zoom that beats the second, older-stamped edit."""
    from workers import drift

    shown = synced_training(app, client, academy)
    with svc.unit_of_work() as uow:
        stale = uow.session.get(Training, shown["id"])  # what the check compares with: confirmed 60
        uow.session.expunge(stale)
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 75}, headers=academy["headers"])
    run_jobs(app)  # pushed: Zoom holds 75
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 90}, headers=academy["headers"])
    meeting = zoom.control.meeting(shown["zoom"]["meeting_id"])  # the check reads Zoom now: 75
    read_ms = int(datetime.now(UTC).timestamp() * 1000)
    with app.app_context():
        assert not drift._repair(svc, stale, meeting, zoom.sim.config.account_id, read_ms)
    run_jobs(app)
    assert training(client, shown["id"])["duration"] == 90
    assert zoom.control.meeting(shown["zoom"]["meeting_id"])["duration"] == 90
    with svc.unit_of_work() as uow:
        events = uow.session.scalars(select(InboxEvent)).all()
        assert [e for e in events if e.headers.get("user-agent") == "zoomsync drift check"] == []


def test_one_hosts_trouble_does_not_keep_the_other_hosts_unchecked(app, client, academy, zoom, svc):
    other = zoom.control.call("POST", "/users", {"email": "second.host@zoomsim.example", "type": 2})
    organizer = client.post(
        "/api/v1/users", json=STAFF | {"email": "second.host@zoomsim.example", "name": "Second Host"}, headers=AUTH
    ).json["id"]
    theirs = synced_training(app, client, {**academy, "organizer": organizer})
    ours = synced_training(app, client, academy)
    zoom.control.edit_meeting(ours["zoom"]["meeting_id"], duration=45)
    zoom.control.fault(kind="status", status=404, path=f"/users/{other['id']}/meetings")
    found = check(app, svc)
    assert found["repaired"] == 1 and training(client, ours["id"])["duration"] == 45
    assert training(client, theirs["id"])["zoom"]["sync_issue"] is None
