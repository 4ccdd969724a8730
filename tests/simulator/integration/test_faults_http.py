"""Injected faults as a client meets them over HTTP, and the request log that records them."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from tests.simulator.conftest import Api
from tests.simulator.integration.helpers import (
    REDIRECT_URI,
    TIMEOUT,
    account_token,
    code_for,
    create_meeting,
    token_request,
)


def _fault(control, **fault) -> dict:
    return control.fault(**fault)


def _log(sim) -> list[dict]:
    response = requests.get(f"{sim.url}/_sim/requests", timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()["items"]


def _wait_logged(sim, path: str, count: int, timeout: float = 10.0) -> list[dict]:
    """The log rows for `path` once `count` of them are there (a slowed request is logged when it finishes)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [r for r in _log(sim) if r["path"] == path]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


# --- error statuses ----------------------------------------------------------------------------


def test_a_counted_503_fault_fails_that_many_requests_with_a_gateway_page_then_stops(sim, api: Api, control):
    _fault(control, kind="status", status=503, count=2)

    answers = [api("GET", "/users/me") for _ in range(3)]

    assert [a.status_code for a in answers] == [503, 503, 200]
    for refused in answers[:2]:
        assert refused.headers["Content-Type"].startswith("text/html")
        assert "<html>" in refused.text
        assert "503" in refused.text
    assert answers[2].json()["id"]
    assert control.call("GET", "/faults")["items"] == []


@pytest.mark.parametrize("status", [502, 504])
def test_502_and_504_faults_answer_html_like_a_gateway(sim, api: Api, control, status):
    _fault(control, kind="status", status=status, count=1)

    response = api("GET", "/users/me")

    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert str(status) in response.text
    with pytest.raises(ValueError):
        response.json()


def test_a_500_fault_answers_zoom_style_json(sim, api: Api, control):
    _fault(control, kind="status", status=500, count=1)

    response = api("GET", "/users/me")

    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["code"] == 500


# --- dropped connections and latency ---------------------------------------------------------------


def test_a_drop_fault_closes_the_connection_without_an_answer(sim, api: Api, control):
    _fault(control, kind="drop", count=1)

    with pytest.raises(requests.ConnectionError):
        api("GET", "/users/me")

    assert api("GET", "/users/me").status_code == 200


def test_a_dropped_request_whose_body_comes_late_is_logged_as_dropped_with_its_body(sim, api: Api, control):
    """The body arrives after the headers (a loaded client): the drop must not read it from a closed socket."""
    _fault(control, kind="drop", count=1, method="PATCH")
    body = json.dumps({"duration": 45}).encode()
    host, port = sim.url.removeprefix("http://").split(":")
    head = (
        f"PATCH /v2/meetings/81234567890 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(head)
        time.sleep(0.3)  # the server has the headers, and decides on the fault, before the body is there
        conn.sendall(body)
        assert conn.recv(1024) == b""  # closed without an answer

    [row] = _wait_logged(sim, "/v2/meetings/81234567890", 1)
    assert (row["status"], row["fault"], row["body"]) == (None, True, {"duration": 45})
    assert sim.sim.errors == []


def test_latency_longer_than_the_client_read_timeout_is_a_timeout(sim, api: Api, control):
    _fault(control, kind="latency", latency=0.6, count=1, path="^/v2/users/me$")

    with pytest.raises(requests.Timeout):
        requests.get(f"{sim.url}/v2/users/me", headers={"Authorization": f"Bearer {api.token}"}, timeout=0.2)

    slowed = _wait_logged(sim, "/v2/users/me", 1)  # let the slowed request finish before the next test
    assert [row["fault"] for row in slowed] == [True]
    assert api("GET", "/users/me").status_code == 200


# --- which requests a fault hits -------------------------------------------------------------------


def test_a_path_filter_only_hits_matching_paths(sim, api: Api, control):
    meeting = create_meeting(api)
    _fault(control, kind="status", status=503, path=r"^/v2/meetings/\d+$")

    assert api("GET", f"/meetings/{meeting['id']}").status_code == 503
    assert api("GET", f"/meetings/{meeting['id']}").status_code == 503
    assert api("GET", "/users/me").status_code == 200
    assert api("GET", f"/meetings/{meeting['id']}/registrants").status_code != 503

    control.clear_faults()
    assert api("GET", f"/meetings/{meeting['id']}").status_code == 200


def test_share_one_hits_every_request_and_share_zero_none(sim, api: Api, control):
    _fault(control, kind="status", status=503, share=1.0)
    everything = [api("GET", "/users/me").status_code for _ in range(5)]
    control.clear_faults()
    _fault(control, kind="status", status=503, share=0.0)
    nothing = [api("GET", "/users/me").status_code for _ in range(5)]

    assert everything == [503] * 5
    assert nothing == [200] * 5


def test_faults_also_hit_the_oauth_token_endpoint(sim, control):
    cfg = sim.sim.config
    _fault(control, kind="status", status=503, count=1, path="^/oauth/token$")

    refused = account_token(sim, cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id)
    granted = account_token(sim, cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id)

    assert refused.status_code == 503
    assert "access_token" not in refused.text
    assert granted.status_code == 200
    assert granted.json()["access_token"]


def test_control_endpoints_are_never_faulted(sim, control):
    _fault(control, kind="status", status=503, share=1.0)

    assert control.state()["accounts"]
    response = requests.get(f"{sim.url}/_sim/faults", timeout=TIMEOUT)
    assert response.status_code == 200


# --- the request log -------------------------------------------------------------------------------


def test_the_request_log_lists_each_request_with_status_and_fault_flag(sim, api: Api, control):
    _fault(control, kind="status", status=503, count=1, path="^/v2/users/me$")

    faulted = api("GET", "/users/me")
    normal = api("GET", "/users/me")
    missing = api("GET", "/meetings/81234567890")
    rows = _log(sim)

    assert (faulted.status_code, normal.status_code, missing.status_code) == (503, 200, 404)
    api_rows = [r for r in rows if r["path"].startswith("/v2/")]
    assert [(r["method"], r["path"], r["status"], r["fault"]) for r in api_rows] == [
        ("GET", "/v2/users/me", 503, True),
        ("GET", "/v2/users/me", 200, False),
        ("GET", "/v2/meetings/81234567890", 404, False),
    ]
    assert [r["path"] for r in rows if r["path"] == "/oauth/token"] == ["/oauth/token"]  # the api fixture's token
    assert all(not r["path"].startswith("/_sim") for r in rows)


def test_the_request_log_redacts_the_authorization_header(sim, api: Api):
    cfg = sim.sim.config
    assert api("GET", "/users/me").status_code == 200

    rows = _log(sim)

    [bearer] = [r["headers"]["authorization"] for r in rows if r["path"] == "/v2/users/me"]
    assert bearer.startswith("Bearer ")
    assert api.token not in bearer
    assert bearer.endswith(api.token[-6:])
    [basic] = [r["headers"]["authorization"] for r in rows if r["path"] == "/oauth/token"]
    assert basic.startswith(f"Basic {cfg.s2s_client_id}:")
    assert cfg.s2s_client_secret not in basic


def test_no_issued_token_appears_in_full_anywhere_in_the_request_log(sim, api: Api):
    """Redacting the Authorization header is moot if the log keeps the same token elsewhere."""
    cfg = sim.sim.config
    assert api("GET", "/users/me").status_code == 200
    code = code_for(sim.url, cfg.client_id)
    tokens = token_request(
        sim.url, cfg.client_id, cfg.client_secret, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    ).json()
    refreshed = token_request(
        sim.url, cfg.client_id, cfg.client_secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    ).json()

    log = requests.get(f"{sim.url}/_sim/requests", timeout=TIMEOUT).text

    for secret in (api.token, tokens["access_token"], tokens["refresh_token"], refreshed["access_token"]):
        assert secret not in log
    assert refreshed["refresh_token"] not in log
    assert cfg.client_secret not in log


def test_the_control_client_filters_the_request_log_by_path(sim, api: Api, control):
    api("GET", "/users/me")
    api("GET", "/meetings/81234567890")

    rows = control.requests("/v2/meetings/")

    assert [r["path"] for r in rows] == ["/v2/meetings/81234567890"]


def test_the_request_log_marks_a_dropped_request_as_faulted_without_a_status(sim, api: Api, control):
    _fault(control, kind="drop", count=1, path="^/v2/users/me$")

    with pytest.raises(requests.ConnectionError):
        api("GET", "/users/me")

    [row] = _wait_logged(sim, "/v2/users/me", 1)
    assert row["fault"] is True
    assert row["status"] is None
    assert json.dumps(row).count(api.token) == 0
