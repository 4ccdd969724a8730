"""Reconcile benchmark: a 10,000-person webinar's events through the intake, reconciled by one worker.

    python -m bench.reconcile            # 10,000 attendees, baseline on 1,000 events (`make bench`)
    python -m bench.reconcile --quick    # 500 attendees, baseline on 100 events

The webinar is played in the simulator's world (several devices, rejoins, a few
leaves lost), 5 % of its events sent twice, all shuffled, and posted to the real
`web` process by the simulator's load generator. Three runs on the same events,
each on emptied tables and an empty Redis:

1. live: the worker runs while the events arrive; measured from the last
   event's acknowledgement to the last one reconciled (attendance included:
   it is written in the same transaction that marks the events done);
2. drain: every event waits, then the worker starts; events reconciled per
   second from the moment it is ready, and its peak memory;
3. baseline, the textbook design: one RQ job per event (bench/textbook.py) on
   the first events of the same list, the same worker process, then one job
   that computes attendance once.

Runs 1 and 2 must end with every person's attendance equal to the simulator's own.
"""

from __future__ import annotations

import sys
import time

from redis import Redis
from sqlalchemy import text

from bench import cli
from bench.processes import PeakMemory, attendance_difference, mib, wait_until, workers_registered
from bench.results import Result, Target
from bench.textbook import apply_event, finish
from chaos.drill import DONE, attendance_by_email, linked_training, training_on_the_day_of
from chaos.harness import SECRET, System
from workers.queues import RECONCILE_QUEUE, queue
from zoomsim.load import Webinar, run_load, webinar_life

# The sweeper would queue our own reconcile job for the baseline's waiting events; it is not what is measured.
NO_SWEEPS = {"SWEEP_INTERVAL_SECONDS": "3600", "SWEEP_AFTER_SECONDS": "3600"}
TABLES = "inbox_events, inbox_attempts, participant_events, meeting_instances, attendance, report_pulls, report_rows"


def _statuses(system: System, meeting_id: int) -> dict[str, int]:
    with system.db.connect() as conn:
        rows = conn.execute(
            text("SELECT status, count(*) FROM inbox_events WHERE meeting_id = :m GROUP BY status"), {"m": meeting_id}
        )
        return dict(rows.all())


def _all_done(system: System, meeting_id: int) -> bool:
    statuses = _statuses(system, meeting_id)
    return bool(statuses) and set(statuses) <= DONE


def _reset(system: System, redis: Redis) -> None:
    """Emptied inbox, facts and attendance, and an empty Redis: the next run starts where this one did."""
    with system.db.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} CASCADE"))
    redis.flushdb()


def _wrong_attendance(system: System, training_id: int, webinar: Webinar) -> str | None:
    expected = {who: seconds for who, seconds in webinar.attendance.items() if "@" in who and seconds}
    seen = {who: seconds for who, seconds in attendance_by_email(system, training_id).items() if seconds}
    return attendance_difference(seen, expected)


def reconcile(quick: bool, postgres_url: str, people: int, baseline_events: int, seed: int) -> Result:
    result = Result(
        "reconcile",
        f"Reconcile: a {people:,}-person webinar's participant events, one worker",
        ["Run", "Events sent", "Events stored", "Intake events/s", "Reconciled events/s", "After last ack s"]
        + ["Worker peak RSS MiB"],
    )
    webinar = webinar_life(people, seed=seed, duplicate_share=0.05)
    with cli.system("reconcile", postgres_url, extra_env=NO_SWEEPS) as system:
        on_its_day = training_on_the_day_of(webinar.start_time)
        _, training_id, _ = linked_training(
            system, "Benchmark webinar", webinar.meeting_id, meeting_type="webinar", **on_its_day
        )
        redis = Redis.from_url(system.redis.url)
        url = f"{system.url}/webhooks/zoom"
        live = _live(system, redis, url, webinar, training_id, result)
        _reset(system, redis)
        drained = _drain(system, redis, url, webinar, training_id, result)
        _reset(system, redis)
        textbook = _textbook(system, redis, url, webinar, training_id, baseline_events, result)
        redis.close()
    result.rows += [live, drained, textbook]
    lag, ours_rate, peak, base_rate = live[5], drained[4], drained[6], textbook[4]
    result.targets += [
        Target("live: reconciled after the last event's acknowledgement", lag, 10, at_least=False, unit=" s"),
        Target("drain ÷ per-event baseline (events/s)", ours_rate / base_rate if base_rate else 0.0, 20),
        Target("worker peak RSS (largest process)", peak, 300, at_least=False, unit=" MiB"),
    ]
    result.notes.append(
        f"{webinar.originals:,} distinct events ({len(webinar.bodies) - webinar.originals:,} duplicates) of "
        f"{len(webinar.attendance):,} people; attendance of {people:,} compared with the simulator's in runs 1 and 2. "
        "Intake by the simulator's load generator, 8 connections. Reconciled events/s counts from the worker "
        "being ready to the last event done."
    )
    return result


def _send(result: Result, url: str, bodies: list[bytes], what: str):
    load = run_load(url, SECRET, bodies, concurrency=8)
    if set(load.statuses) != {"200"}:
        result.problems.append(f"{what}: answers {load.statuses} {load.errors[:3]}")
    return load


def _live(system, redis, url, webinar, training_id, result) -> list:
    worker = system.stack.start("worker")
    wait_until(lambda: workers_registered(redis) > 0, "the worker to be ready", 60)
    with PeakMemory(worker.popen.pid) as memory:
        load = _send(result, url, webinar.bodies, "live")
        acked = time.monotonic()
        done = wait_until(lambda: _all_done(system, webinar.meeting_id), "live events reconciled", 600)
    system.stack.kill(worker)
    stored = sum(_statuses(system, webinar.meeting_id).values())
    _check(result, "live", system, training_id, webinar, stored)
    return ["1. live", load.sent, stored, round(load.rate), round(stored / (done - acked + load.seconds))] + [
        round(done - acked, 2),
        round(mib(memory.largest)),
    ]


def _drain(system, redis, url, webinar, training_id, result) -> list:
    load = _send(result, url, webinar.bodies, "drain")
    worker = system.stack.start("worker")
    with PeakMemory(worker.popen.pid) as memory:
        ready = wait_until(lambda: workers_registered(redis) > 0, "the worker to be ready", 60)
        done = wait_until(lambda: _all_done(system, webinar.meeting_id), "waiting events reconciled", 600)
    system.stack.kill(worker)
    stored = sum(_statuses(system, webinar.meeting_id).values())
    _check(result, "drain", system, training_id, webinar, stored)
    return [
        "2. drain",
        load.sent,
        stored,
        round(load.rate),
        round(stored / (done - ready)),
        "",
        round(mib(memory.largest)),
    ]


def _textbook(system, redis, url, webinar, training_id, count, result) -> list:
    load = _send(result, url, webinar.bodies[:count], "baseline")
    redis.flushdb()  # the intake queued our coalesced job: the baseline's jobs replace it
    with system.db.connect() as conn:
        ids = (
            conn.execute(
                text("SELECT id FROM inbox_events WHERE meeting_id = :m AND status = 'pending' ORDER BY id"),
                {"m": webinar.meeting_id},
            )
            .scalars()
            .all()
        )
    reconcile_queue = queue(redis, RECONCILE_QUEUE)
    for inbox_id in ids:
        reconcile_queue.enqueue(apply_event, inbox_id, result_ttl=600)
    last = reconcile_queue.enqueue(finish, training_id, result_ttl=600)
    worker = system.stack.start("worker")
    with PeakMemory(worker.popen.pid) as memory:
        ready = wait_until(lambda: workers_registered(redis) > 0, "the worker to be ready", 60)
        done = wait_until(lambda: last.get_status(refresh=True) in ("finished", "failed"), "the baseline's jobs", 1800)
    system.stack.kill(worker)
    statuses = _statuses(system, webinar.meeting_id)
    if last.get_status() != "finished" or set(statuses) != {"processed"}:
        result.problems.append(f"baseline: attendance job {last.get_status()}, events {statuses}")
    rate = len(ids) / (done - ready)
    return [
        "3. baseline: a job per event",
        load.sent,
        len(ids),
        round(load.rate),
        round(rate, 1),
        "",
        round(mib(memory.largest)),
    ]


def _check(result: Result, what: str, system: System, training_id: int, webinar: Webinar, stored: int) -> None:
    if stored != webinar.originals:
        result.problems.append(f"{what}: {stored} events stored, {webinar.originals} distinct sent")
    wrong = _wrong_attendance(system, training_id, webinar)
    if wrong:
        result.problems.append(f"{what}: {wrong}")


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m bench.reconcile", __doc__, "a 500-person webinar")
    parser.add_argument("--people", type=int)
    parser.add_argument("--baseline-events", type=int)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    people = args.people or (500 if args.quick else 10_000)
    baseline = args.baseline_events or (100 if args.quick else 1000)
    started = time.monotonic()
    result = reconcile(args.quick, args.postgres, people, baseline, args.seed)
    return cli.conclude(result, args.quick, started)


if __name__ == "__main__":
    raise SystemExit(main())
