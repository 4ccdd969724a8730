"""Group commit for the inbox: deliveries that arrive together in one process share one INSERT and one commit.

The request threads take turns as leader. A thread with a row to keep adds it to the queue; if no commit is
under way it becomes the leader, takes every row queued so far (its own first among them) and writes them in
one transaction; the others wait. When the commit returns, each waiting thread learns its row's fate (a new
id, a duplicate, or the error that failed the whole batch) and answers; a thread whose row came after the
batch was taken leads the next. So a batch closes exactly when the previous commit returns: alone, a request
commits at once with no hand-over to another thread; under load, one commit carries many.

Nothing is answered before the commit: `store` returns only once the row's transaction has committed, or
raises (the caller answers 503 and Zoom retries; no row of a failed batch is kept, the transaction is one).

The write is SQLAlchemy Core, not the ORM session: one INSERT … ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id, dedupe_key for the whole batch (SQLAlchemy sends it as one multi-row statement), telling each
new row from a redelivery. Only the leader writes, and a leader with rows queued behind it hands its
connection to the next leader with them: under load, batch after batch costs no pool checkout and no
liveness ping; when the queue empties the connection goes back to the pool. On PostgreSQL the connection is
in autocommit, so the batch is one round trip: a single statement is its own transaction, committed
(synchronous commit) before the server answers it, and all of it or none. SQLite, for `make run`, wraps it
in BEGIN … COMMIT.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table

from models.database import ignoring_insert

MAX_BATCH = 500  # rows in one statement; more wait for the next commit
# Under SQLAlchemy's insertmanyvalues page (1,000 rows): a larger batch would go as two statements, two
# transactions in autocommit, and could be half kept.
assert MAX_BATCH <= 1000


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
        self._conn: Connection | None = None  # the leader's, handed on to the next while rows are queued
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
            # Nobody waiting: the connection goes back to the pool (taken under the lock: a thread that leads
            # once we let go checks out its own).
            spare, self._conn = (self._conn, None) if following is None else (None, self._conn)
        if spare is not None:
            spare.close()
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
        conn = self._connection()
        try:
            with conn.begin():  # on PostgreSQL's autocommit connection it sends nothing: the statement commits
                return {key: inbox_id for inbox_id, key in conn.execute(statement, rows)}
        except BaseException:
            self.close()  # a connection that failed is not trusted again: the next batch checks one out
            raise

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self.engine.connect()
            sqlite = self.engine.dialect.name == "sqlite"
            self._conn = conn if sqlite else conn.execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def close(self) -> None:
        """The writer's connection back to the pool (the next batch checks one out again). Called by the leader,
        or by its owner when no one is storing."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _after(self, batch: Sequence[_Slot]) -> None:
        if self.after_commit is not None:
            self.after_commit([(slot.row, slot.inbox_id) for slot in batch if slot.error is None])


def _outcome(slot: _Slot) -> int | None:
    if slot.error is not None:
        raise slot.error
    return slot.inbox_id
