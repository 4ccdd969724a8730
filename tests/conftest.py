"""Test backends: every `backend` test runs on SQLite + fakeredis and on PostgreSQL + a real Redis.

TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test) and
TEST_REDIS_URL (default redis://127.0.0.1:6379/15) name the real servers. Where
one is missing its variants skip with the reason printed; under CI=true a missing
server fails the run instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import fakeredis
import pytest
import redis as redis_lib
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from config import load_settings
from models import Base
from models.database import make_engine
from service.app import create_app
from tests.helpers import API_TOKEN, REDIRECT_URL, SECRET, SECRET_KEY, TOKEN_KEY
from workers.runner import set_job_app
from zoomsim.config import SimConfig, default_spec_dir
from zoomsim.server import serve_in_thread

pytest_plugins = ["tests.log_guard"]

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _problem_with_postgres() -> str | None:
    try:
        engine = create_engine(
            PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), connect_args={"connect_timeout": 3}
        )
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}: {exc}".splitlines()[0]
    return None


def _problem_with_redis() -> str | None:
    try:
        redis_lib.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None


def require(problem: str | None) -> None:
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a required server is missing: {problem}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A migrated PostgreSQL database (Alembic, not create_all: the migration is under test too)."""
    require(_problem_with_postgres())
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(PG_URL)
    return PG_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


def migrate(url: str) -> None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "head")


@pytest.fixture(scope="session")
def real_redis_url() -> str:
    require(_problem_with_redis())
    return REDIS_URL


def _empty_all(engine) -> None:
    """Empty every table and restart every id at 1. DELETE, children first, not TRUNCATE: the few rows a
    test leaves go in about 2 ms, where TRUNCATE's new files for 18 tables took 30 to 50 ms per test."""
    deletes = "; ".join(f"DELETE FROM {t.name}" for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(deletes))
        conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"))


@pytest.fixture(params=["sqlite+fakeredis", "postgres+redis"])
def backend(request, tmp_path):
    """(engine, redis) on one of the two stacks; each test starts with empty tables and queues."""
    if request.param == "sqlite+fakeredis":
        db = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), db)
        engine = make_engine(f"sqlite:///{db}")
        redis = fakeredis.FakeRedis()
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        _empty_all(engine)
        redis = redis_lib.Redis.from_url(request.getfixturevalue("real_redis_url"))
        redis.flushdb()
    yield engine, redis
    engine.dispose()
    redis.flushdb()


@pytest.fixture(scope="session")
def zoom_sim():
    """One Zoom simulator for the session; `zoom` resets it for each test."""
    running = serve_in_thread(
        SimConfig(
            control=True, webhook_secret=SECRET, redirect_uris=(REDIRECT_URL,), spec_dir=default_spec_dir(), seed=5
        )
    )
    yield running
    running.stop()


@pytest.fixture
def zoom(zoom_sim):
    """A fresh simulated Zoom. Afterwards: every request the service sent it matched Zoom's API description."""
    zoom_sim.control.reset()
    yield zoom_sim
    assert zoom_sim.sim.errors == [], zoom_sim.sim.errors
    drift = [(r["method"], r["path"], r["validation_errors"]) for r in zoom_sim.sim.requests if r["validation_errors"]]
    assert drift == [], f"requests that do not match Zoom's API description: {drift}"


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        {
            "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET,
            "API_TOKEN": API_TOKEN,
            "SECRET_KEY": SECRET_KEY,
            "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
        },
        instance_dir=tmp_path,
        database_url="unused://see-backend-fixture",
        redis_url="unused://see-backend-fixture",
    )


@pytest.fixture
def app(backend, settings):
    engine, redis = backend
    application = create_app(settings, engine=engine, redis=redis)
    set_job_app(application)
    yield application
    set_job_app(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session_factory(app):
    return app.extensions["zoomsync"].session_factory
