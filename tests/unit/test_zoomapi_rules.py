"""The pure rules of zoomapi: what a failed Zoom answer means, when to try again, uuids in paths, what we send.

No network and no mocks: each function is called with the values Zoom sends
(/work/shared/zoom/README.md) and its answer checked.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest

from zoomapi import payloads
from zoomapi.errors import (
    ZoomAPIError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomRejected,
    ZoomUnauthorized,
    ZoomUnavailable,
    classify,
)
from zoomapi.timing import RESET_SKEW_WAIT, backoff, daily_refusal, parse_retry_after
from zoomapi.uuids import path_uuid

NOW = datetime(2026, 12, 1, 15, 30, 12, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 2, tzinfo=UTC)
QPS_BODY = {
    "code": 4001,
    "message": "You have reached the maximum per-second rate limit for this API. Try again later.",
}
DAILY_MESSAGE = (
    "You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for this "
    "particular user. You may resume these requests at GMT 00:00:00."
)


# --- errors.classify: 429 -------------------------------------------------------------------


def test_per_second_429_waits_the_retry_after_seconds():
    headers = {
        "Retry-After": "3",
        "X-RateLimit-Category": "Light",
        "X-RateLimit-Type": "QPS",
        "X-RateLimit-Limit": "30",
        "X-RateLimit-Remaining": "0",
    }
    error = classify(429, QPS_BODY, headers, NOW)
    assert isinstance(error, ZoomRateLimited)
    assert error.retry_at == NOW + timedelta(seconds=3)
    assert error.daily is False
    assert error.category == "light"
    assert (error.status, error.code) == (429, 4001)
    assert error.message == QPS_BODY["message"]


def test_per_second_429_without_retry_after_waits_a_second():
    error = classify(429, QPS_BODY, {"X-RateLimit-Type": "QPS"}, NOW)
    assert isinstance(error, ZoomRateLimited)
    assert error.retry_at == NOW + timedelta(seconds=1)
    assert error.daily is False


def test_daily_limit_429_with_an_iso_retry_after():
    headers = {"Retry-After": "2026-12-02T00:00:00Z", "X-RateLimit-Type": "Daily-limit"}
    error = classify(429, {"code": 429, "message": "rate"}, headers, NOW)
    assert isinstance(error, ZoomRateLimited)
    assert error.daily is True
    assert error.retry_at == MIDNIGHT


def test_daily_limit_429_with_an_http_date_retry_after():
    headers = {"Retry-After": "Wed, 02 Dec 2026 00:00:00 GMT", "X-RateLimit-Type": "Daily-limit"}
    error = classify(429, {"code": 429, "message": "rate"}, headers, NOW)
    assert isinstance(error, ZoomRateLimited)
    assert error.daily is True
    assert error.retry_at == MIDNIGHT


def test_daily_limit_429_without_retry_after_waits_for_the_next_utc_midnight():
    error = classify(429, {"code": 429, "message": "rate"}, {"X-RateLimit-Type": "Daily-limit"}, NOW)
    assert isinstance(error, ZoomRateLimited)
    assert error.daily is True
    assert error.retry_at == MIDNIGHT


def test_daily_limit_without_retry_after_is_utc_midnight_whatever_the_clocks_zone():
    # 23:30 at UTC+5 is 18:30 UTC: Zoom's daily budget resets at 00:00 UTC, 5.5 hours later
    local_now = datetime(2026, 12, 1, 23, 30, tzinfo=timezone(timedelta(hours=5)))
    error = classify(429, {"code": 429, "message": "rate"}, {"X-RateLimit-Type": "Daily-limit"}, local_now)
    assert isinstance(error, ZoomRateLimited)
    assert error.retry_at == MIDNIGHT


def test_daily_limit_header_is_read_case_insensitively():
    error = classify(429, None, {"x-ratelimit-type": "DAILY-LIMIT", "retry-after": "2026-12-02T00:00:00Z"}, NOW)
    assert isinstance(error, ZoomRateLimited)
    assert error.daily is True
    assert error.retry_at == MIDNIGHT


def test_a_429_whose_message_says_daily_is_a_daily_limit():
    error = classify(429, {"code": 429, "message": DAILY_MESSAGE}, {}, NOW)
    assert isinstance(error, ZoomRateLimited)
    assert error.daily is True
    assert error.retry_at == MIDNIGHT
    assert error.message == DAILY_MESSAGE


def test_rate_limit_category_is_lower_cased():
    for label, expected in (("Light", "light"), ("MEDIUM", "medium"), ("Heavy", "heavy")):
        error = classify(429, QPS_BODY, {"Retry-After": "1", "X-RateLimit-Category": label}, NOW)
        assert isinstance(error, ZoomRateLimited)
        assert error.category == expected


def test_a_429_without_a_category_header_has_an_empty_category():
    error = classify(429, QPS_BODY, {"Retry-After": "1"}, NOW)
    assert isinstance(error, ZoomRateLimited)
    assert error.category == ""


def test_a_429_past_retry_after_means_now():
    error = classify(429, QPS_BODY, {"Retry-After": "2020-01-01T00:00:00Z", "X-RateLimit-Type": "QPS"}, NOW)
    assert isinstance(error, ZoomRateLimited)
    assert error.retry_at == NOW


def test_rate_limited_headers_are_kept_lower_cased():
    error = classify(429, QPS_BODY, {"Retry-After": "1", "X-RateLimit-Limit": "30"}, NOW)
    assert error.headers == {"retry-after": "1", "x-ratelimit-limit": "30"}


# --- errors.classify: everything else ------------------------------------------------------


def test_5xx_with_zooms_json_is_unavailable():
    error = classify(500, {"code": 500, "message": "Internal Server Error"}, {}, NOW)
    assert isinstance(error, ZoomUnavailable)
    assert (error.status, error.code, error.message) == (500, 500, "Internal Server Error")


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_with_a_gateways_html_page_is_unavailable(status):
    html = f"<html><head><title>{status} Bad Gateway</title></head><body></body></html>"
    for body in (None, html):  # the client passes None for a body that is not JSON
        error = classify(status, body, {"Content-Type": "text/html"}, NOW)
        assert isinstance(error, ZoomUnavailable)
        assert error.status == status
        assert error.code is None
        assert error.message == f"HTTP {status}"


def test_401_is_unauthorized():
    error = classify(401, {"code": 124, "message": "Invalid access token."}, {}, NOW)
    assert isinstance(error, ZoomUnauthorized)
    assert (error.status, error.code, error.message) == (401, 124, "Invalid access token.")


def test_401_without_a_body_is_unauthorized():
    error = classify(401, None, {}, NOW)
    assert isinstance(error, ZoomUnauthorized)
    assert error.code is None


def test_404_is_not_found_with_zooms_code_and_message():
    error = classify(404, {"code": 3001, "message": "Meeting does not exist: 85746065432."}, {}, NOW)
    assert isinstance(error, ZoomNotFound)
    assert (error.status, error.code, error.message) == (404, 3001, "Meeting does not exist: 85746065432.")
    assert "3001" in str(error) and "Meeting does not exist" in str(error)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"code": 300, "message": "Validation Failed."}),
        (400, {"code": 3000, "message": "Registration has not been enabled for this meeting: 1."}),
        (403, {"code": 200, "message": "No permission."}),
        (409, {"code": 409, "message": "Conflict."}),
    ],
)
def test_other_4xx_are_rejected(status, body):
    error = classify(status, body, {}, NOW)
    assert isinstance(error, ZoomRejected)
    assert (error.status, error.code, error.message) == (status, body["code"], body["message"])


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_rejected(status):
    error = classify(status, None, {"Location": "https://elsewhere.example/v2/users/me"}, NOW)
    assert isinstance(error, ZoomRejected)
    assert error.status == status
    assert error.message == f"HTTP {status}"


def test_older_endpoints_http_300_daily_cap_is_a_daily_rate_limit():
    # ../shared/zoom/README.md: "Older endpoints answered the daily cap with HTTP 300, code 300":
    # not a permanent refusal
    error = classify(300, {"code": 300, "message": DAILY_MESSAGE}, {}, NOW)
    assert isinstance(error, ZoomRateLimited)
    assert error.daily is True
    assert error.retry_at == MIDNIGHT


def test_a_non_integer_code_or_non_string_message_is_ignored():
    error = classify(404, {"code": "3001", "message": 42}, {}, NOW)
    assert isinstance(error, ZoomNotFound)
    assert error.code is None
    assert error.message == "not found"


def test_every_classified_error_is_a_zoom_api_error():
    for status in (300, 400, 401, 404, 429, 500, 503):
        assert isinstance(classify(status, None, {}, NOW), ZoomAPIError)


# --- timing.parse_retry_after ---------------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [("0", 0), ("1", 1), ("7", 7), (" 30 ", 30), ("3600", 3600)])
def test_retry_after_in_seconds(value, seconds):
    assert parse_retry_after(value, NOW) == NOW + timedelta(seconds=seconds)


def test_retry_after_iso_with_z():
    moment = parse_retry_after("2026-12-02T00:00:00Z", NOW)
    assert moment == MIDNIGHT
    assert moment.utcoffset() == timedelta(0)


def test_retry_after_iso_with_an_offset_is_converted_to_utc():
    moment = parse_retry_after("2026-12-02T01:00:00+01:00", NOW)
    assert moment == MIDNIGHT
    assert moment.utcoffset() == timedelta(0)


def test_retry_after_iso_without_a_zone_is_utc():
    assert parse_retry_after("2026-12-02T00:00:00", NOW) == MIDNIGHT


def test_retry_after_http_date():
    moment = parse_retry_after("Wed, 02 Dec 2026 00:00:00 GMT", NOW)
    assert moment == MIDNIGHT
    assert moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["soon", "later today", "1.5", "-5", "2026-13-45T99:00:00Z", "Wed, 99 Foo"])
def test_retry_after_garbage_is_none(value):
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_retry_after_empty_is_none(value):
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize("value", ["٣", "１０", "३०"])  # Arabic-Indic, full-width, Devanagari digits
def test_retry_after_non_ascii_digits_are_not_seconds(value):
    assert value.isdigit()  # str.isdigit alone would take them
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize("value", ["2020-01-01T00:00:00Z", "Mon, 01 Jan 2001 00:00:00 GMT", "2026-12-01T15:30:11Z"])
def test_retry_after_in_the_past_means_now(value):
    assert parse_retry_after(value, NOW) == NOW


def test_retry_after_absurdly_many_seconds_does_not_raise():
    # "None when absent or unreadable": a value no clock can reach must not crash the 429's handling
    moment = parse_retry_after("9" * 20, NOW)
    assert moment is None or moment >= NOW


# --- timing.daily_refusal: which day Zoom says is spent, and when to try again ------------

TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)
JUST_AFTER_MIDNIGHT = datetime(2026, 12, 1, 0, 0, 0, 400_000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value", ["2026-12-02T00:00:00Z", "Wed, 02 Dec 2026 00:00:00 GMT", "2026-12-02T01:00:00+01:00", None, ""]
)
def test_a_daily_refusal_spends_our_day_until_zooms_next_midnight(value):
    assert daily_refusal(value, NOW) == (TODAY, MIDNIGHT)


def test_a_daily_refusal_in_seconds_that_ends_tomorrow_still_spends_only_today():
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert daily_refusal("3600", late) == (TODAY, late + timedelta(hours=1))


def test_a_daily_refusal_from_a_zoom_still_in_yesterday_spends_yesterday_and_tries_again_shortly():
    # our clock just passed midnight, Zoom's has not: its reset is already behind us
    spent, retry_at = daily_refusal("2026-12-01T00:00:00Z", JUST_AFTER_MIDNIGHT)
    assert spent == YESTERDAY
    assert retry_at == JUST_AFTER_MIDNIGHT + RESET_SKEW_WAIT


def test_a_daily_refusal_whose_reset_is_long_past_never_spends_today_nor_retries_at_once():
    spent, retry_at = daily_refusal("2020-01-01T00:00:00Z", NOW)
    assert spent < TODAY
    assert retry_at == NOW + RESET_SKEW_WAIT


def test_a_daily_refusal_at_exactly_its_reset_is_the_old_days():
    assert daily_refusal("2026-12-02T00:00:00Z", MIDNIGHT) == (TODAY, MIDNIGHT + RESET_SKEW_WAIT)


def test_a_daily_refusal_is_read_in_utc_whatever_our_clocks_zone():
    local_now = datetime(2026, 12, 1, 23, 30, tzinfo=timezone(timedelta(hours=5)))  # 18:30 UTC
    spent, retry_at = daily_refusal(None, local_now)
    assert (spent, retry_at, retry_at.utcoffset()) == (TODAY, MIDNIGHT, timedelta(0))


def test_a_daily_refusal_in_seconds_is_counted_on_the_utc_day_whatever_our_clocks_zone():
    # 20:00 at UTC-5 is already 01:00 UTC on 2 December: the day spent is the UTC one, not the local one
    local_now = datetime(2026, 12, 1, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    spent, retry_at = daily_refusal("60", local_now)
    assert (spent, retry_at, retry_at.utcoffset()) == (MIDNIGHT.date(), local_now + timedelta(seconds=60), timedelta(0))


def test_classify_names_the_spent_day_of_a_daily_429_only():
    daily = classify(
        429, {"code": 429, "message": DAILY_MESSAGE}, {"Retry-After": "2026-12-01T00:00:00Z"}, JUST_AFTER_MIDNIGHT
    )
    qps = classify(429, QPS_BODY, {"Retry-After": "1", "X-RateLimit-Type": "QPS"}, NOW)
    assert isinstance(daily, ZoomRateLimited) and isinstance(qps, ZoomRateLimited)
    assert (daily.daily, daily.spent_day, daily.retry_at) == (True, YESTERDAY, JUST_AFTER_MIDNIGHT + RESET_SKEW_WAIT)
    assert (qps.daily, qps.spent_day) == (False, None)


# --- timing.backoff ----------------------------------------------------------------------


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (8, 640.0)])
def test_backoff_stays_between_half_the_ceiling_and_the_ceiling(attempt, ceiling):
    rng = random.Random(attempt)
    values = [backoff(attempt, rng=rng) for _ in range(500)]
    assert all(ceiling / 2 <= v <= ceiling for v in values)
    assert max(values) - min(values) > ceiling / 4  # jittered, not a constant


def test_backoff_attempt_zero_or_negative_is_the_first_attempts_range():
    rng = random.Random(1)
    for attempt in (0, -3):
        assert all(2.5 <= backoff(attempt, rng=rng) <= 5.0 for _ in range(100))


def test_backoff_grows_with_the_attempt():
    def mean(attempt: int) -> float:
        rng = random.Random(42)
        return sum(backoff(attempt, rng=rng) for _ in range(300)) / 300

    means = [mean(attempt) for attempt in range(1, 9)]
    assert all(later > 1.8 * earlier for earlier, later in zip(means, means[1:], strict=False))


def test_backoff_is_capped():
    rng = random.Random(3)
    for attempt in (11, 12, 20, 64, 200):
        values = [backoff(attempt, rng=rng) for _ in range(100)]
        assert all(1800.0 <= v <= 3600.0 for v in values)


def test_backoff_takes_base_and_cap():
    rng = random.Random(5)
    assert all(0.5 <= backoff(1, base=1.0, cap=60.0, rng=rng) <= 1.0 for _ in range(100))
    assert all(30.0 <= backoff(30, base=1.0, cap=60.0, rng=rng) <= 60.0 for _ in range(100))


def test_backoff_cap_holds_for_any_attempt():
    # a job retried hourly for six weeks is past attempt 1000: the cap must still hold, not overflow
    assert 1800.0 <= backoff(2000, rng=random.Random(1)) <= 3600.0


def test_backoff_is_deterministic_with_a_seeded_random():
    first = [backoff(n, rng=random.Random(99)) for n in range(1, 10)]
    second = [backoff(n, rng=random.Random(99)) for n in range(1, 10)]
    other = [backoff(n, rng=random.Random(100)) for n in range(1, 10)]
    assert first == second
    assert first != other


def test_backoff_sequence_from_one_seeded_random_repeats():
    rng_a, rng_b = random.Random(7), random.Random(7)
    assert [backoff(3, rng=rng_a) for _ in range(20)] == [backoff(3, rng=rng_b) for _ in range(20)]


# --- uuids.path_uuid ---------------------------------------------------------------------


def test_plain_uuid_is_encoded_once():
    assert path_uuid("4444AAAiAAAAAiAiAiiAii") == "4444AAAiAAAAAiAiAiiAii"
    assert path_uuid("aDYlohsHRtCd4ii1uC2+hA==") == "aDYlohsHRtCd4ii1uC2%2BhA%3D%3D"


def test_uuid_with_one_slash_inside_is_encoded_once():
    encoded = path_uuid("Bznyg8KZTdCVbQxvS/oZ7w==")
    assert encoded == "Bznyg8KZTdCVbQxvS%2FoZ7w%3D%3D"
    assert unquote(encoded) == "Bznyg8KZTdCVbQxvS/oZ7w=="


def test_uuid_starting_with_a_slash_is_encoded_twice():
    encoded = path_uuid("/ajXp112QmuoKj4854875==")
    assert encoded == "%252FajXp112QmuoKj4854875%253D%253D"
    assert "/" not in encoded and "%2F" not in encoded
    assert unquote(unquote(encoded)) == "/ajXp112QmuoKj4854875=="


def test_uuid_with_a_double_slash_inside_is_encoded_twice():
    encoded = path_uuid("ab//cd+ef==")
    assert encoded == "ab%252F%252Fcd%252Bef%253D%253D"
    assert unquote(unquote(encoded)) == "ab//cd+ef=="


def test_uuid_plus_and_equals_are_encoded():
    encoded = path_uuid("a+b=c+d==")
    assert encoded == "a%2Bb%3Dc%2Bd%3D%3D"
    assert "+" not in encoded and "=" not in encoded


@pytest.mark.parametrize("uuid", ["/x//y==", "x/y", "/", "//", "a+/b=", "KdD8q4Z0QtWn1v6Sx/7g=="])
def test_path_uuid_never_leaves_a_path_separator(uuid):
    encoded = path_uuid(uuid)
    assert "/" not in encoded
    once = unquote(encoded)
    decoded = unquote(once) if uuid.startswith("/") or "//" in uuid else once
    assert decoded == uuid


# --- payloads ----------------------------------------------------------------------------


def test_topic_is_cut_to_200_characters_not_bytes():
    theme = "Éducation à la réalité — 学习 " * 20
    topic = payloads.topic_of(theme)
    assert len(topic) == 200
    assert len(topic.encode("utf-8")) > 200
    assert topic == theme[:200]


def test_topic_of_astral_characters_counts_characters():
    theme = "📅" * 250
    assert payloads.topic_of(theme) == "📅" * 200


def test_short_topic_is_kept_whole():
    assert payloads.topic_of("Sécurité 101") == "Sécurité 101"
    assert payloads.topic_of("x" * 200) == "x" * 200


def test_zoom_values_are_zooms_names_and_forms():
    start = datetime(2030, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    values = payloads.zoom_values("Réunion " + "é" * 300, start, 90, "Europe/Paris")
    assert values == {
        "topic": ("Réunion " + "é" * 300)[:200],
        "start_time": "2030-06-01T10:00:00Z",
        "duration": 90,
        "timezone": "Europe/Paris",
    }


VALUES = {"topic": "Onboarding", "start_time": "2030-06-01T10:00:00Z", "duration": 60, "timezone": "Europe/Paris"}


def test_create_body_for_a_meeting():
    body = payloads.create_body("meeting", VALUES)
    assert body["type"] == 2
    assert {k: body[k] for k in ("topic", "start_time", "duration", "timezone")} == VALUES
    settings = body["settings"]
    assert settings["approval_type"] == 0  # registration on, approved automatically
    assert settings["use_pmi"] is False
    assert "agenda" not in body
    assert "recurrence" not in body


def test_create_body_for_a_webinar():
    body = payloads.create_body("webinar", VALUES)
    assert body["type"] == 5
    assert {k: body[k] for k in ("topic", "start_time", "duration", "timezone")} == VALUES
    assert body["settings"]["approval_type"] == 0
    assert "use_pmi" not in body["settings"]  # webinars have no PMI setting
    assert "agenda" not in body


def test_create_body_never_sends_an_agenda_even_when_given_one():
    for kind in ("meeting", "webinar"):
        body = payloads.create_body(kind, {**VALUES, "agenda": "The LMS description"})
        assert "agenda" not in body
        assert "The LMS description" not in repr(body)


def test_create_body_refuses_an_unknown_kind():
    with pytest.raises(KeyError):
        payloads.create_body("webinar_series", VALUES)


def test_update_body_sends_only_the_schedule_fields_that_differ():
    confirmed = dict(VALUES)
    assert payloads.update_body(dict(VALUES), confirmed) == {}
    assert payloads.update_body({**VALUES, "duration": 45}, confirmed) == {"duration": 45}
    assert payloads.update_body({**VALUES, "timezone": "Asia/Tokyo"}, confirmed) == {"timezone": "Asia/Tokyo"}


def test_update_body_never_sends_the_topic():
    # the topic goes to Zoom when the meeting is created; after that it is edited in Zoom only
    assert payloads.update_body({**VALUES, "topic": "Onboarding II"}, dict(VALUES)) == {}
    body = payloads.update_body({**VALUES, "topic": "T", "duration": 45}, dict(VALUES))
    assert body == {"duration": 45}


def test_update_body_always_sends_the_time_zone_with_a_start_time():
    wanted = {**VALUES, "start_time": "2030-06-02T10:00:00Z"}
    assert payloads.update_body(wanted, dict(VALUES)) == {
        "start_time": "2030-06-02T10:00:00Z",
        "timezone": "Europe/Paris",
    }
    # even when only the start time was edited in the LMS
    assert payloads.update_body(wanted, dict(VALUES), edited={"start_time"}) == {
        "start_time": "2030-06-02T10:00:00Z",
        "timezone": "Europe/Paris",
    }


def test_update_body_sends_only_the_fields_the_lms_edited():
    wanted = {**VALUES, "start_time": "2030-06-02T10:00:00Z", "duration": 45}
    confirmed = dict(VALUES)
    assert payloads.update_body(wanted, confirmed, edited={"duration"}) == {"duration": 45}
    assert payloads.update_body(wanted, confirmed, edited=set()) == {}
    assert payloads.update_body(wanted, confirmed, edited={"topic", "duration", "start_time"}) == {
        "start_time": "2030-06-02T10:00:00Z",
        "duration": 45,
        "timezone": "Europe/Paris",
    }


def test_update_body_edited_but_equal_to_zoom_sends_nothing():
    assert payloads.update_body(dict(VALUES), dict(VALUES), edited={"start_time", "duration", "timezone"}) == {}


def test_update_body_against_nothing_confirmed_sends_the_schedule():
    assert payloads.update_body(dict(VALUES), {}) == {k: VALUES[k] for k in ("start_time", "duration", "timezone")}


def test_update_body_ignores_fields_that_do_not_sync():
    wanted = {**VALUES, "agenda": "new description", "settings": {"host_video": True}}
    assert payloads.update_body(wanted, dict(VALUES)) == {}
    assert payloads.update_body(wanted, {}, edited={"agenda", "settings"}) == {}


def test_registrant_body_splits_the_name_at_the_first_space():
    assert payloads.registrant_body("ada@lms.example", "Ada Lovelace") == {
        "email": "ada@lms.example",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    body = payloads.registrant_body("jc@lms.example", "  Jean  Claude Van Damme ")
    assert (body["first_name"], body["last_name"]) == ("Jean", "Claude Van Damme")


def test_registrant_body_with_one_word_has_an_empty_last_name():
    body = payloads.registrant_body("plato@lms.example", "Plato")
    assert (body["first_name"], body["last_name"]) == ("Plato", "")


@pytest.mark.parametrize("name", ["", "   ", None])
def test_registrant_body_empty_name_takes_the_emails_local_part(name):
    body = payloads.registrant_body("grace.hopper@navy.example", name)
    assert body == {"email": "grace.hopper@navy.example", "first_name": "grace.hopper", "last_name": ""}


def test_registrant_body_names_are_cut_to_64_characters():
    body = payloads.registrant_body("x@lms.example", "Ä" * 70 + " " + "ß" * 80)
    assert body["first_name"] == "Ä" * 64
    assert body["last_name"] == "ß" * 64


def test_registrant_body_local_part_is_cut_to_64_characters():
    body = payloads.registrant_body("é" * 80 + "@lms.example", "")
    assert body["first_name"] == "é" * 64


def test_registrant_body_keeps_non_ascii_names():
    body = payloads.registrant_body("zoe@lms.example", "Zoë Ångström-Øster")
    assert (body["first_name"], body["last_name"]) == ("Zoë", "Ångström-Øster")
