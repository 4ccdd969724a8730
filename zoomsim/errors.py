"""Zoom's error answers: `{"code": n, "message": "..."}` with the HTTP status Zoom uses for that code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ZoomError(Exception):
    status: int
    code: int
    message: str
    errors: list[dict[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


def invalid_token() -> ZoomError:
    return ZoomError(401, 124, "Invalid access token.")


def expired_token() -> ZoomError:
    return ZoomError(401, 124, "Access token has expired.")


def missing_scopes(scopes: tuple[str, ...]) -> ZoomError:
    return ZoomError(400, 4711, f"Invalid access token, does not contain scopes:[{', '.join(scopes)}].")


def no_permission() -> ZoomError:
    return ZoomError(400, 200, "No permission.")


def user_not_found(user_id: str) -> ZoomError:
    return ZoomError(404, 1001, f"User does not exist: {user_id}.")


def meeting_not_found(meeting_id: object, kind: str = "meeting") -> ZoomError:
    noun = "Webinar" if kind == "webinar" else "Meeting"
    return ZoomError(404, 3001, f"{noun} does not exist: {meeting_id}.")


def report_not_found(meeting_id: object, kind: str = "meeting") -> ZoomError:
    if kind == "webinar":
        return ZoomError(404, 3001, f'Webinar "{meeting_id}" not found or has expired')
    return ZoomError(404, 3001, f"Meeting {meeting_id} not found or has expired.")


def validation_failed(errors: list[dict[str, str]]) -> ZoomError:
    return ZoomError(400, 300, "Validation Failed.", errors=errors)


def invalid_field(name: str, message: str = "Invalid field.") -> ZoomError:
    return validation_failed([{"field": name, "message": message}])


def invalid_page_token() -> ZoomError:
    return ZoomError(400, 300, "The next page token is invalid or expired.")
