"""LMS edits reach Zoom: the outbox, the push job and Zoom's answers, against the simulator over HTTP.

Both stacks (SQLite + fakeredis, PostgreSQL + Redis). Every request the service
sends is checked against Zoom's OpenAPI description by the simulator (the `zoom`
fixture fails a test otherwise).
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, text

from models import OutboxItem, Registrant, User
from tests.helpers import AUTH, STAFF, metric_samples, run_jobs
from tests.integration.outbound.support import (
    due_now,
    learner,
    new_training,
    outbox,
    run_scheduled,
    synced_training,
    training,
    zoom_calls,
    zoom_meeting,
)
from workers.push import push_training
from workers.queues import OUTBOUND_QUEUE, queue, request_push
from workers.sweeper import sweep_outbox
from zoomapi.limiter import RedisLimiter

# --- creating --------------------------------------------------------------------------------------


def test_a_training_of_a_connected_academy_is_created_in_zoom(app, client, academy, zoom, svc):
    created = new_training(client, academy)
    assert created["zoom"]["sync_state"] == "pending" and created["zoom"]["meeting_id"] is None
    run_jobs(app)
    shown = training(client, created["id"])
    assert shown["zoom"]["sync_state"] == "synced" and shown["zoom"]["sync_error"] is None
    meeting = zoom_meeting(zoom, shown["zoom"]["meeting_id"])
    assert (meeting["topic"], meeting["type"], meeting["duration"]) == ("Fire safety", 2, 60)
    assert (meeting["start_time"], meeting["timezone"]) == ("2026-12-10T08:00:00Z", "Europe/Berlin")
    assert meeting["settings"]["approval_type"] == 0 and meeting["settings"]["use_pmi"] is False
    assert "agenda" not in zoom_calls(zoom, "POST", "/meetings")[0]["body"]
    assert shown["zoom"]["join_url"] == meeting["join_url"] and shown["zoom"]["uuid"] == meeting["uuid"]
    assert shown["zoom"]["host_id"] == meeting["host_id"]
    assert outbox(svc, created["id"]) == [("create", "sent")]


def test_a_webinar_is_created_as_a_webinar(app, client, academy, zoom):
    created = new_training(client, academy, meeting_type="webinar")
    run_jobs(app)
    meeting = zoom_meeting(zoom, training(client, created["id"])["zoom"]["meeting_id"])
    assert (meeting["kind"], meeting["type"]) == ("webinar", 5)


def test_the_zoom_topic_is_the_theme_cut_to_200_characters_and_the_lms_keeps_it_whole(app, client, academy, zoom):
    theme = "Ü" * 255
    created = new_training(client, academy, theme=theme)
    run_jobs(app)
    shown = training(client, created["id"])
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["topic"] == "Ü" * 200
    assert shown["theme"] == theme


def test_a_training_of_an_unconnected_academy_never_reaches_zoom(app, client, zoom):
    academy_id = client.post("/api/v1/academies", json={"name": "Offline"}, headers=AUTH).json["id"]
    organizer = client.post("/api/v1/users", json=STAFF | {"email": "o@example.org", "name": "O"}, headers=AUTH).json[
        "id"
    ]
    created = new_training(client, {"id": academy_id, "organizer": organizer})
    run_jobs(app)
    assert created["zoom"]["sync_state"] is None and zoom_calls(zoom, "POST", "/meetings") == []


def test_zoom_refusing_the_create_is_an_error_with_zooms_message_and_no_retry(app, client, academy, zoom, svc):
    zoom.control.call("POST", "/users", {"email": "no-webinars@example.org", "type": 2})
    organizer = client.post(
        "/api/v1/users", json=STAFF | {"email": "no-webinars@example.org", "name": "No Webinars"}, headers=AUTH
    ).json["id"]
    created = new_training(client, {**academy, "organizer": organizer}, meeting_type="webinar")
    run_jobs(app)
    shown = training(client, created["id"])
    assert shown["zoom"]["sync_state"] == "error" and "Webinar plan is missing" in shown["zoom"]["sync_error"]
    assert outbox(svc, created["id"]) == [("create", "failed")]
    with app.app_context():
        assert sweep_outbox() == 0  # a permanent failure is not retried blindly


def test_a_create_interrupted_after_zoom_answered_adopts_that_meeting(app, client, academy, zoom, svc):
    created = new_training(client, academy)
    queue(svc.redis, OUTBOUND_QUEUE).empty()
    # The earlier attempt reached Zoom, then the worker died before it could record the meeting.
    with svc.unit_of_work() as uow:
        uow.session.execute(text("UPDATE outbox SET attempts = 1"))
        uow.commit()
    svc.redis.delete(f"zoomsync:push-queued:{created['id']}")
    cfg = zoom.sim.config
    token = zoom.control.s2s_token(cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id)
    orphan = requests.post(
        f"{zoom.url}/v2/users/{zoom.sim.world.accounts[cfg.account_id].owner_id}/meetings",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "topic": "Fire safety",
            "type": 2,
            "start_time": "2026-12-10T08:00:00Z",
            "duration": 60,
            "timezone": "Europe/Berlin",
        },
        timeout=5,
    ).json()
    request_push(svc.redis, created["id"])
    run_jobs(app)
    assert training(client, created["id"])["zoom"]["meeting_id"] == orphan["id"]
    assert len([m for m in zoom.sim.world.meetings.values() if not m.deleted]) == 1


# --- editing -------------------------------------------------------------------------------------


def test_only_the_edited_fields_are_pushed(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    answer = client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 90}, headers=academy["headers"])
    assert answer.status_code == 200 and answer.json["zoom"]["sync_state"] == "pending"
    run_jobs(app)
    [patch] = zoom_calls(zoom, "PATCH", "/meetings/")
    assert patch["body"] == {"duration": 90}
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 90
    assert training(client, shown["id"])["zoom"]["sync_state"] == "synced"


def test_a_new_start_time_goes_in_utc_with_its_time_zone(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    client.patch(
        f"/api/v1/trainings/{shown['id']}", json={"start_time": "2026-12-11T10:30:00+01:00"}, headers=academy["headers"]
    )
    run_jobs(app)
    [patch] = zoom_calls(zoom, "PATCH", "/meetings/")
    assert patch["body"] == {"start_time": "2026-12-11T09:30:00Z", "timezone": "Europe/Berlin"}


def test_many_edits_before_the_push_cost_one_patch_with_the_last_values(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    for duration in (70, 80, 90, 100, 110):
        client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": duration}, headers=academy["headers"])
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"timezone": "Europe/Paris"}, headers=academy["headers"])
    assert queue(svc.redis, OUTBOUND_QUEUE).count == 1  # one push for all six edits
    run_jobs(app)
    [patch] = zoom_calls(zoom, "PATCH", "/meetings/")
    assert patch["body"] == {"duration": 110, "timezone": "Europe/Paris"}
    assert [status for _, status in outbox(svc, shown["id"])] == ["sent"] * 7


def test_an_edit_back_to_what_zoom_holds_sends_nothing(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 90}, headers=academy["headers"])
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 60}, headers=academy["headers"])
    run_jobs(app)
    assert zoom_calls(zoom, "PATCH", "/meetings/") == []
    assert training(client, shown["id"])["zoom"]["sync_state"] == "synced"


def test_the_description_is_saved_and_never_pushed(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    answer = client.patch(
        f"/api/v1/trainings/{shown['id']}", json={"description": "Bring a helmet"}, headers=academy["headers"]
    )
    assert answer.json["description"] == "Bring a helmet" and answer.json["zoom"]["sync_state"] == "synced"
    run_jobs(app)
    assert zoom_calls(zoom, "PATCH", "/meetings/") == []


def test_the_title_and_the_type_cannot_be_changed_in_the_lms(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    title = client.patch(f"/api/v1/trainings/{shown['id']}", json={"theme": "New"}, headers=academy["headers"])
    assert title.status_code == 409 and "managed in Zoom" in title.json["error"]
    kind = client.patch(
        f"/api/v1/trainings/{shown['id']}", json={"meeting_type": "webinar"}, headers=academy["headers"]
    )
    assert kind.status_code == 409
    fields = client.patch(f"/api/v1/trainings/{shown['id']}", json={"academy_id": 2}, headers=academy["headers"])
    assert fields.status_code == 422


def test_cancelling_deletes_the_zoom_meeting(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    answer = client.delete(f"/api/v1/trainings/{shown['id']}", headers=academy["headers"])
    assert answer.status_code == 200 and answer.json["status"] == "cancelled"
    run_jobs(app)
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["deleted"] is True
    assert outbox(svc, shown["id"])[-1] == ("delete", "sent")


def test_cancelling_before_zoom_heard_of_it_sends_nothing(app, client, academy, zoom, svc):
    created = new_training(client, academy)
    client.delete(f"/api/v1/trainings/{created['id']}", headers=academy["headers"])
    run_jobs(app)
    assert zoom_calls(zoom, "POST", "/meetings") == []
    assert outbox(svc, created["id"]) == [("create", "cancelled"), ("delete", "sent")]


# --- registrants -----------------------------------------------------------------------------------


def test_registrants_are_registered_in_zoom_in_batches_with_their_personal_links(app, client, academy, zoom, svc):
    created = new_training(client, academy)
    users = [learner(client, n) for n in range(35)]
    for user_id in users:
        client.post(
            f"/api/v1/trainings/{created['id']}/registrants", json={"user_id": user_id}, headers=academy["headers"]
        )
    client.post(
        f"/api/v1/trainings/{created['id']}/registrants",
        json={"user_id": academy["organizer"]},
        headers=academy["headers"],
    )
    run_jobs(app)
    assert len(zoom_calls(zoom, "POST", "/batch_registrants")) == 2  # 30 + 5
    listed = client.get(f"/api/v1/trainings/{created['id']}/registrants", headers=AUTH).json["items"]
    meeting = zoom_meeting(zoom, training(client, created["id"])["zoom"]["meeting_id"])
    in_zoom = {r["email"]: r for r in meeting["registrants"]}
    for item in listed:
        if item["user_id"] == academy["organizer"]:
            assert item["zoom"]["sync_state"] == "host" and item["email"] not in in_zoom  # Zoom refuses hosts
            continue
        zoom_side = in_zoom[item["email"]]
        assert item["zoom"]["registrant_id"] == zoom_side["id"] and item["zoom"]["join_url"] == zoom_side["join_url"]
        assert item["zoom"]["sync_state"] == "synced"
    assert {status for _, status in outbox(svc, created["id"])} == {"sent"}


def test_a_removed_registrant_is_cancelled_in_zoom(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    ann = learner(client, 1)
    client.post(f"/api/v1/trainings/{shown['id']}/registrants", json={"user_id": ann}, headers=academy["headers"])
    run_jobs(app)
    assert (
        client.delete(f"/api/v1/trainings/{shown['id']}/registrants/{ann}", headers=academy["headers"]).status_code
        == 204
    )
    run_jobs(app)
    [status_call] = zoom_calls(zoom, "PUT", "/registrants/status")
    assert status_call["body"]["action"] == "cancel"
    meeting = zoom_meeting(zoom, shown["zoom"]["meeting_id"])
    assert [r["status"] for r in meeting["registrants"]] == ["cancelled"]
    assert client.get(f"/api/v1/trainings/{shown['id']}/registrants", headers=AUTH).json["items"] == []
    with svc.unit_of_work() as uow:
        assert uow.session.scalars(select(Registrant)).one().zoom_sync_state == "cancelled"


# --- Zoom's answers ------------------------------------------------------------------------------


def test_a_429_reschedules_the_push_at_retry_after_and_then_it_goes(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    cfg = zoom.sim.config
    zoom.control.call("PUT", f"/accounts/{cfg.account_id}/limits", {"light": 1})
    token = zoom.control.s2s_token(cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id)
    spent = requests.get(  # another app of the account spends this second's only Light call
        f"{zoom.url}/v2/meetings/{shown['zoom']['meeting_id']}", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert spent.status_code in (200, 429)
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 75}, headers=academy["headers"])
    run_jobs(app)
    [refused] = zoom_calls(zoom, "PATCH", "/meetings/")
    assert refused["status"] == 429
    with svc.unit_of_work() as uow:
        row = uow.session.scalars(select(OutboxItem).where(OutboxItem.kind == "update")).one()
        assert row.status == "pending" and row.next_attempt_at is not None and "rate limit" in row.last_error
        assert row.attempts == 0  # waiting for a rate limit is no failure
    assert len(ScheduledJobRegistry(queue=queue(svc.redis, OUTBOUND_QUEUE))) == 1
    time.sleep(1.2)  # Zoom's Retry-After: a second
    run_scheduled(app, svc)
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 75
    assert training(client, shown["id"])["zoom"]["sync_state"] == "synced"


def test_the_hosts_daily_limit_defers_the_push_to_zooms_reset(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    zoom.control.call("PUT", f"/accounts/{zoom.sim.config.account_id}/limits", {"host_daily": 1})  # the create used it
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 75}, headers=academy["headers"])
    run_jobs(app)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    with svc.unit_of_work() as uow:
        row = uow.session.scalars(select(OutboxItem).where(OutboxItem.kind == "update")).one()
        assert row.status == "pending" and "daily" in row.last_error
        assert row.next_attempt_at == datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)


def test_a_host_whose_daily_budget_our_count_has_spent_waits_for_the_reset_without_asking_zoom(
    app, client, academy, zoom, svc
):
    shown = synced_training(app, client, academy)
    limiter = RedisLimiter(svc.redis)
    while limiter.host_budget_used(shown["zoom"]["host_id"]) < limiter.host_daily:
        limiter.spend_host(shown["zoom"]["host_id"])  # the host's other trainings spent the day's 100
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 75}, headers=academy["headers"])
    run_jobs(app)
    with svc.unit_of_work() as uow:
        row = uow.session.scalars(select(OutboxItem).where(OutboxItem.kind == "update")).one()
        assert row.status == "pending" and row.last_error == "waiting for Zoom's daily rate limit"
    assert zoom_calls(zoom, "PATCH", "/meetings/") == []


@pytest.mark.parametrize("fault", [{"kind": "status", "status": 503}, {"kind": "drop"}])
def test_zoom_unavailable_backs_off_and_the_edit_arrives_later(app, client, academy, zoom, svc, fault):
    shown = synced_training(app, client, academy)
    zoom.control.fault(count=1, path="/v2/meetings/", method="PATCH", **fault)
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 45}, headers=academy["headers"])
    run_jobs(app)
    with svc.unit_of_work() as uow:
        row = uow.session.scalars(select(OutboxItem).where(OutboxItem.kind == "update")).one()
        assert (row.status, row.attempts) == ("pending", 1) and "unavailable" in row.last_error
        assert row.next_attempt_at > datetime.now(UTC)
    due_now(svc)
    run_scheduled(app, svc)
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 45


def test_a_meeting_deleted_in_zoom_is_flagged_missing_after_checking_again(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    zoom.control.delete_meeting(shown["zoom"]["meeting_id"])
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 45}, headers=academy["headers"])
    run_jobs(app)
    after = training(client, shown["id"])
    assert after["zoom"]["sync_issue"] == "meeting missing in Zoom" and after["zoom"]["sync_state"] == "error"
    assert zoom_calls(zoom, "GET", f"/meetings/{shown['zoom']['meeting_id']}")  # it looked once more
    assert outbox(svc, shown["id"])[-1] == ("update", "failed")


def test_a_passing_404_does_not_flag_a_healthy_meeting(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    zoom.control.fault(kind="status", status=404, count=1, method="PATCH")
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 45}, headers=academy["headers"])
    run_jobs(app)
    assert training(client, shown["id"])["zoom"]["sync_issue"] is None
    due_now(svc)
    run_scheduled(app, svc)
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 45


def test_an_edit_whose_job_was_lost_is_pushed_by_the_sweeper(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 95}, headers=academy["headers"])
    queue(svc.redis, OUTBOUND_QUEUE).empty()  # the enqueue after the commit never happened
    svc.redis.delete(f"zoomsync:push-queued:{shown['id']}")
    with app.app_context():
        assert sweep_outbox() == 0  # younger than the threshold: its job may still be on the way
    with svc.unit_of_work() as uow:
        uow.session.execute(text("UPDATE outbox SET created_at = :t"), {"t": "2000-01-01 00:00:00"})
        uow.commit()
    with app.app_context():
        assert sweep_outbox() == 1
        assert sweep_outbox() == 0  # already queued
    run_jobs(app)
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 95


def test_a_missing_meeting_can_be_recreated_with_new_links_for_everyone(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    ann = learner(client, 1)
    client.post(f"/api/v1/trainings/{shown['id']}/registrants", json={"user_id": ann}, headers=academy["headers"])
    run_jobs(app)
    old_link = client.get(f"/api/v1/trainings/{shown['id']}/registrants", headers=AUTH).json["items"][0]["zoom"]
    early = client.post(f"/api/v1/trainings/{shown['id']}/zoom-meeting", headers=academy["headers"])
    assert early.status_code == 409  # nothing is missing yet
    zoom.control.delete_meeting(shown["zoom"]["meeting_id"])
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 45}, headers=academy["headers"])
    run_jobs(app)  # the push finds it missing
    answer = client.post(f"/api/v1/trainings/{shown['id']}/zoom-meeting", headers=academy["headers"])
    assert answer.status_code == 202 and answer.json["zoom"]["sync_state"] == "pending"
    run_jobs(app)
    after = training(client, shown["id"])
    assert after["zoom"]["meeting_id"] not in (None, shown["zoom"]["meeting_id"])
    assert after["zoom"]["sync_issue"] is None and after["zoom"]["sync_state"] == "synced"
    assert zoom_meeting(zoom, after["zoom"]["meeting_id"])["duration"] == 45
    [item] = client.get(f"/api/v1/trainings/{shown['id']}/registrants", headers=AUTH).json["items"]
    assert item["zoom"]["sync_state"] == "synced" and item["zoom"]["join_url"] != old_link["join_url"]


def test_a_read_timeout_backs_off_like_a_5xx(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    svc.settings = replace(svc.settings, zoom_read_timeout=0.3)
    zoom.control.fault(kind="latency", latency=1.0, count=1, path="/v2/meetings/", method="PATCH")
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 45}, headers=academy["headers"])
    run_jobs(app)
    with svc.unit_of_work() as uow:
        row = uow.session.scalars(select(OutboxItem).where(OutboxItem.kind == "update")).one()
        assert row.status == "pending" and "ReadTimeout" in row.last_error
    due_now(svc)
    run_scheduled(app, svc)
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 45


def test_a_429_storm_delays_every_edit_and_loses_none(app, client, academy, zoom, svc):
    shown = [synced_training(app, client, academy) for _ in range(8)]
    zoom.control.fault(kind="status", status=429, share=0.6, path="/v2/meetings/", method="PATCH")
    for n, item in enumerate(shown):
        client.patch(f"/api/v1/trainings/{item['id']}", json={"duration": 30 + n}, headers=academy["headers"])
    run_jobs(app)
    for _ in range(40):  # each round: the deferred pushes come due (Zoom's wait without Retry-After: a second)
        if all(zoom_meeting(zoom, item["zoom"]["meeting_id"])["duration"] == 30 + n for n, item in enumerate(shown)):
            break
        time.sleep(0.3)
        due_now(svc)
        run_scheduled(app, svc)
    assert [zoom_meeting(zoom, item["zoom"]["meeting_id"])["duration"] for item in shown] == list(range(30, 38))
    refused = [call for call in zoom_calls(zoom, "PATCH", "/meetings/") if call["status"] == 429]
    assert refused, "the storm never happened"
    host = shown[0]["zoom"]["host_id"]
    assert RedisLimiter(svc.redis).host_budget_used(host) == 8  # the refused attempts cost no daily budget
    with svc.unit_of_work() as uow:
        rows = uow.session.scalars(select(OutboxItem).where(OutboxItem.kind == "update"))
        assert {(row.status, row.attempts) for row in rows} == {("sent", 0)}  # a rate limit is no failure


def test_a_registrant_removed_while_the_push_registers_them_is_cancelled_after(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    ann, bob = learner(client, 1), learner(client, 2)
    for user_id in (ann, bob):
        client.post(
            f"/api/v1/trainings/{shown['id']}/registrants", json={"user_id": user_id}, headers=academy["headers"]
        )
    zoom.control.fault(kind="latency", latency=1.0, count=1, path="/batch_registrants")

    def push_now():
        with app.app_context():
            push_training(shown["id"])

    pushing = threading.Thread(target=push_now)  # the job queued by the API runs afterwards: the follow-up
    pushing.start()
    time.sleep(0.4)  # the batch is on its way to Zoom
    assert (
        client.delete(f"/api/v1/trainings/{shown['id']}/registrants/{ann}", headers=academy["headers"]).status_code
        == 204
    )
    pushing.join(timeout=30)
    run_jobs(app)  # the follow-up push
    meeting = zoom_meeting(zoom, shown["zoom"]["meeting_id"])
    statuses = {r["email"]: r["status"] for r in meeting["registrants"]}
    assert statuses == {"learner1@example.org": "cancelled", "learner2@example.org": "approved"}
    with svc.unit_of_work() as uow:
        states = {r.user_id: r.zoom_sync_state for r in uow.session.scalars(select(Registrant))}
    assert states == {ann: "cancelled", bob: "synced"}


def test_a_create_that_backs_off_is_not_hurried_by_a_new_registrant(app, client, academy, zoom, svc):
    zoom.control.fault(kind="status", status=503, count=1, path="/users/", method="POST")
    created = new_training(client, academy)
    run_jobs(app)  # the create met a 503: backing off
    client.post(
        f"/api/v1/trainings/{created['id']}/registrants",
        json={"user_id": learner(client, 1)},
        headers=academy["headers"],
    )
    run_jobs(app)  # the push for the registrant waits with the create
    assert zoom_calls(zoom, "POST", "/meetings") and len(zoom_calls(zoom, "POST", "/users/")) == 1
    due_now(svc)
    run_scheduled(app, svc)
    shown = training(client, created["id"])
    assert shown["zoom"]["sync_state"] == "synced"
    assert len([m for m in zoom.sim.world.meetings.values() if not m.deleted]) == 1
    [item] = client.get(f"/api/v1/trainings/{created['id']}/registrants", headers=AUTH).json["items"]
    assert item["zoom"]["sync_state"] == "synced"


def _create_row(svc, training_id: int) -> tuple[str, int, str | None]:
    """The training's create row: status, attempts, last error."""
    with svc.unit_of_work() as uow:
        row = uow.session.scalars(
            select(OutboxItem).where(OutboxItem.training_id == training_id, OutboxItem.kind == "create")
        ).one()
        return row.status, row.attempts, row.last_error


def _orphan_lookups(zoom) -> list[dict]:
    return [c for c in zoom_calls(zoom, "GET", "/users/") if c["path"].endswith("/meetings")]


def test_a_create_refused_with_a_429_is_no_attempt_and_the_next_looks_for_no_orphan(app, client, academy, zoom, svc):
    zoom.control.fault(kind="status", status=429, count=1, path="/users/", method="POST")
    created = new_training(client, academy)
    run_jobs(app)
    status, attempts, error = _create_row(svc, created["id"])
    assert (status, attempts) == ("pending", 0) and "rate limit" in error
    time.sleep(1.2)  # Zoom's Retry-After: a second
    due_now(svc)
    run_scheduled(app, svc)
    assert training(client, created["id"])["zoom"]["sync_state"] == "synced"
    assert _orphan_lookups(zoom) == []  # Zoom refused it at the door: no meeting of it to look for
    assert _create_row(svc, created["id"])[:2] == ("sent", 1)


def test_a_create_our_limiter_holds_back_is_no_attempt(app, client, academy, zoom, svc):
    with svc.unit_of_work() as uow:
        host = uow.session.get(User, academy["organizer"]).email  # whom the create is charged to
    limiter = RedisLimiter(svc.redis)
    while limiter.host_budget_used(host) < limiter.host_daily:
        limiter.spend_host(host)  # the host's other trainings spent the day's 100
    created = new_training(client, academy)
    run_jobs(app)
    assert _create_row(svc, created["id"]) == ("pending", 0, "waiting for Zoom's daily rate limit")
    assert zoom_calls(zoom, "POST", "/meetings") == []


def test_an_orphan_is_never_a_meeting_another_training_has(app, client, academy, zoom, svc):
    first = synced_training(app, client, academy)  # same theme and time as the next one
    created = new_training(client, academy)
    queue(svc.redis, OUTBOUND_QUEUE).empty()
    svc.redis.delete(f"zoomsync:push-queued:{created['id']}")
    with svc.unit_of_work() as uow:
        uow.session.execute(text("UPDATE outbox SET attempts = 1 WHERE training_id = :t"), {"t": created["id"]})
        uow.commit()
    request_push(svc.redis, created["id"])
    run_jobs(app)
    second = training(client, created["id"])
    assert second["zoom"]["meeting_id"] not in (None, first["zoom"]["meeting_id"])


def test_a_successful_push_after_a_refused_one_clears_the_error(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    zoom.control.fault(kind="status", status=400, count=1, method="PATCH")
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 45}, headers=academy["headers"])
    run_jobs(app)
    assert training(client, shown["id"])["zoom"]["sync_state"] == "error"
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 50}, headers=academy["headers"])
    run_jobs(app)
    after = training(client, shown["id"])
    assert after["zoom"]["sync_state"] == "synced" and after["zoom"]["sync_error"] is None
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 50


def test_a_refused_registration_fails_that_person_not_the_training(app, client, academy, zoom, svc):
    shown = synced_training(app, client, academy)
    ann = learner(client, 1)
    zoom.control.fault(kind="status", status=400, count=1, path="/registrants", method="POST")
    client.post(f"/api/v1/trainings/{shown['id']}/registrants", json={"user_id": ann}, headers=academy["headers"])
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 45}, headers=academy["headers"])
    run_jobs(app)
    [item] = client.get(f"/api/v1/trainings/{shown['id']}/registrants", headers=AUTH).json["items"]
    assert item["zoom"]["sync_state"] == "error"
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 45  # the update still went
    assert ("create", "sent") in outbox(svc, shown["id"]) and ("update", "sent") in outbox(svc, shown["id"])


def test_calls_to_zoom_and_its_429s_are_counted_for_metrics(app, client, academy, zoom, svc):
    from dataclasses import replace as replace_settings

    svc.settings = replace_settings(svc.settings, metrics_token="scrape")
    shown = synced_training(app, client, academy)
    zoom.control.call("POST", "/tokens/expire")  # the next call is refused: one refresh, one retry
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 70}, headers=academy["headers"])
    run_jobs(app)
    assert zoom.control.meeting(shown["zoom"]["meeting_id"])["duration"] == 70
    zoom.control.fault(kind="status", status=429, count=1, path="/v2/meetings/", method="PATCH")
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 80}, headers=academy["headers"])
    run_jobs(app)  # 429: the push waits for Zoom's Retry-After
    samples = metric_samples(client.get("/metrics", headers={"Authorization": "Bearer scrape"}).data.decode())
    created = [
        v
        for (name, labels), v in samples.items()
        if name == "zoomsync_zoom_calls_total" and ("status", "201") in labels
    ]
    assert created and created[0] >= 1
    limited = [v for (name, _), v in samples.items() if name == "zoomsync_zoom_rate_limited_total"]
    assert sum(limited) == 1
    assert samples[("zoomsync_token_refreshes_total", (("outcome", "renewed"),))] >= 1
