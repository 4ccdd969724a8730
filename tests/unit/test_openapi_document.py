"""service/openapi.json and the app agree: the same routes and methods, the same enums and limits as the code.

The document is written by hand; these tests keep it from drifting. What the API
answers is checked against it by tests/hostile/test_api_schema.py (schemathesis).
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import fakeredis
import pytest
from sqlalchemy import create_engine

from config import load_settings
from models import (
    CONNECTION_KINDS,
    CONNECTION_STATUSES,
    MEETING_TYPES,
    NOTIFICATION_KINDS,
    NOTIFICATION_STATUSES,
    PULL_STATUSES,
    THEME_MAX_LENGTH,
    TRAINING_STATUSES,
)
from models.sync_log import CHANGE_OUTCOMES, CHANGE_SOURCES
from service import api_schemas, errors, lms_rules
from service.api import ACTING_USER_HEADER, PUBLIC_ENDPOINTS
from service.app import create_app
from service.event_schemas import MAX_MEETING_NUMBER
from tests.helpers import API_TOKEN, AUTH

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "service" / "openapi.json"
DOCUMENT = json.loads(DOCUMENT_PATH.read_text())
SCHEMAS = DOCUMENT["components"]["schemas"]
PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}  # Werkzeug adds them to every rule


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app's routes need no database or Redis: an unmigrated in-memory SQLite and fakeredis do."""
    settings = load_settings(
        {"API_TOKEN": API_TOKEN},
        instance_dir=tmp_path_factory.mktemp("openapi"),
        database_url="sqlite://",
        redis_url="unused://",
    )
    return create_app(settings, engine=create_engine("sqlite://"), redis=fakeredis.FakeRedis())


def _api_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")]


def _as_openapi_path(rule: str) -> str:
    """Flask's /trainings/<int:training_id> as OpenAPI's /trainings/{training_id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _operations() -> dict[tuple[str, str], dict]:
    return {(method.upper(), path): op for path, item in DOCUMENT["paths"].items() for method, op in item.items()}


def _resolve(node: dict) -> dict:
    """Follow one local $ref (#/components/...)."""
    while "$ref" in node:
        section, name = node["$ref"].removeprefix("#/components/").split("/")
        node = DOCUMENT["components"][section][name]
    return node


def _parameters(op: dict) -> list[dict]:
    return [_resolve(p) for p in op.get("parameters", [])]


def test_every_api_route_is_documented_and_every_documented_operation_is_a_route(app):
    routes = {
        (method, _as_openapi_path(rule.rule)) for rule in _api_rules(app) for method in rule.methods - IGNORED_METHODS
    }
    documented = set(_operations())
    assert sorted(routes - documented) == [], "routes missing from service/openapi.json"
    assert sorted(documented - routes) == [], "documented operations the app does not have"


def test_operations_are_read_from_the_document():
    # every loop below goes over these: an empty or misread document must fail here, not pass there
    operations = _operations()
    assert len(operations) >= 20
    assert all(method in {"GET", "POST", "PUT", "PATCH", "DELETE"} for method, _ in operations)
    assert all(path.startswith(PREFIX + "/") and "responses" in op for (_, path), op in operations.items())


def test_path_parameters_are_the_rules_arguments_and_integers(app):
    by_path = {_as_openapi_path(rule.rule): rule for rule in _api_rules(app)}
    checked = 0
    for (method, path), op in _operations().items():
        rule = by_path[path]
        documented = {p["name"]: p for p in _parameters(op) if p["in"] == "path"}
        assert set(documented) == set(rule.arguments), (method, path)
        converters = {name: kind for kind, name in re.findall(r"<(\w+):(\w+)>", rule.rule)}
        for name, parameter in documented.items():
            assert converters.get(name) == "int", (path, name)
            assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": api_schemas.MAX_ID}
            checked += 1
    expected = sum(len(by_path[path].arguments) for _, path in _operations())
    assert checked == expected > 0  # the loop saw every path parameter, and there are some


def _uses_acting_user(view) -> bool:
    """Whether the view reads X-Acting-User: itself, or through _change_training, which does."""
    source = inspect.getsource(view)
    return "_acting_id()" in source or "_change_training(" in source


def test_the_acting_user_header_is_documented_exactly_where_a_route_reads_it(app):
    views = {
        (method, _as_openapi_path(rule.rule)): app.view_functions[rule.endpoint]
        for rule in _api_rules(app)
        for method in rule.methods - IGNORED_METHODS
    }
    with_header = set()
    for key, op in _operations().items():
        header = [p for p in _parameters(op) if p["in"] == "header" and p["name"] == ACTING_USER_HEADER]
        assert bool(header) == _uses_acting_user(views[key]), key
        if header:
            assert header[0]["required"] is True
            assert "403" in op["responses"], key
            with_header.add(key)
    assert with_header and with_header != set(views)  # both kinds exist: the comparison above decided something


def test_every_operation_but_the_public_ones_needs_the_token_and_documents_401(app):
    endpoints = {
        (method, _as_openapi_path(rule.rule)): rule.endpoint
        for rule in _api_rules(app)
        for method in rule.methods - IGNORED_METHODS
    }
    assert DOCUMENT["security"] == [{"bearer": []}]
    assert DOCUMENT["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The service's API_TOKEN.",
    }
    public_keys = set()
    for key, op in _operations().items():
        public = endpoints[key] in PUBLIC_ENDPOINTS
        assert (op.get("security") == []) == public, key
        assert ("401" in op["responses"]) != public, key
        if public:
            public_keys.add(key)
    assert public_keys and public_keys != set(endpoints)  # some public (the document itself), the rest not
    assert ("GET", f"{PREFIX}/openapi.json") in public_keys


def test_shared_error_answers_are_listed_under_the_status_their_error_class_has():
    classes = {
        "Forbidden": errors.Forbidden,
        "NotFound": errors.NotFound,
        "Conflict": errors.Conflict,
        "Invalid": errors.Invalid,
        "Unavailable": errors.Unavailable,
    }
    seen = set()
    for key, op in _operations().items():
        for status, answer in op["responses"].items():
            name = answer.get("$ref", "").removeprefix("#/components/responses/")
            if name in classes:
                assert status == str(classes[name].status), (key, name)
                seen.add(name)
    assert seen == set(classes)


def test_every_operation_with_a_body_documents_its_refusals():
    with_body = {key: op for key, op in _operations().items() if "requestBody" in op}
    assert with_body, "no operation with a request body: the loop below would check nothing"
    assert {method for method, _ in with_body} <= {"POST", "PUT", "PATCH"}  # never a GET or DELETE with a body
    for key, op in with_body.items():
        assert {"413", "422"} <= set(op["responses"]), key
        assert op["requestBody"]["required"] is True, key
        assert "application/json" in op["requestBody"]["content"], key


def test_the_document_is_served_without_a_token_and_the_rest_still_needs_one(app):
    client = app.test_client()
    answer = client.get(f"{PREFIX}/openapi.json")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    assert answer.get_json() == DOCUMENT
    assert client.get(f"{PREFIX}/trainings/1").status_code == 401
    assert client.get(f"{PREFIX}/openapi.json", headers=AUTH).status_code == 200


def _enum(schema: dict) -> list:
    return [value for value in _resolve(schema)["enum"] if value is not None]


def test_enums_are_the_codes_constants():
    training, zoom = SCHEMAS["Training"]["properties"], SCHEMAS["Training"]["properties"]["zoom"]["properties"]
    attendance_item = SCHEMAS["Attendance"]["properties"]["items"]["items"]["properties"]
    change = SCHEMAS["FieldChangeList"]["properties"]["items"]["items"]["properties"]
    notification = SCHEMAS["NotificationList"]["properties"]["items"]["items"]["properties"]
    connection = SCHEMAS["ZoomConnection"]["properties"]
    assert _enum(training["status"]) == list(TRAINING_STATUSES)
    for name in ("TrainingIn", "TrainingPatch", "Training"):
        assert _enum(SCHEMAS[name]["properties"]["meeting_type"]) == list(MEETING_TYPES)
    for name in ("AcademyIn", "AcademyPatch", "Academy"):
        assert _enum(SCHEMAS[name]["properties"]["create_zoom_meetings"]) == list(lms_rules.CREATE_MODES)
    assert SCHEMAS["AcademyIn"]["properties"]["create_zoom_meetings"]["default"] == lms_rules.CREATE_ON_SAVE
    assert SCHEMAS["UserIn"]["properties"]["role"]["default"] == lms_rules.DEFAULT_ROLE
    for name in ("RoleIn", "Role"):
        assert _enum(SCHEMAS[name]["properties"]["permissions"]["items"]) == list(lms_rules.PERMISSIONS)
    assert _enum(SCHEMAS["ReportPull"]["properties"]["status"]) == list(PULL_STATUSES)
    assert _enum(attendance_item["completion"]) == [lms_rules.COMPLETED, lms_rules.NOT_COMPLETED, lms_rules.PENDING]
    assert _enum(change["source"]) == list(CHANGE_SOURCES)
    assert _enum(change["outcome"]) == list(CHANGE_OUTCOMES)
    assert _enum(notification["kind"]) == list(NOTIFICATION_KINDS)
    assert _enum(notification["status"]) == list(NOTIFICATION_STATUSES)
    assert _enum(connection["kind"]) == list(CONNECTION_KINDS)
    assert _enum(connection["status"]) == list(CONNECTION_STATUSES)
    assert zoom["report"]["oneOf"][0] == {"$ref": "#/components/schemas/ReportPull"}


def test_limits_are_the_request_schemas_limits():
    training_in, patch = SCHEMAS["TrainingIn"]["properties"], SCHEMAS["TrainingPatch"]["properties"]
    for props in (training_in, patch):
        assert props["theme"]["maxLength"] == THEME_MAX_LENGTH
        assert props["duration"]["maximum"] == api_schemas.MAX_DURATION
        assert props["max_participants"]["maximum"] == api_schemas.MAX_PARTICIPANTS
        assert props["organizer_id"]["maximum"] == api_schemas.MAX_ID
    assert training_in["zoom_meeting_id"]["maximum"] == MAX_MEETING_NUMBER
    assert training_in["academy_id"]["maximum"] == api_schemas.MAX_ID
    for name in ("RegistrantIn", "GuestAssignmentIn"):
        assert SCHEMAS[name]["properties"]["user_id"]["maximum"] == api_schemas.MAX_ID


def test_request_schemas_name_the_fields_marshmallow_takes():
    """Same fields, same required ones: an unknown field is a 422 (RAISE), so the two must not differ."""
    pairs = {
        "AcademyIn": api_schemas.AcademyIn(),
        "AcademyPatch": api_schemas.AcademyIn(partial=True),
        "UserIn": api_schemas.UserIn(),
        "RoleIn": api_schemas.RoleIn(),
        "TrainingIn": api_schemas.TrainingIn(),
        "TrainingPatch": api_schemas.training_patch_schema(),
        "RegistrantIn": api_schemas.RegistrantIn(),
        "GuestAssignmentIn": api_schemas.GuestAssignmentIn(),
        "ServerToServerIn": api_schemas.ServerToServerIn(),
    }
    for name, schema in pairs.items():
        documented = SCHEMAS[name]
        assert documented["additionalProperties"] is False, name
        assert set(documented["properties"]) == set(schema.load_fields), name
        required = {field for field, f in schema.load_fields.items() if f.required and not schema.partial}
        assert set(documented["required"]) == required, name
