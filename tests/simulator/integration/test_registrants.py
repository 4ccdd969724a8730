"""Meeting registration over HTTP: who may register, limits, pages, cancelling, batches, personal join links."""

from __future__ import annotations

import requests

from tests.simulator.conftest import Api
from tests.simulator.integration.helpers import (
    TIMEOUT,
    add_user,
    all_pages,
    create_meeting,
    register,
    registration_meeting,
)


def _approved_ids(api: Api, meeting_id: int) -> set[str]:
    response = api("GET", f"/meetings/{meeting_id}/registrants", params={"status": "approved", "page_size": 300})
    assert response.status_code == 200, response.text
    return {row["id"] for row in response.json()["registrants"]}


# --- who may register --------------------------------------------------------------------------


def test_registration_needs_approval_type_0_or_1(sim, api: Api):
    closed = create_meeting(api)  # approval_type 2: no registration
    automatic = registration_meeting(api, approval_type=0)
    manual = registration_meeting(api, approval_type=1)

    refused = register(api, closed["id"], "ann@example.com")

    assert refused.status_code == 400
    assert refused.json()["code"] == 3000
    assert register(api, automatic["id"], "ann@example.com").status_code == 201
    assert register(api, manual["id"], "ann@example.com").status_code == 201


def test_a_registration_answers_201_with_registrant_id_and_join_url(sim, api: Api):
    meeting = registration_meeting(api)

    response = register(api, meeting["id"], "ann@example.com", first_name="Ann", last_name="Able")

    assert response.status_code == 201
    body = response.json()
    assert body["registrant_id"]
    assert body["join_url"].startswith("http")
    assert body["id"] == meeting["id"]
    assert _approved_ids(api, meeting["id"]) == {body["registrant_id"]}


def test_manual_approval_leaves_a_registrant_pending(sim, api: Api):
    meeting = registration_meeting(api, approval_type=1)

    registrant_id = register(api, meeting["id"], "ann@example.com").json()["registrant_id"]

    pending = api("GET", f"/meetings/{meeting['id']}/registrants", params={"status": "pending"}).json()
    assert [row["id"] for row in pending["registrants"]] == [registrant_id]
    assert _approved_ids(api, meeting["id"]) == set()


def test_the_same_email_again_returns_the_same_registrant(sim, api: Api):
    meeting = registration_meeting(api)

    first = register(api, meeting["id"], "ann@example.com").json()
    again = register(api, meeting["id"], "ANN@example.com")

    assert again.status_code == 201
    assert again.json()["registrant_id"] == first["registrant_id"]
    assert again.json()["join_url"] == first["join_url"]
    assert _approved_ids(api, meeting["id"]) == {first["registrant_id"]}


def test_the_host_cannot_register(sim, api: Api):
    meeting = registration_meeting(api)

    response = register(api, meeting["id"], sim.sim.config.host_email)

    assert response.status_code == 400
    assert response.json()["code"] == 3027


def test_registration_stops_at_the_hosts_meeting_capacity(sim, api: Api):
    small = add_user(sim, "small-host@zoomsim.example", meeting_capacity=2)
    meeting = registration_meeting(api, user=small["id"])

    assert register(api, meeting["id"], "one@example.com").status_code == 201
    assert register(api, meeting["id"], "two@example.com").status_code == 201
    full = register(api, meeting["id"], "three@example.com")

    assert full.status_code == 400
    assert full.json() == {"code": 3043, "message": "Meeting has reached maximum attendee capacity."}


def test_the_fourth_registration_request_of_one_email_in_a_day_is_429(sim, api: Api):
    meeting = registration_meeting(api)

    answers = [register(api, meeting["id"], "eager@example.com") for _ in range(4)]

    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert answers[3].headers["X-RateLimit-Type"] == "Daily-limit"
    assert "Retry-After" in answers[3].headers
    assert register(api, meeting["id"], "someone-else@example.com").status_code == 201


# --- listing ---------------------------------------------------------------------------------


def test_the_registrant_list_pages_to_the_end_with_next_page_token(sim, api: Api):
    meeting = registration_meeting(api)
    expected = {register(api, meeting["id"], f"person{n}@example.com").json()["registrant_id"] for n in range(7)}

    first = api("GET", f"/meetings/{meeting['id']}/registrants", params={"page_size": 3}).json()
    pages = all_pages(api, f"/meetings/{meeting['id']}/registrants", "registrants", page_size=3)

    assert first["total_records"] == 7
    assert first["page_size"] == 3
    assert first["page_count"] == 3
    assert first["next_page_token"]
    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [row["id"] for page in pages for row in page]
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == expected


# --- cancelling and deleting ---------------------------------------------------------------------


def test_cancelling_a_registrant_removes_them_and_sends_registration_cancelled(sim, api: Api, control, receiver):
    meeting = registration_meeting(api)
    ann = register(api, meeting["id"], "ann@example.com").json()["registrant_id"]
    bob = register(api, meeting["id"], "bob@example.com").json()["registrant_id"]

    response = api(
        "PUT",
        f"/meetings/{meeting['id']}/registrants/status",
        json={"action": "cancel", "registrants": [{"id": ann, "email": "ann@example.com"}]},
    )

    assert response.status_code == 204
    assert _approved_ids(api, meeting["id"]) == {bob}
    assert control.wait_for_webhooks(timeout=10)
    cancelled = [b for b in receiver.bodies() if b["event"] == "meeting.registration_cancelled"]
    assert len(cancelled) == 1
    assert cancelled[0]["payload"]["object"]["id"] == meeting["id"]
    assert cancelled[0]["payload"]["object"]["registrant"]["id"] == ann
    assert cancelled[0]["payload"]["object"]["registrant"]["email"] == "ann@example.com"


def test_deleting_a_registrant_answers_204_and_removes_them(sim, api: Api):
    meeting = registration_meeting(api)
    ann = register(api, meeting["id"], "ann@example.com").json()["registrant_id"]

    deleted = api("DELETE", f"/meetings/{meeting['id']}/registrants/{ann}")
    again = api("DELETE", f"/meetings/{meeting['id']}/registrants/{ann}")

    assert deleted.status_code == 204
    assert _approved_ids(api, meeting["id"]) == set()
    assert again.status_code == 404


# --- batches ---------------------------------------------------------------------------------


def test_batch_registration_with_auto_approve_is_201_and_approves_everyone(sim, api: Api):
    meeting = registration_meeting(api, approval_type=1)
    people = [{"email": f"batch{n}@example.com", "first_name": f"Batch{n}"} for n in range(5)]

    response = api(
        "POST", f"/meetings/{meeting['id']}/batch_registrants", json={"auto_approve": True, "registrants": people}
    )

    assert response.status_code == 201
    answered = response.json()["registrants"]
    assert [row["email"] for row in answered] == [p["email"] for p in people]
    assert all(row["registrant_id"] and row["join_url"] for row in answered)
    assert _approved_ids(api, meeting["id"]) == {row["registrant_id"] for row in answered}


def test_batch_registration_takes_at_most_30(sim, api: Api):
    meeting = registration_meeting(api)
    people = [{"email": f"many{n}@example.com", "first_name": "Many"} for n in range(31)]

    too_many = api("POST", f"/meetings/{meeting['id']}/batch_registrants", json={"registrants": people})
    thirty = api("POST", f"/meetings/{meeting['id']}/batch_registrants", json={"registrants": people[:30]})

    assert too_many.status_code == 400
    assert too_many.json()["code"] == 300
    assert thirty.status_code == 201
    assert len(thirty.json()["registrants"]) == 30


def test_batch_registration_is_for_scheduled_meetings_only(sim, api: Api):
    recurring = create_meeting(
        api, type=8, settings={"approval_type": 0}, recurrence={"type": 1, "repeat_interval": 1, "end_times": 3}
    )

    response = api(
        "POST",
        f"/meetings/{recurring['id']}/batch_registrants",
        json={"registrants": [{"email": "r@example.com", "first_name": "R"}]},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 303


# --- personal join links -----------------------------------------------------------------------


def test_a_personal_join_link_waits_for_the_host_then_joins_the_registrant(sim, api: Api, control):
    meeting = registration_meeting(api)
    registrant = register(api, meeting["id"], "ann@example.com", first_name="Ann", last_name="Able").json()

    before = requests.get(registrant["join_url"], timeout=TIMEOUT)
    control.call("POST", f"/meetings/{meeting['id']}/start")
    after = requests.get(registrant["join_url"], timeout=TIMEOUT)

    assert before.status_code == 409
    assert after.status_code == 200
    assert after.json()["joined"] is True
    [instance] = control.meeting(meeting["id"])["instances"]
    [session] = instance["sessions"]
    assert session["registrant_id"] == registrant["registrant_id"]
    assert session["email"] == "ann@example.com"
    assert session["name"] == "Ann Able"


def test_a_personal_join_link_with_a_wrong_token_is_refused(sim, api: Api, control):
    meeting = registration_meeting(api)
    control.call("POST", f"/meetings/{meeting['id']}/start")

    response = requests.get(f"{sim.url}/w/{meeting['id']}?tk=forged", timeout=TIMEOUT)

    assert response.status_code == 404
    assert control.meeting(meeting["id"])["instances"][0]["sessions"] == []


def test_the_eleventh_status_change_of_one_registrant_in_a_day_is_429(sim, api: Api):
    """Zoom allows 10 status changes per registrant per meeting per day (shared/zoom/README.md, Rate limits)."""
    meeting = registration_meeting(api, approval_type=1)
    ann = register(api, meeting["id"], "ann@example.com").json()["registrant_id"]
    path = f"/meetings/{meeting['id']}/registrants/status"

    statuses = [
        api("PUT", path, json={"action": action, "registrants": [{"id": ann}]}).status_code
        for action in ["approve", "deny"] * 5 + ["approve"]
    ]

    assert statuses[:10] == [204] * 10
    assert statuses[10] == 429


def test_asking_for_the_status_a_registrant_already_has_spends_nothing(sim, api: Api):
    meeting = registration_meeting(api, approval_type=0)
    ann = register(api, meeting["id"], "ann@example.com").json()["registrant_id"]
    path = f"/meetings/{meeting['id']}/registrants/status"

    statuses = {
        api("PUT", path, json={"action": "approve", "registrants": [{"id": ann}]}).status_code for _ in range(12)
    }

    assert statuses == {204}
