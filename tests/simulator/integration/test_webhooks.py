"""The simulator's webhooks over real HTTP: what arrives, how it is signed, retried and ordered.

Every change (API, "web portal" levers, a meeting's life) must reach the receiver as
the event Zoom would send, signed so that the SERVICE's own verifier accepts it: the
simulator signs with its own code, so this cross-checks two independent signers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from tests.helpers import free_port
from tests.simulator.conftest import SECRET, start_simulator
from webhook.signature import SignatureError, verify

WAIT = 20.0  # generous: a wait returns as soon as the simulator is idle
START = "2030-05-04T08:00:00Z"
OTHER_USER = "basic@zoomsim.example"  # seeded by the simulator next to the host


# --- helpers -------------------------------------------------------------------------------


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def verify_delivery(headers: dict[str, str], body: bytes, secret: str = SECRET):
    """The service's verifier, exactly as the service calls it."""
    headers = lower(headers)
    return verify(
        [secret],
        headers.get("x-zm-request-timestamp"),
        headers.get("x-zm-signature"),
        body,
        now=time.time(),
        max_age=300,
        max_future=60,
    )


def compact(body: Any) -> bytes:
    """Zoom's serialisation: compact, UTF-8, nothing escaped that need not be."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def settle(control) -> None:
    assert control.wait_for_webhooks(WAIT), "the simulator did not finish delivering in time"


def me(api) -> str:
    answer = api("GET", "/users/me")
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def api_create(api, user_id: str, kind: str = "meeting", **fields: Any) -> dict[str, Any]:
    body = {"topic": "Kurs", "start_time": START, "duration": 60, **fields}
    answer = api("POST", f"/users/{user_id}/{kind}s", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def raw_bodies(receiver) -> list[bytes]:
    with receiver.lock:
        return [item["body"] for item in receiver.received]


def produced(sim) -> list[bytes]:
    """Every body the simulator produced, in the order produced (duplicates left out)."""
    return [m.body for m in list(sim.sim.dispatcher.messages) if m.duplicate_of is None]


def leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path, value) of every scalar, in document order."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for n, item in enumerate(value) for leaf in leaves(item, (*path, n))]
    return [(path, value)]


def shape(body: Any) -> list[tuple[tuple, str]]:
    return [(path, type(value).__name__) for path, value in leaves(body)]


def zoom_after(start: str, seconds: int) -> str:
    moment = datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


# --- every change arrives as its event ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_api_create_patch_delete_arrive_as_created_updated_deleted(kind, api, control, receiver):
    user_id = me(api)
    made = api_create(api, user_id, kind, topic="Kurs A")
    number = made["id"]
    assert api("PATCH", f"/{kind}s/{number}", json={"topic": "Kurs B", "duration": 90}).status_code == 204
    assert api("DELETE", f"/{kind}s/{number}").status_code == 204
    settle(control)

    bodies = receiver.bodies()
    assert [b["event"] for b in bodies] == [f"{kind}.created", f"{kind}.updated", f"{kind}.deleted"]
    created, updated, deleted = (b["payload"] for b in bodies)
    assert created["object"]["id"] == number and type(created["object"]["id"]) is int
    assert created["object"]["uuid"] == made["uuid"]
    assert created["object"]["topic"] == "Kurs A"
    assert created["object"]["start_time"] == START
    assert created["object"]["creation_source"] == "open_api"
    assert updated["object"] == {"id": number, "topic": "Kurs B", "duration": 90}
    assert updated["old_object"] == {"id": number, "topic": "Kurs A", "duration": 60}
    assert type(updated["time_stamp"]) is int
    assert deleted["object"]["id"] == number and deleted["object"]["topic"] == "Kurs B"
    for payload in (created, updated, deleted):
        assert payload["operator"] == "host@zoomsim.example"
        assert payload["operator_id"] == user_id


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_api_registrant_changes_arrive_as_registration_events(kind, api, control, receiver):
    user_id = me(api)
    number = api_create(api, user_id, kind, settings={"approval_type": 1})["id"]
    one = f"/{kind}s/{number}"

    def register(email: str, first_name: str) -> str:
        answer = api("POST", f"{one}/registrants", json={"email": email, "first_name": first_name, "last_name": "L"})
        assert answer.status_code == 201, answer.text
        return answer.json()["registrant_id"]

    def status(action: str, registrant_id: str) -> None:
        change = {"action": action, "registrants": [{"id": registrant_id}]}
        answer = api("PUT", f"{one}/registrants/status", json=change)
        assert answer.status_code == 204, answer.text

    ada = register("ada@example.org", "Ada")
    status("approve", ada)
    batch = api(
        "POST",
        f"{one}/batch_registrants",
        json={"auto_approve": True, "registrants": [{"email": "ben@example.org", "first_name": "Ben"}]},
    )
    assert batch.status_code == 201, batch.text
    [ben] = [r["registrant_id"] for r in batch.json()["registrants"]]
    status("cancel", ben)
    cy = register("cy@example.org", "Cy")
    status("deny", cy)
    dee = register("dee@example.org", "Dee")
    assert api("DELETE", f"{one}/registrants/{dee}").status_code == 204
    settle(control)

    got = [(b["event"], b["payload"]["object"].get("registrant", {}).get("id")) for b in receiver.bodies()]
    prefix = f"{kind}.registration_"
    assert got == [
        (f"{kind}.created", None),
        (prefix + "created", ada),
        (prefix + "approved", ada),
        (prefix + "created", ben),
        (prefix + "cancelled", ben),
        (prefix + "created", cy),
        (prefix + "denied", cy),
        (prefix + "created", dee),
        (prefix + "cancelled", dee),
    ]
    bodies = receiver.bodies()
    assert bodies[1]["payload"]["object"]["registrant"]["status"] == "pending"
    assert bodies[3]["payload"]["object"]["registrant"]["status"] == "approved"
    assert bodies[1]["payload"]["object"]["registrant"]["email"] == "ada@example.org"
    for body in bodies[1:]:
        assert body["payload"]["object"]["id"] == number


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_portal_create_edit_delete_arrive_as_created_updated_deleted(kind, sim, control, receiver):
    made = control.create_meeting(kind=kind, topic="Portal", start_time=START, duration=45)
    number = made["id"]
    assert control.edit_meeting(number, topic="Portal 2") == {"changed": {"topic": "Portal 2"}}
    control.delete_meeting(number)
    settle(control)

    bodies = receiver.bodies()
    assert [b["event"] for b in bodies] == [f"{kind}.created", f"{kind}.updated", f"{kind}.deleted"]
    created, updated, deleted = (b["payload"] for b in bodies)
    assert created["object"]["id"] == number
    assert created["object"]["creation_source"] == "web_portal"
    assert created["object"]["duration"] == 45
    assert updated["object"] == {"id": number, "topic": "Portal 2"}
    assert updated["old_object"] == {"id": number, "topic": "Portal"}
    assert deleted["object"]["id"] == number
    host = next(u for u in control.state()["users"] if u["email"] == "host@zoomsim.example")
    for payload in (created, updated, deleted):
        assert (payload["operator"], payload["operator_id"]) == (host["email"], host["id"])


def test_api_and_portal_patch_of_the_same_field_have_the_same_payload_shape(api, control, receiver):
    user_id = me(api)
    number = api_create(api, user_id, topic="Erst")["id"]
    assert api("PATCH", f"/meetings/{number}", json={"topic": "Zweit"}).status_code == 204
    control.call("PATCH", f"/meetings/{number}", {"topic": "Dritt", "operator": OTHER_USER})
    settle(control)

    by_api, by_portal = [b for b in receiver.bodies() if b["event"] == "meeting.updated"]
    assert shape(by_api) == shape(by_portal)  # same keys, same order, same types
    api_values, portal_values = dict(leaves(by_api)), dict(leaves(by_portal))
    differing = {path for path in api_values if api_values[path] != portal_values[path]}
    allowed = {
        ("payload", "operator"),
        ("payload", "operator_id"),
        ("payload", "object", "topic"),
        ("payload", "old_object", "topic"),
        ("payload", "time_stamp"),
        ("event_ts",),
    }
    assert differing <= allowed
    assert {("payload", "operator"), ("payload", "operator_id"), ("payload", "object", "topic")} <= differing
    assert by_api["payload"]["operator"] == "host@zoomsim.example"
    assert by_portal["payload"]["operator"] == OTHER_USER
    assert by_portal["payload"]["old_object"] == {"id": number, "topic": "Zweit"}
    assert by_portal["payload"]["object"] == {"id": number, "topic": "Dritt"}


# --- signing and the bytes on the wire ------------------------------------------------------


def test_every_delivery_verifies_with_the_service_verifier_and_carries_zoom_headers(api, control, receiver):
    user_id = me(api)
    number = api_create(api, user_id, settings={"approval_type": 0})["id"]
    api("PATCH", f"/meetings/{number}", json={"agenda": "Lesen"})
    api("POST", f"/meetings/{number}/registrants", json={"email": "eve@example.org", "first_name": "Eve"})
    control.edit_meeting(number, duration=30)
    control.delete_meeting(number)
    settle(control)

    with receiver.lock:
        received = list(receiver.received)
    assert len(received) == 5
    for item in received:
        headers = lower(item["headers"])
        verified = verify_delivery(headers, item["body"])
        assert verified.secret == SECRET
        assert verified.timestamp == int(headers["x-zm-request-timestamp"])
        assert headers["x-zm-signature"].startswith("v0=")
        assert headers["x-zm-trackingid"]
        assert headers["x-zm-request-id"]
        assert headers["user-agent"] == "Zoom Marketplace/1.0a"
        assert headers["content-type"].split(";")[0].strip() == "application/json"
        with pytest.raises(SignatureError):
            verify_delivery(headers, item["body"], secret="not-the-subscription-secret")


def test_body_bytes_are_compact_json_with_non_ascii_unescaped(api, control, receiver):
    topic = "Über Kurs 🚀"
    api_create(api, me(api), topic=topic)
    settle(control)

    [item] = receiver.received
    body = item["body"]
    assert topic.encode("utf-8") in body
    assert b"\\u" not in body
    assert body == compact(json.loads(body))
    assert body.startswith(b'{"event":"meeting.created","payload":{')
    verify_delivery(item["headers"], body)
    # the same event re-serialised the way Python does by default no longer verifies: the raw bytes count
    with pytest.raises(SignatureError):
        verify_delivery(item["headers"], json.dumps(json.loads(body)).encode("utf-8"))


# --- retries --------------------------------------------------------------------------------


def test_5xx_is_retried_until_answered_with_the_same_body_signed_afresh(sim, control, receiver):
    receiver.answers = [503, 503]
    control.create_meeting(topic="Wiederholt")
    settle(control)

    rows = control.deliveries("meeting.created")
    assert [r["attempt"] for r in rows] == [1, 2, 3]
    assert [r["status"] for r in rows] == [503, 503, 200]
    assert len({r["message_id"] for r in rows}) == 1
    with receiver.lock:
        received = list(receiver.received)
    assert len(received) == 3  # and no more: nothing is pending after the 200
    assert control.call("GET", "/webhooks")["pending"] == 0
    assert len({item["body"] for item in received}) == 1
    for item in received:
        verify_delivery(item["headers"], item["body"])
    stamps = [int(lower(item["headers"])["x-zm-request-timestamp"]) for item in received]
    # the third try comes at least 5 + 20 minutes (scaled: 1.5 s) after the first: a later timestamp of its own
    assert stamps == sorted(stamps) and stamps[2] > stamps[0]


def test_retry_spacing_grows_as_zoom_5_then_20_minutes_scaled(sim, control):
    arrivals: list[float] = []
    answers = [503, 503]
    app = Flask("timed-receiver")

    @app.post("/hook")
    def hook():
        arrivals.append(time.monotonic())
        return "", answers.pop(0) if answers else 200

    with serving(app) as url:
        control.webhook_settings(targets=[url + "/hook"])
        control.create_meeting(topic="Abstand")
        settle(control)

    assert len(arrivals) == 3
    first_gap, second_gap = arrivals[1] - arrivals[0], arrivals[2] - arrivals[1]
    scale = sim.sim.config.retry_scale
    assert first_gap >= 5 * 60 * scale * 0.95  # never earlier than Zoom's delay (scaled)
    assert second_gap >= 20 * 60 * scale * 0.95
    assert second_gap > first_gap


def test_after_four_failures_there_are_exactly_four_attempts(sim, control, receiver):
    control.webhook_settings(retry_scale=0.0002)  # 5, 20, 60 minutes become 0.06, 0.24, 0.72 s
    receiver.answers = [500, 500, 500, 500]
    control.create_meeting(topic="Aufgegeben")
    settle(control)

    rows = control.deliveries("meeting.created")
    assert [r["attempt"] for r in rows] == [1, 2, 3, 4]
    assert [r["status"] for r in rows] == [500, 500, 500, 500]
    assert len(receiver.received) == 4
    assert control.call("GET", "/webhooks")["pending"] == 0  # no fifth attempt is scheduled


def test_a_3xx_or_4xx_answer_is_never_retried(sim, control, receiver):
    statuses = [302, 400, 401, 404]
    receiver.answers = list(statuses)
    for status in statuses:
        control.create_meeting(topic=f"Verloren {status}")
    settle(control)

    rows = control.deliveries("meeting.created")
    assert [(r["attempt"], r["status"]) for r in rows] == [(1, status) for status in statuses]
    assert len({r["message_id"] for r in rows}) == len(statuses)
    assert len(receiver.received) == len(statuses)
    assert control.call("GET", "/webhooks")["pending"] == 0


def test_a_redirect_is_the_answer_never_followed_nor_retried(sim, control):
    # A service mounted at the wrong path (a trailing slash...) loses events at Zoom: so it must here.
    reached: list[str] = []
    app = Flask("redirecting")

    @app.post("/hook")
    def moved():
        return "", 308, {"Location": "/hook/"}

    @app.post("/hook/")
    def moved_to():
        reached.append(request.get_data(as_text=True))
        return "", 200

    with serving(app) as base:
        control.webhook_settings(targets=[f"{base}/hook"])
        control.create_meeting(topic="Moved")
        settle(control)

    assert [(r["attempt"], r["status"]) for r in control.deliveries("meeting.created")] == [(1, 308)]
    assert reached == []


def test_a_reset_drops_the_retries_of_what_was_sent_before(sim, control, receiver):
    receiver.answers = [503]
    control.create_meeting(topic="Before the reset")
    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.02)
    control.reset()  # the 503's retry is due 0.3 s later (5 minutes scaled 0.001)
    time.sleep(1.0)

    assert len(receiver.received) == 1
    assert control.deliveries() == [] and control.call("GET", "/webhooks")["pending"] == 0


def test_a_bad_delivery_setting_changes_nothing(sim, api, control, receiver):
    with pytest.raises(RuntimeError, match="400"):
        control.webhook_settings(order="bogus")
    with pytest.raises(RuntimeError, match="400"):
        control.webhook_settings(duplicate_share="many")
    assert control.call("GET", "/webhooks")["settings"]["order"] == "in_order"

    api_create(api, me(api), topic="Still delivered")
    settle(control)
    assert receiver.events() == ["meeting.created"]


def test_a_receiver_that_is_not_listening_is_retried():
    closed_url = f"http://127.0.0.1:{free_port()}/hook"
    running = start_simulator(webhook_urls=(closed_url,), retry_scale=0.0002)
    try:
        control = running.control
        control.create_meeting(topic="Niemand da")
        settle(control)
        rows = control.deliveries("meeting.created")
    finally:
        running.stop()
    assert [r["attempt"] for r in rows] == [1, 2, 3, 4]
    assert all(r["status"] is None and r["error"] for r in rows)
    assert all(r["target"] == closed_url for r in rows)


# --- delivery order -------------------------------------------------------------------------


def make_changes(api) -> None:
    """Six changes, six events with six different bodies."""
    user_id = me(api)
    for n in range(3):
        number = api_create(api, user_id, topic=f"Kurs {n}")["id"]
        assert api("PATCH", f"/meetings/{number}", json={"duration": 30 + n}).status_code == 204


def hold_changes(sim, api, control, receiver, seed: int = 1234) -> list[bytes]:
    settings = control.webhook_settings(hold=True, seed=seed)
    assert settings["hold"] is True
    make_changes(api)
    settle(control)
    assert receiver.received == []  # held, not sent
    assert control.state()["webhooks"]["held"] == 6
    return produced(sim)


def test_held_events_flushed_shuffled_arrive_all_in_another_order(sim, api, control, receiver):
    held = hold_changes(sim, api, control, receiver)
    assert control.flush(order="shuffled") == 6
    settle(control)

    got = raw_bodies(receiver)
    assert Counter(got) == Counter(held)
    assert len(set(held)) == 6
    assert got != held


@pytest.mark.parametrize("order", ["reversed", "in_order"])
def test_held_events_flushed_reversed_or_in_order_arrive_in_that_order(order, sim, api, control, receiver):
    held = hold_changes(sim, api, control, receiver)
    assert control.flush(order=order) == 6
    settle(control)

    expected = list(reversed(held)) if order == "reversed" else held
    assert raw_bodies(receiver) == expected


def test_duplicate_share_one_sends_every_event_twice_each_copy_after_its_original(sim, api, control, receiver):
    held = hold_changes(sim, api, control, receiver)
    control.flush(duplicate_share=1.0)
    settle(control)

    got = raw_bodies(receiver)
    assert Counter(got) == Counter(held * 2)
    rows = control.deliveries()
    assert len(rows) == 12
    position = {row["message_id"]: n for n, row in enumerate(rows)}
    copies = [row for row in rows if row["duplicate_of"] is not None]
    assert len(copies) == 6
    assert {row["duplicate_of"] for row in copies} == {row["message_id"] for row in rows if row["duplicate_of"] is None}
    for copy in copies:
        assert position[copy["message_id"]] > position[copy["duplicate_of"]]


def test_one_delivery_thread_in_order_delivers_in_the_order_produced(sim, api, control, receiver):
    settings = control.call("GET", "/webhooks")["settings"]
    assert settings["concurrency"] == 1 and settings["order"] == "in_order"
    make_changes(api)
    settle(control)

    assert raw_bodies(receiver) == produced(sim)
    assert len(receiver.received) == 6


# --- a meeting's life -----------------------------------------------------------------------


def test_a_played_meeting_arrives_as_started_joined_left_pairs_and_ended(sim, control, receiver):
    number = control.create_meeting(topic="Leben", start_time=START, duration=60)["id"]
    settle(control)
    assert receiver.events() == ["meeting.created"]
    script = {
        "end_after": 3600,
        "participants": [
            # one person on two devices
            {
                "name": "Ada",
                "email": "ada@x.org",
                "sessions": [{"join": 0, "leave": 3000}, {"join": 120, "leave": 1800}],
            },
            # a re-join
            {
                "name": "Ben",
                "email": "ben@x.org",
                "sessions": [{"join": 60, "leave": 900}, {"join": 1200, "leave": 3300}],
            },
            # a guest without an email
            {"name": "Gast", "email": "", "sessions": [{"join": 300, "leave": 2400}]},
            # a leave whose webhook is lost
            {"name": "Cy", "email": "cy@x.org", "sessions": [{"join": 600, "leave": 2000, "lose_leave": True}]},
        ],
    }
    played = control.play(number, script)
    settle(control)

    bodies = receiver.bodies()[1:]
    events = [b["event"] for b in bodies]
    assert events[0] == "meeting.started" and events[-1] == "meeting.ended"
    assert events.count("meeting.started") == 1 and events.count("meeting.ended") == 1
    joined = [b["payload"]["object"]["participant"] for b in bodies if b["event"] == "meeting.participant_joined"]
    left = [b["payload"]["object"]["participant"] for b in bodies if b["event"] == "meeting.participant_left"]
    assert len(joined) == 6 and len(left) == 5
    for body in bodies:
        assert body["payload"]["object"]["id"] == str(number)
        assert body["payload"]["object"]["uuid"] == played["uuid"]

    started, ended = bodies[0]["payload"]["object"], bodies[-1]["payload"]["object"]
    assert started["start_time"] == START
    assert ended["end_time"] == zoom_after(START, 3600)

    assert sorted((p["user_name"], p["join_time"]) for p in joined) == sorted(
        (person["name"], zoom_after(START, session["join"]))
        for person in script["participants"]
        for session in person["sessions"]
    )
    assert sorted((p["user_name"], p["leave_time"]) for p in left) == sorted(
        (person["name"], zoom_after(START, session["leave"]))
        for person in script["participants"]
        for session in person["sessions"]
        if not session.get("lose_leave")
    )
    # pairs: every leave closes a join of the same session, after it
    joins_by_session = {p["user_id"]: p for p in joined}
    assert len(joins_by_session) == 6  # user_id is per join session
    for p in left:
        assert p["user_id"] in joins_by_session
        assert p["leave_time"] >= joins_by_session[p["user_id"]]["join_time"]
        assert p["participant_uuid"] == joins_by_session[p["user_id"]]["participant_uuid"]
    arrived = {
        (b["event"], b["payload"]["object"]["participant"]["user_id"]): n
        for n, b in enumerate(bodies)
        if "participant" in b["payload"]["object"]
    }
    for p in left:
        session = p["user_id"]
        assert arrived[("meeting.participant_left", session)] > arrived[("meeting.participant_joined", session)]
    unpaired = set(joins_by_session) - {p["user_id"] for p in left}
    assert [joins_by_session[s]["user_name"] for s in unpaired] == ["Cy"]
    # the same person keeps one participant_uuid across devices and re-joins
    for name in ("Ada", "Ben"):
        sessions = [p for p in joined if p["user_name"] == name]
        assert len({p["user_id"] for p in sessions}) == 2
        assert len({p["participant_uuid"] for p in sessions}) == 1
    [guest] = [p for p in joined if p["user_name"] == "Gast"]
    assert guest["email"] == ""
    assert [s["leave_lost"] for s in played["sessions"] if s["name"] == "Cy"] == [True]


# --- url validation and hand-written events -------------------------------------------------


def validation_receiver(answer_token) -> Flask:
    """Answers Zoom's endpoint.url_validation challenge (after checking Zoom's signature)."""
    app = Flask("validating-receiver")

    @app.post("/hook")
    def hook():
        body = request.get_data()
        try:
            verify_delivery(dict(request.headers), body)
        except SignatureError as exc:
            return jsonify(error=str(exc)), 401
        event = json.loads(body)
        if event.get("event") != "endpoint.url_validation":
            return "", 200
        plain = event["payload"]["plainToken"]
        return jsonify(plainToken=plain, encryptedToken=answer_token(plain))

    return app


def test_url_validation_of_a_receiver_that_answers_correctly_is_valid(sim, control):
    def right(plain: str) -> str:
        return hmac.new(SECRET.encode(), plain.encode(), hashlib.sha256).hexdigest()

    with serving(validation_receiver(right)) as url:
        results = control.call("POST", "/webhooks/validate", {"target": url + "/hook"})["results"]
    result = results[url + "/hook"]
    assert result["valid"] is True, result
    assert result["status"] == 200


def test_url_validation_of_a_receiver_that_answers_a_wrong_token_is_not_valid(sim, control):
    with serving(validation_receiver(lambda plain: "0" * 64)) as url:
        results = control.call("POST", "/webhooks/validate", {"target": url + "/hook"})["results"]
    result = results[url + "/hook"]
    assert result["valid"] is False
    assert result["reason"]
    assert "0" * 64 in result["reason"]


def test_send_body_delivers_that_body_signed(sim, control, receiver):
    body = {"event": "meeting.sharing_started", "payload": {"object": {"topic": "Ärger 🚀", "id": 1}}, "event_ts": 1}
    control.send(body)
    settle(control)

    [item] = receiver.received
    assert item["body"] == compact(body)
    verify_delivery(item["headers"], item["body"])


def test_send_raw_delivers_exactly_those_bytes_signed(sim, control, receiver):
    control.call("POST", "/webhooks/send", {"raw": "not json"})
    settle(control)

    [item] = receiver.received
    assert item["body"] == b"not json"
    verify_delivery(item["headers"], item["body"])
