"""Intake benchmark: the real `/webhooks/zoom` against three baselines on gunicorn, loaded by wrk.

    python -m bench.intake            # 2 interleaved rounds of 15 s each, after a 3 s warm-up (`make bench`)
    python -m bench.intake --quick    # 1 round of 3 s: crashes and wrong counts fail, timings are only shown

Four servers run the Procfile's `web` command on one PostgreSQL and Redis:
A answers 200 without work, B adds one INSERT of the raw body and a commit (and
runs a second time as gunicorn's gthread 4 × 1, the shape that suits it best),
and ours verifies the signature, parses, dedupes, stores the inbox row (group
commit) and queues the reconcile job. Ours is held to the better B. wrk sends
pre-signed bodies of simulated webinars (each body once, so every request to
ours is a new event), with 32 connections. The rows run interleaved (A, B,
B 4 × 1, ours, A, …) so a noisy neighbour slows all four.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import requests
from sqlalchemy import text

from bench import cli, profile
from bench.baseline_app import CREATE_RAW_TABLE, RAW_TABLE
from bench.processes import cpu_seconds, in_tree, named
from bench.results import ARTIFACTS, ROOT, Result, Target
from chaos.harness import SECRET, System, free_port
from service.local_run import procfile
from zoomsim.load import generate_events
from zoomsim.signing import signed_headers

OUR_APP = '"service.app:create_app()"'
BASELINE_A = "A (bare Flask)"
BASELINE_B = "B (+ INSERT, commit)"
BASELINE_B_4X1 = "B on gthread 4 × 1"
# (name, app, environment of its `web` line, table it stores in): B also under gunicorn's gthread with 4
# processes of 1 thread, the shape that suits B best, so ours is held to the better B whatever our line is.
BASELINES = (
    (BASELINE_A, '"bench.baseline_app:bare()"', {}, None),
    (BASELINE_B, '"bench.baseline_app:durable()"', {}, RAW_TABLE),
    (BASELINE_B_4X1, '"bench.baseline_app:durable()"', {"WEB_CONCURRENCY": "4", "WEB_THREADS": "1"}, RAW_TABLE),
)
BASELINES_B = (BASELINE_B, BASELINE_B_4X1)
OURS = "ours (/webhooks/zoom)"
KILLED = "ours, a process SIGKILLed"
LUA = Path(__file__).with_name("wrk_signed.lua")


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    errors: int  # connect, read, write, timeout, and answers that were not 2xx or 3xx
    not_2xx: int  # of those, the answers that were not 2xx or 3xx
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU time per request answered, by side

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def write_bodies(path: Path, bodies: list[bytes]) -> None:
    """One line per request, "timestamp<TAB>signature<TAB>body", signed now as Zoom signs (valid for hours)."""
    with path.open("wb") as out:
        for body in bodies:
            headers = signed_headers(SECRET, body)
            out.write(
                b"%s\t%s\t%s\n" % (headers["x-zm-request-timestamp"].encode(), headers["x-zm-signature"].encode(), body)
            )


def run_wrk(url: str, bodies: Path, seconds: float, connections: int, threads: int) -> WrkRun:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    command += ["-s", str(LUA), url]
    env = {**os.environ, "WRK_BODIES": str(bodies), "WRK_THREADS": str(threads)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    return WrkRun(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        errors=errors,
        not_2xx=figures["status"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
    )


def _count(system: System, table: str | None) -> int:
    """Rows of `table` once no request still in flight adds one (the server finishes what wrk cut off)."""
    if table is None:
        return 0
    last = -1
    while True:
        with system.db.connect() as conn:
            rows = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - our own names
        if rows == last:
            return rows
        last = rows
        time.sleep(0.3)


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    pid: int  # gunicorn's master: its workers are its children
    table: str | None  # where it stores what it is sent


def _start_servers(system: System) -> list[Server]:
    """The baselines on the `web` command of the Procfile with only the app swapped, then ours: A, B, ours."""
    command = procfile()["web"]
    if OUR_APP not in command:
        raise RuntimeError(f"the Procfile's web command no longer names {OUR_APP}: {command}")
    servers = []
    for name, app, shape, table in BASELINES:
        port = free_port()
        process = system.stack.start("web-baseline", command.replace(OUR_APP, app), env={"PORT": str(port), **shape})
        url = f"http://127.0.0.1:{port}/webhooks/zoom"
        system.stack.wait_for(lambda u=url: requests.post(u, data=b"{}", timeout=1).ok, f"the baseline {name}")
        servers.append(Server(name, url, process.popen.pid, table))
    web = next(p for p in system.stack.processes if p.name == "web")
    servers.append(Server(OURS, f"{system.url}/webhooks/zoom", web.popen.pid, "inbox_events"))
    return servers


def gunicorn_shape(command: str, env: dict[str, str] | None = None) -> str:
    """'4 workers × 1 thread': the `web` command's processes and threads, from the environment or its defaults."""
    env = os.environ if env is None else env
    shape = []
    for variable, unit in (("WEB_CONCURRENCY", "worker"), ("WEB_THREADS", "thread")):
        found = re.search(r"\$\{" + variable + r":-(\d+)\}", command)
        value = env.get(variable) or (found.group(1) if found else "?")
        shape.append(f"{value} {unit}{'' if value == '1' else 's'}")
    return " × ".join(shape)


def intake(
    quick: bool, postgres_url: str, rounds: int, seconds: float, warmup: float, connections: int, profiled: bool = False
) -> Result:
    result = Result(
        "intake",
        f"Intake: requests per second on the Procfile's gunicorn ({gunicorn_shape(procfile()['web'])}), "
        "PostgreSQL and Redis",
        ["Server", "Round", "Requests/s", "p50 ms", "p99 ms", "max ms", "Errors"]
        + ["CPU ms/request: server", "PostgreSQL", "wrk"],
    )
    runs: dict[str, list[WrkRun]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        workdir = Path(tmp)
        with cli.system("intake", postgres_url) as system:
            with system.db.begin() as conn:
                conn.execute(text(CREATE_RAW_TABLE))
            servers = _start_servers(system)
            pool = workdir / "pool.tsv"
            write_bodies(pool, generate_events(5000, meetings=5, seed=1))
            for n in range(rounds):
                for server in servers:
                    if server.name == OURS:
                        # Ours may outrun B (group commit): size by the fastest of B and ours so far.
                        seen = [r.rate for name in (*BASELINES_B, OURS) for r in runs.get(name, [])]
                        warm, measured = _new_bodies(workdir, n, max(seen, default=1000.0), warmup, seconds)
                    else:
                        warm = measured = (pool, None)
                    spy = profiled and server.name == OURS and n == 0
                    run = _row(system, result, server, warm, measured, seconds, warmup, connections, spy)
                    runs.setdefault(server.name, []).append(run)
                    result.rows.append(_table_row(server.name, n + 1, run))
            ours = next(server for server in servers if server.name == OURS)
            rate = max(r.rate for r in runs[OURS])
            _, killed_bodies = _new_bodies(workdir, rounds, rate, warmup, seconds)
            run = _kill_round(system, result, ours, killed_bodies, seconds, connections)
            result.rows.append(_table_row(KILLED, rounds, run))
    _targets(result, runs)
    result.notes.append(
        f"wrk 1 thread, {connections} connections, {seconds:.0f} s per row after a {warmup:.0f} s warm-up; "
        "wrk shares the 2 cores with the servers, PostgreSQL and Redis. CPU ms/request: user + system time of "
        "each side during the row, per request answered."
    )
    return result


def _table_row(name: str, n: int, run: WrkRun) -> list:
    """A table row; the CPU columns are empty where they were not measured (the kill round)."""
    cpu = [f"{run.cpu_ms[group]:.2f}" if group in run.cpu_ms else "" for group in ("server", "postgres", "wrk")]
    return [name, n, round(run.rate), f"{run.p50_ms:.1f}", f"{run.p99_ms:.1f}", f"{run.max_ms:.1f}", run.errors, *cpu]


def _kill_round(system: System, result: Result, ours: Server, bodies: tuple, seconds: float, connections: int):
    """Ours under the same load while one of its gunicorn processes is SIGKILLed halfway: the deliveries it
    held go unanswered (wrk counts them as errors), and every one answered 2xx is stored."""
    before = _count(system, ours.table)
    killed: list[int] = []
    killer = threading.Timer(seconds / 2, _kill_one_worker, args=(ours.pid, killed))
    killer.start()
    run = run_wrk(ours.url, bodies[0], seconds, connections, 1)
    killer.join()
    stored = _count(system, ours.table) - before
    answered = run.requests - run.not_2xx
    if not killed:
        result.problems.append(f"{KILLED}: no gunicorn process to kill")
    if not answered <= stored <= run.requests + run.errors + connections:
        result.problems.append(f"{KILLED}: {answered} deliveries answered 2xx, {stored} rows stored")
    result.notes.append(
        f"{KILLED}: one of ours' gunicorn processes killed (SIGKILL) {seconds / 2:.0f} s into the round; "
        f"{run.errors} deliveries went unanswered or failed (Zoom retries them), {answered:,} answered 2xx, "
        f"{stored:,} stored: every acknowledged delivery kept."
    )
    return run


def _kill_one_worker(master: int, killed: list[int]) -> None:
    workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if workers:
        os.kill(int(workers[0]), signal.SIGKILL)
        killed.append(int(workers[0]))


def _new_bodies(workdir: Path, n: int, rate: float, warmup: float, seconds: float) -> tuple:
    """Ours sees each event once: enough new bodies for twice the fastest rate seen so far."""
    files = []
    for part, length, spare in (("warm", warmup, 2.0), ("measured", seconds, 2.0)):
        path = workdir / f"ours-{n}-{part}.tsv"
        count = max(2000, int(rate * length * spare))
        write_bodies(path, generate_events(count, meetings=20, seed=100 + 10 * n + len(files)))
        files.append((path, count))
    return files[0], files[1]


PROFILE_RAW = ARTIFACTS / "profile-intake.raw"
PROFILE_SUMMARY = ARTIFACTS / "profile-intake.txt"


def _row(system, result, server: Server, warm, measured, seconds, warmup, connections, spy: bool) -> WrkRun:
    """A warm-up, then the measured run, each checked: every answered request stored once, no errors."""
    before = _count(system, server.table)
    warm_run = run_wrk(server.url, warm[0], warmup, connections, 1)
    middle = _count(system, server.table)
    if spy:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        recording = profile.start(server.pid, seconds, PROFILE_RAW)
    cpu_before, children_before = _cpu(server), _children_cpu()
    run = run_wrk(server.url, measured[0], seconds, connections, 1)
    cpu_after, children_after = _cpu(server), _children_cpu()
    if spy and profile.finish(recording, PROFILE_RAW, PROFILE_SUMMARY):
        result.notes.append(
            f"Profiled (py-spy, 250 Hz; that round is slowed by it): {PROFILE_SUMMARY.relative_to(ROOT)}."
        )
    after = _count(system, server.table)
    if server.table:
        _check_stored(result, f"{server.name} warm-up", middle - before, warm[1], warm_run, connections)
        _check_stored(result, server.name, after - middle, measured[1], run, connections)
    _check_errors(result, server.name, run)
    spent = {group: cpu_after[group] - cpu_before[group] for group in cpu_before}
    spent["wrk"] = children_after - children_before
    answered = max(1, run.requests)
    return replace(run, cpu_ms={group: 1000 * value / answered for group, value in spent.items()})


def _cpu(server: Server) -> dict[str, float]:
    return cpu_seconds({"server": in_tree(server.pid), "postgres": named("postgres")})


def _children_cpu() -> float:
    """CPU time of this process's finished children: wrk, run one at a time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _check_stored(result: Result, name: str, stored: int, bodies: int | None, run: WrkRun, connections: int) -> None:
    """Every request answered was stored once; at most the requests cut off at the end were stored unanswered."""
    if bodies is not None and run.requests > bodies:
        result.problems.append(f"{name}: {run.requests} requests but only {bodies} distinct bodies (some were resent)")
    if not run.requests <= stored <= run.requests + connections:
        result.problems.append(f"{name}: {run.requests} requests answered, {stored} rows stored")


def _check_errors(result: Result, name: str, run: WrkRun) -> None:
    if run.errors:
        result.problems.append(f"{name}: {run.errors} errors or non-2xx answers")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _targets(result: Result, runs: dict[str, list[WrkRun]]) -> None:
    ours = _mean([r.rate for r in runs.get(OURS, [])])
    floor = max(_mean([r.rate for r in runs.get(name, [])]) for name in BASELINES_B)
    ceiling = _mean([r.rate for r in runs.get(BASELINE_A, [])])
    worst_p99 = max((r.p99_ms for r in runs.get(OURS, [])), default=0.0)
    result.targets += [
        Target("ours ÷ the better baseline B (mean requests/s)", ours / floor if floor else 0.0, 1.0),
        Target("ours, events/s", ours, 1000),
        Target("ours, p99 latency (worst round)", worst_p99, 100, at_least=False, unit=" ms"),
    ]
    if ceiling:
        result.notes.append(f"ours ÷ baseline A: {ours / ceiling:.2f}; the better B ÷ A: {floor / ceiling:.2f}.")


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m bench.intake", __doc__, "one short round")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--warmup", type=float)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--profile", action="store_true", help="py-spy on ours' first round: artifacts/bench/")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (`make bench` installs it where it can)", file=sys.stderr)
        return 2
    rounds = args.rounds or (1 if args.quick else 2)
    seconds = args.seconds or (3 if args.quick else 15)
    warmup = args.warmup or (1 if args.quick else 3)
    started = time.monotonic()
    result = intake(args.quick, args.postgres, rounds, seconds, warmup, args.connections, args.profile)
    return cli.conclude(result, args.quick, started)


if __name__ == "__main__":
    raise SystemExit(main())
