"""The simulator's settings: command-line flags, environment (`ZOOMSIM_*`), or keyword arguments in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from zoomsim.endpoints import DEFAULT_SCOPES

ROOT = Path(__file__).resolve().parent.parent


def default_spec_dir() -> Path:
    """Where Zoom's published documents are: ZOOM_SHARED_DIR, else ../shared/zoom beside the project."""
    return Path(os.environ.get("ZOOM_SHARED_DIR") or ROOT.parent / "shared" / "zoom")


@dataclass
class SimConfig:
    # Where webhooks go, and the event subscription's secret token that signs them.
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: str = "zoomsim-webhook-secret"
    # The legacy verification token Zoom still sends in the `authorization` header.
    verification_token: str = "zoomsim-verification-token"
    # The OAuth (user-managed) app; an empty redirect_uris accepts any redirect URL.
    client_id: str = "zoomsim-client-id"
    client_secret: str = "zoomsim-client-secret"
    redirect_uris: tuple[str, ...] = ()
    # The Server-to-Server OAuth app, bound to the default account.
    s2s_client_id: str = "zoomsim-s2s-client-id"
    s2s_client_secret: str = "zoomsim-s2s-client-secret"
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    # The default account: its id, plan ("pro" or "business") and host.
    account_id: str = "zoomsim-account"
    plan: str = "pro"
    host_email: str = "host@zoomsim.example"
    host_timezone: str = "UTC"
    meeting_capacity: int = 300
    webinar: bool = True
    webinar_capacity: int = 500
    # Access tokens live this long (Zoom: an hour); codes 5 minutes.
    token_ttl: int = 3600
    code_ttl: int = 300
    # /_sim/ control endpoints (a test's or the demo's levers). Off unless asked for.
    control: bool = False
    # Zoom's OpenAPI files; where absent, requests are not validated (said at start-up).
    spec_dir: Path | None = field(default_factory=default_spec_dir)
    # Refuse fields and query parameters the OpenAPI files do not name (Zoom ignores them; we want drift seen).
    strict_fields: bool = True
    # Zoom retries failed deliveries 5, 20 and 60 minutes apart; tests compress that by this factor.
    retry_scale: float = 1.0
    webhook_timeout: float = 3.0
    webhook_concurrency: int = 1
    # Reports appear a while after a meeting ends, then show zero durations until processed.
    report_delay: float = 0.0
    report_settle: float = 0.0
    # Links in join_url/start_url; empty means the simulator's own address.
    public_url: str = ""
    seed: int | None = None
    # How many requests, webhook bodies and delivery attempts the logs keep (the oldest go first).
    log_limit: int = 100_000

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> SimConfig:
        """`ZOOMSIM_<FIELD>` for each field (comma-separated lists, 1/true for flags)."""
        env = dict(os.environ if env is None else env)
        values: dict = {}
        defaults = cls()
        for f in fields(cls):
            raw = env.get(f"ZOOMSIM_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            default = getattr(defaults, f.name)
            if isinstance(default, bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(default, tuple):
                values[f.name] = tuple(part.strip() for part in raw.split(",") if part.strip())
            elif isinstance(default, int):
                values[f.name] = int(raw)
            elif isinstance(default, float):
                values[f.name] = float(raw)
            elif f.name == "seed":
                values[f.name] = int(raw)
            elif f.name == "spec_dir":
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        if "webhook_secret" not in values and env.get("ZOOM_WEBHOOK_SECRET_TOKEN"):
            values["webhook_secret"] = env["ZOOM_WEBHOOK_SECRET_TOKEN"].split(",")[0].strip()
        values.update(overrides)
        return cls(**values)
