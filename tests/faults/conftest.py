"""The fault tests' system (chaos.harness): the Procfile's processes, PostgreSQL behind a proxy that can cut
it off, a Redis of their own to stop and start, and the Zoom simulator delivering webhooks over HTTP.

Nothing here touches the servers other tests share: PostgreSQL is cut at the proxy, not stopped, and the
Redis that is stopped is the system's own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chaos.harness import System, running_system


@pytest.fixture
def system(postgres_url, tmp_path) -> Iterator[System]:
    with running_system(postgres_url, tmp_path, database="zoomsync_faults") as running:
        yield running
