"""Zoom's rate limits over HTTP: per-second (QPS) 429s with Retry-After, the per-host and Heavy daily caps."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.simulator.conftest import Api
from tests.simulator.integration.helpers import (
    account_token,
    add_app,
    advance_clock,
    create_meeting,
    s2s_api,
    user_tokens,
)


def _limits(sim, **limits: int) -> dict:
    return sim.control.call("PUT", f"/accounts/{sim.sim.config.account_id}/limits", limits)


def _portal_meeting(sim) -> dict:
    """A meeting scheduled in the "web portal", so no API call is spent on it."""
    return sim.control.create_meeting(topic="Rate limited", type=2, start_time="2030-06-01T10:00:00Z")


def _next_utc_midnight(sim) -> str:
    now = datetime.strptime(advance_clock(sim, 0)["now"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


# --- per second ------------------------------------------------------------------------------


def test_the_call_over_the_per_second_limit_is_429_with_retry_after(sim, api: Api):
    meeting = _portal_meeting(sim)
    _limits(sim, light=3)

    answers = [api("GET", f"/meetings/{meeting['id']}") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[3]
    assert refused.headers["X-RateLimit-Category"] == "Light"
    assert refused.headers["X-RateLimit-Type"] == "QPS"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["code"] == 4001


def test_waiting_retry_after_seconds_lets_calls_through_again(sim, api: Api):
    meeting = _portal_meeting(sim)
    _limits(sim, light=3)
    refused = [api("GET", f"/meetings/{meeting['id']}") for _ in range(4)][-1]
    assert refused.status_code == 429

    time.sleep(int(refused.headers["Retry-After"]) + 0.1)  # a real second: the window is real time

    assert api("GET", f"/meetings/{meeting['id']}").status_code == 200


def test_ordinary_answers_carry_the_limit_and_what_remains(sim, api: Api):
    meeting = _portal_meeting(sim)
    _limits(sim, light=5)

    first = api("GET", f"/meetings/{meeting['id']}")
    second = api("GET", f"/meetings/{meeting['id']}")

    assert first.headers["X-RateLimit-Category"] == "Light"
    assert first.headers["X-RateLimit-Limit"] == "5"
    assert int(first.headers["X-RateLimit-Remaining"]) > int(second.headers["X-RateLimit-Remaining"])
    assert "X-RateLimit-Type" not in first.headers


def test_the_per_second_limit_is_shared_by_every_app_of_the_account(sim, api: Api):
    meeting = _portal_meeting(sim)
    user_token = user_tokens(sim)["access_token"]
    _limits(sim, light=3)

    statuses = [
        api("GET", f"/meetings/{meeting['id']}").status_code,
        api("GET", f"/meetings/{meeting['id']}", token=user_token).status_code,
        api("GET", f"/meetings/{meeting['id']}").status_code,
        api("GET", f"/meetings/{meeting['id']}", token=user_token).status_code,
    ]

    assert statuses == [200, 200, 200, 429]


def test_the_per_second_limit_is_per_account(sim, api: Api):
    control = sim.control
    meeting = _portal_meeting(sim)
    control.call("POST", "/accounts", {"id": "second-account"})
    control.call("POST", "/users", {"email": "owner@second.example", "account_id": "second-account"})
    add_app(sim, "second-s2s", "s2s", ["user:read:admin"], account_id="second-account")
    other = account_token(sim, "second-s2s", "second-s2s-secret", "second-account").json()["access_token"]
    _limits(sim, light=2)

    assert [api("GET", f"/meetings/{meeting['id']}").status_code for _ in range(3)] == [200, 200, 429]
    assert api("GET", "/users/me", token=other).status_code == 200


# --- daily caps ------------------------------------------------------------------------------


def test_the_third_create_or_update_for_a_host_is_a_daily_limit_429_until_midnight(sim, api: Api):
    _limits(sim, host_daily=2)
    meeting = create_meeting(api)
    assert api("PATCH", f"/meetings/{meeting['id']}", json={"topic": "Second"}).status_code == 204
    midnight = _next_utc_midnight(sim)

    refused_update = api("PATCH", f"/meetings/{meeting['id']}", json={"topic": "Third"})
    refused_create = api("POST", "/users/me/meetings", json={"topic": "Fourth", "type": 2})

    for refused in (refused_update, refused_create):
        assert refused.status_code == 429
        assert refused.headers["X-RateLimit-Type"] == "Daily-limit"
        assert refused.headers["Retry-After"] == midnight
    assert api("GET", f"/meetings/{meeting['id']}").json()["topic"] == "Second"

    advance_clock(sim, 86400)
    api = s2s_api(sim)  # a day later the old token has long expired

    assert api("PATCH", f"/meetings/{meeting['id']}", json={"topic": "Next day"}).status_code == 204
    assert api("GET", f"/meetings/{meeting['id']}").json()["topic"] == "Next day"


def test_the_host_daily_cap_is_per_host(sim, api: Api):
    _limits(sim, host_daily=1)
    basic = next(u["id"] for u in sim.control.state()["users"] if u["email"] == "basic@zoomsim.example")
    create_meeting(api)

    assert api("POST", "/users/me/meetings", json={"topic": "Again", "type": 2}).status_code == 429
    assert api("POST", f"/users/{basic}/meetings", json={"topic": "Other host", "type": 2}).status_code == 201


def test_the_heavy_daily_cap_refuses_the_third_report_call(sim, api: Api):
    meeting = _portal_meeting(sim)
    sim.control.play(meeting["id"], {"end_after": 600, "participants": [{"name": "Ann", "email": "ann@example.com"}]})
    _limits(sim, heavy_daily=2)
    path = f"/report/meetings/{meeting['id']}/participants"
    midnight = _next_utc_midnight(sim)

    answers = [api("GET", path) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["X-RateLimit-Type"] == "Daily-limit"
    assert answers[2].headers["X-RateLimit-Category"] == "Heavy"
    assert answers[2].headers["Retry-After"] == midnight
    assert api("GET", f"/meetings/{meeting['id']}").status_code == 200  # Light calls are not capped


def test_the_host_daily_cap_answers_429_as_zoom_staff_quoted_it(sim, api: Api):
    """Zoom's developer forum ("Create Meeting API Rate Limit"): HTTP 429, {"code": 429, "message": "...daily..."}."""
    _limits(sim, host_daily=1)
    create_meeting(api)

    refused = api("POST", "/users/me/meetings", json={"topic": "Over the cap", "type": 2})

    assert refused.status_code == 429
    assert refused.json()["code"] == 429
    assert "daily" in refused.json()["message"].lower()
