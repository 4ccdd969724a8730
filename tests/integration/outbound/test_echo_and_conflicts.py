"""No ping-pong: Zoom's echo of our own push changes nothing, and when both sides edit a field the later edit wins.

The simulator's webhooks are delivered to the service through the test client in
the order chosen by each test, so late and early arrivals are exercised on purpose.
"""

from __future__ import annotations

import time
from datetime import datetime

from tests.helpers import AUTH, deliver, run_jobs, sim_bodies
from tests.integration.outbound.support import synced_training, training, zoom_calls, zoom_meeting


def last_message_id(zoom) -> int:
    messages = list(zoom.sim.dispatcher.messages)
    return messages[-1].id if messages else 0


def deliver_updates(client, zoom, since: int) -> list[dict]:
    """Every meeting.updated the simulator produced since `since`, delivered in that order."""
    bodies = [b for b in sim_bodies(zoom, since) if b["event"].endswith(".updated")]
    for body in bodies:
        assert deliver(client, body).status_code == 200
    return bodies


def training_stamp_ms(client, training_id: int, field: str) -> int:
    """When the LMS's last edit of the field was made, from the changes timeline."""
    items = client.get(f"/api/v1/trainings/{training_id}/changes", headers=AUTH).json["items"]
    last = [item for item in items if item["field"] == field and item["source"] == "lms"][-1]
    return int(datetime.fromisoformat(last["changed_at"].replace("Z", "+00:00")).timestamp() * 1000) + 999


def changes(client, training_id: int, field: str) -> list[tuple[str, object, str]]:
    items = client.get(f"/api/v1/trainings/{training_id}/changes", headers=AUTH).json["items"]
    return [(item["source"], item["value"], item["outcome"]) for item in items if item["field"] == field]


def test_the_echo_of_our_push_changes_nothing_and_is_logged_as_an_echo(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    mark = last_message_id(zoom)
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 90}, headers=academy["headers"])
    run_jobs(app)
    [echo] = deliver_updates(client, zoom, mark)
    assert echo["payload"]["object"]["duration"] == 90
    run_jobs(app)
    assert training(client, shown["id"])["duration"] == 90
    assert changes(client, shown["id"], "duration") == [("lms", 90, "applied"), ("zoom", 90, "echo")]
    assert len(zoom_calls(zoom, "PATCH", "/meetings/")) == 1  # no ping-pong: the echo was not pushed back


def test_an_echo_stamped_after_a_newer_lms_edit_does_not_undo_it(app, client, academy, zoom):
    # The race: the LMS edits again while our PATCH is on its way, so Zoom stamps the echo of
    # the first edit after the second. Newest-wins alone would let the echo undo the second edit.
    shown = synced_training(app, client, academy)
    zoom.control.call("POST", "/clock", {"advance": 60})  # Zoom handles our PATCH "a minute later"
    mark = last_message_id(zoom)
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 70}, headers=academy["headers"])
    run_jobs(app)
    client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": 80}, headers=academy["headers"])
    [echo] = deliver_updates(client, zoom, mark)
    assert echo["payload"]["time_stamp"] > training_stamp_ms(client, shown["id"], "duration")
    run_jobs(app)  # the reconcile job, then the push of the second edit
    assert training(client, shown["id"])["duration"] == 80
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 80
    assert [call["body"] for call in zoom_calls(zoom, "PATCH", "/meetings/")] == [{"duration": 70}, {"duration": 80}]


def test_a_later_zoom_edit_wins_over_an_lms_edit_not_yet_pushed(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    client.patch(
        f"/api/v1/trainings/{shown['id']}", json={"duration": 70}, headers=academy["headers"]
    )  # not pushed yet
    mark = last_message_id(zoom)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], duration=50)  # later, in Zoom's portal
    deliver_updates(client, zoom, mark)
    run_jobs(app)  # reconcile, then the push: nothing differs any more
    assert training(client, shown["id"])["duration"] == 50
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 50
    assert zoom_calls(zoom, "PATCH", "/meetings/") == []
    assert changes(client, shown["id"], "duration") == [("lms", 70, "lost"), ("zoom", 50, "applied")]
    assert training(client, shown["id"])["zoom"]["sync_state"] == "synced"


def test_a_later_lms_edit_wins_over_an_older_zoom_edit_that_arrives_late(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    zoom.control.webhook_settings(hold=True)
    mark = last_message_id(zoom)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], duration=50)  # first, in Zoom; its webhook is late
    client.patch(
        f"/api/v1/trainings/{shown['id']}", json={"duration": 70}, headers=academy["headers"]
    )  # then in the LMS
    run_jobs(app)  # the push: Zoom holds 50 as far as we know nothing yet, so 70 goes
    deliver_updates(client, zoom, mark)  # the late Zoom edit, then the echo of our push
    run_jobs(app)
    assert training(client, shown["id"])["duration"] == 70
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 70
    assert changes(client, shown["id"], "duration") == [
        ("lms", 70, "applied"),
        ("zoom", 50, "lost"),
        ("zoom", 70, "echo"),
    ]


def test_an_older_zoom_edit_arriving_before_the_push_is_overwritten_by_the_newer_lms_value(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    zoom.control.webhook_settings(hold=True)
    mark = last_message_id(zoom)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], duration=50)  # first, in Zoom
    client.patch(
        f"/api/v1/trainings/{shown['id']}", json={"duration": 70}, headers=academy["headers"]
    )  # then in the LMS
    deliver_updates(client, zoom, mark)  # Zoom's older edit arrives before our push ran
    run_jobs(app)  # reconcile keeps 70 and learns Zoom holds 50; the push sends 70
    assert training(client, shown["id"])["duration"] == 70
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 70
    assert [call["body"] for call in zoom_calls(zoom, "PATCH", "/meetings/")] == [{"duration": 70}]


def test_a_rename_in_zoom_reaches_the_theme_and_no_push_repeats_it(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    mark = last_message_id(zoom)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], topic="Fire safety, the sequel")
    deliver_updates(client, zoom, mark)
    run_jobs(app)
    assert training(client, shown["id"])["theme"] == "Fire safety, the sequel"
    assert zoom_calls(zoom, "PATCH", "/meetings/") == []
    assert changes(client, shown["id"], "theme") == [("zoom", "Fire safety, the sequel", "applied")]


def test_a_value_set_back_in_zoom_is_an_edit_not_an_echo(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    mark = last_message_id(zoom)
    for duration in (90, 120):
        client.patch(f"/api/v1/trainings/{shown['id']}", json={"duration": duration}, headers=academy["headers"])
        run_jobs(app)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], duration=90)  # the host goes back to 90 in Zoom
    deliver_updates(client, zoom, mark)  # both echoes, then the host's edit
    run_jobs(app)
    assert training(client, shown["id"])["duration"] == 90
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 90
    assert changes(client, shown["id"], "duration")[-1] == ("zoom", 90, "applied")


def test_a_push_that_overwrote_a_later_zoom_edit_is_undone_so_the_later_edit_wins(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    zoom.control.webhook_settings(hold=True)
    mark = last_message_id(zoom)
    client.patch(
        f"/api/v1/trainings/{shown['id']}", json={"duration": 70}, headers=academy["headers"]
    )  # first, in the LMS
    time.sleep(0.01)  # so that the two edits are a moment apart
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], duration=50)  # then, in Zoom; we do not know yet
    run_jobs(app)  # the push sends 70 over the host's 50
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 70
    deliver_updates(client, zoom, mark)  # the host's edit, then the echo of our push
    run_jobs(app)  # the later edit (Zoom's 50) wins in the LMS, and goes back to Zoom
    assert training(client, shown["id"])["duration"] == 50
    assert zoom_meeting(zoom, shown["zoom"]["meeting_id"])["duration"] == 50
    assert changes(client, shown["id"], "duration")[:2] == [("lms", 70, "lost"), ("zoom", 50, "applied")]
