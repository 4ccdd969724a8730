"""`make demo` runs the whole loop on a fresh instance: the service, the Zoom simulator and a meeting's life."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_demo_plays_a_meeting_and_prints_matching_attendance(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "ZOOM_WEBHOOK_SECRET_TOKEN")}
    env.update(
        PORT=str(free_port()),
        INSTANCE_DIR=str(tmp_path / "instance"),
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
    )
    run = subprocess.run(
        [sys.executable, "-m", "demo", "--once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "Zoom validated the webhook endpoint: True" in out
    assert re.search(r"Academy \d+ connected to Zoom account zoomsim-account by OAuth \(licensed host", out), out
    assert re.search(
        r"The worker created Zoom meeting \d+ \(\d{4}-\d\d-\d\dT\d\d:00:00Z, Europe/Berlin\) and registered 3", out
    )
    assert "the worker PATCHed only the duration to Zoom" in out
    assert "From the live events: Alan 70 min" in out
    # 7 sessions, Grace's wait its own row, Ada's room stint splitting her main-room row in three
    assert re.search(r"Zoom's participant report read \(10 rows\)", out), out
    assert re.search(r"Training \d+: 'Safety basics \(2026 edition\)', completed, 75 min", out), out
    rows = re.findall(r"^(\S+@example\.org)\s+(\d+\.\d)\s+(\d+\.\d)(.*)$", out, re.MULTILINE)
    minutes = {email: (float(lms), float(zoom), note.strip()) for email, lms, zoom, note in rows}
    assert minutes == {
        # two devices at once count once; the breakout room is meeting time
        "ada.lovelace@example.org": (59.0, 59.0, "15.0 min in a breakout room counted (meeting time)"),
        # a rejoin adds up; the waiting room is not meeting time
        "grace.hopper@example.org": (55.0, 55.0, "3.0 min in the waiting room left out (never meeting time)"),
        "alan.turing@example.org": (30.0, 30.0, ""),  # the lost leave: Zoom's report knew better
    }
    assert re.search(r"^A guest without an account \(guest\)\s+15\.0$", out, re.MULTILINE)
    # Where to look: the admin pages with the login make run keeps, the training's page, its meeting's webhooks.
    password = (tmp_path / "instance" / "dev-admin-password").read_text().strip()
    assert re.search(rf"admin:\s+http://127\.0\.0\.1:\d+/admin/\s+\(user admin, password {re.escape(password)}\)", out)
    assert re.search(r"training:\s+http://127\.0\.0\.1:\d+/admin/trainings/\d+\s", out), out
    assert re.search(r"events:\s+http://127\.0\.0\.1:\d+/admin/events\?meeting=\d+\s", out), out
