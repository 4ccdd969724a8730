"""Intake parts: the CPU each part of `POST /webhooks/zoom` costs a delivery, on the new path and the old.

    python -m bench.intake_parts            # 1,000 bodies, the median of 5 repetitions (`make bench`)
    python -m bench.intake_parts --quick    # 48 bodies, 2 repetitions: the checks run, timings are only shown

bench/intake measures the whole server under wrk; a process's CPU per request
does not say where it goes. Here each part of the route runs alone, in-process,
on a PostgreSQL database and a Redis server of its own, over the same distinct
signed bodies, timed by the thread's CPU clock (time.thread_time_ns) and the
wall clock: the new path (group commit, one Redis pipeline per batch, counters
tallied in the process) beside the old one it replaced (the ORM unit of work
committing each delivery, a Redis round trip each for the reconcile marker and
for the counter), so the docs can show each part before and after. "Flask and
the rest" is the whole request through the app's WSGI callable less its parts.
Every part's result is checked (each body stored once, a redelivery not
stored, one reconcile job per meeting, every delivery counted).
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask, g, jsonify
from sqlalchemy import func, select, text
from werkzeug.datastructures import EnvironHeaders
from werkzeug.test import EnvironBuilder

from bench import cli
from bench.results import ROOT, Result
from chaos.harness import SECRET, TOKEN, free_port
from chaos.redis_server import RedisServer
from chaos.stack import fresh_postgres_database
from config import load_settings
from models import InboxEvent
from service import logs, metrics
from service.app import create_app
from service.dedupe import dedupe_key
from service.envelope import Envelope, read_envelope
from service.inbox import inbox_row, queue_committed, store_event
from service.local_run import procfile
from service.services import EXTENSION_KEY, Services
from webhook import signature
from webhook.group_commit import GroupCommit
from workers.queues import RECONCILE_QUEUE, queue, request_reconcile
from zoomsim.load import generate_events
from zoomsim.signing import signed_headers

DATABASE = "zoomsync_parts"
COUNTER = "zoomsync_webhook_events"
WARM_UP = 32  # deliveries each part runs once before the measured repetitions (pools, caches, imports)


@dataclass(frozen=True)
class Spent:
    cpu_ns: int
    wall_ns: int


def timed(work: Callable[[Any], Any], items: Sequence[Any]) -> tuple[Spent, list]:
    """`work` over the items in this thread: its CPU and wall time, and what each call returned."""
    out = []
    wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
    for item in items:
        out.append(work(item))
    return Spent(time.thread_time_ns() - cpu, time.perf_counter_ns() - wall), out


def timed_threads(work: Callable[[Any], Any], items: Sequence[Any], threads: int) -> tuple[Spent, list]:
    """`work` over the items from `threads` threads at once (item i on thread i % threads): the CPU of all of
    them, the wall time from their common start to the last one done, and each result (or its exception)."""
    out: list = [None] * len(items)
    cpu = [0] * threads
    start = threading.Barrier(threads + 1)

    def run(k: int) -> None:
        start.wait()
        began = time.thread_time_ns()
        for i in range(k, len(items), threads):
            try:
                out[i] = work(items[i])
            except Exception as exc:  # noqa: BLE001 - the check reports it
                out[i] = exc
        cpu[k] = time.thread_time_ns() - began

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    wall = time.perf_counter_ns()
    for worker in workers:
        worker.join()
    return Spent(sum(cpu), time.perf_counter_ns() - wall), out


def per_delivery(spent: Sequence[Spent], deliveries: int) -> tuple[float, float]:
    """The median CPU and wall ms per delivery over repetitions (each median taken on its own)."""
    return (
        statistics.median(s.cpu_ns for s in spent) / deliveries / 1e6,
        statistics.median(s.wall_ns for s in spent) / deliveries / 1e6,
    )


def minus(whole: tuple[float, float], *parts: tuple[float, float]) -> tuple[float, float]:
    return whole[0] - sum(p[0] for p in parts), whole[1] - sum(p[1] for p in parts)


def plus(*parts: tuple[float, float]) -> tuple[float, float]:
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]  # as the view reads them: lower-case, Host and Content-Length included
    envelope: Envelope
    row: dict[str, Any]  # its inbox row, built once for the parts that store

    def environ(self) -> dict[str, Any]:
        return EnvironBuilder(path="/webhooks/zoom", method="POST", data=self.body, headers=self.headers).get_environ()


def deliveries(bodies: list[bytes]) -> list[Delivery]:
    found = []
    for body in bodies:
        environ = EnvironBuilder(method="POST", data=body, headers=signed_headers(SECRET, body)).get_environ()
        headers = {name.lower(): value for name, value in EnvironHeaders(environ).items()}
        envelope = read_envelope(body)
        found.append(Delivery(body, headers, envelope, inbox_row(envelope, body, headers)))
    return found


@contextmanager
def service(postgres_url: str, workdir: Path) -> Iterator[Flask]:
    """The app on a migrated database of its own (the Procfile's release, as the harness runs it) and a Redis
    server of its own, with the settings a deployment has (the JSON log format among them)."""
    database_url = fresh_postgres_database(postgres_url, DATABASE)
    redis_server = RedisServer(free_port(), workdir / "redis").start()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""), DATABASE_URL=database_url)
    app = None
    try:
        # The Procfile's release (alembic upgrade head), as Stack.release runs it, its output kept unless it fails.
        done = subprocess.run(["bash", "-c", procfile()["release"]], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"the release failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        settings = load_settings(
            {
                "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET,
                "API_TOKEN": TOKEN,
                "SECRET_KEY": secrets.token_urlsafe(32),
                "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            },
            instance_dir=workdir / "instance",
            database_url=database_url,
            redis_url=redis_server.url,
        )
        # create_app imports alembic (service/doctor.py) once the root logger takes INFO: no news for a bench.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        app = create_app(settings)
        yield app
    finally:
        if app is not None:
            metrics.flush()
            app.extensions[EXTENSION_KEY].engine.dispose()
            app.extensions[EXTENSION_KEY].redis.close()
        redis_server.stop()


@contextmanager
def log_lines_to(stream: Any) -> Iterator[None]:
    """The root logger's handlers swapped for one writing to `stream` with the formatter logs.configure set."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(next(h.formatter for h in root.handlers if isinstance(h, logs._Ours)))
    saved, root.handlers = root.handlers[:], [handler]
    try:
        yield
    finally:
        root.handlers = saved


class Parts:
    """Each part's runs on one app; `spent[name]` gathers a Spent per repetition, `problems` what was wrong."""

    def __init__(self, app: Flask, threads: int) -> None:
        self.app, self.threads = app, threads
        self.svc: Services = app.extensions[EXTENSION_KEY]
        self.settings = self.svc.settings
        self.spent: dict[str, list[Spent]] = {}
        self.batch_sizes: list[float] = []
        self.problems: list[str] = []
        self._line = next(f for f in app.after_request_funcs[None] if f.__name__ == "_line")

    def check(self, ok: bool, problem: str) -> None:
        if not ok and problem not in self.problems:
            self.problems.append(problem)

    def keep(self, name: str, spent: Spent) -> None:
        self.spent.setdefault(name, []).append(spent)

    def empty(self) -> None:
        """No inbox row, no marker, job or count: each storing part starts from the same state."""
        with self.svc.engine.begin() as conn:
            conn.execute(text("TRUNCATE inbox_events RESTART IDENTITY CASCADE"))
        metrics.flush()
        self.svc.redis.flushdb()

    def stored(self) -> int:
        with self.svc.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(InboxEvent.__table__)).scalar_one()

    def jobs(self) -> int:
        return queue(self.svc.redis, RECONCILE_QUEUE).count

    def counted(self, expected: int) -> int:
        """The webhook counter's total in Redis, once the tallies flushed (the flusher thread may hold some)."""
        deadline = time.monotonic() + 3
        while True:
            metrics.flush()
            total = sum(int(v) for f, v in self.svc.redis.hgetall(metrics.KEY).items() if COUNTER in f.decode())
            if total >= expected or time.monotonic() > deadline:
                return total
            time.sleep(0.05)

    def run(self, batch: list[Delivery], record: bool = True) -> None:
        """Every part once over `batch`, new path then old; kept unless it is the warm-up."""
        keep = self.keep if record else lambda name, spent: None
        n, meetings = len(batch), len({d.row["meeting_id"] for d in batch})
        settings = self.settings

        def verify(d: Delivery) -> signature.Verified:
            return signature.verify(
                settings.webhook_secret_tokens,
                d.headers.get("x-zm-request-timestamp"),
                d.headers.get("x-zm-signature"),
                d.body,
                now=time.time(),
                max_age=settings.webhook_max_age_seconds,
                max_future=settings.webhook_max_future_seconds,
            )

        spent, verified = timed(verify, batch)
        keep("verify", spent)
        self.check(all(v.secret == SECRET for v in verified), "a body's signature was not verified")
        spent, envelopes = timed(lambda d: read_envelope(d.body), batch)
        keep("envelope", spent)
        self.check(envelopes == [d.envelope for d in batch], "read_envelope read a body differently")
        spent, keys = timed(lambda d: dedupe_key(d.envelope.body), batch)
        keep("dedupe", spent)
        self.check(len(set(keys)) == n, f"{n - len(set(keys))} bodies share a dedupe key: they are not distinct")
        spent, rows = timed(lambda d: inbox_row(d.envelope, d.body, d.headers), batch)
        keep("inbox_row", spent)
        self.check(
            all(r["status"] == "pending" and "x-zm-signature" not in r["headers"] for r in rows),
            "an inbox row is not pending, or kept the signature header",
        )

        # 5, 7: the group commit alone (each store a batch of one), then its after-commit Redis work per row.
        self.empty()
        writer = GroupCommit(self.svc.engine, InboxEvent.__table__, "dedupe_key")
        spent, ids = timed(lambda d: writer.store(d.row), batch)
        keep("store", spent)
        self.check_stored("GroupCommit.store", ids, n)
        self.check(writer.batches == n, f"one thread storing alone made {writer.batches} batches of {n} rows")
        committed = [(d.row, inbox_id) for d, inbox_id in zip(batch, ids, strict=True)]
        spent, _ = timed(lambda pair: queue_committed(self.svc.redis, [pair]), committed)
        keep("queue_jobs", spent)
        self.check(self.jobs() == meetings, f"queue_committed queued {self.jobs()} jobs for {meetings} meetings")

        # 6, 7 under load: the threads' rows meet in batches; the Redis work then runs once per batch.
        self.empty()
        writer = GroupCommit(self.svc.engine, InboxEvent.__table__, "dedupe_key")
        spent, ids = timed_threads(lambda d: writer.store(d.row), batch, self.threads)
        keep("store_threads", spent)
        self.check_stored(f"GroupCommit.store from {self.threads} threads", ids, n)
        size = writer.rows / max(1, writer.batches)
        if record:
            self.batch_sizes.append(size)
        self.redis_empty()
        chunk = max(1, round(size))
        batches = [committed[i : i + chunk] for i in range(0, n, chunk)]
        spent, _ = timed(lambda rows: queue_committed(self.svc.redis, rows), batches)
        keep("queue_jobs_batched", spent)
        self.check(self.jobs() == meetings, f"batched, {self.jobs()} jobs queued for {meetings} meetings")

        self.redis_empty()
        spent, _ = timed(
            lambda d: metrics.tally(self.svc.redis, COUNTER, event_type=d.row["event_type"], outcome="pending"), batch
        )
        keep("tally", spent)
        self.check(self.counted(n) == n, f"metrics.tally: {self.counted(n)} counted of {n}")

        self.log_line(batch, ids, keep)
        with self.app.app_context():
            spent, answers = timed(lambda inbox_id: jsonify(status="pending", id=inbox_id), ids)
        keep("jsonify", spent)
        self.check(
            all(a.status_code == 200 for a in answers) and answers[0].get_json() == {"status": "pending", "id": ids[0]},
            "jsonify answered something else",
        )
        self.whole(batch, keep, meetings)
        self.old(batch, keep, meetings)

    def redis_empty(self) -> None:
        metrics.flush()
        self.svc.redis.flushdb()

    def check_stored(self, name: str, ids: list, n: int) -> None:
        fine = [i for i in ids if isinstance(i, int)]
        self.check(
            len(set(fine)) == n == self.stored(), f"{name}: {len(set(fine))} ids, {self.stored()} rows, {n} bodies"
        )
        errors = [i for i in ids if isinstance(i, BaseException)]
        self.check(not errors, f"{name}: {len(errors)} stores failed, e.g. {errors[:1]}")

    def log_line(self, batch: list[Delivery], ids: list, keep: Callable) -> None:
        """9: service.app's after_request line, per delivery in its own request context (pushed untimed)."""
        answer = self.app.response_class(b"{}", status=200, mimetype="application/json")
        cpu = wall = 0
        with open(os.devnull, "w") as devnull, log_lines_to(devnull):
            for d, inbox_id in zip(batch, ids, strict=True):
                with self.app.request_context(d.environ()):
                    g.started = time.perf_counter()
                    g.event_type, g.meeting_id, g.inbox_id = d.row["event_type"], d.row["meeting_id"], inbox_id
                    w, c = time.perf_counter_ns(), time.thread_time_ns()
                    self._line(answer)
                    cpu, wall = cpu + time.thread_time_ns() - c, wall + time.perf_counter_ns() - w
        keep("log_line", Spent(cpu, wall))
        written = io.StringIO()
        with log_lines_to(written), self.app.request_context(batch[0].environ()):
            g.event_type, g.inbox_id = batch[0].row["event_type"], ids[0]
            self._line(answer)
        line = json.loads(written.getvalue())
        expected = {"path": "/webhooks/zoom", "status": 200, "event_type": batch[0].row["event_type"]}
        self.check(expected.items() <= line.items(), f"the request log line is not the JSON one: {line}")

    def whole(self, batch: list[Delivery], keep: Callable, meetings: int) -> None:
        """11: each delivery through app.wsgi_app, one thread (so batches of one); environs built untimed."""
        self.empty()
        environs = [d.environ() for d in batch]
        bare = [EnvironBuilder(path="/healthz").get_environ() for _ in batch]
        with open(os.devnull, "w") as devnull, log_lines_to(devnull):
            spent, answers = timed(self.call, environs)
            again = [self.call(d.environ()) for d in batch[:3]]
            flask, healthy = timed(self.call, bare)
        keep("whole", spent)
        keep("healthz", flask)
        self.check(all(h == ("200 OK", {"status": "ok"}) for h in healthy), "GET /healthz answered otherwise")
        n = len(batch)
        ids = {a.get("id") for status, a in answers if status.startswith("200") and a.get("status") == "pending"}
        self.check(
            len(ids) == n == self.stored(), f"the whole request: {len(ids)} new ids, {self.stored()} rows, {n} bodies"
        )
        self.check(
            all(a == {"status": "duplicate", "id": None} for _, a in again) and self.stored() == n,
            f"a redelivery through the whole request was stored or answered otherwise: {again}",
        )
        self.check(self.jobs() == meetings, f"the whole request queued {self.jobs()} jobs for {meetings} meetings")
        self.check(self.counted(n + 3) == n + 3, f"the whole request counted {self.counted(n + 3)} of {n + 3}")

    def call(self, environ: dict[str, Any]) -> tuple[str, dict]:
        status: list[str] = []
        answer = self.app.wsgi_app(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            body = b"".join(answer)
        finally:
            getattr(answer, "close", lambda: None)()
        return status[0], json.loads(body)

    def old(self, batch: list[Delivery], keep: Callable, meetings: int) -> None:
        """The path before group commit: a unit of work and its commit per delivery, a marker and a counter each
        in a Redis round trip of their own."""
        n = len(batch)

        def store(d: Delivery):
            with self.svc.unit_of_work() as uow:
                return store_event(uow, d.envelope, d.body, d.headers)

        self.empty()
        spent, kept = timed(store, batch)
        keep("old_store", spent)
        self.check_stored("store_event", [s.inbox_id for s in kept], n)
        self.check(not any(store(d).created for d in batch[:3]) and self.stored() == n, "store_event kept a redelivery")
        self.empty()
        spent, kept = timed_threads(store, batch, self.threads)
        keep("old_store_threads", spent)
        self.check_stored(f"store_event from {self.threads} threads", [getattr(s, "inbox_id", s) for s in kept], n)

        self.redis_empty()
        spent, queued = timed(lambda d: request_reconcile(self.svc.redis, d.row["meeting_id"]), batch)
        keep("old_reconcile", spent)
        self.check(
            sum(j is not None for j in queued) == meetings == self.jobs(),
            f"request_reconcile queued {self.jobs()} jobs for {meetings} meetings",
        )
        self.redis_empty()
        spent, _ = timed(
            lambda d: metrics.count(self.svc.redis, COUNTER, event_type=d.row["event_type"], outcome="pending"), batch
        )
        keep("old_count", spent)
        self.check(self.counted(n) == n, f"metrics.count: {self.counted(n)} counted of {n}")


def table(spent: dict[str, list[Spent]], batch_sizes: list[float], n: int, threads: int) -> list[list[object]]:
    """The rows: each part by path; the sums; the whole request and what it holds besides the parts."""
    ms = {name: per_delivery(runs, n) for name, runs in spent.items()}
    batch = statistics.median(batch_sizes) if batch_sizes else 0.0
    row_parts = plus(ms["dedupe"], minus(ms["inbox_row"], ms["dedupe"]))  # what store_event builds inside
    shared = [ms["verify"], ms["envelope"], ms["dedupe"], minus(ms["inbox_row"], ms["dedupe"])]
    after = [ms["log_line"], ms["jsonify"]]
    new = plus(*shared, ms["store"], ms["queue_jobs"], ms["tally"], *after)
    old_store = minus(ms["old_store"], row_parts)
    old = plus(*shared, old_store, ms["old_reconcile"], ms["old_count"], *after)
    rest = minus(ms["whole"], new)
    rows = [
        ("1) signature.verify", "both", ms["verify"]),
        ("2) read_envelope (JSON parse)", "both", ms["envelope"]),
        ("3) dedupe_key", "both", ms["dedupe"]),
        ("4) inbox_row less the dedupe key (kept headers, status)", "both", shared[3]),
        ("5) store one row alone: GroupCommit.store (a batch of 1)", "new", ms["store"]),
        ("5) store one row: store_event, UnitOfWork and its commit (less 3, 4)", "old", old_store),
        (f"6) GroupCommit.store, {threads} threads at once (mean batch {batch:.1f})", "new", ms["store_threads"]),
        (f"6) store_event, {threads} threads at once (less 3, 4)", "old", minus(ms["old_store_threads"], row_parts)),
        ("7) after-commit Redis: queue_committed, a batch of 1", "new", ms["queue_jobs"]),
        (
            f"7) after-commit Redis: queue_committed, batches of {max(1, round(batch))} (as in 6)",
            "new",
            ms["queue_jobs_batched"],
        ),
        ("7) reconcile marker: request_reconcile per delivery", "old", ms["old_reconcile"]),
        ("8) counter: metrics.tally", "new", ms["tally"]),
        ("8) counter: metrics.count (a Redis round trip)", "old", ms["old_count"]),
        ("9) request log line (JSON lines, to /dev/null)", "both", ms["log_line"]),
        ("10) JSON answer (jsonify)", "both", ms["jsonify"]),
        ("Sum of parts 1-5, 7-10", "new", new),
        ("Sum of parts 1-5, 7-10", "old", old),
        ("11) whole request: app.wsgi_app, one thread", "new", ms["whole"]),
        ("Flask and the rest: 11 less the sum", "new", rest),
        ("11) whole request, estimated: the old sum + Flask and the rest", "old", plus(old, rest)),
        ("Flask alone: GET /healthz through app.wsgi_app (its log line included)", "both", ms["healthz"]),
    ]
    return [[name, path, f"{cpu:.3f}", f"{wall:.3f}"] for name, path, (cpu, wall) in rows]


def intake_parts(postgres_url: str, bodies: int, repetitions: int, threads: int, seed: int) -> Result:
    result = Result(
        "intake_parts",
        "Intake parts: CPU and wall ms per delivery of each part of POST /webhooks/zoom, new path and old",
        ["Part", "path", "CPU ms/delivery", "wall ms/delivery"],
    )
    batch = deliveries(generate_events(bodies, meetings=20, seed=seed))
    with tempfile.TemporaryDirectory(prefix="bench-intake-parts-") as tmp, service(postgres_url, Path(tmp)) as app:
        parts = Parts(app, threads)
        parts.run(batch[:WARM_UP], record=False)
        for _ in range(repetitions):
            parts.run(batch)
    result.problems += parts.problems
    result.rows = table(parts.spent, parts.batch_sizes, bodies, threads)
    result.notes += [
        f"{bodies:,} distinct signed bodies of 20 simulated webinars, each part over all of them, in-process on "
        f"PostgreSQL and Redis; the median of {repetitions} repetitions (after a warm-up), the CPU being the "
        "measuring thread's own (time.thread_time_ns): PostgreSQL's and Redis's CPU is not in it.",
        "Parts 6 are per delivery when the threads store at once: the CPU of every thread, the wall time of "
        "the whole ÷ the deliveries; the mean batch size is writer.rows ÷ writer.batches. "
        "Old parts 5 and 6 measure store_event and subtract parts 3 and 4, which it does inside.",
        "11 is the request through Flask's WSGI callable with its environ built beforehand (no gunicorn, no "
        "socket); the metrics flush runs in its own thread, outside these figures. The old path's whole is "
        "estimated: Flask and the rest are the same code on both paths. Flask and the rest is more than Flask "
        "alone (GET /healthz): a part costs more inside a request, between Flask's, psycopg's and redis-py's "
        "code, than in a loop of its own (presumably the CPU's caches), and that difference lands there.",
        "Parts 7 include the reconcile jobs queued, one per meeting (20) each repetition, on both paths: Redis is "
        "emptied before each storing or queueing part, the inbox table before each storing part.",
    ]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m bench.intake_parts", __doc__, "48 bodies, 2 repetitions")
    parser.add_argument("--bodies", type=int)
    parser.add_argument("--repetitions", type=int)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    bodies = args.bodies or (48 if args.quick else 1000)
    repetitions = args.repetitions or (2 if args.quick else 5)
    started = time.monotonic()
    result = intake_parts(args.postgres, bodies, repetitions, args.threads, args.seed)
    return cli.conclude(result, args.quick, started)


if __name__ == "__main__":
    raise SystemExit(main())
