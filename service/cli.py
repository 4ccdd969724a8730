"""`flask` commands: the worker (with scheduler and sweeper), replay, a one-off sweep, re-sealing tokens, the doctor."""

from __future__ import annotations

import click
from flask import Flask


def register_cli(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
    def worker_command(burst: bool) -> None:
        """Run an RQ worker on every queue, with RQ's scheduler and the inbox sweeper."""
        from workers.runner import run_worker

        run_worker(app, burst=burst)

    @app.cli.command("replay")
    @click.option("--id", "event_ids", type=int, multiple=True, help="Inbox event id (repeatable).")
    @click.option("--status", default="failed", show_default=True, help="Replay every event in this status.")
    def replay_command(event_ids: tuple[int, ...], status: str) -> None:
        """Set inbox events back to pending and queue their meetings' reconcile jobs."""
        from service.inbox_admin import replay_events
        from service.services import services
        from workers.queues import request_reconcile

        svc = services()
        with svc.unit_of_work() as uow:
            meetings = replay_events(uow, list(event_ids) or None, status)
            uow.commit()
        for meeting_id in sorted(meetings):
            request_reconcile(svc.redis, meeting_id)
        click.echo(f"replaying events of {len(meetings)} meeting(s)")

    @app.cli.command("sweep")
    def sweep_command() -> None:
        """Queue jobs for inbox events and outbox rows left pending (the worker does it every few seconds)."""
        from workers.sweeper import sweep_inbox, sweep_notifications, sweep_outbox, sweep_report_pulls

        reconcile, push, reports = sweep_inbox(), sweep_outbox(), sweep_report_pulls()
        waiting = sweep_notifications()
        click.echo(
            f"queued {reconcile} reconcile, {push} push and {reports} report job(s); {waiting} notification(s) wait"
        )

    @app.cli.command("reseal-tokens")
    def reseal_tokens_command() -> None:
        """Seal every stored Zoom token and client secret under the first TOKEN_ENCRYPTION_KEY (key rotation)."""
        from service.services import services
        from service.zoom_tokens import reseal_all

        click.echo(f"resealed the secrets of {reseal_all(services())} Zoom connection(s) under the first key")

    @app.cli.command("doctor")
    def doctor_command() -> None:
        """Check settings, stores, migrations, workers, the cron and each Zoom connection; exit 1 on a failure."""
        import logging

        from service import doctor
        from service.services import services

        logging.getLogger("alembic").setLevel(logging.WARNING)  # reading the migrations is no news
        checks = doctor.run_checks(services())
        click.echo(doctor.table(checks))
        if doctor.failed(checks):
            raise SystemExit(1)
