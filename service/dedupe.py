"""A stable identity for a Zoom delivery (pure).

Zoom's bodies carry no event id and its request headers are not known to be
stable across retries, so the identity is the content itself: the SHA-256 of
the body in canonical JSON form (sorted keys, no spaces, UTF-8). A retry that
re-serialises the same event yields the same key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8",
        "surrogatepass",  # a lone "\ud800" escape is valid JSON and must not crash intake
    )


def dedupe_key(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()
