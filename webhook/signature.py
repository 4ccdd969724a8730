"""Zoom webhook signatures (pure: no I/O, no clock of its own).

Zoom signs ``v0:{x-zm-request-timestamp}:{raw body}`` with HMAC-SHA256 keyed by
the event subscription's secret token. We hash the raw bytes we received:
re-serialising a parsed body gives other bytes (key order, escaping, non-ASCII).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

PREFIX = "v0="


class SignatureError(Exception):
    """The request is not provably from Zoom; the message says why (safe to return)."""


def sign(secret: str, timestamp: str, raw_body: bytes) -> str:
    message = b"v0:" + timestamp.encode("ascii") + b":" + raw_body
    return PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def encrypt_token(secret: str, plain_token: str) -> str:
    """The `encryptedToken` of Zoom's endpoint.url_validation challenge.

    "surrogatepass": a lone "\\ud800" escape is valid JSON; a signed challenge carrying one gets an answer, not a 500.
    """
    token = plain_token.encode("utf-8", "surrogatepass")
    return hmac.new(secret.encode("utf-8"), token, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Verified:
    secret: str  # the token that matched: url_validation must answer with the same one
    timestamp: int


def verify(
    secrets: Sequence[str],
    timestamp: str | None,
    signature: str | None,
    raw_body: bytes,
    now: float,
    max_age: int,
    max_future: int,
) -> Verified:
    """Return which secret signed the request, or raise SignatureError.

    Several secrets may be configured so a token can be rotated without downtime.
    Every candidate is compared in constant time; a timestamp outside
    [now - max_age, now + max_future] is refused even when the HMAC matches.
    """
    if not secrets:
        raise SignatureError("signature cannot be verified")  # unconfigured: tell callers nothing more
    if not timestamp or not signature:
        raise SignatureError("missing x-zm-request-timestamp or x-zm-signature header")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError("x-zm-request-timestamp is not a Unix time in seconds")
    ts = int(timestamp)
    if ts < now - max_age:
        raise SignatureError("x-zm-request-timestamp is too old")
    if ts > now + max_future:
        raise SignatureError("x-zm-request-timestamp is in the future")
    given = signature.encode("utf-8", "replace")
    matched = None
    for secret in secrets:
        expected = sign(secret, timestamp, raw_body).encode("ascii")
        if hmac.compare_digest(expected, given) and matched is None:
            matched = secret
    if matched is None:
        raise SignatureError("signature does not match")
    return Verified(secret=matched, timestamp=ts)
