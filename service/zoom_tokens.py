"""Access tokens of a Zoom connection: decrypted when fresh, refreshed shortly before they expire.

Refresh tokens rotate: the answer to a refresh holds the next one and the one
used is dead. Two workers refreshing at once would lose one of the answers, so a
refresh happens under a Redis lock per connection, the connection is read again
inside it (another worker may have refreshed while we waited), and the new
tokens are committed before the lock is released.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select

from models import ZoomConnection, utcnow
from service import metrics
from service.broker import held
from service.services import Services
from service.token_box import TokenBox
from zoomapi.errors import ZoomUnavailable
from zoomapi.oauth import OAuthClient, OAuthRefused, TokenSet

# Refresh this long before Zoom's expiry, so no call goes out with a token about to die.
REFRESH_MARGIN = timedelta(minutes=2)
LOCK_TIMEOUT = 60
LOCK_WAIT = 30  # seconds a token's user waits for a refresh under way (one OAuth call, its timeouts)
RENEWAL_GRACE_SECONDS = 3.0


class ConnectionBroken(Exception):
    """The connection cannot get a token without an admin (refused refresh, disconnected)."""


def oauth_client(svc: Services, connection: ZoomConnection | None = None) -> OAuthClient:
    """The service's own OAuth app, or a Server-to-Server connection's credentials."""
    settings = svc.settings
    timeout = (settings.zoom_connect_timeout, settings.zoom_read_timeout)
    if connection is not None and connection.kind == "server_to_server":
        secret = TokenBox(settings.token_encryption_keys).open(connection.client_secret_sealed or "")
        return OAuthClient(settings.zoom_oauth_base_url, connection.client_id or "", secret, timeout=timeout)
    return OAuthClient(
        settings.zoom_oauth_base_url, settings.zoom_client_id, settings.zoom_client_secret, timeout=timeout
    )


def store_tokens(box: TokenBox, connection: ZoomConnection, tokens: TokenSet) -> None:
    connection.access_token_sealed = box.seal(tokens.access_token)
    if tokens.refresh_token:
        connection.refresh_token_sealed = box.seal(tokens.refresh_token)
    connection.token_expires_at = tokens.expires_at
    connection.token_version = (connection.token_version or 0) + 1
    if tokens.scopes:
        connection.scopes = " ".join(tokens.scopes)


def _fresh(connection: ZoomConnection) -> bool:
    expires = connection.token_expires_at
    return bool(connection.access_token_sealed) and expires is not None and expires - REFRESH_MARGIN > utcnow()


def token_state(connection: ZoomConnection, now: datetime) -> str:
    """The stored access token as the admin reads it, without asking Zoom (the overview, the doctor's rows)."""
    expires = connection.token_expires_at
    if expires is None:
        return "none"
    return "valid" if expires > now else "expired (renewed at the next call)"


def _usable(connection: ZoomConnection | None, connection_id: int) -> ZoomConnection:
    if connection is None or connection.status == "disconnected" or not connection.access_token_sealed:
        raise ConnectionBroken(f"Zoom connection {connection_id} is disconnected")
    return connection


def token_lock(svc: Services, connection_id: int) -> AbstractContextManager[bool]:
    """Held by whoever replaces or forgets a connection's tokens: a refresh, a reconnect, a disconnect.

    Waits up to LOCK_WAIT seconds for a refresh under way; not got, or Redis unreachable: ZoomUnavailable.
    """
    key = f"zoomsync:zoom-token:{connection_id}"
    return held(svc.redis, key, timeout=LOCK_TIMEOUT, wait=LOCK_WAIT, refused=_token_lock_refused)


def _token_lock_refused(error: RedisError | None) -> ZoomUnavailable:
    if error is not None:
        return ZoomUnavailable(None, None, f"cannot lock the connection's tokens: {error}")
    return ZoomUnavailable(None, None, "another worker is still renewing this connection's token")


def access_token(svc: Services, connection_id: int, refused: str | None = None) -> str:
    """A token to call Zoom with. `refused`: the token Zoom just answered 401 to, which must not come back.

    No database transaction stays open while Zoom's OAuth server is asked: the
    new tokens are written only if the connection was not disconnected or
    renewed by someone else meanwhile (`token_version`).
    """
    box = TokenBox(svc.settings.token_encryption_keys)
    with svc.unit_of_work() as uow:
        connection = _usable(uow.session.get(ZoomConnection, connection_id), connection_id)
        if refused is None and _fresh(connection):
            return box.open(connection.access_token_sealed or "")
    with token_lock(svc, connection_id):
        with svc.unit_of_work() as uow:
            connection = _usable(uow.session.get(ZoomConnection, connection_id), connection_id)
            current = box.open(connection.access_token_sealed or "")
            if _fresh(connection) and current != refused:
                return current  # another worker refreshed while we waited for the lock
            version = connection.token_version
            uow.session.expunge(connection)
        try:
            tokens = _new_tokens(svc, connection, box)
        except OAuthRefused as exc:
            metrics.count(svc.redis, "zoomsync_token_refreshes", outcome="refused")
            reason = f"Zoom refused to renew the token ({exc.error}: {exc.reason}); reconnect"
            renewed = _await_renewal(svc, box, connection_id, version)
            if renewed is not None:
                return renewed  # our refresh token had just been used by a worker that renewed
            with svc.unit_of_work() as uow:
                stored = uow.session.get(ZoomConnection, connection_id)
                if stored.token_version == version and stored.status != "disconnected":
                    stored.status, stored.last_error, stored.last_error_at = "error", reason, utcnow()
                    uow.commit()
            raise ConnectionBroken(reason) from exc
        with svc.unit_of_work() as uow:
            stored = uow.session.get(ZoomConnection, connection_id)
            if stored.status == "disconnected":
                raise ConnectionBroken(f"Zoom connection {connection_id} was disconnected while its token was renewed")
            renewed = _renewed_meanwhile(box, stored, version)
            if renewed is not None:
                return renewed  # theirs is stored; ours (a second valid token) is simply not used
            store_tokens(box, stored, tokens)
            stored.status = "connected"
            uow.commit()
        metrics.count(svc.redis, "zoomsync_token_refreshes", outcome="renewed")
        return tokens.access_token


def _renewed_meanwhile(box: TokenBox, stored: ZoomConnection, version: int) -> str | None:
    """The token another worker stored while we renewed, if one did and it is usable: the lock is a Redis key,
    and a Redis that restarts empty lets a second worker in. That is no broken connection: theirs stands."""
    if stored.token_version == version or stored.status != "connected" or not _fresh(stored):
        return None
    return box.open(stored.access_token_sealed or "")


def _await_renewal(svc: Services, box: TokenBox, connection_id: int, version: int) -> str | None:
    """After a refused refresh, a moment's wait for a renewal under way elsewhere (whose refresh made ours dead)
    before the connection is declared broken: a refused refresh is rare, a wrong "reconnect" costly."""
    deadline = time.monotonic() + RENEWAL_GRACE_SECONDS
    while True:
        with svc.unit_of_work() as uow:
            renewed = _renewed_meanwhile(box, uow.session.get(ZoomConnection, connection_id), version)
        if renewed is not None or time.monotonic() >= deadline:
            return renewed
        time.sleep(0.1)


def _new_tokens(svc: Services, connection: ZoomConnection, box: TokenBox) -> TokenSet:
    client = oauth_client(svc, connection)
    if connection.kind == "server_to_server":
        return client.account_token(connection.account_id or "")
    return client.refresh(box.open(connection.refresh_token_sealed or ""))


class ConnectionTokens:
    """The token source a ZoomClient calls: `tokens(refresh)`; a refresh replaces the token last handed out."""

    def __init__(self, svc: Services, connection_id: int) -> None:
        self.svc, self.connection_id = svc, connection_id
        self.last: str | None = None

    def __call__(self, refresh: bool) -> str:
        self.last = access_token(self.svc, self.connection_id, refused=self.last if refresh else None)
        return self.last


SEALED_FIELDS = ("access_token_sealed", "refresh_token_sealed", "client_secret_sealed")


def reseal_all(svc: Services) -> int:
    """Every stored Zoom secret sealed again under the first TOKEN_ENCRYPTION_KEY; returns how many connections.

    The step of a key rotation after the new key is listed first: once it has run, the old key can go.
    Each connection is re-read under its token lock, so a refresh running meanwhile is never overwritten.
    """
    box = TokenBox(svc.settings.token_encryption_keys)
    with svc.unit_of_work() as uow:
        ids = list(uow.session.scalars(select(ZoomConnection.id).order_by(ZoomConnection.id)))
    for connection_id in ids:
        with token_lock(svc, connection_id), svc.unit_of_work() as uow:
            connection = uow.session.get(ZoomConnection, connection_id)
            for name in SEALED_FIELDS:
                if getattr(connection, name):
                    setattr(connection, name, box.reseal(getattr(connection, name)))
            uow.commit()
    return len(ids)
