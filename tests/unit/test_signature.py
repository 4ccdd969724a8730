"""webhook/signature.py: Zoom's `x-zm-signature` and url_validation token, checked against hmac computed here."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pytest

from webhook.signature import SignatureError, Verified, encrypt_token, sign, verify

SECRET = "unit-test-secret"
OTHER_SECRET = "another-secret"
NOW = 1_700_000_000
MAX_AGE = 300
MAX_FUTURE = 60
# Zoom's x-zm-signature: "v0=" and the HMAC-SHA256 as 64 lowercase hex digits.
SIGNATURE_FORMAT = re.compile(r"v0=[0-9a-f]{64}")
BODY = b'{"event":"meeting.started","payload":{"object":{"id":"123"}},"event_ts":1700000000000}'


def expected_signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    """Zoom's algorithm, written out independently of the product code."""
    message = f"v0:{timestamp}:".encode() + raw_body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check(
    signature: str | None,
    timestamp: str | None = str(NOW),
    raw_body: bytes = BODY,
    secrets=(SECRET,),
    now: float = NOW,
) -> Verified:
    return verify(list(secrets), timestamp, signature, raw_body, now=now, max_age=MAX_AGE, max_future=MAX_FUTURE)


def good(timestamp: str = str(NOW), raw_body: bytes = BODY, secret: str = SECRET) -> str:
    return expected_signature(secret, timestamp, raw_body)


# --- sign / encrypt_token ---------------------------------------------------------------


def test_sign_matches_independent_hmac():
    assert sign(SECRET, "1626230692", BODY) == expected_signature(SECRET, "1626230692", BODY)


def test_sign_is_v0_and_64_lowercase_hex_digits_of_the_hmac():
    value = sign(SECRET, str(NOW), BODY)
    assert SIGNATURE_FORMAT.fullmatch(value), value
    assert value == expected_signature(SECRET, str(NOW), BODY)
    # the same, worked out once with hmac over b"v0:1700000000:" + BODY: a known answer, whatever either code does
    assert value == "v0=42ef31b8562847c0faef80a3560c8af84aa186debfadf444a85c7c767f78fbed"


@pytest.mark.parametrize(
    "raw_body", [b"", BODY, "Über 🚀".encode(), bytes(range(256))], ids=["empty", "json", "utf8", "bytes"]
)
def test_every_signature_has_zooms_format(raw_body):
    for secret, timestamp in ((SECRET, str(NOW)), ("clé-секрет", "0"), ("x", "9" * 12)):
        value = sign(secret, timestamp, raw_body)
        assert SIGNATURE_FORMAT.fullmatch(value), value
        assert value == expected_signature(secret, timestamp, raw_body)


def test_sign_depends_on_secret_timestamp_and_body():
    base = sign(SECRET, str(NOW), BODY)
    assert sign(OTHER_SECRET, str(NOW), BODY) != base
    assert sign(SECRET, str(NOW + 1), BODY) != base
    assert sign(SECRET, str(NOW), BODY + b" ") != base


def test_sign_with_non_ascii_secret_uses_utf8_key():
    secret = "clé-секрет"
    assert sign(secret, str(NOW), BODY) == expected_signature(secret, str(NOW), BODY)


def test_encrypt_token_matches_independent_hmac():
    plain = "qgg8vlvZRS6UYooatFL8Aw"
    expected = hmac.new(SECRET.encode(), plain.encode(), hashlib.sha256).hexdigest()
    assert encrypt_token(SECRET, plain) == expected
    assert not encrypt_token(SECRET, plain).startswith("v0=")


def test_encrypt_token_depends_on_secret_and_token():
    assert encrypt_token(SECRET, "abc") != encrypt_token(OTHER_SECRET, "abc")
    assert encrypt_token(SECRET, "abc") != encrypt_token(SECRET, "abd")


# --- verify: accepted -------------------------------------------------------------------


def test_verify_accepts_correct_signature():
    result = check(good())
    assert result == Verified(secret=SECRET, timestamp=NOW)
    assert isinstance(result.timestamp, int)


def test_verify_accepts_float_now():
    assert check(good(), now=NOW + 0.75).timestamp == NOW


# --- verify: refused --------------------------------------------------------------------


def refused(reason_fragment: str, **kwargs) -> None:
    with pytest.raises(SignatureError) as info:
        check(**kwargs)
    assert reason_fragment in str(info.value)


def test_verify_rejects_wrong_signature():
    refused("does not match", signature="v0=" + "0" * 64)


def test_verify_rejects_signature_without_prefix():
    refused("does not match", signature=good()[len("v0=") :])


def test_verify_rejects_uppercase_hex():
    refused("does not match", signature="v0=" + good()[3:].upper())


def test_verify_rejects_signature_made_with_another_secret():
    refused("does not match", signature=good(secret=OTHER_SECRET))


def test_verify_rejects_signature_for_another_timestamp():
    refused("does not match", signature=good(timestamp=str(NOW - 1)), timestamp=str(NOW))


def test_verify_rejects_non_ascii_signature_without_crashing():
    refused("does not match", signature="v0=é" + good()[4:])


@pytest.mark.parametrize("position", [0, len(BODY) // 2, len(BODY) - 1], ids=["first", "middle", "last"])
def test_verify_rejects_body_with_one_byte_changed(position):
    tampered = bytearray(BODY)
    tampered[position] ^= 0x01
    assert bytes(tampered) != BODY
    refused("does not match", signature=good(), raw_body=bytes(tampered))


def test_verify_rejects_body_with_a_byte_appended():
    refused("does not match", signature=good(), raw_body=BODY + b"\n")


@pytest.mark.parametrize(
    "timestamp, signature",
    [(None, "v0=x"), ("", "v0=x"), (str(NOW), None), (str(NOW), ""), (None, None)],
    ids=["no-timestamp", "empty-timestamp", "no-signature", "empty-signature", "neither"],
)
def test_verify_rejects_missing_headers(timestamp, signature):
    refused("missing", timestamp=timestamp, signature=signature)


@pytest.mark.parametrize(
    "timestamp",
    ["abc", "1700000000.5", "-1700000000", "+1700000000", " 1700000000", "1700000000 ", "1e9", "١٧٠٠٠٠٠٠٠٠", "0x10"],
    ids=["letters", "decimal", "negative", "plus", "leading-space", "trailing-space", "exponent", "arabic", "hex"],
)
def test_verify_rejects_non_digit_timestamp(timestamp):
    # signed correctly over that very timestamp string: refusal must come from the format check
    refused("not a Unix time", timestamp=timestamp, signature=good(timestamp=timestamp))


def test_verify_rejects_timestamp_older_than_max_age():
    ts = str(NOW - MAX_AGE - 1)
    refused("too old", timestamp=ts, signature=good(timestamp=ts))


def test_verify_rejects_timestamp_far_in_the_past():
    ts = "0"
    refused("too old", timestamp=ts, signature=good(timestamp=ts))


def test_verify_rejects_timestamp_too_far_in_future():
    ts = str(NOW + MAX_FUTURE + 1)
    refused("future", timestamp=ts, signature=good(timestamp=ts))


def test_verify_rejects_huge_timestamp():
    ts = "9" * 40
    refused("not a Unix time", timestamp=ts, signature=good(timestamp=ts))


def test_verify_refuses_a_timestamp_too_long_to_parse_without_crashing():
    # Python refuses int() of more than 4300 digits: that must be a 401, not a 500
    refused("not a Unix time", timestamp="1" * 5000, signature="v0=" + "0" * 64)


def test_verify_checks_time_window_before_hmac_even_for_a_bad_signature():
    # an out-of-window timestamp is refused for that reason whatever the signature
    refused("too old", timestamp=str(NOW - MAX_AGE - 1), signature="v0=" + "0" * 64)


def test_verify_accepts_timestamp_exactly_max_age_old():
    # the window is inclusive: ts == now - max_age passes, one second more does not
    ts = str(NOW - MAX_AGE)
    assert check(good(timestamp=ts), timestamp=ts).timestamp == NOW - MAX_AGE


def test_verify_accepts_timestamp_exactly_max_future_ahead():
    ts = str(NOW + MAX_FUTURE)
    assert check(good(timestamp=ts), timestamp=ts).timestamp == NOW + MAX_FUTURE


def test_verify_fractional_now_at_the_old_edge():
    # ts < now - max_age is refused: with now = NOW + 0.5 the ts NOW - MAX_AGE is half a second too old
    ts = str(NOW - MAX_AGE)
    with pytest.raises(SignatureError, match="too old"):
        check(good(timestamp=ts), timestamp=ts, now=NOW + 0.5)


def test_verify_fractional_now_at_the_future_edge():
    ts = str(NOW + MAX_FUTURE)
    with pytest.raises(SignatureError, match="future"):
        check(good(timestamp=ts), timestamp=ts, now=NOW - 0.5)


def test_verify_with_zero_window_accepts_only_now():
    ts = str(NOW)
    assert verify([SECRET], ts, good(timestamp=ts), BODY, now=NOW, max_age=0, max_future=0).timestamp == NOW
    for other in (NOW - 1, NOW + 1):
        with pytest.raises(SignatureError):
            verify([SECRET], str(other), good(timestamp=str(other)), BODY, now=NOW, max_age=0, max_future=0)


@pytest.mark.parametrize("secrets", [[], ()], ids=["list", "tuple"])
def test_verify_rejects_when_no_secret_configured(secrets):
    with pytest.raises(SignatureError, match="cannot be verified"):
        verify(secrets, str(NOW), good(), BODY, now=NOW, max_age=MAX_AGE, max_future=MAX_FUTURE)


# --- rotation ---------------------------------------------------------------------------


def test_rotation_accepts_old_and_new_secret_and_says_which_matched():
    old, new = "old-secret", "new-secret"
    assert check(good(secret=old), secrets=(old, new)).secret == old
    assert check(good(secret=new), secrets=(old, new)).secret == new
    assert check(good(secret=old), secrets=(new, old)).secret == old
    assert check(good(secret=new), secrets=(new, old)).secret == new


def test_rotation_rejects_a_secret_not_in_the_list():
    refused("does not match", signature=good(secret="third"), secrets=("old-secret", "new-secret"))


def test_rotation_with_the_same_secret_twice_returns_it():
    assert check(good(), secrets=(SECRET, SECRET)).secret == SECRET


def test_rotation_with_many_secrets_finds_the_last():
    secrets = [f"s{i}" for i in range(10)]
    assert check(good(secret="s9"), secrets=secrets).secret == "s9"


# --- raw bytes, not re-serialised JSON --------------------------------------------------


def test_non_ascii_body_verified_against_raw_bytes_not_reserialised_json():
    raw = '{"event":"meeting.updated","payload":{"object":{"id":1,"topic":"Nouveau cours – Über 🚀"}}}'.encode()
    assert not raw.isascii()
    signature = good(raw_body=raw)
    assert check(signature, raw_body=raw).secret == SECRET

    reserialised = json.dumps(json.loads(raw)).encode("utf-8")
    assert reserialised != raw  # json.dumps defaults: spaces after separators, \\u escapes
    assert b"\\u" in reserialised
    with pytest.raises(SignatureError, match="does not match"):
        check(signature, raw_body=reserialised)


def test_ascii_body_with_different_spacing_does_not_verify():
    reserialised = json.dumps(json.loads(BODY)).encode()
    assert reserialised != BODY
    with pytest.raises(SignatureError):
        check(good(), raw_body=reserialised)


def test_empty_body_can_be_signed_and_verified():
    assert check(good(raw_body=b""), raw_body=b"").timestamp == NOW
