"""zoomsim/ratelimit.py: per-account sliding windows by category, the Heavy daily cap, per-host and per-registrant caps.

Every test passes the monotonic time and the wall time explicitly: nothing sleeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from zoomsim.endpoints import HEAVY, LIGHT, MEDIUM, RESOURCE_INTENSIVE
from zoomsim.errors import ZoomError
from zoomsim.ratelimit import PER_SECOND_MESSAGE, PLANS, Decision, RateLimiter

PRO = PLANS["pro"]
BUSINESS = PLANS["business"]
WALL = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NEXT_MIDNIGHT = "2024-05-02T00:00:00Z"
LABELS = {LIGHT: "Light", MEDIUM: "Medium", HEAVY: "Heavy"}


def admit_many(limiter, count, category, limits=PRO, account="acct", mono=100.0, wall=WALL):
    return [limiter.admit(account, limits, category, mono, wall) for _ in range(count)]


def refused(limiter, category, limits=PRO, account="acct", mono=100.0, wall=WALL) -> ZoomError:
    with pytest.raises(ZoomError) as caught:
        limiter.admit(account, limits, category, mono, wall)
    return caught.value


# --- the plans --------------------------------------------------------------------------


def test_pro_plan_matches_zoom_table():
    assert PRO.per_window == {LIGHT: 30, MEDIUM: 20, HEAVY: 10, RESOURCE_INTENSIVE: 10}
    assert PRO.window_seconds == {LIGHT: 1.0, MEDIUM: 1.0, HEAVY: 1.0, RESOURCE_INTENSIVE: 60.0}
    assert PRO.heavy_daily == 30_000


def test_business_plan_matches_zoom_table():
    assert BUSINESS.per_window == {LIGHT: 80, MEDIUM: 60, HEAVY: 40, RESOURCE_INTENSIVE: 20}
    assert BUSINESS.window_seconds[RESOURCE_INTENSIVE] == 60.0
    assert BUSINESS.heavy_daily == 60_000


def test_host_and_registration_caps_are_zoom_numbers():
    assert PRO.host_daily == 100
    assert PRO.registrations_per_day == 3


# --- admit: the per-window limit ------------------------------------------------------------


@pytest.mark.parametrize("category", [LIGHT, MEDIUM, HEAVY, RESOURCE_INTENSIVE])
def test_exactly_the_limit_is_admitted_then_429(category):
    limiter = RateLimiter()
    admit_many(limiter, PRO.per_window[category], category)
    error = refused(limiter, category)
    assert error.status == 429
    assert error.code == 4001
    assert error.message == PER_SECOND_MESSAGE


@pytest.mark.parametrize("category", [LIGHT, MEDIUM, HEAVY])
def test_qps_429_headers(category):
    limiter = RateLimiter()
    admit_many(limiter, PRO.per_window[category], category)
    error = refused(limiter, category, mono=100.3)
    assert error.headers == {
        "Retry-After": "1",
        "X-RateLimit-Category": LABELS[category],
        "X-RateLimit-Type": "QPS",
        "X-RateLimit-Limit": str(PRO.per_window[category]),
        "X-RateLimit-Remaining": "0",
    }


def test_qps_429_body_is_zoom_error_shape():
    limiter = RateLimiter()
    admit_many(limiter, 30, LIGHT)
    assert refused(limiter, LIGHT).body() == {"code": 4001, "message": PER_SECOND_MESSAGE}


def test_resource_intensive_window_is_a_minute():
    limiter = RateLimiter()
    admit_many(limiter, 10, RESOURCE_INTENSIVE, mono=0.0)
    error = refused(limiter, RESOURCE_INTENSIVE, mono=10.0)
    assert error.headers["Retry-After"] == "50"
    assert error.headers["X-RateLimit-Type"] == "QPS"
    assert error.headers["X-RateLimit-Category"].lower() == "resource-intensive"
    assert error.headers["X-RateLimit-Limit"] == "10"
    refused(limiter, RESOURCE_INTENSIVE, mono=59.9)
    limiter.admit("acct", PRO, RESOURCE_INTENSIVE, 60.0, WALL)


@pytest.mark.parametrize(("mono", "retry_after"), [(100.0, "60"), (130.2, "30"), (159.5, "1"), (159.99, "1")])
def test_retry_after_is_whole_seconds_until_the_oldest_call_leaves(mono, retry_after):
    limiter = RateLimiter()
    admit_many(limiter, 10, RESOURCE_INTENSIVE, mono=100.0)
    assert refused(limiter, RESOURCE_INTENSIVE, mono=mono).headers["Retry-After"] == retry_after


def test_retry_after_is_never_below_one_second():
    limiter = RateLimiter()
    admit_many(limiter, 30, LIGHT, mono=100.0)
    assert refused(limiter, LIGHT, mono=100.999).headers["Retry-After"] == "1"


def test_window_slides_with_the_monotonic_time():
    limiter = RateLimiter()
    admit_many(limiter, 15, LIGHT, mono=100.0)
    admit_many(limiter, 15, LIGHT, mono=100.5)
    refused(limiter, LIGHT, mono=100.999)
    # At 101.0 the calls made at 100.0 leave the window; those of 100.5 are still in it.
    admit_many(limiter, 15, LIGHT, mono=101.0)
    refused(limiter, LIGHT, mono=101.0)
    refused(limiter, LIGHT, mono=101.499)
    admit_many(limiter, 15, LIGHT, mono=101.5)
    refused(limiter, LIGHT, mono=101.5)


def test_calls_at_exactly_the_limit_rate_are_all_admitted():
    limits = PRO.with_overrides(light=32)
    limiter = RateLimiter()
    for n in range(320):
        limiter.admit("acct", limits, LIGHT, 100.0 + n / 32, WALL)  # exactly 32 per second (exact in binary)


def test_refused_calls_are_not_counted():
    limiter = RateLimiter()
    admit_many(limiter, 30, LIGHT, mono=100.0)
    for n in range(100):
        refused(limiter, LIGHT, mono=100.0 + n * 0.009)
    admit_many(limiter, 30, LIGHT, mono=101.0)
    refused(limiter, LIGHT, mono=101.0)


def test_categories_are_independent():
    limiter = RateLimiter()
    admit_many(limiter, 30, LIGHT)
    refused(limiter, LIGHT)
    admit_many(limiter, 20, MEDIUM)
    admit_many(limiter, 10, HEAVY)
    admit_many(limiter, 10, RESOURCE_INTENSIVE)
    refused(limiter, MEDIUM)


def test_accounts_are_independent():
    limiter = RateLimiter()
    admit_many(limiter, 30, LIGHT, account="a")
    refused(limiter, LIGHT, account="a")
    admit_many(limiter, 30, LIGHT, account="b")
    refused(limiter, LIGHT, account="b")


def test_each_account_uses_its_own_limits():
    limiter = RateLimiter()
    admit_many(limiter, 80, LIGHT, limits=BUSINESS, account="big")
    refused(limiter, LIGHT, limits=BUSINESS, account="big")
    admit_many(limiter, 30, LIGHT, limits=PRO, account="small")
    refused(limiter, LIGHT, limits=PRO, account="small")


def test_reset_forgets_everything():
    limiter = RateLimiter()
    admit_many(limiter, 30, LIGHT)
    limiter.reset()
    admit_many(limiter, 30, LIGHT)


# --- admit: ordinary answers ------------------------------------------------------------


def test_ordinary_answer_headers_count_down():
    limiter = RateLimiter()
    decisions = admit_many(limiter, 30, LIGHT)
    assert decisions[0].headers == {
        "X-RateLimit-Category": "Light",
        "X-RateLimit-Limit": "30",
        "X-RateLimit-Remaining": "29",
    }
    assert [d.headers["X-RateLimit-Remaining"] for d in decisions[-3:]] == ["2", "1", "0"]


def test_ordinary_answer_has_no_type_or_retry_after():
    decision = RateLimiter().admit("acct", PRO, MEDIUM, 100.0, WALL)
    assert decision.headers["X-RateLimit-Category"] == "Medium"
    assert "X-RateLimit-Type" not in decision.headers
    assert "Retry-After" not in decision.headers


def test_remaining_recovers_as_the_window_slides():
    limiter = RateLimiter()
    admit_many(limiter, 10, MEDIUM, mono=100.0)
    assert limiter.admit("acct", PRO, MEDIUM, 101.0, WALL).headers["X-RateLimit-Remaining"] == "19"


def test_heavy_ordinary_answers_count_down_the_daily_cap():
    limiter = RateLimiter()
    first = limiter.admit("acct", PRO, HEAVY, 100.0, WALL)
    second = limiter.admit("acct", PRO, RESOURCE_INTENSIVE, 100.0, WALL)
    assert first.headers == {
        "X-RateLimit-Category": "Heavy",
        "X-RateLimit-Limit": "30000",
        "X-RateLimit-Remaining": "29999",
    }
    assert second.headers["X-RateLimit-Limit"] == "30000"
    assert second.headers["X-RateLimit-Remaining"] == "29998"


# --- admit: the Heavy / Resource-intensive daily cap ----------------------------------------


def test_heavy_daily_cap_answers_429_daily_limit():
    limits = PRO.with_overrides(heavy_daily=3)
    limiter = RateLimiter()
    for n in range(3):
        limiter.admit("acct", limits, HEAVY, 100.0 + 10 * n, WALL)
    error = refused(limiter, HEAVY, limits=limits, mono=200.0)
    assert error.status == 429
    assert error.headers == {
        "Retry-After": NEXT_MIDNIGHT,
        "X-RateLimit-Category": "Heavy",
        "X-RateLimit-Type": "Daily-limit",
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
    }
    assert "daily limit" in error.message


def test_heavy_and_resource_intensive_share_the_daily_cap():
    limits = PRO.with_overrides(heavy_daily=3)
    limiter = RateLimiter()
    limiter.admit("acct", limits, HEAVY, 100.0, WALL)
    limiter.admit("acct", limits, RESOURCE_INTENSIVE, 100.0, WALL)
    limiter.admit("acct", limits, HEAVY, 100.0, WALL)
    error = refused(limiter, RESOURCE_INTENSIVE, limits=limits, mono=100.0)
    assert error.headers["X-RateLimit-Type"] == "Daily-limit"
    assert error.headers["X-RateLimit-Category"].lower() == "resource-intensive"
    assert refused(limiter, HEAVY, limits=limits, mono=100.0).headers["X-RateLimit-Type"] == "Daily-limit"


def test_light_and_medium_do_not_count_toward_the_daily_cap():
    limits = PRO.with_overrides(heavy_daily=1)
    limiter = RateLimiter()
    for n in range(50):
        limiter.admit("acct", limits, LIGHT, 100.0 + n, WALL)
        limiter.admit("acct", limits, MEDIUM, 100.0 + n, WALL)
    limiter.admit("acct", limits, HEAVY, 200.0, WALL)


def test_daily_cap_is_per_account():
    limits = PRO.with_overrides(heavy_daily=1)
    limiter = RateLimiter()
    limiter.admit("a", limits, HEAVY, 100.0, WALL)
    refused(limiter, HEAVY, limits=limits, account="a", mono=110.0)
    limiter.admit("b", limits, HEAVY, 110.0, WALL)


def test_daily_cap_resets_on_the_next_utc_day():
    limits = PRO.with_overrides(heavy_daily=2)
    limiter = RateLimiter()
    late = datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC)
    limiter.admit("acct", limits, HEAVY, 100.0, late)
    limiter.admit("acct", limits, HEAVY, 110.0, late)
    assert refused(limiter, HEAVY, limits=limits, mono=120.0, wall=late).headers["Retry-After"] == NEXT_MIDNIGHT
    midnight = datetime(2024, 5, 2, 0, 0, 0, tzinfo=UTC)
    limiter.admit("acct", limits, HEAVY, 130.0, midnight)
    limiter.admit("acct", limits, HEAVY, 140.0, midnight)
    error = refused(limiter, HEAVY, limits=limits, mono=150.0, wall=midnight)
    assert error.headers["Retry-After"] == "2024-05-03T00:00:00Z"


def test_daily_cap_counts_utc_days_whatever_the_wall_zone():
    limits = PRO.with_overrides(heavy_daily=1)
    limiter = RateLimiter()
    new_york = ZoneInfo("America/New_York")
    limiter.admit("acct", limits, HEAVY, 100.0, datetime(2024, 5, 1, 18, 0, tzinfo=new_york))  # 22:00 UTC May 1
    limiter.admit("acct", limits, HEAVY, 110.0, datetime(2024, 5, 1, 21, 0, tzinfo=new_york))  # 01:00 UTC May 2
    error = refused(limiter, HEAVY, limits=limits, mono=120.0, wall=datetime(2024, 5, 2, 10, 0, tzinfo=UTC))
    assert error.headers["Retry-After"] == "2024-05-03T00:00:00Z"


def test_calls_refused_by_the_daily_cap_are_not_counted():
    limits = PRO.with_overrides(heavy_daily=2)
    limiter = RateLimiter()
    limiter.admit("acct", limits, HEAVY, 100.0, WALL)
    limiter.admit("acct", limits, HEAVY, 100.0, WALL)
    for n in range(5):
        refused(limiter, HEAVY, limits=limits, mono=110.0 + n)
    tomorrow = WALL + timedelta(days=1)
    limiter.admit("acct", limits, HEAVY, 200.0, tomorrow)
    assert limiter.admit("acct", limits, HEAVY, 200.0, tomorrow).headers["X-RateLimit-Remaining"] == "0"


def test_calls_refused_by_qps_do_not_spend_the_daily_cap():
    limits = PRO.with_overrides(heavy_daily=11)
    limiter = RateLimiter()
    admit_many(limiter, 10, HEAVY, limits=limits, mono=100.0)
    for _ in range(5):
        assert refused(limiter, HEAVY, limits=limits, mono=100.5).headers["X-RateLimit-Type"] == "QPS"
    assert limiter.admit("acct", limits, HEAVY, 101.0, WALL).headers["X-RateLimit-Remaining"] == "0"


# --- charge_host: 100 creates or updates per host per UTC day ---------------------------------


def test_host_daily_allows_100_then_429():
    limiter = RateLimiter()
    for _ in range(100):
        limiter.charge_host("host-1", PRO, WALL, Decision())
    with pytest.raises(ZoomError) as caught:
        limiter.charge_host("host-1", PRO, WALL, Decision())
    error = caught.value
    assert error.status == 429
    assert error.headers["X-RateLimit-Type"] == "Daily-limit"
    assert error.headers["Retry-After"] == NEXT_MIDNIGHT
    assert error.headers["X-RateLimit-Limit"] == "100"
    assert error.headers["X-RateLimit-Remaining"] == "0"
    assert "daily rate limit (100) of Meeting Create/Update API requests" in error.message
    assert "GMT 00:00:00" in error.message


def test_host_daily_cap_answers_http_429_with_body_code_429():
    # As Zoom's staff quoted the answer on its developer forum ("Zoom API Create Meeting API Rate Limit"):
    # HTTP 429, {"code": 429, ...}. The HTTP 300 / code 300 answer of older endpoints is not reproduced.
    limiter = RateLimiter()
    for _ in range(100):
        limiter.charge_host("host-1", PRO, WALL, Decision())
    with pytest.raises(ZoomError) as caught:
        limiter.charge_host("host-1", PRO, WALL, Decision())
    assert (caught.value.status, caught.value.code) == (429, 429)


def test_host_daily_headers_are_merged_into_the_decision():
    limiter = RateLimiter()
    decision = limiter.admit("acct", PRO, LIGHT, 100.0, WALL)
    limiter.charge_host("host-1", PRO, WALL, decision)
    assert decision.headers == {
        "X-RateLimit-Category": "Light",
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "99",
    }


def test_host_daily_is_per_host():
    limits = PRO.with_overrides(host_daily=2)
    limiter = RateLimiter()
    limiter.charge_host("host-1", limits, WALL, Decision())
    limiter.charge_host("host-1", limits, WALL, Decision())
    with pytest.raises(ZoomError):
        limiter.charge_host("host-1", limits, WALL, Decision())
    decision = Decision()
    limiter.charge_host("host-2", limits, WALL, decision)
    assert decision.headers["X-RateLimit-Remaining"] == "1"


def test_host_daily_resets_on_the_next_utc_day():
    limits = PRO.with_overrides(host_daily=1)
    limiter = RateLimiter()
    limiter.charge_host("host-1", limits, WALL, Decision())
    with pytest.raises(ZoomError):
        limiter.charge_host("host-1", limits, WALL.replace(hour=23, minute=59, second=59), Decision())
    limiter.charge_host("host-1", limits, datetime(2024, 5, 2, 0, 0, tzinfo=UTC), Decision())


def test_host_daily_override_shows_in_the_message():
    limits = PRO.with_overrides(host_daily=3)
    limiter = RateLimiter()
    for _ in range(3):
        limiter.charge_host("host-1", limits, WALL, Decision())
    with pytest.raises(ZoomError) as caught:
        limiter.charge_host("host-1", limits, WALL, Decision())
    assert "(3)" in caught.value.message
    assert caught.value.headers["X-RateLimit-Limit"] == "3"


# --- charge_registration: 3 per registrant per meeting per day ---------------------------------


def test_registration_allows_three_then_429():
    limiter = RateLimiter()
    for _ in range(3):
        limiter.charge_registration(81234567890, "ann@example.com", PRO, WALL)
    with pytest.raises(ZoomError) as caught:
        limiter.charge_registration(81234567890, "ann@example.com", PRO, WALL)
    error = caught.value
    assert error.status == 429
    assert error.headers["X-RateLimit-Type"] == "Daily-limit"
    assert error.headers["Retry-After"] == NEXT_MIDNIGHT
    assert error.headers["X-RateLimit-Limit"] == "3"
    assert "(3)" in error.message
    assert "ann@example.com" in error.message


def test_registration_email_is_case_insensitive():
    limiter = RateLimiter()
    limiter.charge_registration(81234567890, "Ann@Example.com", PRO, WALL)
    limiter.charge_registration(81234567890, "ann@example.com", PRO, WALL)
    limiter.charge_registration(81234567890, "ANN@EXAMPLE.COM", PRO, WALL)
    with pytest.raises(ZoomError):
        limiter.charge_registration(81234567890, "aNN@example.COM", PRO, WALL)


def test_registration_is_per_meeting_and_per_email():
    limiter = RateLimiter()
    for _ in range(3):
        limiter.charge_registration(81234567890, "ann@example.com", PRO, WALL)
    limiter.charge_registration(81234567891, "ann@example.com", PRO, WALL)
    limiter.charge_registration(81234567890, "bob@example.com", PRO, WALL)


def test_registration_resets_on_the_next_utc_day():
    limiter = RateLimiter()
    for _ in range(3):
        limiter.charge_registration(81234567890, "ann@example.com", PRO, WALL)
    for _ in range(3):
        limiter.charge_registration(81234567890, "ann@example.com", PRO, WALL + timedelta(days=1))
    with pytest.raises(ZoomError):
        limiter.charge_registration(81234567890, "ann@example.com", PRO, WALL + timedelta(days=1))


def test_registration_override():
    limits = PRO.with_overrides(registrations_per_day=1)
    limiter = RateLimiter()
    limiter.charge_registration(1, "ann@example.com", limits, WALL)
    with pytest.raises(ZoomError):
        limiter.charge_registration(1, "ann@example.com", limits, WALL)


# --- Limits.with_overrides ----------------------------------------------------------------


def test_with_overrides_sets_a_category_by_lower_case_name():
    limits = PRO.with_overrides(light=5, resource_intensive=2)
    assert limits.per_window == {LIGHT: 5, MEDIUM: 20, HEAVY: 10, RESOURCE_INTENSIVE: 2}


def test_with_overrides_accepts_upper_case_category_names():
    assert PRO.with_overrides(MEDIUM=7).per_window[MEDIUM] == 7


def test_with_overrides_sets_the_daily_caps():
    limits = PRO.with_overrides(heavy_daily=10, host_daily=3, registrations_per_day=1)
    assert (limits.heavy_daily, limits.host_daily, limits.registrations_per_day) == (10, 3, 1)
    assert limits.per_window == PRO.per_window


def test_with_overrides_coerces_to_int():
    limits = PRO.with_overrides(light="7", heavy_daily="12")
    assert limits.per_window[LIGHT] == 7
    assert limits.heavy_daily == 12


def test_with_overrides_leaves_the_original_alone():
    PRO.with_overrides(light=1, heavy_daily=1)
    assert PRO.per_window[LIGHT] == 30
    assert PRO.heavy_daily == 30_000
    assert PLANS["pro"].per_window[LIGHT] == 30


def test_with_overrides_without_values_is_equal():
    assert PRO.with_overrides() == PRO


def test_with_overrides_refuses_unknown_names():
    with pytest.raises(TypeError):
        PRO.with_overrides(ultra=3)


def test_with_overrides_refuses_non_numbers():
    with pytest.raises(ValueError):
        PRO.with_overrides(light="lots")


def test_overridden_limit_is_enforced():
    limits = PRO.with_overrides(light=2)
    limiter = RateLimiter()
    admit_many(limiter, 2, LIGHT, limits=limits)
    assert refused(limiter, LIGHT, limits=limits).headers["X-RateLimit-Limit"] == "2"
