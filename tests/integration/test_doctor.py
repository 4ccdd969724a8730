"""The doctor against real stores: a healthy deployment is all ok, and each broken part is its own failed row.

A healthy deployment here is what the Procfile's worker leaves in Redis: an RQ worker registered on every
queue, RQ's scheduler holding each queue's lock, the cron registered and its inbox sweep run. Each test then
takes one part away (the database, Redis, the worker, a migration) and reads the row that names it.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from rq import Worker
from rq.cron import CronScheduler
from rq.scheduler import RQScheduler
from sqlalchemy import text

from models.database import make_engine
from service import doctor
from service.app import create_app
from service.services import EXTENSION_KEY
from tests.conftest import ROOT
from tests.helpers import run_jobs, unreachable_redis
from workers.queues import MAINTENANCE_QUEUE, QUEUE_NAMES, queue
from workers.sweeper import sweep_inbox


@pytest.fixture
def settings(settings):
    """The tests' settings with the admin login a deployment has."""
    return replace(settings, admin_username="admin", admin_password="a-long-password")


def _rows(app) -> dict[str, doctor.Check]:
    with app.app_context():
        return {check.name: check for check in doctor.run_checks(app.extensions[EXTENSION_KEY])}


def _not_ok(rows: dict[str, doctor.Check]) -> dict[str, str]:
    return {name: check.detail for name, check in rows.items() if check.status != "ok"}


def _running_worker(app) -> Worker:
    """What `flask worker` registers: a worker on every queue, RQ's scheduler, the cron and its first sweep."""
    redis = app.extensions[EXTENSION_KEY].redis
    worker = Worker([queue(redis, name) for name in QUEUE_NAMES], connection=redis)
    worker.register_birth()
    assert RQScheduler(QUEUE_NAMES, connection=redis).acquire_locks() == set(QUEUE_NAMES)
    cron = CronScheduler(connection=redis, name="doctor-test-cron")
    cron.register(sweep_inbox, MAINTENANCE_QUEUE, interval=15)
    cron.register_birth()
    cron.enqueue_jobs()
    assert run_jobs(app) == 1  # the sweep ran
    return worker


def test_a_healthy_deployment_is_all_ok(app):
    _running_worker(app)
    rows = _rows(app)
    assert _not_ok(rows) == {}
    assert rows["migrations"].detail.startswith("at head")
    assert "serving reconcile, outbound, maintenance" in rows["workers"].detail
    assert rows["cron"].detail.startswith("the last sweep ran")
    assert "no academy is connected yet" in rows["Zoom"].detail


def test_no_worker_fails_the_worker_scheduler_and_cron_rows(app):
    rows = _rows(app)
    assert set(_not_ok(rows)) == {"workers", "RQ's scheduler", "cron"}
    assert "no RQ worker is running" in rows["workers"].detail
    assert "flask --app service.app:create_app worker" in rows["workers"].fix


def test_a_worker_that_left_fails_the_worker_row(app):
    _running_worker(app).register_death()
    assert "no RQ worker is running" in _not_ok(_rows(app))["workers"]


def test_a_cron_that_never_swept_is_named(app):
    redis = app.extensions[EXTENSION_KEY].redis
    CronScheduler(connection=redis, name="doctor-test-cron").register_birth()
    assert _not_ok(_rows(app))["cron"] == "running, but no sweep has run yet"


def test_redis_away_fails_redis_and_what_lives_in_it(backend, settings):
    engine, _ = backend
    app = create_app(settings, engine=engine, redis=unreachable_redis(settings))
    rows = _rows(app)
    assert rows["Redis"].status == "fail" and "does not answer" in rows["Redis"].detail
    assert rows["database"].status == "ok"
    assert {"workers", "RQ's scheduler", "cron"} <= set(_not_ok(rows))


def test_the_database_away_fails_the_database_row(backend, settings):
    _, redis = backend
    app = create_app(settings, engine=make_engine("postgresql://postgres@127.0.0.1:9/test"), redis=redis)
    rows = _rows(app)
    assert rows["database"].status == "fail" and "does not answer" in rows["database"].detail
    assert rows["database"].fix == "start the database or correct DATABASE_URL"
    assert rows["Redis"].status == "ok"


@pytest.fixture
def behind(sqlite_template, tmp_path):
    """A SQLite database whose recorded revision is the one before head (as after a deploy without release)."""
    path = tmp_path / "behind.db"
    shutil.copy(sqlite_template, path)
    script = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    previous = script.get_revision(script.get_current_head()).down_revision
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    return engine


def test_migrations_behind_fail_with_the_release_command(behind, settings, backend):
    _, redis = backend
    app = create_app(settings, engine=behind, redis=redis)
    check = _rows(app)["migrations"]
    assert check.status == "fail" and "the code expects" in check.detail
    assert "alembic upgrade head" in check.fix


def test_the_command_exits_non_zero_on_a_failure_and_zero_when_well(app):
    runner = app.test_cli_runner()
    sick = runner.invoke(args=["doctor"])
    assert sick.exit_code == 1 and "FAIL  workers" in sick.output
    _running_worker(app)
    well = runner.invoke(args=["doctor"])
    assert well.exit_code == 0, well.output
    assert "FAIL" not in well.output and "OK    database" in well.output
