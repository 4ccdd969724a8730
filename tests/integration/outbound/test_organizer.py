"""Changing a training's organizer: the Zoom host follows in place; organizers are notified (iSpring).

Against the simulator over HTTP, on both stacks; email through a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

from dataclasses import replace
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from models import Notification
from tests.helpers import AUTH, STAFF, acting, deliver, free_port, run_jobs, sim_bodies
from tests.integration.outbound.support import new_training, outbox, synced_training, training, zoom_meeting
from workers.notify import MAX_ATTEMPTS, _claim, send_notifications


def _staff(client, zoom, email: str, zoom_type: int | None = 2) -> int:
    if zoom_type is not None:
        zoom.control.call("POST", "/users", {"email": email, "type": zoom_type})
    body = STAFF | {"email": email, "name": email.split("@")[0].title()}
    return client.post("/api/v1/users", json=body, headers=AUTH).json["id"]


def _patch(client, academy, training_id: int, **body):
    return client.patch(f"/api/v1/trainings/{training_id}", json=body, headers=academy["headers"])


def _notifications(client, user_id: int) -> list[dict]:
    answer = client.get(f"/api/v1/users/{user_id}/notifications", headers=AUTH)
    assert answer.status_code == 200
    return answer.json["items"]


# --- the host follows the organizer ---------------------------------------------------------------------------


def test_a_new_organizer_becomes_the_host_of_the_same_meeting(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    before = zoom_meeting(zoom, shown["zoom"]["meeting_id"])
    nina = _staff(client, zoom, "nina@zoomsim.example")
    answer = _patch(client, academy, shown["id"], organizer_id=nina)
    assert answer.status_code == 200 and answer.json["organizer_id"] == nina
    assert answer.json["zoom"]["sync_state"] == "pending"
    run_jobs(app)
    after = zoom_meeting(zoom, shown["zoom"]["meeting_id"])
    assert after["host_email"] == "nina@zoomsim.example" and after["host_id"] != before["host_id"]
    assert (after["id"], after["join_url"], after["password"]) == (before["id"], before["join_url"], before["password"])
    now = training(client, shown["id"])
    assert now["zoom"]["host_id"] == after["host_id"] and now["zoom"]["sync_state"] == "synced"
    assert outbox(svc, shown["id"])[-1] == ("reassign", "sent")


def test_an_organizer_changed_before_the_meeting_exists_hosts_it_from_the_start(app, client, academy, zoom):
    created = new_training(client, academy)
    nina = _staff(client, zoom, "nina@zoomsim.example")
    assert _patch(client, academy, created["id"], organizer_id=nina).status_code == 200
    run_jobs(app)
    shown = training(client, created["id"])
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["host_email"] == "nina@zoomsim.example"
    assert shown["zoom"]["sync_state"] == "synced"


def test_a_basic_new_organizer_is_a_sync_error_and_the_host_stays(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    basic = _staff(client, zoom, "basic@zoomsim.example", zoom_type=None)  # the simulator's Basic user
    assert _patch(client, academy, shown["id"], organizer_id=basic).status_code == 200
    run_jobs(app)
    now = training(client, shown["id"])
    assert now["zoom"]["sync_state"] == "error" and "basic@zoomsim.example" in now["zoom"]["sync_error"]
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["host_email"] == "host@zoomsim.example"


def test_a_webinars_host_cannot_be_changed(app, client, academy, zoom):
    created = new_training(client, academy, meeting_type="webinar")
    run_jobs(app)
    nina = _staff(client, zoom, "nina@zoomsim.example")
    answer = _patch(client, academy, created["id"], organizer_id=nina)
    assert answer.status_code == 409 and "webinar's host cannot be changed" in answer.json["error"]
    assert training(client, created["id"])["organizer_id"] == academy["organizer"]


def test_a_learner_cannot_become_the_organizer_and_none_is_refused(app, client, academy):
    created = new_training(client, academy)
    learner = client.post("/api/v1/users", json={"email": "l@example.org", "name": "L"}, headers=AUTH).json["id"]
    answer = _patch(client, academy, created["id"], organizer_id=learner)
    assert answer.status_code == 422 and "organizer_id" in answer.json["fields"]
    assert _patch(client, academy, created["id"], organizer_id=None).status_code == 422


def test_only_the_new_organizer_may_start_the_meeting(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    client.post(
        f"/api/v1/trainings/{shown['id']}/registrants",
        json={"user_id": _staff(client, zoom, "learner@zoomsim.example", zoom_type=None)},
        headers=academy["headers"],
    )
    nina = _staff(client, zoom, "nina@zoomsim.example")
    _patch(client, academy, shown["id"], organizer_id=nina)
    run_jobs(app)
    path = f"/api/v1/trainings/{shown['id']}/start"
    assert client.post(path, headers=academy["headers"]).status_code == 403
    assert client.post(path, headers=acting(nina)).status_code == 200


# --- notifications --------------------------------------------------------------------------------------------


def test_the_organizer_hears_of_assignment_changes_and_cancellation(app, client, academy, zoom):
    created = new_training(client, academy)
    olga = academy["organizer"]
    assert [n["kind"] for n in _notifications(client, olga)] == ["assigned"]
    _patch(client, academy, created["id"], duration=90, description="Bring boots")
    changed = _notifications(client, olga)[0]
    assert changed["kind"] == "changed" and changed["training_id"] == created["id"]
    assert (
        "- duration (minutes): 60 → 90" in changed["body"] and "- description: (none) → Bring boots" in changed["body"]
    )
    _patch(client, academy, created["id"], duration=90)  # nothing changed: nothing to say
    assert len(_notifications(client, olga)) == 2
    nina = _staff(client, zoom, "nina@zoomsim.example")
    _patch(client, academy, created["id"], organizer_id=nina)
    assert _notifications(client, olga)[0]["kind"] == "unassigned" and "Nina" in _notifications(client, olga)[0]["body"]
    assert [n["kind"] for n in _notifications(client, nina)] == ["assigned"]
    client.delete(f"/api/v1/trainings/{created['id']}", headers=academy["headers"])
    assert _notifications(client, nina)[0]["kind"] == "cancelled"
    assert len(_notifications(client, olga)) == 3  # the former organizer hears no more


def test_with_email_off_notifications_are_kept_as_the_record(app, client, academy):
    new_training(client, academy)
    run_jobs(app)
    assert [n["status"] for n in _notifications(client, academy["organizer"])] == ["kept"]
    assert client.get("/api/v1/users/9999/notifications", headers=AUTH).status_code == 404


# --- email ----------------------------------------------------------------------------------------------------


class _Inbox:
    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    handler = _Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def email_on(svc, smtp_server):
    """The running app's settings with email on, pointed at the test's SMTP server."""
    controller, _ = smtp_server
    svc.settings = replace(
        svc.settings,
        notification_email=True,
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_starttls=False,
        smtp_from="lms@example.org",
    )
    return svc


def test_with_email_on_each_notification_is_mailed_once(app, client, academy, smtp_server, email_on):
    _, inbox = smtp_server
    created = new_training(client, academy)
    run_jobs(app)
    _patch(client, academy, created["id"], duration=45)
    run_jobs(app)
    run_jobs(app)
    assert [to for _, to, _ in inbox.messages] == [["host@zoomsim.example"], ["host@zoomsim.example"]]
    assert all(sender == "lms@example.org" for sender, _, _ in inbox.messages)
    first, second = (message_from_bytes(content, policy=default) for _, _, content in inbox.messages)
    assert (
        first["Subject"] == "You organize “Fire safety”" and "2026-12-10 09:00 (Europe/Berlin)" in first.get_content()
    )
    assert second["Subject"] == "“Fire safety” was changed" and "60 → 45" in second.get_content()
    statuses = [n["status"] for n in _notifications(client, academy["organizer"])]
    assert statuses == ["sent", "sent"] and all(n["sent_at"] for n in _notifications(client, academy["organizer"]))


def _due_now(svc) -> None:
    """Move the clock past every backoff."""
    with svc.unit_of_work() as uow:
        uow.session.execute(update(Notification).values(next_attempt_at=None))
        uow.commit()


def test_an_smtp_outage_delays_notifications_with_backoff_until_the_server_is_back(app, client, academy, email_on):
    port = free_port()
    email_on.settings = replace(email_on.settings, smtp_port=port)  # nobody listens there yet
    new_training(client, academy)
    run_jobs(app)
    [waiting] = _notifications(client, academy["organizer"])
    assert (waiting["status"], waiting["attempts"]) == ("pending", 1)
    assert "SMTP unavailable" in waiting["last_error"] and waiting["next_attempt_at"] is not None
    with app.app_context():
        assert send_notifications() == 0  # not due yet: no try is spent
    assert _notifications(client, academy["organizer"])[0]["attempts"] == 1
    handler = _Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _due_now(email_on)
        with app.app_context():
            assert send_notifications() == 1
    finally:
        controller.stop()
    [sent] = _notifications(client, academy["organizer"])
    assert sent["status"] == "sent" and len(handler.messages) == 1


def test_after_the_last_try_a_notification_is_failed(app, client, academy, email_on):
    email_on.settings = replace(email_on.settings, smtp_port=free_port())
    new_training(client, academy)
    with app.app_context():
        for _ in range(MAX_ATTEMPTS):
            _due_now(email_on)
            send_notifications()
    [given_up] = _notifications(client, academy["organizer"])
    assert (given_up["status"], given_up["attempts"]) == ("failed", MAX_ATTEMPTS)


def test_two_runs_cannot_claim_the_same_notification(app, client, academy, email_on):
    new_training(client, academy)
    [row] = _notifications(client, academy["organizer"])
    assert _claim(email_on, row["id"]) is not None
    assert _claim(email_on, row["id"]) is None  # the first run's lease holds it


def _deliver_zoom_webhooks(client, zoom, mark: int) -> None:
    for body in sim_bodies(zoom, mark):
        assert deliver(client, body).status_code == 200


def _mark(zoom) -> int:
    return max((m.id for m in zoom.sim.dispatcher.messages), default=0)


def test_changes_made_in_zoom_are_told_but_our_own_echo_is_not(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    olga = academy["organizer"]
    mark = _mark(zoom)
    _patch(client, academy, shown["id"], duration=90)
    run_jobs(app)  # pushed to Zoom, whose meeting.updated comes back as an echo
    _deliver_zoom_webhooks(client, zoom, mark)
    run_jobs(app)
    assert [n["kind"] for n in _notifications(client, olga)] == ["changed", "assigned"]
    mark = _mark(zoom)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], duration=45)
    _deliver_zoom_webhooks(client, zoom, mark)
    run_jobs(app)
    latest = _notifications(client, olga)[0]
    assert latest["subject"] == "“Fire safety” was changed in Zoom"
    assert latest["body"].splitlines()[1:] == ["- duration (minutes): 90 → 45"]
    mark = _mark(zoom)
    zoom.control.delete_meeting(shown["zoom"]["meeting_id"])
    _deliver_zoom_webhooks(client, zoom, mark)
    run_jobs(app)
    latest = _notifications(client, olga)[0]
    assert latest["kind"] == "cancelled" and "deleted in Zoom" in latest["body"]
    assert len(_notifications(client, olga)) == 4


def test_starting_waits_until_zoom_made_the_new_organizer_the_host(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    registrant = client.post("/api/v1/users", json={"email": "r@example.org", "name": "R"}, headers=AUTH).json["id"]
    client.post(
        f"/api/v1/trainings/{shown['id']}/registrants", json={"user_id": registrant}, headers=academy["headers"]
    )
    basic = _staff(client, zoom, "basic@zoomsim.example", zoom_type=None)
    _patch(client, academy, shown["id"], organizer_id=basic)
    start = f"/api/v1/trainings/{shown['id']}/start"
    answer = client.post(start, headers=acting(basic))
    assert answer.status_code == 409 and "being changed" in answer.json["error"]
    run_jobs(app)  # Zoom will not have a Basic host
    answer = client.post(start, headers=acting(basic))
    assert answer.status_code == 409 and "did not make the organizer the meeting's host" in answer.json["error"]
    nina = _staff(client, zoom, "nina@zoomsim.example")
    _patch(client, academy, shown["id"], organizer_id=nina)
    run_jobs(app)
    assert client.post(start, headers=acting(nina)).status_code == 200


def test_the_former_organizer_registered_for_the_training_is_registered_in_zoom_after_the_handover(
    app, client, academy, zoom
):
    shown = synced_training(app, client, academy)
    olga = academy["organizer"]
    client.post(f"/api/v1/trainings/{shown['id']}/registrants", json={"user_id": olga}, headers=academy["headers"])
    run_jobs(app)
    mine = client.get(f"/api/v1/trainings/{shown['id']}/registrants", headers=AUTH).json["items"][0]
    assert mine["zoom"]["sync_state"] == "host"  # Zoom does not register a meeting's own host
    _patch(client, academy, shown["id"], organizer_id=_staff(client, zoom, "nina@zoomsim.example"))
    run_jobs(app)
    mine = client.get(f"/api/v1/trainings/{shown['id']}/registrants", headers=AUTH).json["items"][0]
    assert mine["zoom"]["sync_state"] == "synced" and mine["zoom"]["join_url"]
    emails = [r["email"] for r in zoom_meeting(zoom, shown["zoom"]["meeting_id"])["registrants"]]
    assert "host@zoomsim.example" in emails


def test_naming_the_same_organizer_again_retries_a_refused_handover(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    late = _staff(client, zoom, "late@zoomsim.example", zoom_type=None)  # not in the Zoom account yet
    _patch(client, academy, shown["id"], organizer_id=late)
    run_jobs(app)
    assert "not in the connected Zoom account" in training(client, shown["id"])["zoom"]["sync_error"]
    zoom.control.call("POST", "/users", {"email": "late@zoomsim.example", "type": 2})  # the admin added them
    assert _patch(client, academy, shown["id"], organizer_id=late).status_code == 200
    run_jobs(app)
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["host_email"] == "late@zoomsim.example"
    assert training(client, shown["id"])["zoom"]["sync_state"] == "synced"


def test_a_message_the_server_cannot_take_fails_alone(app, client, academy, email_on):
    inbox = _Inbox()
    ascii_only = Controller(inbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False)
    ascii_only.start()
    email_on.settings = replace(email_on.settings, smtp_port=ascii_only.port)
    body = STAFF | {"email": "josé@example.org", "name": "José"}  # this server offers no SMTPUTF8
    jose = client.post("/api/v1/users", json=body, headers=AUTH).json["id"]
    new_training(client, {**academy, "organizer": jose, "headers": acting(jose)})
    new_training(client, academy)
    try:
        run_jobs(app)
    finally:
        ascii_only.stop()
    [refused] = _notifications(client, jose)
    assert refused["status"] == "failed" and refused["last_error"].startswith("cannot send")
    assert [n["status"] for n in _notifications(client, academy["organizer"])] == ["sent"]
    assert [to for _, to, _ in inbox.messages] == [["host@zoomsim.example"]]
