"""Zoom tokens and client secrets at rest: Fernet with TOKEN_ENCRYPTION_KEY, rotatable.

Several keys may be configured while rotating: the first encrypts, any decrypts,
and `reseal` re-encrypts an old value under the first key.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenBoxError(Exception):
    """No key configured, a key that is not a Fernet key, or a value no configured key can open."""


class TokenBox:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise TokenBoxError("TOKEN_ENCRYPTION_KEY is not set: Zoom tokens cannot be stored")
        try:
            self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        except (ValueError, UnicodeEncodeError) as exc:
            raise TokenBoxError("TOKEN_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes)") from exc

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise TokenBoxError("a stored Zoom secret cannot be decrypted with the configured keys") from exc

    def reseal(self, sealed: str) -> str:
        return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")
