"""rq-dashboard at /admin/rq: behind the admin login, with its known problems neutralised.

rq-dashboard ships without authentication, so every request to its blueprint
passes our checks first (an app-level before_request runs before any
blueprint's): no session, the login page; a POST, our CSRF token (its scripts
send it, see static/rq-csrf.js); its "requeue all", which also answers GET,
answers POST only.

Its pages put job descriptions, results and exception text into the page
unescaped (its issue #526). Two defences: nothing that is not ours reaches
those fields (workers/job_safety.py: ids-only jobs, escaped failures and
results), and its pages run under a CSP without inline script: our copy of its
base template (templates/rq_dashboard/base.html) loads each page's script from
the page's own URL with ?script=1. The CSP allows 'unsafe-eval', which its
client-side templates (underscore) compile with, but no inline script and no
event-handler attribute, so markup that got into a page still could not run.
"""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, g, jsonify, request
from rq.exceptions import NoSuchJobError

from admin import security
from service.services import services

URL_PREFIX = "/admin/rq"
BLUEPRINT = "rq_dashboard"
# The admin pages' policy, plus eval for underscore's templates: still no inline script or handler.
CONTENT_SECURITY_POLICY = security.CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-eval'"
)


def mount(app: Flask) -> None:
    """Register rq-dashboard under /admin/rq; call after the admin blueprint (its templates win)."""
    import rq_dashboard

    app.config["RQ_DASHBOARD_REDIS_URL"] = ["the service's Redis"]  # shown in its menu only
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 5000)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=URL_PREFIX)
    # Its own hook opens a connection from a URL on every request; the service's connection serves instead.
    app.before_request_funcs[BLUEPRINT] = [_use_service_redis]
    app.before_request(_guard)
    app.after_request(_headers)
    app.register_error_handler(NoSuchJobError, _no_such_job)


def _no_such_job(_error: NoSuchJobError):
    """A job that finished its time in Redis, or never was: 404, not its unhandled 500."""
    return jsonify(error="no such job: it may have expired from Redis"), 404


def _guard() -> Response | None:
    if request.blueprint != BLUEPRINT:
        return None
    if not security.logged_in():
        return security.to_login()
    if request.endpoint == f"{BLUEPRINT}.requeue_all" and request.method != "POST":
        abort(405)
    if request.method == "POST":
        security.check_csrf()
    g.rq_script_only = request.args.get("script") == "1"
    return None


def _use_service_redis() -> None:
    if (request.view_args or {}).get("instance_number", 0) != 0:
        abort(404)  # one Redis: the service's
    current_app.redis_conn = services().redis


def _headers(response: Response) -> Response:
    if request.blueprint == BLUEPRINT:
        response.headers.update(security.SECURITY_HEADERS)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        if response.mimetype == "text/html" and not response.direct_passthrough:
            if g.get("rq_script_only"):
                response.mimetype = "text/javascript"
            else:
                # Its templates' few style attributes would each be a CSP violation: a stylesheet
                # (static/rq-dashboard.css) gives the same looks from the renamed attribute.
                response.set_data(response.get_data(as_text=True).replace(' style="', ' data-style="'))
    return response
