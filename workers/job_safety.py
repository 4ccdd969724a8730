"""Keep what RQ stores about a job inert: rq-dashboard shows it without escaping (its issue #526).

rq-dashboard's pages put a job's description, arguments, result and exception
text into the page as raw HTML. Jobs here take ids only and get descriptions
we write, so those two are checked when a job is created; exception text and
results can carry what a Zoom user typed (a topic in an error message) and are
HTML-escaped before RQ stores them, so the dashboard shows them as text.
"""

from __future__ import annotations

import html
import re
import traceback
from typing import Any

# Letters, digits and the punctuation of our own descriptions: nothing that starts markup or an entity.
SAFE_DESCRIPTION = re.compile(r"[A-Za-z0-9 _.,:'()/-]*")


class UnsafeJob(ValueError):  # noqa: N818 - a refusal, raised before anything is queued
    """A job would carry text that is not ours into RQ: refused at creation."""


def check_job_call(
    args: tuple | list | None, kwargs: dict | None, description: str | None, meta: dict | None = None
) -> None:
    """Jobs take ids (integers) only, a description made of plain words, and no metadata."""
    for value in args or ():
        if isinstance(value, bool) or not isinstance(value, int):
            raise UnsafeJob(f"job arguments must be integer ids, not {type(value).__name__}")
    if kwargs:
        raise UnsafeJob("jobs take positional ids only, no keyword arguments")
    if meta:
        raise UnsafeJob("jobs carry no metadata: their state lives in the database")
    if description is not None and not SAFE_DESCRIPTION.fullmatch(description):
        raise UnsafeJob("job description may hold letters, digits, spaces and _.,:'()/- only")


class JobFailed(Exception):  # noqa: N818 - the name RQ's failed-job pages show
    """A job's exception as RQ keeps it: the original traceback, HTML-escaped."""


def inert_failure(error: BaseException) -> JobFailed:
    """The failure to store instead of `error`: the same text, escaped, so no markup survives."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return JobFailed(html.escape(text, quote=True))


def inert_result(value: Any) -> Any:
    """A job's return value with every string in it escaped (numbers and None pass unchanged)."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {inert_result(key): inert_result(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [inert_result(item) for item in value]
    if value is None or isinstance(value, int | float):
        return value
    return html.escape(repr(value), quote=True)
