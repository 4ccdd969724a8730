"""A meeting uuid as a path segment (pure), by Zoom's rule."""

from __future__ import annotations

from urllib.parse import quote


def path_uuid(uuid: str) -> str:
    """Encode once; encode twice when the uuid starts with `/` or holds `//`, as Zoom requires."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once
