"""The REST client: every call rate-limited, timed out, classified, and retried once after a token refresh.

A call goes: limiter (wait a moment or be deferred) -> bearer token -> HTTP with
connect and read timeouts, never following redirects -> on 401 one refresh and
one retry -> any other failure raised as the error it means (errors.py). Lists
are read to the end with Zoom's largest page; a page that fails fails the list.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol

import requests

from zoomapi.categories import CATEGORY, HOST_DAILY
from zoomapi.errors import ZoomRateLimited, ZoomUnauthorized, ZoomUnavailable, classify
from zoomapi.uuids import path_uuid

PAGE_SIZE = 300
BATCH_SIZE = 30  # Zoom's most registrants per batch or status call


class Limiter(Protocol):
    def acquire(self, account_id: str, category: str) -> None:
        """Return when the call may go; raise `Deferred` when it must wait longer than a moment."""

    def block(self, account_id: str, category: str, until: datetime) -> None:
        """Zoom answered 429: hold the account's calls of that category until then."""

    def spend_host(self, host_id: str, account_id: str = "") -> None:
        """Count a meeting create or update against the host's daily 100; raise `Deferred` when spent.

        `account_id`: whose connection spends it, so the admin overview can show it per account.
        """

    def refund_host(self, host_id: str, account_id: str = "") -> None:
        """A counted call Zoom refused before doing anything (a per-second 429, a 401): give it back."""

    def exhaust_host(self, host_id: str, day: date, account_id: str = "") -> None:
        """Zoom says the host's budget of that UTC day is spent: no more of their creates or updates that day."""


TokenSource = Callable[[bool], str]  # token(refresh) -> access token; refresh=True forces a new one


def _plural(kind: str) -> str:
    if kind not in ("meeting", "webinar"):
        raise ValueError(f"kind must be meeting or webinar, not {kind!r}")
    return f"{kind}s"


class ZoomClient:
    def __init__(
        self,
        base_url: str,
        token: TokenSource,
        account_id: str,
        *,
        limiter: Limiter | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 20.0),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        observe: Callable[[int, str, bool], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.account_id = account_id
        self.limiter = limiter
        self.session = session or requests.Session()
        self.timeout = timeout
        self.clock = clock
        # Told of every answer: (HTTP status or 0 for none, rate-limit category, rate-limited?): for metrics.
        self.observe = observe or (lambda status, category, limited: None)
        # The last X-RateLimit-* headers Zoom sent, for the health of the connection.
        self.rate_headers: dict[str, str] = {}

    def request(
        self,
        method: str,
        template: str,
        path: dict[str, str | int] | None = None,
        *,
        json: Any = None,
        query: dict[str, Any] | None = None,
        host: str | None = None,
    ) -> Any:
        """One call; `host`: whose daily create/update budget it spends (creates and updates only)."""
        category = CATEGORY[(method, template)]
        url = self.base_url + template.format(**{k: str(v) for k, v in (path or {}).items()})
        spends_host = bool(host) and (method, template) in HOST_DAILY and self.limiter is not None
        for attempt in (1, 2):
            if self.limiter is not None:
                self.limiter.acquire(self.account_id, category)
                if spends_host:
                    self.limiter.spend_host(host, account_id=self.account_id)
            headers = {"Authorization": f"Bearer {self.token(attempt == 2)}"}
            try:
                response = self.session.request(
                    method, url, json=json, params=query, headers=headers, timeout=self.timeout, allow_redirects=False
                )
            except requests.RequestException as exc:  # timeouts, refused and dropped connections
                self.observe(0, category, False)
                raise ZoomUnavailable(None, None, f"{type(exc).__name__}: {exc}") from exc
            self.rate_headers = {
                k.lower(): v for k, v in response.headers.items() if k.lower().startswith("x-ratelimit")
            }
            if response.status_code < 300:
                self.observe(response.status_code, category, False)
                return _json(response)
            error = classify(response.status_code, _json(response), dict(response.headers), self.clock())
            self.observe(response.status_code, category, isinstance(error, ZoomRateLimited))
            if spends_host and isinstance(error, (ZoomUnauthorized, ZoomRateLimited)):
                # refused at the door: it created or changed nothing (a daily refusal then marks its day spent)
                self.limiter.refund_host(host, account_id=self.account_id)
            if isinstance(error, ZoomUnauthorized) and attempt == 1:
                continue
            if isinstance(error, ZoomRateLimited) and self.limiter is not None:
                if error.daily and spends_host:
                    # that host's 100 a day, not the account's
                    self.limiter.exhaust_host(host, error.spent_day, account_id=self.account_id)
                else:
                    self.limiter.block(self.account_id, error.category or category, error.retry_at)
            raise error
        raise AssertionError("unreachable")

    def _all_pages(self, template: str, path: dict, field: str, **query: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        token = ""
        while True:
            params = {**query, "page_size": PAGE_SIZE, **({"next_page_token": token} if token else {})}
            page = self.request("GET", template, path, query=params) or {}
            rows.extend(page.get(field) or [])
            token = page.get("next_page_token") or ""
            if not token:
                return rows

    # --- users -----------------------------------------------------------------------------

    def user(self, user_id: str = "me") -> dict[str, Any]:
        return self.request("GET", "/users/{userId}", {"userId": user_id})

    def user_settings(self, user_id: str) -> dict[str, Any]:
        return self.request("GET", "/users/{userId}/settings", {"userId": user_id})

    # --- meetings and webinars ---------------------------------------------------------------

    def create(self, kind: str, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", f"/users/{{userId}}/{_plural(kind)}", {"userId": user_id}, json=body, host=user_id)

    def get(self, kind: str, meeting_id: int) -> dict[str, Any]:
        return self.request("GET", *self._one(kind, meeting_id))

    def update(self, kind: str, meeting_id: int, body: dict[str, Any], host_id: str) -> None:
        self.request("PATCH", *self._one(kind, meeting_id), json=body, host=host_id)

    def delete(self, kind: str, meeting_id: int) -> None:
        self.request("DELETE", *self._one(kind, meeting_id))

    def end(self, kind: str, meeting_id: int) -> None:
        template, path = self._one(kind, meeting_id)
        self.request("PUT", template + "/status", path, json={"action": "end"})

    def upcoming(self, kind: str, user_id: str) -> list[dict[str, Any]]:
        if kind == "webinar":  # Zoom pages webinars by number
            rows: list[dict[str, Any]] = []
            number = 1
            while True:
                page = self.request(
                    "GET",
                    "/users/{userId}/webinars",
                    {"userId": user_id},
                    query={"type": "upcoming", "page_size": PAGE_SIZE, "page_number": number},
                )
                rows.extend(page.get("webinars") or [])
                if number >= (page.get("page_count") or 0):
                    return rows
                number += 1
        return self._all_pages("/users/{userId}/meetings", {"userId": user_id}, "meetings", type="upcoming")

    @staticmethod
    def _one(kind: str, meeting_id: int) -> tuple[str, dict[str, int]]:
        param = f"{kind}Id"
        return f"/{_plural(kind)}/{{{param}}}", {param: int(meeting_id)}

    # --- registrants ---------------------------------------------------------------------------

    def add_registrant(self, kind: str, meeting_id: int, body: dict[str, Any]) -> dict[str, Any]:
        template, path = self._one(kind, meeting_id)
        return self.request("POST", template + "/registrants", path, json=body)

    def batch_registrants(self, kind: str, meeting_id: int, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Up to 30 at once, approved at once (scheduled meetings and webinars only)."""
        if len(people) > BATCH_SIZE:
            raise ValueError(f"at most {BATCH_SIZE} registrants per batch")
        template, path = self._one(kind, meeting_id)
        body: dict[str, Any] = {"auto_approve": True, "registrants": people}
        if kind == "meeting":  # the webinar endpoint takes no such field
            body["registrants_confirmation_email"] = False
        return (self.request("POST", template + "/batch_registrants", path, json=body) or {}).get("registrants") or []

    def cancel_registrants(self, kind: str, meeting_id: int, refs: list[dict[str, str]]) -> None:
        template, path = self._one(kind, meeting_id)
        for start in range(0, len(refs), BATCH_SIZE):
            chunk = refs[start : start + BATCH_SIZE]
            self.request("PUT", template + "/registrants/status", path, json={"action": "cancel", "registrants": chunk})

    def registrants(self, kind: str, meeting_id: int, status: str = "approved") -> list[dict[str, Any]]:
        template, path = self._one(kind, meeting_id)
        return self._all_pages(template + "/registrants", path, "registrants", status=status)

    # --- past meetings and reports -----------------------------------------------------------

    def past_instances(self, kind: str, meeting_id: int) -> list[dict[str, Any]]:
        page = self.request("GET", f"/past_{_plural(kind)}/{{{kind}Id}}/instances", {f"{kind}Id": int(meeting_id)})
        return (page or {}).get("meetings" if kind == "meeting" else "webinars") or []

    def report_participants(self, kind: str, meeting_ref: int | str) -> list[dict[str, Any]]:
        """Every row of one instance's participant report (a uuid), or of the latest one (a number)."""
        ref = str(meeting_ref) if isinstance(meeting_ref, int) else path_uuid(meeting_ref)
        return self._all_pages(
            f"/report/{_plural(kind)}/{{{kind}Id}}/participants",
            {f"{kind}Id": ref},
            "participants",
            include_fields="registrant_id",
        )


def _json(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None  # an HTML error page from a gateway
