"""The doctor's Zoom rows for a connected academy, against the simulated Zoom: a token, the scopes, webhooks.

Each row is broken the way a real deployment breaks it: the Server-to-Server app's secret changed in Zoom (a
refused token), a scope taken away, the event subscription never delivering.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from models import ZoomConnection, utcnow
from service import doctor
from service.token_box import TokenBox
from tests.helpers import TOKEN_KEY, deliver, fixture


def _zoom_rows(svc, renew: bool = True) -> dict[str, doctor.Check]:
    rows = doctor.connection_checks(svc, renew_tokens=renew, now=utcnow())
    return {check.name.removeprefix("Pushing: "): check for check in rows}


def _change(svc, **values) -> None:
    with svc.unit_of_work() as uow:
        connection = uow.session.query(ZoomConnection).one()
        for name, value in values.items():
            setattr(connection, name, value)
        uow.commit()


def _webhook_from(client, account_id: str) -> None:
    body = copy.deepcopy(fixture("meeting.ended"))
    body["payload"]["account_id"] = account_id
    assert deliver(client, body).status_code == 200


def test_a_connected_academy_that_zoom_delivers_to_is_all_ok(svc, academy, client, zoom):
    _webhook_from(client, zoom.sim.config.account_id)
    rows = _zoom_rows(svc)
    assert {name: check.status for name, check in rows.items()} == {
        "Zoom token": "ok",
        "scopes": "ok",
        "webhooks": "ok",
    }
    assert zoom.sim.config.account_id in rows["Zoom token"].detail and "plan" in rows["Zoom token"].detail
    assert rows["webhooks"].detail.startswith("the last verified webhook came")


def test_no_webhook_yet_fails_with_the_subscription_to_check(svc, academy, zoom):
    check = _zoom_rows(svc)["webhooks"]
    assert check.status == "fail" and f"no verified webhook from account {zoom.sim.config.account_id}" in check.detail
    assert "/webhooks/zoom" in check.fix and "ZOOM_WEBHOOK_SECRET_TOKEN" in check.fix


def test_a_webhook_from_another_account_does_not_count(svc, academy, client):
    _webhook_from(client, "someone-else")
    assert _zoom_rows(svc)["webhooks"].status == "fail"


def test_an_expired_token_is_renewed_by_the_doctor(svc, academy, zoom):
    _change(svc, token_expires_at=utcnow() - timedelta(minutes=5))
    before = len(zoom.sim.requests)
    assert _zoom_rows(svc)["Zoom token"].status == "ok"
    assert any(r["path"] == "/oauth/token" for r in list(zoom.sim.requests)[before:])


def test_a_refused_token_fails_and_the_overview_shows_it_without_asking_zoom(svc, academy, zoom):
    # The app's client secret was regenerated in Zoom: ours no longer gets a token.
    _change(
        svc, token_expires_at=utcnow() - timedelta(minutes=5), client_secret_sealed=TokenBox([TOKEN_KEY]).seal("old")
    )
    check = _zoom_rows(svc)["Zoom token"]
    assert check.status == "fail" and "Zoom refused" in check.detail and "reconnect" in check.fix
    before = len(zoom.sim.requests)
    stored = _zoom_rows(svc, renew=False)["Zoom token"]
    assert stored.status == "fail" and "Zoom refused" in stored.detail
    assert len(zoom.sim.requests) == before  # read as stored: the overview never calls Zoom


def test_a_missing_scope_is_named_with_what_it_stops(svc, academy):
    with svc.unit_of_work() as uow:
        granted = uow.session.query(ZoomConnection).one().scopes.split()
    kept = [scope for scope in granted if not scope.startswith("report:")]
    assert kept != granted
    _change(svc, scopes=" ".join(kept))
    check = _zoom_rows(svc)["scopes"]
    assert check.status == "fail" and "read participant reports" in check.detail
    assert "docs/zoom-setup.md" in check.fix


def test_a_disconnected_academy_is_not_checked(svc, academy):
    _change(svc, status="disconnected")
    assert list(_zoom_rows(svc)) == ["Zoom"]
