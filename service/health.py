"""The service's state in numbers, read now: what the admin overview shows and /metrics exposes (one place)."""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from sqlalchemy import func, select

from models import InboxEvent, OutboxItem
from service.unit_of_work import UnitOfWork
from workers.queues import QUEUE_NAMES, queue
from zoomapi.limiter import AccountHeadroom, RedisLimiter


@dataclass(frozen=True)
class QueueDepth:
    waiting: int
    failed: int


def inbox_by_status(uow: UnitOfWork) -> dict[str, int]:
    return dict(uow.session.execute(select(InboxEvent.status, func.count()).group_by(InboxEvent.status)).all())


def outbox_by_status(uow: UnitOfWork) -> dict[str, int]:
    return dict(uow.session.execute(select(OutboxItem.status, func.count()).group_by(OutboxItem.status)).all())


def queue_depths(redis: Redis) -> dict[str, QueueDepth]:
    """Jobs waiting and failed per RQ queue (raises RedisError when Redis does not answer)."""
    depths = {}
    for name in QUEUE_NAMES:
        q = queue(redis, name)
        depths[name] = QueueDepth(q.count, q.failed_job_registry.count)
    return depths


def zoom_headroom(redis: Redis, plans: dict[str, str]) -> dict[str, AccountHeadroom]:
    """Per Zoom account (id -> rate plan, as the connections' clients are built): what its limiter has left.

    Read through a RedisLimiter with the same plans and daily cap the clients use, so the numbers are the
    ones that hold calls back. Raises RedisError when Redis does not answer.
    """
    limiter = RedisLimiter(redis, plans=plans)
    return {account: limiter.headroom(account) for account in plans}
