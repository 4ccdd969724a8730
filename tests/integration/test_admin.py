"""The admin pages over HTTP (Flask's test client), on both stacks: login, CSRF, headers, the inbox and replay,
and the overview's Zoom limits and its refresh script.

Browser tests (a real Chromium) come with the dashboards' scripts; these check
what the server promises on every request.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from models import Academy, InboxEvent, ZoomConnection
from service.app import create_app
from tests.helpers import csrf_token, deliver, fixture, run_jobs, unreachable_redis
from tests.integration.test_reconcile import Lms
from workers import handlers
from zoomapi import limiter as limiter_module
from zoomapi.categories import HEAVY, LIGHT, MEDIUM
from zoomapi.limiter import RedisLimiter

USERNAME, PASSWORD = "ops", "correct horse battery staple"
GUARDED_GETS = ("/admin/", "/admin/events", "/admin/events/1")
GUARDED_POSTS = ("/admin/events/1/replay", "/admin/events/replay")


@pytest.fixture
def settings(settings):
    return replace(settings, admin_username=USERNAME, admin_password=PASSWORD, admin_cookie_secure=False)


def _login(client, username: str = USERNAME, password: str = PASSWORD, next_page: str = ""):
    token = csrf_token(client.get("/admin/login").data)
    return client.post(
        "/admin/login", data={"csrf_token": token, "username": username, "password": password, "next": next_page}
    )


@pytest.fixture
def admin(client):
    assert _login(client).status_code == 302
    return client


def _post(client, path: str, **data):
    token = csrf_token(client.get("/admin/events").data)
    return client.post(path, data={"csrf_token": token, **data})


# --- login and its guards -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GUARDED_GETS)
def test_every_page_sends_a_stranger_to_the_login(client, path):
    answer = client.get(path)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/admin/login")


@pytest.mark.parametrize("path", GUARDED_POSTS)
def test_no_action_runs_without_a_session(client, path):
    token = csrf_token(client.get("/admin/login").data)  # even with a valid CSRF token of an anonymous session
    answer = client.post(path, data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/admin/login")


def test_logging_in_opens_the_pages_and_goes_where_it_was_asked(client):
    answer = _login(client, next_page="/admin/events")
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/events"
    assert client.get("/admin/events").status_code == 200
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/api/v1/users", "/admin\\..\\x"])
def test_after_login_only_admin_pages_are_a_destination(client, target):
    answer = _login(client, next_page=target)
    assert answer.headers["Location"] == "/admin/"


def test_a_wrong_password_or_username_is_refused(client):
    assert _login(client, password="wrong").status_code == 401
    assert _login(client, username="root").status_code == 401
    assert client.get("/admin/").status_code == 302


def test_failed_logins_are_limited_per_address_and_then_even_the_right_password_waits(client, settings):
    for _ in range(settings.admin_login_attempts):
        assert _login(client, password="guess").status_code == 401
    answer = _login(client)
    assert answer.status_code == 429 and b"Too many failed logins" in answer.data
    assert client.get("/admin/").status_code == 302


def test_behind_a_trusted_proxy_failed_logins_are_counted_per_client_not_per_proxy(backend, settings):
    engine, redis = backend
    app = create_app(replace(settings, proxy_hops=1, admin_login_attempts=2), engine=engine, redis=redis)
    attacker, colleague = app.test_client(), app.test_client()
    for _ in range(2):
        token = csrf_token(attacker.get("/admin/login").data)
        data = {"csrf_token": token, "username": USERNAME, "password": "guess"}
        assert attacker.post("/admin/login", data=data, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401
    token = csrf_token(colleague.get("/admin/login").data)
    data = {"csrf_token": token, "username": USERNAME, "password": PASSWORD}
    assert colleague.post("/admin/login", data=data, headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 302
    token = csrf_token(attacker.get("/admin/login").data)
    data = {"csrf_token": token, "username": USERNAME, "password": PASSWORD}
    assert attacker.post("/admin/login", data=data, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(client, settings):
    for n in range(settings.admin_login_attempts):
        token = csrf_token(client.get("/admin/login").data)
        data = {"csrf_token": token, "username": USERNAME, "password": "guess"}
        client.post("/admin/login", data=data, headers={"X-Forwarded-For": f"192.0.2.{n}"})
    assert _login(client).status_code == 429


def test_logging_out_ends_the_session(admin):
    token = csrf_token(admin.get("/admin/").data)
    assert admin.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert admin.get("/admin/").status_code == 302


def test_the_session_cookie_is_httponly_strict_and_scoped(client):
    cookie = _login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie


def test_the_cookie_is_secure_unless_switched_off(backend, settings):
    engine, redis = backend
    app = create_app(replace(settings, admin_cookie_secure=True), engine=engine, redis=redis)
    cookie = app.test_client().get("/admin/login").headers["Set-Cookie"]
    assert "Secure" in cookie


def test_without_credentials_configured_the_pages_are_off(backend, settings):
    engine, redis = backend
    app = create_app(replace(settings, admin_password=""), engine=engine, redis=redis)
    client = app.test_client()
    answer = client.get("/admin/login")
    assert answer.status_code == 503 and b"ADMIN_PASSWORD" in answer.data
    assert client.get("/admin/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(admin):
    assert admin.post("/admin/events/replay").status_code == 400
    assert admin.post("/admin/events/replay", data={"csrf_token": "forged"}).status_code == 400
    assert admin.post("/admin/logout").status_code == 400


def test_every_answer_carries_the_security_headers(client, admin):
    for path in ("/admin/login", "/admin/", "/admin/events"):
        headers = admin.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"


# --- the inbox ------------------------------------------------------------------------------------------------


def _failing_meeting_started(client, app, monkeypatch) -> None:
    """A meeting.started whose handler fails until it is replayed; other events go through."""

    def broken(ctx, event):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(handlers.HANDLERS, "meeting.started", broken)
    Lms(client).training()
    for name in ("meeting.started", "meeting.participant_joined"):
        assert deliver(client, fixture(name)).status_code == 200
    app.extensions["zoomsync"].settings = replace(app.extensions["zoomsync"].settings, max_event_attempts=1)
    run_jobs(app)


def test_the_events_page_lists_and_filters_the_inbox(app, client, admin, monkeypatch):
    _failing_meeting_started(client, app, monkeypatch)
    everything = admin.get("/admin/events").data
    assert b"meeting.started" in everything and b"meeting.participant_joined" in everything
    failed = admin.get("/admin/events?status=failed").data
    assert b"<td>meeting.started</td>" in failed and b"<td>meeting.participant_joined</td>" not in failed
    assert b"database hiccup" in failed
    by_type = admin.get("/admin/events?type=meeting.participant_joined").data
    assert b"<td>meeting.participant_joined</td>" in by_type and b"<td>meeting.started</td>" not in by_type
    assert b"No event matches" in admin.get("/admin/events?meeting=1").data
    assert b"No event matches" in admin.get("/admin/events?since=2999-01-01T00:00").data
    assert admin.get("/admin/events?meeting=abc").status_code == 400
    assert admin.get("/admin/events?status=lost").status_code == 400


def test_an_events_detail_shows_body_headers_and_dedupe_key_escaped(app, client, admin, session_factory):
    body = fixture("meeting.participant_joined")
    body["payload"]["object"]["participant"]["user_name"] = "<script>alert(1)</script>"
    assert deliver(client, body).status_code == 200
    with session_factory() as session:
        row = session.query(InboxEvent).one()
        event_id, dedupe_key = row.id, row.dedupe_key
    page = admin.get(f"/admin/events/{event_id}").data
    assert dedupe_key.encode() in page and b"x-zm-request-timestamp" in page
    assert b"x-zm-signature" not in page  # never stored: it would help guess a weak secret offline
    assert b"<script>alert(1)</script>" not in page and b"&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert admin.get("/admin/events/99999").status_code == 404


def test_replaying_one_failed_event_gets_it_processed(app, client, admin, monkeypatch):
    _failing_meeting_started(client, app, monkeypatch)
    monkeypatch.setitem(handlers.HANDLERS, "meeting.started", handlers.on_started)
    page = admin.get("/admin/events?status=failed").data
    event_id = int(re.search(rb'href="/admin/events/(\d+)"', page).group(1))
    answer = _post(admin, f"/admin/events/{event_id}/replay")
    assert answer.status_code == 302
    failed_detail = admin.get(f"/admin/events/{event_id}").data.decode()
    assert "<td>RuntimeError: database hiccup</td><td>gave up: failed</td>" in failed_detail
    run_jobs(app)
    detail = admin.get(f"/admin/events/{event_id}").data
    assert b'class="status-processed">processed' in detail
    assert b"gave up: failed" in detail  # the history stays


def test_replaying_the_failed_events_a_filter_matches(app, client, admin, monkeypatch):
    _failing_meeting_started(client, app, monkeypatch)
    monkeypatch.setitem(handlers.HANDLERS, "meeting.started", handlers.on_started)
    answer = _post(admin, "/admin/events/replay", type="meeting.started")
    assert answer.status_code == 302 and "type=meeting.started" in answer.headers["Location"]
    assert b"1 failed event(s) queued again, for 1 meeting(s)" in admin.get(answer.headers["Location"]).data
    run_jobs(app)
    assert b"No event matches" in admin.get("/admin/events?status=failed").data


def test_the_overview_counts_the_inbox_and_the_queues(app, client, admin, monkeypatch):
    _failing_meeting_started(client, app, monkeypatch)
    page = admin.get("/admin/").data.decode()
    assert 'href="/admin/events?status=failed">1</a>' in page
    assert "<td>reconcile</td>" in page


def test_the_overview_charts_todays_intake_and_the_processing_lag(app, client, admin):
    Lms(client).training()
    for name in ("meeting.started", "meeting.participant_joined", "meeting.participant_left"):
        assert deliver(client, fixture(name)).status_code == 200
    run_jobs(app)
    page = admin.get("/admin/").data.decode()
    assert page.count('<polyline class="series') == 3
    assert "meeting.participant_joined: 1" in page and "meeting.started: 1" in page
    lag = re.search(r"Processing lag.*?</p>", page, re.S)
    assert lag, page
    assert "3 processed event(s)" in lag.group(0) and "p50" in lag.group(0), lag.group(0)
    assert "No academy is connected to Zoom." in page


# --- the overview's Zoom limits -------------------------------------------------------------------------------

ACCOUNT = "acct-overview"


def _connect(session_factory, account: str | None = ACCOUNT, plan: str = "pro") -> None:
    """An academy connected to a Zoom account (the row the overview lists; no call to Zoom needed)."""
    with session_factory() as session:
        academy = Academy(name=f"Academy of {account}")
        session.add(academy)
        session.flush()
        session.add(ZoomConnection(academy_id=academy.id, kind="server_to_server", account_id=account, rate_plan=plan))
        session.commit()


def _limiter(app, **options) -> RedisLimiter:
    return RedisLimiter(app.extensions["zoomsync"].redis, **options)


def test_the_overview_shows_the_doctors_checks_without_calling_zoom(app, admin, session_factory):
    _connect(session_factory)  # an account whose token was never had, and no webhook yet
    page = admin.get("/admin/").data.decode()
    checks = page[page.index("<h2>Checks</h2>") : page.index("<h2>Webhooks received")]
    assert '<tr class="check-fail"><td>workers</td><td>fail</td><td>no RQ worker is running' in checks
    assert "start the Procfile&#39;s worker" in checks  # the fix beside it
    assert f"no verified webhook from account {ACCOUNT} yet" in checks
    assert '<tr class="check-ok"><td>database</td>' in checks


@pytest.fixture
def long_window(monkeypatch):
    """A 30 s window for acquire and the overview alike: the page is read before the calls leave it, however slow."""
    monkeypatch.setattr(limiter_module, "WINDOW_SECONDS", 30.0)


def test_the_overview_shows_each_connections_rate_limit_headroom_on_its_plan(app, admin, session_factory, long_window):
    _connect(session_factory, plan="business")
    limiter = _limiter(app, plans={ACCOUNT: "business"}, max_sleep=0)
    for _ in range(5):
        limiter.acquire(ACCOUNT, LIGHT)
    for _ in range(40):
        limiter.acquire(ACCOUNT, HEAVY)
    page = admin.get("/admin/").data.decode()
    assert "light: 75 of 80/s free (5 used)" in page
    assert "medium: 60 of 60/s free (0 used)" in page
    assert "heavy: 0 of 40/s free (40 used)" in page
    assert "blocked until" not in page


def test_the_overview_shows_a_blocked_category_and_until_when(app, admin, session_factory):
    _connect(session_factory)
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    _limiter(app).block(ACCOUNT, MEDIUM, until)
    page = admin.get("/admin/").data.decode()
    shown = (
        f'medium: 20 of 20/s free (0 used), <span class="blocked">blocked until {until:%Y-%m-%d %H:%M:%S} UTC</span>'
    )
    assert shown in page
    assert page.count("blocked until") == 1  # light and heavy are not blocked


def test_the_overview_shows_the_accounts_hosts_daily_budget_busiest_first(app, admin, session_factory):
    _connect(session_factory)
    limiter = _limiter(app)
    for host, times in (("host-calm", 15), ("host-busy", 37)):
        for _ in range(times):
            limiter.spend_host(host, account_id=ACCOUNT)
    limiter.spend_host("host-elsewhere", account_id="acct-without-a-connection")
    page = admin.get("/admin/").data.decode()
    busy, calm = page.find("host host-busy: 37 of 100"), page.find("host host-calm: 15 of 100")
    assert 0 < busy < calm
    assert "account total: 52 by 2 host(s)" in page
    assert "host-elsewhere" not in page


def test_the_overview_marks_a_host_whose_daily_budget_is_spent(app, admin, session_factory):
    _connect(session_factory)
    _limiter(app).exhaust_host("host-a", datetime.now(UTC).date(), account_id=ACCOUNT)
    page = admin.get("/admin/").data.decode()
    assert '<li class="blocked">host host-a: 100 of 100</li>' in page


def test_the_overview_says_when_a_connection_has_no_zoom_account_yet(admin, session_factory):
    _connect(session_factory, account=None)
    page = admin.get("/admin/").data.decode()
    assert page.count('<td class="unknown">no Zoom account yet</td>') == 2


def test_the_overview_still_renders_with_unknown_limits_when_redis_is_down(app, admin, session_factory, monkeypatch):
    _connect(session_factory)
    svc = app.extensions["zoomsync"]
    monkeypatch.setattr(svc, "redis", unreachable_redis(svc.settings))
    answer = admin.get("/admin/")
    assert answer.status_code == 200
    page = answer.data.decode()
    assert page.count('<td class="unknown">unknown (Redis does not answer)</td>') == 2
    assert "queue depths unknown" in page
    assert ACCOUNT in page  # the connection's other columns are still there


# --- the overview's refresh -----------------------------------------------------------------------------------


def test_the_overview_loads_the_refresh_script_and_marks_what_it_refreshes(admin):
    page = admin.get("/admin/").data.decode()
    assert '<script src="/admin/static/refresh.js" defer></script>' in page
    assert re.search(r'<div id="overview" data-refresh-seconds="\d+">', page)
    assert "data-refresh-status" in page
    assert "<script>" not in page  # no inline script: the CSP allows none


def test_only_the_overview_loads_the_refresh_script(admin):
    assert b"refresh.js" not in admin.get("/admin/events").data


def test_the_refresh_script_is_served_as_javascript(client):
    answer = client.get("/admin/static/refresh.js")
    assert answer.status_code == 200
    assert "javascript" in answer.headers["Content-Type"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # so the type above must be right
    assert b"DOMParser" in answer.data and b"document.hidden" in answer.data
