"""Where Zoom's published documents are, for every conformance test (one rule, shared with the simulator).

They live outside the project (../shared/zoom beside it, or wherever ZOOM_SHARED_DIR
points) and are Zoom's, under Zoom's API terms: read from there, never copied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoomsim.config import default_spec_dir

SHARED = default_spec_dir().resolve()
VECTORS = SHARED / "signature_test_vectors.json"
EVENTS_SPEC = SHARED / "ZoomMeetingEventsSpec.json"
PAYLOADS = SHARED / "payloads"
MISSING = "documents-missing"


def absent() -> str | None:
    """Why the documents cannot be read here, or None."""
    if not SHARED.is_dir():
        return f"Zoom's published documents not found at {SHARED} (set ZOOM_SHARED_DIR)"
    return None


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
