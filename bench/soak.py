"""The soak run: many meetings' webhooks through the real processes while faults are injected throughout.

    python -m bench.soak --meetings 30 --people 900 --trainings 100 --edits 2000   # `make soak`
    python -m bench.soak --meetings 3 --people 40 --faults 3 --trainings 6 --edits 60   # the test suite's

Zoom (the simulator) delivers every meeting's events shuffled, a share of them
twice, and retries what fails as Zoom does (compressed). Meanwhile, at random
moments, Redis is killed and started empty, PostgreSQL is cut off for a few
seconds, or a worker is SIGKILLed and another started, or Zoom's API fails
every call for a few seconds. All the while an LMS edits trainings of a
connected academy (schedules, and now and then a registrant added or removed),
retrying what the service answers 503, as an LMS would. At the end the checker
compares the database with what the simulator knows it sent: every original
message acknowledged, every event stored once (one row per dedupe key) and
done, every join and leave kept once, and each person's attendance equal to
the simulator's own computation, for every participant of every meeting; and
every edited training the same on both sides, as the LMS last set it, with
every outbox row sent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
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
from chaos.outbound import (
    Academy,
    Patience,
    accepted_patches,
    add_learner,
    another_host,
    call_figures,
    connect_server_to_server,
    differences,
    edit,
    last_call_id,
    new_trainings,
    not_as_set,
    outbox_counts,
    random_schedule,
    remove_learner,
    wait_in_sync,
    zoom_calls,
)

FAULTS = ("redis", "postgres", "worker")
ZOOM_FAULTS = ("zoom",)  # with edits: Zoom's API failing every call for a few seconds
HOST_BUDGET = 80  # of Zoom's 100 creates and updates a host may make a day: what the soak lets each host spend
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "soak"


def _fault_loop(
    system: System, rng: random.Random, count: int, spacing: float, stop: threading.Event, log: list, kinds: tuple
):
    """`count` faults, one every `spacing` seconds or so, each chosen at random and each healed."""
    started = time.monotonic()
    for _ in range(count):
        if stop.wait(rng.uniform(0.5, 1.5) * spacing):
            return
        kind = rng.choice(kinds)
        began = time.monotonic()
        if kind == "zoom":
            system.zoom.control.fault(kind="drop", share=0.3, path="^/v2/")
            system.zoom.control.fault(kind="status", status=503, path="^/v2/")
            time.sleep(rng.uniform(3, 10))
            system.zoom.control.clear_faults()
        elif kind == "redis":
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


class Editor:
    """The LMS's side of the soak: `edits` changes, round-robin over the trainings so every host's daily budget
    holds, one every `spacing` seconds or so; what it last set of each schedule is what the checker expects."""

    def __init__(self, system: System, owners: dict[int, Academy], edits: int, spacing: float, seed: int) -> None:
        self.system, self.owners, self.edits, self.spacing = system, owners, edits, spacing
        self.rng = random.Random(seed)
        self.patience = Patience()
        self.wanted: dict[int, dict] = {}
        self.added: dict[int, list[int]] = {training_id: [] for training_id in owners}
        self.counts = {"schedule": 0, "registrant_added": 0, "registrant_removed": 0}
        self.errors: list[str] = []

    def run(self, stop: threading.Event) -> None:
        order = list(self.owners)
        for n in range(self.edits):
            if n % len(order) == 0:
                self.rng.shuffle(order)
            if stop.wait(self.rng.uniform(0.5, 1.5) * self.spacing):
                return
            training_id = order[n % len(order)]
            try:
                self._one(training_id)
            except AssertionError as exc:  # an answer no LMS should get (a 500, a 4xx to a valid edit)
                self.errors.append(str(exc)[:300])

    def _one(self, training_id: int) -> None:
        academy, roll = self.owners[training_id], self.rng.random()
        if roll < 0.06:
            self.added[training_id].append(
                add_learner(self.system, academy, training_id, "soak", patience=self.patience)
            )
            self.counts["registrant_added"] += 1
        elif roll < 0.09 and self.added[training_id]:
            user = self.added[training_id].pop(0)
            remove_learner(self.system, academy, training_id, user, patience=self.patience)
            self.counts["registrant_removed"] += 1
        else:
            change = random_schedule(self.rng)
            edit(self.system, academy, training_id, change, patience=self.patience)
            self.wanted.setdefault(training_id, {}).update(change)
            self.counts["schedule"] += 1

    def not_as_set(self) -> list[int]:
        """Trainings whose LMS schedule is not what the editor last set (an edit the service lost)."""
        return not_as_set(self.system, self.wanted)


def _edited_trainings(system: System, trainings: int, edits: int) -> dict[int, Academy]:
    """A connected academy's trainings, a few per host so that no host spends more than HOST_BUDGET a day."""
    academy = connect_server_to_server(system, "Soak edits")
    per_host = max(1, HOST_BUDGET // (1 + -(-edits // max(trainings, 1))))
    owners: dict[int, Academy] = {}
    host = 0
    while len(owners) < trainings:
        organizer = another_host(system, academy, host)
        for training_id in new_trainings(system, organizer, min(per_host, trainings - len(owners)), 1, "Soak"):
            owners[training_id] = organizer
        host += 1
    return owners


def soak(
    postgres_url: str,
    meetings: int,
    people: int,
    faults: int,
    workers: int = 2,
    duplicates: float = 0.1,
    seed: int = 1,
    database: str = "zoomsync_soak",
    trainings: int = 0,
    edits: int = 0,
) -> dict:
    with tempfile.TemporaryDirectory(prefix="zoomsync-soak-") as workdir:
        try:
            return _soak(
                Path(workdir),
                postgres_url,
                meetings,
                people,
                faults,
                workers,
                duplicates,
                seed,
                database,
                trainings,
                edits,
            )
        finally:  # the processes' logs outlive the run: what to read when a check failed
            shutil.copytree(Path(workdir) / "logs", ARTIFACTS / "logs", dirs_exist_ok=True)


def _soak(
    workdir: Path,
    postgres_url: str,
    meetings: int,
    people: int,
    faults: int,
    workers: int,
    duplicates: float,
    seed: int,
    database: str,
    trainings: int,
    edits: int,
) -> dict:
    rng = random.Random(seed)
    with running_system(
        postgres_url, workdir, database=database, seed=seed, sim_log_limit=_log_limit(meetings, people)
    ) as system:
        for _ in range(workers):
            system.stack.start("worker")
        system.zoom.control.webhook_settings(order="shuffled", duplicate_share=duplicates, seed=seed)
        planned = [guest_meeting(system, people, rng, f"Soak {n}") for n in range(meetings)]
        owners = _edited_trainings(system, trainings, edits) if trainings and edits else {}
        wait_in_sync(system, list(owners), 300)
        assert system.zoom.control.wait_for_webhooks(60)  # the meetings' creation, before the run
        before = {m["id"] for m in system.zoom.control.call("GET", "/webhooks/events")["items"]}
        rows_before, keys_before = stored_once(system)
        calls_before = last_call_id(system)
        started = time.monotonic()
        stop, fault_log = threading.Event(), []
        kinds = FAULTS + (ZOOM_FAULTS if owners else ())
        injector = threading.Thread(
            target=_fault_loop,
            args=(system, rng, faults, _spread(meetings, people, faults), stop, fault_log, kinds),
            name="faults",
            daemon=True,
        )
        editor = Editor(system, owners, edits if owners else 0, _spread(meetings, people, edits, floor=0.05), seed)
        editing = threading.Thread(target=editor.run, args=(stop,), name="edits", daemon=True)
        injector.start()
        editing.start()
        expected = {}
        for meeting_id, training_id, script in planned:
            expected[training_id] = system.zoom.control.play(meeting_id, script)["attendance"]
        injector.join()  # every fault injected and healed
        editing.join()  # every edit made
        assert wait_delivered(system.zoom, 1800), "the simulator still has webhooks to deliver"
        delivered_at = time.monotonic()

        def settled() -> bool:
            return set(inbox_counts(system)) <= DONE and all(
                {k: v for k, v in attendance_by_email(system, t).items() if v} == want for t, want in expected.items()
            )

        system.stack.wait_for(settled, "the LMS to agree with Zoom", timeout=900, watch=False)
        wait_in_sync(system, list(owners), 600, settle=True)  # what still differs is reported below
        # Pushes that went late sent webhooks of their own (Zoom's meeting.updated): count those too.
        assert wait_delivered(system.zoom, 300), "the simulator still has webhooks to deliver"
        system.stack.wait_for(lambda: set(inbox_counts(system)) <= DONE, "every event done", 300, watch=False)
        messages = [m for m in system.zoom.control.call("GET", "/webhooks/events")["items"] if m["id"] not in before]
        originals = sum(1 for m in messages if m.get("duplicate_of") is None)
        truncated = len(system.zoom.sim.dispatcher.messages) >= _log_limit(meetings, people)
        zoom_side = delivery_figures([d for d in system.zoom.control.deliveries() if d["message_id"] not in before])
        outbound_calls = zoom_calls(system, calls_before)
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
            "lms": {
                "trainings": len(owners),
                "hosts": len({academy.organizer for academy in owners.values()}),
                "edits": editor.counts,
                "retried_after_503": editor.patience.retries,
                "errors": editor.errors,
                "not_as_set": editor.not_as_set(),
                "differing_from_zoom": [
                    {"training": training_id, "lms": lms_held, "zoom": zoom_held}
                    for training_id, lms_held, zoom_held in differences(system, list(owners))
                ],
                "outbox": outbox_counts(system),
                "zoom_calls": call_figures(outbound_calls),
                "meeting_patches": accepted_patches(outbound_calls),
            },
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
        lms = figures["lms"]
        if lms["errors"]:
            problems.append(f"{len(lms['errors'])} LMS edit(s) answered with an error")
        if lms["not_as_set"] or lms["differing_from_zoom"]:
            problems.append("an LMS edit was lost, or did not reach Zoom")
        if set(lms["outbox"]) - {"sent", "cancelled"}:
            problems.append(f"outbox rows not sent: {lms['outbox']}")
        figures["problems"] = problems
        return figures


DELIVERY_RATE = 90  # webhooks a second the simulator delivers here (2 cores): to spread the faults over the run


def _spread(meetings: int, people: int, count: int, floor: float = 4.0) -> float:
    """Seconds between `count` happenings (faults, edits), so they fall throughout the delivery rather than
    all at its start; faults at least `floor` apart, edits as close as the delivery needs."""
    expected_seconds = meetings * (people * 4 + 5) * 1.1 / DELIVERY_RATE
    return max(floor, expected_seconds / max(count, 1))


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
    parser.add_argument("--trainings", type=int, default=100, help="trainings of a connected academy the LMS edits")
    parser.add_argument("--edits", type=int, default=2000, help="LMS edits during the run (schedules, registrants)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database",
        default=os.environ.get("SOAK_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL server the run may create its own database on",
    )
    args = parser.parse_args(argv)
    # A stopped run still stops what it started (web, workers, its Redis): SIGTERM unwinds like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    figures = soak(
        args.database,
        args.meetings,
        args.people,
        args.faults,
        args.workers,
        args.duplicates,
        args.seed,
        trainings=args.trainings,
        edits=args.edits,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "soak.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 1 if figures["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
