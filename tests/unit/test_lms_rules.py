"""The LMS products' pure rules: roles, the one-day limit (across clock changes), places, hosts, webinars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service import lms_rules
from service.lms_rules import CREATE_TRAININGS, VIEW_TRAININGS

BERLIN = ZoneInfo("Europe/Berlin")


# --- roles ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["account_owner", "account_admin", "department_admin", "publisher"])
def test_staff_roles_may_create_and_organize(role):
    permissions = lms_rules.BUILTIN_ROLES[role]
    assert lms_rules.may_create_trainings(permissions)
    assert lms_rules.may_organize(permissions)


def test_a_learner_may_neither_create_nor_organize():
    permissions = lms_rules.BUILTIN_ROLES["learner"]
    assert not lms_rules.may_create_trainings(permissions)
    assert not lms_rules.may_organize(permissions)


def test_new_users_are_learners():
    assert lms_rules.DEFAULT_ROLE == "learner"
    assert lms_rules.BUILTIN_ROLES[lms_rules.DEFAULT_ROLE] == frozenset()


def test_a_custom_role_that_creates_trainings_may_also_see_them():
    assert lms_rules.role_permissions([CREATE_TRAININGS]) == {CREATE_TRAININGS, VIEW_TRAININGS}


def test_a_custom_viewing_role_may_organize_but_not_create():
    permissions = lms_rules.role_permissions([VIEW_TRAININGS])
    assert lms_rules.may_organize(permissions)
    assert not lms_rules.may_create_trainings(permissions)


def test_a_custom_role_without_permissions_grants_nothing():
    assert lms_rules.role_permissions([]) == frozenset()


# --- one day --------------------------------------------------------------------------------------------------


def _local(year, month, day, hour, minute=0, zone=BERLIN) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def test_a_session_within_its_day_is_allowed():
    assert lms_rules.one_day_problem(_local(2026, 12, 1, 9), 60, "Europe/Berlin") is None


def test_a_session_may_end_exactly_at_midnight():
    assert lms_rules.one_day_problem(_local(2026, 12, 1, 23), 60, "Europe/Berlin") is None


def test_a_session_past_midnight_is_refused_and_the_message_says_when_it_must_end():
    problem = lms_rules.one_day_problem(_local(2026, 12, 1, 23), 61, "Europe/Berlin")
    assert problem is not None
    assert "2026-12-02 00:01" in problem and "must end by 2026-12-02 00:00" in problem


def test_a_whole_day_from_midnight_is_allowed_but_not_a_minute_more():
    assert lms_rules.one_day_problem(_local(2026, 12, 1, 0), 24 * 60, "Europe/Berlin") is None
    assert lms_rules.one_day_problem(_local(2026, 12, 1, 0), 24 * 60 + 1, "Europe/Berlin") is not None


def test_the_day_is_the_sessions_own_time_zone_not_utc():
    # 23:30 UTC on 1 December is 00:30 on 2 December in Berlin: a 60-minute session stays in Berlin's day.
    start = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert lms_rules.one_day_problem(start, 60, "Europe/Berlin") is None
    # In New York it is 18:30 on 1 December: 6 h fit, 5 h 31 min do not.
    assert lms_rules.one_day_problem(start, 5 * 60 + 30, "America/New_York") is None
    assert lms_rules.one_day_problem(start, 5 * 60 + 31, "America/New_York") is not None


def test_the_start_given_in_another_zone_is_converted_first():
    # 09:00 in Tokyo is 01:00 in Berlin (same day, December): 23 hours fit in Berlin.
    start = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert lms_rules.one_day_problem(start, 23 * 60, "Europe/Berlin") is None
    assert lms_rules.one_day_problem(start, 23 * 60 + 1, "Europe/Berlin") is not None


def test_the_spring_forward_day_has_23_hours():
    # Berlin, 29 March 2026: 02:00 becomes 03:00.
    start = _local(2026, 3, 29, 0)
    assert lms_rules.one_day_problem(start, 23 * 60, "Europe/Berlin") is None
    assert lms_rules.one_day_problem(start, 23 * 60 + 1, "Europe/Berlin") is not None


def test_the_fall_back_day_has_25_hours():
    # Berlin, 25 October 2026: 03:00 becomes 02:00 again.
    start = _local(2026, 10, 25, 0)
    assert lms_rules.one_day_problem(start, 25 * 60, "Europe/Berlin") is None
    assert lms_rules.one_day_problem(start, 25 * 60 + 1, "Europe/Berlin") is not None


def test_a_day_whose_midnight_is_skipped_ends_when_the_clock_jumps():
    # Cairo, 24 April 2026 (clocks go from 00:00 to 01:00): 23 April's day ends at the jump.
    zone = ZoneInfo("Africa/Cairo")
    jump = datetime(2026, 4, 23, 22, 0, tzinfo=UTC)
    assert jump.astimezone(zone).hour == 1 and jump.astimezone(zone).day == 24  # the jump, as Cairo sees it
    start = jump - timedelta(hours=2)
    assert lms_rules.one_day_problem(start, 120, "Africa/Cairo") is None
    assert lms_rules.one_day_problem(start, 121, "Africa/Cairo") is not None


def test_session_end_adds_the_duration():
    assert lms_rules.session_end(_local(2026, 12, 1, 9), 90) == _local(2026, 12, 1, 10, 30)


# --- places ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_participants", "capacity", "limit"),
    [(None, None, None), (25, None, 25), (None, 100, 100), (25, 100, 25), (300, 100, 100), (0, 100, 0)],
)
def test_registration_stops_at_the_smaller_limit(max_participants, capacity, limit):
    assert lms_rules.registration_limit(max_participants, capacity) == limit


@pytest.mark.parametrize(
    ("registered", "limit", "full"),
    [(0, None, False), (10**6, None, False), (9, 10, False), (10, 10, True), (11, 10, True), (0, 0, True)],
)
def test_full_means_no_place_left(registered, limit, full):
    assert lms_rules.is_full(registered, limit) is full


# --- hosts and webinars ---------------------------------------------------------------------------------------


def test_a_licensed_host_is_fine():
    assert lms_rules.paid_host_problem(lms_rules.LICENSED, "host@example.org") is None


@pytest.mark.parametrize("user_type", [1, None])
def test_a_basic_or_unknown_host_is_refused_by_name(user_type):
    problem = lms_rules.paid_host_problem(user_type, "free@example.org")
    assert problem is not None and "free@example.org" in problem and "paid" in problem


def test_a_meeting_needs_no_webinar_add_on():
    assert lms_rules.webinar_problem("meeting", webinar_enabled=False) is None


def test_a_webinar_needs_the_add_on():
    assert lms_rules.webinar_problem("webinar", webinar_enabled=True) is None
    assert "Webinar add-on" in lms_rules.webinar_problem("webinar", webinar_enabled=False)


# --- initiating and starting ----------------------------------------------------------------------------------

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("minutes", [-7 * 24 * 60, -1, 0, 15])
def test_an_event_can_be_initiated_until_15_minutes_after_its_start(minutes):
    assert lms_rules.initiate_problem(START + timedelta(minutes=minutes), START, registered=1) is None


def test_an_event_cannot_be_initiated_later_and_the_message_says_until_when():
    problem = lms_rules.initiate_problem(START + timedelta(minutes=15, seconds=1), START, registered=1)
    assert problem is not None and "15 minutes" in problem and "2026-12-01 09:15 UTC" in problem


def test_the_grace_is_counted_from_the_start_whatever_zone_it_is_given_in():
    berlin_start = START.astimezone(BERLIN)
    assert lms_rules.initiate_problem(START + timedelta(minutes=15), berlin_start, registered=1) is None
    assert lms_rules.initiate_problem(START + timedelta(minutes=16), berlin_start, registered=1) is not None


def test_an_event_without_registrants_can_be_neither_initiated_nor_started():
    assert "at least one registrant" in lms_rules.initiate_problem(START, START, registered=0)
    assert "started" in lms_rules.registrant_problem(0, "started")
    assert lms_rules.registrant_problem(1, "started") is None


# --- completion -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0, 1, 3600])
def test_completion_is_pending_until_the_figures_are_final(seconds):
    assert lms_rules.completion(seconds, 60, 50, final=False) == lms_rules.PENDING
    assert lms_rules.completion(seconds, 60, None, final=False) == lms_rules.PENDING


def test_without_a_minimum_any_attendance_completes():
    assert lms_rules.completion(1, 60, None, final=True) == lms_rules.COMPLETED
    assert lms_rules.completion(0, 60, None, final=True) == lms_rules.NOT_COMPLETED


@pytest.mark.parametrize(
    ("seconds", "percent", "expected"),
    [
        (1800, 50, "completed"),
        (1799, 50, "not_completed"),
        (3600, 100, "completed"),
        (3599, 100, "not_completed"),
        (36, 1, "completed"),
        (35, 1, "not_completed"),
        (7200, 100, "completed"),
        (0, 1, "not_completed"),
    ],
)
def test_a_minimum_is_a_share_of_the_scheduled_duration(seconds, percent, expected):
    assert lms_rules.completion(seconds, 60, percent, final=True) == expected


# --- which runs of the meeting are the training -----------------------------------------------------------

TRAINING_START = _local(2026, 12, 1, 9)  # 08:00 UTC


@pytest.mark.parametrize(
    "run_start, expected",
    [
        (_local(2026, 12, 1, 9, 2), True),  # on time
        (_local(2026, 12, 1, 0, 0), True),  # the day's first minute, locally
        (_local(2026, 12, 1, 23, 59), True),  # restarted late that evening
        (_local(2026, 12, 2, 0, 0), False),  # the next day, locally (still 1 December in UTC)
        (_local(2026, 12, 8, 9, 0), False),  # a learner opening the link a week later
        (_local(2026, 11, 30, 9, 0), False),  # the day before
        (_local(2026, 11, 30, 23, 30, zone=ZoneInfo("UTC")), True),  # 00:30 in Berlin: the day itself
    ],
)
def test_a_run_is_the_training_on_its_day_in_its_time_zone(run_start, expected):
    assert lms_rules.run_is_the_training(run_start, TRAINING_START, "Europe/Berlin") is expected


def test_a_host_may_open_the_room_up_to_an_hour_early_even_the_evening_before():
    start = _local(2026, 12, 1, 0, 30)
    assert lms_rules.run_is_the_training(start - timedelta(minutes=60), start, "Europe/Berlin")
    assert not lms_rules.run_is_the_training(start - timedelta(minutes=61), start, "Europe/Berlin")


def test_an_unknown_or_empty_time_zone_is_taken_as_utc():
    start = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    for zone in ("", "Mars/Olympus_Mons"):
        assert lms_rules.run_is_the_training(datetime(2026, 12, 1, 0, 10, tzinfo=UTC), start, zone)
        assert not lms_rules.run_is_the_training(datetime(2026, 12, 2, 0, 10, tzinfo=UTC), start, zone)


def test_the_day_of_a_clock_change_is_as_long_as_it_is():
    # Berlin leaves summer time on 25 October 2026: that day has 25 hours
    start = _local(2026, 10, 25, 9)
    assert lms_rules.run_is_the_training(datetime(2026, 10, 25, 22, 59, tzinfo=UTC), start, "Europe/Berlin")
    assert not lms_rules.run_is_the_training(datetime(2026, 10, 25, 23, 0, tzinfo=UTC), start, "Europe/Berlin")
