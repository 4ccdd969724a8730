"""tools/test-machine.sh, the set-up `make test` and `.ci/run` share, run without root: it changes nothing,
names what is missing with the command that installs it, and fails only under CI=true.

Run as root (as here), the script would install; so these tests drop to user nobody first. Chromium is
the piece they take away (CHROMIUM_PATH names a file that does not exist), the one part of the machine a
test can remove without touching it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "test-machine.sh"
NOBODY = 65534


@pytest.fixture(scope="module")
def script():
    """A copy user nobody can read and run: a clone may sit in a directory only its owner enters (mktemp -d)."""
    where = Path(tempfile.mkdtemp(prefix="test-machine-script-"))
    where.chmod(0o755)
    copy = where / SCRIPT.name
    shutil.copy(SCRIPT, copy)
    copy.chmod(0o755)
    yield copy
    shutil.rmtree(where)


@pytest.fixture
def run(script):
    return lambda **env: _run(script, **env)


def _run(script: Path, **env: str) -> subprocess.CompletedProcess:
    """The script as a user who may install nothing, with the suite's servers left to the caller."""
    command = [str(script)]
    if os.geteuid() == 0:
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    base = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "CI": ""}
    # Servers named by the caller are the caller's to run: the script does not start or check them.
    base |= {"TEST_DATABASE_URL": "postgresql://elsewhere/test", "TEST_REDIS_URL": "redis://elsewhere/15"}
    return subprocess.run(command, env=base | env, capture_output=True, text=True, timeout=60, cwd="/")


@pytest.fixture
def fake_chromium():
    """An executable user nobody can see (pytest's tmp_path is root's alone)."""
    where = Path(tempfile.mkdtemp(prefix="test-machine-"))
    where.chmod(0o755)
    browser = where / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    yield browser
    shutil.rmtree(where)


def test_a_missing_piece_is_named_with_what_it_leaves_out_and_how_to_install_it(run, tmp_path):
    done = run(CHROMIUM_PATH=str(tmp_path / "no-chromium"))
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if "Chromium" in line)
    assert str(tmp_path / "no-chromium") in line
    assert "the browser tests skip" in line and "apt-get install chromium" in line
    assert "continuing without them" in done.stdout


def test_under_ci_a_missing_piece_fails_the_set_up(run, tmp_path):
    done = run(CHROMIUM_PATH=str(tmp_path / "no-chromium"), CI="true")
    assert done.returncode == 1
    assert "apt-get install chromium" in done.stdout and "CI=true" in done.stdout


def test_a_present_piece_is_not_reported(run, fake_chromium):
    done = run(CHROMIUM_PATH=str(fake_chromium))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Chromium" not in done.stdout


def test_without_root_nothing_is_installed(run, tmp_path):
    done = run(CHROMIUM_PATH=str(tmp_path / "no-chromium"))
    assert "installing" not in done.stdout and "apt-get install chromium" in done.stdout
