"""Connecting an academy to Zoom, against the Zoom simulator over HTTP, on both stacks.

OAuth (authorize, callback, state), Server-to-Server, the account checks, tokens
sealed at rest, refresh under a lock (two workers at once), 401 → one refresh,
disconnect (revoke), and Zoom's app_deauthorized webhook.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select, text

from models import InboxEvent, ZoomConnection
from service import zoom_connections
from service import zoom_tokens as zoom_tokens_module
from service.app import create_app
from service.token_box import TokenBox, new_key
from service.zoom_tokens import ConnectionBroken, access_token
from tests.helpers import AUTH, TOKEN_KEY, deliver, run_jobs, sim_bodies


@pytest.fixture
def academy(client) -> int:  # not connected yet: these tests connect it
    return client.post("/api/v1/academies", json={"name": "Connected"}, headers=AUTH).json["id"]


def authorize(client, academy: int) -> tuple[str, str]:
    """Our authorize endpoint, then Zoom's consent (auto-approved): the code and state Zoom returns."""
    answer = client.get(f"/api/v1/academies/{academy}/zoom-connection/authorize", headers=AUTH)
    assert answer.status_code == 302, answer.json
    consent = requests.get(answer.headers["Location"], allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == "http://lms.test/oauth/zoom/callback"
    query = parse_qs(back.query)
    return query["code"][0], query["state"][0]


def connect_oauth(client, academy: int) -> dict:
    code, state = authorize(client, academy)
    answer = client.get("/oauth/zoom/callback", query_string={"code": code, "state": state})
    assert answer.status_code == 200, answer.json
    return answer.json["connection"]


def connection_row(svc, academy: int) -> ZoomConnection | None:
    with svc.unit_of_work() as uow:
        row = uow.session.scalars(select(ZoomConnection).where(ZoomConnection.academy_id == academy)).first()
        if row is not None:
            uow.session.expunge(row)
        return row


def at_once(worker, count: int) -> None:
    """`count` threads running `worker`, as that many workers would, waited for."""
    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def sim_requests(zoom, path: str) -> list[dict]:
    return [r for r in zoom.sim.requests if r["path"] == path]


# --- OAuth authorization code ------------------------------------------------------------------


def test_authorize_sends_the_admin_to_zoom_with_our_app_and_a_signed_state(client, academy, zoom):
    answer = client.get(f"/api/v1/academies/{academy}/zoom-connection/authorize", headers=AUTH)
    target = urlsplit(answer.headers["Location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{zoom.url}/oauth/authorize"
    assert query["client_id"] == [zoom.sim.config.client_id]
    assert query["redirect_uri"] == ["http://lms.test/oauth/zoom/callback"]
    assert query["response_type"] == ["code"] and len(query["state"][0]) > 40


def test_the_callback_stores_the_connection_with_what_the_account_allows(client, academy, zoom, svc):
    shown = connect_oauth(client, academy)
    assert shown["status"] == "connected" and shown["kind"] == "oauth"
    assert shown["account_id"] == zoom.sim.config.account_id
    assert shown["plan"] == "licensed" and shown["meeting_capacity"] == 300
    assert shown["webinar"] == {"enabled": True, "capacity": 500}
    assert "meeting:write:admin" in shown["scopes"]
    assert client.get(f"/api/v1/academies/{academy}/zoom-connection", headers=AUTH).json == shown


def test_tokens_are_sealed_at_rest(client, academy, zoom, svc, backend):
    connect_oauth(client, academy)
    row = connection_row(svc, academy)
    [grant] = [g for g in zoom.sim.world.grants.values() if g.kind == "user"]
    assert TokenBox([TOKEN_KEY]).open(row.access_token_sealed) == grant.token
    engine, _ = backend
    with engine.connect() as conn:
        stored = " ".join(str(v) for v in conn.execute(text("SELECT * FROM zoom_connections")).one())
    assert grant.token not in stored
    assert not any(token in stored for token in zoom.sim.world.refresh_tokens)


def test_a_forged_state_is_refused_and_stores_nothing(client, academy, zoom, svc):
    code, state = authorize(client, academy)
    forged = state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")
    answer = client.get("/oauth/zoom/callback", query_string={"code": code, "state": forged})
    assert answer.status_code == 422 and "forged or expired" in answer.json["error"]
    assert connection_row(svc, academy) is None


def test_a_reused_state_is_refused(client, academy, zoom, svc):
    code, state = authorize(client, academy)
    assert client.get("/oauth/zoom/callback", query_string={"code": code, "state": state}).status_code == 200
    again = client.get("/oauth/zoom/callback", query_string={"code": code, "state": state})
    assert again.status_code == 422 and "already used" in again.json["error"]


def test_an_expired_state_is_refused_and_stores_nothing(client, academy, zoom, svc, monkeypatch):
    code, state = authorize(client, academy)
    monkeypatch.setattr(zoom_connections, "STATE_TTL_SECONDS", -1)
    answer = client.get("/oauth/zoom/callback", query_string={"code": code, "state": state})
    assert answer.status_code == 422
    assert connection_row(svc, academy) is None


def test_a_declined_authorization_is_a_clear_400(client, zoom):
    answer = client.get("/oauth/zoom/callback", query_string={"error": "access_denied"})
    assert answer.status_code == 400 and "not given" in answer.json["error"]


def test_a_basic_user_is_refused_stored_nowhere_and_the_grant_revoked(client, academy, zoom, svc):
    zoom.control.call("PUT", "/oauth", {"authorizing_user": "basic@zoomsim.example"})
    code, state = authorize(client, academy)
    answer = client.get("/oauth/zoom/callback", query_string={"code": code, "state": state})
    assert answer.status_code == 409 and "Basic (free) plan" in answer.json["error"]
    assert connection_row(svc, academy) is None
    assert [r["status"] for r in sim_requests(zoom, "/oauth/revoke")] == [200]


def test_missing_scopes_are_named(app, client, academy, zoom, svc):
    zoom.control.call(
        "POST",
        "/apps",
        {
            "client_id": "narrow-app",
            "client_secret": "narrow-secret",
            "kind": "user",
            "scopes": ["user:read:admin", "meeting:read:admin", "meeting:write:admin"],
        },
    )
    svc.settings = replace(svc.settings, zoom_client_id="narrow-app", zoom_client_secret="narrow-secret")
    code, state = authorize(client, academy)
    answer = client.get("/oauth/zoom/callback", query_string={"code": code, "state": state})
    assert answer.status_code == 409
    assert "read participant reports (report:read:admin or" in answer.json["error"]
    assert "create webinars" in answer.json["error"]
    assert connection_row(svc, academy) is None


def test_authorize_without_oauth_settings_says_what_is_missing(client, academy, svc):
    svc.settings = replace(svc.settings, zoom_client_id="")
    answer = client.get(f"/api/v1/academies/{academy}/zoom-connection/authorize", headers=AUTH)
    assert answer.status_code == 503 and "ZOOM_CLIENT_ID" in answer.json["error"]


# --- Server-to-Server --------------------------------------------------------------------------


def s2s_body(zoom, **overrides) -> dict:
    cfg = zoom.sim.config
    body = {
        "kind": "server_to_server",
        "account_id": cfg.account_id,
        "client_id": cfg.s2s_client_id,
        "client_secret": cfg.s2s_client_secret,
    }
    return {**body, **overrides}


def test_server_to_server_credentials_are_checked_with_zoom_then_saved(client, academy, zoom, svc):
    answer = client.put(f"/api/v1/academies/{academy}/zoom-connection", json=s2s_body(zoom), headers=AUTH)
    assert answer.status_code == 200, answer.json
    assert answer.json["kind"] == "server_to_server" and answer.json["status"] == "connected"
    row = connection_row(svc, academy)
    assert TokenBox([TOKEN_KEY]).open(row.client_secret_sealed) == zoom.sim.config.s2s_client_secret
    assert row.refresh_token_sealed is None  # Server-to-Server tokens are not refreshed: a new one is asked for


def test_wrong_server_to_server_credentials_are_refused_and_stored_nowhere(client, academy, zoom, svc):
    answer = client.put(
        f"/api/v1/academies/{academy}/zoom-connection", json=s2s_body(zoom, client_secret="wrong"), headers=AUTH
    )
    assert answer.status_code == 422 and "invalid_client" in answer.json["error"]
    assert connection_row(svc, academy) is None


def test_zoom_unreachable_while_connecting_is_503_and_stores_nothing(client, academy, zoom, svc):
    zoom.control.fault(kind="drop", path="/oauth/token")
    answer = client.put(f"/api/v1/academies/{academy}/zoom-connection", json=s2s_body(zoom), headers=AUTH)
    assert answer.status_code == 503 and "try again" in answer.json["error"]
    assert connection_row(svc, academy) is None


def test_unknown_academy_and_unconnected_academy_are_404(client, academy, zoom):
    assert client.get("/api/v1/academies/999/zoom-connection", headers=AUTH).status_code == 404
    answer = client.get(f"/api/v1/academies/{academy}/zoom-connection", headers=AUTH)
    assert answer.status_code == 404 and "not connected" in answer.json["error"]


# --- tokens --------------------------------------------------------------------------------------


def test_an_expiring_token_is_refreshed_and_the_rotated_refresh_token_kept(client, academy, zoom, svc):
    connect_oauth(client, academy)
    row = connection_row(svc, academy)
    first_refresh = TokenBox([TOKEN_KEY]).open(row.refresh_token_sealed)
    with svc.unit_of_work() as uow:  # the token is about to expire
        uow.session.execute(text("UPDATE zoom_connections SET token_expires_at = :t"), {"t": "2000-01-01 00:00:00"})
        uow.commit()
    token = access_token(svc, row.id)
    assert zoom.sim.world.grants[token].expires_at > 0
    after = connection_row(svc, academy)
    assert after.token_version == row.token_version + 1
    assert TokenBox([TOKEN_KEY]).open(after.refresh_token_sealed) != first_refresh
    assert first_refresh not in zoom.sim.world.refresh_tokens  # Zoom killed the used one


def test_two_workers_refreshing_at_once_refresh_once_and_lose_nothing(client, academy, zoom, svc):
    connect_oauth(client, academy)
    row = connection_row(svc, academy)
    stale = TokenBox([TOKEN_KEY]).open(row.access_token_sealed)
    results: list[str] = []
    start = threading.Barrier(4)

    def worker():
        start.wait()
        results.append(access_token(svc, row.id, refused=stale))  # each saw a 401 for the same token

    at_once(worker, 4)
    refreshes = [r for r in sim_requests(zoom, "/oauth/token") if r["body"].get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1
    assert len(set(results)) == 1 and results[0] != stale and len(results) == 4
    stored = connection_row(svc, academy)
    assert TokenBox([TOKEN_KEY]).open(stored.refresh_token_sealed) in zoom.sim.world.refresh_tokens  # still alive


def test_two_workers_refreshing_after_their_lock_was_lost_keep_the_winners_tokens(
    client, academy, zoom, svc, monkeypatch
):
    """Redis restarted empty under a refresh: the lock is gone and a second worker refreshes too. Zoom refuses its
    (used) refresh token; that is no broken connection: both workers go on with the winner's token."""
    connect_oauth(client, academy)
    row = connection_row(svc, academy)
    stale = TokenBox([TOKEN_KEY]).open(row.access_token_sealed)
    monkeypatch.setattr(zoom_tokens_module, "token_lock", lambda svc, connection_id: contextlib.nullcontext())
    both_read = threading.Barrier(2, timeout=10)
    real_new_tokens = zoom_tokens_module._new_tokens

    def new_tokens(*args):
        try:
            return real_new_tokens(*args)
        finally:
            both_read.wait()  # neither stores before both have read the connection and asked Zoom

    monkeypatch.setattr(zoom_tokens_module, "_new_tokens", new_tokens)
    results: list[object] = []

    def worker():
        try:
            results.append(access_token(svc, row.id, refused=stale))
        except Exception as exc:  # noqa: BLE001 - what the test reports
            results.append(exc)

    at_once(worker, 2)
    refreshes = [r for r in sim_requests(zoom, "/oauth/token") if r["body"].get("grant_type") == "refresh_token"]
    assert sorted(r["status"] for r in refreshes) == [200, 400]  # the second used a dead refresh token
    assert len(results) == 2 and all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 1 and results[0] != stale
    stored = connection_row(svc, academy)
    assert stored.status == "connected" and stored.last_error is None
    assert TokenBox([TOKEN_KEY]).open(stored.refresh_token_sealed) in zoom.sim.world.refresh_tokens


def test_a_401_gets_one_refresh_and_one_retry(client, academy, zoom, svc):
    connect_oauth(client, academy)
    zoom.control.call("POST", "/tokens/expire")  # Zoom says expired although our clock says fresh
    with svc.unit_of_work() as uow:
        row = uow.session.scalars(select(ZoomConnection)).one()
        zclient = zoom_connections.zoom_client(svc, row)
    assert zclient.user("me")["email"] == zoom.sim.config.host_email
    statuses = [r["status"] for r in sim_requests(zoom, "/v2/users/me")]
    assert statuses[-2:] == [401, 200]


def test_a_refused_refresh_breaks_the_connection_with_a_clear_error(client, academy, zoom, svc):
    shown = connect_oauth(client, academy)
    zoom.control.call("POST", "/deauthorize", {"user_id": shown["user"]["id"]})  # its webhook never arrives here
    row = connection_row(svc, academy)
    with pytest.raises(ConnectionBroken, match="reconnect"):
        access_token(svc, row.id, refused=TokenBox([TOKEN_KEY]).open(row.access_token_sealed))
    assert connection_row(svc, academy).status == "error"
    assert "reconnect" in client.get(f"/api/v1/academies/{academy}/zoom-connection", headers=AUTH).json["last_error"]


# --- disconnecting -------------------------------------------------------------------------------


def test_disconnect_revokes_at_zoom_and_forgets_the_tokens(client, academy, zoom, svc):
    connect_oauth(client, academy)
    answer = client.delete(f"/api/v1/academies/{academy}/zoom-connection", headers=AUTH)
    assert answer.status_code == 200 and answer.json["status"] == "disconnected"
    assert [r["status"] for r in sim_requests(zoom, "/oauth/revoke")] == [200]
    assert [g for g in zoom.sim.world.grants.values() if g.kind == "user"] == []
    row = connection_row(svc, academy)
    assert row.access_token_sealed is None and row.refresh_token_sealed is None
    with pytest.raises(ConnectionBroken):
        access_token(svc, row.id)
    assert client.delete(f"/api/v1/academies/{academy}/zoom-connection", headers=AUTH).status_code == 404


def test_app_deauthorized_disconnects_the_account_and_forgets_its_user(app, client, academy, zoom, svc):
    shown = connect_oauth(client, academy)
    meeting = zoom.control.create_meeting(topic="Held before the app was removed")
    zoom.control.call("POST", f"/meetings/{meeting['id']}/start")
    [started] = [b for b in sim_bodies(zoom) if b["event"] == "meeting.started"]
    deliver(client, started)
    run_jobs(app)
    zoom.control.call("POST", "/deauthorize", {"user_id": shown["user"]["id"]})
    [event] = [b for b in sim_bodies(zoom) if b["event"] == "app_deauthorized"]
    answer = deliver(client, event)
    assert answer.status_code == 200 and answer.json["status"] == "pending"
    run_jobs(app)
    row = connection_row(svc, academy)
    assert row.status == "disconnected" and row.access_token_sealed is None
    assert row.zoom_user_email is None and "app_deauthorized" in row.last_error
    assert deliver(client, event).json["status"] == "duplicate"
    with svc.unit_of_work() as uow:
        stored = uow.session.scalars(select(InboxEvent).where(InboxEvent.event_type == "meeting.started")).one()
        assert stored.raw_body == b'{"removed":"app_deauthorized"}' and stored.headers == {}
        assert stored.dedupe_key  # a redelivery is still known as one


def test_the_sweeper_queues_an_account_event_whose_job_was_lost(app, client, academy, zoom, svc):
    from workers.queues import MAINTENANCE_QUEUE, queue
    from workers.sweeper import sweep_inbox

    shown = connect_oauth(client, academy)
    zoom.control.call("POST", "/deauthorize", {"user_id": shown["user"]["id"]})
    [event] = [b for b in sim_bodies(zoom) if b["event"] == "app_deauthorized"]
    deliver(client, event)
    queue(svc.redis, MAINTENANCE_QUEUE).empty()  # as if Redis had lost it
    with svc.unit_of_work() as uow:
        uow.session.execute(text("UPDATE inbox_events SET received_at = :t"), {"t": "2000-01-01 00:00:00"})
        uow.commit()
    with app.app_context():
        assert sweep_inbox() == 1
        assert sweep_inbox() == 1  # queued again: the same job id, not a second job
    assert queue(svc.redis, MAINTENANCE_QUEUE).count == 1
    run_jobs(app)
    assert connection_row(svc, academy).status == "disconnected"


# --- rotating TOKEN_ENCRYPTION_KEY ----------------------------------------------------------------


def test_reseal_tokens_moves_every_stored_secret_to_the_new_key_so_the_old_can_go(
    client, academy, zoom, svc, backend, settings
):
    connect_oauth(client, academy)
    other = client.post("/api/v1/academies", json={"name": "Own account"}, headers=AUTH).json["id"]
    assert (
        client.put(f"/api/v1/academies/{other}/zoom-connection", json=s2s_body(zoom), headers=AUTH).status_code == 200
    )
    new = new_key()
    engine, redis = backend
    # Step 2 of the rotation: the new key first, the old one still listed; then the command.
    rotating = create_app(replace(settings, token_encryption_keys=(new, TOKEN_KEY)), engine=engine, redis=redis)
    done = rotating.test_cli_runner().invoke(args=["reseal-tokens"])
    assert done.exit_code == 0 and "2 Zoom connection(s)" in done.output, done.output
    only_new = TokenBox([new])
    for row in (connection_row(svc, academy), connection_row(svc, other)):
        for name in zoom_tokens_module.SEALED_FIELDS:
            if getattr(row, name):
                only_new.open(getattr(row, name))  # raises if any value is still under the old key
    # Step 3: the old key gone, the connections still get their tokens.
    after = create_app(replace(settings, token_encryption_keys=(new,)), engine=engine, redis=redis)
    with after.app_context():
        for row in (connection_row(svc, academy), connection_row(svc, other)):
            assert access_token(after.extensions["zoomsync"], row.id)
