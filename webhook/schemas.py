"""Moved to service/event_schemas.py (issue 20: workers/ and webhook/ import each other no more).

Kept only for tests/conformance/test_zoom_shared.py and tests/unit/test_openapi_document.py, which another
branch edits: delete this module when they import service.event_schemas.
"""

from service.event_schemas import MAX_MEETING_NUMBER, parse_meeting_event

__all__ = ["MAX_MEETING_NUMBER", "parse_meeting_event"]
