"""What every benchmark's command line shares: --quick, --postgres, and how a run ends."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.results import Result, record
from chaos.harness import System, running_system

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def parser(prog: str, doc: str, quick: str) -> argparse.ArgumentParser:
    """The benchmark's parser: its first docstring line, `--quick` (what the quick mode is) and `--postgres`."""
    found = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    found.add_argument("--quick", action="store_true", help=f"{quick}: for CI, where timings mean nothing")
    found.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server (any database): the run makes its own database zoomsync_bench there",
    )
    return found


def conclude(result: Result, quick: bool, started: float) -> int:
    """Record the result; the exit status: 1 for a wrong result, 0 otherwise (a missed target included)."""
    result.notes.append(f"The whole run took {time.monotonic() - started:.0f} s.")
    record(result, quick)
    return 0 if result.ok else 1


@contextmanager
def system(name: str, postgres_url: str, sim_log_limit: int = 100, **options) -> Iterator[System]:
    """The Procfile's processes for a benchmark: PostgreSQL reached directly (no breakable proxy), a database
    of their own, Zoom's webhooks off (what a benchmark sends, it sends itself); no worker yet."""
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp,
        running_system(
            postgres_url,
            Path(tmp),
            database="zoomsync_bench",
            breakable=False,
            webhooks=False,
            sim_log_limit=sim_log_limit,
            web_processes=None,  # the Procfile's gunicorn as it ships (or as WEB_CONCURRENCY says)
            **options,
        ) as running,
    ):
        yield running
