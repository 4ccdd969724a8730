"""Zoom's OAuth server: the authorize URL, code exchange, refresh (tokens rotate), Server-to-Server, revoke.

Zoom takes the app's credentials as HTTP Basic. A refused grant is permanent
(`OAuthRefused`: reconnect); a network failure or 5xx is `ZoomUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests

from zoomapi.errors import ZoomUnavailable


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime
    scopes: tuple[str, ...]


class OAuthRefused(Exception):
    def __init__(self, status: int, error: str, reason: str):
        super().__init__(f"Zoom refused the grant: {error}: {reason}")
        self.status, self.error, self.reason = status, error, reason


def authorize_url(oauth_base: str, client_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state})
    return f"{oauth_base.rstrip('/')}/oauth/authorize?{query}"


class OAuthClient:
    def __init__(
        self,
        oauth_base: str,
        client_id: str,
        client_secret: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 20.0),
    ) -> None:
        self.base = oauth_base.rstrip("/")
        self.client_id, self.client_secret = client_id, client_secret
        self.session = session or requests.Session()
        self.timeout = timeout

    def _post(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """POST a form with the app's Basic credentials; the answer's JSON, or the error it means."""
        try:
            response = self.session.post(
                self.base + path,
                data=params,  # a form body, so codes and tokens stay out of URLs and access logs
                auth=(self.client_id, self.client_secret),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise ZoomUnavailable(None, None, f"{type(exc).__name__}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500:
            raise ZoomUnavailable(response.status_code, None, f"OAuth server answered {response.status_code}")
        if response.status_code >= 300 or not isinstance(body, dict):
            body = body if isinstance(body, dict) else {}
            raise OAuthRefused(response.status_code, str(body.get("error", "")), str(body.get("reason", "")))
        return body

    def _tokens(self, body: dict[str, Any]) -> TokenSet:
        expires_in = int(body.get("expires_in") or 3600)
        return TokenSet(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
            scopes=tuple(str(body.get("scope", "")).split()),
        )

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return self._tokens(
            self._post("/oauth/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        """The answer holds the next refresh token: the one given is dead from now on."""
        return self._tokens(self._post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": refresh_token}))

    def account_token(self, account_id: str) -> TokenSet:
        return self._tokens(self._post("/oauth/token", {"grant_type": "account_credentials", "account_id": account_id}))

    def revoke(self, token: str) -> None:
        self._post("/oauth/revoke", {"token": token})
