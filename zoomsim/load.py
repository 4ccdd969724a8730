"""`python -m zoomsim.load`: send N signed Zoom events to a webhook endpoint at a set rate and concurrency.

The events are real simulator output: large webinars played in an in-process
world (joins and leaves from several devices, rejoins), so what is measured is
the work a real burst causes. Each request is signed when it is sent, as Zoom
does. Reports the achieved rate, answers by status and latency percentiles.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from zoomsim import events, life
from zoomsim.config import SimConfig
from zoomsim.signing import signed_headers
from zoomsim.world import World


def generate_events(
    count: int, meetings: int = 1, seed: int = 1, duplicate_share: float = 0.0, now: float | None = None
) -> list[bytes]:
    """`count` event bodies (serialised as Zoom sends them) from `meetings` webinars, shuffled, with duplicates.

    Each webinar's events are taken in the order they happened, cut where its
    share of `count` is reached (a long burst is the start of many lives). The
    webinars are scheduled at `now` (default: the current time, so each run's
    events are new to the receiver); the same seed and `now` give the same bytes.
    """
    rng = random.Random(seed)
    world, host = _world(seed, rng, now)
    meetings = max(1, min(meetings, count))
    bodies: list[bytes] = []
    for n in range(meetings):
        share = count // meetings + (1 if n < count % meetings else 0)
        webinar = _webinar(world, host, n)
        produced: list[dict] = []
        people = max(1, share // 2)  # at least a join and a leave each
        while len(produced) < share:
            life.play(world, webinar, life.crowd(people, 7200, rng, email_domain=f"load{n}.example"))
            produced += world.take_outbox()
        bodies.extend(events.serialize(body) for body in produced[:share])
    return _duplicated_and_shuffled(bodies, duplicate_share, rng)


@dataclass
class Webinar:
    meeting_id: int
    bodies: list[bytes]  # every event of its life, shuffled, with duplicates
    originals: int  # distinct events among the bodies
    attendance: dict[str, int]  # the simulator's own seconds per person (email, or name for a guest)
    start_time: str = ""  # when the run began (Zoom's yyyy-MM-ddTHH:mm:ssZ): the day a training of it is held


def webinar_life(people: int, seed: int = 1, duplicate_share: float = 0.0, now: float | None = None) -> Webinar:
    """One webinar's whole life with `people` attendees (several devices, rejoins), as Zoom would send it.

    Every leave is sent (none lost), so the events alone give the simulator's attendance.
    """
    rng = random.Random(seed)
    world, host = _world(seed, rng, now)
    webinar = _webinar(world, host, 0)
    script = life.crowd(people, 7200, rng, lost_leave_share=0.0, email_domain=f"webinar{seed}.example")
    played = life.play(world, webinar, script)
    produced = [events.serialize(body) for body in world.take_outbox()]
    return Webinar(
        webinar.id,
        _duplicated_and_shuffled(produced, duplicate_share, rng),
        len(produced),
        played["attendance"],
        played["start_time"],
    )


def _world(seed: int, rng: random.Random, now: float | None):
    moment = time.time() if now is None else now
    world = World(SimConfig(seed=seed, webinar_capacity=1_000_000), clock=lambda: moment, rng=rng)
    return world, world.users[world.accounts[world.config.account_id].owner_id]


def _webinar(world: World, host, n: int):
    webinar = world.create_meeting(
        "webinar", host, {"topic": f"Load webinar {n}", "duration": 120}, (host.email, host.id)
    )
    world.take_outbox()  # its creation: not part of the burst
    return webinar


def _duplicated_and_shuffled(bodies: list[bytes], duplicate_share: float, rng: random.Random) -> list[bytes]:
    bodies = bodies + [rng.choice(bodies) for _ in range(int(len(bodies) * duplicate_share))]
    rng.shuffle(bodies)
    return bodies


@dataclass
class LoadReport:
    sent: int
    seconds: float
    rate: float
    statuses: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: list[str] = field(default_factory=list)

    def table(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"sent {self.sent} in {self.seconds:.2f} s = {self.rate:.0f}/s; answers {statuses}\n"
            f"latency ms: p50 {self.p50_ms:.1f}  p90 {self.p90_ms:.1f}  p99 {self.p99_ms:.1f}  max {self.max_ms:.1f}"
        )


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[max(0, int(share * 1000) - 1)]


def run_load(
    url: str, secret: str, bodies: list[bytes], rate: float = 0.0, concurrency: int = 8, timeout: float = 10.0
) -> LoadReport:
    """Send every body once; `rate` 0 means as fast as the connections allow."""
    parts = urlsplit(url)
    path = parts.path or "/"
    next_index = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: list[str] = []
    started = time.monotonic()

    def worker() -> None:
        connection = None
        while True:
            index = next(next_index)
            if index >= len(bodies):
                break
            if rate > 0:
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            body = bodies[index]
            headers = signed_headers(secret, body)
            begun = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                outcome = str(response.status)
                if response.getheader("connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as exc:
                outcome = "error"
                if connection is not None:
                    connection.close()
                connection = None
                with lock:
                    if len(errors) < 20:
                        errors.append(f"{type(exc).__name__}: {exc}")
            elapsed = (time.monotonic() - begun) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[outcome] += 1
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, concurrency))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    latencies.sort()
    return LoadReport(
        sent=len(latencies),
        seconds=seconds,
        rate=len(latencies) / seconds if seconds else 0.0,
        statuses=dict(statuses),
        p50_ms=_percentile(latencies, 0.50),
        p90_ms=_percentile(latencies, 0.90),
        p99_ms=_percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else 0.0,
        errors=errors,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoomsim.load", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the webhook endpoint, e.g. http://127.0.0.1:5000/webhooks/zoom")
    parser.add_argument("--secret", required=True, help="the webhook secret token the endpoint verifies with")
    parser.add_argument("--events", type=int, default=1000, help="how many events (default 1000)")
    parser.add_argument("--meetings", type=int, default=1, help="spread over this many webinars (default 1)")
    parser.add_argument("--rate", type=float, default=0.0, help="events per second; 0 = as fast as possible")
    parser.add_argument("--concurrency", type=int, default=8, help="connections at once (default 8)")
    parser.add_argument("--duplicates", type=float, default=0.0, help="share of events sent twice (default 0)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    bodies = generate_events(args.events, args.meetings, args.seed, args.duplicates)
    report = run_load(args.url, args.secret, bodies, args.rate, args.concurrency)
    print(json.dumps(asdict(report)) if args.json else report.table(), flush=True)
    return 0 if report.statuses.get("error", 0) == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
