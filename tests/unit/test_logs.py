"""JSON log lines: the context fields an operator follows, and nothing else."""

from __future__ import annotations

import json
import logging

from service.logs import JsonLines


def _line(**extra) -> dict:
    record = logging.LogRecord(
        "zoomsync.request", logging.INFO, __file__, 1, "POST %s %s", ("/webhooks/zoom", 200), None
    )
    for name, value in extra.items():
        setattr(record, name, value)
    return json.loads(JsonLines().format(record))


def test_a_line_is_one_json_object_with_time_level_logger_and_message():
    line = _line()
    assert line["level"] == "info" and line["logger"] == "zoomsync.request"
    assert line["message"] == "POST /webhooks/zoom 200" and line["ts"].endswith("+00:00")


def test_context_fields_are_kept_and_unknown_ones_dropped():
    line = _line(meeting_id=85212345678, event_type="meeting.started", job_id="abc", email="ada@example.org")
    assert (line["meeting_id"], line["event_type"], line["job_id"]) == (85212345678, "meeting.started", "abc")
    assert "email" not in line


def test_an_exception_is_one_field_of_the_same_line():
    try:
        raise RuntimeError("database hiccup")
    except RuntimeError:
        import sys

        record = logging.LogRecord("zoomsync.job", logging.ERROR, __file__, 1, "job failed", (), sys.exc_info())
    line = json.loads(JsonLines().format(record))
    assert "RuntimeError: database hiccup" in line["error"]
    assert "\n" not in JsonLines().format(record)


def _logged(exc_info) -> str:
    record = logging.LogRecord("zoomsync.job", logging.ERROR, __file__, 1, "job failed", (), exc_info)
    return json.loads(JsonLines().format(record))["error"]


def test_a_database_error_is_logged_without_the_values_it_quotes_and_with_its_causes():
    """sqlite3 (a real driver) refusing a duplicate, wrapped by SQLAlchemy and then by our own error: each
    layer's kind is logged, the constraint named, the parameters never."""
    import sqlite3
    import sys

    from sqlalchemy import create_engine, text

    email = "ada" + "@example.org"  # not on a line the traceback shows
    engine = create_engine("sqlite://", hide_parameters=False)  # the worst case: SQLAlchemy quoting them
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE people (email TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO people VALUES (:e)"), {"e": email})
    try:
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO people VALUES (:e)"), {"e": email})
        except Exception as exc:
            raise RuntimeError("could not add the person") from exc
    except RuntimeError:
        error = _logged(sys.exc_info())
    assert email not in error
    assert "sqlalchemy.exc.IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed: people.email" in error
    assert "[SQL: INSERT INTO people VALUES (?)]" in error
    assert error.index("IntegrityError") < error.index("RuntimeError: could not add the person")  # cause first
    assert sqlite3.IntegrityError.__module__ == "sqlite3"  # what the driver check relies on
