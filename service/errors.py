"""Errors the service layer raises; the API turns them into JSON answers."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    status = 422


class Unavailable(ServiceError):
    """Something we depend on (Zoom, Redis) cannot answer now; trying again later may work."""

    status = 503


class Forbidden(ServiceError):
    """The acting LMS user may not do this (the calling LMS is trusted; its users have roles)."""

    status = 403
