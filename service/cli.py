"""`flask` commands: the worker (with scheduler and sweeper) and a one-off sweep."""

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

    @app.cli.command("sweep")
    def sweep_command() -> None:
        """Queue reconcile jobs for inbox events left pending (normally done every few seconds by the worker)."""
        from workers.sweeper import sweep_inbox

        click.echo(f"queued {sweep_inbox()} reconcile job(s)")
