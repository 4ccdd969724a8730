"""The soak run: many meetings' webhooks through the real processes while faults are injected throughout.

    python -m bench.soak --meetings 40 --people 1000      # about 100,000 webhook events (`make soak`)
    python -m bench.soak --meetings 3 --people 40 --faults 3   # the short version the test suite runs

Zoom (the simulator) delivers every meeting's events shuffled, a share of them
twice, and retries what fails as Zoom does (compressed). Meanwhile, at random
moments, Redis is killed and started empty, PostgreSQL is cut off for a few
seconds, or a worker is SIGKILLed and another started. At the end the checker
compares the database with what the simulator knows it sent: every original
message acknowledged, every event stored once (one row per dedupe key) and
done, every join and leave kept once, and each person's attendance equal to
the simulator's own computation, for every participant of every meeting.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from chaos.drill import (
    DONE,
    attendance_by_email,
    delivery_figures,
    guest_meeting,
    inbox_counts,
    participant_facts,
    stored_once,
    wait_delivered,
)
from chaos.harness import System, running_system

FAULTS = ("redis", "postgres", "worker")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "soak"


def _fault_loop(system: System, rng: random.Random, count: int, spacing: float, stop: threading.Event, log: list):
    """`count` faults, one every `spacing` seconds or so, each chosen at random and each healed."""
    started = time.monotonic()
    for _ in range(count):
        if stop.wait(rng.uniform(0.5, 1.5) * spacing):
            return
        kind = rng.choice(FAULTS)
        began = time.monotonic()
        if kind == "redis":
            system.redis.stop()
            time.sleep(rng.uniform(1, 3))
            system.redis.start()
        elif kind == "postgres":
            system.pg_proxy.cut()
            time.sleep(rng.uniform(1, 4))  # shorter than Zoom's retries (3 s, then 12 s, then 36 s here)
            system.pg_proxy.restore()
        else:
            workers = [p for p in system.stack.processes if p.name == "worker" and p.alive]
            if workers:
                system.stack.kill(rng.choice(workers))
            system.stack.start("worker")
        log.append({"fault": kind, "at": round(began - started, 1), "seconds": round(time.monotonic() - began, 1)})


def soak(
    postgres_url: str,
    meetings: int,
    people: int,
    faults: int,
    workers: int = 2,
    duplicates: float = 0.1,
    seed: int = 1,
    database: str = "zoomsync_soak",
) -> dict:
    rng = random.Random(seed)
    with (
        tempfile.TemporaryDirectory(prefix="zoomsync-soak-") as workdir,
        running_system(
            postgres_url, Path(workdir), database=database, seed=seed, sim_log_limit=_log_limit(meetings, people)
        ) as system,
    ):
        for _ in range(workers):
            system.stack.start("worker")
        system.zoom.control.webhook_settings(order="shuffled", duplicate_share=duplicates, seed=seed)
        planned = [guest_meeting(system, people, rng, f"Soak {n}") for n in range(meetings)]
        assert system.zoom.control.wait_for_webhooks(60)  # the meetings' creation, before the run
        before = {m["id"] for m in system.zoom.control.call("GET", "/webhooks/events")["items"]}
        rows_before, keys_before = stored_once(system)
        started = time.monotonic()
        stop, fault_log = threading.Event(), []
        injector = threading.Thread(
            target=_fault_loop,
            args=(system, rng, faults, _fault_spacing(meetings, people, faults), stop, fault_log),
            name="faults",
            daemon=True,
        )
        injector.start()
        expected = {}
        for meeting_id, training_id, script in planned:
            expected[training_id] = system.zoom.control.play(meeting_id, script)["attendance"]
        injector.join()  # every fault injected and healed
        assert wait_delivered(system.zoom, 1800), "the simulator still has webhooks to deliver"
        delivered_at = time.monotonic()
        messages = [m for m in system.zoom.control.call("GET", "/webhooks/events")["items"] if m["id"] not in before]
        originals = sum(1 for m in messages if m.get("duplicate_of") is None)
        truncated = len(system.zoom.sim.dispatcher.messages) >= _log_limit(meetings, people)
        zoom_side = delivery_figures([d for d in system.zoom.control.deliveries() if d["message_id"] not in before])

        def settled() -> bool:
            return set(inbox_counts(system)) <= DONE and all(
                {k: v for k, v in attendance_by_email(system, t).items() if v} == want for t, want in expected.items()
            )

        system.stack.wait_for(settled, "the LMS to agree with Zoom", timeout=900, watch=False)
        (rows, keys), facts = stored_once(system), participant_facts(system)
        figures = {
            "meetings": meetings,
            "participants": meetings * people,
            "events_sent": originals,
            "deliveries": zoom_side,
            "faults": fault_log,
            "stored": rows - rows_before,
            "stored_twice": rows - keys,
            "lost": originals - (keys - keys_before),
            "facts_applied_twice": facts[0] - facts[1],
            "inbox": inbox_counts(system),
            "attendance_compared": sum(len(want) for want in expected.values()),  # people, each equal to Zoom's
            "seconds_to_deliver": round(delivered_at - started, 1),
            "seconds_to_settle": round(time.monotonic() - started, 1),
        }
        problems = []
        if truncated:
            problems.append("the simulator's log filled up: the counts of what it sent are incomplete")
        if zoom_side["never_acknowledged"]:
            problems.append(f"{zoom_side['never_acknowledged']} message(s) never acknowledged")
        if figures["stored_twice"] or figures["facts_applied_twice"]:
            problems.append("something was stored or applied twice")
        if figures["lost"]:
            problems.append(f"{figures['lost']} event(s) lost")
        figures["problems"] = problems
        return figures


DELIVERY_RATE = 90  # webhooks a second the simulator delivers here (2 cores): to spread the faults over the run


def _fault_spacing(meetings: int, people: int, faults: int) -> float:
    """Seconds between faults, so they fall throughout the delivery rather than all at its start."""
    expected_seconds = meetings * (people * 4 + 5) * 1.1 / DELIVERY_RATE
    return max(4.0, expected_seconds / max(faults, 1))


def _log_limit(meetings: int, people: int) -> int:
    """Room in the simulator's logs for every message and delivery attempt of the run (at most 3 sessions
    a person: 6 events, each possibly twice and retried 3 times), so the checker reads the whole of it."""
    return meetings * (people * 6 + 10) * 2 * 4 + 10_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=40)
    parser.add_argument("--people", type=int, default=1000, help="participants per meeting")
    parser.add_argument("--faults", type=int, default=20, help="faults injected during the run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of messages Zoom sends twice")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database",
        default=os.environ.get("SOAK_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL server the run may create its own database on",
    )
    args = parser.parse_args(argv)
    # A stopped run still stops what it started (web, workers, its Redis): SIGTERM unwinds like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    figures = soak(args.database, args.meetings, args.people, args.faults, args.workers, args.duplicates, args.seed)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "soak.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 1 if figures["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
