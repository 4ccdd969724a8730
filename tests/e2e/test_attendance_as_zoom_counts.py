"""End to end: attendance as Zoom counts it, through the Procfile's release, web and worker processes.

An academy is connected to the simulated Zoom account (Server-to-Server); the
worker creates the meeting and the webinar there and registers the learners. The
simulator then plays, from Zoom's documents, a meeting with a waiting room
(admitted, never admitted), a breakout room whose rows lack id and email, a
failover and a phone caller who binds, and a webinar's practice session followed
by the live webinar. Each person's attendance, waiting time and completion must
equal the simulator's own answer, from the live events and again after Zoom's
participant report has been read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from chaos.drill import daytime_zone
from service.token_box import new_key
from tests.e2e.conftest import SECRET, procfile_processes, wait_for
from tests.e2e.test_procfile import AUTH
from zoomsim.config import SimConfig, default_spec_dir
from zoomsim.server import serve_in_thread

pytestmark = pytest.mark.e2e

HELD = 10**9  # the simulator's report_delay while a test looks at the live estimate: Zoom has no report yet
REPORT_WAIT = 120  # seconds the service keeps asking for a report that is not there yet, every 2 s
PEOPLE = {
    "ann@example.org": "Ann Able",
    "fay@example.org": "Fay Fail",
    "phil@example.org": "Phil Phone",
    "nia@example.org": "Nia Never",
}


def _script(start: datetime) -> dict:
    return {
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_after": 3600,
        "participants": [
            {
                "name": "Ann Able",
                "email": "ann@example.org",
                "room_rows_blank": True,
                "sessions": [{"join": 0, "waiting": 120, "rooms": [{"at": 600, "until": 1200, "room": "Red"}]}],
            },
            {
                "name": "Fay Fail",
                "email": "fay@example.org",
                "sessions": [{"join": 60, "leave": 3000, "failover_at": 1800}],
            },
            {
                "name": "Phil Phone",
                "email": "phil@example.org",
                "sessions": [{"join": 300, "leave": 2400}],
                "phone": {"number": "+15550100", "join": 1000, "leave": 3300, "bind_at": 1100},
            },
            {
                "name": "Nia Never",
                "email": "nia@example.org",
                "sessions": [{"join": 90, "leave": 400, "never_admitted": True}],
            },
        ],
    }


@pytest.fixture
def system(stack_env, tmp_path):
    """The simulator first (the service must know where Zoom is), then release, web and worker."""
    sim = serve_in_thread(
        SimConfig(
            control=True,
            webhook_urls=(f"http://127.0.0.1:{stack_env['PORT']}/webhooks/zoom",),
            webhook_secret=SECRET,
            retry_scale=0.001,
            spec_dir=default_spec_dir(),
            seed=17,
            report_delay=HELD,
        )
    )
    env = {
        **stack_env,
        "ZOOM_API_BASE_URL": f"{sim.url}/v2",
        "ZOOM_OAUTH_BASE_URL": sim.url,
        "TOKEN_ENCRYPTION_KEY": new_key(),
        "REPORT_DELAYS": ",".join(["1"] + ["2"] * (REPORT_WAIT // 2)),
    }
    try:
        with procfile_processes(env, tmp_path) as running:
            yield Lms(f"{running.base}/api/v1", running.procs, running.logs), sim
    finally:
        sim.stop()


class Lms:
    def __init__(self, api: str, procs, logs):
        self.api, self.procs, self.logs = api, procs, logs
        self.headers = AUTH

    def call(self, method: str, path: str, body: dict | None = None, expect: int = 200) -> dict:
        answer = requests.request(method, f"{self.api}{path}", json=body, headers=self.headers, timeout=10)
        assert answer.status_code == expect, (path, answer.status_code, answer.text)
        return answer.json()

    def wait(self, check, what: str, timeout: float = 60.0):
        found = []

        def probe():
            got = check()
            if got:
                found.append(got)
            return bool(got)

        wait_for(probe, what, self.procs, self.logs, timeout=timeout)
        return found[-1]

    def figures(self, training_id: int) -> dict:
        body = self.call("GET", f"/trainings/{training_id}/attendance")
        return {
            "attended": {i["email"]: i["attended_seconds"] for i in body["items"]},
            "waiting": {i["email"]: i["waiting_seconds"] for i in body["items"] if i["waiting_seconds"]},
            "completion": {i["email"]: i["completion"] for i in body["items"]},
            "guests": [(g["name"], g["attended_seconds"]) for g in body["unmatched"]],
        }


def _connected_academy(lms: Lms, sim) -> None:
    cfg = sim.sim.config
    academy = lms.call("POST", "/academies", {"name": "Attendance E2E"}, expect=201)
    connection = {
        "kind": "server_to_server",
        "account_id": cfg.account_id,
        "client_id": cfg.s2s_client_id,
        "client_secret": cfg.s2s_client_secret,
    }
    lms.call("PUT", f"/academies/{academy['id']}/zoom-connection", connection)
    host = lms.call("POST", "/users", {"email": cfg.host_email, "name": "Harper Host", "role": "publisher"}, expect=201)
    lms.headers = {**AUTH, "X-Acting-User": str(host["id"])}
    return academy["id"], host["id"]


def _training(lms: Lms, sim, academy_id: int, host_id: int, kind: str, start: datetime) -> tuple[dict, dict]:
    body = {
        "academy_id": academy_id,
        "theme": f"Attendance as Zoom counts it ({kind})",
        "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": 60,
        "timezone": daytime_zone(start),
        "meeting_type": kind,
        "organizer_id": host_id,
    }
    created = lms.call("POST", "/trainings", body, expect=201)
    users = {}
    for email, name in PEOPLE.items():
        user = lms.call("POST", "/users", {"email": email, "name": name}, expect=201)
        lms.call("POST", f"/trainings/{created['id']}/registrants", {"user_id": user["id"]}, expect=201)
        users[email] = user["id"]
    shown = lms.wait(
        lambda: (t := lms.call("GET", f"/trainings/{created['id']}"))["zoom"]["meeting_id"] and t,
        f"the worker to create the {kind} in Zoom",
    )
    meeting_id = shown["zoom"]["meeting_id"]
    lms.wait(
        lambda: len(sim.control.meeting(meeting_id)["registrants"]) == len(PEOPLE),
        "the learners to be registered in Zoom",
    )
    return shown, users


def _publish_the_report(sim) -> None:
    """Zoom's report appears late (until then a 404): held until the test has seen the live estimate."""
    with sim.sim.world.lock:
        sim.sim.config.report_delay = 0


def test_a_meeting_with_waiting_and_breakout_rooms_a_failover_and_a_phone(system):
    lms, sim = system
    academy_id, host_id = _connected_academy(lms, sim)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # it ends now: the report follows soon
    training, _ = _training(lms, sim, academy_id, host_id, "meeting", start)
    played = sim.control.play(training["zoom"]["meeting_id"], _script(start))
    expected = {email: played["attendance"].get(email, 0) for email in PEOPLE}
    waited = {email: seconds for email, seconds in played["waiting"].items() if email in PEOPLE}
    assert expected["ann@example.org"] == 3600 - 120 and expected["nia@example.org"] == 0  # Zoom's rule
    assert sim.control.wait_for_webhooks(30)

    # The meeting's end is applied too (it plans the report pull): the joins and leaves alone can already
    # add up to Zoom's figures before meeting.ended is reconciled.
    lms.wait(
        lambda: lms.call("GET", f"/trainings/{training['id']}")["zoom"]["report"] is not None,
        "the meeting's end to plan the report pull",
    )
    live = lms.wait(
        lambda: (f := lms.figures(training["id"]))["attended"] == expected and f,
        "the live estimate to equal Zoom's own figures",
    )
    assert lms.call("GET", f"/trainings/{training['id']}")["zoom"]["report"]["status"] == "pending"  # held
    assert live["waiting"] == waited
    assert live["guests"] == []  # the bound phone is Phil's
    assert set(live["completion"].values()) == {"pending"}  # the report is not read yet

    _publish_the_report(sim)
    lms.wait(
        lambda: lms.call("GET", f"/trainings/{training['id']}")["zoom"]["report"]["status"] == "done",
        "Zoom's participant report to be read",
        timeout=REPORT_WAIT,
    )
    reported = lms.figures(training["id"])
    assert reported["attended"] == expected
    assert reported["waiting"] == waited
    assert reported["guests"] == []
    assert reported["completion"] == {email: "completed" if expected[email] else "not_completed" for email in PEOPLE}


def test_a_webinars_practice_session_is_not_the_webinar(system):
    lms, sim = system
    academy_id, host_id = _connected_academy(lms, sim)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=50)
    training, _ = _training(lms, sim, academy_id, host_id, "webinar", start)
    webinar_id = training["zoom"]["meeting_id"]
    rehearsal = {
        "start": (start - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_after": 1800,
        "practice": True,
        "participants": [{"name": "Pat Panelist", "email": "pat@example.org", "sessions": [{"join": 10}]}],
    }
    sim.control.play(webinar_id, rehearsal)
    assert sim.control.wait_for_webhooks(30)

    def rehearsal_applied():
        shown = lms.call("GET", f"/trainings/{training['id']}")
        events = lms.call("GET", f"/trainings/{training['id']}")["zoom"]
        return shown["status"] == "not_started" and events["report"] is None and shown

    lms.wait(lambda: sim.control.deliveries() and rehearsal_applied(), "the rehearsal to be applied")
    figures = lms.figures(training["id"])
    assert figures["guests"] == [] and set(figures["completion"].values()) == {"pending"}

    live = {
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_after": 3000,
        "participants": [
            {"name": "Ann Able", "email": "ann@example.org", "sessions": [{"join": 0, "leave": 1800}]},
            {"name": "Fay Fail", "email": "fay@example.org", "sessions": [{"join": 600}]},
        ],
    }
    played = sim.control.play(webinar_id, live)
    expected = {email: played["attendance"].get(email, 0) for email in PEOPLE}
    assert sim.control.wait_for_webhooks(30)
    lms.wait(
        lambda: (
            lms.call("GET", f"/trainings/{training['id']}")["zoom"]["report"] is not None
            and lms.figures(training["id"])["attended"] == expected
        ),
        "the live webinar to be applied",
    )
    assert lms.call("GET", f"/trainings/{training['id']}")["status"] == "completed"
    _publish_the_report(sim)
    lms.wait(
        lambda: lms.call("GET", f"/trainings/{training['id']}")["zoom"]["report"]["status"] == "done",
        "Zoom's participant report to be read",
        timeout=REPORT_WAIT,
    )
    report = lms.call("GET", f"/trainings/{training['id']}")["zoom"]["report"]
    assert report["instances"] == 1  # Zoom lists the rehearsal among the ended instances: not read
    reported = lms.figures(training["id"])
    assert reported["attended"] == expected
    assert reported["guests"] == []  # the rehearsal's panelist is nobody's guest
    assert reported["completion"] == {email: "completed" if expected[email] else "not_completed" for email in PEOPLE}
