"""The app factory: settings from the environment, one blueprint per concern."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, jsonify, request
from redis import Redis
from sqlalchemy import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Settings, load_settings
from models.database import make_engine, make_session_factory
from service import logs
from service.broker import connect_redis
from service.services import EXTENSION_KEY, Services

request_log = logging.getLogger("zoomsync.request")


def _log_requests(app: Flask) -> None:
    """One line per request: what it was, how it ended, how long it took, and the event it carried."""

    @app.before_request
    def _start():
        g.started = time.perf_counter()

    @app.after_request
    def _line(response):
        extra = {
            "method": request.method,
            "path": request.path,  # never the query string: it may carry a code or a token
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1),
            "zoom_tracking_id": request.headers.get("x-zm-trackingid"),
            "event_type": g.get("event_type"),
            "meeting_id": g.get("meeting_id"),
            "inbox_id": g.get("inbox_id"),
        }
        request_log.info("%s %s %s", request.method, request.path, response.status_code, extra=extra)
        return response


def create_app(settings: Settings | None = None, *, engine: Engine | None = None, redis: Redis | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.webhook_max_body_bytes
    # The admin pages' session: signed with SECRET_KEY, never readable by scripts, never sent cross-site.
    app.config.update(
        SECRET_KEY=settings.secret_key or None,
        SESSION_COOKIE_NAME="zoomsync_admin",
        SESSION_COOKIE_PATH="/admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.admin_cookie_secure,
    )
    app.json.sort_keys = False
    engine = engine or make_engine(settings.database_url)
    app.extensions[EXTENSION_KEY] = Services(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        redis=redis if redis is not None else connect_redis(settings),
    )
    logs.configure(settings.log_format)
    if settings.proxy_hops:
        # The client's own address and scheme, as the proxies we run behind saw them: the admin login
        # limit counts clients, not the proxy. Only as many hops as configured are believed.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    _log_requests(app)

    from admin import bp as admin_bp
    from admin.queue_dashboard import mount as mount_queue_dashboard
    from service.api import bp as api_bp
    from service.cli import register_cli
    from service.metrics_view import bp as metrics_bp
    from service.oauth_callback import bp as oauth_bp
    from webhook.views import bp as webhook_bp

    app.register_blueprint(webhook_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(oauth_bp)
    app.register_blueprint(admin_bp)
    mount_queue_dashboard(app)  # after the admin blueprint: our copy of its base template wins
    app.register_blueprint(metrics_bp)
    register_cli(app)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.errorhandler(413)
    def too_large(_error):
        return jsonify(error="body larger than 1 MiB"), 413

    @app.errorhandler(404)
    def not_found(_error):
        return jsonify(error="not found"), 404

    @app.errorhandler(405)
    def method_not_allowed(_error):
        return jsonify(error="method not allowed"), 405

    return app
