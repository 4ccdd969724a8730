"""What a request or a job needs at hand, built once per app and kept in `app.extensions`."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import Settings
from service.unit_of_work import UnitOfWork

EXTENSION_KEY = "zoomsync"


@dataclass
class Services:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    redis: Redis

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)


def services() -> Services:
    """The services of the current app (requests and jobs both run inside an app context)."""
    return current_app.extensions[EXTENSION_KEY]
