"""What the end-to-end tests share: the environment of the Procfile's processes, on either stack."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from chaos.stack import fresh_postgres_database
from tests.helpers import free_port

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
