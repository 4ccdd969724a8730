"""Fixtures for the simulator's own tests: a simulator on a free port, a webhook receiver, an API client.

The simulator validates requests against Zoom's OpenAPI files from ../shared/zoom
(ZOOM_SHARED_DIR overrides). Where they are absent, as in a user's clone, it runs
unvalidated and says so, and the conformance test that checks validation is on
skips with the path in its reason (tests/conformance/test_zoomsim_conformance.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask, request
from werkzeug.serving import make_server

from zoomsim.config import SimConfig, default_spec_dir
from zoomsim.server import RunningSimulator, serve_in_thread

SECRET = "sim-test-webhook-secret"


@dataclass
class Api:
    """Calls /v2 with a bearer token, like a Zoom client would."""

    url: str
    token: str
    http: requests.Session = field(default_factory=requests.Session)

    def __call__(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.url}/v2{path}", headers=headers, timeout=10, **kwargs)


@dataclass
class Receiver:
    """A webhook endpoint that keeps what it got and answers what a test tells it to."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses for the next deliveries, then 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(item["body"]) for item in self.received]

    def events(self) -> list[str]:
        return [body["event"] for body in self.bodies()]

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.answers.clear()


@contextmanager
def serve_receiver() -> Iterator[Receiver]:
    app = Flask("receiver")
    state = Receiver(url="")

    @app.post("/hook")
    def hook():
        with state.lock:
            state.received.append({"headers": dict(request.headers), "body": request.get_data()})
            status = state.answers.pop(0) if state.answers else 200
        return "", status

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(timeout=5)


def sim_config(**overrides: Any) -> SimConfig:
    values: dict[str, Any] = dict(control=True, webhook_secret=SECRET, seed=7, spec_dir=default_spec_dir())
    values.update(overrides)
    return SimConfig(**values)


def start_simulator(**overrides: Any) -> RunningSimulator:
    return serve_in_thread(sim_config(**overrides))


@pytest.fixture(scope="module")
def shared_simulator() -> Iterator[tuple[RunningSimulator, Receiver]]:
    """One simulator and one receiver per test module: stopping servers costs a second each, resetting nothing."""
    with serve_receiver() as receiver:
        running = start_simulator(webhook_urls=(receiver.url,), retry_scale=0.001)
        try:
            yield running, receiver
        finally:
            running.stop()


@pytest.fixture
def fresh(shared_simulator) -> Iterator[tuple[RunningSimulator, Receiver]]:
    """The module's simulator reset to a fresh world (POST /_sim/reset) and its receiver emptied.

    Afterwards, a test fails if the simulator itself failed (an internal 500) while it ran.
    """
    running, receiver = shared_simulator
    running.control.reset()
    receiver.clear()
    yield running, receiver
    assert running.sim.errors == [], f"the simulator failed: {running.sim.errors}"


@pytest.fixture
def receiver(fresh) -> Receiver:
    return fresh[1]


@pytest.fixture
def sim(fresh) -> RunningSimulator:
    """A simulator with control on, sending its webhooks to `receiver`, retries compressed 1000-fold."""
    return fresh[0]


@pytest.fixture
def control(sim: RunningSimulator):
    return sim.control


@pytest.fixture
def api(sim: RunningSimulator) -> Api:
    """An API client with a Server-to-Server token of the default account (admin scopes)."""
    cfg = sim.sim.config
    token = sim.control.s2s_token(cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id)
    return Api(sim.url, token)
