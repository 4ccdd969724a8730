"""Group commit (webhook/group_commit.py) on both databases: rows that arrive together share one commit, each
waiter learns its own row's fate, and a failed batch fails every row of it and keeps none.

To make "together" certain rather than likely, the first batch's INSERT is held until every other thread has
queued its row: the second batch must then carry all of them.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from models import InboxEvent, utcnow
from service.logs import JsonLines
from webhook.group_commit import GroupCommit


def _row(key: str) -> dict:
    return dict(
        dedupe_key=key,
        event_type="meeting.participant_joined",
        meeting_id=1,
        raw_body=b"{}",
        headers={},
        status="pending",
        received_at=utcnow(),
    )


def _stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(InboxEvent.__table__)).scalar_one()


class _Held(GroupCommit):
    """Its first INSERT waits until `waiting` rows stand in the queue behind it."""

    def __init__(self, *args, waiting: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.waiting, self.first = waiting, True

    def _insert(self, rows):
        if self.first:
            self.first = False
            deadline = time.monotonic() + 10
            while len(self._queue) < self.waiting and time.monotonic() < deadline:
                time.sleep(0.005)
        return super()._insert(rows)


def _at_once(writer, keys: list[str], rows: list[dict] | None = None) -> list:
    """Each key stored by a thread of its own, the first alone before the rest; [(key, id or exception)]."""
    rows = rows or [_row(key) for key in keys]
    results: list = [None] * len(keys)

    def store(i: int) -> None:
        try:
            results[i] = writer.store(rows[i])
        except Exception as exc:  # noqa: BLE001 - the test reads it
            results[i] = exc

    first = threading.Thread(target=store, args=(0,))
    first.start()
    while not writer._leading:
        time.sleep(0.001)
    rest = [threading.Thread(target=store, args=(i,)) for i in range(1, len(keys))]
    for thread in rest:
        thread.start()
    for thread in [first, *rest]:
        thread.join(timeout=30)
    return list(zip(keys, results, strict=True))


def test_rows_that_arrive_during_a_commit_share_the_next_one(backend):
    engine, _ = backend
    committed = []
    keys = [f"k{i}" for i in range(40)] + ["k1", "k2", "k2"]  # three redeliveries among them
    writer = _Held(engine, InboxEvent.__table__, "dedupe_key", after_commit=committed.extend, waiting=len(keys) - 1)
    results = _at_once(writer, keys)
    assert writer.batches == 2 and writer.rows == len(keys)  # the first alone, then everything that queued
    ids = [inbox_id for _, inbox_id in results if inbox_id is not None]
    assert len(ids) == len(set(ids)) == 40 == _stored(engine)
    for key in ("k1", "k2"):
        outcomes = [inbox_id for k, inbox_id in results if k == key]
        assert sum(inbox_id is not None for inbox_id in outcomes) == 1  # one new row, the others duplicates
    assert sorted(inbox_id for _, inbox_id in committed if inbox_id) == sorted(ids)  # after_commit saw every row


def test_alone_a_row_commits_at_once_and_a_redelivery_is_a_duplicate(backend):
    engine, _ = backend
    writer = GroupCommit(engine, InboxEvent.__table__, "dedupe_key")
    first = writer.store(_row("only"))
    assert first is not None and writer.store(_row("only")) is None
    assert writer.batches == 2 and _stored(engine) == 1


class _FailsOnce(_Held):
    def _insert(self, rows):
        if len(rows) > 1:
            raise OperationalError("INSERT", {}, Exception("the database went away"))
        return super()._insert(rows)


def test_a_failed_batch_fails_every_row_of_it_and_keeps_none(backend):
    engine, _ = backend
    keys = [f"f{i}" for i in range(10)]
    writer = _FailsOnce(engine, InboxEvent.__table__, "dedupe_key", waiting=len(keys) - 1)
    results = dict(_at_once(writer, keys))
    assert isinstance(results["f0"], int)  # the first batch, alone, committed
    assert all(isinstance(results[k], OperationalError) for k in keys[1:])  # the second failed whole
    assert _stored(engine) == 1
    assert writer.store(_row("f5")) is not None  # the writer goes on; Zoom's retry is kept


def test_a_row_the_database_refuses_fails_its_batch_and_keeps_none_of_it(backend):
    engine, _ = backend
    keys = ["alone", "good", "bad"]
    rows = [_row("alone"), _row("good"), _row("bad") | {"event_type": None}]  # NOT NULL refuses the last
    writer = _Held(engine, InboxEvent.__table__, "dedupe_key", waiting=2)
    results = dict(_at_once(writer, keys, rows))
    assert isinstance(results["alone"], int)
    assert isinstance(results["good"], Exception) and isinstance(results["bad"], Exception)
    assert _stored(engine) == 1  # one transaction: the good row of the failed batch is not half-kept


def test_a_refused_batchs_logged_error_names_none_of_its_rows(backend):
    """The error is logged as the 503 is answered: neither the statement's parameters nor the row the database
    quotes back (PostgreSQL's "Failing row contains") are in the line, which still says what failed."""
    engine, _ = backend
    writer = GroupCommit(engine, InboxEvent.__table__, "dedupe_key")
    row = _row("refused-key") | {"event_type": None, "raw_body": b'{"email": "ada@example.org"}'}
    try:
        writer.store(row)
    except Exception:  # noqa: BLE001 - the test logs it
        record = logging.LogRecord("webhook.views", logging.ERROR, __file__, 1, "inbox unavailable", (), sys.exc_info())
    line = JsonLines().format(record)
    assert "event_type" in line and "IntegrityError" in line  # what failed, and where
    assert "refused-key" not in line and "ada@example.org" not in line and "616461" not in line  # 'ada' in hex


def test_a_leader_hands_its_connection_to_the_next_and_the_last_gives_it_back(backend):
    """Batches that follow one another share one checkout (no pool round, no liveness ping each); once nobody
    waits, the connection is back in the pool, so writers that are idle hold none."""
    engine, _ = backend
    checkouts = []
    event.listen(engine, "checkout", lambda *args: checkouts.append(1))
    keys = [f"h{i}" for i in range(8)]
    writer = _Held(engine, InboxEvent.__table__, "dedupe_key", waiting=len(keys) - 1)
    results = dict(_at_once(writer, keys))
    assert all(isinstance(results[k], int) for k in keys) and writer.batches == 2
    assert len(checkouts) == 1  # the second batch's leader wrote on the first's connection
    assert engine.pool.checkedout() == 0
    assert writer.store(_row("alone")) is not None and len(checkouts) == 2 and engine.pool.checkedout() == 0
