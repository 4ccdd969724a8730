"""The Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL, and unwind."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import Base
from models.database import make_engine
from tests.conftest import ROOT, migrate


@pytest.fixture(params=["sqlite", "postgres"])
def migrated_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
        migrate(url)
        return url
    return request.getfixturevalue("postgres_url")  # migrated once per session by conftest


# SQLite cannot reflect the expression index lower(email); PostgreSQL compares it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_match_the_models(migrated_url):
    engine = make_engine(migrated_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


# Dropping columns on SQLite rebuilds the table, reflecting its neighbours (users' lower(email) index).
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_downgrade_removes_every_table(tmp_path):
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'down.db'}"
    migrate(url)
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    command.downgrade(cfg, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def _alembic(url: str):
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    return cfg


# Adding a CHECK or dropping a column on SQLite rebuilds the table while other tables' rows point at it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_sqlite_upgrades_and_downgrades_keep_the_rows_that_point_at_rebuilt_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'data.db'}"
    cfg = _alembic(url)
    command.upgrade(cfg, "5ecb8da4bc1f")  # before the LMS rules' migrations
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO academies (id, name, created_at) VALUES (1, 'A', '2026-12-01 09:00:00')")
        conn.exec_driver_sql(
            "INSERT INTO users (id, email, name, created_at) VALUES (1, 'o@example.org', 'O', '2026-12-01 09:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO trainings (id, academy_id, theme, start_time, duration, timezone, meeting_type, status,"
            " organizer_id, field_stamps, zoom_confirmed, created_at, updated_at) VALUES (1, 1, 'T',"
            " '2026-12-01 09:00:00', 60, 'UTC', 'meeting', 'not_started', 1, '{}', '{}', '2026-12-01 09:00:00',"
            " '2026-12-01 09:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO registrants (id, training_id, user_id, created_at) VALUES (1, 1, 1, '2026-12-01 09:00:00')"
        )
    engine.dispose()
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "5ecb8da4bc1f")
    engine = make_engine(url)
    with engine.connect() as conn:
        counts = [conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in ("trainings", "registrants")]
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    engine.dispose()
    assert counts == [1, 1]
