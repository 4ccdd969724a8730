"""Every conformance test skips, with the path in the reason, where Zoom's documents are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.shared import SHARED, absent


@pytest.fixture(scope="module", autouse=True)
def shared_documents() -> Path:
    reason = absent()
    if reason:
        pytest.skip(reason)
    return SHARED
