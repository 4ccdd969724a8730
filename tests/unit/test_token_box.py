"""Zoom secrets at rest: sealed, opened, rotated; a wrong or missing key is a clear error."""

import pytest

from service.token_box import TokenBox, TokenBoxError, new_key


def test_seal_hides_the_value_and_open_gives_it_back():
    box = TokenBox([new_key()])
    sealed = box.seal("eyJ-a-zoom-token")
    assert "eyJ" not in sealed and box.open(sealed) == "eyJ-a-zoom-token"


def test_rotation_old_values_open_with_the_old_key_and_reseal_under_the_new():
    old, new = new_key(), new_key()
    sealed = TokenBox([old]).seal("secret")
    rotating = TokenBox([new, old])
    assert rotating.open(sealed) == "secret"
    resealed = rotating.reseal(sealed)
    assert TokenBox([new]).open(resealed) == "secret"
    with pytest.raises(TokenBoxError):
        TokenBox([new]).open(sealed)


def test_no_key_and_a_bad_key_are_clear_errors():
    with pytest.raises(TokenBoxError, match="TOKEN_ENCRYPTION_KEY is not set"):
        TokenBox([])
    with pytest.raises(TokenBoxError, match="Fernet keys"):
        TokenBox(["not-a-key"])
