"""Engine and session factory; the only place that knows SQLite from PostgreSQL."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs) -> Engine:
    # A statement's parameters stay out of its errors: they are raw Zoom bodies, names and emails, and the
    # error is logged (an INSERT the database refuses answers 503 with a traceback).
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _serialise_sqlite_writers(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    kwargs.setdefault("connect_args", {"connect_timeout": 3})
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


def _serialise_sqlite_writers(engine: Engine) -> None:
    """SQLite: take the write lock at BEGIN, so read-then-write transactions wait instead of failing.

    pysqlite's own transaction handling is switched off (the documented SQLAlchemy
    recipe) so that BEGIN IMMEDIATE and SAVEPOINT behave as written.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def lock_meeting(session: Session, meeting_id: int) -> None:
    """Serialise reconcile work on one meeting until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock (released if the worker dies).
    SQLite: BEGIN IMMEDIATE already holds the database's single write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": meeting_id})


def chunks(values, size: int = 1000):
    """Slices of at most `size`: keeps IN lists and executemany batches within every driver's limits."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def insert_ignoring_duplicates(session: Session, model, values: dict | list[dict], conflict_column: str):
    """INSERT that skips rows whose `conflict_column` value already exists.

    One statement, so concurrent redeliveries cannot both insert and neither raises.
    Given one row (a dict) it returns the new id, or None for a duplicate; given a
    list it inserts them all in one multi-row statement and returns None.

    The statement is built once per table and run as plain SQL on the session's
    connection (after a flush, so rows it refers to are written first): intake runs
    it for every webhook, and building an ORM insert for each cost more CPU than
    the rest of the request (docs/benchmarks.md, "Profile").
    """
    if isinstance(values, list) and not values:
        return None
    session.flush()
    connection = session.connection()
    single = isinstance(values, dict)
    statement = ignoring_insert(connection.dialect.name, model.__table__, conflict_column, ("id",) if single else ())
    if not single:
        connection.execute(statement, values)  # executemany: batched by the driver, no giant VALUES to compile
        return None
    return connection.execute(statement, values).scalar_one_or_none()


@lru_cache(maxsize=64)
def ignoring_insert(dialect: str, table: Table, conflict_column: str, returning: tuple[str, ...] = ()):
    """INSERT … ON CONFLICT (`conflict_column`) DO NOTHING [RETURNING `returning`], built once per shape."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the service supports these two
        raise NotImplementedError(f"unsupported database: {dialect}")
    statement = insert(table).on_conflict_do_nothing(index_elements=[conflict_column])
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


def minute_of(session: Session, column):
    """The UTC minute of a timestamp column as 'YYYY-MM-DD HH:MM', in SQL (for per-minute counts)."""
    from sqlalchemy import func

    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI")
