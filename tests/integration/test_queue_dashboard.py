"""rq-dashboard at /admin/rq, on both stacks: behind our login and CSRF, no inline script, inert job text.

The browser test (tests/browser) checks that its pages really render and run
under the CSP; these check what the server promises on every request.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from rq import Queue

from admin.queue_dashboard import CONTENT_SECURITY_POLICY
from tests.helpers import csrf_token, run_jobs
from tests.integration.test_admin import PASSWORD, USERNAME, _login
from workers.job_safety import UnsafeJob
from workers.queues import MAINTENANCE_QUEUE, QUEUE_NAMES, RECONCILE_QUEUE, queue

HOSTILE = '<img src=x onerror="window.pwned=1">'
PAGES = ("/admin/rq/", "/admin/rq/0/view/jobs", "/admin/rq/0/view/workers")


@pytest.fixture
def settings(settings):
    return replace(settings, admin_username=USERNAME, admin_password=PASSWORD, admin_cookie_secure=False)


@pytest.fixture
def redis(app):
    return app.extensions["zoomsync"].redis


@pytest.fixture
def admin(client):
    assert _login(client).status_code == 302
    return client


def _token(admin) -> str:
    return csrf_token(admin.get("/admin/events").data)


def fails_with_hostile_text() -> None:
    raise RuntimeError(f"Zoom said: {HOSTILE} & more")


def returns_hostile_text() -> dict:
    return {"topic": HOSTILE, "count": 3}


# --- the gate --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/admin/rq/0/data/queues.json", "/admin/rq/static/js/jquery-3.5.1.min.js"])
def test_no_dashboard_page_answers_without_a_session(client, path):
    answer = client.get(path)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/admin/login")


@pytest.mark.parametrize(
    "path", ["/admin/rq/requeue/reconcile", "/admin/rq/queue/reconcile/queued/empty", "/admin/rq/job/x/delete"]
)
def test_no_dashboard_action_runs_without_a_session(client, path):
    token = csrf_token(client.get("/admin/login").data)
    answer = client.post(path, headers={"X-CSRF-Token": token})
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/admin/login")


def test_requeue_all_answers_post_only(admin):
    assert admin.get("/admin/rq/requeue/reconcile").status_code == 405


def test_a_dashboard_action_without_the_csrf_token_is_refused_and_changes_nothing(app, admin, redis):
    queue(redis, RECONCILE_QUEUE).enqueue("workers.sweeper.sweep_inbox")
    assert admin.post("/admin/rq/queue/reconcile/queued/empty").status_code == 400
    assert admin.post("/admin/rq/queue/reconcile/queued/empty", headers={"X-CSRF-Token": "forged"}).status_code == 400
    assert Queue(RECONCILE_QUEUE, connection=redis).count == 1


def test_with_the_token_its_actions_work_on_the_services_redis(app, admin, redis):
    queue(redis, RECONCILE_QUEUE).enqueue("workers.sweeper.sweep_inbox")
    answer = admin.post("/admin/rq/queue/reconcile/queued/empty", headers={"X-CSRF-Token": _token(admin)})
    assert answer.status_code == 200 and answer.json == {"status": "OK"}
    assert Queue(RECONCILE_QUEUE, connection=redis).count == 0


def test_requeue_all_puts_failed_jobs_back(app, admin, redis):
    job = queue(redis, MAINTENANCE_QUEUE).enqueue(fails_with_hostile_text)
    run_jobs(app)
    assert job.get_status() == "failed"
    answer = admin.post(f"/admin/rq/requeue/{MAINTENANCE_QUEUE}", headers={"X-CSRF-Token": _token(admin)})
    assert answer.json == {"status": "OK", "count": 1} and job.get_status(refresh=True) == "queued"


@pytest.mark.parametrize("path", ["/admin/rq/0/view/job/gone", "/admin/rq/0/data/job/gone.json"])
def test_a_job_no_longer_in_redis_is_a_404(admin, path):
    assert admin.get(path).status_code == 404


def test_only_the_services_own_redis_is_offered(admin):
    assert admin.get("/admin/rq/1/view/queues").status_code == 404


# --- the pages -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_its_pages_render_without_inline_script_under_our_policy(admin, path):
    answer = admin.get(path)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, flags=re.S)
    executable = [(attrs, body) for attrs, body in scripts if "text/template" not in attrs]
    assert executable and all("src=" in attrs and not body.strip() for attrs, body in executable)
    assert f'src="{path}?script=1"' in page
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert answer.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", PAGES)
def test_each_pages_script_is_served_from_its_own_url(admin, path):
    answer = admin.get(f"{path}?script=1")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    body = answer.get_data(as_text=True)
    assert "<html" not in body and "POLL_INTERVAL" in body


def test_the_queues_data_lists_our_queues(admin, redis):
    for name in QUEUE_NAMES:
        queue(redis, name).enqueue("workers.sweeper.sweep_inbox")
    listed = {q["name"]: q["count"] for q in admin.get("/admin/rq/0/data/queues.json").json["queues"]}
    assert listed == dict.fromkeys(QUEUE_NAMES, 1)


# --- what it shows unescaped stays inert (#526) ----------------------------------------------------------------


def test_a_failed_jobs_exception_text_is_stored_escaped(app, admin, redis):
    job = queue(redis, MAINTENANCE_QUEUE).enqueue(fails_with_hostile_text)
    run_jobs(app)
    shown = admin.get(f"/admin/rq/0/data/job/{job.id}.json").json
    assert (
        "<img" not in shown["exc_info"]
        and "&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt; &amp; more" in (shown["exc_info"])
    )
    listed = admin.get(f"/admin/rq/0/data/jobs/{MAINTENANCE_QUEUE}/failed/8/asc/1.json").json["jobs"]
    assert [j["id"] for j in listed] == [job.id] and "<img" not in listed[0]["exc_info"]


def test_a_jobs_result_is_stored_escaped(app, admin, redis):
    job = queue(redis, MAINTENANCE_QUEUE).enqueue(returns_hostile_text)
    run_jobs(app)
    shown = admin.get(f"/admin/rq/0/data/job/{job.id}.json").json
    assert shown["result"] == {"topic": "&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;", "count": 3}


@pytest.mark.parametrize(
    "args, options",
    [
        (("123",), {}),
        ((HOSTILE,), {}),
        ((1.5,), {}),
        ((True,), {}),
        ((1,), {"description": HOSTILE}),
        ((1,), {"description": "a &amp; b"}),
        ((1,), {"meta": {"topic": "x"}}),
    ],
)
def test_our_queues_refuse_jobs_carrying_anything_but_ids(redis, args, options):
    with pytest.raises(UnsafeJob):
        queue(redis, RECONCILE_QUEUE).enqueue("workers.sweeper.sweep_inbox", *args, **options)
    assert Queue(RECONCILE_QUEUE, connection=redis).count == 0


def test_keyword_arguments_are_refused_too(redis):
    with pytest.raises(UnsafeJob):
        queue(redis, RECONCILE_QUEUE).enqueue_call("workers.sweeper.sweep_inbox", kwargs={"topic": "x"})


def test_ids_and_our_descriptions_pass(redis):
    job = queue(redis, RECONCILE_QUEUE).enqueue(
        "workers.reports.pull_report", 7, description="read Zoom's participant report of training 7"
    )
    assert job.args == [7] or job.args == (7,)
