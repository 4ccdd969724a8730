"""The simulator's Flask app: one `Simulator` holds the world, and blueprints serve Zoom's faces.

- `/oauth/*`: Zoom's OAuth server (oauth.py);
- `/v2/*`: the REST API (rest.py), each call authenticated, scope-checked,
  rate-limited and validated against Zoom's OpenAPI files before it runs;
- `/s/<id>`, `/w/<id>`: start and personal join links (links.py);
- `/_sim/*`: the levers for tests and the demo (control.py), only when enabled.
Every request is logged, and whatever a request changed goes out as webhooks.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import random
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from zoomsim.config import SimConfig
from zoomsim.errors import ZoomError
from zoomsim.faults import FaultPlan
from zoomsim.ratelimit import RateLimiter
from zoomsim.validation import SpecValidator
from zoomsim.webhooks import Dispatcher
from zoomsim.world import OAuthError, SimUsageError, World

log = logging.getLogger("zoomsim")
EXTENSION_KEY = "zoomsim"
FAULTY_PREFIXES = ("/v2/", "/oauth/")


class SimClock:
    """Wall-clock time plus an offset a test may move forward (token expiry, daily limits, reports)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Simulator:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.clock = SimClock()
        # One random source each, so a seed replays the world whatever the threads interleave.
        self.rng = random.Random(config.seed)
        self.validator = SpecValidator.load(config.spec_dir, config.strict_fields)
        self.limiter = RateLimiter()
        self.faults = FaultPlan(random.Random(config.seed))
        self.requests: deque[dict[str, Any]] = deque(maxlen=config.log_limit)
        self.errors: list[str] = []  # the simulator's own failures: a test should see none
        self._request_ids = itertools.count(1)
        self._log_lock = threading.Lock()
        self.world = World(config, self.clock, self.rng)
        self.dispatcher = Dispatcher(
            list(config.webhook_urls),
            config.webhook_secret,
            verification_token=config.verification_token,
            client_id=config.client_id,
            timeout=config.webhook_timeout,
            retry_scale=config.retry_scale,
            concurrency=config.webhook_concurrency,
            log_limit=config.log_limit,
            rng=random.Random(config.seed),
        )

    def reset(self) -> None:
        """A fresh world with the same settings; logs, faults, limits, the clock and delivery settings start over."""
        with self.world.lock:
            public_url = self.world.public_url
            self.rng.seed(self.config.seed)  # the same world a new simulator would start with
            self.world = World(self.config, self.clock, self.rng)
            self.world.public_url = public_url
        self.clock.offset = 0.0
        self.limiter.reset()
        self.faults.clear()
        self.requests.clear()
        self.errors.clear()
        self.dispatcher.clear()
        self.dispatcher.configure(
            order="in_order",
            duplicate_share=0.0,
            hold=False,
            targets=list(self.config.webhook_urls),
            secret=self.config.webhook_secret,
            retry_scale=self.config.retry_scale,
        )

    def publish(self) -> None:
        """Send the webhooks for whatever the world changed."""
        with self.world.lock:
            batch = self.world.take_outbox()
        self.dispatcher.submit(batch)

    def record(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            entry["id"] = next(self._request_ids)
            self.requests.append(entry)

    def describe(self) -> str:
        if self.validator is None:
            return (
                f"Zoom's OpenAPI files not found in {self.config.spec_dir}: requests are NOT validated "
                "(set ZOOM_SHARED_DIR or --spec-dir)"
            )
        return f"requests validated against Zoom's OpenAPI files in {self.validator.source}"


def simulator() -> Simulator:
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]


def _redacted_headers() -> dict[str, str]:
    headers = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered == "authorization":
            scheme, _, credential = value.partition(" ")
            if scheme.lower() == "basic":
                try:
                    credential = base64.b64decode(credential).decode().split(":", 1)[0] + ":…"
                except ValueError:
                    credential = "…"
            else:
                credential = "…" + credential[-6:]
            value = f"{scheme} {credential}"
        headers[lowered] = value
    return headers


# Credentials a request or an answer may carry: the log keeps only their last characters.
SECRET_KEYS = frozenset({"access_token", "refresh_token", "token", "code", "client_secret", "zak"})


def _mask(value: str) -> str:
    return "…" + value[-6:] if len(value) > 12 else "…"


def scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask(v) if k in SECRET_KEYS and isinstance(v, str) else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def _query_for_log() -> str:
    return urlencode([(k, _mask(v) if k in SECRET_KEYS else v) for k, v in request.args.items(multi=True)])


def _body_for_log() -> Any:
    if request.mimetype == "application/x-www-form-urlencoded":
        return scrub(request.form.to_dict())
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        return scrub(json.loads(raw))
    except ValueError:
        return raw.decode("utf-8", "replace")[:2000]


def create_app(config: SimConfig | None = None) -> Flask:
    config = config or SimConfig()
    app = Flask("zoomsim")
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.json.sort_keys = False
    sim = Simulator(config)
    app.extensions[EXTENSION_KEY] = sim

    from zoomsim import control, links, oauth, rest

    app.register_blueprint(oauth.bp)
    app.register_blueprint(rest.bp)
    app.register_blueprint(links.bp)
    if config.control:
        app.register_blueprint(control.bp)

    @app.before_request
    def inject_faults():
        g.started = time.monotonic()
        if not request.path.startswith(FAULTY_PREFIXES):
            return None
        outcome = sim.faults.outcome(request.method, request.path)
        g.fault = outcome.any and outcome
        if outcome.latency:
            time.sleep(outcome.latency)
        if outcome.drop:
            g.dropped = True
            return _drop_connection()
        if outcome.status:
            return _gateway_error(outcome.status)
        return None

    @app.after_request
    def finish(response: Response) -> Response:
        for name, value in (getattr(g, "rate_headers", None) or {}).items():
            response.headers.setdefault(name, value)
        sim.publish()
        if not request.path.startswith("/_sim"):
            answer: Any = None
            if response.mimetype == "application/json" and not response.direct_passthrough:
                answer = scrub(response.get_json(silent=True))
            sim.record(
                {
                    "at": time.time(),
                    "method": request.method,
                    "path": request.path,
                    "query": _query_for_log(),
                    "headers": _redacted_headers(),
                    "body": _body_for_log(),
                    "status": None if getattr(g, "dropped", False) else response.status_code,
                    "answer": answer,
                    "endpoint": getattr(g, "endpoint_name", None),
                    "account_id": getattr(g, "account_id", None),
                    "validation_errors": getattr(g, "validation_errors", None) or [],
                    "fault": bool(getattr(g, "fault", False)),
                    "duration_ms": round((time.monotonic() - g.started) * 1000, 2),
                }
            )
        return response

    @app.errorhandler(ZoomError)
    def zoom_error(error: ZoomError):
        response = jsonify(error.body())
        response.status_code = error.status
        response.headers.update(error.headers)
        return response

    @app.errorhandler(OAuthError)
    def oauth_error(error: OAuthError):
        return jsonify(reason=error.reason, error=error.error), error.status

    @app.errorhandler(SimUsageError)
    def usage_error(error: SimUsageError):
        return jsonify(error=str(error)), error.status

    @app.errorhandler(Exception)
    def simulator_bug(error: Exception):
        """A bug of the simulator, not a fault it was asked for: logged, kept, answered distinctly."""
        if isinstance(error, HTTPException):
            return error
        log.exception("zoomsim: internal error on %s %s", request.method, request.path)
        sim.errors.append(f"{request.method} {request.path}: {type(error).__name__}: {error}")
        return (
            jsonify(code=500, message=f"zoomsim internal error: {type(error).__name__}"),
            500,
            {"X-Zoomsim-Error": "1"},
        )

    @app.errorhandler(404)
    def not_found(_error):
        if request.path.startswith("/v2/"):
            return jsonify(code=404, message="Not Found"), 404
        return jsonify(error="not found"), 404

    @app.errorhandler(405)
    def not_allowed(_error):
        return jsonify(code=405, message="Method Not Allowed"), 405

    log.log(logging.INFO if sim.validator else logging.WARNING, "zoomsim: %s", sim.describe())
    return app


def _gateway_error(status: int) -> Response:
    """5xx from Zoom's edge come as HTML, not Zoom's JSON: a client must cope with both."""
    if status in (502, 503, 504):
        text = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}[status]
        title = f"{status} {text}"
        html = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center></body></html>"
        return Response(html, status=status, mimetype="text/html")
    return Response(
        json.dumps({"code": status, "message": "Internal Server Error"}), status=status, mimetype="application/json"
    )


def _drop_connection() -> Response:
    """Close the socket without an answer, as a dropped connection does (the client sees a connection error).

    The body is read first: the request log keeps it, and reading it from a closed socket would fail.
    """
    request.get_data(cache=True)
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        import socket

        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return Response(b"", status=500)
