"""zoomsim/world.py without HTTP: a meeting's end, reports, attendance, pages, OAuth and registrants."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.simulator.unit.support import T0, Clock, make_world, operator_of, owner
from zoomsim.errors import ZoomError
from zoomsim.times import epoch_ms, zoom_time
from zoomsim.world import PAGE_TOKEN_TTL, App, OAuthError, SimUsageError

BODY = {"topic": "Algebra", "type": 2, "start_time": "2024-05-01T10:00:00Z", "duration": 60, "timezone": "UTC"}
REDIRECT = "https://lms.example/zoom/callback"


def minutes(n: float):
    return T0 + timedelta(minutes=n)


@pytest.fixture
def meeting(world, host):
    made = world.create_meeting("meeting", host, dict(BODY), operator_of(host))
    world.take_outbox()
    return made


@pytest.fixture
def open_meeting(world, host):
    made = world.create_meeting("meeting", host, {**BODY, "settings": {"approval_type": 0}}, operator_of(host))
    world.take_outbox()
    return made


def left_events(outbox):
    return [b for b in outbox if b["event"] == "meeting.participant_left"]


# --- end -----------------------------------------------------------------------------------


def test_end_closes_open_sessions_with_the_host_ended_reason(world, meeting):
    world.start(meeting)
    ann = world.join(meeting, "Ann", "ann@school.example", at=minutes(1))
    bob = world.join(meeting, "Bob", "bob@school.example", at=minutes(2))
    world.leave(meeting, bob.user_id, at=minutes(10))
    world.take_outbox()
    world.end(meeting, at=minutes(60))
    outbox = world.take_outbox()
    assert [b["event"] for b in outbox] == ["meeting.participant_left", "meeting.ended"]
    person = outbox[0]["payload"]["object"]["participant"]
    assert person["user_id"] == ann.user_id
    assert person["leave_time"] == "2024-05-01T10:00:00Z"
    assert "Host ended the meeting" in person["leave_reason"]
    assert ann.leave_time == minutes(60)
    assert bob.leave_time == minutes(10)  # already gone: left alone


def test_end_gives_the_meeting_a_new_uuid_for_the_next_instance(world, meeting):
    first = world.start(meeting)
    world.end(meeting, at=minutes(30))
    assert first.uuid != meeting.uuid
    assert meeting.live is None
    second = world.start(meeting, at=minutes(60))
    assert second.uuid == meeting.uuid != first.uuid
    assert meeting.instances == [first, second]
    started = [b for b in world.take_outbox() if b["event"] == "meeting.started"]
    assert [b["payload"]["object"]["uuid"] for b in started] == [first.uuid, second.uuid]


def test_start_with_a_given_uuid(world, meeting):
    instance = world.start(meeting, uuid="/ab//cd+ef==")
    assert instance.uuid == meeting.uuid == "/ab//cd+ef=="


def test_new_uuids_are_base64_of_16_bytes(world):
    import base64

    for _ in range(50):
        assert len(base64.b64decode(world.new_uuid(), validate=True)) == 16


def test_misuse_of_a_meeting_life_raises_sim_usage_error(world, meeting):
    with pytest.raises(SimUsageError):
        world.join(meeting, "Ann")  # not started
    with pytest.raises(SimUsageError):
        world.end(meeting)
    world.start(meeting, at=minutes(10))
    with pytest.raises(SimUsageError) as caught:
        world.start(meeting)
    assert caught.value.status == 409
    with pytest.raises(SimUsageError):
        world.join(meeting, "Ann", at=minutes(5))  # before the start
    session = world.join(meeting, "Ann", at=minutes(20))
    with pytest.raises(SimUsageError):
        world.leave(meeting, session.user_id, at=minutes(15))  # before joining
    with pytest.raises(SimUsageError) as caught:
        world.leave(meeting, "no-such-session")
    assert caught.value.status == 404
    with pytest.raises(SimUsageError):
        world.end(meeting, at=minutes(5))  # before the start
    world.leave(meeting, session.user_id, at=minutes(25))
    with pytest.raises(SimUsageError):
        world.leave(meeting, session.user_id, at=minutes(26))  # left already


# --- lost leaves and the reports ----------------------------------------------------------------


def test_lost_leave_sends_no_event_but_the_report_knows(world, meeting):
    instance = world.start(meeting)
    ann = world.join(meeting, "Ann", "ann@school.example", at=minutes(1))
    world.take_outbox()
    session = world.leave(meeting, ann.user_id, at=minutes(21), lose_event=True)
    assert session.leave_lost
    assert world.take_outbox() == []
    world.end(meeting, at=minutes(60))
    assert [b["event"] for b in world.take_outbox()] == ["meeting.ended"]  # not closed again at the end
    rows = world.participant_rows(instance, report=True, include_registrant=True)
    assert len(rows) == 1
    assert rows[0]["join_time"] == "2024-05-01T09:01:00Z"
    assert rows[0]["leave_time"] == "2024-05-01T09:21:00Z"
    assert rows[0]["duration"] == 20 * 60


def test_participant_rows_one_per_session(world, meeting, host):
    instance = world.start(meeting)
    a1 = world.join(meeting, "Ann", "ann@school.example", at=minutes(0))
    world.leave(meeting, a1.user_id, at=minutes(10))
    world.join(meeting, "Ann", "ann@school.example", at=minutes(15))
    world.join(meeting, host.display_name, host.email, at=minutes(0))
    world.end(meeting, at=minutes(30))
    rows = world.participant_rows(instance, report=True, include_registrant=False)
    assert [(r["name"], r["join_time"], r["leave_time"], r["duration"]) for r in rows] == [
        ("Ann", "2024-05-01T09:00:00Z", "2024-05-01T09:10:00Z", 600),
        ("Ann", "2024-05-01T09:15:00Z", "2024-05-01T09:30:00Z", 900),
        ("Harper Host", "2024-05-01T09:00:00Z", "2024-05-01T09:30:00Z", 1800),
    ]
    assert rows[2]["participant_user_id"] == host.id
    assert all("registrant_id" not in r for r in rows)


def test_report_includes_registrant_id_only_when_asked(world, open_meeting):
    registrant, _ = world.register(open_meeting, {"email": "reg@school.example", "first_name": "Reg"})
    instance = world.start(open_meeting)
    world.join(open_meeting, "Reg", "reg@school.example")
    world.join(open_meeting, "Walk In", "walk@school.example")
    world.end(open_meeting, at=minutes(5))
    with_ids = world.participant_rows(instance, report=True, include_registrant=True)
    assert [r["registrant_id"] for r in with_ids] == [registrant.id, ""]
    past = world.participant_rows(instance, report=False, include_registrant=False)
    assert [r["registrant_id"] for r in past] == [registrant.id, ""]
    assert [r["internal_user"] for r in past] == [False, False]


def test_report_durations_read_zero_until_settled():
    clock = Clock()
    world = make_world(clock, report_delay=60, report_settle=120)
    host = owner(world)
    meeting = world.create_meeting("meeting", host, dict(BODY), operator_of(host))
    instance = world.start(meeting)
    world.join(meeting, "Ann", "ann@school.example")
    clock.advance(600)
    world.end(meeting)
    assert not world.report_ready(instance)
    clock.advance(60)
    assert world.report_ready(instance)
    assert world.participant_rows(instance, report=True, include_registrant=False)[0]["duration"] == 0
    clock.advance(119)
    assert world.participant_rows(instance, report=True, include_registrant=False)[0]["duration"] == 0
    clock.advance(1)
    assert world.participant_rows(instance, report=True, include_registrant=False)[0]["duration"] == 600


def test_past_instance_by_number_is_the_latest_ended_one(world, meeting, host):
    first = world.start(meeting)
    world.end(meeting, at=minutes(10))
    second = world.start(meeting, at=minutes(20))
    world.end(meeting, at=minutes(30))
    assert world.past_instance("meeting", str(meeting.id), host.account_id) is second
    assert world.past_instance("meeting", first.uuid, host.account_id) is first
    with pytest.raises(ZoomError) as caught:
        world.past_instance("meeting", "no-such-uuid", host.account_id)
    assert (caught.value.status, caught.value.code) == (404, 3001)


# --- attendance --------------------------------------------------------------------------------


def test_attendance_counts_two_devices_once(world, meeting):
    instance = world.start(meeting)
    laptop = world.join(meeting, "Ann", "ann@school.example", at=minutes(0))
    phone = world.join(meeting, "Ann's phone", "ann@school.example", at=minutes(10))
    world.leave(meeting, laptop.user_id, at=minutes(30))
    world.leave(meeting, phone.user_id, at=minutes(40))
    world.end(meeting, at=minutes(60))
    assert world.attendance(instance) == {"ann@school.example": 40 * 60}


def test_attendance_device_inside_another_counts_nothing_more(world, meeting):
    instance = world.start(meeting)
    laptop = world.join(meeting, "Ann", "ann@school.example", at=minutes(0))
    phone = world.join(meeting, "Ann", "ann@school.example", at=minutes(5))
    world.leave(meeting, phone.user_id, at=minutes(10))
    world.leave(meeting, laptop.user_id, at=minutes(30))
    world.end(meeting, at=minutes(60))
    assert world.attendance(instance) == {"ann@school.example": 30 * 60}


def test_attendance_adds_rejoins(world, meeting):
    instance = world.start(meeting)
    first = world.join(meeting, "Bob", "bob@school.example", at=minutes(0))
    world.leave(meeting, first.user_id, at=minutes(10))
    second = world.join(meeting, "Bob", "bob@school.example", at=minutes(20))
    world.leave(meeting, second.user_id, at=minutes(30))
    third = world.join(meeting, "Bob", "bob@school.example", at=minutes(30))  # straight back
    world.leave(meeting, third.user_id, at=minutes(35))
    world.end(meeting, at=minutes(60))
    assert world.attendance(instance) == {"bob@school.example": 25 * 60}


def test_attendance_is_per_person_and_case_insensitive_by_email(world, meeting):
    instance = world.start(meeting)
    world.join(meeting, "Ann", "Ann@School.example", at=minutes(0))
    world.join(meeting, "Ann", "ann@school.example", at=minutes(30))
    world.join(meeting, "Bob", "bob@school.example", at=minutes(45))
    world.end(meeting, at=minutes(60))
    assert world.attendance(instance) == {"ann@school.example": 3600, "bob@school.example": 900}


def test_attendance_of_guests_is_keyed_by_name_and_participant_uuid(world, meeting):
    instance = world.start(meeting)
    guest = world.join(meeting, "Guest", at=minutes(0))
    world.leave(meeting, guest.user_id, at=minutes(5))
    world.join(meeting, "Guest", at=minutes(10))
    world.end(meeting, at=minutes(20))
    assert world.attendance(instance) == {f"Guest ({guest.participant_uuid})": 15 * 60}


def test_attendance_counts_open_sessions_to_the_end(world, meeting):
    instance = world.start(meeting)
    world.join(meeting, "Ann", "ann@school.example", at=minutes(50))
    world.end(meeting, at=minutes(60))
    assert world.attendance(instance) == {"ann@school.example": 600}


def test_attendance_counts_a_lost_leave_at_its_real_time(world, meeting):
    instance = world.start(meeting)
    ann = world.join(meeting, "Ann", "ann@school.example", at=minutes(0))
    world.leave(meeting, ann.user_id, at=minutes(12), lose_event=True)
    world.end(meeting, at=minutes(60))
    assert world.attendance(instance) == {"ann@school.example": 720}


# --- pages -------------------------------------------------------------------------------------


def test_page_walks_to_the_end(world):
    items = list(range(7))
    first, token = world.page("list-a", items, 3, None)
    assert first == [0, 1, 2]
    assert token
    second, token = world.page("list-a", items, 3, token)
    assert second == [3, 4, 5]
    assert token
    third, token = world.page("list-a", items, 3, token)
    assert third == [6]
    assert token == ""


def test_page_that_ends_exactly_has_no_next_token(world):
    first, token = world.page("list-a", list(range(6)), 3, None)
    last, token = world.page("list-a", list(range(6)), 3, token)
    assert (first, last, token) == ([0, 1, 2], [3, 4, 5], "")


def test_single_and_empty_pages(world):
    assert world.page("list-a", [1, 2], 300, None) == ([1, 2], "")
    assert world.page("list-a", [], 30, None) == ([], "")


def test_page_tokens_are_distinct(world):
    items = list(range(10))
    _, first = world.page("list-a", items, 2, None)
    _, second = world.page("list-a", items, 2, first)
    assert first != second


def invalid_token(world, key, items, token):
    with pytest.raises(ZoomError) as caught:
        world.page(key, items, 3, token)
    assert (caught.value.status, caught.value.code) == (400, 300)
    assert caught.value.message == "The next page token is invalid or expired."


def test_page_token_answers_the_same_page_again_until_it_expires(world, clock):
    # Zoom documents only the 15-minute expiry: a client asking again after a lost answer gets the page.
    items = list(range(10))
    _, token = world.page("list-a", items, 3, None)
    first, _ = world.page("list-a", items, 3, token)
    again, _ = world.page("list-a", items, 3, token)
    assert first == again == [3, 4, 5]
    clock.advance(15 * 60 + 1)
    invalid_token(world, "list-a", items, token)


def test_page_token_of_another_listing_is_refused(world):
    items = list(range(10))
    _, token = world.page("list-a", items, 3, None)
    invalid_token(world, "list-b", items, token)


def test_unknown_page_token_is_refused(world):
    invalid_token(world, "list-a", list(range(10)), "made-up")


def test_page_token_older_than_15_minutes_is_refused(world, clock):
    items = list(range(10))
    _, token = world.page("list-a", items, 3, None)
    clock.advance(PAGE_TOKEN_TTL + 1)
    invalid_token(world, "list-a", items, token)


def test_page_token_within_15_minutes_works(world, clock):
    items = list(range(10))
    _, token = world.page("list-a", items, 3, None)
    clock.advance(PAGE_TOKEN_TTL - 1)
    assert world.page("list-a", items, 3, token)[0] == [3, 4, 5]


def test_page_token_ttl_is_15_minutes():
    assert PAGE_TOKEN_TTL == 15 * 60


# --- OAuth: authorization code, refresh, expiry, revoke, deauthorize ---------------------------------


@pytest.fixture
def app(world):
    return world.apps[world.config.client_id]


@pytest.fixture
def s2s(world):
    return world.apps[world.config.s2s_client_id]


def authorize(world, app, user, redirect=REDIRECT):
    code = world.issue_code(app, user.id, redirect)
    return world.token_from_code(app, code, redirect)


def test_code_gives_tokens(world, app, host):
    answer = authorize(world, app, host)
    assert answer["token_type"] == "bearer"
    assert answer["expires_in"] == 3600
    assert answer["refresh_token"]
    assert set(answer["scope"].split()) == set(app.scopes)
    grant = world.authenticate("Bearer " + answer["access_token"])
    assert (grant.user_id, grant.account_id, grant.client_id) == (host.id, host.account_id, app.client_id)


def test_tokens_are_long_like_zoom_tokens(world, app, host):
    answer = authorize(world, app, host)
    assert len(answer["access_token"]) > 300
    assert answer["access_token"].count(".") == 2


def test_code_is_single_use(world, app, host):
    code = world.issue_code(app, host.id, REDIRECT)
    world.token_from_code(app, code, REDIRECT)
    with pytest.raises(OAuthError) as caught:
        world.token_from_code(app, code, REDIRECT)
    assert caught.value.status == 400
    assert caught.value.error == "invalid_request"


def test_code_is_bound_to_its_redirect_uri(world, app, host):
    code = world.issue_code(app, host.id, REDIRECT)
    with pytest.raises(OAuthError) as caught:
        world.token_from_code(app, code, "https://evil.example/callback")
    assert caught.value.status == 400
    assert "Redirect URI mismatch" in caught.value.reason


def test_code_is_bound_to_its_app(world, app, host):
    other = App("other-client", "other-secret", "user", app.scopes)
    world.apps[other.client_id] = other
    code = world.issue_code(app, host.id, REDIRECT)
    with pytest.raises(OAuthError):
        world.token_from_code(other, code, REDIRECT)


def test_code_expires(world, app, host, clock):
    code = world.issue_code(app, host.id, REDIRECT)
    clock.advance(world.config.code_ttl + 1)
    with pytest.raises(OAuthError):
        world.token_from_code(app, code, REDIRECT)


def test_unknown_code_is_refused(world, app):
    with pytest.raises(OAuthError):
        world.token_from_code(app, "not-a-code", REDIRECT)


def test_refresh_tokens_rotate(world, app, host):
    first = authorize(world, app, host)
    second = world.token_from_refresh(app, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    with pytest.raises(OAuthError) as caught:
        world.token_from_refresh(app, first["refresh_token"])
    assert caught.value.status == 400
    third = world.token_from_refresh(app, second["refresh_token"])
    assert world.authenticate("Bearer " + third["access_token"]).user_id == host.id


def test_refresh_token_of_another_app_is_refused(world, app, host):
    other = App("other-client", "other-secret", "user", app.scopes)
    world.apps[other.client_id] = other
    answer = authorize(world, app, host)
    with pytest.raises(OAuthError):
        world.token_from_refresh(other, answer["refresh_token"])


def test_authorizing_again_reuses_the_installation_and_rotates_its_refresh_token(world, app, host):
    first = authorize(world, app, host)
    second = authorize(world, app, host)
    with pytest.raises(OAuthError):
        world.token_from_refresh(app, first["refresh_token"])
    world.token_from_refresh(app, second["refresh_token"])


def test_expire_tokens_makes_authenticate_answer_401_code_124(world, app, host):
    answer = authorize(world, app, host)
    assert world.expire_tokens() == 1
    with pytest.raises(ZoomError) as caught:
        world.authenticate("Bearer " + answer["access_token"])
    assert (caught.value.status, caught.value.code) == (401, 124)
    assert "expired" in caught.value.message


def test_refresh_still_works_after_expire_tokens(world, app, host):
    answer = authorize(world, app, host)
    world.expire_tokens()
    fresh = world.token_from_refresh(app, answer["refresh_token"])
    assert world.authenticate("Bearer " + fresh["access_token"]).user_id == host.id


def test_access_token_expires_after_its_ttl(world, app, host, clock):
    answer = authorize(world, app, host)
    clock.advance(3599)
    world.authenticate("Bearer " + answer["access_token"])
    clock.advance(1)
    with pytest.raises(ZoomError) as caught:
        world.authenticate("Bearer " + answer["access_token"])
    assert (caught.value.status, caught.value.code) == (401, 124)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer not-a-token", "Token abc"])
def test_authenticate_refuses_missing_or_unknown_tokens(world, header):
    with pytest.raises(ZoomError) as caught:
        world.authenticate(header)
    assert (caught.value.status, caught.value.code) == (401, 124)


def test_authenticate_accepts_any_case_of_bearer(world, app, host):
    answer = authorize(world, app, host)
    assert world.authenticate("bearer " + answer["access_token"]).user_id == host.id


def test_revoke_kills_every_token_of_that_installation(world, app, s2s, host):
    first = authorize(world, app, host)
    second = world.token_from_refresh(app, first["refresh_token"])
    machine = world.token_for_account(s2s, host.account_id)
    world.revoke(app, second["access_token"])
    for token in (first["access_token"], second["access_token"]):
        with pytest.raises(ZoomError) as caught:
            world.authenticate("Bearer " + token)
        assert (caught.value.status, caught.value.code) == (401, 124)
    with pytest.raises(OAuthError):
        world.token_from_refresh(app, second["refresh_token"])
    world.authenticate("Bearer " + machine["access_token"])  # another app: untouched


def test_revoke_by_refresh_token(world, app, host):
    answer = authorize(world, app, host)
    world.revoke(app, answer["refresh_token"])
    with pytest.raises(ZoomError):
        world.authenticate("Bearer " + answer["access_token"])
    with pytest.raises(OAuthError):
        world.token_from_refresh(app, answer["refresh_token"])


def test_revoke_leaves_other_users_installations_alone(world, app, host):
    other_user = world.add_user(host.account_id, "teacher@school.example")
    mine = authorize(world, app, host)
    theirs = authorize(world, app, other_user)
    world.revoke(app, mine["access_token"])
    assert world.authenticate("Bearer " + theirs["access_token"]).user_id == other_user.id
    world.token_from_refresh(app, theirs["refresh_token"])


def test_revoke_with_another_apps_token_is_refused(world, app, s2s, host):
    answer = authorize(world, app, host)
    with pytest.raises(OAuthError):
        world.revoke(s2s, answer["access_token"])
    with pytest.raises(OAuthError):
        world.revoke(s2s, answer["refresh_token"])
    world.authenticate("Bearer " + answer["access_token"])


def test_revoke_unknown_token_is_refused(world, app):
    with pytest.raises(OAuthError):
        world.revoke(app, "nothing-like-it")


def test_reauthorizing_after_revoke_starts_a_new_installation(world, app, host):
    first = authorize(world, app, host)
    world.revoke(app, first["access_token"])
    second = authorize(world, app, host)
    world.authenticate("Bearer " + second["access_token"])
    world.token_from_refresh(app, second["refresh_token"])


def test_server_to_server_tokens(world, s2s, host):
    first = world.token_for_account(s2s, host.account_id)
    second = world.token_for_account(s2s, host.account_id)
    assert "refresh_token" not in first
    assert first["expires_in"] == 3600
    assert world.authenticate("Bearer " + first["access_token"]).user_id == host.id  # acts as the owner
    world.authenticate("Bearer " + second["access_token"])  # several valid at once
    with pytest.raises(OAuthError):
        world.token_for_account(s2s, "another-account")


def test_account_credentials_need_a_server_to_server_app(world, app, host):
    with pytest.raises(OAuthError) as caught:
        world.token_for_account(app, host.account_id)
    assert caught.value.error == "unsupported_grant_type"


def test_deauthorize_kills_tokens_and_emits_app_deauthorized(world, app, host, clock):
    answer = authorize(world, app, host)
    world.take_outbox()
    clock.advance(30)
    world.deauthorize(app.client_id, host.id)
    body = world.take_outbox()
    assert len(body) == 1
    event = body[0]
    assert event["event"] == "app_deauthorized"
    payload = event["payload"]
    assert payload["account_id"] == host.account_id
    assert payload["user_id"] == host.id
    assert payload["client_id"] == app.client_id
    assert payload["deauthorization_time"] == zoom_time(T0 + timedelta(seconds=30))
    assert payload["signature"]
    assert event["event_ts"] == epoch_ms(T0 + timedelta(seconds=30))
    with pytest.raises(ZoomError):
        world.authenticate("Bearer " + answer["access_token"])
    with pytest.raises(OAuthError):
        world.token_from_refresh(app, answer["refresh_token"])


def test_deauthorize_without_an_installation_is_misuse(world, app, host):
    with pytest.raises(SimUsageError) as caught:
        world.deauthorize(app.client_id, host.id)
    assert caught.value.status == 404
    authorize(world, app, host)
    world.deauthorize(app.client_id, host.id)
    with pytest.raises(SimUsageError):
        world.deauthorize(app.client_id, host.id)


# --- registrants ---------------------------------------------------------------------------------


def test_registration_not_enabled_is_refused_with_3000(world, meeting):
    assert meeting.settings["approval_type"] == 2
    with pytest.raises(ZoomError) as caught:
        world.register(meeting, {"email": "ann@school.example", "first_name": "Ann"})
    assert (caught.value.status, caught.value.code) == (400, 3000)
    assert str(meeting.id) in caught.value.message
    assert world.take_outbox() == []


def test_webinar_without_registration_is_refused_with_3000(world, host):
    webinar = world.create_meeting("webinar", host, {"topic": "Lecture", "type": 5}, operator_of(host))
    with pytest.raises(ZoomError) as caught:
        world.register(webinar, {"email": "ann@school.example", "first_name": "Ann"})
    assert caught.value.code == 3000
    assert "webinar" in caught.value.message


def test_same_email_again_returns_the_same_registrant(world, open_meeting):
    first, created = world.register(open_meeting, {"email": "ann@school.example", "first_name": "Ann"})
    assert created
    world.take_outbox()
    again, created_again = world.register(open_meeting, {"email": "ANN@School.Example", "first_name": "Annie"})
    assert again is first
    assert not created_again
    assert world.take_outbox() == []
    assert len(open_meeting.registrants) == 1


def test_registrant_fields(world, open_meeting):
    registrant, _ = world.register(
        open_meeting, {"email": "ann@school.example", "first_name": "Ann", "last_name": "Lee", "org": "School"}
    )
    assert registrant.status == "approved"
    assert registrant.join_url.endswith(f"/w/{open_meeting.id}?tk={registrant.token}")
    assert 100000 <= registrant.participant_pin_code <= 999999
    answer = world.registrant_answer(open_meeting, registrant)
    assert answer["registrant_id"] == registrant.id
    assert answer["join_url"] == registrant.join_url
    assert answer["id"] == open_meeting.id
    assert world.registrant_view(registrant)["org"] == "School"


def test_manual_approval_makes_registrants_pending(world, host):
    meeting = world.create_meeting("meeting", host, {**BODY, "settings": {"approval_type": 1}}, operator_of(host))
    pending, _ = world.register(meeting, {"email": "ann@school.example", "first_name": "Ann"})
    auto, _ = world.register(meeting, {"email": "bob@school.example", "first_name": "Bob", "auto_approve": True})
    assert (pending.status, auto.status) == ("pending", "approved")


@pytest.mark.parametrize("email", ["host@zoomsim.example", "HOST@ZoomSim.example"])
def test_host_cannot_register(world, open_meeting, email):
    with pytest.raises(ZoomError) as caught:
        world.register(open_meeting, {"email": email, "first_name": "Harper"})
    assert (caught.value.status, caught.value.code) == (400, 3027)


def test_alternative_host_cannot_register(world, host):
    settings = {"approval_type": 0, "alternative_hosts": "alt@school.example;other@school.example"}
    meeting = world.create_meeting("meeting", host, {**BODY, "settings": settings}, operator_of(host))
    with pytest.raises(ZoomError) as caught:
        world.register(meeting, {"email": "Other@school.example", "first_name": "Alt"})
    assert caught.value.code == 3027


def test_capacity_is_the_hosts_meeting_capacity(world, host):
    small = world.add_user(host.account_id, "small@school.example", meeting_capacity=2)
    meeting = world.create_meeting("meeting", small, {**BODY, "settings": {"approval_type": 0}}, operator_of(small))
    world.register(meeting, {"email": "a@school.example", "first_name": "A"})
    world.register(meeting, {"email": "b@school.example", "first_name": "B"})
    with pytest.raises(ZoomError) as caught:
        world.register(meeting, {"email": "c@school.example", "first_name": "C"})
    assert (caught.value.status, caught.value.code) == (400, 3043)
    again, created = world.register(meeting, {"email": "a@school.example", "first_name": "A"})
    assert not created  # someone already registered is answered, not refused
    assert again.email == "a@school.example"


def test_cancelled_registrants_free_their_place(world, host):
    small = world.add_user(host.account_id, "small@school.example", meeting_capacity=1)
    meeting = world.create_meeting("meeting", small, {**BODY, "settings": {"approval_type": 0}}, operator_of(small))
    first, _ = world.register(meeting, {"email": "a@school.example", "first_name": "A"})
    world.set_registrant_status(meeting, "cancel", [{"id": first.id}], operator_of(small))
    second, created = world.register(meeting, {"email": "b@school.example", "first_name": "B"})
    assert created
    assert second.status == "approved"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "Ann"}, "email"),
        ({"email": "not-an-email", "first_name": "Ann"}, "email"),
        ({"email": "ann@school.example"}, "first_name"),
        ({"email": "ann@school.example", "first_name": "   "}, "first_name"),
    ],
)
def test_registration_needs_email_and_first_name(world, open_meeting, body, field):
    with pytest.raises(ZoomError) as caught:
        world.register(open_meeting, body)
    assert (caught.value.status, caught.value.code) == (400, 300)
    assert caught.value.errors == [{"field": field, "message": "Invalid field."}]
