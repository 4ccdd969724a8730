"""The outbound tests' world: the service pointed at a fresh Zoom simulator, and a connected academy."""

from __future__ import annotations

import pytest

from service.services import EXTENSION_KEY
from tests.helpers import AUTH, STAFF, acting, zoom_settings


@pytest.fixture
def settings(tmp_path, zoom):
    # Participant reports: look at once, then twice more, then give up (tests move the clock instead).
    return zoom_settings(tmp_path, zoom, REPORT_DELAYS="0,0,0")


@pytest.fixture
def svc(app):
    return app.extensions[EXTENSION_KEY]


@pytest.fixture
def academy(client, zoom) -> dict:
    """A connected academy (Server-to-Server) and an organizer who is the simulated account's host."""
    academy_id = client.post("/api/v1/academies", json={"name": "Pushing"}, headers=AUTH).json["id"]
    cfg = zoom.sim.config
    body = {
        "kind": "server_to_server",
        "account_id": cfg.account_id,
        "client_id": cfg.s2s_client_id,
        "client_secret": cfg.s2s_client_secret,
    }
    assert client.put(f"/api/v1/academies/{academy_id}/zoom-connection", json=body, headers=AUTH).status_code == 200
    body = STAFF | {"email": cfg.host_email, "name": "Harper Host"}
    organizer = client.post("/api/v1/users", json=body, headers=AUTH).json["id"]
    return {"id": academy_id, "organizer": organizer, "headers": acting(organizer)}
