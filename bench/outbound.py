"""Outbound benchmark: 1,000 trainings edited at once, pushed by two workers to a Zoom with Pro limits.

    python -m bench.outbound            # 1,000 trainings of 25 hosts, 3 edits each (`make bench`)
    python -m bench.outbound --quick    # 100 trainings of 3 hosts

A connected academy (Server-to-Server) has its trainings created in the
simulated Zoom first, up to 40 a host, so no host spends more than 80 of
Zoom's 100 creates and updates a day. Then, with no worker running, the LMS
edits every training's schedule three times in a row from 8 clients at once
(so all of them wait together, as after an import or a bulk reschedule), and
two worker processes are started to push. Zoom's calls are read back
from the simulator's log: the Light calls' rate against Pro's 30 a second,
429s (each must be honoured: no call in the second after it), PATCHes per
training (three edits inside a second must cost one), and both sides equal.
"""

from __future__ import annotations

import random
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from redis import Redis

from bench import cli, profile
from bench.processes import job_milliseconds, log_entries, wait_until, workers_registered
from bench.results import ARTIFACTS, ROOT, Result, Target
from chaos.harness import System
from chaos.outbound import (
    Academy,
    accepted_patches,
    all_sent,
    another_host,
    connect_server_to_server,
    differences,
    edit,
    last_call_id,
    new_trainings,
    not_as_set,
    outbox_counts,
    random_schedule,
    zoom_calls,
)
from config import load_settings
from workers.queues import OUTBOUND_QUEUE

LIGHT_PER_SECOND = 30  # Zoom's Pro plan
PER_HOST = 40  # a create and an update each: 80 of a host's 100 a day
EDITS_PER_TRAINING = 3
CLIENTS = 8
PROFILE_RAW = ARTIFACTS / "profile-outbound.raw"
PROFILE_SUMMARY = ARTIFACTS / "profile-outbound.txt"


def _setup(system: System, trainings: int) -> dict[int, Academy]:
    academy = connect_server_to_server(system, "Outbound benchmark")
    owners: dict[int, Academy] = {}
    host = 0
    while len(owners) < trainings:
        organizer = another_host(system, academy, host)
        for training_id in new_trainings(system, organizer, min(PER_HOST, trainings - len(owners)), 0, "Bench"):
            owners[training_id] = organizer
        host += 1
    wait_until(lambda: all_sent(system), "every training created in Zoom", 900, interval=0.5)
    return owners


def _edit_all(system: System, owners: dict[int, Academy], seed: int) -> dict[int, dict]:
    """Each training's three edits back to back, the trainings spread over the clients: what each ends with."""
    rng = random.Random(seed)
    plans = {tid: [random_schedule(rng) for _ in range(EDITS_PER_TRAINING)] for tid in owners}
    lock = threading.Lock()
    errors: list[str] = []

    def one(training_id: int) -> None:
        try:
            for change in plans[training_id]:
                edit(system, owners[training_id], training_id, change)
        except AssertionError as exc:
            with lock:
                errors.append(str(exc)[:300])

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, list(owners)))
    if errors:
        raise AssertionError(f"{len(errors)} LMS edits failed: {errors[:3]}")
    return {tid: {name: value for change in edits for name, value in change.items()} for tid, edits in plans.items()}


def _unhonoured(calls: list[dict]) -> int:
    """Calls that started within a second of a 429's answer (Zoom's Retry-After is at least 1 s)."""
    refused = [c["at"] for c in calls if c["status"] == 429]
    starts = [c["at"] - c["duration_ms"] / 1000 for c in calls]
    return sum(1 for at in refused for start in starts if at < start < at + 1.0)


def outbound(quick: bool, postgres_url: str, trainings: int, seed: int, profiled: bool = False) -> Result:
    result = Result(
        "outbound",
        f"Outbound: {trainings:,} trainings edited {EDITS_PER_TRAINING} times each at once, two workers, Pro limits",
        ["Trainings", "Edits", "Zoom calls", "Seconds", "Light calls/s", "÷ limit", "429s", "PATCHes", "Differ"],
    )
    with cli.system("outbound", postgres_url, sim_log_limit=trainings * 8 + 1000) as system:
        creators = [system.stack.start("worker") for _ in range(2)]
        owners = _setup(system, trainings)
        for worker in creators:
            system.stack.kill(worker, signal.SIGTERM)  # a warm shutdown: it says goodbye to Redis
        redis = Redis.from_url(system.redis.url)
        wait_until(lambda: workers_registered(redis) == 0, "the creating workers to be gone", 60)
        calls_before = last_call_id(system)
        began = time.monotonic()
        wanted = _edit_all(system, owners, seed)
        edited = time.monotonic()
        pushers = [system.stack.start("worker") for _ in range(2)]
        wait_until(lambda: workers_registered(redis) >= 2, "two workers to be ready", 60)
        started = time.monotonic()
        spy = profile.start(pushers[0].popen.pid, 8, PROFILE_RAW) if profiled else None
        wait_until(lambda: all_sent(system), "every edit pushed", 900, interval=0.5)
        if spy is not None and profile.finish(spy, PROFILE_RAW, PROFILE_SUMMARY):
            result.notes.append(f"Profiled: {PROFILE_SUMMARY.relative_to(ROOT)} (one worker, the first 8 s).")
        done = time.monotonic()
        calls = zoom_calls(system, calls_before)
        differing = differences(system, list(owners))
        lost = not_as_set(system, wanted)
        outbox = outbox_counts(system)
        redis.close()
        pushes = job_milliseconds(pushers, "workers.push.push_training")
        deferred = _deferrals(pushers)
    light = [c for c in calls if c["method"] in ("GET", "PATCH") and "/meetings/" in c["path"]]
    window = max(c["at"] for c in light) - min(c["at"] - c["duration_ms"] / 1000 for c in light) if light else 0.0
    rate = len(light) / window if window else 0.0
    refused = sum(1 for c in calls if c["status"] == 429)
    patches = accepted_patches(calls)
    result.rows.append(
        [trainings, trainings * EDITS_PER_TRAINING, len(calls), round(done - started, 1), round(rate, 1)]
        + [round(rate / LIGHT_PER_SECOND, 2), refused, patches, len(differing)]
    )
    result.targets += [
        Target("Light calls/s ÷ Pro's 30", rate / LIGHT_PER_SECOND, 0.9),
        Target("429s ÷ calls", 100 * refused / max(1, len(calls)), 1, at_least=False, unit=" %"),
        Target("PATCHes per training (3 edits inside a second)", patches / trainings, 1, at_least=False),
    ]
    if lost:
        result.problems.append(f"{len(lost)} trainings do not hold the LMS's last edit: {lost[:5]}")
    if differing:
        result.problems.append(f"{len(differing)} trainings differ between the LMS and Zoom: {differing[:2]}")
    if set(outbox) - {"sent", "cancelled"}:
        result.problems.append(f"outbox rows not sent: {outbox}")
    unhonoured = _unhonoured(calls)
    if unhonoured:
        result.problems.append(f"{unhonoured} calls started within a second of a 429")
    if pushes:
        result.notes.append(
            f"{len(pushes)} push jobs ({_where()}); each took {statistics.median(pushes):.0f} ms "
            f"(median), {pushes[int(0.9 * (len(pushes) - 1))]:.0f} ms (p90). "
            f"{sum(deferred.values())} of them met a limit and were put off: {_counted(deferred)}."
        )
    result.notes.append(
        f"The edits took {edited - began:.1f} s from {CLIENTS} LMS clients, before the workers started; "
        f"Seconds: from both workers ready to every outbox row sent. Zoom's calls were spread over "
        f"{window:.1f} s. Outbox {outbox}. Each host spent at most {2 * PER_HOST} of its 100 creates and updates."
    )
    return result


def _deferrals(workers) -> Counter:
    """Why pushes were put off (each then ran again): the reasons the workers logged, counted."""

    def put_off(entry: dict) -> bool:
        return entry.get("logger") == "workers.push" and " deferred to " in entry.get("message", "")

    return Counter(entry["message"].split(": ", 1)[-1] for entry in log_entries(workers, put_off))


def _counted(reasons: Counter) -> str:
    return "; ".join(f"{n} × {reason}" for reason, n in reasons.most_common()) or "none"


def _where() -> str:
    inline = load_settings().worker_inline_queues
    return "run in the worker itself" if OUTBOUND_QUEUE in inline else "each in a forked work horse"


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m bench.outbound", __doc__, "100 trainings")
    parser.add_argument("--trainings", type=int)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="py-spy on one pushing worker: artifacts/bench/")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    trainings = args.trainings or (100 if args.quick else 1000)
    result = outbound(args.quick, args.postgres, trainings, args.seed, args.profile)
    return cli.conclude(result, args.quick, started)


if __name__ == "__main__":
    raise SystemExit(main())
