"""Attendance as Zoom counts it, live: waiting rooms, breakout rooms, phone callers, practice sessions.

Zoom's rules (../shared/zoom/README.md, "Who was in the meeting"): waiting-room time
is not meeting time; time in a breakout room is; a phone caller who binds is the
attendee they bind to; a webinar's practice session is a rehearsal. Every body is
one of the fixtures next to these tests (tests/fixtures/zoom), retimed; each test
runs on SQLite with fakeredis and on PostgreSQL with Redis.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select

from models import InboxEvent, MeetingInstance, ParticipantEvent
from tests.helpers import fixture, run_jobs
from tests.integration.test_reconcile import DAY, RUN_UUID, WEBINAR_ID, Lms, at, deliver_all, ended, epoch_ms

ADA = "ada.learner@example.org"
ADA_MAIN = "16778240"  # Ada's main-room session (user_id) in the fixtures
PHONE = dict(user_name="+1 555 0100", id="", participant_user_id="", email="", participant_uuid="PU-phone-0001")


@pytest.fixture
def lms(client) -> Lms:
    return Lms(client)


def event(name: str, clock: str, **participant: Any) -> dict[str, Any]:
    """A fixture at `clock` on the meeting day: its participant's time fields moved there, fields replaced."""
    body = copy.deepcopy(fixture(name))
    when = at(clock)
    body["event_ts"] = epoch_ms(when) + 100
    person = body["payload"]["object"]["participant"]
    for field in ("join_time", "leave_time", "date_time"):
        if field in person:
            person[field] = when
    person.update(participant)
    return body


def joined(clock: str, session: str = ADA_MAIN, **fields: Any) -> dict[str, Any]:
    return event("meeting.participant_joined", clock, user_id=session, **fields)


def left(clock: str, session: str = ADA_MAIN, **fields: Any) -> dict[str, Any]:
    return event("meeting.participant_left", clock, user_id=session, **fields)


def seconds(minutes: float) -> int:
    return round(minutes * 60)


def ada_training(lms: Lms) -> tuple[int, int]:
    training_id = lms.training()
    ada = lms.user(ADA, "Ada Learner")
    lms.register(training_id, ada)
    return training_id, ada


def spans(item_intervals: list[dict]) -> list[tuple[str, str | None]]:
    return [(i["join_time"], i["leave_time"]) for i in item_intervals]


# --- waiting rooms --------------------------------------------------------------------------------------------


def test_the_issue_example_waiting_room_then_breakout_room(client, app, lms):
    """2 minutes waiting, 20 in a breakout room, the rest in the main room of a 60-minute meeting: 58 minutes."""
    training_id, ada = ada_training(lms)
    deliver_all(
        client,
        event("meeting.participant_joined_waiting_room", "09:00"),
        event("meeting.participant_admitted", "09:02"),
        joined("09:02"),
        left("09:20", leave_reason="Ada Learner left the meeting to join a breakout room."),
        event("meeting.participant_joined_breakout_room", "09:20"),
        event("meeting.participant_left_breakout_room", "09:40"),
        joined("09:40", session="16803000"),
        left("10:00", session="16803000"),
        ended("10:00", "09:00"),
    )
    run_jobs(app)

    item = lms.item(training_id, ada)
    assert item["attended_seconds"] == seconds(58)
    assert item["waiting_seconds"] == seconds(2)
    assert spans(item["intervals"]) == [(at("09:02"), at("10:00"))]
    assert spans(item["waiting_intervals"]) == [(at("09:00"), at("09:02"))]
    assert spans(item["breakout_intervals"]) == [(at("09:20"), at("09:40"))]
    assert lms.attendance(training_id)["unmatched"] == []


def test_breakout_room_counts_when_zoom_sends_no_main_room_leave(client, app, lms):
    training_id, ada = ada_training(lms)
    deliver_all(
        client,
        joined("09:00"),
        event("meeting.participant_joined_breakout_room", "09:20"),
        event("meeting.participant_left_breakout_room", "09:40"),
        left("10:00"),
    )
    run_jobs(app)
    item = lms.item(training_id, ada)
    assert item["attended_seconds"] == seconds(60)  # the room lies inside the main session: once
    assert spans(item["breakout_intervals"]) == [(at("09:20"), at("09:40"))]


def test_a_room_is_the_persons_through_parent_user_id_alone(client, app, lms):
    """A room event without email or ids still belongs to the main-room session it names."""
    training_id, ada = ada_training(lms)
    anonymous = dict(email="", id="", participant_user_id="", participant_uuid="", registrant_id="")
    deliver_all(
        client,
        joined("09:00"),
        left("09:20"),
        event("meeting.participant_joined_breakout_room", "09:20", **anonymous),
        event("meeting.participant_left_breakout_room", "09:45", **anonymous),
    )
    run_jobs(app)
    assert lms.item(training_id, ada)["attended_seconds"] == seconds(45)
    assert lms.attendance(training_id)["unmatched"] == []


def test_never_admitted_is_credited_nothing(client, app, lms):
    training_id, ada = ada_training(lms)
    deliver_all(
        client,
        event("meeting.participant_joined_waiting_room", "09:00"),
        event("meeting.participant_left_waiting_room", "09:15"),
        left("09:15", leave_reason="Leave waiting room."),
        ended("10:00", "09:00"),
    )
    run_jobs(app)
    item = lms.item(training_id, ada)
    assert item["attended_seconds"] == 0
    assert item["waiting_seconds"] == seconds(15)
    assert item["completion"] == "pending"  # the report has not been read


def test_a_leave_from_the_waiting_room_alone_adds_nothing(client, app, lms):
    """Without the waiting-room events subscribed: participant_left says why, and closes nobody's presence."""
    training_id, ada = ada_training(lms)
    deliver_all(
        client,
        joined("09:00", session="laptop"),  # another device, in the meeting
        left("09:10", session="phone", leave_reason="Removed by host from waiting room."),
        left("09:30", session="laptop"),
    )
    run_jobs(app)
    assert lms.item(training_id, ada)["attended_seconds"] == seconds(30)


def test_put_back_in_the_waiting_room_stops_attending_until_admitted_again(client, app, lms):
    training_id, ada = ada_training(lms)
    deliver_all(
        client,
        joined("09:00"),
        event("meeting.participant_put_in_waiting_room", "09:10"),
        event("meeting.participant_admitted", "09:25"),
        left("09:40"),
    )
    run_jobs(app)
    item = lms.item(training_id, ada)
    assert item["attended_seconds"] == seconds(25)
    assert spans(item["intervals"]) == [(at("09:00"), at("09:10")), (at("09:25"), at("09:40"))]
    assert spans(item["waiting_intervals"]) == [(at("09:10"), at("09:25"))]


def test_waiting_room_events_in_any_order_and_twice_give_one_result(client, app, lms):
    training_id, ada = ada_training(lms)
    bodies = [
        event("meeting.participant_joined_waiting_room", "09:00"),
        event("meeting.participant_admitted", "09:02"),
        joined("09:02"),
        event("meeting.participant_put_in_waiting_room", "09:10"),
        event("meeting.participant_admitted", "09:12"),
        left("09:30"),
    ]
    deliver_all(client, *reversed(bodies))
    run_jobs(app)
    deliver_all(client, *bodies[::2])  # redelivered: duplicates
    run_jobs(app)
    item = lms.item(training_id, ada)
    assert item["attended_seconds"] == seconds(8 + 18)
    assert item["waiting_seconds"] == seconds(4)


# --- phone callers --------------------------------------------------------------------------------------------


def test_a_phone_caller_who_binds_is_the_attendee(client, app, lms):
    training_id, ada = ada_training(lms)
    deliver_all(
        client,
        joined("09:00"),
        left("09:20"),  # the laptop's audio failed
        joined("09:05", session="16801792", **PHONE),
        event("meeting.participant_bind", "09:05"),
        left("09:50", session="16801792", **PHONE),
    )
    run_jobs(app)
    item = lms.item(training_id, ada)
    assert item["attended_seconds"] == seconds(50)  # 09:00-09:20 with 09:05-09:50: a union, not a sum
    assert lms.attendance(training_id)["unmatched"] == []


def test_an_unbound_phone_caller_stays_a_guest(client, app, lms):
    training_id, ada = ada_training(lms)
    deliver_all(
        client,
        joined("09:00"),
        left("09:20"),
        joined("09:05", session="16801792", **PHONE),
        left("09:50", session="16801792", **PHONE),
    )
    run_jobs(app)
    assert lms.item(training_id, ada)["attended_seconds"] == seconds(20)
    [guest] = lms.attendance(training_id)["unmatched"]
    assert (guest["name"], guest["attended_seconds"]) == ("+1 555 0100", seconds(45))


def test_a_webinar_phone_caller_binds_by_registrant(client, app, lms):
    training_id = lms.training(zoom_meeting_id=WEBINAR_ID, meeting_type="webinar", start_time="2026-12-02T15:00:00Z")
    bo = lms.user("bo@example.org", "Bo Viewer")
    lms.register(training_id, bo)
    phone_join = copy.deepcopy(fixture("webinar.participant_joined"))
    phone_join["payload"]["object"]["participant"].update(
        user_id="33566720", user_name="+1 555 0199", email="", registrant_id="", participant_uuid="PU-phone-0002"
    )
    phone_join["payload"]["object"]["participant"]["join_time"] = "2026-12-02T15:05:00Z"
    phone_left = copy.deepcopy(fixture("webinar.participant_left"))
    phone_left["payload"]["object"]["participant"].update(
        user_id="33566720", user_name="+1 555 0199", email="", registrant_id="", participant_uuid="PU-phone-0002"
    )
    phone_left["payload"]["object"]["participant"]["leave_time"] = "2026-12-02T16:05:00Z"
    bo_left = copy.deepcopy(fixture("webinar.participant_left"))
    bo_left["payload"]["object"]["participant"]["leave_time"] = "2026-12-02T15:10:00Z"  # his laptop gave up
    deliver_all(
        client,
        fixture("webinar.participant_joined"),
        bo_left,
        phone_join,
        fixture("webinar.participant_bind"),
        phone_left,
    )
    run_jobs(app)
    # 15:01:40-15:10 on the laptop with 15:05-16:05 on the phone
    assert lms.item(training_id, bo)["attended_seconds"] == 3600 + 200
    assert lms.attendance(training_id)["unmatched"] == []


# --- practice sessions ------------------------------------------------------------------------------------------


def webinar_body(name: str, uuid: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(fixture(name))
    body["payload"]["object"]["uuid"] = uuid
    for key, value in changes.items():
        if key == "participant":
            body["payload"]["object"]["participant"].update(value)
        else:
            body["payload"]["object"][key] = value
    return body


PRACTICE = "Wb1nPractice/Rehearsal0=="
LIVE = "Wb1nAr+uuid/Zz9=="


def practice_session() -> list[dict[str, Any]]:
    panelist = {"user_id": "40000001", "user_name": "Pat Panelist", "email": "pat@example.org", "registrant_id": ""}
    return [
        webinar_body("webinar.started", PRACTICE, start_time="2026-12-02T14:00:00Z"),
        webinar_body(
            "webinar.participant_joined", PRACTICE, participant={**panelist, "join_time": "2026-12-02T14:00:30Z"}
        ),
        webinar_body(
            "webinar.participant_left", PRACTICE, participant={**panelist, "leave_time": "2026-12-02T14:29:00Z"}
        ),
        fixture("webinar.ended.practice"),
    ]


def test_a_practice_session_is_not_the_webinar(client, app, lms):
    training_id = lms.training(zoom_meeting_id=WEBINAR_ID, meeting_type="webinar", start_time="2026-12-02T15:00:00Z")
    bo = lms.user("bo@example.org", "Bo Viewer")
    lms.register(training_id, bo)

    deliver_all(client, *practice_session())
    run_jobs(app)
    shown = lms.get(training_id)
    assert shown["status"] == "not_started"  # the rehearsal's start is undone by its end
    assert shown["zoom"]["report"] is None  # no report is read for a rehearsal
    attendance = lms.attendance(training_id)
    assert attendance["unmatched"] == []  # the panelist is not a guest of the training
    assert [(i["user_id"], i["attended_seconds"], i["completion"]) for i in attendance["items"]] == [(bo, 0, "pending")]

    deliver_all(
        client,
        fixture("webinar.started"),
        fixture("webinar.participant_joined"),
        fixture("webinar.participant_left"),
        fixture("webinar.ended"),
    )
    run_jobs(app)
    shown = lms.get(training_id)
    assert shown["status"] == "completed"
    assert shown["zoom"]["report"]["status"] == "pending"
    assert lms.item(training_id, bo)["attended_seconds"] > 0


def test_a_practice_session_ending_after_the_live_start_leaves_it_started(client, app, lms):
    training_id = lms.training(zoom_meeting_id=WEBINAR_ID, meeting_type="webinar", start_time="2026-12-02T15:00:00Z")
    practice = practice_session()
    deliver_all(client, fixture("webinar.started"), *practice)  # the live webinar is under way
    run_jobs(app)
    assert lms.get(training_id)["status"] == "started"


def test_the_practice_flag_is_kept_on_its_run(client, app, lms, session_factory):
    lms.training(zoom_meeting_id=WEBINAR_ID, meeting_type="webinar", start_time="2026-12-02T15:00:00Z")
    deliver_all(client, *practice_session(), fixture("webinar.started"))
    run_jobs(app)
    with session_factory() as session:
        runs = dict(session.execute(select(MeetingInstance.uuid, MeetingInstance.practice)).all())
    assert runs == {PRACTICE: True, LIVE: False}


# --- runs on other days -----------------------------------------------------------------------------------------

WEEK_LATER = "Wk7later/Run0000000000=="


def on(day: str, body: dict[str, Any], uuid: str | None = None) -> dict[str, Any]:
    """The same event on another day (every time in it moved), in another run when `uuid` is given."""
    moved = json.loads(json.dumps(body).replace(DAY, day))
    moved["event_ts"] = epoch_ms(moved["payload"]["object"].get("end_time") or at("09:00").replace(DAY, day)) + 500
    if uuid is not None:
        moved["payload"]["object"]["uuid"] = uuid
    return moved


def started(start_clock: str = "09:00:04") -> dict[str, Any]:
    body = copy.deepcopy(fixture("meeting.started"))
    body["payload"]["object"]["start_time"] = at(start_clock)
    body["event_ts"] = epoch_ms(at(start_clock)) + 500
    return body


def held_on_the_day() -> list[dict[str, Any]]:
    return [started(), joined("09:01"), left("09:41"), ended("10:01", "09:00:04")]


def test_a_run_a_week_later_is_recorded_but_changes_nothing(client, app, lms, session_factory):
    from tests.integration.test_admin import _login

    training_id, ada = ada_training(lms)
    deliver_all(client, *held_on_the_day())
    run_jobs(app)
    before = lms.get(training_id)
    assert before["status"] == "completed"
    assert lms.item(training_id, ada)["attended_seconds"] == 40 * 60

    # A learner opens the link a week later: Zoom starts a new instance of the meeting.
    later = "2026-12-08"
    deliver_all(client, *(on(later, body, WEEK_LATER) for body in held_on_the_day()))
    run_jobs(app)
    after = lms.get(training_id)
    assert (after["status"], after["actual_start"], after["actual_end"]) == (
        "completed",
        before["actual_start"],
        before["actual_end"],
    )
    assert after["zoom"]["uuid"] == before["zoom"]["uuid"]
    assert after["zoom"]["report"] == before["zoom"]["report"]  # no new report to wait for
    assert lms.item(training_id, ada)["attended_seconds"] == 40 * 60
    with session_factory() as session:
        assert set(session.scalars(select(MeetingInstance.uuid))) == {RUN_UUID, WEEK_LATER}  # recorded
    assert _login(client).status_code == 302
    page = client.get(f"/admin/trainings/{training_id}").get_data(as_text=True)
    assert "held again on 2026-12-08: not the training, not counted" in page
    assert page.count(">the training<") == 1


def test_a_run_before_the_day_is_not_the_training_either(client, app, lms):
    training_id, ada = ada_training(lms)
    deliver_all(client, *(on("2026-11-28", body) for body in held_on_the_day()))
    run_jobs(app)
    shown = lms.get(training_id)
    assert (shown["status"], shown["actual_start"], shown["zoom"]["report"]) == ("not_started", None, None)
    assert lms.item(training_id, ada)["attended_seconds"] == 0


def test_a_host_opening_the_room_early_is_the_training(client, app, lms):
    training_id, ada = ada_training(lms)
    deliver_all(client, started("08:15"), joined("08:20"), left("09:41"), ended("10:01", "08:15"))
    run_jobs(app)
    assert lms.get(training_id)["status"] == "completed"
    assert lms.item(training_id, ada)["attended_seconds"] == 81 * 60


def test_moving_the_training_to_another_day_makes_that_days_run_the_training(client, app, lms):
    training_id, ada = ada_training(lms)
    later = "2026-12-08"
    deliver_all(client, *(on(later, body, WEEK_LATER) for body in held_on_the_day()))
    run_jobs(app)
    assert lms.get(training_id)["status"] == "not_started"
    assert lms.item(training_id, ada)["attended_seconds"] == 0

    answer = lms.client.patch(
        f"/api/v1/trainings/{training_id}", json={"start_time": f"{later}T09:00:00Z"}, headers=lms.headers
    )
    assert answer.status_code == 200, answer.json
    run_jobs(app)  # the recompute the edit queued
    shown = lms.get(training_id)
    assert shown["status"] == "completed"
    assert shown["zoom"]["uuid"] == WEEK_LATER
    assert shown["zoom"]["report"]["status"] == "pending"  # now there is a report to read
    assert lms.item(training_id, ada)["attended_seconds"] == 40 * 60

    # and back: the run of the 8th is not the training any more
    answer = lms.client.patch(
        f"/api/v1/trainings/{training_id}", json={"start_time": f"{DAY}T09:00:00Z"}, headers=lms.headers
    )
    assert answer.status_code == 200, answer.json
    run_jobs(app)
    shown = lms.get(training_id)
    assert (shown["status"], shown["zoom"]["report"]) == ("not_started", None)
    assert lms.item(training_id, ada)["attended_seconds"] == 0


def test_a_meeting_deleted_before_its_run_was_applied_was_still_held(client, app, lms):
    first = lms.training()
    deliver_all(client, fixture("meeting.deleted"), *held_on_the_day())
    run_jobs(app)
    assert lms.get(first)["status"] == "completed"  # it was held: it happened


# --- what is stored -------------------------------------------------------------------------------------------


ROOM_AND_WAITING_EVENTS = [
    ("meeting.participant_joined_waiting_room", "wr_join", ""),
    ("meeting.participant_admitted", "admit", ""),
    ("meeting.participant_put_in_waiting_room", "wr_put", ""),
    ("meeting.participant_left_waiting_room", "wr_leave", ""),
    ("meeting.participant_joined_breakout_room", "join", "BR-room-one-0001=="),
    ("meeting.participant_left_breakout_room", "leave", "BR-room-one-0001=="),
    ("meeting.participant_bind", "bind", ""),
]


@pytest.mark.parametrize("name, kind, room", ROOM_AND_WAITING_EVENTS)
def test_each_event_is_handled_and_stored_once(client, app, lms, session_factory, name, kind, room):
    lms.training()
    deliver_all(client, fixture(name), fixture(name))
    run_jobs(app)
    with session_factory() as session:
        statuses = sorted(session.scalars(select(InboxEvent.status)))
        facts = list(session.scalars(select(ParticipantEvent)))
    assert statuses == ["duplicate", "processed"] or statuses == ["processed"]
    [fact] = facts
    assert (fact.kind, fact.room_uuid) == (kind, room)
    if name.endswith("breakout_room"):
        assert fact.link_session_id == ADA_MAIN  # parent_user_id
    if name.endswith("bind"):
        assert (fact.link_session_id, fact.link_participant_uuid) == (ADA_MAIN, "PU-ada-0001")


IGNORED_FAMILIES = [
    "meeting.participant_role_changed",
    "webinar.participant_role_changed",
    "meeting.participant_jbh_joined",
    "meeting.participant_jbh_waiting",
    "meeting.sharing_started",
    "meeting.sharing_ended",
    "recording.completed",
    "recording.started",
]


@pytest.mark.parametrize("name", IGNORED_FAMILIES)
def test_events_we_do_not_act_on_are_kept_as_ignored(client, app, lms, session_factory, name):
    lms.training()
    body = copy.deepcopy(fixture("meeting.participant_joined"))
    body["event"] = name
    deliver_all(client, body)
    run_jobs(app)
    with session_factory() as session:
        [row] = session.execute(select(InboxEvent.event_type, InboxEvent.status)).all()
        facts = list(session.scalars(select(ParticipantEvent)))
    assert tuple(row) == (name, "ignored")
    assert facts == []


# --- the admin's time line ----------------------------------------------------------------------------------


@pytest.fixture
def settings(settings):
    from dataclasses import replace

    from tests.integration.test_admin import PASSWORD, USERNAME

    return replace(settings, admin_username=USERNAME, admin_password=PASSWORD, admin_cookie_secure=False)


def test_the_admin_time_line_draws_waiting_and_room_stints_in_their_own_colours(client, app, lms):
    from tests.integration.test_admin import _login

    training_id, _ = ada_training(lms)
    deliver_all(
        client,
        event("meeting.participant_joined_waiting_room", "09:00"),
        event("meeting.participant_admitted", "09:02"),
        joined("09:02"),
        event("meeting.participant_joined_breakout_room", "09:20"),
        event("meeting.participant_left_breakout_room", "09:40"),
        left("10:00"),
        ended("10:00", "09:00"),
    )
    run_jobs(app)
    assert _login(client).status_code == 302
    page = client.get(f"/admin/trainings/{training_id}").get_data(as_text=True)
    assert page.count('class="presence"') == 1
    assert page.count('class="room"') == 1
    assert page.count('class="waiting"') == 1
    assert "in the waiting room 09:00:00 – 09:02:00" in page
    assert "in a breakout room 09:20:00 – 09:40:00" in page
    assert "2 min 0 s" in page  # waited
    assert "58 min 0 s" in page  # attended
