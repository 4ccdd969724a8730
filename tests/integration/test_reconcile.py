"""The reconcile job, driven only through the public surfaces.

Events go in as signed webhook deliveries, queued jobs run in-process, LMS data is
made and read through the JSON API; the inbox table is read directly where the
test is about an event's own fate (status, attempts, last_error).
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from datetime import datetime
from typing import Any

import pytest
from rq.job import Job, JobStatus
from sqlalchemy import select, text

from models import InboxAttempt, InboxEvent, Registrant, Training
from service.services import EXTENSION_KEY
from tests.helpers import AUTH, acting, deliver, fixture, run_jobs
from workers import handlers, reconcile
from workers.queues import RECONCILE_QUEUE, queue

MEETING_ID = 85212345678  # the meeting of the meeting.* fixtures
WEBINAR_ID = 93456789012  # the webinar of the webinar.* fixtures
RUN_UUID = "qF3kT9+bW/Ae1xZ0rYv2mQ=="
# Fixed change times either side of "now": a training's LMS values are stamped when it is created.
NEWER = 4_102_444_800_000  # 2100-01-01 in epoch ms
OLDER = 1_577_836_800_000  # 2020-01-01 in epoch ms
DAY = "2026-12-01"
DROP = object()  # `edited` removes a key given this value

LMS_VALUES = {
    "theme": "LMS theme",
    "start_time": "2026-12-01T09:00:00Z",
    "duration": 60,
    "timezone": "Europe/Berlin",
    "description": "Written in the LMS",
}


# --- building events ------------------------------------------------------------------------------------------


def at(clock: str) -> str:
    """A Zoom time on the meeting day: at("09:41") == "2026-12-01T09:41:00Z"."""
    return f"{DAY}T{clock if clock.count(':') == 2 else clock + ':00'}Z"


def epoch_ms(zoom_time: str) -> int:
    return int(datetime.fromisoformat(zoom_time).timestamp() * 1000)


def edited(name: str, changes: dict[str, Any]) -> dict[str, Any]:
    """A fixture with values replaced by dotted path ("payload.object.topic"); DROP removes the key."""
    body = copy.deepcopy(fixture(name))
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = body
        for key in parents:
            node = node[key]
        if value is DROP:
            node.pop(last, None)
        else:
            node[last] = value
    return body


def update(time_stamp: int, **changed: Any) -> dict[str, Any]:
    """meeting.updated changing exactly `changed`, made in Zoom at `time_stamp`."""
    body = edited("meeting.updated", {"payload.time_stamp": time_stamp, "event_ts": time_stamp + 300})
    body["payload"]["object"] = {"id": MEETING_ID, **changed}
    return body


def participant(
    kind: str,
    clock: str,
    *,
    session: str,
    name: str,
    email: str = "",
    zoom_id: str = "",
    registrant_id: str | None = None,
    meeting_id: int = MEETING_ID,
) -> dict[str, Any]:
    """A join ("join") or leave ("leave") of one Zoom session (`session` is the participant user_id)."""
    body = copy.deepcopy(fixture("meeting.participant_joined" if kind == "join" else "meeting.participant_left"))
    when = at(clock)
    body["event_ts"] = epoch_ms(when) + 100
    obj = body["payload"]["object"]
    obj["id"] = str(meeting_id)
    obj["participant"] = {
        "user_id": session,
        "user_name": name,
        "id": zoom_id,
        "participant_uuid": f"PU-{name.replace(' ', '-')}",
        "participant_user_id": zoom_id,
        "email": email,
        "registrant_id": registrant_id,
        "join_time" if kind == "join" else "leave_time": when,
    }
    return body


def ended(end_clock: str = "10:01:00", start_clock: str = "09:00:04") -> dict[str, Any]:
    return edited(
        "meeting.ended",
        {
            "payload.object.start_time": at(start_clock),
            "payload.object.end_time": at(end_clock),
            "event_ts": epoch_ms(at(end_clock)) + 900,
        },
    )


def deliver_all(client, *bodies: dict[str, Any]) -> None:
    for body in bodies:
        response = deliver(client, body)
        assert response.status_code == 200, response.json


# --- LMS data through the API ---------------------------------------------------------------------------------


class Lms:
    def __init__(self, client):
        self.client = client
        self.headers = AUTH
        self.academy_id = self._post("/api/v1/academies", {"name": "Safety academy"})["id"]
        self.organizer_id = self.user("organizer@lms.test", "Olga Organizer", role="publisher")
        self.headers = acting(self.organizer_id)  # the organizer manages the trainings

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == 201, response.json
        return response.json

    def _get(self, path: str) -> dict[str, Any]:
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, response.json
        return response.json

    def user(self, email: str, name: str = "Learner", zoom_user_id: str | None = None, role: str = "learner") -> int:
        body = {"email": email, "name": name, "zoom_user_id": zoom_user_id, "role": role}
        return self._post("/api/v1/users", body)["id"]

    def training(self, **overrides: Any) -> int:
        body = {
            "academy_id": self.academy_id,
            "organizer_id": self.organizer_id,
            "meeting_type": "meeting",
            "zoom_meeting_id": MEETING_ID,
            **LMS_VALUES,
            **overrides,
        }
        return self._post("/api/v1/trainings", body)["id"]

    def register(self, training_id: int, user_id: int) -> int:
        return self._post(f"/api/v1/trainings/{training_id}/registrants", {"user_id": user_id})["id"]

    def get(self, training_id: int) -> dict[str, Any]:
        return self._get(f"/api/v1/trainings/{training_id}")

    def attendance(self, training_id: int) -> dict[str, Any]:
        return self._get(f"/api/v1/trainings/{training_id}/attendance")

    def item(self, training_id: int, user_id: int) -> dict[str, Any]:
        items = [i for i in self.attendance(training_id)["items"] if i["user_id"] == user_id]
        assert len(items) == 1, self.attendance(training_id)
        return items[0]


@pytest.fixture
def lms(client) -> Lms:
    return Lms(client)


def inbox(session_factory) -> list[InboxEvent]:
    with session_factory() as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def inbox_by_type(session_factory) -> dict[str, InboxEvent]:
    rows = inbox(session_factory)
    by_type = {row.event_type: row for row in rows}
    assert len(by_type) == len(rows), "helper expects one row per event type"
    return by_type


def field_stamps(session_factory, training_id: int) -> dict[str, list]:
    with session_factory() as session:
        return dict(session.get(Training, training_id).field_stamps)


def set_zoom_registrant_id(session_factory, registrant_id: int, zoom_registrant_id: str) -> None:
    """The API cannot set it yet (outbound registrant sync does); write it directly."""
    with session_factory() as session:
        session.get(Registrant, registrant_id).zoom_registrant_id = zoom_registrant_id
        session.commit()


def interval(join: str, leave: str | None) -> dict[str, str | None]:
    return {"join_time": at(join), "leave_time": at(leave) if leave else None}


# --- meeting.updated ------------------------------------------------------------------------------------------


def test_update_sets_theme_start_duration_and_timezone_but_never_the_description(client, app, lms, session_factory):
    training_id = lms.training()
    body = edited("meeting.updated", {"payload.time_stamp": NEWER})
    assert body["payload"]["object"]["agenda"] == "New agenda text"

    deliver_all(client, body)
    run_jobs(app)

    training = lms.get(training_id)
    assert training["theme"] == "Onboarding: safety basics (v2)"
    assert training["start_time"] == "2026-12-01T10:00:00Z"
    assert training["duration"] == 90
    assert training["timezone"] == "Europe/Paris"
    assert training["description"] == "Written in the LMS"
    assert training["zoom"]["sync_issue"] is None
    assert [row.status for row in inbox(session_factory)] == ["processed"]


def test_update_older_than_the_training_sets_only_the_title(client, app, lms, session_factory):
    """Title only from Zoom; two-way fields: newest wins, and the LMS stamped its values at creation."""
    training_id = lms.training()
    body = edited("meeting.updated", {"payload.time_stamp": OLDER})

    deliver_all(client, body)
    run_jobs(app)

    training = lms.get(training_id)
    assert training["theme"] == "Onboarding: safety basics (v2)"
    assert training["start_time"] == LMS_VALUES["start_time"]
    assert training["duration"] == LMS_VALUES["duration"]
    assert training["timezone"] == LMS_VALUES["timezone"]
    assert training["description"] == LMS_VALUES["description"]
    stamps = field_stamps(session_factory, training_id)
    assert stamps["theme"][0] == OLDER
    assert all(stamps[name][1] == "lms" and stamps[name][0] > OLDER for name in ("start_time", "duration", "timezone"))


def test_older_title_change_from_zoom_does_not_replace_a_newer_one(client, app, lms):
    training_id = lms.training()
    deliver_all(client, update(NEWER + 2000, topic="Second title"))
    run_jobs(app)
    deliver_all(client, update(NEWER + 1000, topic="First title"))
    run_jobs(app)

    assert lms.get(training_id)["theme"] == "Second title"


@pytest.mark.parametrize("same_batch", [False, True], ids=["separate-jobs", "one-batch"])
def test_two_updates_delivered_newest_first_end_with_the_newest_values(client, app, lms, same_batch):
    training_id = lms.training()
    newest = update(NEWER + 2000, topic="Newest", start_time="2026-12-02T08:00:00Z", duration=45, timezone="Asia/Tokyo")
    older = update(
        NEWER + 1000, topic="Older", start_time="2026-12-03T08:00:00Z", duration=30, timezone="America/New_York"
    )
    # The older change reaches us last and, in one batch, is also applied last (batches go by event_ts).
    older["event_ts"] = newest["event_ts"] + 60_000

    deliver_all(client, newest)
    if not same_batch:
        run_jobs(app)
    deliver_all(client, older)
    run_jobs(app)

    training = lms.get(training_id)
    assert (training["theme"], training["start_time"], training["duration"], training["timezone"]) == (
        "Newest",
        "2026-12-02T08:00:00Z",
        45,
        "Asia/Tokyo",
    )


def _assert_unchanged_by_zoom(training: dict[str, Any]) -> None:
    for name, value in LMS_VALUES.items():
        assert training[name] == value, name


def test_update_to_a_recurring_meeting_records_a_sync_issue_and_changes_nothing(client, app, lms, session_factory):
    training_id = lms.training()
    body = fixture("meeting.updated.recurring")
    assert body["payload"]["object"]["type"] == 8

    deliver_all(client, body)
    run_jobs(app)

    training = lms.get(training_id)
    assert "recurring" in training["zoom"]["sync_issue"]
    _assert_unchanged_by_zoom(training)
    assert [row.status for row in inbox(session_factory)] == ["processed"]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"payload.object.settings": DROP},
        {"payload.object.type": DROP},
    ],
    ids=["type-4-and-use_pmi", "type-4", "use_pmi"],
)
def test_update_to_a_personal_meeting_id_records_a_sync_issue_and_changes_nothing(client, app, lms, changes):
    training_id = lms.training()

    deliver_all(client, edited("meeting.updated.pmi", changes))
    run_jobs(app)

    training = lms.get(training_id)
    assert "Personal Meeting ID" in training["zoom"]["sync_issue"]
    _assert_unchanged_by_zoom(training)


def test_webinar_update_for_a_meeting_training_records_a_sync_issue(client, app, lms):
    training_id = lms.training(zoom_meeting_id=WEBINAR_ID, meeting_type="meeting")

    deliver_all(client, edited("webinar.updated", {"payload.time_stamp": NEWER}))
    run_jobs(app)

    training = lms.get(training_id)
    assert "webinar" in training["zoom"]["sync_issue"]
    assert "not supported" in training["zoom"]["sync_issue"]
    _assert_unchanged_by_zoom(training)


# --- status and actual times ----------------------------------------------------------------------------------


def test_started_sets_status_started(client, app, lms):
    training_id = lms.training()
    deliver_all(client, fixture("meeting.started"))
    run_jobs(app)

    training = lms.get(training_id)
    assert training["status"] == "started"
    assert training["actual_start"] == "2026-12-01T09:00:04Z"
    assert training["actual_end"] is None
    assert training["zoom"]["uuid"] == RUN_UUID


def test_ended_completes_the_training_with_the_actual_times_of_the_payload(client, app, lms):
    training_id = lms.training()
    deliver_all(client, ended(end_clock="10:01:00", start_clock="09:00:04"))
    run_jobs(app)

    training = lms.get(training_id)
    assert training["status"] == "completed"
    assert training["actual_start"] == "2026-12-01T09:00:04Z"
    assert training["actual_end"] == "2026-12-01T10:01:00Z"


@pytest.mark.parametrize("ended_first", [False, True], ids=["started-first", "ended-first"])
def test_actual_start_is_the_earliest_reported_whichever_event_arrives_first(client, app, lms, ended_first):
    training_id = lms.training()
    started = edited("meeting.started", {"payload.object.start_time": at("09:00:04")})
    end = ended(end_clock="10:01:00", start_clock="09:00:02")

    for body in (end, started) if ended_first else (started, end):
        deliver_all(client, body)
        run_jobs(app)

    training = lms.get(training_id)
    assert training["actual_start"] == "2026-12-01T09:00:02Z"
    assert training["actual_end"] == "2026-12-01T10:01:00Z"


def test_deleted_cancels_the_training(client, app, lms):
    training_id = lms.training()
    deliver_all(client, fixture("meeting.deleted"))
    run_jobs(app)

    assert lms.get(training_id)["status"] == "cancelled"


def test_ended_delivered_before_started_still_ends_completed(client, app, lms):
    training_id = lms.training()
    deliver_all(client, ended())
    run_jobs(app)
    deliver_all(client, fixture("meeting.started"))
    run_jobs(app)

    training = lms.get(training_id)
    assert training["status"] == "completed"
    assert training["actual_start"] == "2026-12-01T09:00:04Z"
    assert training["actual_end"] == "2026-12-01T10:01:00Z"


def test_deleted_after_ended_stays_completed(client, app, lms):
    training_id = lms.training()
    deliver_all(client, fixture("meeting.started"), ended())
    run_jobs(app)
    deliver_all(client, fixture("meeting.deleted"))
    run_jobs(app)

    assert lms.get(training_id)["status"] == "completed"


def test_training_in_the_past_stays_not_started_without_start_events(client, app, lms, session_factory):
    training_id = lms.training(start_time="2020-01-06T09:00:00Z")
    run_jobs(app)
    assert lms.get(training_id)["status"] == "not_started"

    deliver_all(client, update(NEWER, topic="Renamed in Zoom"))
    run_jobs(app)

    training = lms.get(training_id)
    assert training["theme"] == "Renamed in Zoom"  # the update was applied...
    assert training["status"] == "not_started"  # ...and says nothing about the meeting having run
    assert [row.status for row in inbox(session_factory)] == ["processed"]


# --- participants ---------------------------------------------------------------------------------------------


def test_participant_is_matched_by_registrant_id_first(client, app, lms, session_factory):
    training_id = lms.training()
    registered = lms.user("registered@example.org", "Rita Registered")
    other = lms.user("other@example.org", "Otto Other")
    set_zoom_registrant_id(session_factory, lms.register(training_id, registered), "reg-rita-1")

    # Rita joined from an address that belongs to another LMS user: the registrant id decides.
    deliver_all(
        client,
        participant("join", "09:01", session="100", name="Rita", email="other@example.org", registrant_id="reg-rita-1"),
        participant("leave", "09:31", session="100", name="Rita", email="other@example.org", registrant_id=""),
    )
    run_jobs(app)

    report = lms.attendance(training_id)
    assert [item["user_id"] for item in report["items"]] == [registered]
    assert report["items"][0]["attended_seconds"] == 1800
    assert report["items"][0]["email"] == "registered@example.org"
    assert other not in [item["user_id"] for item in report["items"]]
    assert report["unmatched"] == []


def test_participant_is_matched_by_email_case_insensitively(client, app, lms):
    training_id = lms.training()
    ada = lms.user("ada.learner@example.org", "Ada Learner")

    deliver_all(client, fixture("meeting.participant_joined"), fixture("meeting.participant_left"))
    run_jobs(app)

    report = lms.attendance(training_id)
    assert report["unmatched"] == []
    assert report["items"] == [
        {
            "user_id": ada,
            "email": "ada.learner@example.org",
            "attended_seconds": 2400,
            "first_join_time": at("09:01"),
            "last_leave_time": at("09:41"),
            "intervals": [interval("09:01", "09:41")],
            "waiting_seconds": 0,
            "waiting_intervals": [],
            "breakout_intervals": [],
            "completion": "pending",
        }
    ]


def test_participant_without_email_is_matched_by_zoom_user_id(client, app, lms):
    training_id = lms.training()
    carl = lms.user("carl@example.org", "Carl", zoom_user_id="zoom-carl-9")

    deliver_all(
        client,
        participant("join", "09:10", session="300", name="Carl", zoom_id="zoom-carl-9"),
        participant("leave", "09:25", session="300", name="Carl", zoom_id="zoom-carl-9"),
    )
    run_jobs(app)

    report = lms.attendance(training_id)
    assert report["unmatched"] == []
    assert [(i["user_id"], i["attended_seconds"]) for i in report["items"]] == [(carl, 900)]


def test_people_matching_no_user_are_listed_as_unmatched(client, app, lms):
    training_id = lms.training()

    deliver_all(
        client,
        participant("join", "09:00", session="400", name="Gus Guest", email="gus@elsewhere.test"),
        participant("leave", "09:30", session="400", name="Gus Guest", email="gus@elsewhere.test"),
        participant("join", "09:10", session="500", name="Phone Caller"),
        participant("leave", "09:20", session="500", name="Phone Caller"),
    )
    run_jobs(app)

    report = lms.attendance(training_id)
    assert report["items"] == []
    assert report["unmatched"] == [
        {
            "key": "guest:email:gus@elsewhere.test",
            "name": "Gus Guest",
            "email": "gus@elsewhere.test",
            "attended_seconds": 1800,
            "waiting_seconds": 0,
        },
        {
            "key": "guest:p:PU-Phone-Caller",
            "name": "Phone Caller",
            "email": None,
            "attended_seconds": 600,
            "waiting_seconds": 0,
        },
    ]


def assign(lms, training_id: int, guest: str, user_id: int, headers: dict | None = None):
    return lms.client.post(
        f"/api/v1/trainings/{training_id}/attendance/assignments",
        json={"guest": guest, "user_id": user_id},
        headers=lms.headers if headers is None else headers,
    )


def test_an_admin_assigns_a_guest_and_their_time_counts_for_that_user(client, app, lms):
    """Zoom blanks the ids of users from other accounts; the admin says who the guest was."""
    training_id = lms.training()
    ada = lms.user("ada@example.org", "Ada")
    deliver_all(
        client,
        participant("join", "09:00", session="600", name="Ada", email="ada@example.org"),
        participant("leave", "09:20", session="600", name="Ada", email="ada@example.org"),
        participant("join", "09:15", session="700", name="Ada on a borrowed phone"),
        participant("leave", "09:40", session="700", name="Ada on a borrowed phone"),
    )
    run_jobs(app)
    [guest] = lms.attendance(training_id)["unmatched"]
    assert lms.item(training_id, ada)["attended_seconds"] == 1200

    response = assign(lms, training_id, guest["key"], ada)
    assert response.status_code == 202, response.json
    run_jobs(app)

    report = lms.attendance(training_id)
    assert report["unmatched"] == []
    # Unioned with her own session, not added: 09:00 to 09:40.
    assert lms.item(training_id, ada)["attended_seconds"] == 2400
    assert lms.item(training_id, ada)["intervals"] == [interval("09:00", "09:40")]


def test_reassigning_a_guest_moves_their_time_to_the_new_user(client, app, lms):
    training_id = lms.training()
    ada = lms.user("ada@example.org", "Ada")
    bob = lms.user("bob@example.org", "Bob")
    deliver_all(
        client,
        participant("join", "09:00", session="800", name="Someone"),
        participant("leave", "09:30", session="800", name="Someone"),
    )
    run_jobs(app)
    [guest] = lms.attendance(training_id)["unmatched"]

    assert assign(lms, training_id, guest["key"], ada).status_code == 202
    run_jobs(app)
    assert assign(lms, training_id, guest["key"], bob).status_code == 202
    run_jobs(app)

    items = {i["user_id"]: i["attended_seconds"] for i in lms.attendance(training_id)["items"]}
    assert items == {bob: 1800}


def test_assigning_needs_a_guest_key_and_a_real_user(client, app, lms):
    training_id = lms.training()
    ada = lms.user("ada@example.org", "Ada")

    not_a_guest = assign(lms, training_id, f"user:{ada}", ada)
    assert not_a_guest.status_code == 422 and "guest" in not_a_guest.json["fields"]
    no_user = assign(lms, training_id, "guest:name:Someone", 999_999)
    assert no_user.status_code == 422 and "user_id" in no_user.json["fields"]
    no_training = assign(lms, 999_999, "guest:name:Someone", ada)
    assert no_training.status_code == 404
    assert assign(lms, training_id, "guest:name:Someone", ada, headers=acting(ada)).status_code == 403
    assert assign(lms, training_id, "guest:name:Someone", ada, headers={}).status_code == 401


def test_two_devices_at_once_count_once(client, app, lms):
    training_id = lms.training()
    ada = lms.user("ada@example.org", "Ada")

    deliver_all(
        client,
        participant("join", "09:00", session="laptop-1", name="Ada", email="ada@example.org"),
        participant("join", "09:10", session="phone-1", name="Ada (phone)", email="ada@example.org"),
        participant("leave", "09:30", session="laptop-1", name="Ada", email="ada@example.org"),
        participant("leave", "09:40", session="phone-1", name="Ada (phone)", email="ada@example.org"),
    )
    run_jobs(app)

    assert lms.item(training_id, ada) == {
        "user_id": ada,
        "email": "ada@example.org",
        "attended_seconds": 2400,
        "first_join_time": at("09:00"),
        "last_leave_time": at("09:40"),
        "intervals": [interval("09:00", "09:40")],
        "waiting_seconds": 0,
        "waiting_intervals": [],
        "breakout_intervals": [],
        "completion": "pending",
    }


def test_two_devices_leaving_in_the_same_second_both_close(client, app, lms):
    """The host ends the meeting: every device leaves at once, and presence ends there."""
    training_id = lms.training()
    ada = lms.user("ada@example.org", "Ada")

    deliver_all(
        client,
        participant("join", "09:00", session="laptop-1", name="Ada", email="ada@example.org"),
        participant("join", "09:10", session="phone-1", name="Ada (phone)", email="ada@example.org"),
        participant("leave", "09:30", session="laptop-1", name="Ada", email="ada@example.org"),
        participant("leave", "09:30", session="phone-1", name="Ada (phone)", email="ada@example.org"),
    )
    run_jobs(app)

    item = lms.item(training_id, ada)
    assert item["attended_seconds"] == 1800
    assert item["intervals"] == [interval("09:00", "09:30")]


def test_rejoining_adds_up(client, app, lms):
    training_id = lms.training()
    ada = lms.user("ada@example.org", "Ada")

    deliver_all(
        client,
        participant("join", "09:00", session="1001", name="Ada", email="ada@example.org"),
        participant("leave", "09:10", session="1001", name="Ada", email="ada@example.org"),
        participant("join", "09:20", session="1002", name="Ada", email="ada@example.org"),
        participant("leave", "09:30:30", session="1002", name="Ada", email="ada@example.org"),
    )
    run_jobs(app)

    assert lms.item(training_id, ada) == {
        "user_id": ada,
        "email": "ada@example.org",
        "attended_seconds": 600 + 630,
        "first_join_time": at("09:00"),
        "last_leave_time": at("09:30:30"),
        "intervals": [interval("09:00", "09:10"), interval("09:20", "09:30:30")],
        "waiting_seconds": 0,
        "waiting_intervals": [],
        "breakout_intervals": [],
        "completion": "pending",
    }


def test_join_without_leave_closes_at_the_meeting_end(client, app, lms):
    training_id = lms.training()
    ada = lms.user("ada@example.org", "Ada")

    deliver_all(
        client,
        fixture("meeting.started"),
        participant("join", "09:50", session="7", name="Ada", email="ada@example.org"),
    )
    run_jobs(app)
    still_open = lms.item(training_id, ada)
    assert still_open["intervals"] == [interval("09:50", None)]
    assert still_open["attended_seconds"] == 0
    assert still_open["last_leave_time"] is None

    deliver_all(client, ended(end_clock="10:01:00"))
    run_jobs(app)

    closed = lms.item(training_id, ada)
    assert closed["intervals"] == [interval("09:50", "10:01:00")]
    assert closed["attended_seconds"] == 660
    assert closed["first_join_time"] == at("09:50")
    assert closed["last_leave_time"] == at("10:01:00")


def test_leave_without_join_adds_nothing(client, app, lms):
    training_id = lms.training()
    ada = lms.user("ada@example.org", "Ada")
    bob = lms.user("bob@example.org", "Bob")

    deliver_all(
        client,
        # Ada: only a leave is known.
        participant("leave", "09:20", session="21", name="Ada", email="ada@example.org"),
        # Bob: a stray leave, then a real session.
        participant("leave", "09:05", session="31", name="Bob", email="bob@example.org"),
        participant("join", "09:30", session="32", name="Bob", email="bob@example.org"),
        participant("leave", "09:40", session="32", name="Bob", email="bob@example.org"),
        ended(),
    )
    run_jobs(app)

    ada_item = lms.item(training_id, ada)
    assert (ada_item["attended_seconds"], ada_item["intervals"]) == (0, [])
    assert ada_item["first_join_time"] is None
    bob_item = lms.item(training_id, bob)
    assert bob_item["attended_seconds"] == 600
    assert bob_item["intervals"] == [interval("09:30", "09:40")]
    assert bob_item["first_join_time"] == at("09:30")


def test_stray_leave_of_a_second_device_takes_nothing_from_the_first(client, app, lms):
    training_id = lms.training()
    ada = lms.user("ada@example.org", "Ada")

    deliver_all(
        client,
        participant("join", "09:00", session="laptop-1", name="Ada", email="ada@example.org"),
        # The phone's join never reached us; its leave must not end the laptop's presence.
        participant("leave", "09:10", session="phone-1", name="Ada (phone)", email="ada@example.org"),
        participant("leave", "09:40", session="laptop-1", name="Ada", email="ada@example.org"),
        ended(),
    )
    run_jobs(app)

    item = lms.item(training_id, ada)
    assert item["intervals"] == [interval("09:00", "09:40")]
    assert item["attended_seconds"] == 2400


def test_registrants_who_never_joined_have_zero_seconds(client, app, lms):
    training_id = lms.training()
    absent = lms.user("absent@example.org", "Abe Absent")
    present = lms.user("present@example.org", "Pat Present")
    lms.register(training_id, absent)
    lms.register(training_id, present)

    deliver_all(
        client,
        participant("join", "09:00", session="61", name="Pat", email="present@example.org"),
        participant("leave", "09:15", session="61", name="Pat", email="present@example.org"),
        ended(),
    )
    run_jobs(app)

    items = {item["user_id"]: item for item in lms.attendance(training_id)["items"]}
    assert set(items) == {absent, present}
    assert items[absent] == {
        "user_id": absent,
        "email": "absent@example.org",
        "attended_seconds": 0,
        "first_join_time": None,
        "last_leave_time": None,
        "intervals": [],
        "waiting_seconds": 0,
        "waiting_intervals": [],
        "breakout_intervals": [],
        "completion": "pending",
    }
    assert items[present]["attended_seconds"] == 900


def test_legacy_participant_payload_is_accepted(client, app, lms, session_factory):
    training_id = lms.training()
    legacy = fixture("meeting.participant_joined.legacy")
    assert "event_ts" not in legacy and isinstance(legacy["payload"]["object"]["id"], int)

    deliver_all(client, legacy, ended(end_clock="10:01:00"))
    run_jobs(app)

    rows = inbox_by_type(session_factory)
    assert rows["meeting.participant_joined"].status == "processed"
    assert rows["meeting.participant_joined"].event_ts is None
    assert rows["meeting.participant_joined"].meeting_id == MEETING_ID
    assert lms.attendance(training_id)["unmatched"] == [
        {
            "key": "guest:name:Guest Phone",
            "name": "Guest Phone",
            "email": None,
            "attended_seconds": 56 * 60,
            "waiting_seconds": 0,
        },
    ]


# --- events before their training exists ----------------------------------------------------------------------


def test_events_of_an_unlinked_meeting_wait_and_apply_once_a_training_links_it(client, app, lms, session_factory):
    deliver_all(
        client,
        fixture("meeting.started"),
        fixture("meeting.participant_joined"),
        fixture("meeting.participant_left"),
        update(NEWER, topic="Named in Zoom", duration=75),
    )
    run_jobs(app)
    assert {row.status for row in inbox(session_factory)} == {"unmatched"}

    ada = lms.user("ada.learner@example.org", "Ada Learner")
    training_id = lms.training()
    assert lms.get(training_id)["status"] == "not_started"
    run_jobs(app)

    assert {row.status for row in inbox(session_factory)} == {"processed"}
    training = lms.get(training_id)
    assert (training["status"], training["theme"], training["duration"]) == ("started", "Named in Zoom", 75)
    assert training["actual_start"] == "2026-12-01T09:00:04Z"
    assert [(i["user_id"], i["attended_seconds"]) for i in lms.attendance(training_id)["items"]] == [(ada, 2400)]


def _wait_until_done_or_blocked(engine, thread: threading.Thread, blocker_pid: int) -> None:
    """Return once `thread` has finished or is waiting for a lock that backend `blocker_pid` holds."""
    deadline = time.monotonic() + 30
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # fresh pg_stat_activity
        while thread.is_alive():
            blocked = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                {"pid": blocker_pid},
            ).scalar_one()
            if blocked:
                return
            assert time.monotonic() < deadline, "the link neither finished nor waited for the job"
            thread.join(timeout=0.01)


def test_training_linked_while_the_meeting_job_runs_still_gets_the_events(
    client, app, lms, session_factory, monkeypatch
):
    """The job found no training and is about to mark the events unmatched when the LMS links the meeting.

    The link runs in a thread at that moment. On PostgreSQL (read committed) it either commits while the
    job's transaction is open or waits for a lock the job holds; the job goes on when one of the two has
    happened. On SQLite writers are serialised, so the link always waits for the job's commit.
    """
    ada = lms.user("ada.learner@example.org", "Ada Learner")
    deliver_all(
        client,
        fixture("meeting.started"),
        fixture("meeting.participant_joined"),
        fixture("meeting.participant_left"),
    )
    engine = app.extensions[EXTENSION_KEY].engine
    postgres = engine.dialect.name == "postgresql"
    real_lock, real_utcnow = reconcile.lock_meeting, reconcile.utcnow
    job_backend: list[int] = []
    linking: list[threading.Thread] = []
    created: list[int] = []

    def lock_and_note_backend(session, meeting_id):
        real_lock(session, meeting_id)
        if postgres and not job_backend:
            job_backend.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())

    def link_meanwhile():
        # Called by the job right after it looked for the meeting's training and found none.
        if not linking:
            other = copy.copy(lms)
            other.client = app.test_client()  # a request of its own, in its own thread
            linking.append(threading.Thread(target=lambda: created.append(other.training())))
            linking[0].start()
            if postgres:
                _wait_until_done_or_blocked(engine, linking[0], job_backend[0])
        return real_utcnow()

    monkeypatch.setattr(reconcile, "lock_meeting", lock_and_note_backend)
    monkeypatch.setattr(reconcile, "utcnow", link_meanwhile)
    run_jobs(app)
    linking[0].join()
    run_jobs(app)

    [training_id] = created
    assert {row.status for row in inbox(session_factory)} == {"processed"}
    assert lms.get(training_id)["status"] == "started"
    assert [(i["user_id"], i["attended_seconds"]) for i in lms.attendance(training_id)["items"]] == [(ada, 2400)]


# --- failures -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"payload.object.participant.join_time": 12345}, "join_time"),
        ({"payload.object.participant": DROP}, "participant"),
    ],
    ids=["join_time-is-a-number", "participant-missing"],
)
def test_odd_event_fails_alone_and_the_rest_of_its_batch_is_applied(client, app, lms, session_factory, changes, named):
    training_id = lms.training()
    ada = lms.user("ada.learner@example.org", "Ada Learner")
    odd = edited("meeting.participant_joined", {**changes, "event_ts": 1796115660200})

    deliver_all(
        client,
        fixture("meeting.started"),
        fixture("meeting.participant_joined"),
        odd,
        fixture("meeting.participant_left"),
    )
    run_jobs(app)

    rows = inbox(session_factory)
    odd_rows = [row for row in rows if row.event_ts == 1796115660200]
    assert len(odd_rows) == 1
    assert odd_rows[0].status == "failed"
    assert named in odd_rows[0].last_error
    assert odd_rows[0].attempts == 1
    assert [row.status for row in rows if row is not odd_rows[0]] == ["processed"] * 3
    assert lms.get(training_id)["status"] == "started"
    assert lms.item(training_id, ada)["attended_seconds"] == 2400
    # Nothing to retry: the job finished and nothing is scheduled.
    reconcile_queue = queue(app.extensions[EXTENSION_KEY].redis, RECONCILE_QUEUE)
    assert reconcile_queue.scheduled_job_registry.get_job_ids() == []
    assert reconcile_queue.failed_job_registry.get_job_ids() == []


def _retry_scheduled_jobs(app) -> list[str]:
    """Make RQ's scheduled retries due now (the scheduler would after its back-off); return their ids."""
    registry = queue(app.extensions[EXTENSION_KEY].redis, RECONCILE_QUEUE).scheduled_job_registry
    job_ids = registry.get_job_ids()
    for job_id in job_ids:
        registry.requeue(job_id)
    return job_ids


def test_transient_error_is_retried_and_ends_failed_after_max_attempts(client, app, lms, session_factory, monkeypatch):
    def flaky(ctx, event):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(handlers.HANDLERS, "meeting.started", flaky)
    redis = app.extensions[EXTENSION_KEY].redis
    max_attempts = app.extensions[EXTENSION_KEY].settings.max_event_attempts
    assert max_attempts == 5
    training_id = lms.training()
    ada = lms.user("ada.learner@example.org", "Ada Learner")
    run_jobs(app)  # the organizer's notification: only reconcile jobs are counted below
    deliver_all(client, fixture("meeting.started"), fixture("meeting.participant_joined"))

    job_ids: list[str] = []
    for attempt in range(1, max_attempts + 1):
        if attempt == 1:
            assert run_jobs(app) == 1
        else:
            assert _retry_scheduled_jobs(app) == job_ids[:1]
            assert run_jobs(app) == 1
        rows = inbox_by_type(session_factory)
        started = rows["meeting.started"]
        assert started.attempts == attempt
        assert started.last_error == "RuntimeError: database hiccup"
        assert rows["meeting.participant_joined"].status == "processed"
        scheduled = queue(redis, RECONCILE_QUEUE).scheduled_job_registry.get_job_ids()
        if attempt < max_attempts:
            assert started.status == "pending"
            # The job raised: RQ keeps it for another try after its back-off.
            assert len(scheduled) == 1
            job_ids = job_ids or scheduled
            assert scheduled == job_ids
            assert Job.fetch(scheduled[0], connection=redis).get_status() == JobStatus.SCHEDULED
        else:
            assert started.status == "failed"
            assert scheduled == []
            assert Job.fetch(job_ids[0], connection=redis).get_status() == JobStatus.FINISHED

    # Later work on the meeting leaves the failed event alone.
    deliver_all(client, fixture("meeting.participant_left"))
    assert run_jobs(app) == 1
    rows = inbox_by_type(session_factory)
    assert (rows["meeting.started"].status, rows["meeting.started"].attempts) == ("failed", max_attempts)
    assert rows["meeting.participant_left"].status == "processed"
    assert lms.get(training_id)["status"] == "not_started"
    assert lms.item(training_id, ada)["attended_seconds"] == 2400
    # Every try is kept with its error, for the admin's history of the event; successes are not rows.
    with session_factory() as session:
        tries = session.execute(select(InboxAttempt.inbox_id, InboxAttempt.attempt, InboxAttempt.final)).all()
    assert tries == [(rows["meeting.started"].id, n, n == max_attempts) for n in range(1, max_attempts + 1)]


def test_transient_error_costs_one_attempt_per_job_run_even_when_the_meeting_needs_several_batches(
    client, app, lms, session_factory, monkeypatch
):
    def flaky(ctx, event):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(handlers.HANDLERS, "meeting.started", flaky)
    svc = app.extensions[EXTENSION_KEY]
    monkeypatch.setattr(svc, "settings", dataclasses.replace(svc.settings, reconcile_batch_size=2))
    training_id = lms.training()
    ada = lms.user("ada.learner@example.org", "Ada Learner")
    run_jobs(app)  # the organizer's notification: only reconcile jobs are counted below
    deliver_all(
        client,
        fixture("meeting.started"),
        fixture("meeting.participant_joined"),
        fixture("meeting.participant_left"),
    )

    assert run_jobs(app) == 1

    rows = inbox_by_type(session_factory)
    # One job run is one try: the retry waits for RQ's back-off instead of being spent in the next batch.
    assert (rows["meeting.started"].status, rows["meeting.started"].attempts) == ("pending", 1)
    assert rows["meeting.participant_joined"].status == "processed"
    assert rows["meeting.participant_left"].status == "processed"
    assert lms.item(training_id, ada)["attended_seconds"] == 2400
    assert len(queue(svc.redis, RECONCILE_QUEUE).scheduled_job_registry.get_job_ids()) == 1


# --- redelivery -----------------------------------------------------------------------------------------------


def test_redelivery_keeps_one_inbox_row_and_the_same_attendance(client, app, lms, session_factory):
    training_id = lms.training()
    ada = lms.user("ada.learner@example.org", "Ada Learner")
    joined, left = fixture("meeting.participant_joined"), fixture("meeting.participant_left")

    first = deliver(client, joined)
    again = deliver(client, joined)
    assert (first.json["status"], again.json["status"], again.json["id"]) == ("pending", "duplicate", None)
    deliver_all(client, left)
    run_jobs(app)
    once = lms.attendance(training_id)

    assert deliver(client, joined).json["status"] == "duplicate"
    assert deliver(client, left).json["status"] == "duplicate"
    run_jobs(app)

    assert len(inbox(session_factory)) == 2
    assert lms.attendance(training_id) == once
    assert lms.item(training_id, ada)["attended_seconds"] == 2400
