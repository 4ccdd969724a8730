"""GET /oauth/zoom/callback: where Zoom sends the admin back after "Allow" (no bearer token: a browser lands here)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from service import zoom_connections
from service.api_schemas import connection_out
from service.errors import ServiceError
from service.services import services

bp = Blueprint("zoom_oauth", __name__)


@bp.errorhandler(ServiceError)
def refused(exc: ServiceError):
    return jsonify(error=exc.message), exc.status


@bp.get("/oauth/zoom/callback")
def callback():
    if request.args.get("error"):
        return jsonify(error=f"the Zoom authorization was not given ({request.args['error']})"), 400
    code, state = request.args.get("code", ""), request.args.get("state", "")
    if not code or not state:
        return jsonify(error="the callback needs the code and state Zoom sends"), 400
    view = zoom_connections.complete_authorization(services(), code, state)
    return jsonify(connected=True, connection=connection_out(view))
