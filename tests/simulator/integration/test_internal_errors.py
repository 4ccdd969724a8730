"""A bug of the simulator is answered distinctly and kept, so it is never mistaken for an injected fault."""

from __future__ import annotations

from zoomsim.app import EXTENSION_KEY, create_app
from zoomsim.config import SimConfig


def test_an_internal_error_is_a_marked_500_and_is_kept(monkeypatch):
    app = create_app(SimConfig(control=True, spec_dir=None))
    sim = app.extensions[EXTENSION_KEY]
    client = app.test_client()
    cfg = sim.config
    token = client.post(
        "/oauth/token",
        query_string={"grant_type": "account_credentials", "account_id": cfg.account_id},
        auth=(cfg.s2s_client_id, cfg.s2s_client_secret),
    ).json["access_token"]

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(sim.world, "user_for", broken)  # stands for any bug in a view
    answer = client.get("/v2/users/me", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 500
    assert answer.headers["X-Zoomsim-Error"] == "1"
    assert answer.json == {"code": 500, "message": "zoomsim internal error: RuntimeError"}
    assert sim.errors == ["GET /v2/users/me: RuntimeError: a bug"]
