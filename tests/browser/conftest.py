"""Browser tests: the admin pages in Debian's Chromium (headless), driven by Playwright, over real HTTP.

Never a downloaded browser: CHROMIUM_PATH, else /usr/bin/chromium (apt package `chromium`; .ci/run installs
it). Without it, or without the playwright package, the tests skip with the reason printed (`-ra`); under
CI=true they fail instead, like the servers of tests/conftest.py: CI can never pass by skipping.

The app, from its factory, is served over real HTTP by werkzeug on 127.0.0.1 (a free port, in a thread), on
a migrated SQLite file and a fakeredis server of its own, like the SQLite variant of tests/conftest.py's
`backend`: nothing is shared with other runs, so it is safe under xdist. RQ and rq-dashboard use that Redis;
a test runs the queued jobs in-process (a burst worker) where a worker would take them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import pytest
from flask import Flask
from werkzeug.serving import make_server

from config import load_settings
from models import Academy, InboxEvent, ZoomConnection
from service.app import create_app
from tests.conftest import ROOT, require
from tests.helpers import API_TOKEN, SECRET, SECRET_KEY, TOKEN_KEY, deliver, fixture, run_jobs
from tests.integration.test_reconcile import Lms
from workers import handlers
from zoomapi.categories import HEAVY
from zoomapi.limiter import RedisLimiter

CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS") or ROOT / "artifacts" / "browser")
USERNAME, PASSWORD = "ops", "correct horse battery staple"
TIMEOUT_MS = 10_000  # a page that is not there fails in seconds, not after Playwright's 30 s default
SHOTS: list[Path] = []

# Reports each CSP violation to Python: bindings and init scripts come through the DevTools protocol, so the
# page's own policy cannot block the reporter.
CSP_REPORTER = (
    "document.addEventListener('securitypolicyviolation', e => window.__zoomsyncCsp("
    "e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.documentURI));"
)


def _problem_with_browser() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -r requirements-dev.txt"
    return None


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium (as root: no sandbox) for the browser tests, which are one module.

    Not for the whole session: while Playwright's sync API is open, its event loop is marked as the main
    thread's running loop, which would break any later test that runs asyncio; and Chromium would idle on.
    """
    require(_problem_with_browser())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@dataclass
class Site:
    """The app served over HTTP, and the rows seeded into it."""

    url: str
    app: Flask
    training_id: int
    failed_event_id: int  # a meeting.started that failed; what broke it is fixed, so a replay succeeds
    joined_event_ids: list[int]

    def run_jobs(self) -> int:
        """What a worker would do now: every queued job, in this process."""
        return run_jobs(self.app)


def _broken(ctx, event):
    raise RuntimeError("database hiccup")


def _seed(site_app: Flask) -> tuple[int, int, list[int]]:
    """A training, its meeting's events (meeting.started failed), and joins received over the last hours."""
    client = site_app.test_client()
    svc = site_app.extensions["zoomsync"]
    training_id = Lms(client).training()
    joined = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(handlers.HANDLERS, "meeting.started", _broken)
        patch.setattr(svc, "settings", replace(svc.settings, max_event_attempts=1))
        failed_id = deliver(client, fixture("meeting.started")).json["id"]
        joined.append(deliver(client, fixture("meeting.participant_joined")).json["id"])
        assert deliver(client, fixture("meeting.participant_left")).status_code == 200
        for n in range(1, 6):
            body = fixture("meeting.participant_joined")
            body["event_ts"] += n * 1000
            person = body["payload"]["object"]["participant"]
            person.update(
                user_id=str(100 + n),
                user_name=f"Guest {n}",
                id=f"zoom-guest-{n}",
                participant_uuid=f"PU-guest-{n}",
                participant_user_id=f"zoom-guest-{n}",
                email=f"guest{n}@example.org",
            )
            joined.append(deliver(client, body).json["id"])
        run_jobs(site_app)
    _connected_academy(site_app)
    with svc.unit_of_work() as uow:  # the guests joined over the last five hours: one an hour, for the chart
        for hours, event_id in enumerate(joined[1:], start=1):
            row = uow.session.get(InboxEvent, event_id)
            row.received_at -= timedelta(hours=hours)
            row.processed_at -= timedelta(hours=hours)
        assert uow.session.get(InboxEvent, failed_id).status == "failed"
        uow.commit()
    return training_id, failed_id, joined


ACCOUNT = "acct-browser"


def _connected_academy(site_app: Flask) -> None:
    """An academy connected to a Zoom account whose limits are partly used: 3 creates by one host, heavy blocked."""
    svc = site_app.extensions["zoomsync"]
    with svc.unit_of_work() as uow:
        academy = Academy(name="Browser Academy")
        uow.session.add(academy)
        uow.session.flush()
        uow.session.add(
            ZoomConnection(academy_id=academy.id, kind="server_to_server", account_id=ACCOUNT, rate_plan="pro")
        )
        uow.commit()
    limiter = RedisLimiter(svc.redis)
    for _ in range(3):
        limiter.spend_host("host-browser", account_id=ACCOUNT)
    limiter.block(ACCOUNT, HEAVY, datetime.now(UTC) + timedelta(minutes=10))


@pytest.fixture(scope="module")
def site(sqlite_template, tmp_path_factory) -> Iterator[Site]:
    """The service on a free port of 127.0.0.1, with a plain-HTTP admin login (no Secure cookie)."""
    home = tmp_path_factory.mktemp("browser-site")
    database = home / "site.db"
    shutil.copy(sqlite_template, database)
    settings = load_settings(
        {
            "INSTANCE_DIR": str(home),
            "DATABASE_URL": f"sqlite:///{database}",
            "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET,
            "API_TOKEN": API_TOKEN,
            "SECRET_KEY": SECRET_KEY,
            "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
            "ADMIN_USERNAME": USERNAME,
            "ADMIN_PASSWORD": PASSWORD,
            "ADMIN_COOKIE_SECURE": "false",
        }
    )
    app = create_app(settings, redis=fakeredis.FakeRedis(server=fakeredis.FakeServer()))
    training_id, failed_id, joined = _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-site", daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", app, training_id, failed_id, joined)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.extensions["zoomsync"].engine.dispose()
        app.extensions["zoomsync"].redis.close()


@dataclass
class Watched:
    """A browser tab whose console errors, uncaught exceptions and CSP violations are kept."""

    page: object
    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        """The pages visited worked under their CSP: nothing blocked, no error logged, no script failed."""
        problems, self.problems[:] = list(self.problems), []
        assert problems == [], "\n".join(problems)


def _watched_tab(browser, base_url: str) -> tuple[object, Watched]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    watched = Watched(None)
    context.expose_binding("__zoomsyncCsp", lambda _source, text: watched.problems.append(f"CSP: {text}"))
    context.add_init_script(CSP_REPORTER)
    page = context.new_page()

    def console(message) -> None:
        if message.type == "error":
            watched.problems.append(f"console: {message.text} ({message.location.get('url') or page.url})")

    page.on("console", console)
    page.on("pageerror", lambda error: watched.problems.append(f"uncaught: {error} ({page.url})"))
    watched.page = page
    return context, watched


@pytest.fixture
def stranger(browser, site) -> Iterator[Watched]:
    """A fresh tab with no cookies: nobody is logged in."""
    context, watched = _watched_tab(browser, site.url)
    yield watched
    context.close()


def log_in(page, username: str = USERNAME, password: str = PASSWORD) -> None:
    """Fill in and submit the login form the page shows."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button:has-text('Log in')")


@pytest.fixture(scope="module")
def _admin_tab(browser, site) -> Iterator[Watched]:
    context, watched = _watched_tab(browser, site.url)
    watched.page.goto("/admin/login")
    log_in(watched.page)
    watched.page.wait_for_url("**/admin/")
    yield watched
    context.close()


@pytest.fixture
def admin(_admin_tab) -> Watched:
    """A tab logged in through the form (once per module); each test starts with no problem recorded."""
    _admin_tab.problems.clear()
    return _admin_tab


@pytest.fixture
def shot() -> Callable[[object, str], Path]:
    """Save a full-page screenshot of the page as a test artifact (BROWSER_ARTIFACTS, else artifacts/browser)."""

    def take(page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        SHOTS.append(path)
        print(f"screenshot: {path}")
        return path

    return take


def pytest_terminal_summary(terminalreporter) -> None:
    """Where the screenshots are: the artifacts a reviewer of a CI run looks at."""
    if SHOTS:
        terminalreporter.section("browser screenshots")
        for path in dict.fromkeys(SHOTS):
            terminalreporter.write_line(str(path))
