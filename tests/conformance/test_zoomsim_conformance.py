"""The simulator (zoomsim) against Zoom's published documents: signatures, event schemas, API answers, endpoints.

The simulator is written from Zoom's documentation; these tests hold it to the documents
themselves. They live outside the project, at ../shared/zoom from the repository root, or
wherever ZOOM_SHARED_DIR points, and are read from there, never copied. When they are
absent every test here is skipped, with the path in the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft4Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conformance.shared import EVENTS_SPEC, MISSING, SHARED, VECTORS, absent, load_json
from tests.simulator.conftest import SECRET, Api, start_simulator
from zoomsim import events
from zoomsim.endpoints import ENDPOINTS
from zoomsim.signing import encrypted_token, signature
from zoomsim.validation import SpecValidator

EVENTS_URI = "urn:zoom:meeting-events-spec"
KINDS = ("meeting", "webinar")
START = "2030-05-04T08:00:00Z"
# Every event the scenario below produces (app_deauthorized is not in the events spec: left out).
EVENT_TYPES = [
    f"{kind}.{action}"
    for kind in KINDS
    for action in (
        "created",
        "updated",
        "deleted",
        "registration_created",
        "registration_approved",
        "registration_denied",
        "registration_cancelled",
        "started",
        "participant_joined",
        "participant_left",
        "ended",
    )
]
# The one deliberate deviation from the events schema: real 2022 captures show `registrant_id: null`
# on join for a participant who did not register, where the schema says string.
NULL_REGISTRANT_ON_JOIN = ("payload", "object", "participant", "registrant_id")


# --- (a) signatures and serialisation ----------------------------------------------------------


def _vectors(kind: str) -> list:
    if absent() or not VECTORS.is_file():
        return [MISSING]
    key = "raw_body_utf8" if kind == "signature" else "url_validation_plainToken"
    return [v for v in load_json(VECTORS)["vectors"] if key in v] or [MISSING]


def _vector_id(vector) -> str:
    if vector == MISSING:
        return MISSING
    if "raw_body_utf8" in vector:
        return f"{json.loads(vector['raw_body_utf8']).get('event', '?')}@{vector['x-zm-request-timestamp']}"
    return f"token-{vector['url_validation_plainToken']}"


def _wrong_signature(vector: dict) -> str:
    (key,) = [k for k in vector if "WRONG" in k]
    return vector[key]


@pytest.mark.parametrize("vector", _vectors("signature"), ids=_vector_id)
def test_simulator_signature_reproduces_the_vector(vector):
    assert vector != MISSING, f"no signature vectors in {VECTORS}"
    secret, timestamp = vector["secret_token"], vector["x-zm-request-timestamp"]
    raw = vector["raw_body_utf8"].encode("utf-8")
    expected = vector["expected_x-zm-signature"]
    wrong = _wrong_signature(vector)

    assert signature(secret, timestamp, raw) == expected
    assert wrong != expected
    # the WRONG value is the signature of a json.dumps re-serialisation, which the simulator must not send
    assert signature(secret, timestamp, json.dumps(json.loads(raw)).encode("utf-8")) == wrong


@pytest.mark.parametrize("vector", _vectors("token"), ids=_vector_id)
def test_simulator_encrypted_token_reproduces_the_vector(vector):
    assert vector != MISSING, f"no url_validation vectors in {VECTORS}"
    plain = vector["url_validation_plainToken"]
    assert encrypted_token(vector["secret_token"], plain) == vector["expected_encryptedToken"]
    if "expected_response_body" in vector:
        answer = {"plainToken": plain, "encryptedToken": encrypted_token(vector["secret_token"], plain)}
        assert vector["expected_response_body"] == answer


@pytest.mark.parametrize("vector", _vectors("signature"), ids=_vector_id)
def test_simulator_serialises_bodies_byte_for_byte_as_zoom(vector):
    assert vector != MISSING, f"no signature vectors in {VECTORS}"
    raw = vector["raw_body_utf8"].encode("utf-8")
    assert events.serialize(json.loads(raw)) == raw


# --- a scenario: everything the simulator says, recorded once ---------------------------------


@dataclass
class Answer:
    label: str
    method: str
    template: str  # Zoom's path template, as in its OpenAPI files
    status: int
    body: Any
    alternative: str | None = None  # the titled `oneOf` alternative documented for this request


@dataclass
class Scenario:
    answers: dict[str, Answer]
    bodies: list[dict[str, Any]]  # every webhook body, in the order produced
    validating: bool
    requests: list[dict[str, Any]]


def _run_scenario(running) -> Scenario:
    control = running.control
    cfg = running.sim.config
    api = Api(running.url, control.s2s_token(cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id))
    # a scenario makes many calls in a second: lift the per-second limits until the 429 is wanted
    control.call("PUT", f"/accounts/{cfg.account_id}/limits", {"light": 1000, "medium": 1000, "heavy": 1000})
    answers: dict[str, Answer] = {}

    def call(label: str, method: str, template: str, path: str, alternative: str | None = None, **kwargs) -> Any:
        response = api(method, path, **kwargs)
        body = response.json() if response.content else None
        answers[label] = Answer(label, method, template, response.status_code, body, alternative)
        return body

    user = call("users/me", "GET", "/users/{userId}", "/users/me")
    user_id = user["id"]
    call("user settings", "GET", "/users/{userId}/settings", f"/users/{user_id}/settings", alternative="User settings")
    call("unknown user", "GET", "/users/{userId}", "/users/nobody@nowhere.example")

    for kind in KINDS:
        param = "meetingId" if kind == "meeting" else "webinarId"
        one, many = f"/{kind}s/{{{param}}}", f"/users/{{userId}}/{kind}s"
        fields = {"topic": f"Über {kind} 🚀", "start_time": START, "duration": 60, "settings": {"approval_type": 1}}
        made = call(f"create {kind}", "POST", many, f"/users/{user_id}/{kind}s", json=fields)
        number = made["id"]
        path = f"/{kind}s/{number}"
        api("PATCH", path, json={"topic": f"{kind} 2", "agenda": "Lesen", "settings": {"host_video": True}})
        control.edit_meeting(number, duration=90)
        call(f"get {kind}", "GET", one, path)
        call(f"list {kind}s", "GET", many, f"/users/{user_id}/{kind}s")

        ada = call(
            f"add {kind} registrant",
            "POST",
            f"{one}/registrants",
            f"{path}/registrants",
            json={"email": "ada@example.org", "first_name": "Ada", "last_name": "Lovelace"},
        )["registrant_id"]
        cy = api("POST", f"{path}/registrants", json={"email": "cy@example.org", "first_name": "Cy"}).json()
        api("PUT", f"{path}/registrants/status", json={"action": "approve", "registrants": [{"id": ada}]})
        api("PUT", f"{path}/registrants/status", json={"action": "deny", "registrants": [{"id": cy["registrant_id"]}]})
        batch = call(
            f"batch {kind} registrants",
            "POST",
            f"{one}/batch_registrants",
            f"{path}/batch_registrants",
            json={"auto_approve": True, "registrants": [{"email": "ben@example.org", "first_name": "Ben"}]},
        )
        ben = batch["registrants"][0]["registrant_id"]
        api("PUT", f"{path}/registrants/status", json={"action": "cancel", "registrants": [{"id": ben}]})
        call(f"list {kind} registrants", "GET", f"{one}/registrants", f"{path}/registrants")
        call(
            f"report of a {kind} not held",
            "GET",
            f"/report/{kind}s/{{{param}}}/participants",
            f"/report{path}/participants",
        )

        played = control.play(
            number,
            {
                "end_after": 3600,
                "participants": [
                    {"name": "Ada", "email": "ada@example.org", "sessions": [{"join": 0, "leave": 1800}]},
                    {"name": "Gast", "email": "", "sessions": [{"join": 60, "leave": 1200}, {"join": 1500}]},
                ],
            },
        )
        report = f"/report/{kind}s/{{{param}}}/participants"
        call(f"report {kind} participants", "GET", report, f"/report{path}/participants")
        call(
            f"report {kind} participants with registrant_id",
            "GET",
            report,
            f"/report{path}/participants",
            params={"include_fields": "registrant_id"},
        )
        uuid = quote(quote(played["uuid"], safe=""), safe="")  # double-encoded, as Zoom wants for any uuid
        past = f"/past_{kind}s/{{{param}}}"
        call(f"past {kind} participants", "GET", f"{past}/participants", f"/past_{kind}s/{uuid}/participants")
        call(f"past {kind} instances", "GET", f"{past}/instances", f"/past_{kind}s/{number}/instances")
        call(f"unknown {kind}", "GET", one, f"/{kind}s/1234567")
        refused = {"topic": "Zu lang", "start_time": START, "duration": 5000}
        call(f"create {kind} with duration 5000", "POST", many, f"/users/{user_id}/{kind}s", json=refused)
        api("DELETE", path)

    call("patch with a bad token", "PATCH", "/meetings/{meetingId}", "/meetings/1234567", token="nope", json={})
    number = api("POST", f"/users/{user_id}/meetings", json={"topic": "Schnell"}).json()["id"]
    control.call("PUT", f"/accounts/{cfg.account_id}/limits", {"light": 1})
    for _ in range(20):  # one LIGHT call a second: the second of two quick calls is refused
        call("too many requests", "GET", "/meetings/{meetingId}", f"/meetings/{number}")
        if answers["too many requests"].status == 429:
            break
    control.call("PUT", f"/accounts/{cfg.account_id}/limits", {"light": 30})
    control.wait_for_webhooks(20)
    bodies = [json.loads(m.body) for m in list(running.sim.dispatcher.messages)]
    return Scenario(answers, bodies, running.sim.validator is not None, control.requests())


@pytest.fixture(scope="module")
def running(shared_documents):
    sim = start_simulator(spec_dir=SHARED, webhook_urls=(), webhook_secret=SECRET)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def scenario(running) -> Scenario:
    return _run_scenario(running)


# --- (b) the events the simulator sends match the events spec ---------------------------------


@pytest.fixture(scope="module")
def events_registry(shared_documents) -> Registry:
    spec = load_json(EVENTS_SPEC)
    assert spec["openapi"].startswith("3.1")
    # a few of Zoom's `$ref`s point at `#/paths/...` although the events live under `#/webhooks/`
    fixed = json.loads(json.dumps(spec).replace('"#/paths/', '"#/webhooks/'))
    return Registry().with_resource(EVENTS_URI, Resource.from_contents(fixed, default_specification=DRAFT202012))


def _event_validator(registry: Registry, event_type: str) -> Draft202012Validator:
    pointer = f"{EVENTS_URI}#/webhooks/{event_type}/post/requestBody/content/application~1json/schema"
    return Draft202012Validator({"$ref": pointer}, registry=registry)  # no format checker: `format` not checked


def _is_null_registrant_on_join(event_type: str, error) -> bool:
    return (
        event_type.endswith(".participant_joined")
        and tuple(error.absolute_path) == NULL_REGISTRANT_ON_JOIN
        and error.instance is None
        and error.validator == "type"
    )


def _problems(errors) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in errors]


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_event_body_matches_the_events_spec(scenario, events_registry, event_type):
    bodies = [b for b in scenario.bodies if b["event"] == event_type]
    assert bodies, f"the scenario produced no {event_type}"
    validator = _event_validator(events_registry, event_type)
    for body in bodies:
        errors = [e for e in validator.iter_errors(body) if not _is_null_registrant_on_join(event_type, e)]
        assert not errors, f"{event_type}: {_problems(errors)}\n{json.dumps(body, ensure_ascii=False)}"


def test_every_event_the_scenario_produced_is_checked(scenario):
    assert {b["event"] for b in scenario.bodies} == set(EVENT_TYPES)


@pytest.mark.parametrize("kind", KINDS)
def test_unregistered_join_has_null_registrant_id_where_the_schema_says_string(scenario, events_registry, kind):
    event_type = f"{kind}.participant_joined"
    spec = load_json(EVENTS_SPEC)["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
    participant = spec["schema"]["properties"]["payload"]["properties"]["object"]["properties"]["participant"]
    assert participant["properties"]["registrant_id"]["type"] == "string"  # what the schema says

    joins = [b for b in scenario.bodies if b["event"] == event_type]
    guests = [b for b in joins if b["payload"]["object"]["participant"]["email"] == ""]
    registered = [b for b in joins if b["payload"]["object"]["participant"]["email"] == "ada@example.org"]
    assert guests and registered
    validator = _event_validator(events_registry, event_type)
    for body in guests:
        assert body["payload"]["object"]["participant"]["registrant_id"] is None  # what real captures show
        errors = list(validator.iter_errors(body))
        assert len(errors) == 1 and _is_null_registrant_on_join(event_type, errors[0]), _problems(errors)
    for body in registered:
        assert isinstance(body["payload"]["object"]["participant"]["registrant_id"], str)
        assert body["payload"]["object"]["participant"]["registrant_id"]
        assert not list(validator.iter_errors(body))
    # and on leave the same participant's registrant_id is "" (also as captured)
    lefts = [b["payload"]["object"]["participant"] for b in scenario.bodies if b["event"] == f"{kind}.participant_left"]
    assert {p["registrant_id"] for p in lefts if p["email"] == ""} == {""}


# --- (c) the simulator's API answers match the documented responses ----------------------------

ANSWERS = [
    ("users/me", 200),
    ("user settings", 200),
    ("unknown user", 404),
    *[
        (label.format(kind=kind), status)
        for kind in KINDS
        for label, status in (
            ("create {kind}", 201),
            ("get {kind}", 200),
            ("list {kind}s", 200),
            ("add {kind} registrant", 201),
            ("batch {kind} registrants", 201),
            ("list {kind} registrants", 200),
            ("report of a {kind} not held", 404),
            ("report {kind} participants", 200),
            ("report {kind} participants with registrant_id", 200),
            ("past {kind} participants", 200),
            ("past {kind} instances", 200),
            ("unknown {kind}", 404),
            ("create {kind} with duration 5000", 400),
        )
    ],
    ("patch with a bad token", 401),
    ("too many requests", 429),
]


@pytest.fixture(scope="module")
def spec_validator(shared_documents) -> SpecValidator:
    validator = SpecValidator.load(SHARED)
    assert validator is not None, f"Zoom's API descriptions missing in {SHARED}"
    return validator


def _documented_schema(spec_validator: SpecValidator, answer: Answer) -> dict[str, Any] | None:
    schema = spec_validator.response_schema(answer.method, answer.template, answer.status)
    if schema is None or answer.alternative is None:
        return schema
    # Zoom's `oneOf` alternatives are open objects that overlap (any body matches several): check the
    # alternative Zoom documents for this request, found by its title
    raw = spec_validator.operation(answer.method, answer.template)["responses"][str(answer.status)]
    titles = [alt.get("title") for alt in raw["content"]["application/json"]["schema"]["oneOf"]]
    assert answer.alternative in titles, f"no alternative {answer.alternative!r} among {titles}"
    return schema["oneOf"][titles.index(answer.alternative)]


@pytest.mark.parametrize(("label", "status"), ANSWERS, ids=[label for label, _ in ANSWERS])
def test_api_answer_matches_the_documented_response(scenario, spec_validator, label, status):
    assert label in scenario.answers, f"the scenario did not make the call {label!r}"
    answer = scenario.answers[label]
    assert answer.status == status, f"{label}: {answer.status} {answer.body}"
    operation = spec_validator.operation(answer.method, answer.template)
    assert operation is not None, f"{answer.method} {answer.template} is not in Zoom's API description"
    schema = _documented_schema(spec_validator, answer)
    if schema is None:
        assert status >= 400, f"{answer.method} {answer.template} documents no JSON schema for {status}"
        assert isinstance(answer.body, dict), answer.body
        assert type(answer.body.get("code")) is int and isinstance(answer.body.get("message"), str), answer.body
        return
    errors = list(Draft4Validator(schema).iter_errors(answer.body))  # no format checker: `format` not checked
    assert not errors, f"{label}: {_problems(errors)}"


# --- (d) the endpoint table agrees with the API descriptions ----------------------------------


def _listed(description: str, label: str) -> list[str] | None:
    """The back-quoted values after `**[label](...):**` in an operation's description."""
    match = re.search(r"\*\*\[" + re.escape(label) + r"\]\([^)]*\):\*\*([^\n]*)", description)
    return re.findall(r"`([^`]+)`", match.group(1)) if match else None


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_endpoint_table_agrees_with_the_api_description(spec_validator, endpoint):
    operation = spec_validator.operation(endpoint.method, endpoint.path)
    assert operation is not None, f"{endpoint.name} is not in Zoom's API description"
    description = operation.get("description", "")
    assert _listed(description, "Rate Limit Label") == [endpoint.category]
    documented = set(_listed(description, "Scopes") or []) | set(_listed(description, "Granular Scopes") or [])
    assert documented, f"{endpoint.name}: no scopes in the description"
    assert set(endpoint.scopes) == documented
    assert len(endpoint.scopes) == len(set(endpoint.scopes))


# --- (e) with the documents present the simulator validates requests ---------------------------


def test_simulator_validates_requests_against_the_api_description(running, scenario):
    assert running.sim.validator is not None
    assert scenario.validating
    refused = scenario.answers["create meeting with duration 5000"]
    assert refused.status == 400
    assert refused.body["code"] == 300
    assert [e["field"] for e in refused.body.get("errors", [])] == ["duration"]
    [logged] = [
        r
        for r in scenario.requests
        if r["method"] == "POST" and r["path"].endswith("/meetings") and (r["body"] or {}).get("duration") == 5000
    ]
    assert logged["validation_errors"], "the refusal did not come from the API description"
