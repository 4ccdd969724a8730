"""What the end-to-end tests share: the environment of the Procfile's processes, on either stack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from chaos.stack import fresh_postgres_database
from service.broker import stop_embedded_redis
from service.local_run import procfile
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]

SECRET = "e2e-webhook-secret"
TOKEN = "e2e-api-token"


@pytest.fixture(params=["postgres+redis", "embedded"])
def stack_env(request, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        PORT=str(free_port()),
        ZOOM_WEBHOOK_SECRET_TOKEN=SECRET,
        API_TOKEN=TOKEN,
        INSTANCE_DIR=str(tmp_path / "instance"),
        SWEEP_INTERVAL_SECONDS="2",
        WEB_CONCURRENCY="2",
    )
    if request.param == "postgres+redis":
        env["DATABASE_URL"] = fresh_postgres_database(request.getfixturevalue("postgres_url"), "zoomsync_e2e")
        redis_url = request.getfixturevalue("real_redis_url").rsplit("/", 1)[0] + "/14"
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        env["REDIS_URL"] = redis_url
    return env


@dataclass
class Running:
    """The Procfile's web and worker, started: where web answers, and each process with its log."""

    base: str
    procs: dict[str, subprocess.Popen]
    logs: dict


@contextmanager
def procfile_processes(env: dict[str, str], logs_dir: Path) -> Iterator[Running]:
    """The Procfile's `release`, then its `web` and `worker` until the block ends (stopped, then killed)."""
    entries = procfile()
    subprocess.run(["bash", "-c", entries["release"]], cwd=ROOT, env=env, check=True, timeout=120)
    logs = {name: open(logs_dir / f"{name}.log", "w+") for name in ("web", "worker")}
    procs = {
        name: subprocess.Popen(
            ["bash", "-c", "exec " + entries[name]],
            cwd=ROOT,
            env=env,
            stdout=logs[name],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name in ("web", "worker")
    }
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        wait_for(lambda: requests.get(f"{base}/healthz", timeout=1).ok, "web to answer", procs, logs)
        yield Running(base, procs, logs)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        stop_embedded_redis(Path(env["INSTANCE_DIR"]))


def wait_for(check, what, procs=None, logs=None, timeout=40.0):
    """Until `check()` is true; fails with the processes' logs when one exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        for name, proc in (procs or {}).items():
            if proc.poll() is not None:
                logs[name].seek(0)
                pytest.fail(f"{name} exited with {proc.returncode}:\n{logs[name].read()[-4000:]}")
        time.sleep(0.2)
    dump = ""
    for name, log in (logs or {}).items():
        log.seek(0)
        dump += f"\n--- {name} ---\n{log.read()[-3000:]}"
    pytest.fail(f"timed out waiting for {what}{dump}")
