"""Group commit (webhook/group_commit.py) on both databases: rows that arrive together share one commit, each
waiter learns its own row's fate, and a failed batch fails every row of it and keeps none.

To make "together" certain rather than likely, the first batch's INSERT is held until every other thread has
queued its row: the second batch must then carry all of them.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from models import InboxEvent, utcnow
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
