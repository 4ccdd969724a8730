"""Zoom's OAuth server as the simulator plays it: authorization code, refresh rotation, S2S, revoke, expiry."""

from __future__ import annotations

import hashlib
import hmac
import json

import requests

from tests.simulator.conftest import SECRET, Api
from tests.simulator.integration.helpers import (
    REDIRECT_URI,
    TIMEOUT,
    account_token,
    advance_clock,
    authorize,
    code_for,
    owner_id,
    redirect_params,
    s2s_api,
    simulator,
    token_request,
    user_tokens,
)


def _me(url: str, token: str) -> requests.Response:
    return requests.get(f"{url}/v2/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)


# --- authorize -----------------------------------------------------------------------------


def test_authorize_redirects_to_redirect_uri_with_a_code_and_the_same_state(sim):
    response = authorize(sim.url, sim.sim.config.client_id, state="opaque-state-42")

    assert response.status_code == 302
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    params = redirect_params(response)
    assert params["state"] == "opaque-state-42"
    assert len(params["code"]) >= 16


def test_authorize_refuses_an_unknown_client_without_a_code(sim):
    response = authorize(sim.url, "no-such-client")

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "code=" not in response.text


def test_authorize_refuses_a_redirect_uri_the_app_does_not_allow():
    with simulator(redirect_uris=(REDIRECT_URI,)) as running:
        allowed = authorize(running.url, running.sim.config.client_id, REDIRECT_URI)
        refused = authorize(running.url, running.sim.config.client_id, "https://evil.example/steal")

    assert allowed.status_code == 302
    assert refused.status_code == 400
    assert "Location" not in refused.headers
    assert "code=" not in refused.text


# --- code exchange -------------------------------------------------------------------------


def test_code_exchange_with_basic_auth_answers_tokens_expiry_and_scope(sim):
    cfg = sim.sim.config
    code = code_for(sim.url, cfg.client_id)

    response = token_request(
        sim.url, cfg.client_id, cfg.client_secret, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == set(cfg.scopes)
    assert _me(sim.url, body["access_token"]).status_code == 200


def test_an_authorization_code_works_once(sim):
    cfg = sim.sim.config
    code = code_for(sim.url, cfg.client_id)
    values = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}

    first = token_request(sim.url, cfg.client_id, cfg.client_secret, **values)
    again = token_request(sim.url, cfg.client_id, cfg.client_secret, **values)

    assert first.status_code == 200
    assert again.status_code == 400
    assert "access_token" not in again.json()


def test_code_exchange_with_another_redirect_uri_is_refused(sim):
    cfg = sim.sim.config
    code = code_for(sim.url, cfg.client_id)

    response = token_request(
        sim.url,
        cfg.client_id,
        cfg.client_secret,
        grant_type="authorization_code",
        code=code,
        redirect_uri="https://lms.example/other",
    )

    assert response.status_code == 400
    assert "access_token" not in response.json()


def test_an_authorization_code_expires_after_its_ttl(sim):
    cfg = sim.sim.config
    code = code_for(sim.url, cfg.client_id)

    advance_clock(sim, cfg.code_ttl + 1)
    response = token_request(
        sim.url, cfg.client_id, cfg.client_secret, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )

    assert response.status_code == 400
    assert "access_token" not in response.json()


def test_a_bad_client_secret_is_401_invalid_client(sim):
    cfg = sim.sim.config
    code = code_for(sim.url, cfg.client_id)

    response = token_request(
        sim.url, cfg.client_id, "wrong-secret", grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "access_token" not in response.json()


# --- refresh -------------------------------------------------------------------------------


def test_refresh_rotates_the_refresh_token_and_the_new_access_token_works(sim):
    cfg = sim.sim.config
    first = user_tokens(sim)

    refreshed = token_request(
        sim.url, cfg.client_id, cfg.client_secret, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]

    reused = token_request(
        sim.url, cfg.client_id, cfg.client_secret, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert reused.status_code == 400
    assert "access_token" not in reused.json()

    me = _me(sim.url, second["access_token"])
    assert me.status_code == 200
    assert me.json()["id"] == owner_id(sim)

    third = token_request(
        sim.url, cfg.client_id, cfg.client_secret, grant_type="refresh_token", refresh_token=second["refresh_token"]
    )
    assert third.status_code == 200
    assert third.json()["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


# --- Server-to-Server ------------------------------------------------------------------------


def test_account_credentials_give_a_token_without_a_refresh_token(sim):
    cfg = sim.sim.config

    response = account_token(sim, cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"]
    assert "refresh_token" not in body
    assert _me(sim.url, body["access_token"]).status_code == 200


def test_account_credentials_for_another_account_are_refused(sim):
    cfg = sim.sim.config

    response = account_token(sim, cfg.s2s_client_id, cfg.s2s_client_secret, "some-other-account")

    assert response.status_code == 400
    assert "access_token" not in response.json()


def test_two_server_to_server_tokens_are_valid_at_once(sim):
    cfg = sim.sim.config
    one = account_token(sim, cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id).json()["access_token"]
    two = account_token(sim, cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id).json()["access_token"]

    assert one != two
    assert _me(sim.url, one).status_code == 200
    assert _me(sim.url, two).status_code == 200


# --- revoke, expiry, unknown tokens ----------------------------------------------------------


def test_revoke_kills_the_access_token_and_the_refresh_token(sim):
    cfg = sim.sim.config
    tokens = user_tokens(sim)
    assert _me(sim.url, tokens["access_token"]).status_code == 200

    revoked = requests.post(
        f"{sim.url}/oauth/revoke",
        params={"token": tokens["access_token"]},
        auth=(cfg.client_id, cfg.client_secret),
        timeout=TIMEOUT,
    )

    assert revoked.status_code == 200
    after = _me(sim.url, tokens["access_token"])
    assert after.status_code == 401
    assert after.json()["code"] == 124
    refresh = token_request(
        sim.url, cfg.client_id, cfg.client_secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refresh.status_code == 400


def test_an_expired_access_token_is_401_code_124():
    with simulator(token_ttl=1) as running:
        api = s2s_api(running)
        assert api("GET", "/users/me").status_code == 200

        advance_clock(running, 5)
        response = api("GET", "/users/me")

    assert response.status_code == 401
    assert response.json() == {"code": 124, "message": "Access token has expired."}


def test_expiring_tokens_by_lever_makes_them_401_but_refresh_still_works(sim, control):
    cfg = sim.sim.config
    tokens = user_tokens(sim)

    control.call("POST", "/tokens/expire")

    response = _me(sim.url, tokens["access_token"])
    assert response.status_code == 401
    assert response.json()["code"] == 124
    refreshed = token_request(
        sim.url, cfg.client_id, cfg.client_secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 200
    assert _me(sim.url, refreshed.json()["access_token"]).status_code == 200


def test_an_unknown_token_is_401_invalid_access_token(sim, api: Api):
    response = api("GET", "/users/me", token="not-a-token-zoom-ever-issued")

    assert response.status_code == 401
    assert response.json() == {"code": 124, "message": "Invalid access token."}


def test_a_request_without_a_token_is_401_code_124(sim):
    response = requests.get(f"{sim.url}/v2/users/me", timeout=TIMEOUT)

    assert response.status_code == 401
    assert response.json()["code"] == 124


# --- deauthorization -------------------------------------------------------------------------


def test_deauthorize_sends_a_signed_app_deauthorized_webhook_and_kills_the_tokens(sim, control, receiver):
    cfg = sim.sim.config
    tokens = user_tokens(sim)
    owner = owner_id(sim)

    control.call("POST", "/deauthorize", {"user_id": owner})
    assert control.wait_for_webhooks(timeout=10)

    with receiver.lock:
        received = list(receiver.received)
    deauthorized = [item for item in received if json.loads(item["body"])["event"] == "app_deauthorized"]
    assert len(deauthorized) == 1
    body = json.loads(deauthorized[0]["body"])
    assert body["payload"]["user_id"] == owner
    assert body["payload"]["account_id"] == cfg.account_id
    assert body["payload"]["client_id"] == cfg.client_id
    headers = {k.lower(): v for k, v in deauthorized[0]["headers"].items()}
    message = f"v0:{headers['x-zm-request-timestamp']}:".encode() + deauthorized[0]["body"]
    assert headers["x-zm-signature"] == "v0=" + hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert _me(sim.url, tokens["access_token"]).status_code == 401
