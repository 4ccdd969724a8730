"""A user's calendar feed: what they organize or attend, with their join link, following changes on both sides.

Read back with the icalendar parser, on both stacks, with the simulator as Zoom.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from tests.helpers import AUTH, deliver, run_jobs, sim_bodies
from tests.integration.outbound.support import learner, new_training, synced_training, training


def feed(client, user_id: int) -> dict[str, icalendar.cal.Event]:
    answer = client.get(f"/api/v1/users/{user_id}/calendar.ics", headers=AUTH)
    assert answer.status_code == 200
    assert answer.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(answer.data)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def register(client, academy, training_id: int, user_id: int) -> None:
    answer = client.post(
        f"/api/v1/trainings/{training_id}/registrants", json={"user_id": user_id}, headers=academy["headers"]
    )
    assert answer.status_code == 201


def test_a_learner_sees_the_trainings_they_are_registered_for_with_their_personal_link(app, client, academy):
    shown = synced_training(app, client, academy)
    other = new_training(client, academy, theme="Not for Ann")
    ann = learner(client, 1)
    register(client, academy, shown["id"], ann)
    run_jobs(app)
    events = feed(client, ann)
    assert list(events) == [f"training-{shown['id']}@zoomsync"]
    event = events[f"training-{shown['id']}@zoomsync"]
    personal = client.get(f"/api/v1/trainings/{shown['id']}/registrants", headers=AUTH).json["items"][0]
    assert personal["zoom"]["join_url"] and str(event["URL"]) == personal["zoom"]["join_url"]
    assert str(event["SUMMARY"]) == "Fire safety"
    assert event.decoded("DTSTART") == datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    assert f"training-{other['id']}@zoomsync" not in events


def test_the_organizer_sees_what_they_organize_with_the_meetings_link(app, client, academy):
    shown = synced_training(app, client, academy)
    events = feed(client, academy["organizer"])
    event = events[f"training-{shown['id']}@zoomsync"]
    assert str(event["URL"]) == shown["zoom"]["join_url"]
    assert str(event["ORGANIZER"]).lower() == "mailto:host@zoomsim.example"


def test_changes_in_the_lms_and_in_zoom_move_the_event_and_raise_its_sequence(app, client, academy, zoom):
    shown = synced_training(app, client, academy)
    uid = f"training-{shown['id']}@zoomsync"
    before = int(feed(client, academy["organizer"])[uid]["SEQUENCE"])
    path = f"/api/v1/trainings/{shown['id']}"
    assert client.patch(path, json={"duration": 90}, headers=academy["headers"]).status_code == 200
    run_jobs(app)
    event = feed(client, academy["organizer"])[uid]
    assert event.decoded("DTEND") == datetime(2026, 12, 10, 9, 30, tzinfo=UTC)
    after_lms = int(event["SEQUENCE"])
    assert after_lms > before
    mark = max((m.id for m in zoom.sim.dispatcher.messages), default=0)
    zoom.control.edit_meeting(shown["zoom"]["meeting_id"], start_time="2026-12-10T10:00:00Z")
    for body in sim_bodies(zoom, mark):
        assert deliver(client, body).status_code == 200
    run_jobs(app)
    assert training(client, shown["id"])["start_time"] == "2026-12-10T10:00:00Z"
    event = feed(client, academy["organizer"])[uid]
    assert event.decoded("DTSTART") == datetime(2026, 12, 10, 10, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 12, 10, 11, 30, tzinfo=UTC)
    assert int(event["SEQUENCE"]) > after_lms


def test_a_cancelled_training_stays_in_the_feed_marked_cancelled(app, client, academy):
    shown = synced_training(app, client, academy)
    client.delete(f"/api/v1/trainings/{shown['id']}", headers=academy["headers"])
    event = feed(client, academy["organizer"])[f"training-{shown['id']}@zoomsync"]
    assert str(event["STATUS"]) == "CANCELLED"


def test_an_unregistered_learner_loses_the_event_and_an_unknown_user_is_404(app, client, academy):
    shown = synced_training(app, client, academy)
    ann = learner(client, 1)
    register(client, academy, shown["id"], ann)
    client.delete(f"/api/v1/trainings/{shown['id']}/registrants/{ann}", headers=academy["headers"])
    assert feed(client, ann) == {}
    assert client.get("/api/v1/users/9999/calendar.ics", headers=AUTH).status_code == 404
    assert client.get(f"/api/v1/users/{ann}/calendar.ics").status_code == 401


def test_trainings_that_started_over_90_days_ago_are_left_out(app, client, academy):
    # At noon UTC: an hour-long session then ends the day it starts in any zone near UTC, whatever the time now.
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    old = new_training(client, academy, start_time=(noon - timedelta(days=91)).isoformat(), theme="Long ago")
    recent = new_training(client, academy, start_time=(noon - timedelta(days=89)).isoformat(), theme="Recent")
    events = feed(client, academy["organizer"])
    assert f"training-{recent['id']}@zoomsync" in events
    assert f"training-{old['id']}@zoomsync" not in events
