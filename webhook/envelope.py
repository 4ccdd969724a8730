"""Moved to service/envelope.py (issue 20: workers/ and webhook/ import each other no more).

Kept only for tests/conformance/test_zoom_shared.py, which another branch edits: delete this module when
that test imports service.envelope.
"""

from service.envelope import MEETING_EVENTS, read_envelope

__all__ = ["MEETING_EVENTS", "read_envelope"]
