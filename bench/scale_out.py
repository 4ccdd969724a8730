"""Scale-out benchmark: 20 webinars' events at once, reconciled by 1, 2 and 4 worker processes.

    python -m bench.scale_out            # 20 webinars of 10 to 2,000 people, 8,210 in all (`make bench`)
    python -m bench.scale_out --quick    # the same 20, a twentieth of the size

Every webinar's events (5 % twice, all shuffled together) go through the real
intake once. Then, for each number of workers, the inbox is set back to
pending, facts and attendance are emptied, the workers are started, and one
reconcile job per meeting is queued: the time from then to the last event done
gives events per second. The checks: every person's attendance equals the
simulator's, the batches the workers logged add up to each stored event once
(nothing reconciled twice), and no two batches of one meeting held it at the
same time (the meeting lock; what each batch logs is when it held it).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta

from redis import Redis
from sqlalchemy import text

from bench import cli
from bench.processes import attendance_difference, log_entries, wait_until, workers_registered
from bench.reconcile import NO_SWEEPS
from bench.results import Result, Target
from chaos.drill import DONE, attendance_by_email, linked_training, training_on_the_day_of
from chaos.harness import SECRET, System
from chaos.stack import Process
from workers.queues import request_reconcile
from zoomsim.load import Webinar, run_load, webinar_life

SIZES = (2000, 1500, 1000, 800, 600, 500, 400, 300, 250, 200, 150, 120, 100, 80, 60, 50, 40, 30, 20, 10)
WORKERS = (1, 2, 4)
EMPTIED = "participant_events, meeting_instances, attendance, report_pulls, report_rows, inbox_attempts"


def _pending_again(system: System, redis: Redis) -> None:
    """The stored events as they arrived: pending, nothing applied, an empty Redis."""
    with system.db.begin() as conn:
        conn.execute(text(f"TRUNCATE {EMPTIED} CASCADE"))
        conn.execute(
            text("UPDATE inbox_events SET status = 'pending', processed_at = NULL, attempts = 0, last_error = NULL")
        )
    redis.flushdb()


def _all_done(system: System) -> bool:
    with system.db.connect() as conn:
        statuses = set(conn.execute(text("SELECT DISTINCT status FROM inbox_events")).scalars())
    return bool(statuses) and statuses <= DONE


def _batches(workers: list[Process]) -> list[dict]:
    """The batches the workers logged: meeting, events, when the meeting's lock was taken and for how long."""
    return log_entries(workers, lambda entry: "locked_at" in entry)


def overlaps(batches: list[dict]) -> list[tuple[int, str, str]]:
    """Batches of one meeting that held it at the same time: (meeting, one's start, the other's start)."""
    by_meeting: dict[int, list[tuple[datetime, datetime]]] = {}
    for batch in batches:
        start = datetime.fromisoformat(batch["locked_at"])
        by_meeting.setdefault(batch["meeting_id"], []).append(
            (start, start + timedelta(milliseconds=batch["duration_ms"]))
        )
    found = []
    for meeting_id, spans in by_meeting.items():
        spans.sort()
        for (first, first_end), (second, _) in zip(spans, spans[1:], strict=False):
            if second < first_end:
                found.append((meeting_id, first.isoformat(), second.isoformat()))
    return found


def scale_out(quick: bool, postgres_url: str, sizes: tuple[int, ...], seed: int) -> Result:
    result = Result(
        "scale_out",
        f"Scale-out: {len(sizes)} webinars ({sum(sizes):,} people) reconciled by 1, 2 and 4 workers",
        ["Workers", "Events", "Seconds", "Events/s", "Speedup", "Batches", "Overlapping batches"],
    )
    webinars = [webinar_life(people, seed=seed + n, duplicate_share=0.05) for n, people in enumerate(sizes)]
    bodies = [body for webinar in webinars for body in webinar.bodies]
    random.Random(seed).shuffle(bodies)
    with cli.system("scale-out", postgres_url, extra_env=NO_SWEEPS) as system:
        trainings = {
            w.meeting_id: linked_training(
                system, f"Scale {n}", w.meeting_id, meeting_type="webinar", **training_on_the_day_of(w.start_time)
            )[1]
            for n, w in enumerate(webinars)
        }
        load = run_load(f"{system.url}/webhooks/zoom", SECRET, bodies, concurrency=8)
        if set(load.statuses) != {"200"}:
            result.problems.append(f"intake answered {load.statuses}")
        redis = Redis.from_url(system.redis.url)
        stored = _stored(system)
        if stored != sum(w.originals for w in webinars):
            result.problems.append(f"{stored} events stored, {sum(w.originals for w in webinars)} distinct sent")
        first = None
        for count in WORKERS:
            seconds, batches = _run(system, redis, count, webinars, trainings, result)
            first = first or seconds
            applied = sum(batch["events"] for batch in batches)
            if applied != stored:
                result.problems.append(f"{count} workers: batches applied {applied} events, {stored} stored")
            overlapping = overlaps(batches)
            if overlapping:
                result.problems.append(f"{count} workers: batches of one meeting overlapped: {overlapping[:3]}")
            result.rows.append(
                [count, stored, round(seconds, 2), round(stored / seconds), f"{first / seconds:.2f}×"]
                + [len(batches), len(overlapping)]
            )
        redis.close()
    speedups = {row[0]: float(row[4].rstrip("×")) for row in result.rows}
    result.targets.append(Target("speedup with 2 workers (2 cores)", speedups.get(2, 0.0), 1.5))
    result.notes.append(
        f"Intake of the {len(bodies):,} bodies ({load.rate:.0f}/s) happened once, before the runs; each run starts "
        f"from the same stored events. The largest webinar has {max(sizes) / sum(sizes):.0%} of the people, and "
        "one meeting is reconciled by one worker at a time: it bounds how far more workers help."
    )
    return result


def _stored(system: System) -> int:
    with system.db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM inbox_events")).scalar_one()


def _run(system, redis, count: int, webinars: list[Webinar], trainings: dict[int, int], result: Result):
    _pending_again(system, redis)
    workers = [system.stack.start("worker") for _ in range(count)]
    wait_until(lambda: workers_registered(redis) >= count, f"{count} workers to be ready", 60)
    started = time.monotonic()
    for webinar in webinars:
        request_reconcile(redis, webinar.meeting_id)
    done = wait_until(lambda: _all_done(system), f"{count} workers to reconcile every event", 900)
    for worker in workers:
        system.stack.kill(worker)
    for webinar in webinars:
        expected = {who: s for who, s in webinar.attendance.items() if "@" in who and s}
        seen = {who: s for who, s in attendance_by_email(system, trainings[webinar.meeting_id]).items() if s}
        wrong = attendance_difference(seen, expected)
        if wrong:
            result.problems.append(f"{count} workers, meeting {webinar.meeting_id}: {wrong}")
    return done - started, _batches(workers)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m bench.scale_out", __doc__, "webinars a twentieth of the size")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    sizes = tuple(max(5, size // 20) for size in SIZES) if args.quick else SIZES
    started = time.monotonic()
    return cli.conclude(scale_out(args.quick, args.postgres, sizes, args.seed), args.quick, started)


if __name__ == "__main__":
    raise SystemExit(main())
