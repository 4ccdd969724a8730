"""The intake benchmark's baselines, served by the same gunicorn command as the Procfile's `web`.

- `bare()`: a Flask view that reads the body and answers 200: the framework's ceiling.
- `durable()`: the same plus one INSERT of the raw body and a commit, on the same database
  through the same engine settings: the floor every intake that keeps what it acknowledges pays.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from sqlalchemy import text

from models.database import make_engine

RAW_TABLE = "bench_raw_bodies"
CREATE_RAW_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} "
    "(id BIGSERIAL PRIMARY KEY, body BYTEA NOT NULL, received_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)


def bare() -> Flask:
    app = Flask("bench_bare")

    @app.post("/webhooks/zoom")
    def receive():
        request.get_data()
        return jsonify(status="ok")

    return app


def durable() -> Flask:
    app = Flask("bench_durable")
    engine = make_engine(os.environ["DATABASE_URL"])
    insert = text(f"INSERT INTO {RAW_TABLE} (body) VALUES (:body) RETURNING id")

    @app.post("/webhooks/zoom")
    def receive():
        body = request.get_data()
        with engine.begin() as conn:
            row_id = conn.execute(insert, {"body": body}).scalar_one()
        return jsonify(status="stored", id=row_id)

    return app
