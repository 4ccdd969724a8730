from __future__ import annotations

import pytest

from tests.simulator.unit.support import Clock, make_world, owner


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(clock):
    return make_world(clock)


@pytest.fixture
def host(world):
    return owner(world)
