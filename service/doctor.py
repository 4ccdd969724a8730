"""Is this deployment well? One table of checks, each with what to do when it is not.

`flask --app service.app:create_app doctor` prints it and exits non-zero on any failure (a deployment can
gate on it); the admin overview shows the same rows. Each check catches its own errors: a store that is down
is a failed row, never a crash of the doctor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis import Redis
from redis.exceptions import RedisError
from rq import Worker
from rq.cron import CronScheduler, get_cron_job_ids
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.scheduler import RQScheduler
from sqlalchemy import func, select, text

from config import Settings
from models import Academy, InboxEvent, ZoomConnection
from service.services import Services
from service.token_box import TokenBox, TokenBoxError
from service.zoom_tokens import ConnectionBroken, access_token, token_state
from workers.queues import QUEUE_NAMES
from zoomapi import scopes
from zoomapi.errors import ZoomUnavailable

OK, WARN, FAIL = "ok", "warn", "fail"
ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"
# The sweep the cron runs most often; its last run says whether the cron works.
SWEEP_JOB = "workers.sweeper.sweep_inbox"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn (works, but look), fail
    detail: str  # what was found
    fix: str = ""  # what to do about it (empty when ok)


def failed(checks: Iterable[Check]) -> bool:
    return any(check.status == FAIL for check in checks)


def run_checks(svc: Services, renew_tokens: bool = True, now: datetime | None = None) -> list[Check]:
    """Every check, in the order a person fixes them. `renew_tokens=False` (the overview, which reloads
    itself) reads each Zoom token's state as stored instead of asking Zoom for one that expired."""
    now = now or datetime.now(UTC)
    rows = settings_checks(svc.settings)
    for name, check in (
        ("database", lambda: [database_check(svc)]),
        ("migrations", lambda: [migrations_check(svc)]),
        ("Redis", lambda: [redis_check(svc)]),
        ("workers", lambda: [workers_check(svc)]),
        ("RQ's scheduler", lambda: [scheduler_check(svc)]),
        ("cron", lambda: [cron_check(svc, now)]),
        ("Zoom", lambda: connection_checks(svc, renew_tokens, now)),
    ):
        rows.extend(_guarded(name, check))
    return rows


def _guarded(name: str, checks: Callable[[], list[Check]]) -> list[Check]:
    """A check that cannot run (its store is away) is a failed row under its own name, with the reason."""
    try:
        return checks()
    except Exception as exc:  # noqa: BLE001 - the reason is the finding
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return [Check(name, FAIL, f"the check could not run: {reason}", "see the rows above: a store may be away")]


# --- settings (pure) ------------------------------------------------------------------------------------------


def settings_checks(settings: Settings) -> list[Check]:
    """What the environment says, read without I/O: secrets present, keys and URLs well-formed."""
    rows = [
        _present(
            "webhook secret",
            settings.webhook_secret_tokens,
            "every delivery is refused (401)",
            "set ZOOM_WEBHOOK_SECRET_TOKEN to the Secret Token of the Zoom app's event subscription",
        ),
        _present(
            "LMS API token",
            settings.api_token,
            "the LMS API refuses every call",
            "set API_TOKEN to a long random value and give it to the LMS",
        ),
        _token_key(settings.token_encryption_keys),
        _secret_key(settings),
        _urls(settings),
        _admin_login(settings),
    ]
    return rows


def _present(name: str, value, without: str, fix: str) -> Check:
    return Check(name, OK, "set") if value else Check(name, FAIL, f"not set: {without}", fix)


def _token_key(keys: tuple[str, ...]) -> Check:
    fix = (
        "set TOKEN_ENCRYPTION_KEY to a Fernet key: python -c 'from service.token_box import new_key; print(new_key())'"
    )
    try:
        TokenBox(keys)
    except TokenBoxError as exc:
        return Check("token encryption key", FAIL, str(exc), fix)
    rotating = f" ({len(keys)} keys: rotating, the first encrypts)" if len(keys) > 1 else ""
    return Check("token encryption key", OK, "a Fernet key" + rotating)


def _secret_key(settings: Settings) -> Check:
    if settings.secret_key:
        return Check("secret key", OK, "set")
    return Check(
        "secret key",
        WARN,
        "not set: the admin pages and the OAuth connection flow are off",
        "set SECRET_KEY to a long random value",
    )


def _urls(settings: Settings) -> Check:
    named = {"ZOOM_API_BASE_URL": settings.zoom_api_base_url, "ZOOM_OAUTH_BASE_URL": settings.zoom_oauth_base_url}
    if settings.zoom_redirect_url:
        named["ZOOM_REDIRECT_URL"] = settings.zoom_redirect_url
    bad = [name for name, url in named.items() if not _absolute_http(url)]
    if bad:
        return Check("URLs", FAIL, f"not an absolute http(s) URL: {', '.join(bad)}", "correct " + ", ".join(bad))
    return Check("URLs", OK, ", ".join(f"{name} {url}" for name, url in named.items()))


def _absolute_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _admin_login(settings: Settings) -> Check:
    if settings.admin_configured:
        return Check("admin login", OK, f"user {settings.admin_username}")
    return Check(
        "admin login",
        WARN,
        "the admin pages are off",
        "set ADMIN_USERNAME, ADMIN_PASSWORD and SECRET_KEY",
    )


# --- stores -----------------------------------------------------------------------------------------------


def database_check(svc: Services) -> Check:
    try:
        with svc.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to answer is the finding
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return Check("database", FAIL, f"does not answer ({reason})", "start the database or correct DATABASE_URL")
    return Check("database", OK, f"answers ({svc.engine.url.render_as_string(hide_password=True)})")


def migrations_check(svc: Services) -> Check:
    heads = set(ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_heads())
    with svc.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current == heads:
        return Check("migrations", OK, f"at head ({', '.join(sorted(heads))})")
    found = f"the database is at {', '.join(sorted(current))}" if current else "no migration is applied"
    return Check(
        "migrations",
        FAIL,
        f"{found}; the code expects {', '.join(sorted(heads))}",
        "run the Procfile's release: alembic upgrade head",
    )


def redis_check(svc: Services) -> Check:
    try:
        svc.redis.ping()
    except RedisError as exc:
        return Check("Redis", FAIL, f"does not answer ({exc})"[:300], "start Redis or correct REDIS_URL")
    return Check("Redis", OK, "answers")


# --- workers, RQ's scheduler, the cron --------------------------------------------------------------------


def workers_check(svc: Services) -> Check:
    workers = Worker.all(connection=svc.redis)
    served = {name for worker in workers for name in worker.queue_names()}
    unserved = [name for name in QUEUE_NAMES if name not in served]
    if not workers:
        return Check("workers", FAIL, "no RQ worker is running: nothing is reconciled or pushed", _START_WORKER)
    if unserved:
        return Check("workers", FAIL, f"no worker serves {', '.join(unserved)}", _START_WORKER)
    return Check("workers", OK, f"{len(workers)} running, serving {', '.join(QUEUE_NAMES)}")


_START_WORKER = "start the Procfile's worker: flask --app service.app:create_app worker"


def scheduler_check(svc: Services) -> Check:
    """RQ's scheduler (retries, delayed jobs) runs inside a worker, holding one lock per queue."""
    holders = {name: svc.redis.get(RQScheduler.get_locking_key(name)) for name in QUEUE_NAMES}
    orphaned = [name for name, holder in holders.items() if holder is None]
    if orphaned:
        return Check(
            "RQ's scheduler",
            FAIL,
            f"no scheduler holds {', '.join(orphaned)}: retries and delayed jobs there do not run",
            _START_WORKER + " (it runs the scheduler)",
        )
    return Check("RQ's scheduler", OK, "running for every queue")


def cron_check(svc: Services, now: datetime) -> Check:
    """The cron queues the sweeps that re-queue lost work; its last sweep must be recent."""
    interval = svc.settings.sweep_interval_seconds
    if not CronScheduler.all(svc.redis):
        return Check("cron", FAIL, "no cron scheduler is running: nothing sweeps the inbox or outbox", _START_WORKER)
    last = _last_sweep(svc.redis)
    if last is None:
        return Check("cron", FAIL, "running, but no sweep has run yet", "wait one interval; else see the worker's log")
    age = (now - last).total_seconds()
    if age > 3 * interval + 60:
        return Check(
            "cron",
            FAIL,
            f"the last sweep ran {_ago(age)} (every {interval} s is expected)",
            "see the worker's log: the maintenance queue may be stuck behind a long job",
        )
    return Check("cron", OK, f"the last sweep ran {_ago(age)}")


def _last_sweep(redis: Redis) -> datetime | None:
    for job_id in get_cron_job_ids(SWEEP_JOB, redis):  # newest first
        try:
            job = Job.fetch(job_id, connection=redis)
        except NoSuchJobError:
            continue  # its result expired
        if job.ended_at is not None:
            return job.ended_at.replace(tzinfo=UTC) if job.ended_at.tzinfo is None else job.ended_at
    return None


# --- Zoom ---------------------------------------------------------------------------------------------------


def connection_checks(svc: Services, renew_tokens: bool, now: datetime) -> list[Check]:
    """Per academy's Zoom connection: a token, the scopes, the plan, and the last verified webhook."""
    with svc.unit_of_work() as uow:
        connections = uow.session.execute(
            select(ZoomConnection, Academy.name)
            .join(Academy, Academy.id == ZoomConnection.academy_id)
            .where(ZoomConnection.status != "disconnected")
            .order_by(Academy.name)
        ).all()
        last_webhook = dict(
            uow.session.execute(
                select(InboxEvent.account_id, func.max(InboxEvent.received_at)).group_by(InboxEvent.account_id)
            ).all()
        )
        for connection, _ in connections:
            uow.session.expunge(connection)
    if not connections:
        return [Check("Zoom", OK, "no academy is connected yet (PUT /api/v1/academies/<id>/zoom-connection)")]
    rows = []
    for connection, academy in connections:
        rows.append(_token(svc, connection, academy, renew_tokens, now))
        rows.append(_scopes(connection, academy))
        rows.append(_webhooks(connection, academy, last_webhook.get(connection.account_id), now))
    return rows


def _token(svc: Services, connection: ZoomConnection, academy: str, renew: bool, now: datetime) -> Check:
    name = f"{academy}: Zoom token"
    plan = f"plan {connection.rate_plan}, {'webinars' if connection.webinar_enabled else 'no webinars'}"
    reconnect = "reconnect the academy's Zoom account (OAuth), or correct the Server-to-Server app's credentials"
    if connection.status == "error" and not renew:
        return Check(name, FAIL, connection.last_error or "the last call to Zoom failed", reconnect)
    if renew:
        try:
            access_token(svc, connection.id)
        except (ConnectionBroken, TokenBoxError) as exc:
            return Check(name, FAIL, str(exc)[:300], reconnect)
        except ZoomUnavailable as exc:
            return Check(name, FAIL, f"Zoom did not answer: {exc}"[:300], "try again; see status.zoom.us")
        return Check(name, OK, f"a token was had for account {connection.account_id}; {plan}")
    return Check(name, OK, f"{token_state(connection, now)}; account {connection.account_id}; {plan}")


def _scopes(connection: ZoomConnection, academy: str) -> Check:
    lacking = scopes.missing((connection.scopes or "").split(), webinars=connection.webinar_enabled)
    if lacking:
        return Check(
            f"{academy}: scopes",
            FAIL,
            "cannot " + "; ".join(lacking),
            "add the scopes in the Zoom app (docs/zoom-setup.md), then reconnect",
        )
    return Check(f"{academy}: scopes", OK, "every scope we call with")


def _webhooks(connection: ZoomConnection, academy: str, last: datetime | None, now: datetime) -> Check:
    name = f"{academy}: webhooks"
    if last is None:
        return Check(
            name,
            FAIL,
            f"no verified webhook from account {connection.account_id} yet",
            "in the Zoom app's event subscription: the URL https://<host>/webhooks/zoom, the events of "
            "docs/zoom-setup.md, and the Secret Token in ZOOM_WEBHOOK_SECRET_TOKEN",
        )
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return Check(name, OK, f"the last verified webhook came {_ago((now - last).total_seconds())}")


def _ago(seconds: float) -> str:
    span = timedelta(seconds=max(0, round(seconds)))
    if span < timedelta(minutes=2):
        return f"{span.seconds} s ago"
    if span < timedelta(hours=2):
        return f"{span.seconds // 60} min ago"
    if span < timedelta(days=2):
        return f"{span.days * 24 + span.seconds // 3600} h ago"
    return f"{span.days} days ago"


def table(checks: Iterable[Check]) -> str:
    """The doctor's printout: one line per check, its fix below when it is not ok."""
    checks = list(checks)
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        lines.append(f"{check.status.upper():<4}  {check.name:<{width}}  {check.detail}")
        if check.fix and check.status != OK:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    return "\n".join(lines)
