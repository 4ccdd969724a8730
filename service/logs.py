"""Logging: JSON lines (one object per line) in production, plain text for a person at a terminal.

One line per HTTP request and one per job, with what lets an operator follow an
event through the service: the meeting id, the event type, the job id, Zoom's
tracking id. Never a payload: names and emails stay in the (admin-only) inbox.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

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


class JsonLines(logging.Formatter):
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
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonLines())
    root.handlers = [h for h in root.handlers if not isinstance(h, _Ours)] + [handler]
    root.setLevel(logging.INFO)
