"""The rate-limit category of every Zoom endpoint we call (Zoom's "Rate Limit Label").

The limiter spends each call from its account's budget for that category; a
conformance test checks this table against Zoom's OpenAPI files.
"""

from __future__ import annotations

LIGHT, MEDIUM, HEAVY = "light", "medium", "heavy"

CATEGORY: dict[tuple[str, str], str] = {
    ("GET", "/users/{userId}"): LIGHT,
    ("GET", "/users/{userId}/settings"): MEDIUM,
    ("POST", "/users/{userId}/meetings"): LIGHT,
    ("POST", "/users/{userId}/webinars"): LIGHT,
    ("GET", "/users/{userId}/meetings"): MEDIUM,
    ("GET", "/users/{userId}/webinars"): MEDIUM,
    ("GET", "/meetings/{meetingId}"): LIGHT,
    ("GET", "/webinars/{webinarId}"): LIGHT,
    ("PATCH", "/meetings/{meetingId}"): LIGHT,
    ("PATCH", "/webinars/{webinarId}"): LIGHT,
    ("DELETE", "/meetings/{meetingId}"): LIGHT,
    ("DELETE", "/webinars/{webinarId}"): LIGHT,
    ("PUT", "/meetings/{meetingId}/status"): LIGHT,
    ("PUT", "/webinars/{webinarId}/status"): LIGHT,
    ("GET", "/meetings/{meetingId}/registrants"): MEDIUM,
    ("GET", "/webinars/{webinarId}/registrants"): MEDIUM,
    ("POST", "/meetings/{meetingId}/registrants"): LIGHT,
    ("POST", "/webinars/{webinarId}/registrants"): LIGHT,
    ("POST", "/meetings/{meetingId}/batch_registrants"): HEAVY,
    ("POST", "/webinars/{webinarId}/batch_registrants"): HEAVY,
    ("PUT", "/meetings/{meetingId}/registrants/status"): MEDIUM,
    ("PUT", "/webinars/{webinarId}/registrants/status"): MEDIUM,
    ("GET", "/report/meetings/{meetingId}/participants"): HEAVY,
    ("GET", "/report/webinars/{webinarId}/participants"): HEAVY,
    ("GET", "/past_meetings/{meetingId}/instances"): MEDIUM,
    ("GET", "/past_webinars/{webinarId}/instances"): LIGHT,
}

# Calls that count toward Zoom's 100 meeting/webinar creates or updates per host per UTC day.
HOST_DAILY = frozenset(
    {
        ("POST", "/users/{userId}/meetings"),
        ("POST", "/users/{userId}/webinars"),
        ("PATCH", "/meetings/{meetingId}"),
        ("PATCH", "/webinars/{webinarId}"),
    }
)
