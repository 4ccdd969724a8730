"""The doctor's settings checks (pure): each problem of the environment is its own row, with its fix."""

from __future__ import annotations

import pytest

from config import load_settings
from service import doctor
from tests.helpers import TOKEN_KEY

GOOD = {
    "ZOOM_WEBHOOK_SECRET_TOKEN": "s3cret",
    "API_TOKEN": "t0ken",
    "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
    "SECRET_KEY": "k3y",
    "ADMIN_USERNAME": "admin",
    "ADMIN_PASSWORD": "pw",
}


def _rows(**env: str) -> dict[str, doctor.Check]:
    settings = load_settings({**GOOD, **env}, database_url="sqlite://", redis_url="redis://x")
    return {check.name: check for check in doctor.settings_checks(settings)}


def test_a_complete_environment_is_all_ok():
    rows = _rows()
    assert {name: check.status for name, check in rows.items()} == dict.fromkeys(rows, "ok")
    assert not doctor.failed(rows.values())


@pytest.mark.parametrize(
    ("variable", "row", "status", "fix", "also"),
    [
        ("ZOOM_WEBHOOK_SECRET_TOKEN", "webhook secret", "fail", "ZOOM_WEBHOOK_SECRET_TOKEN", []),
        ("API_TOKEN", "LMS API token", "fail", "API_TOKEN", []),
        ("TOKEN_ENCRYPTION_KEY", "token encryption key", "fail", "Fernet", []),
        ("SECRET_KEY", "secret key", "warn", "SECRET_KEY", ["admin login"]),  # the admin login needs it too
        ("ADMIN_PASSWORD", "admin login", "warn", "ADMIN_PASSWORD", []),
    ],
)
def test_each_missing_setting_is_named_with_its_fix(variable, row, status, fix, also):
    rows = _rows(**{variable: ""})
    assert rows[row].status == status
    assert fix in rows[row].fix
    assert [name for name, check in rows.items() if check.status != "ok"] == sorted([row, *also], key=list(rows).index)


def test_a_token_key_that_is_no_fernet_key_fails():
    check = _rows(TOKEN_ENCRYPTION_KEY="not-a-key")["token encryption key"]
    assert check.status == "fail" and "Fernet" in check.detail


def test_rotating_token_keys_are_ok_and_said():
    check = _rows(TOKEN_ENCRYPTION_KEY=f"{TOKEN_KEY},{TOKEN_KEY}")["token encryption key"]
    assert check.status == "ok" and "rotating" in check.detail


@pytest.mark.parametrize("variable", ["ZOOM_API_BASE_URL", "ZOOM_OAUTH_BASE_URL", "ZOOM_REDIRECT_URL"])
def test_a_url_that_is_not_absolute_http_fails_naming_the_setting(variable):
    check = _rows(**{variable: "api.zoom.us/v2"})["URLs"]
    assert check.status == "fail" and variable in check.detail


def test_the_table_prints_a_fix_only_under_rows_that_are_not_ok():
    checks = [doctor.Check("a", "ok", "fine", "never shown"), doctor.Check("bee", "fail", "broken", "mend it")]
    assert doctor.table(checks).splitlines() == [
        "OK    a    fine",
        "FAIL  bee  broken",
        "           fix: mend it",
    ]
    assert doctor.failed(checks)
    assert not doctor.failed([doctor.Check("a", "warn", "look")])  # a warning never fails a deployment
