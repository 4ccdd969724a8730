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
