"""Which scopes a connection needs for what we call, and which of them a token lacks (pure).

We act for organizers who are not the user who connected the account, so the
admin-level scopes are needed: a classic one (`meeting:write:admin`) or the
granular scope of that one operation. Webinar scopes are needed only where the
account has webinars.
"""

from __future__ import annotations

from collections.abc import Iterable

# (what we do, scopes any one of which allows it)
NEEDED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("read users", ("user:read:admin", "user:read:user:admin")),
    ("read user settings", ("user:read:admin", "user:read:settings:admin")),
    ("create meetings", ("meeting:write:admin", "meeting:write:meeting:admin")),
    ("read meetings", ("meeting:read:admin", "meeting:read:meeting:admin")),
    ("update meetings", ("meeting:write:admin", "meeting:update:meeting:admin")),
    ("delete meetings", ("meeting:write:admin", "meeting:delete:meeting:admin")),
    ("end meetings", ("meeting:write:admin", "meeting:update:status:admin")),
    ("register an attendee", ("meeting:write:admin", "meeting:write:registrant:admin")),
    ("register attendees in batches", ("meeting:write:admin", "meeting:write:batch_registrants:admin")),
    ("cancel registrations", ("meeting:write:admin", "meeting:update:registrant_status:admin")),
    ("list upcoming meetings", ("meeting:read:admin", "meeting:read:list_meetings:admin")),
    ("list past instances", ("meeting:read:admin", "meeting:read:list_past_instances:admin")),
    ("read participant reports", ("report:read:admin", "report:read:list_meeting_participants:admin")),
)
WEBINAR_NEEDED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("create webinars", ("webinar:write:admin", "webinar:write:webinar:admin")),
    ("read webinars", ("webinar:read:admin", "webinar:read:webinar:admin")),
    ("update webinars", ("webinar:write:admin", "webinar:update:webinar:admin")),
    ("delete webinars", ("webinar:write:admin", "webinar:delete:webinar:admin")),
    ("end webinars", ("webinar:write:admin", "webinar:update:status:admin")),
    ("register a webinar attendee", ("webinar:write:admin", "webinar:write:registrant:admin")),
    ("register webinar attendees in batches", ("webinar:write:admin", "webinar:write:batch_registrants:admin")),
    ("cancel webinar registrations", ("webinar:write:admin", "webinar:update:registrant_status:admin")),
    ("list upcoming webinars", ("webinar:read:admin", "webinar:read:list_webinars:admin")),
    ("list past webinar instances", ("webinar:read:admin", "webinar:read:list_past_instances:admin")),
    ("read webinar reports", ("report:read:admin", "report:read:list_webinar_participants:admin")),
)


def missing(granted: Iterable[str], webinars: bool) -> list[str]:
    """One line per thing we could not do with these scopes, naming the scope that would allow it."""
    have = set(granted)
    needs = NEEDED + (WEBINAR_NEEDED if webinars else ())
    return [f"{purpose} ({' or '.join(options)})" for purpose, options in needs if not have & set(options)]
