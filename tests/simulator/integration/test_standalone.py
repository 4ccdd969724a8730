"""`python -m zoomsim`: a standalone simulator in its own process, configured by flags and environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests

from webhook.signature import verify

ROOT = Path(__file__).resolve().parents[3]


def test_standalone_simulator_serves_oauth_api_and_signed_webhooks(receiver):
    # The levers and the secret come from the environment here; flags give the rest.
    env = {**os.environ, "ZOOM_WEBHOOK_SECRET_TOKEN": "from-the-environment", "ZOOMSIM_CONTROL": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zoomsim",
            "--port",
            "0",
            "--webhook-url",
            receiver.url,
            "--seed",
            "4",
            "--s2s-client-id",
            "cli-id",
            "--s2s-client-secret",
            "cli-secret",
            "--account-id",
            "acct-cli",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("zoomsim listening on http://127.0.0.1:"), first
        url = first.split()[-1]
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
        token = requests.post(
            f"{url}/oauth/token",
            params={"grant_type": "account_credentials", "account_id": "acct-cli"},
            auth=("cli-id", "cli-secret"),
            timeout=5,
        ).json()["access_token"]
        me = requests.get(f"{url}/v2/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
        assert me["account_id"] == "acct-cli"
        created = requests.post(
            f"{url}/v2/users/me/meetings",
            json={"topic": "Standalone"},
            timeout=5,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201
        assert requests.post(f"{url}/_sim/webhooks/wait", json={"timeout": 10}, timeout=15).json()["idle"]
        [delivery] = receiver.received
        headers = {k.lower(): v for k, v in delivery["headers"].items()}
        verify(
            ["from-the-environment"],
            headers["x-zm-request-timestamp"],
            headers["x-zm-signature"],
            delivery["body"],
            now=int(headers["x-zm-request-timestamp"]),
            max_age=60,
            max_future=60,
        )
        assert b'"event":"meeting.created"' in delivery["body"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_levers_are_off_unless_asked_for():
    env = {k: v for k, v in os.environ.items() if k != "ZOOMSIM_CONTROL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoomsim", "--port", "0"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("zoomsim listening on "), first
        url = first.split()[-1]
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        assert requests.get(f"{url}/_sim/state", timeout=5).status_code == 404
        assert requests.get(f"{url}/v2/users/me", timeout=5).json()["code"] == 124
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
