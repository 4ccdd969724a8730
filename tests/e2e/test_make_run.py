"""`make run` on a fresh instance directory: the service starts, prints its admin login, and the dashboards open."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from service.broker import stop_embedded_redis
from tests.helpers import csrf_token, free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e

SECRETS_OF_THE_ENVIRONMENT = ("DATABASE_URL", "REDIS_URL", "ADMIN_USERNAME", "ADMIN_PASSWORD", "METRICS_TOKEN")


def _read_until(proc: subprocess.Popen, marker: str, timeout: float = 90.0) -> str:
    """What `make run` printed up to `marker` (its last line once everything started), read by a thread."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not any(marker in line for line in list(lines)):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"make run did not print {marker!r} (exit {proc.poll()}):\n{''.join(lines)[-4000:]}")
        time.sleep(0.1)
    return "".join(lines)


def _doctor_until_well(env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess:
    """The doctor, again until it passes: the worker registers and the cron's first sweep runs within seconds."""
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(
            [sys.executable, "-m", "service.local_run", "doctor"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode == 0 or time.monotonic() > deadline:
            return done
        time.sleep(1)


def test_make_run_prints_an_admin_login_that_opens_the_dashboards(tmp_path):
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if k not in SECRETS_OF_THE_ENVIRONMENT}
    env.update(PORT=str(free_port()), INSTANCE_DIR=str(instance), PYTHONUNBUFFERED="1")
    # What `make run` runs ($(PY) -m service.local_run), in a session of its own to stop it whole.
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.local_run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        printed = _read_until(proc, "Ctrl-C stops it.")
        admin = re.search(r"admin:\s+(http://\S+/admin/)\s+\(user (\S+), password (\S+)\)", printed)
        metrics = re.search(r"metrics:\s+(http://\S+/metrics)\s+\(Authorization: Bearer (\S+)\)", printed)
        assert admin and metrics, printed
        url, user, password = admin.groups()
        assert user == "admin"
        kept = instance / "dev-admin-password"
        assert kept.read_text().strip() == password  # kept like the other development secrets
        assert kept.stat().st_mode & 0o077 == 0  # readable by its owner only

        browser = requests.Session()
        login = f"{url}login"
        token = csrf_token(browser.get(login, timeout=10).content)
        answer = browser.post(
            login, data={"csrf_token": token, "username": user, "password": password}, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 302, answer.text[:500]
        overview = browser.get(url, timeout=10)
        assert overview.status_code == 200 and "Log out" in overview.text, overview.text[:500]

        metrics_url, metrics_token = metrics.groups()
        assert requests.get(metrics_url, timeout=10).status_code == 401
        scraped = requests.get(metrics_url, headers={"Authorization": f"Bearer {metrics_token}"}, timeout=10)
        assert scraped.status_code == 200 and "zoomsync_" in scraped.text

        # `make doctor` ($(PY) -m service.local_run doctor) beside it: all green once the cron has swept.
        doctor = _doctor_until_well(env)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        rows = [line for line in doctor.stdout.splitlines() if line and not line.startswith(" ")]
        assert rows and all(line.startswith("OK ") for line in rows), doctor.stdout
        assert any("workers" in line and "serving reconcile, outbound, maintenance" in line for line in rows)
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        stop_embedded_redis(instance)
