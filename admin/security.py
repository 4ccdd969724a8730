"""Login, CSRF and response headers of the admin pages (one place for each).

The login is one username and password from the environment, compared in
constant time; a session cookie (HttpOnly, SameSite=Strict, Secure unless told
otherwise) carries it. Every state-changing request needs the session's CSRF
token. Failed logins are counted per client address in Redis; past the limit
the login answers 429 for the rest of the window, right password or not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from functools import wraps

from flask import Response, abort, redirect, request, session, url_for
from redis.exceptions import RedisError

from service.services import services

LOGIN_WINDOW_SECONDS = 15 * 60
SESSION_USER = "admin_user"
SESSION_CSRF = "admin_csrf"

# No inline script or style anywhere: everything the pages need is served by the app itself.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def credentials_match(username: str, password: str) -> bool:
    """Both compared in constant time (over digests, so lengths leak nothing either)."""
    settings = services().settings
    user_ok = hmac.compare_digest(_digest(username), _digest(settings.admin_username))
    password_ok = hmac.compare_digest(_digest(password), _digest(settings.admin_password))
    return settings.admin_configured and user_ok and password_ok


def _attempts_key() -> str:
    return f"zoomsync:admin-login-failures:{request.remote_addr or 'unknown'}"


def login_blocked() -> bool:
    """Too many failed logins from this address in the window (Redis down: blocked, never unlimited)."""
    try:
        failures = int(services().redis.get(_attempts_key()) or 0)
    except RedisError:
        return True
    return failures >= services().settings.admin_login_attempts


def record_failed_login() -> None:
    try:
        pipe = services().redis.pipeline()
        pipe.incr(_attempts_key())
        pipe.expire(_attempts_key(), LOGIN_WINDOW_SECONDS)
        pipe.execute()
    except RedisError:
        pass  # login_blocked already refuses while Redis is away


def log_in(username: str) -> None:
    session.clear()  # a fresh session: no fixation
    session[SESSION_USER] = username
    session[SESSION_CSRF] = secrets.token_urlsafe(32)
    session.permanent = False


def csrf_token() -> str:
    token = session.get(SESSION_CSRF)
    if not token:
        token = session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Every POST carries the session's token in the form (or the X-CSRF-Token header, for scripts)."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get(SESSION_CSRF) or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="missing or wrong CSRF token: reload the page and try again")


def logged_in() -> bool:
    return bool(session.get(SESSION_USER)) and services().settings.admin_configured


def to_login() -> Response:
    """Back to the login page, which returns to this page (a GET) afterwards."""
    return redirect(url_for("admin.login", next=request.full_path if request.method == "GET" else None))


def login_required(view: Callable) -> Callable:
    @wraps(view)
    def guarded(*args, **kwargs):
        if not logged_in():
            return to_login()
        return view(*args, **kwargs)

    return guarded


def safe_next(target: str | None) -> str:
    """Only a path of our own admin pages: never an open redirect."""
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.overview")
