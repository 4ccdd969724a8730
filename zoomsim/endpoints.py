"""The REST endpoints the simulator serves, with Zoom's rate-limit category and scopes for each.

One table, so routing, scope checks, rate limits and spec validation agree on what
an endpoint is. The categories and scopes are those of each endpoint's "Rate Limit
Label" and "Scopes"/"Granular Scopes" in Zoom's API reference; a conformance test
compares this table with Zoom's OpenAPI files where they are present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LIGHT, MEDIUM, HEAVY, RESOURCE_INTENSIVE = "LIGHT", "MEDIUM", "HEAVY", "RESOURCE_INTENSIVE"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # Zoom's template, as in its OpenAPI files: "/meetings/{meetingId}"
    category: str
    scopes: tuple[str, ...]  # any one of them grants the call
    # Path parameter that may carry a meeting uuid (double URL-encoded when it starts with / or has //).
    uuid_param: str | None = None
    # Counts toward Zoom's 100 meeting/webinar creates or updates per host per UTC day.
    host_daily: bool = False

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def flask_rule(self) -> str:
        def convert(match: re.Match) -> str:
            param = match.group(1)
            return f"<path:{param}>" if param == self.uuid_param else f"<{param}>"

        return "/v2" + re.sub(r"\{(\w+)\}", convert, self.path)

    def admin_scopes(self) -> tuple[str, ...]:
        """The scopes that let a token act on other users of its account, not only its own user."""
        return tuple(scope for scope in self.scopes if scope.endswith(":admin"))


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/users/{userId}",
        LIGHT,
        (
            "user:read",
            "user:write",
            "user:read:admin",
            "user:write:admin",
            "user_profile",
            "user_info:read",
            "user:read:user",
            "user:read:user:admin",
        ),
    ),
    Endpoint(
        "GET",
        "/users/{userId}/settings",
        MEDIUM,
        (
            "user:read",
            "user:write",
            "user:read:admin",
            "user:write:admin",
            "user:read:settings",
            "user:read:settings:admin",
        ),
    ),
    Endpoint(
        "GET",
        "/users/{userId}/meetings",
        MEDIUM,
        ("meeting:read:admin", "meeting:read", "meeting:read:list_meetings", "meeting:read:list_meetings:admin"),
    ),
    Endpoint(
        "POST",
        "/users/{userId}/meetings",
        LIGHT,
        ("meeting:write:admin", "meeting:write", "meeting:write:meeting", "meeting:write:meeting:admin"),
        host_daily=True,
    ),
    Endpoint(
        "GET",
        "/users/{userId}/webinars",
        MEDIUM,
        ("webinar:read:admin", "webinar:read", "webinar:read:list_webinars", "webinar:read:list_webinars:admin"),
    ),
    Endpoint(
        "POST",
        "/users/{userId}/webinars",
        LIGHT,
        ("webinar:write", "webinar:write:admin", "webinar:write:webinar", "webinar:write:webinar:admin"),
        host_daily=True,
    ),
    Endpoint(
        "GET",
        "/meetings/{meetingId}",
        LIGHT,
        ("meeting:read", "meeting:read:admin", "meeting:read:meeting", "meeting:read:meeting:admin"),
    ),
    Endpoint(
        "PATCH",
        "/meetings/{meetingId}",
        LIGHT,
        ("meeting:write", "meeting:write:admin", "meeting:update:meeting:admin", "meeting:update:meeting"),
        host_daily=True,
    ),
    Endpoint(
        "DELETE",
        "/meetings/{meetingId}",
        LIGHT,
        ("meeting:write:admin", "meeting:write", "meeting:delete:meeting", "meeting:delete:meeting:admin"),
    ),
    Endpoint(
        "PUT",
        "/meetings/{meetingId}/status",
        LIGHT,
        ("meeting:write:admin", "meeting:write", "meeting:update:status", "meeting:update:status:admin"),
    ),
    Endpoint(
        "GET",
        "/webinars/{webinarId}",
        LIGHT,
        ("webinar:read:admin", "webinar:read", "webinar:read:webinar", "webinar:read:webinar:admin"),
    ),
    Endpoint(
        "PATCH",
        "/webinars/{webinarId}",
        LIGHT,
        ("webinar:write", "webinar:write:admin", "webinar:update:webinar", "webinar:update:webinar:admin"),
        host_daily=True,
    ),
    Endpoint(
        "DELETE",
        "/webinars/{webinarId}",
        LIGHT,
        ("webinar:write:admin", "webinar:write", "webinar:delete:webinar", "webinar:delete:webinar:admin"),
    ),
    Endpoint(
        "PUT",
        "/webinars/{webinarId}/status",
        LIGHT,
        ("webinar:write:admin", "webinar:write", "webinar:update:status", "webinar:update:status:admin"),
    ),
    Endpoint(
        "GET",
        "/meetings/{meetingId}/registrants",
        MEDIUM,
        ("meeting:read:admin", "meeting:read", "meeting:read:list_registrants", "meeting:read:list_registrants:admin"),
    ),
    Endpoint(
        "POST",
        "/meetings/{meetingId}/registrants",
        LIGHT,
        ("meeting:write:admin", "meeting:write", "meeting:write:registrant", "meeting:write:registrant:admin"),
    ),
    Endpoint(
        "PUT",
        "/meetings/{meetingId}/registrants/status",
        MEDIUM,
        (
            "meeting:write:admin",
            "meeting:write",
            "meeting:update:registrant_status",
            "meeting:update:registrant_status:admin",
        ),
    ),
    Endpoint(
        "DELETE",
        "/meetings/{meetingId}/registrants/{registrantId}",
        LIGHT,
        ("meeting:write:admin", "meeting:write", "meeting:delete:registrant", "meeting:delete:registrant:admin"),
    ),
    Endpoint(
        "POST",
        "/meetings/{meetingId}/batch_registrants",
        HEAVY,
        (
            "meeting:write",
            "meeting:write:admin",
            "meeting:write:batch_registrants",
            "meeting:write:batch_registrants:admin",
        ),
    ),
    Endpoint(
        "GET",
        "/webinars/{webinarId}/registrants",
        MEDIUM,
        ("webinar:read:admin", "webinar:read", "webinar:read:list_registrants", "webinar:read:list_registrants:admin"),
    ),
    Endpoint(
        "POST",
        "/webinars/{webinarId}/registrants",
        LIGHT,
        ("webinar:write:admin", "webinar:write", "webinar:write:registrant", "webinar:write:registrant:admin"),
    ),
    Endpoint(
        "PUT",
        "/webinars/{webinarId}/registrants/status",
        MEDIUM,
        (
            "webinar:write:admin",
            "webinar:write",
            "webinar:update:registrant_status",
            "webinar:update:registrant_status:admin",
        ),
    ),
    Endpoint(
        "DELETE",
        "/webinars/{webinarId}/registrants/{registrantId}",
        LIGHT,
        ("webinar:write:admin", "webinar:write", "webinar:delete:registrant", "webinar:delete:registrant:admin"),
    ),
    Endpoint(
        "POST",
        "/webinars/{webinarId}/batch_registrants",
        HEAVY,
        (
            "webinar:write",
            "webinar:write:admin",
            "webinar:write:batch_registrants",
            "webinar:write:batch_registrants:admin",
        ),
    ),
    Endpoint(
        "GET",
        "/report/meetings/{meetingId}/participants",
        HEAVY,
        ("report:read:admin", "report:read:list_meeting_participants:admin"),
        uuid_param="meetingId",
    ),
    Endpoint(
        "GET",
        "/report/webinars/{webinarId}/participants",
        HEAVY,
        ("report:read:admin", "report:read:list_webinar_participants:admin"),
        uuid_param="webinarId",
    ),
    Endpoint(
        "GET",
        "/past_meetings/{meetingId}/participants",
        MEDIUM,
        (
            "meeting:read:admin",
            "meeting:read",
            "meeting:read:list_past_participants",
            "meeting:read:list_past_participants:admin",
        ),
        uuid_param="meetingId",
    ),
    Endpoint(
        "GET",
        "/past_meetings/{meetingId}/instances",
        MEDIUM,
        (
            "meeting:read:admin",
            "meeting:read",
            "meeting:read:list_past_instances",
            "meeting:read:list_past_instances:admin",
        ),
        uuid_param="meetingId",
    ),
    Endpoint(
        "GET",
        "/past_webinars/{webinarId}/participants",
        MEDIUM,
        (
            "webinar:read:admin",
            "webinar:read",
            "webinar:read:list_past_participants:admin",
            "webinar:read:list_past_participants",
        ),
        uuid_param="webinarId",
    ),
    Endpoint(
        "GET",
        "/past_webinars/{webinarId}/instances",
        LIGHT,
        (
            "webinar:read:admin",
            "webinar:read",
            "webinar:read:list_past_instances",
            "webinar:read:list_past_instances:admin",
        ),
        uuid_param="webinarId",
    ),
)

BY_NAME: dict[str, Endpoint] = {endpoint.name: endpoint for endpoint in ENDPOINTS}

# What a default app is granted: the classic scopes that cover every endpoint above, user and admin level.
DEFAULT_SCOPES: tuple[str, ...] = (
    "meeting:read",
    "meeting:read:admin",
    "meeting:write",
    "meeting:write:admin",
    "report:read:admin",
    "user:read",
    "user:read:admin",
    "webinar:read",
    "webinar:read:admin",
    "webinar:write",
    "webinar:write:admin",
)
