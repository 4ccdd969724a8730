"""The /api/v1 API against its own OpenAPI document (service/openapi.json), with schemathesis (issue 7).

Every operation of the document is called in-process (WSGI) with the bearer
token, on both backends, and every answer must be no 5xx, a status the document
lists for that operation, of the content type it names, and of its schema.
Schemathesis draws valid and invalid requests (bodies, path ids, the
X-Acting-User header); ids are steered towards rows seeded first (a connected
academy whose training has its meeting in the Zoom simulator, a training with
attendance, guests and changes, users of each kind), so the routes answer from
real rows and not only with 404. The database is not reset between examples.

Schemathesis' own pytest entry for per-test apps (schemathesis.pytest.from_fixture)
fails on pytest 9.2 (it renames items through `Function._nodeid`, which is gone),
so each operation's strategies are run here with Hypothesis directly; the checks
are schemathesis' own. Deterministic by default (CI); HOSTILE_RANDOM=1 draws new
examples and HOSTILE_EXAMPLES=N runs N per operation, as in test_webhook_fuzz.py.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update

from models import Training
from tests.helpers import (
    AUTH,
    STAFF,
    acting,
    deliver,
    fixture,
    run_jobs,
    zoom_settings,
)
from workers.push import MISSING

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", 0)) or 50
MEETING_ID = 85212345678  # the meeting of tests/fixtures/zoom/meeting.*.json
# Offsets that push a time past datetime's ends, and times too near them for a session's arithmetic: refused.
REFUSED_TIMES = (
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:30:00+00:00",
    "9999-12-31T10:00:00+00:00",
)
TAKEN_TIMES = ("0002-01-01T00:00:00+00:00", "9997-12-31T12:00:00+00:00")  # the first and a last the API takes
EDGE_TIMES = REFUSED_TIMES + TAKEN_TIMES
ZONES = ("UTC", "Europe/Berlin", "Pacific/Kiritimati", "Etc/GMT+12")  # drawn names are rarely IANA's
DOCUMENT = Path(__file__).resolve().parents[2] / "service" / "openapi.json"


@dataclass(frozen=True)
class Seed:
    """Ids of the rows made before the run, by kind (the document's parameter and field names)."""

    academies: tuple[int, ...]
    users: tuple[int, ...]
    trainings: tuple[int, ...]
    managers: tuple[int, ...]
    guests: tuple[str, ...]  # keys of the attendance report's unmatched list

    def values_for(self, name: str) -> tuple:
        """What a drawn value of this parameter or field may be replaced by (nothing: it stays as drawn)."""
        if name == "guest":
            return self.guests
        if name == "start_time":
            return EDGE_TIMES
        if name == "timezone":
            return ZONES
        if name.startswith("academy"):
            return self.academies
        if name.startswith("training"):
            return self.trainings
        if name in ("x-acting-user", "organizer_id"):
            return self.managers + self.users
        if name.endswith("_id") and name != "zoom_meeting_id":
            return self.users
        return ()


@pytest.fixture
def settings(tmp_path, zoom):
    """The tests' settings, with Zoom at the simulator: start, end and connecting really reach "Zoom"."""
    return zoom_settings(tmp_path, zoom)


def _created(response) -> int:
    assert response.status_code in (200, 201), response.json
    return response.json["id"]


def _played_meeting(client) -> None:
    """The fixtures' meeting as Zoom reports it: started, renamed, a learner and a guest in and out, ended."""
    guest = copy.deepcopy(fixture("meeting.participant_joined"))
    guest["payload"]["object"]["participant"].update(
        {
            "user_id": "16778999",
            "user_name": "Guest",
            "id": "",
            "participant_uuid": "PU-guest-0001",
            "participant_user_id": "",
            "email": "guest@example.net",
        }
    )
    guest["event_ts"] += 1
    for body in (
        fixture("meeting.started"),
        fixture("meeting.updated"),
        fixture("meeting.participant_joined"),
        guest,
        fixture("meeting.participant_left"),
        fixture("meeting.ended"),
    ):
        assert deliver(client, body).status_code == 200


@pytest.fixture
def seed(app, client, session_factory, zoom) -> Seed:
    """A connected academy with a synced training and a registrant, and one whose meeting went missing in Zoom;
    an unconnected academy with a held meeting (attendance, a guest, changes from Zoom); users of each kind."""
    cfg = zoom.sim.config
    connected = _created(client.post("/api/v1/academies", json={"name": "Connected"}, headers=AUTH))
    s2s = {
        "kind": "server_to_server",
        "account_id": cfg.account_id,
        "client_id": cfg.s2s_client_id,
        "client_secret": cfg.s2s_client_secret,
    }
    answer = client.put(f"/api/v1/academies/{connected}/zoom-connection", json=s2s, headers=AUTH)
    assert answer.status_code == 200, answer.json
    plain = _created(client.post("/api/v1/academies", json={"name": "Plain"}, headers=AUTH))
    role = client.post("/api/v1/roles", json={"name": "trainer", "permissions": ["create_trainings"]}, headers=AUTH)
    assert role.status_code == 201, role.json
    host = _created(client.post("/api/v1/users", json=STAFF | {"email": cfg.host_email, "name": "Host"}, headers=AUTH))
    trainer = _created(
        client.post("/api/v1/users", json={"email": "t@example.org", "name": "T", "role": "trainer"}, headers=AUTH)
    )
    learner = _created(
        client.post("/api/v1/users", json={"email": "ada.learner@example.org", "name": "Ada"}, headers=AUTH)
    )
    no_email = _created(client.post("/api/v1/users", json={"name": "No Email"}, headers=AUTH))
    schedule = {"start_time": "2026-12-10T09:00:00+01:00", "duration": 60, "timezone": "Europe/Berlin"}
    synced = _created(
        client.post(
            "/api/v1/trainings",
            json=schedule | {"academy_id": connected, "theme": "In Zoom", "meeting_type": "meeting"},
            headers=acting(host),
        )
    )
    lost = _created(
        client.post(
            "/api/v1/trainings",
            json=schedule | {"academy_id": connected, "theme": "Lost in Zoom", "meeting_type": "meeting"},
            headers=acting(host),
        )
    )
    held = _created(
        client.post(
            "/api/v1/trainings",
            json={
                "academy_id": plain,
                "theme": "Held",
                "start_time": "2026-12-01T09:00:00+00:00",
                "duration": 60,
                "timezone": "UTC",
                "meeting_type": "meeting",
                "organizer_id": trainer,
                "min_attendance_percent": 50,
                "zoom_meeting_id": MEETING_ID,
            },
            headers=acting(trainer),
        )
    )
    for training in (synced, held):
        answer = client.post(f"/api/v1/trainings/{training}/registrants", json={"user_id": learner}, headers=AUTH)
        assert answer.status_code == 403  # no acting user: refused, and the document says so
        answer = client.post(
            f"/api/v1/trainings/{training}/registrants", json={"user_id": learner}, headers=acting(learner)
        )
        assert answer.status_code == 201, answer.json
    assert client.patch(f"/api/v1/trainings/{synced}", json={"duration": 45}, headers=acting(host)).status_code == 200
    _played_meeting(client)
    run_jobs(app)
    with session_factory() as session:  # as the push job flags it after Zoom answered 404 twice
        session.execute(update(Training).where(Training.id == lost).values(sync_issue=MISSING))
        session.commit()
    shown = client.get(f"/api/v1/trainings/{synced}", headers=AUTH).json
    assert shown["zoom"]["sync_state"] == "synced" and shown["zoom"]["meeting_id"], shown
    attendance = client.get(f"/api/v1/trainings/{held}/attendance", headers=AUTH).json
    assert attendance["items"] and attendance["unmatched"], attendance
    return Seed(
        academies=(connected, plain),
        users=(learner, no_email, host, trainer),
        trainings=(synced, held, lost),
        managers=(host, trainer),
        guests=tuple(guest["key"] for guest in attendance["unmatched"]),
    )


def _of_kind(value: int | str, replacements) -> list:
    """The seeded values as the drawn value's type; those that have no such form (a guest key for an
    integer the negative mode drew) are left out."""
    kind = str if isinstance(value, str) else int
    converted = []
    for replacement in replacements:
        try:
            converted.append(kind(replacement))
        except ValueError:
            continue
    return converted


def _towards(seed: Seed, values: dict | None) -> st.SearchStrategy:
    """The drawn values, each id swapped (or not, as drawn) for a seeded row of its kind.

    Likewise a start time for one near datetime's ends, a time zone for a real one and a guest for a seeded key:
    drawn at random, these almost never get past validation to the code that could fail on them.
    """
    if not isinstance(values, dict):
        return st.just(values)
    options = {}
    for name, value in values.items():
        replacements = seed.values_for(name.lower())
        seeded = _of_kind(value, replacements) if isinstance(value, (int, str)) and not isinstance(value, bool) else []
        if seeded:
            options[name] = st.sampled_from([value, *seeded])
        else:
            options[name] = st.just(value)
    return st.fixed_dictionaries(options)


def api_schema(app, seed: Seed):
    """The document as the app serves it (without a token), with ids steered towards the seeded rows."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.generation.update(with_security_parameters=False)  # the token is sent with every call

    @schema.hook
    def flatmap_path_parameters(_context, path_parameters):
        return _towards(seed, path_parameters)

    @schema.hook
    def flatmap_headers(_context, headers):
        return _towards(seed, headers)

    @schema.hook
    def flatmap_body(_context, body):
        return _towards(seed, body)

    return schema


def _operations() -> list[tuple[str, str]]:
    document = json.loads(DOCUMENT.read_text())
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_answer_is_one_the_document_describes(app, seed, method, path):
    """No 5xx; the status, content type and body of each answer are the ones documented for the operation.

    Valid and invalid requests alike (schemathesis' positive and negative modes), and the document's examples.
    """
    operation = api_schema(app, seed)[path][method]
    drawn = [operation.as_strategy(mode) for mode in GenerationMode]
    cases = st.one_of(*drawn, *operation.get_strategies_from_examples())

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not os.environ.get("HOSTILE_RANDOM"),
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def check(case):
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    check()


@pytest.mark.parametrize("start_time", EDGE_TIMES)
def test_times_near_the_ends_of_datetime_are_refused_or_kept_never_a_500(app, seed, start_time):
    """Too near datetime's ends, a time is a 422 on start_time (creating and editing); inside, it is a training."""
    schema = api_schema(app, seed)
    create, edit = schema["/api/v1/trainings"]["POST"], schema["/api/v1/trainings/{training_id}"]["PATCH"]
    acting_user = {"X-Acting-User": str(seed.managers[0])}
    for zone in ZONES:
        body = {
            "academy_id": seed.academies[1],
            "theme": "Edge",
            "start_time": start_time,
            "duration": 60,
            "timezone": zone,
            "meeting_type": "meeting",
        }
        created = create.Case(body=body, headers=acting_user).call_and_validate(headers=AUTH, checks=CHECKS)
        change = {"start_time": start_time, "timezone": zone}
        edited = edit.Case(
            path_parameters={"training_id": seed.trainings[1]}, body=change, headers=acting_user
        ).call_and_validate(headers=AUTH, checks=CHECKS)
        if start_time in REFUSED_TIMES:
            assert (created.status_code, edited.status_code) == (422, 422), (zone, created.text, edited.text)
            assert list(created.json()["fields"]) == list(edited.json()["fields"]) == ["start_time"]
        else:
            assert (created.status_code, edited.status_code) == (201, 200), (zone, created.text, edited.text)
