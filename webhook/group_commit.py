"""Group commit for the inbox: deliveries that arrive together in one process share one INSERT and one commit.

The request threads take turns as leader. A thread with a row to keep adds it to the queue; if no commit is
under way it becomes the leader, takes every row queued so far (its own first among them) and writes them in
one transaction; the others wait. When the commit returns, each waiting thread learns its row's fate (a new
id, a duplicate, or the error that failed the whole batch) and answers; a thread whose row came after the
batch was taken leads the next. So a batch closes exactly when the previous commit returns: alone, a request
commits at once with no hand-over to another thread; under load, one commit carries many.

Nothing is answered before the commit: `store` returns only once the row's transaction has committed, or
raises (the caller answers 503 and Zoom retries; no row of a failed batch is kept, the transaction is one).

The write is SQLAlchemy Core on a pooled connection, not the ORM session: one INSERT … ON CONFLICT
(dedupe_key) DO NOTHING RETURNING id, dedupe_key for the whole batch (SQLAlchemy sends it as one
multi-row statement), telling each new row from a redelivery.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table

from models.database import ignoring_insert

MAX_BATCH = 500  # rows in one statement; more wait for the next commit


@dataclass
class _Slot:
    row: dict[str, Any]
    done: bool = False
    inbox_id: int | None = None
    error: BaseException | None = None
    event: threading.Event = field(default_factory=threading.Event)


class GroupCommit:
    """One per process and table: `store(row)` returns the new row's id, or None for a duplicate key."""

    def __init__(self, engine: Engine, table: Table, key: str, after_commit: Callable | None = None) -> None:
        self.engine, self.table, self.key = engine, table, key
        # Called by the leader once its batch committed and every waiter has its answer: [(row, id or None)].
        self.after_commit = after_commit
        self._lock = threading.Lock()
        self._queue: list[_Slot] = []
        self._leading = False
        self.batches = 0  # commits made and rows in them: what a test reads to see batches form
        self.rows = 0

    def store(self, row: dict[str, Any]) -> int | None:
        slot = _Slot(row)
        with self._lock:
            self._queue.append(slot)
            lead, self._leading = not self._leading, True
        if not lead:
            slot.event.wait()  # set when our batch is written, or when the previous leader hands over to us
            if slot.done:
                return _outcome(slot)
        # Leading: our row is first in the queue (we found no leader, or were handed the next batch).
        with self._lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        self._write(batch)
        with self._lock:
            following = self._queue[0] if self._queue else None
            self._leading = following is not None
        if following is not None:
            following.event.set()  # it leads the next batch while we answer
        self._after(batch)
        return _outcome(slot)

    def _write(self, batch: Sequence[_Slot]) -> None:
        try:
            ids = self._insert([slot.row for slot in batch])
        except BaseException as exc:  # noqa: BLE001 - every waiter of the batch gets the batch's error
            for slot in batch:
                slot.error, slot.done = exc, True
        else:
            for slot in batch:
                # The first row of a key in the batch is the one inserted; a second of the same key is a redelivery.
                slot.inbox_id, slot.done = ids.pop(slot.row[self.key], None), True
            self.batches += 1
            self.rows += len(batch)
        for slot in batch:
            slot.event.set()

    def _insert(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        statement = ignoring_insert(self.engine.dialect.name, self.table, self.key, ("id", self.key))
        with self.engine.begin() as conn:
            return {key: inbox_id for inbox_id, key in conn.execute(statement, rows)}

    def _after(self, batch: Sequence[_Slot]) -> None:
        if self.after_commit is not None:
            self.after_commit([(slot.row, slot.inbox_id) for slot in batch if slot.error is None])


def _outcome(slot: _Slot) -> int | None:
    if slot.error is not None:
        raise slot.error
    return slot.inbox_id
