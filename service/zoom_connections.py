"""Connecting an academy to a Zoom account, reading what the account allows, and disconnecting it.

Two ways in, as the LMS products offer them:
- OAuth authorization code: the admin is sent to Zoom with a signed, single-use,
  expiring `state`; Zoom sends them back with a code, which we exchange;
- Server-to-Server OAuth (self-hosted, one account): the app's credentials are
  checked against Zoom before they are saved.
Either way we read the account before keeping it: a Basic (free) user is
refused (meetings need a paid plan), capacities and the webinar add-on are
recorded, and scopes that do not cover what we call are named. Nothing is
stored for a connection that is refused. Zoom calls happen outside database
transactions; the connection is written in one short transaction at the end.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from redis.exceptions import RedisError
from sqlalchemy import select, update

from models import Academy, InboxEvent, ZoomConnection, utcnow
from service import lms_rules, metrics
from service.errors import Conflict, Invalid, NotFound, ServiceError, Unavailable
from service.services import Services
from service.token_box import TokenBox, TokenBoxError
from service.zoom_tokens import ConnectionTokens, oauth_client, store_tokens, token_lock
from zoomapi import scopes
from zoomapi.client import ZoomClient
from zoomapi.errors import ZoomAPIError, ZoomUnavailable
from zoomapi.limiter import RedisLimiter
from zoomapi.oauth import OAuthClient, OAuthRefused, TokenSet, authorize_url

STATE_TTL_SECONDS = 600


def _serializer(svc: Services) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(svc.settings.secret_key, salt="zoom-oauth-state")


def _state_key(nonce: str) -> str:
    return f"zoomsync:oauth-state:{nonce}"


def _require_oauth(svc: Services) -> None:
    if not svc.settings.zoom_oauth_configured:
        raise Unavailable(
            "Zoom OAuth is not configured: set ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET, ZOOM_REDIRECT_URL and SECRET_KEY"
        )


def _box(svc: Services) -> TokenBox:
    try:
        return TokenBox(svc.settings.token_encryption_keys)
    except TokenBoxError as exc:
        raise Unavailable(str(exc)) from exc


def _academy(svc: Services, academy_id: int) -> None:
    with svc.unit_of_work() as uow:
        if uow.session.get(Academy, academy_id) is None:
            raise NotFound(f"academy {academy_id} not found")


def authorization_url(svc: Services, academy_id: int) -> str:
    """Where to send the admin: Zoom's consent page, with a state only this service can make, usable once."""
    _require_oauth(svc)
    _box(svc)
    _academy(svc, academy_id)
    nonce = secrets.token_urlsafe(16)
    try:
        svc.redis.set(_state_key(nonce), academy_id, ex=STATE_TTL_SECONDS)
    except RedisError as exc:
        raise Unavailable("cannot start the Zoom authorization now (Redis unavailable)") from exc
    state = _serializer(svc).dumps({"academy": academy_id, "nonce": nonce})
    settings = svc.settings
    return authorize_url(settings.zoom_oauth_base_url, settings.zoom_client_id, settings.zoom_redirect_url, state)


def _consume_state(svc: Services, state: str) -> int:
    try:
        data = _serializer(svc).loads(state, max_age=STATE_TTL_SECONDS)
    except BadData as exc:
        raise Invalid("the authorization state is forged or expired: start again from the LMS") from exc
    try:
        fresh = svc.redis.delete(_state_key(str(data.get("nonce"))))
    except RedisError as exc:
        raise Unavailable("cannot check the authorization state now (Redis unavailable)") from exc
    if not fresh:
        raise Invalid("the authorization state was already used: start again from the LMS")
    return int(data["academy"])


@dataclass(frozen=True)
class AccountFacts:
    user_id: str
    email: str
    account_id: str
    user_type: int
    meeting_capacity: int | None
    webinar_enabled: bool
    webinar_capacity: int | None


def read_account(client: ZoomClient) -> AccountFacts:
    me = client.user("me")
    feature = (client.user_settings(str(me["id"])) or {}).get("feature") or {}
    return AccountFacts(
        user_id=str(me["id"]),
        email=str(me.get("email") or ""),
        account_id=str(me.get("account_id") or ""),
        user_type=int(me.get("type") or 0),
        meeting_capacity=feature.get("meeting_capacity"),
        webinar_enabled=bool(feature.get("webinar")),
        webinar_capacity=feature.get("webinar_capacity") if feature.get("webinar") else None,
    )


def _check(facts: AccountFacts, granted: tuple[str, ...]) -> None:
    problem = lms_rules.paid_host_problem(facts.user_type, facts.email or facts.user_id)
    if problem:
        raise Conflict(problem)
    lacking = scopes.missing(granted, webinars=facts.webinar_enabled)
    if lacking:
        raise Conflict("the Zoom app was not granted the scopes to " + "; ".join(lacking))


def _inspect(svc: Services, tokens: TokenSet) -> AccountFacts:
    """Read the account with a fresh token, before anything is stored."""
    settings = svc.settings
    client = ZoomClient(
        settings.zoom_api_base_url,
        lambda _refresh: tokens.access_token,
        account_id="",
        timeout=(settings.zoom_connect_timeout, settings.zoom_read_timeout),
    )
    try:
        facts = read_account(client)
    except ZoomUnavailable as exc:
        raise Unavailable(f"Zoom did not answer; try again ({exc.message})") from exc
    except ZoomAPIError as exc:
        raise Conflict(f"Zoom refused to show the account: {exc.message}") from exc
    _check(facts, tokens.scopes)
    return facts


def _save(
    svc: Services, academy_id: int, kind: str, tokens: TokenSet, facts: AccountFacts, **extra: Any
) -> dict[str, Any]:
    with svc.unit_of_work() as uow:
        existing = uow.session.scalars(select(ZoomConnection.id).where(ZoomConnection.academy_id == academy_id)).first()
    if existing is None:
        return _store_connection(svc, academy_id, kind, tokens, facts, **extra)
    try:
        with token_lock(svc, existing):  # a refresh in flight must not overwrite the new tokens
            return _store_connection(svc, academy_id, kind, tokens, facts, **extra)
    except ZoomUnavailable as exc:
        raise Unavailable(f"cannot store the connection now: {exc.message}") from exc


def _store_connection(
    svc: Services, academy_id: int, kind: str, tokens: TokenSet, facts: AccountFacts, **extra: Any
) -> dict[str, Any]:
    box = _box(svc)
    with svc.unit_of_work() as uow:
        connection = uow.session.scalars(select(ZoomConnection).where(ZoomConnection.academy_id == academy_id)).first()
        if connection is None:
            connection = ZoomConnection(academy_id=academy_id, kind=kind, token_version=0)
            uow.session.add(connection)
        connection.kind = kind
        connection.status = "connected"
        connection.account_id = facts.account_id
        connection.zoom_user_id, connection.zoom_user_email = facts.user_id, facts.email
        connection.user_type = facts.user_type
        connection.meeting_capacity = facts.meeting_capacity
        connection.webinar_enabled = facts.webinar_enabled
        connection.webinar_capacity = facts.webinar_capacity
        connection.client_id = extra.get("client_id")
        connection.client_secret_sealed = box.seal(extra["client_secret"]) if extra.get("client_secret") else None
        connection.refresh_token_sealed = None
        store_tokens(box, connection, tokens)
        connection.connected_at, connection.disconnected_at = utcnow(), None
        connection.last_error = connection.last_error_at = None
        uow.session.flush()
        view = describe(connection)
        uow.commit()
    return view


def complete_authorization(svc: Services, code: str, state: str) -> dict[str, Any]:
    """The OAuth callback: check the state, exchange the code, read and check the account, store it."""
    _require_oauth(svc)
    academy_id = _consume_state(svc, state)
    _academy(svc, academy_id)
    client = oauth_client(svc)
    try:
        tokens = client.exchange_code(code, svc.settings.zoom_redirect_url)
    except OAuthRefused as exc:
        raise Invalid(f"Zoom refused the authorization code ({exc.error}: {exc.reason})") from exc
    except ZoomUnavailable as exc:
        raise Unavailable(f"Zoom did not answer; try again ({exc.message})") from exc
    try:
        facts = _inspect(svc, tokens)
    except ServiceError:
        _revoke_quietly(client, tokens.access_token)  # a refused connection keeps no grant at Zoom either
        raise
    return _save(svc, academy_id, "oauth", tokens, facts)


def connect_server_to_server(
    svc: Services, academy_id: int, account_id: str, client_id: str, client_secret: str
) -> dict[str, Any]:
    _box(svc)
    _academy(svc, academy_id)
    settings = svc.settings
    client = OAuthClient(
        settings.zoom_oauth_base_url,
        client_id,
        client_secret,
        timeout=(settings.zoom_connect_timeout, settings.zoom_read_timeout),
    )
    try:
        tokens = client.account_token(account_id)
    except OAuthRefused as exc:
        raise Invalid(
            f"Zoom refused these Server-to-Server credentials ({exc.error}: {exc.reason})",
            {"client_secret": ["refused by Zoom"]},
        ) from exc
    except ZoomUnavailable as exc:
        raise Unavailable(f"Zoom did not answer; try again ({exc.message})") from exc
    facts = _inspect(svc, tokens)
    return _save(svc, academy_id, "server_to_server", tokens, facts, client_id=client_id, client_secret=client_secret)


def describe(connection: ZoomConnection) -> dict[str, Any]:
    return {
        "academy_id": connection.academy_id,
        "status": connection.status,
        "kind": connection.kind,
        "account_id": connection.account_id,
        "user": {"id": connection.zoom_user_id, "email": connection.zoom_user_email},
        "plan": {1: "basic", 2: "licensed"}.get(connection.user_type or 0, "unknown"),
        "meeting_capacity": connection.meeting_capacity,
        "webinar": {"enabled": connection.webinar_enabled, "capacity": connection.webinar_capacity},
        "scopes": sorted(connection.scopes.split()) if connection.scopes else [],
        "token_expires_at": connection.token_expires_at,
        "connected_at": connection.connected_at,
        "disconnected_at": connection.disconnected_at,
        "last_error": connection.last_error,
        "last_error_at": connection.last_error_at,
    }


def get_connection(svc: Services, academy_id: int) -> dict[str, Any]:
    with svc.unit_of_work() as uow:
        if uow.session.get(Academy, academy_id) is None:
            raise NotFound(f"academy {academy_id} not found")
        connection = uow.session.scalars(select(ZoomConnection).where(ZoomConnection.academy_id == academy_id)).first()
        if connection is None:
            raise NotFound(f"academy {academy_id} is not connected to Zoom")
        return describe(connection)


def _revoke_quietly(client, token: str) -> str | None:
    try:
        client.revoke(token)
    except (OAuthRefused, ZoomUnavailable) as exc:
        return str(exc)
    return None


def disconnect(svc: Services, academy_id: int) -> dict[str, Any]:
    """Revoke at Zoom, then forget the tokens whatever Zoom said (a revoke that failed is noted).

    Under the token lock, so a refresh in flight cannot store fresh tokens on a forgotten connection.
    """
    box = _box(svc)
    with svc.unit_of_work() as uow:
        connection = uow.session.scalars(select(ZoomConnection).where(ZoomConnection.academy_id == academy_id)).first()
        if connection is None or connection.status == "disconnected":
            raise NotFound(f"academy {academy_id} is not connected to Zoom")
        connection_id = connection.id
    try:
        with token_lock(svc, connection_id):
            with svc.unit_of_work() as uow:
                connection = uow.session.get(ZoomConnection, connection_id)
                try:
                    client = oauth_client(svc, connection)
                    token = box.open(connection.refresh_token_sealed or connection.access_token_sealed or "")
                except TokenBoxError:
                    client, token = None, ""  # sealed under a key no longer configured: nothing to revoke with
            problem = _revoke_quietly(client, token) if client and token else "no usable token to revoke"
            with svc.unit_of_work() as uow:
                connection = uow.session.get(ZoomConnection, connection_id)
                _forget(connection)
                if problem:
                    connection.last_error, connection.last_error_at = f"could not revoke at Zoom: {problem}", utcnow()
                view = describe(connection)
                uow.commit()
    except ZoomUnavailable as exc:
        raise Unavailable(f"cannot disconnect now: {exc.message}") from exc
    return view


def _forget(connection: ZoomConnection) -> None:
    connection.status = "disconnected"
    connection.access_token_sealed = connection.refresh_token_sealed = None
    connection.client_secret_sealed = None
    connection.token_expires_at = None
    connection.disconnected_at = utcnow()


# What a raw Zoom delivery of a deauthorized account is replaced by.
SCRUBBED_BODY = b'{"removed":"app_deauthorized"}'


def deauthorized(svc: Services, account_id: str, user_id: str) -> list[int]:
    """Zoom's app_deauthorized: the user removed our app. Disconnect what they authorized; forget their data.

    Zoom's Marketplace rules: delete what the app holds of the account once it
    is removed. Forgotten: the tokens, the Zoom identity of the connection, and
    the verbatim copies of the account's webhook deliveries already applied (names,
    emails). Kept: the LMS's own records derived from them (attendance).
    """
    with svc.unit_of_work() as uow:
        connections = list(
            uow.session.scalars(
                select(ZoomConnection).where(
                    ZoomConnection.account_id == account_id,
                    ZoomConnection.kind == "oauth",
                    ZoomConnection.status != "disconnected",
                )
            )
        )
        touched = []
        for connection in connections:
            if user_id and connection.zoom_user_id and connection.zoom_user_id != user_id:
                continue
            _forget(connection)
            connection.zoom_user_email = None  # Zoom's data of that user, not ours to keep
            connection.last_error, connection.last_error_at = "the app was removed in Zoom (app_deauthorized)", utcnow()
            touched.append(connection.academy_id)
        if touched:
            uow.session.execute(
                update(InboxEvent)
                .where(InboxEvent.account_id == account_id, InboxEvent.status != "pending")
                .values(raw_body=SCRUBBED_BODY, headers={})
            )
        uow.commit()
    return touched


def zoom_client(svc: Services, connection: ZoomConnection) -> ZoomClient:
    """A client acting for a connection: its tokens (refreshed as needed) and the shared rate limiter."""
    settings = svc.settings
    limiter = RedisLimiter(svc.redis, plans={connection.account_id or "": connection.rate_plan})
    return ZoomClient(
        settings.zoom_api_base_url,
        ConnectionTokens(svc, connection.id),
        connection.account_id or "",
        limiter=limiter,
        timeout=(settings.zoom_connect_timeout, settings.zoom_read_timeout),
        observe=lambda status, category, limited: _observe_call(svc, status, category, limited),
    )


def _observe_call(svc: Services, status: int, category: str, limited: bool) -> None:
    metrics.count(svc.redis, "zoomsync_zoom_calls", status=status, category=category)
    if limited:
        metrics.count(svc.redis, "zoomsync_zoom_rate_limited", category=category)
