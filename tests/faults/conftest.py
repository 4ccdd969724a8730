"""The fault tests' stack: the Procfile's web and worker processes on PostgreSQL (behind a proxy that can cut
it off), a Redis of their own (which they stop and start) and the Zoom simulator sending webhooks over HTTP.

Nothing here touches the servers other tests share: PostgreSQL is cut at the proxy, not stopped, and the
Redis that is stopped is this stack's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import Engine

from chaos.redis_server import RedisServer
from chaos.stack import Stack, fresh_postgres_database
from chaos.tcp_proxy import TcpProxy
from models.database import make_engine
from tests.helpers import free_port
from zoomsim.config import SimConfig, default_spec_dir
from zoomsim.server import serve_in_thread

SECRET = "faults-webhook-secret"
TOKEN = "faults-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Zoom's 5/20/60-minute retries, compressed a hundredfold: 3 s, 12 s, 36 s.
RETRY_SCALE = 0.01

pytestmark = pytest.mark.faults


@dataclass
class FaultStack:
    stack: Stack
    url: str
    db: Engine  # straight to PostgreSQL, never through the proxy: the test reads what was stored
    pg_proxy: TcpProxy
    redis: RedisServer

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"


@pytest.fixture
def fault_stack(postgres_url, tmp_path) -> Iterator[FaultStack]:
    database_url = fresh_postgres_database(postgres_url, "zoomsync_faults")
    pg = urlsplit(database_url)
    proxy = TcpProxy((pg.hostname or "127.0.0.1", pg.port or 5432)).start()
    proxied_url = database_url.replace(f"{pg.hostname}:{pg.port or 5432}", f"127.0.0.1:{proxy.port}", 1)
    redis_server = RedisServer(free_port(), tmp_path / "redis").start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        PORT=str(port),
        DATABASE_URL=proxied_url,
        REDIS_URL=redis_server.url,
        ZOOM_WEBHOOK_SECRET_TOKEN=SECRET,
        API_TOKEN=TOKEN,
        INSTANCE_DIR=str(tmp_path / "instance"),
        SWEEP_INTERVAL_SECONDS="1",
        WEB_CONCURRENCY="2",
    )
    stack = Stack(env, tmp_path / "logs")
    stack.release()
    stack.start("web")
    url = f"http://127.0.0.1:{port}"
    db = make_engine(database_url)
    try:
        stack.wait_for(lambda: requests.get(f"{url}/healthz", timeout=1).ok, "web to answer")
        yield FaultStack(stack, url, db, proxy, redis_server)
    finally:
        stack.stop()
        proxy.stop()
        redis_server.stop()
        db.dispose()


@pytest.fixture
def zoom(fault_stack) -> Iterator:
    """The Zoom simulator, delivering its webhooks to the stack's web process and retrying as Zoom does."""
    running = serve_in_thread(
        SimConfig(
            control=True,
            webhook_urls=(f"{fault_stack.url}/webhooks/zoom",),
            webhook_secret=SECRET,
            retry_scale=RETRY_SCALE,
            spec_dir=default_spec_dir(),
            seed=17,
        )
    )
    yield running
    running.stop()
