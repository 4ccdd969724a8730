"""The load generator: realistic events, each signed when sent, every one answered and counted."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.simulator.conftest import SECRET
from webhook.signature import verify
from zoomsim.load import generate_events, run_load

ROOT = Path(__file__).resolve().parents[3]
NOW = 1_796_115_600.0  # 2026-12-01T09:00:00Z


def test_generated_events_come_from_played_webinars_with_the_asked_share_of_duplicates():
    bodies = generate_events(600, meetings=3, seed=5, duplicate_share=0.1, now=NOW)
    assert len(bodies) == 660
    parsed = [json.loads(body) for body in bodies]
    kinds = Counter(body["event"] for body in parsed)
    assert kinds["webinar.participant_joined"] > 200 and kinds["webinar.participant_left"] > 200
    assert len({body["payload"]["object"]["id"] for body in parsed}) == 3
    assert len(set(bodies)) <= 600  # the copies are byte-identical to their originals
    assert generate_events(600, meetings=3, seed=5, duplicate_share=0.1, now=NOW) == bodies


def test_run_load_signs_every_request_and_reports_each_answer(receiver):
    bodies = generate_events(60, seed=2)
    receiver.answers = [503] * 5
    report = run_load(receiver.url, SECRET, bodies, rate=0.0, concurrency=4)
    assert report.sent == 60
    assert report.statuses == {"200": 55, "503": 5}
    assert report.max_ms >= report.p99_ms >= report.p50_ms > 0
    assert len(receiver.received) == 60
    assert sorted(item["body"] for item in receiver.received) == sorted(bodies)
    for item in receiver.received:
        headers = {k.lower(): v for k, v in item["headers"].items()}
        verify(
            [SECRET],
            headers["x-zm-request-timestamp"],
            headers["x-zm-signature"],
            item["body"],
            now=time.time(),
            max_age=300,
            max_future=60,
        )


def test_run_load_holds_the_asked_rate(receiver):
    started = time.monotonic()
    report = run_load(receiver.url, SECRET, generate_events(20, seed=3), rate=40.0, concurrency=2)
    # 20 events at 40/s are spread over at least the 0.475 s the schedule takes (rate is a ceiling).
    assert time.monotonic() - started >= 19 / 40
    assert report.statuses == {"200": 20}


def test_command_line_prints_a_json_report_and_fails_on_connection_errors(receiver):
    ok = subprocess.run(
        [sys.executable, "-m", "zoomsim.load", "--url", receiver.url, "--secret", SECRET, "--events", "10", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["statuses"] == {"200": 10}
    refused = subprocess.run(
        [sys.executable, "-m", "zoomsim.load", "--url", "http://127.0.0.1:9/hook", "--secret", SECRET, "--events", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "error: 3" in refused.stdout
