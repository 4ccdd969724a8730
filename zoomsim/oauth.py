"""Zoom's OAuth server: authorization code (with rotating refresh tokens), Server-to-Server, revoke.

`/oauth/authorize` approves at once for the configured user (the person who
would click "Allow") and redirects to the app's `redirect_uri` with a code and the
caller's `state`. `/oauth/token` takes the app's credentials as HTTP Basic, as Zoom
does. A used refresh token is dead: the answer carries its successor.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request

from zoomsim.app import simulator
from zoomsim.world import App, OAuthError

bp = Blueprint("oauth", __name__)


def _client() -> App:
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    client_id = secret = ""
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(credential).decode().partition(":")
        except ValueError:
            pass
    app = simulator().world.apps.get(client_id)
    if app is None or app.client_secret != secret:
        raise OAuthError(401, "invalid_client", "Invalid client_id or client_secret")
    return app


@bp.get("/oauth/authorize")
def authorize():
    sim = simulator()
    args = request.args
    with sim.world.lock:
        app = sim.world.apps.get(args.get("client_id", ""))
        if app is None or app.kind != "user":
            return Response("Invalid client_id", status=400, mimetype="text/plain")
        redirect_uri = args.get("redirect_uri", "")
        if not redirect_uri or (app.redirect_uris and redirect_uri not in app.redirect_uris):
            return Response(f"Invalid redirect: {redirect_uri}", status=400, mimetype="text/plain")
        if args.get("response_type") != "code":
            return redirect(_with(redirect_uri, error="unsupported_response_type", state=args.get("state")))
        user_id = sim.world.authorizing_user or sim.world.accounts[sim.config.account_id].owner_id
        code = sim.world.issue_code(app, user_id, redirect_uri)
    return redirect(_with(redirect_uri, code=code, state=args.get("state")))


def _with(url: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url}{'&' if '?' in url else '?'}{query}"


@bp.post("/oauth/token")
def token():
    sim = simulator()
    app = _client()
    values = request.values
    grant_type = values.get("grant_type")
    with sim.world.lock:
        if grant_type == "authorization_code" and app.kind == "user":
            answer = sim.world.token_from_code(app, values.get("code", ""), values.get("redirect_uri", ""))
        elif grant_type == "refresh_token" and app.kind == "user":
            answer = sim.world.token_from_refresh(app, values.get("refresh_token", ""))
        elif grant_type == "account_credentials":
            answer = sim.world.token_for_account(app, values.get("account_id", ""))
        else:
            raise OAuthError(400, "unsupported_grant_type", "Unsupported grant type")
    return jsonify(answer)


@bp.post("/oauth/revoke")
def revoke():
    sim = simulator()
    app = _client()
    with sim.world.lock:
        sim.world.revoke(app, request.values.get("token", ""))
    return jsonify(status="success")
