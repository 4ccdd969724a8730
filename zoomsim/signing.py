"""How Zoom signs what it sends (pure), written from Zoom's "Using webhooks" page.

`x-zm-signature` is `v0=` + hex HMAC-SHA256, keyed by the event subscription's
secret token, of `v0:{x-zm-request-timestamp}:{raw body}`; the url_validation
answer's `encryptedToken` is hex HMAC-SHA256 of the plainToken with the same key.
The simulator keeps its own copy rather than importing the service's: a double
that shares the code under test cannot catch that code's mistakes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), b"v0:%s:%s" % (timestamp.encode(), body), hashlib.sha256)
    return "v0=" + digest.hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: str | None = None) -> dict[str, str]:
    """The headers every Zoom delivery carries, signed for this body at this time (default: now)."""
    timestamp = timestamp or str(int(time.time()))
    return {
        "content-type": "application/json; charset=utf-8",
        "user-agent": "Zoom Marketplace/1.0a",
        "x-zm-request-timestamp": timestamp,
        "x-zm-signature": signature(secret, timestamp, body),
        "x-zm-trackingid": "v=2.0;clid=aw1;rid=" + secrets.token_hex(8),
        "x-zm-request-id": str(uuid.uuid4()).replace("-", "_"),
    }


def encrypted_token(secret: str, plain_token: str) -> str:
    return hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
