"""Shared helpers for the simulator's unit tests: a clock the test moves, a World built without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from zoomsim.config import SimConfig
from zoomsim.world import World

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A simulator clock (epoch seconds) that moves only when the test says so."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_world(clock: Clock, **config) -> World:
    values = {"seed": 1, **config}
    return World(SimConfig(**values), clock=clock)


def owner(world: World):
    return world.users[world.accounts[world.config.account_id].owner_id]


def operator_of(user) -> tuple[str, str]:
    return user.email, user.id
