"""Logging: JSON lines (one object per line) in production, plain text for a person at a terminal.

One line per HTTP request and one per job, with what lets an operator follow an
event through the service: the meeting id, the event type, the job id, Zoom's
tracking id. Never a payload: names and emails stay in the (admin-only) inbox.
A database error's traceback is written without the values it quotes (see
`safe_traceback`).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType

# Fields a log call may add with `extra=`; anything else is left out of the line.
CONTEXT_FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "meeting_id",
    "event_type",
    "inbox_id",
    "job_id",
    "job",
    "outcome",
    "zoom_tracking_id",
    "events",
    "locked_at",
    "worker_pid",
)


# Where a database driver's errors come from: their messages may quote a row (PostgreSQL's "DETAIL: Failing
# row contains (…)", "Key (email)=(…) already exists"), so only their kind and the names they concern are kept.
_DRIVERS = ("psycopg", "sqlite3")


def _is_database_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in _DRIVERS


def _database_error(exc: BaseException) -> str:
    """What a driver's error says without any value: for the server's errors, SQLSTATE and the table, column
    and constraint they name (psycopg); otherwise the first line (sqlite3's name a constraint, never a value;
    a connection's failure says where it failed)."""
    diag, sqlstate = getattr(exc, "diag", None), getattr(exc, "sqlstate", None)
    if diag is None or not sqlstate:
        return str(exc).splitlines()[0] if str(exc) else ""
    names = (("table", diag.table_name), ("column", diag.column_name), ("constraint", diag.constraint_name))
    found = " ".join(f"{label} {value}" for label, value in names if value)
    return f"SQLSTATE {sqlstate}" + (f" ({found})" if found else "")


def _name(kind: type) -> str:
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _message(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper: its text repeats the driver's, then the SQL
    if orig is not None and _is_database_error(orig):
        statement = " ".join(str(getattr(exc, "statement", "") or "").split())[:300]
        return f"({_name(type(orig))}) {_database_error(orig)} [SQL: {statement}]"
    if _is_database_error(exc):
        return _database_error(exc)
    return str(exc)


def safe_traceback(exc_info: tuple[type[BaseException], BaseException, TracebackType | None]) -> str:
    """The traceback as Python prints it (causes first), each database error's message without its values."""
    chain: list[BaseException] = []
    exc: BaseException | None = exc_info[1]
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    parts = []
    for exc in reversed(chain):
        frames = "".join(traceback.format_tb(exc.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{_name(type(exc))}: {_message(exc)}")
    return "\n\nDuring it, or because of it:\n\n".join(parts)


class _Text(logging.Formatter):
    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return safe_traceback(ei)


class JsonLines(logging.Formatter):
    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return safe_traceback(ei)

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _Ours(logging.StreamHandler):
    """Our handler, told apart from others (a test runner's) so configuring again replaces only it."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # whatever stderr is now: a test runner swaps it
        super().emit(record)


def configure(log_format: str) -> None:
    """Per process (again per app: the last format wins); `json` (the default) or `text`."""
    root = logging.getLogger()
    handler = _Ours()
    if log_format == "text":
        handler.setFormatter(_Text("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonLines())
    root.handlers = [h for h in root.handlers if not isinstance(h, _Ours)] + [handler]
    root.setLevel(logging.INFO)
