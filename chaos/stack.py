"""The Procfile's processes, started as a platform starts them, so a test can kill them as a host dies.

Each process gets its own session (process group): killing it kills what it
forked too (gunicorn's workers, RQ's work horse), as losing a machine would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from service.local_run import procfile

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@dataclass
class Stack:
    env: dict[str, str]
    log_dir: Path
    processes: list[Process] = field(default_factory=list)

    def release(self) -> None:
        """The release phase (migrations), as the Procfile says."""
        subprocess.run(["bash", "-c", procfile()["release"]], cwd=ROOT, env=self.env, check=True, timeout=120)

    def start(self, name: str, command: str | None = None, env: dict[str, str] | None = None) -> Process:
        """The Procfile's process `name`, or `command` under that name (a benchmark's baseline server)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}-{len(self.processes)}.log"
        with open(log_path, "w") as log:
            popen = subprocess.Popen(
                ["bash", "-c", "exec " + (command or procfile()[name])],
                cwd=ROOT,
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name, popen, log_path)
        self.processes.append(process)
        return process

    def kill(self, process: Process, sig: int = signal.SIGKILL) -> None:
        """The process and everything it forked, at once (SIGKILL: no cleanup, as a lost host)."""
        if process.alive:
            os.killpg(process.popen.pid, sig)
        process.popen.wait(timeout=30)

    def stop(self) -> None:
        """Everything still running: SIGTERM (a warm shutdown), then SIGKILL after 15 s."""
        for process in self.processes:
            if process.alive:
                os.killpg(process.popen.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()

    def logs(self) -> str:
        return "".join(f"\n--- {p.log_path.name} ---\n{p.log_tail(3000)}" for p in self.processes)

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = 40.0, watch: bool = True) -> None:
        """Until `check()` holds; fails early, with the logs, when a process we watch has died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except Exception:  # noqa: BLE001, S110 - not yet: a server may be down on purpose
                pass
            if watch:
                dead = [p for p in self.processes if not p.alive and p.popen.returncode not in (-9, -15)]
                if dead:
                    raise AssertionError(f"{dead[0].name} exited with {dead[0].popen.returncode}:{self.logs()}")
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}{self.logs()}")


def fresh_postgres_database(base_url: str, name: str) -> str:
    """A database of its own on the server of `base_url`, so a run cannot disturb (or be disturbed by) others."""
    from sqlalchemy import text

    from models.database import make_engine

    engine = make_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base_url.rsplit("/", 1)[0] + "/" + name
