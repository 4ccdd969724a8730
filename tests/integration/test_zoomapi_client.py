"""ZoomClient and OAuthClient against the Zoom simulator over real HTTP.

The simulator checks every request against Zoom's OpenAPI files, so after each
test every request our client sent must have passed that check: the client may
not drift from Zoom's API. Rate limits, faults, token expiry and uuids that
need double encoding are the simulator's, set per test with its levers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import fakeredis
import pytest
import requests

from tests.conformance.shared import absent
from zoomapi import payloads
from zoomapi.client import BATCH_SIZE, PAGE_SIZE, ZoomClient
from zoomapi.errors import ZoomNotFound, ZoomRateLimited, ZoomRejected, ZoomUnauthorized, ZoomUnavailable
from zoomapi.limiter import Deferred, RedisLimiter
from zoomapi.oauth import OAuthClient, OAuthRefused, TokenSet, authorize_url
from zoomapi.timing import RESET_SKEW_WAIT
from zoomsim.config import SimConfig, default_spec_dir
from zoomsim.server import RunningSimulator, serve_in_thread

KINDS = ("meeting", "webinar")
REDIRECT_URI = "https://lms.example/zoom/callback"
START = datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
PLAYED_AT = "2026-03-02T09:00:00Z"


def next_utc_midnight(now: datetime) -> datetime:
    """When Zoom's daily budgets reset: the next 00:00 UTC."""
    day = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- the simulator, one per module, reset for each test -----------------------------------


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    running = serve_in_thread(SimConfig(control=True, spec_dir=default_spec_dir(), seed=20261201))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sim(running: RunningSimulator) -> Iterator[RunningSimulator]:
    """A fresh world; afterwards no request may have failed Zoom's OpenAPI description, nor the simulator itself."""
    running.control.reset()
    yield running
    drifted = [
        (r["method"], r["path"], r["query"], r["validation_errors"])
        for r in running.control.requests()
        if r["validation_errors"]
    ]
    assert drifted == [], f"requests that do not match Zoom's API description: {drifted}"
    assert running.sim.errors == [], f"the simulator failed: {running.sim.errors}"


class Tokens:
    """A token source that counts its calls: the first token may be a given one, every refresh is a fresh S2S token."""

    def __init__(self, running: RunningSimulator, first: str | None = None, always: str | None = None) -> None:
        self.running, self.current, self.always = running, first, always
        self.calls: list[bool] = []

    def __call__(self, refresh: bool) -> str:
        self.calls.append(refresh)
        if self.always is not None:
            return self.always
        if refresh or self.current is None:
            cfg = self.running.sim.config
            self.current = self.running.control.s2s_token(cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id)
        return self.current


def zoom(running: RunningSimulator, tokens: Tokens | None = None, **options: Any) -> ZoomClient:
    return ZoomClient(f"{running.url}/v2", tokens or Tokens(running), running.sim.config.account_id, **options)


def limiter(max_sleep: float = 0.25) -> RedisLimiter:
    return RedisLimiter(fakeredis.FakeRedis(), max_sleep=max_sleep)


def owner_id(running: RunningSimulator) -> str:
    cfg = running.sim.config
    return next(a["owner_id"] for a in running.control.state()["accounts"] if a["id"] == cfg.account_id)


def add_host(running: RunningSimulator, email: str, **options: Any) -> str:
    return running.control.call("POST", "/users", {"email": email, "type": 2, **options})["id"]


def api_requests(running: RunningSimulator, part: str = "/v2/") -> list[dict[str, Any]]:
    return [r for r in running.control.requests() if r["path"].startswith("/v2/") and part in r["path"]]


def query_of(entry: dict[str, Any]) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(entry["query"]).items()}


def values(topic: str = "Sécurité au travail — module 1", start: datetime = START, **extra: Any) -> dict[str, Any]:
    return {**payloads.zoom_values(topic, start, 60, "Europe/Paris"), **extra}


def create(client: ZoomClient, kind: str, host: str, **extra: Any) -> dict[str, Any]:
    return client.create(kind, host, payloads.create_body(kind, values(**extra)))


def people(count: int, domain: str = "lms.example") -> list[dict[str, str]]:
    return [payloads.registrant_body(f"learner{n}@{domain}", f"Learner {n}") for n in range(count)]


def wait_for_request(running: RunningSimulator, part: str, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(api_requests(running, part)) < count and time.monotonic() < deadline:
        time.sleep(0.05)


# --- validation is on: the check after each test can fail -----------------------------------


def test_requests_are_checked_against_zooms_openapi_files(sim):
    if reason := absent():  # as the conformance tests: Zoom's documents are not ours to ship with a clone
        pytest.skip(reason)
    assert sim.sim.validator is not None
    client = zoom(sim)
    with pytest.raises(ZoomRejected) as refused:
        client.request("POST", "/users/{userId}/meetings", {"userId": "me"}, json={"topic": "x", "agendum": "typo"})
    assert (refused.value.status, refused.value.code) == (400, 300)
    [logged] = api_requests(sim, "/meetings")
    assert [e["field"] for e in logged["validation_errors"]] == ["agendum"]
    sim.control.call("DELETE", "/requests")  # the drift was on purpose: do not fail the after-test check


# --- users ---------------------------------------------------------------------------------


def test_user_and_user_settings(sim):
    client = zoom(sim)
    me = client.user()
    assert me["id"] == owner_id(sim)
    assert me["email"] == sim.sim.config.host_email
    assert client.user(me["id"])["email"] == me["email"]
    assert client.user(me["email"])["id"] == me["id"]
    feature = client.user_settings(me["id"])["feature"]
    assert feature["meeting_capacity"] == sim.sim.config.meeting_capacity
    assert feature["webinar"] is True
    assert feature["webinar_capacity"] == sim.sim.config.webinar_capacity


def test_unknown_user_is_not_found(sim):
    with pytest.raises(ZoomNotFound) as missing:
        zoom(sim).user("nobody@nowhere.example")
    assert missing.value.code == 1001


def test_rate_headers_of_the_last_answer_are_kept(sim):
    client = zoom(sim)
    client.user()
    assert client.rate_headers["x-ratelimit-category"] == "Light"
    assert client.rate_headers["x-ratelimit-limit"] == "30"
    assert int(client.rate_headers["x-ratelimit-remaining"]) < 30


# --- meetings and webinars -----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_create_and_get(sim, kind):
    client = zoom(sim)
    host = owner_id(sim)
    created = create(client, kind, host, topic="Réunion " + "é" * 300)
    assert created["type"] == payloads.ZOOM_TYPE[kind]
    assert created["id"] > 2**32
    assert created["settings"]["approval_type"] == 0
    fetched = client.get(kind, created["id"])
    assert fetched["topic"] == ("Réunion " + "é" * 300)[:200]
    assert fetched["start_time"] == "2030-06-01T10:00:00Z"
    assert fetched["duration"] == 60
    assert fetched["timezone"] == "Europe/Paris"
    assert fetched["host_id"] == host
    assert not fetched.get("agenda")
    [post] = [r for r in api_requests(sim, f"/{kind}s") if r["method"] == "POST"]
    assert "agenda" not in post["body"]


@pytest.mark.parametrize("kind", KINDS)
def test_update_sends_only_what_changed_and_keeps_edits_made_in_zoom(sim, kind):
    client = zoom(sim)
    host = owner_id(sim)
    meeting_id = create(client, kind, host)["id"]
    sim.control.edit_meeting(meeting_id, topic="Renamed in Zoom")  # the host renames it in Zoom's portal
    confirmed = {**values(), "topic": "Renamed in Zoom"}
    client.update(kind, meeting_id, payloads.update_body(values(topic="LMS theme", duration=90), confirmed), host)
    fetched = client.get(kind, meeting_id)
    assert (fetched["topic"], fetched["duration"]) == ("Renamed in Zoom", 90)
    later = START + timedelta(days=1, hours=2)
    confirmed = {**confirmed, "duration": 90}
    client.update(kind, meeting_id, payloads.update_body(values(start=later, duration=90), confirmed), host)
    fetched = client.get(kind, meeting_id)
    assert (fetched["topic"], fetched["start_time"], fetched["timezone"], fetched["duration"]) == (
        "Renamed in Zoom",
        "2030-06-02T12:00:00Z",
        "Europe/Paris",
        90,
    )
    patches = [r["body"] for r in api_requests(sim, f"/{kind}s/{meeting_id}") if r["method"] == "PATCH"]
    assert patches == [{"duration": 90}, {"start_time": "2030-06-02T12:00:00Z", "timezone": "Europe/Paris"}]


@pytest.mark.parametrize("kind", KINDS)
def test_delete(sim, kind):
    client = zoom(sim)
    meeting_id = create(client, kind, owner_id(sim))["id"]
    assert client.delete(kind, meeting_id) is None
    with pytest.raises(ZoomNotFound) as missing:
        client.get(kind, meeting_id)
    assert missing.value.code == 3001


@pytest.mark.parametrize("kind", KINDS)
def test_end_a_live_meeting(sim, kind):
    client = zoom(sim)
    meeting_id = create(client, kind, owner_id(sim))["id"]
    sim.control.call("POST", f"/meetings/{meeting_id}/start", {})
    client.end(kind, meeting_id)
    [instance] = sim.control.meeting(meeting_id)["instances"]
    assert instance["end_time"] is not None


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_meeting_is_not_found_with_code_3001(sim, kind):
    with pytest.raises(ZoomNotFound) as missing:
        zoom(sim).get(kind, 98765432109)
    assert missing.value.status == 404
    assert missing.value.code == 3001
    assert "98765432109" in missing.value.message


def test_a_meeting_and_a_webinar_are_other_kinds(sim):
    client = zoom(sim)
    meeting_id = create(client, "meeting", owner_id(sim))["id"]
    with pytest.raises(ZoomNotFound):
        client.get("webinar", meeting_id)
    with pytest.raises(ValueError):
        client.get("series", meeting_id)


def test_create_and_update_spend_the_hosts_daily_budget(sim):
    budget = limiter()
    client = zoom(sim, limiter=budget)
    host = owner_id(sim)
    meeting_id = create(client, "meeting", host)["id"]
    client.update("meeting", meeting_id, {"topic": "Again"}, host)
    create(client, "webinar", host)
    assert budget.host_budget_used(host) == 3
    client.get("meeting", meeting_id)
    assert budget.host_budget_used(host) == 3


def test_the_hosts_daily_spend_is_recorded_for_the_clients_account(sim):
    budget = limiter()
    client = zoom(sim, limiter=budget)
    host = owner_id(sim)
    meeting_id = create(client, "meeting", host)["id"]
    client.update("meeting", meeting_id, {"topic": "Again"}, host)
    assert budget.headroom(sim.sim.config.account_id).hosts == ((host, 2),)
    assert budget.headroom("another-account").hosts == ()


# --- registrants ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_add_registrant(sim, kind):
    client = zoom(sim)
    meeting_id = create(client, kind, owner_id(sim))["id"]
    answer = client.add_registrant(kind, meeting_id, payloads.registrant_body("zoe@lms.example", "Zoë Ångström"))
    assert answer["registrant_id"]
    assert f"/w/{meeting_id}?tk=" in answer["join_url"]
    [registrant] = client.registrants(kind, meeting_id)
    assert (registrant["id"], registrant["email"]) == (answer["registrant_id"], "zoe@lms.example")
    assert (registrant["first_name"], registrant["last_name"]) == ("Zoë", "Ångström")


@pytest.mark.parametrize("kind", KINDS)
def test_batch_registrants(sim, kind):
    client = zoom(sim)
    meeting_id = create(client, kind, owner_id(sim))["id"]
    answers = client.batch_registrants(kind, meeting_id, people(BATCH_SIZE))
    assert [a["email"] for a in answers] == [f"learner{n}@lms.example" for n in range(BATCH_SIZE)]
    assert all(a["registrant_id"] and a["join_url"] for a in answers)
    listed = client.registrants(kind, meeting_id)  # approved at once
    assert {r["id"] for r in listed} == {a["registrant_id"] for a in answers}


def test_more_than_30_in_one_batch_is_refused_before_any_request(sim):
    client = zoom(sim)
    meeting_id = create(client, "meeting", owner_id(sim))["id"]
    with pytest.raises(ValueError):
        client.batch_registrants("meeting", meeting_id, people(BATCH_SIZE + 1))
    assert api_requests(sim, "/batch_registrants") == []


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_registrants_goes_in_calls_of_at_most_30(sim, kind):
    client = zoom(sim, limiter=limiter(max_sleep=2.0))  # 31 registrations: over Zoom's Light 30/s
    meeting_id = create(client, kind, owner_id(sim))["id"]
    registered = [client.add_registrant(kind, meeting_id, person) for person in people(31)]
    refs = [{"id": r["registrant_id"], "email": f"learner{n}@lms.example"} for n, r in enumerate(registered)]
    client.cancel_registrants(kind, meeting_id, refs)
    calls = api_requests(sim, "/registrants/status")
    assert [len(c["body"]["registrants"]) for c in calls] == [30, 1]
    assert all(c["body"]["action"] == "cancel" and c["status"] == 204 for c in calls)
    assert [ref for c in calls for ref in c["body"]["registrants"]] == refs
    assert client.registrants(kind, meeting_id) == []
    assert not any(r["status"] == 429 for r in api_requests(sim))


def test_registrants_are_read_to_the_end_over_several_pages(sim):
    big_host = add_host(sim, "big@zoomsim.example", meeting_capacity=1000)
    client = zoom(sim, limiter=limiter(max_sleep=2.0))  # Heavy 10/s: the limiter paces the batches
    meeting_id = create(client, "meeting", big_host)["id"]
    crowd = people(700)
    for start in range(0, len(crowd), BATCH_SIZE):
        client.batch_registrants("meeting", meeting_id, crowd[start : start + BATCH_SIZE])
    listed = client.registrants("meeting", meeting_id)
    assert len(listed) == 700
    assert sorted(r["email"] for r in listed) == sorted(p["email"] for p in crowd)
    assert len({r["id"] for r in listed}) == 700
    reads = [r for r in api_requests(sim, f"/meetings/{meeting_id}/registrants") if r["method"] == "GET"]
    assert len(reads) == 3
    assert all(query_of(r)["page_size"] == str(PAGE_SIZE) for r in reads)
    assert "next_page_token" not in query_of(reads[0])
    assert all(query_of(r)["next_page_token"] for r in reads[1:])
    assert all(query_of(r)["status"] == "approved" for r in reads)
    assert len(api_requests(sim, "/batch_registrants")) == 24
    assert [r for r in api_requests(sim) if r["status"] == 429] == []


# --- listings, past instances and reports --------------------------------------------------


def test_upcoming_meetings(sim):
    client = zoom(sim)
    host = owner_id(sim)
    future = {create(client, "meeting", host)["id"] for _ in range(2)}
    past = create(client, "meeting", host, start=datetime(2021, 1, 1, 9, 0, tzinfo=UTC))["id"]
    listed = {m["id"] for m in client.upcoming("meeting", host)}
    assert future <= listed
    assert past not in listed


def test_upcoming_webinars(sim):
    client = zoom(sim)
    host = owner_id(sim)
    webinars = {create(client, "webinar", host)["id"] for _ in range(2)}
    create(client, "meeting", host)
    assert {w["id"] for w in client.upcoming("webinar", host)} == webinars


def test_upcoming_webinars_asks_zoom_for_the_upcoming_ones(sim):
    # Zoom: type=scheduled (the default) also lists "previous (unexpired) webinars"; upcoming ones need type=upcoming
    client = zoom(sim)
    host = owner_id(sim)
    create(client, "webinar", host)
    client.upcoming("webinar", host)
    [listing] = [r for r in api_requests(sim, f"/users/{host}/webinars") if r["method"] == "GET"]
    assert query_of(listing).get("type") == "upcoming"


@pytest.mark.parametrize("kind", KINDS)
def test_past_instances(sim, kind):
    client = zoom(sim)
    meeting_id = create(client, kind, owner_id(sim))["id"]
    assert client.past_instances(kind, meeting_id) == []
    first = sim.control.play(meeting_id, {"start": "2026-03-02T09:00:00Z", "end_after": 600})
    second = sim.control.play(meeting_id, {"start": "2026-03-09T09:00:00Z", "end_after": 600})
    sim.control.call("POST", f"/meetings/{meeting_id}/start", {})  # live: not past yet
    instances = client.past_instances(kind, meeting_id)
    assert [i["uuid"] for i in instances] == [first["uuid"], second["uuid"]]
    assert [i["start_time"] for i in instances] == ["2026-03-02T09:00:00Z", "2026-03-09T09:00:00Z"]


@pytest.mark.parametrize("kind", KINDS)
def test_report_participants_over_several_pages_by_meeting_number(sim, kind):
    client = zoom(sim)
    meeting_id = create(client, kind, owner_id(sim))["id"]
    registered = {
        f"learner{n}@lms.example": client.add_registrant(kind, meeting_id, person)["registrant_id"]
        for n, person in enumerate(people(5))
    }
    script = [
        {"name": f"Learner {n}", "email": email, "sessions": [{"join": 60 * n, "leave": 1800}]}
        for n, email in enumerate(registered)
    ] + [{"name": f"Guest {n}", "email": f"guest{n}@walk-in.example"} for n in range(645)]
    sim.control.play(meeting_id, {"start": PLAYED_AT, "end_after": 3600, "participants": script})
    rows = client.report_participants(kind, meeting_id)
    assert len(rows) == 650
    by_email = {row["user_email"]: row for row in rows}
    assert {email: by_email[email]["registrant_id"] for email in registered} == registered
    assert [by_email[email]["duration"] for email in registered] == [1800 - 60 * n for n in range(5)]
    assert all(not by_email[f"guest{n}@walk-in.example"].get("registrant_id") for n in range(645))
    reports = api_requests(sim, f"/report/{kind}s/{meeting_id}/participants")
    assert len(reports) == 3
    assert all(query_of(r)["include_fields"] == "registrant_id" for r in reports)
    assert all(query_of(r)["page_size"] == str(PAGE_SIZE) for r in reports)


@pytest.mark.parametrize("uuid", ["/x//y==", "/ajXp112QmuoKj4854875==", "ab//cd+ef=", "Bznyg8KZTdCVbQxvS/oZ7w=="])
def test_report_participants_by_a_uuid_that_needs_encoding(sim, uuid):
    client = zoom(sim)
    meeting_id = create(client, "meeting", owner_id(sim))["id"]
    started = sim.control.call("POST", f"/meetings/{meeting_id}/start", {"uuid": uuid})
    assert started["uuid"] == uuid
    ada = sim.control.call("POST", f"/meetings/{meeting_id}/join", {"name": "Ada", "email": "ada@lms.example"})
    sim.control.call("POST", f"/meetings/{meeting_id}/join", {"name": "Bob", "email": "bob@lms.example"})
    sim.control.call("POST", f"/meetings/{meeting_id}/leave", {"user_id": ada["user_id"]})
    sim.control.call("POST", f"/meetings/{meeting_id}/end", {})
    assert [i["uuid"] for i in client.past_instances("meeting", meeting_id)] == [uuid]
    rows = client.report_participants("meeting", uuid)
    assert sorted(row["name"] for row in rows) == ["Ada", "Bob"]


# --- tokens --------------------------------------------------------------------------------


def test_401_refreshes_once_and_retries_once(sim):
    tokens = Tokens(sim, first="not-a-zoom-token")
    me = zoom(sim, tokens).user()
    assert me["id"] == owner_id(sim)
    assert tokens.calls == [False, True]
    assert [r["status"] for r in api_requests(sim, "/users/")] == [401, 200]


def test_an_expired_token_is_refreshed(sim):
    tokens = Tokens(sim)
    client = zoom(sim, tokens)
    client.user()
    sim.control.call("POST", "/tokens/expire")
    client.user()
    assert tokens.calls == [False, False, True]
    assert [r["status"] for r in api_requests(sim, "/users/")] == [200, 401, 200]
    assert api_requests(sim, "/users/")[1]["answer"]["code"] == 124


def test_a_second_401_raises_unauthorized(sim):
    tokens = Tokens(sim, always="revoked-or-unknown")
    with pytest.raises(ZoomUnauthorized) as refused:
        zoom(sim, tokens).user()
    assert (refused.value.status, refused.value.code) == (401, 124)
    assert tokens.calls == [False, True]
    assert [r["status"] for r in api_requests(sim, "/users/")] == [401, 401]


# --- rate limits ---------------------------------------------------------------------------


def test_per_second_429_is_rate_limited_and_blocks_the_limiter(sim):
    cfg = sim.sim.config
    sim.control.call("PUT", f"/accounts/{cfg.account_id}/limits", {"light": 1})
    budget = limiter(max_sleep=0)
    client = zoom(sim, limiter=budget)
    client.user()
    before = datetime.now(UTC)
    with pytest.raises(ZoomRateLimited) as limited:
        client.user()
    error = limited.value
    assert (error.status, error.code, error.daily, error.category) == (429, 4001, False, "light")
    assert before + timedelta(seconds=0.5) <= error.retry_at <= datetime.now(UTC) + timedelta(seconds=2.5)
    with pytest.raises(Deferred) as deferred:
        budget.acquire(cfg.account_id, "light")
    assert abs((deferred.value.retry_at - error.retry_at).total_seconds()) < 0.3
    with pytest.raises(Deferred):
        client.user()  # held back by our limiter: Zoom never sees it
    assert len(api_requests(sim, "/users/")) == 2
    client.user_settings(owner_id(sim))  # Medium is not blocked


def test_per_second_429_without_a_limiter_is_raised(sim):
    cfg = sim.sim.config
    sim.control.call("PUT", f"/accounts/{cfg.account_id}/limits", {"medium": 1})
    client = zoom(sim)
    host = owner_id(sim)
    client.user_settings(host)
    with pytest.raises(ZoomRateLimited) as limited:
        client.user_settings(host)
    assert limited.value.category == "medium"
    assert limited.value.daily is False


def test_daily_host_cap_is_rate_limited_until_the_next_utc_midnight(sim):
    cfg = sim.sim.config
    sim.control.call("PUT", f"/accounts/{cfg.account_id}/limits", {"host_daily": 1})
    client = zoom(sim, limiter=limiter())
    host = owner_id(sim)
    midnight_before = next_utc_midnight(datetime.now(UTC))
    create(client, "meeting", host)
    with pytest.raises(ZoomRateLimited) as limited:
        create(client, "meeting", host)
    error = limited.value
    assert error.status == 429
    assert error.daily is True
    assert error.retry_at in (midnight_before, next_utc_midnight(datetime.now(UTC)))
    assert error.retry_at.utcoffset() == timedelta(0)


def test_a_per_second_429_on_a_create_is_refunded_to_the_host_and_the_accounts_record(sim):
    cfg = sim.sim.config
    sim.control.call("PUT", f"/accounts/{cfg.account_id}/limits", {"light": 1})
    budget = limiter(max_sleep=0)
    client = zoom(sim, limiter=budget)
    host = owner_id(sim)
    create(client, "meeting", host)
    with pytest.raises(ZoomRateLimited) as limited:
        create(client, "meeting", host)
    assert limited.value.daily is False
    assert budget.host_budget_used(host) == 1
    assert budget.headroom(cfg.account_id).hosts == ((host, 1),)


def _daily_refusal(sim, budget: RedisLimiter) -> tuple[ZoomRateLimited, str]:
    """A host allowed one create a day makes two: Zoom's refusal of the second, and the host."""
    sim.control.call("PUT", f"/accounts/{sim.sim.config.account_id}/limits", {"host_daily": 1})
    client = zoom(sim, limiter=budget)
    host = owner_id(sim)
    create(client, "meeting", host)
    with pytest.raises(ZoomRateLimited) as limited:
        create(client, "meeting", host)
    assert limited.value.daily is True
    return limited.value, host


def test_a_daily_429_puts_the_host_at_the_cap_in_the_accounts_record(sim):
    budget = limiter()
    _, host = _daily_refusal(sim, budget)
    assert budget.host_budget_used(host) == 100  # Zoom's count wins over ours
    assert budget.headroom(sim.sim.config.account_id).hosts == ((host, 100),)


def test_a_daily_429_from_a_zoom_still_in_yesterday_leaves_our_new_day_whole(sim):
    # Zoom's clock still in yesterday, as when it lags ours just after our midnight: its refusal is for the
    # day we left.
    now = datetime.now(UTC)
    our_midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    zoom_behind = (our_midnight - now).total_seconds() - 30
    sim.control.call("POST", "/clock", {"advance": zoom_behind})  # Zoom: 23:59:30 yesterday
    budget = limiter()
    error, host = _daily_refusal(sim, budget)
    assert error.spent_day == our_midnight.date() - timedelta(days=1)
    assert datetime.now(UTC) < error.retry_at <= datetime.now(UTC) + RESET_SKEW_WAIT  # shortly, not tomorrow
    assert budget.host_budget_used(host) == 1  # the create Zoom took; the one it refused is given back
    budget.spend_host(host)  # today's budget is still ours


def test_daily_host_cap_holds_back_neither_other_hosts_nor_other_calls(sim):
    # Zoom: the 100 creates/updates a day are counted "against the userId of the meeting host"
    cfg = sim.sim.config
    sim.control.call("PUT", f"/accounts/{cfg.account_id}/limits", {"host_daily": 1})
    client = zoom(sim, limiter=limiter())
    host = owner_id(sim)
    meeting_id = create(client, "meeting", host)["id"]
    with pytest.raises(ZoomRateLimited):
        create(client, "meeting", host)
    assert client.get("meeting", meeting_id)["id"] == meeting_id
    other = add_host(sim, "other-host@zoomsim.example")
    assert create(client, "meeting", other)["host_id"] == other


# --- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "html"), [(503, True), (502, True), (504, True), (500, False)])
def test_a_5xx_is_unavailable_and_not_retried(sim, status, html):
    sim.control.fault(kind="status", status=status, count=1, path="/v2/users")
    with pytest.raises(ZoomUnavailable) as unavailable:
        zoom(sim).user()
    assert unavailable.value.status == status
    assert unavailable.value.code == (None if html else 500)
    [logged] = api_requests(sim, "/users/")
    assert logged["fault"] is True


def test_a_dropped_connection_is_unavailable(sim):
    sim.control.fault(kind="drop", count=1, path="/v2/users")
    with pytest.raises(ZoomUnavailable) as unavailable:
        zoom(sim).user()
    assert unavailable.value.status is None
    assert isinstance(unavailable.value.__cause__, requests.ConnectionError)


def test_latency_beyond_the_read_timeout_is_unavailable(sim):
    sim.control.fault(kind="latency", latency=1.0, count=1, path="/v2/users")
    client = zoom(sim, timeout=(2, 0.3))
    with pytest.raises(ZoomUnavailable) as unavailable:
        client.user()
    assert unavailable.value.status is None
    assert isinstance(unavailable.value.__cause__, requests.Timeout)
    wait_for_request(sim, "/users/", 1)  # let the slow answer finish before the next test resets the world
    assert client.user()["id"] == owner_id(sim)


def test_the_simulator_stopped_is_unavailable():
    gone = serve_in_thread(SimConfig(control=True, spec_dir=default_spec_dir()))
    url, cfg = gone.url, gone.sim.config
    gone.stop()
    client = ZoomClient(f"{url}/v2", lambda refresh: "any", cfg.account_id, timeout=(1, 1))
    with pytest.raises(ZoomUnavailable) as unavailable:
        client.user()
    assert unavailable.value.status is None
    oauth = OAuthClient(url, cfg.s2s_client_id, cfg.s2s_client_secret, timeout=(1, 1))
    with pytest.raises(ZoomUnavailable):
        oauth.account_token(cfg.account_id)


@pytest.fixture
def redirector(sim) -> Iterator[str]:
    """A server that answers every GET with a redirect to the simulator."""
    target = sim.url

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(302)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_redirect_is_not_followed(sim, redirector):
    client = ZoomClient(f"{redirector}/v2", Tokens(sim), sim.sim.config.account_id)
    with pytest.raises(ZoomRejected) as rejected:
        client.user()
    assert rejected.value.status == 302
    assert api_requests(sim) == []  # the bearer token never went to the redirect's target


# --- OAuth ---------------------------------------------------------------------------------


def user_oauth(running: RunningSimulator, secret: str | None = None) -> OAuthClient:
    cfg = running.sim.config
    return OAuthClient(running.url, cfg.client_id, secret or cfg.client_secret)


def authorize(running: RunningSimulator, state: str = "state-42") -> requests.Response:
    url = authorize_url(running.url, running.sim.config.client_id, REDIRECT_URI, state)
    return requests.get(url, allow_redirects=False, timeout=10)


def code_for(running: RunningSimulator) -> str:
    location = authorize(running).headers["Location"]
    return parse_qs(urlsplit(location).query)["code"][0]


def test_authorize_url_redirects_with_a_code_and_the_state(sim):
    answer = authorize(sim, state="state-ü 42")
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["state-ü 42"]
    assert query["code"][0]


def test_exchange_code_gives_a_token_set_with_a_refresh_token(sim):
    tokens = user_oauth(sim).exchange_code(code_for(sim), REDIRECT_URI)
    assert isinstance(tokens, TokenSet)
    assert tokens.access_token and tokens.refresh_token
    assert tokens.scopes and all(tokens.scopes)
    now = datetime.now(UTC)
    assert now + timedelta(minutes=55) < tokens.expires_at <= now + timedelta(hours=1)
    me = ZoomClient(f"{sim.url}/v2", lambda refresh: tokens.access_token, sim.sim.config.account_id).user()
    assert me["id"] == owner_id(sim)
    [grant] = [r for r in sim.control.requests() if r["path"] == "/oauth/token"]
    assert grant["body"]["grant_type"] == "authorization_code"
    assert grant["headers"]["authorization"].startswith("Basic ")
    assert "code" not in parse_qs(grant["query"])  # the code went in the form body, not the URL


def test_a_code_works_once(sim):
    oauth = user_oauth(sim)
    code = code_for(sim)
    oauth.exchange_code(code, REDIRECT_URI)
    with pytest.raises(OAuthRefused) as refused:
        oauth.exchange_code(code, REDIRECT_URI)
    assert refused.value.status == 400
    assert refused.value.error == "invalid_request"


def test_refresh_rotates_the_refresh_token(sim):
    oauth = user_oauth(sim)
    first = oauth.exchange_code(code_for(sim), REDIRECT_URI)
    second = oauth.refresh(first.refresh_token)
    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    with pytest.raises(OAuthRefused) as refused:
        oauth.refresh(first.refresh_token)
    assert (refused.value.status, refused.value.error) == (400, "invalid_request")
    third = oauth.refresh(second.refresh_token)
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


def test_account_token_is_a_server_to_server_token(sim):
    cfg = sim.sim.config
    tokens = OAuthClient(sim.url, cfg.s2s_client_id, cfg.s2s_client_secret).account_token(cfg.account_id)
    assert tokens.access_token
    assert tokens.refresh_token is None
    assert tokens.scopes
    client = ZoomClient(f"{sim.url}/v2", lambda refresh: tokens.access_token, cfg.account_id)
    assert client.user(owner_id(sim))["id"] == owner_id(sim)


def test_revoke_ends_the_authorization(sim):
    oauth = user_oauth(sim)
    tokens = oauth.exchange_code(code_for(sim), REDIRECT_URI)
    assert oauth.revoke(tokens.access_token) is None
    client = ZoomClient(f"{sim.url}/v2", lambda refresh: tokens.access_token, sim.sim.config.account_id)
    with pytest.raises(ZoomUnauthorized):
        client.user()
    with pytest.raises(OAuthRefused):
        oauth.refresh(tokens.refresh_token)


def test_a_wrong_secret_is_refused(sim):
    with pytest.raises(OAuthRefused) as refused:
        user_oauth(sim, secret="not-the-secret").exchange_code(code_for(sim), REDIRECT_URI)
    assert (refused.value.status, refused.value.error) == (401, "invalid_client")
    cfg = sim.sim.config
    with pytest.raises(OAuthRefused) as refused:
        OAuthClient(sim.url, cfg.s2s_client_id, "wrong").account_token(cfg.account_id)
    assert refused.value.status == 401


def test_oauth_server_5xx_is_unavailable(sim):
    cfg = sim.sim.config
    sim.control.fault(kind="status", status=503, count=1, path="/oauth/token")
    oauth = OAuthClient(sim.url, cfg.s2s_client_id, cfg.s2s_client_secret)
    with pytest.raises(ZoomUnavailable) as unavailable:
        oauth.account_token(cfg.account_id)
    assert unavailable.value.status == 503
    assert oauth.account_token(cfg.account_id).access_token  # the next try goes through


def test_oauth_dropped_connection_is_unavailable(sim):
    cfg = sim.sim.config
    sim.control.fault(kind="drop", count=1, path="/oauth/token")
    with pytest.raises(ZoomUnavailable):
        OAuthClient(sim.url, cfg.s2s_client_id, cfg.s2s_client_secret).account_token(cfg.account_id)
