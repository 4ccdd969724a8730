"""Coverage-guided fuzzing of POST /webhooks/zoom and the worker behind it, with atheris (by hand, not CI).

    PYTHONPATH=<where atheris is installed> python -m tests.hostile.fuzz_webhook -atheris_runs=10000

Not collected by pytest (no test_ prefix). Each input is, by its first byte, an unsigned request with
headers drawn from the input, a signed body of the input's bytes, or a signed fixture with one field
replaced; the checks are the properties' (tests/hostile/test_webhook_fuzz.py): never a 5xx, nothing
stored without a valid signature, every verified event kept, and, every JOB_EVERY inputs, every
queued job run without raising and every event settled. A violation raises, and atheris keeps the
input as a crash file. SQLite and fakeredis, in a temporary directory.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["webhook", "service", "workers", "models"]):
    import fakeredis
    from sqlalchemy import func, select

    # Imported lazily by the app; imported here so that they are instrumented too.
    import workers.account_events  # noqa: F401
    import workers.handlers  # noqa: F401
    import workers.reconcile  # noqa: F401
    from config import load_settings
    from models import InboxEvent
    from models.database import make_engine
    from service.app import create_app
    from tests.conftest import migrate
    from tests.helpers import API_TOKEN, SECRET, SECRET_KEY, TOKEN_KEY, create_training, fixture, run_jobs
    from tests.helpers import signed_headers as signed
    from tests.hostile.strategies import (
        EDGE_STRUCTURES,
        FIXTURE_NAMES,
        as_event,
        canonical,
        edge_values,
        hmac_signature,
        newest,
        parent,
        paths,
    )
    from tests.hostile.support import SETTLED
    from workers.runner import set_job_app

URL = "/webhooks/zoom"
JOB_EVERY = 64


def _app():
    directory = Path(tempfile.mkdtemp(prefix="fuzz-webhook-"))
    url = f"sqlite:///{directory / 'fuzz.db'}"
    migrate(url)
    settings = load_settings(
        {
            "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET,
            "API_TOKEN": API_TOKEN,
            "SECRET_KEY": SECRET_KEY,
            "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
        },
        instance_dir=directory,
        database_url=url,
        redis_url="unused://fakeredis",
    )
    app = create_app(settings, engine=make_engine(url), redis=fakeredis.FakeRedis())
    set_job_app(app)
    logging.disable(logging.WARNING)  # a line per request would drown the fuzzer's output; errors still count
    create_training(app.test_client())
    return app


APP = _app()
CLIENT = APP.test_client()
SESSIONS = APP.extensions["zoomsync"].session_factory
SEEN: set[str] = set()
JOB_ERRORS: list[logging.LogRecord] = []
_handler = logging.Handler(logging.ERROR)
_handler.emit = JOB_ERRORS.append
logging.getLogger("zoomsync.job").addHandler(_handler)
inputs = 0


def _count() -> int:
    with SESSIONS() as session:
        return session.scalar(select(func.count()).select_from(InboxEvent))


def _unsigned(fdp: atheris.FuzzedDataProvider) -> None:
    """Headers from the input, never a valid signature: 401 and nothing kept."""
    body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 2048))
    headers = {"content-type": fdp.ConsumeUnicodeNoSurrogates(40)}
    if fdp.ConsumeBool():
        headers["x-zm-request-timestamp"] = fdp.ConsumeUnicodeNoSurrogates(20)
    if fdp.ConsumeBool():
        headers["x-zm-signature"] = fdp.ConsumeUnicodeNoSurrogates(80)
    timestamp = headers.get("x-zm-request-timestamp", "")
    fresh = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
    if fresh and abs(int(timestamp) - time.time()) < 3 * 3600:
        headers["x-zm-request-timestamp"] = str(int(time.time()) - 3 * 3600)  # stale: the HMAC cannot matter
    if fdp.ConsumeBool():  # the right HMAC, with a timestamp that cannot be accepted
        headers["x-zm-signature"] = hmac_signature(SECRET, headers.get("x-zm-request-timestamp", ""), body)
    headers = {k: "".join(c for c in v if " " <= c <= "\xff" and c != "\x7f") for k, v in headers.items()}
    before = _count()
    response = CLIENT.post(URL, data=body, headers=headers)
    assert response.status_code == 401, (response.status_code, response.get_data()[:200])
    assert _count() == before


def _signed(body: bytes) -> None:
    before = _count()
    response = CLIENT.post(URL, data=body, headers=signed(body))
    assert response.status_code < 500, response.get_data()[:300]
    event = as_event(body)
    if event is None:
        assert response.status_code == 400, response.status_code
    elif event["event"] == "endpoint.url_validation":
        plain = event["payload"].get("plainToken")
        assert response.status_code == (200 if isinstance(plain, str) and plain else 400)
    else:
        assert response.status_code == 200, (response.status_code, response.get_data()[:300])
        key = canonical(event)
        duplicate, _ = key in SEEN, SEEN.add(key)
        assert response.json["status"] == "duplicate" if duplicate else response.json["status"] != "duplicate"
        assert _count() == before + (0 if duplicate else 1)
        return
    assert _count() == before


def _mutated(fdp: atheris.FuzzedDataProvider) -> bytes:
    """A fixture with one node replaced by an edge value, a value from the input, or deleted."""
    body = newest(copy.deepcopy(fixture(FIXTURE_NAMES[fdp.ConsumeIntInRange(0, len(FIXTURE_NAMES) - 1)])))
    nodes = paths(body)
    path = nodes[fdp.ConsumeIntInRange(0, len(nodes) - 1)]
    choices = edge_values(path[-1]) + EDGE_STRUCTURES
    pick = fdp.ConsumeIntInRange(0, len(choices) + 2)
    holder = parent(body, path)
    if pick < len(choices):
        holder[path[-1]] = copy.deepcopy(choices[pick])
    elif pick == len(choices):
        del holder[path[-1]]
    elif pick == len(choices) + 1:
        holder[path[-1]] = fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 400))
    else:
        holder[path[-1]] = fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 16))
    return json.dumps(body).encode()


def _settle() -> None:
    JOB_ERRORS.clear()
    run_jobs(APP)
    assert [record.getMessage() for record in JOB_ERRORS] == []
    with SESSIONS() as session:
        rows = session.execute(select(InboxEvent.id, InboxEvent.event_type, InboxEvent.status, InboxEvent.last_error))
        unsettled = [
            row for row in rows if row.status not in SETTLED or (row.status == "failed" and not row.last_error)
        ]
    assert unsettled == [], unsettled


def one_input(data: bytes) -> None:
    global inputs
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    if mode == 0:
        _unsigned(fdp)
    elif mode == 1:
        _signed(fdp.ConsumeBytes(fdp.remaining_bytes()))
    else:
        _signed(_mutated(fdp))
    inputs += 1
    if inputs % JOB_EVERY == 0:
        _settle()


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
