"""The whole system with its breakable parts, for the fault tests and the soak run.

The Procfile's web and worker processes run on PostgreSQL behind a TCP proxy
(so the database can be cut off without stopping a server others share) and on
a Redis server of their own (stopped and started empty), with the Zoom
simulator delivering webhooks to the web process and retrying as Zoom does.
"""

from __future__ import annotations

import glob
import os
import secrets
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from chaos.redis_server import RedisServer
from chaos.stack import Stack, fresh_postgres_database
from chaos.tcp_proxy import TcpProxy
from models.database import make_engine
from zoomsim.config import SimConfig, default_spec_dir
from zoomsim.server import RunningSimulator, serve_in_thread

SECRET = "chaos-webhook-secret"
TOKEN = "chaos-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def libfaketime() -> str | None:
    """Debian's libfaketime (package faketime), which moves a process's clock; None where it is missing."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    return found[0] if found else None


def clock_env(offset: float) -> dict[str, str]:
    """What runs a process `offset` seconds ahead of the real time, every process by the same offset wherever
    it starts; its clocks all move (Python's sleeps fail with EINVAL under libfaketime otherwise), and they
    advance at the real rate, so timers, timeouts and sleeps last what they say."""
    library = libfaketime()
    if library is None:
        raise RuntimeError("libfaketime is not installed (apt-get install faketime)")
    return {"LD_PRELOAD": library, "FAKETIME": f"{offset:+.0f}"}  # whole seconds, as running_system requires


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class System:
    stack: Stack
    url: str
    db: Engine  # straight to PostgreSQL, never through the proxy: what was stored, read back
    pg_proxy: TcpProxy | None  # None where the run asked for no breakable database
    redis: RedisServer
    zoom: RunningSimulator

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"


@contextmanager
def running_system(
    postgres_url: str,
    workdir: Path,
    database: str = "zoomsync_chaos",
    retry_scale: float = 0.01,
    seed: int = 17,
    extra_env: dict[str, str] | None = None,
    sim_log_limit: int = 100_000,
    webhooks: bool = True,
    clock_offset: float = 0.0,
    breakable: bool = True,
    sim_options: dict | None = None,
    web_processes: int | None = 2,
) -> Iterator[System]:
    """Everything up (migrated, web answering); no worker yet: the caller starts as many as it wants.

    `webhooks`: whether the simulated Zoom delivers them. `clock_offset`: seconds the web and worker
    processes and the simulated Zoom live ahead of the real time (libfaketime), e.g. to just before a UTC
    midnight; Redis and PostgreSQL keep the real time, which the service never mixes with its own.
    `breakable`: PostgreSQL behind the TCP proxy that `pg_proxy` cuts; the benchmarks connect directly
    (`pg_proxy` is then None). `sim_options`: more SimConfig fields (a plan, a webinar's capacity).
    `web_processes`: gunicorn's processes (WEB_CONCURRENCY) unless the environment sets it; two keep the
    tests light; None leaves the Procfile's own default, as the benchmarks measure it.
    """
    if clock_offset != round(clock_offset):
        raise ValueError(
            "clock_offset is whole seconds: libfaketime's FAKETIME takes no fraction, and Zoom's clock must agree"
        )
    if clock_offset and webhooks:
        raise ValueError("the simulator signs webhooks on the real time: a run ahead of it takes no webhooks")
    database_url = fresh_postgres_database(postgres_url, database)
    pg = urlsplit(database_url)
    proxy = TcpProxy((pg.hostname or "127.0.0.1", pg.port or 5432)).start() if breakable else None
    proxied_url = (
        database_url.replace(f"{pg.hostname}:{pg.port or 5432}", f"127.0.0.1:{proxy.port}", 1)
        if proxy
        else database_url
    )
    redis_server = RedisServer(free_port(), workdir / "redis").start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    zoom = serve_in_thread(
        SimConfig(
            control=True,
            webhook_urls=(f"{url}/webhooks/zoom",) if webhooks else (),
            webhook_secret=SECRET,
            retry_scale=retry_scale,  # Zoom's 5/20/60-minute retries, compressed
            spec_dir=default_spec_dir(),
            seed=seed,
            log_limit=sim_log_limit,  # what the checks read back: it must hold the whole run
            **(sim_options or {}),
        )
    )
    zoom.sim.clock.offset = clock_offset
    cfg = zoom.sim.config
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        PORT=str(port),
        DATABASE_URL=proxied_url,
        REDIS_URL=redis_server.url,
        ZOOM_WEBHOOK_SECRET_TOKEN=SECRET,
        API_TOKEN=TOKEN,
        ZOOM_API_BASE_URL=f"{zoom.url}/v2",
        ZOOM_OAUTH_BASE_URL=zoom.url,
        ZOOM_CLIENT_ID=cfg.client_id,
        ZOOM_CLIENT_SECRET=cfg.client_secret,
        ZOOM_REDIRECT_URL=f"{url}/oauth/zoom/callback",
        SECRET_KEY=secrets.token_urlsafe(32),
        TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        INSTANCE_DIR=str(workdir / "instance"),
        SWEEP_INTERVAL_SECONDS="1",
    )
    if web_processes is not None:
        env.setdefault("WEB_CONCURRENCY", str(web_processes))
    env.update(extra_env or {})  # the caller's settings win over the defaults above
    env.update(clock_env(clock_offset) if clock_offset else {})
    stack = Stack(env, workdir / "logs")
    db = make_engine(database_url)
    try:
        stack.release()
        stack.start("web")
        stack.wait_for(lambda: requests.get(f"{url}/healthz", timeout=1).ok, "web to answer")
        yield System(stack, url, db, proxy, redis_server, zoom)
    finally:
        stack.stop()
        zoom.stop()
        if proxy:
            proxy.stop()
        redis_server.stop()
        db.dispose()
