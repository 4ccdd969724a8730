"""The admin pages in a real browser: the login, the chart, an event and its replay, the queue dashboard.

tests/integration/test_admin.py checks what the server answers; these check what a person sees, and that
every page works under its strict CSP (no console error, no blocked resource, no script error).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from admin import charts
from tests.browser.conftest import PASSWORD, log_in
from tests.helpers import deliver, fixture
from workers.queues import MAINTENANCE_QUEUE, QUEUE_NAMES, enqueue_notifications, queue, request_push

LOGIN = "/admin/login"
# Values for the URL parameters of admin rules; ids of seeded rows are filled in from the site.
PARAMETERS = {
    "instance_number": "0",
    "queue_name": "reconcile",
    "registry_name": "queued",
    "per_page": "8",
    "order": "asc",
    "page": "1",
    "job_id": "no-such-job",
}


def _path(page) -> str:
    return urlsplit(page.url).path


def _admin_urls(site) -> list[str]:
    """Every GET page under /admin but the login and static files, with seeded ids in its parameters."""
    values = {**PARAMETERS, "event_id": str(site.failed_event_id), "training_id": str(site.training_id)}
    urls = {"/admin/rq", "/admin/rq/0/view/jobs"}
    for rule in site.app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods:
            continue
        if rule.endpoint == "admin.login" or rule.endpoint.endswith("static"):
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"no test value for {missing} of {rule.rule}: add it to PARAMETERS"
        urls.add(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule))
    return sorted(urls)


def test_every_admin_url_sends_a_stranger_to_the_login(site, stranger, shot):
    page = stranger.page
    urls = _admin_urls(site)
    assert {"/admin/", "/admin/events", "/admin/rq", "/admin/rq/0/view/jobs"} <= set(urls)
    not_guarded = []
    for url in urls:
        answer = page.goto(url)
        if _path(page) != LOGIN or answer.status != 200 or page.locator("input[name=password]").count() != 1:
            not_guarded.append(f"{url} -> {page.url} ({answer.status})")
    assert not_guarded == [], "\n".join(not_guarded)
    shot(page, "login")
    stranger.assert_clean()


def test_logging_in_through_the_form_returns_to_the_page_asked_for(site, stranger, shot):
    page = stranger.page
    page.goto("/admin/events")
    assert _path(page) == LOGIN
    log_in(page, password="not " + PASSWORD)
    assert page.locator("p.error").inner_text() == "Wrong username or password."
    shot(page, "login-refused")
    log_in(page)
    page.wait_for_url("**/admin/events")
    assert page.locator("h1").inner_text() == "Webhook events"
    assert page.locator("button:has-text('Log out')").is_visible()
    # Chromium logs the refused login's 401 as a failed load: that answer is the refusal asked for, nothing broke.
    refusal = f"status of 401 (UNAUTHORIZED) ({site.url}{LOGIN})"
    stranger.problems[:] = [problem for problem in stranger.problems if not problem.endswith(refusal)]
    stranger.assert_clean()


def test_the_overview_draws_the_intake_chart_with_data(admin, shot):
    page = admin.page
    page.goto("/admin/")
    series = page.locator("svg.chart polyline.series")
    assert series.count() == 3  # meeting.started, meeting.participant_joined, meeting.participant_left
    joined = page.locator("svg.chart polyline.series", has=page.locator("title", has_text="participant_joined"))
    points = [tuple(map(float, point.split(","))) for point in joined.get_attribute("points").split()]
    assert len(points) == charts.MINUTES
    peaks = {round(x) for x, y in points if y < charts.HEIGHT}
    assert len(peaks) == 6, peaks  # one join just now, five spread over the last five hours
    box = joined.bounding_box()
    assert box and box["width"] > 900 and box["height"] > 10  # drawn across the chart, and not flat
    assert joined.evaluate("e => getComputedStyle(e).stroke") not in ("none", "")  # admin.css applied
    legend = page.locator("ul.legend li").all_inner_texts()
    assert "meeting.participant_joined: 6" in legend and "meeting.started: 1" in legend, legend
    connection = page.locator("tr.status-connected", has_text="Browser Academy").inner_text()
    assert "light: 30 of 30/s free" in connection and "heavy: 10 of 10/s free" in connection
    assert "blocked until" in connection and "host host-browser: 3 of 100" in connection
    shot(page, "overview")
    admin.assert_clean()


def test_an_event_opens_from_the_events_list_with_its_raw_body(site, admin, shot):
    page = admin.page
    page.goto("/admin/events")
    assert page.locator("table.events tr[class^=status-]").count() == 8  # every event seeded is listed
    shot(page, "events")
    event_id = site.joined_event_ids[0]
    page.click(f"table.events a[href='/admin/events/{event_id}']")
    page.wait_for_url(f"**/admin/events/{event_id}")
    assert page.locator("h1").inner_text() == f"Event {event_id}: meeting.participant_joined"
    body = page.locator("pre.body").inner_text()
    assert '"event": "meeting.participant_joined"' in body and '"user_name": "Ada Learner"' in body
    shot(page, "event")
    admin.assert_clean()


def test_replaying_a_failed_event_gets_it_processed(site, admin, shot):
    page = admin.page
    page.goto("/admin/events")
    page.select_option("select[name=status]", "failed")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**/admin/events?*status=failed*")
    page.click(f"table.events a[href='/admin/events/{site.failed_event_id}']")
    status = page.locator("dl.facts dt:text-is('status') + dd")
    assert status.inner_text() == "failed"
    assert "RuntimeError: database hiccup" in page.locator("table.tries").inner_text()
    with page.expect_navigation():
        page.click("button:has-text('Replay this event')")
    assert page.locator("p.flash").inner_text() == f"Event {site.failed_event_id} is queued again."
    assert status.inner_text() == "pending"
    assert site.run_jobs() >= 1  # a worker takes the queued reconcile
    page.reload()
    assert status.inner_text() == "processed"
    assert "gave up: failed" in page.locator("table.tries").inner_text()  # the history stays
    shot(page, "event-replayed")
    admin.assert_clean()


def test_outbound_and_trainings_open_from_the_navigation(site, admin, shot):
    page = admin.page
    page.goto("/admin/")
    page.click("header nav a:has-text('Outbound')")
    page.wait_for_url("**/admin/outbound")
    assert page.locator("h1").inner_text() == "Pushes to Zoom"
    shot(page, "outbound")
    page.click("header nav a:has-text('Trainings')")
    page.wait_for_url("**/admin/trainings")
    assert page.locator("h1").inner_text() == "Trainings"
    shot(page, "trainings")
    page.click(f"a[href='/admin/trainings/{site.training_id}']")
    page.wait_for_url(f"**/admin/trainings/{site.training_id}")
    assert page.locator("h1").inner_text() == f"Training {site.training_id}: LMS theme"
    assert "Guest 5" in page.locator("main").inner_text()  # its webhooks' participants, matched or not
    shot(page, "training")
    admin.assert_clean()


def test_the_queue_dashboard_lists_the_queues(site, admin, shot):
    redis = site.app.extensions["zoomsync"].redis
    # The other two queues get a job each, as the API and the sweeper give them in service.
    request_push(redis, site.training_id)
    enqueue_notifications(redis)
    site.run_jobs()
    page = admin.page
    page.goto("/admin/")
    page.click("header nav a:has-text('Queues')")
    page.wait_for_url(re.compile(r"/admin/rq/"))
    rows = page.locator("table#queues tr[data-role=queue]")
    rows.first.wait_for()  # drawn by its script from /admin/rq/0/data/queues.json
    names = [row.locator("td").first.inner_text().strip() for row in rows.all()]
    assert sorted(names) == sorted(QUEUE_NAMES), names
    shot(page, "rq")
    admin.assert_clean()


HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


def fails_with_hostile_text() -> None:
    """A job whose exception text carries markup, as a Zoom error echoing a meeting's topic could."""
    raise RuntimeError(f"Zoom said: {HOSTILE}")


def test_the_queue_dashboard_shows_a_jobs_hostile_exception_as_text_and_runs_none_of_it(site, admin, shot):
    redis = site.app.extensions["zoomsync"].redis
    job = queue(redis, MAINTENANCE_QUEUE).enqueue(fails_with_hostile_text)
    site.run_jobs()
    page = admin.page
    page.goto(f"/admin/rq/0/view/jobs/{MAINTENANCE_QUEUE}/failed/8/asc/1")
    page.locator(f"text={job.id}").first.wait_for()  # the failed list, drawn by its script
    page.goto(f"/admin/rq/0/view/job/{job.id}")
    shown = page.locator("pre.exc_info")
    shown.wait_for()
    page.wait_for_function("document.querySelector('pre.exc_info').textContent.includes('Zoom said')")
    assert f"RuntimeError: Zoom said: {HOSTILE}" in shown.inner_text()  # the original text, as text
    assert shown.locator("img, script").count() == 0 and page.evaluate("window.pwned") is None
    shot(page, "rq-failed-job")
    admin.assert_clean()


def _joined_count(page) -> int:
    legend = page.locator("ul.legend li", has_text="meeting.participant_joined").inner_text()
    return int(legend.rsplit(":", 1)[1])


def test_the_overview_refreshes_itself_without_a_reload(site, admin, shot):
    page = admin.page
    page.clock.install()  # the page's timers run on a clock the test moves
    page.goto("/admin/")
    before = _joined_count(page)
    page.evaluate("window.__sameDocument = true")
    body = fixture("meeting.participant_joined")
    body["event_ts"] += 99_000
    body["payload"]["object"]["participant"].update(user_id="999", participant_uuid="PU-late", user_name="Late Guest")
    assert deliver(site.app.test_client(), body).status_code == 200
    page.clock.run_for(16_000)  # past the 15 s period: one refresh
    page.wait_for_function(
        "n => [...document.querySelectorAll('ul.legend li')].some(li => li.textContent.includes(': ' + n))",
        arg=before + 1,
    )
    assert _joined_count(page) == before + 1
    assert page.evaluate("window.__sameDocument") is True  # swapped in place, not reloaded
    assert page.locator("[data-refresh-status]").inner_text().startswith("updated ")
    shot(page, "overview-refreshed")
    admin.assert_clean()
