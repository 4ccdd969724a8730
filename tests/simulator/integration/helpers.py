"""Shared helpers for the simulator's HTTP-level tests: tokens, meetings and uuids, all over real HTTP.

Tests that need settings of their own (token_ttl, report_delay...) start their
own simulator with `simulator()`; the others use the conftest's `sim`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests

from tests.simulator.conftest import Api, start_simulator
from zoomsim.server import RunningSimulator

TIMEOUT = 10
REDIRECT_URI = "https://lms.example/zoom/callback"


def s2s_api(running: RunningSimulator) -> Api:
    """An API client with a Server-to-Server token of the simulator's default account."""
    cfg = running.sim.config
    return Api(running.url, running.control.s2s_token(cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id))


@contextmanager
def simulator(**overrides: Any) -> Iterator[RunningSimulator]:
    """A simulator with settings of its own (token_ttl, report_delay...), stopped afterwards."""
    running = start_simulator(**overrides)
    try:
        yield running
    finally:
        running.stop()


def state(running: RunningSimulator) -> dict[str, Any]:
    return running.control.state()


def owner_id(running: RunningSimulator) -> str:
    cfg = running.sim.config
    return next(a["owner_id"] for a in state(running)["accounts"] if a["id"] == cfg.account_id)


def user_id_by_email(running: RunningSimulator, email: str) -> str:
    return next(u["id"] for u in state(running)["users"] if u["email"] == email)


def add_user(running: RunningSimulator, email: str, **options: Any) -> dict[str, Any]:
    return running.control.call("POST", "/users", {"email": email, **options})


def add_app(running: RunningSimulator, client_id: str, kind: str, scopes: list[str], **extra: Any) -> dict[str, Any]:
    body = {"client_id": client_id, "client_secret": f"{client_id}-secret", "kind": kind, "scopes": scopes, **extra}
    return running.control.call("POST", "/apps", body)


def advance_clock(running: RunningSimulator, seconds: float) -> dict[str, Any]:
    return running.control.call("POST", "/clock", {"advance": seconds})


def token_request(url: str, client_id: str, client_secret: str, **values: str) -> requests.Response:
    return requests.post(f"{url}/oauth/token", data=values, auth=(client_id, client_secret), timeout=TIMEOUT)


def account_token(running: RunningSimulator, client_id: str, client_secret: str, account_id: str) -> requests.Response:
    return token_request(running.url, client_id, client_secret, grant_type="account_credentials", account_id=account_id)


def authorize(url: str, client_id: str, redirect_uri: str = REDIRECT_URI, state: str = "s-1") -> requests.Response:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state}
    return requests.get(f"{url}/oauth/authorize", params=params, allow_redirects=False, timeout=TIMEOUT)


def redirect_params(response: requests.Response) -> dict[str, str]:
    location = response.headers["Location"]
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def code_for(url: str, client_id: str, redirect_uri: str = REDIRECT_URI) -> str:
    response = authorize(url, client_id, redirect_uri)
    assert response.status_code == 302, response.text
    return redirect_params(response)["code"]


def user_tokens(running: RunningSimulator, client_id: str | None = None, client_secret: str | None = None) -> dict:
    """The authorization-code flow end to end for a user-managed app (default: the simulator's own)."""
    cfg = running.sim.config
    client_id = client_id or cfg.client_id
    client_secret = client_secret or (cfg.client_secret if client_id == cfg.client_id else f"{client_id}-secret")
    code = code_for(running.url, client_id)
    response = token_request(
        running.url, client_id, client_secret, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert response.status_code == 200, response.text
    return response.json()


def create_meeting(api: Api, user: str = "me", **fields: Any) -> dict[str, Any]:
    body = {"topic": "Integration test", "type": 2, "start_time": "2030-06-01T10:00:00Z", "duration": 60, **fields}
    response = api("POST", f"/users/{user}/meetings", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def create_webinar(api: Api, user: str = "me", **fields: Any) -> dict[str, Any]:
    body = {"topic": "Integration webinar", "type": 5, "start_time": "2030-06-01T10:00:00Z", "duration": 60, **fields}
    response = api("POST", f"/users/{user}/webinars", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def registration_meeting(api: Api, approval_type: int = 0, user: str = "me", **fields: Any) -> dict[str, Any]:
    return create_meeting(api, user, settings={"approval_type": approval_type}, **fields)


def register(api: Api, meeting_id: int, email: str, first_name: str = "Reg", **fields: Any) -> requests.Response:
    body = {"email": email, "first_name": first_name, **fields}
    return api("POST", f"/meetings/{meeting_id}/registrants", json=body)


def encode_uuid(uuid: str) -> str:
    """Zoom's rule: double-encode a uuid that starts with `/` or holds `//`, else encode it once."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def all_pages(api: Api, path: str, field: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a token-paginated list, followed by next_page_token to the end; each must answer 200."""
    pages: list[list[dict[str, Any]]] = []
    token = ""
    while True:
        query = {**params, **({"next_page_token": token} if token else {})}
        response = api("GET", path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body[field])
        token = body["next_page_token"]
        if not token:
            return pages
