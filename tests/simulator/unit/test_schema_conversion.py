"""zoomsim/validation.py: OpenAPI 3.0 schemas as draft-4 JSON Schema, and requests checked against a `paths` table.

The schemas and paths here are small and hand-written; Zoom's own files are not used.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from zoomsim.validation import SpecValidator, to_json_schema


def valid(schema, instance, strict=True) -> bool:
    converted = to_json_schema(schema, strict)
    Draft4Validator.check_schema(converted)
    return Draft4Validator(converted).is_valid(instance)


# --- nullable --------------------------------------------------------------------------


def test_nullable_type_becomes_a_type_list_with_null():
    assert to_json_schema({"type": "string", "nullable": True}, strict=False) == {"type": ["string", "null"]}


def test_nullable_type_list_gets_null_appended():
    assert to_json_schema({"type": ["string", "integer"], "nullable": True}, strict=False) == {
        "type": ["string", "integer", "null"]
    }


def test_nullable_enum_accepts_none():
    schema = {"type": "string", "enum": ["a", "b"], "nullable": True}
    assert to_json_schema(schema, strict=False) == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert valid(schema, None)
    assert valid(schema, "a")
    assert not valid(schema, "c")


def test_not_nullable_refuses_none():
    assert not valid({"type": "string"}, None)
    assert not valid({"type": "string", "nullable": False}, None)


def test_nullable_false_is_removed_and_changes_nothing():
    assert to_json_schema({"type": "integer", "nullable": False}, strict=False) == {"type": "integer"}


def test_nullable_property_inside_an_object():
    schema = {"type": "object", "properties": {"agenda": {"type": "string", "nullable": True}}}
    assert valid(schema, {"agenda": None})
    assert not valid(schema, {"agenda": 3})


# --- keywords draft 4 does not know are dropped ---------------------------------------------


def test_annotation_keywords_are_dropped():
    schema = {
        "type": "integer",
        "description": "The duration.",
        "title": "Duration",
        "example": 60,
        "examples": [60],
        "deprecated": True,
        "readOnly": True,
        "writeOnly": False,
        "x-enum-descriptions": ["one"],
        "maximum": 1440,
    }
    assert to_json_schema(schema, strict=True) == {"type": "integer", "maximum": 1440}


def test_properties_named_like_keywords_survive():
    schema = {
        "type": "object",
        "properties": {
            "description": {"type": "string", "description": "A property called description."},
            "title": {"type": "string", "example": "x"},
            "example": {"type": "integer"},
            "nullable": {"type": "boolean"},
        },
        "required": ["description"],
    }
    converted = to_json_schema(schema, strict=True)
    assert converted["properties"] == {
        "description": {"type": "string"},
        "title": {"type": "string"},
        "example": {"type": "integer"},
        "nullable": {"type": "boolean"},
    }
    assert converted["required"] == ["description"]
    assert valid(schema, {"description": "d", "title": "t", "example": 1, "nullable": True})
    assert not valid(schema, {"title": "t"})
    assert not valid(schema, {"description": "d", "example": "not a number"})


def test_empty_required_list_is_removed():
    converted = to_json_schema(
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": []}, strict=False
    )
    assert "required" not in converted
    Draft4Validator.check_schema(converted)


# --- strict closes objects ----------------------------------------------------------------


OBJECT = {"type": "object", "properties": {"topic": {"type": "string"}, "duration": {"type": "integer"}}}


def test_strict_closes_objects():
    assert to_json_schema(OBJECT, strict=True)["additionalProperties"] is False
    assert valid(OBJECT, {"topic": "x", "duration": 30}, strict=True)
    assert not valid(OBJECT, {"topic": "x", "colour": "red"}, strict=True)


def test_non_strict_leaves_objects_open():
    assert "additionalProperties" not in to_json_schema(OBJECT, strict=False)
    assert valid(OBJECT, {"topic": "x", "colour": "red"}, strict=False)


def test_strict_keeps_an_explicit_additional_properties():
    schema = {**OBJECT, "additionalProperties": True}
    assert to_json_schema(schema, strict=True)["additionalProperties"] is True
    assert valid(schema, {"colour": "red"}, strict=True)


def test_additional_properties_schema_is_converted_too():
    schema = {"type": "object", "additionalProperties": {"type": "string", "nullable": True, "description": "x"}}
    assert to_json_schema(schema, strict=True) == {
        "type": "object",
        "additionalProperties": {"type": ["string", "null"]},
    }


def test_object_without_properties_is_not_closed():
    assert to_json_schema({"type": "object"}, strict=True) == {"type": "object"}


def test_nested_objects_and_arrays_are_converted():
    schema = {
        "type": "object",
        "properties": {
            "settings": {
                "type": "object",
                "description": "Settings.",
                "properties": {
                    "host_video": {"type": "boolean"},
                    "alternative_hosts": {"type": "string", "nullable": True},
                },
            },
            "tracking_fields": {
                "type": "array",
                "items": {"type": "object", "properties": {"field": {"type": "string"}, "value": {"type": "string"}}},
            },
        },
    }
    assert to_json_schema(schema, strict=True) == {
        "type": "object",
        "properties": {
            "settings": {
                "type": "object",
                "properties": {
                    "host_video": {"type": "boolean"},
                    "alternative_hosts": {"type": ["string", "null"]},
                },
                "additionalProperties": False,
            },
            "tracking_fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "value": {"type": "string"}},
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }
    assert valid(schema, {"settings": {"alternative_hosts": None}, "tracking_fields": [{"field": "a", "value": "b"}]})
    assert not valid(schema, {"tracking_fields": [{"field": "a", "extra": 1}]})
    assert not valid(schema, {"settings": {"host_video": True, "x": 1}})


def test_lists_and_scalars_pass_through():
    assert to_json_schema([{"type": "string", "nullable": True}, {"type": "integer"}], strict=False) == [
        {"type": ["string", "null"]},
        {"type": "integer"},
    ]
    assert to_json_schema("string", strict=True) == "string"
    assert to_json_schema(3, strict=True) == 3


def test_conversion_does_not_change_its_input():
    schema = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string", "nullable": True}}, "required": ["a"]},
            {"type": "object", "properties": {"b": {"type": "integer", "description": "B"}}},
        ]
    }
    before = copy.deepcopy(schema)
    to_json_schema(schema, strict=True)
    to_json_schema(schema, strict=False)
    assert schema == before


# --- allOf -------------------------------------------------------------------------------------


ALL_OF = {
    "description": "A page of registrants.",
    "allOf": [
        {"type": "object", "properties": {"page_size": {"type": "integer"}}, "required": ["page_size"]},
        {
            "type": "object",
            "properties": {"registrants": {"type": "array", "items": {"type": "string"}}},
            "required": ["registrants"],
        },
    ],
}


def test_strict_merges_allof_of_plain_objects():
    assert to_json_schema(ALL_OF, strict=True) == {
        "type": "object",
        "properties": {"page_size": {"type": "integer"}, "registrants": {"type": "array", "items": {"type": "string"}}},
        "required": ["page_size", "registrants"],
        "additionalProperties": False,
    }


def test_merged_allof_accepts_fields_of_every_part_and_refuses_others():
    assert valid(ALL_OF, {"page_size": 30, "registrants": ["a"]}, strict=True)
    assert not valid(ALL_OF, {"page_size": 30}, strict=True)
    assert not valid(ALL_OF, {"page_size": 30, "registrants": [], "extra": 1}, strict=True)


def test_non_strict_keeps_allof():
    converted = to_json_schema(ALL_OF, strict=False)
    assert "allOf" in converted
    assert all("additionalProperties" not in part for part in converted["allOf"])
    assert valid(ALL_OF, {"page_size": 30, "registrants": [], "extra": 1}, strict=False)


def test_allof_with_a_composed_part_is_not_merged():
    schema = {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"oneOf": [{"type": "object"}]}]}
    converted = to_json_schema(schema, strict=True)
    assert "allOf" in converted
    assert converted["allOf"][0]["additionalProperties"] is False


def test_merged_allof_keeps_the_sibling_properties():
    # JSON Schema: properties beside allOf apply too; merging must not lose them.
    schema = {
        "type": "object",
        "properties": {"topic": {"type": "string"}},
        "required": ["topic"],
        "allOf": [{"type": "object", "properties": {"duration": {"type": "integer"}}}],
    }
    assert valid(schema, {"topic": "x", "duration": 30}, strict=True)
    assert not valid(schema, {"duration": 30}, strict=True)


# --- SpecValidator.request_errors ----------------------------------------------------------


MEETING_BODY = {
    "type": "object",
    "properties": {
        "topic": {"type": "string", "maxLength": 200},
        "duration": {"type": "integer"},
        "agenda": {"type": "string", "nullable": True},
        "settings": {
            "type": "object",
            "properties": {
                "host_video": {"type": "boolean"},
                "approval_type": {"type": "integer", "enum": [0, 1, 2]},
            },
        },
        "tracking_fields": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "value": {"type": "string"}}},
        },
    },
}
REGISTRANT_BODY = {
    "type": "object",
    "properties": {"email": {"type": "string"}, "first_name": {"type": "string"}},
    "required": ["email", "first_name"],
}
PATHS = {
    "/meetings/{meetingId}": {
        "get": {
            "parameters": [
                {"name": "meetingId", "in": "path", "required": True, "schema": {"type": "integer"}},
                {"name": "occurrence_id", "in": "query", "schema": {"type": "string"}},
                {"name": "show_previous_occurrences", "in": "query", "schema": {"type": "boolean"}},
            ]
        },
        "patch": {
            "parameters": [{"name": "meetingId", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "requestBody": {"content": {"application/json": {"schema": MEETING_BODY}}},
        },
        "delete": {"parameters": []},
    },
    "/meetings/{meetingId}/registrants": {
        "post": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": REGISTRANT_BODY}}},
        },
    },
    "/users/{userId}/meetings": {
        "get": {
            "parameters": [
                {"name": "page_size", "in": "query", "schema": {"type": "integer", "maximum": 300}},
                {"name": "next_page_token", "in": "query", "schema": {"type": "string"}},
                {"name": "type", "in": "query", "schema": {"type": "string", "enum": ["scheduled", "live"]}},
            ]
        }
    },
    "/report/meetings/{meetingId}/participants": {
        "get": {
            "parameters": [
                {"name": "include_fields", "in": "query", "required": True, "schema": {"type": "string"}},
            ]
        }
    },
}


@pytest.fixture
def strict() -> SpecValidator:
    return SpecValidator(PATHS, True, Path("hand-written"))


@pytest.fixture
def lenient() -> SpecValidator:
    return SpecValidator(PATHS, False, Path("hand-written"))


def patch(validator, body, query=None):
    return validator.request_errors("PATCH", "/meetings/{meetingId}", query or {}, body, True)


def test_valid_body_has_no_errors(strict):
    body = {
        "topic": "Algebra",
        "duration": 45,
        "agenda": None,
        "settings": {"host_video": True, "approval_type": 0},
        "tracking_fields": [{"field": "course", "value": "MATH-101"}],
    }
    assert patch(strict, body) == []


def test_unknown_nested_field(strict):
    assert patch(strict, {"settings": {"x": 1}}) == [{"field": "settings.x", "message": "Unrecognized field."}]


def test_unknown_top_level_field(strict):
    assert patch(strict, {"topic": "A", "colour": "red"}) == [{"field": "colour", "message": "Unrecognized field."}]


def test_each_unknown_field_is_named(strict):
    assert patch(strict, {"zeta": 1, "alpha": 2, "settings": {"mute": True}}) == [
        {"field": "alpha", "message": "Unrecognized field."},
        {"field": "zeta", "message": "Unrecognized field."},
        {"field": "settings.mute", "message": "Unrecognized field."},
    ]


def test_unknown_field_in_an_array_item(strict):
    assert patch(strict, {"tracking_fields": [{"field": "a"}, {"field": "b", "extra": 1}]}) == [
        {"field": "tracking_fields[1].extra", "message": "Unrecognized field."}
    ]


def test_wrong_type(strict):
    errors = patch(strict, {"duration": "sixty"})
    assert len(errors) == 1
    assert errors[0]["field"] == "duration"
    assert "is not of type 'integer'" in errors[0]["message"]


def test_wrong_type_nested(strict):
    errors = patch(strict, {"settings": {"host_video": "yes"}})
    assert [e["field"] for e in errors] == ["settings.host_video"]
    assert "'boolean'" in errors[0]["message"]


def test_value_outside_enum(strict):
    errors = patch(strict, {"settings": {"approval_type": 5}})
    assert [e["field"] for e in errors] == ["settings.approval_type"]


def test_non_strict_accepts_unknown_fields_but_not_wrong_types(lenient):
    assert patch(lenient, {"colour": "red", "settings": {"x": 1}}) == []
    assert [e["field"] for e in patch(lenient, {"duration": "sixty"})] == ["duration"]


def test_whole_body_of_the_wrong_type(strict):
    errors = patch(strict, ["topic"])
    assert len(errors) == 1
    assert errors[0]["field"] == ""
    assert "'object'" in errors[0]["message"]


def test_unknown_query_parameter_in_strict_mode(strict):
    errors = strict.request_errors("GET", "/users/{userId}/meetings", {"pagesize": ["30"]}, None, False)
    assert errors == [{"field": "pagesize", "message": "Unrecognized query parameter."}]


def test_unknown_query_parameter_in_non_strict_mode(lenient):
    assert lenient.request_errors("GET", "/users/{userId}/meetings", {"pagesize": ["30"]}, None, False) == []


def test_path_parameter_is_not_a_query_parameter(strict):
    errors = strict.request_errors("GET", "/meetings/{meetingId}", {"meetingId": ["1"]}, None, False)
    assert errors == [{"field": "meetingId", "message": "Unrecognized query parameter."}]


def test_integer_query_parameter_is_coerced(strict):
    assert strict.request_errors("GET", "/users/{userId}/meetings", {"page_size": ["300"]}, None, False) == []


@pytest.mark.parametrize("value", ["abc", "30.5", "", "1e3"])
def test_integer_query_parameter_that_is_not_an_integer(strict, value):
    errors = strict.request_errors("GET", "/users/{userId}/meetings", {"page_size": [value]}, None, False)
    assert [e["field"] for e in errors] == ["page_size"]
    assert "is not of type 'integer'" in errors[0]["message"]


def test_coerced_query_parameter_is_checked_against_its_schema(strict):
    errors = strict.request_errors("GET", "/users/{userId}/meetings", {"page_size": ["301"]}, None, False)
    assert [e["field"] for e in errors] == ["page_size"]
    assert "301" in errors[0]["message"]


def test_every_value_of_a_repeated_query_parameter_is_checked(strict):
    errors = strict.request_errors("GET", "/users/{userId}/meetings", {"page_size": ["30", "x"]}, None, False)
    assert len(errors) == 1
    assert "'x'" in errors[0]["message"]


def test_enum_query_parameter(strict):
    assert strict.request_errors("GET", "/users/{userId}/meetings", {"type": ["live"]}, None, False) == []
    errors = strict.request_errors("GET", "/users/{userId}/meetings", {"type": ["past"]}, None, False)
    assert [e["field"] for e in errors] == ["type"]


@pytest.mark.parametrize(("value", "ok"), [("true", True), ("false", True), ("True", False), ("1", False)])
def test_boolean_query_parameter(strict, value, ok):
    errors = strict.request_errors("GET", "/meetings/{meetingId}", {"show_previous_occurrences": [value]}, None, False)
    assert (errors == []) is ok


def test_required_query_parameter_missing(strict):
    errors = strict.request_errors("GET", "/report/meetings/{meetingId}/participants", {}, None, False)
    assert errors == [{"field": "include_fields", "message": "Required query parameter is missing."}]


def test_required_query_parameter_present(strict):
    query = {"include_fields": ["registrant_id"]}
    assert strict.request_errors("GET", "/report/meetings/{meetingId}/participants", query, None, False) == []


def test_missing_required_body(strict):
    errors = strict.request_errors("POST", "/meetings/{meetingId}/registrants", {}, None, False)
    assert errors == [{"field": "", "message": "Request Body is required."}]


def test_missing_optional_body_is_fine(strict):
    assert strict.request_errors("PATCH", "/meetings/{meetingId}", {}, None, False) == []


def test_required_fields_of_the_body(strict):
    errors = strict.request_errors("POST", "/meetings/{meetingId}/registrants", {}, {"email": "a@b.example"}, True)
    assert len(errors) == 1
    assert errors[0]["field"] == ""
    assert "'first_name' is a required property" in errors[0]["message"]


def test_body_sent_to_an_operation_without_one(strict):
    errors = strict.request_errors("DELETE", "/meetings/{meetingId}", {}, {"topic": "x"}, True)
    assert errors == [{"field": "", "message": "This API takes no request body."}]


@pytest.mark.parametrize("body", [None, {}, ""])
def test_empty_body_to_an_operation_without_one_is_fine(strict, body):
    assert strict.request_errors("DELETE", "/meetings/{meetingId}", {}, body, True) == []


def test_operation_not_in_the_description(strict):
    errors = strict.request_errors("PUT", "/meetings/{meetingId}", {}, None, False)
    assert len(errors) == 1
    assert errors[0]["field"] == ""
    assert "not in Zoom's API description" in errors[0]["message"]
    assert strict.request_errors("GET", "/nowhere", {}, None, False)[0]["field"] == ""


def test_method_is_matched_case_insensitively(strict):
    assert strict.operation("patch", "/meetings/{meetingId}") is strict.operation("PATCH", "/meetings/{meetingId}")
    assert strict.operation("PATCH", "/meetings/{meetingId}") is not None


def test_query_and_body_problems_are_reported_together(strict):
    errors = strict.request_errors("PATCH", "/meetings/{meetingId}", {"force": ["1"]}, {"colour": "red"}, True)
    assert errors == [
        {"field": "force", "message": "Unrecognized query parameter."},
        {"field": "colour", "message": "Unrecognized field."},
    ]


def test_response_schema_is_converted_non_strict():
    paths = {
        "/users/{userId}": {
            "get": {
                "responses": {
                    "200": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"id": {"type": "string", "description": "User id."}},
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    validator = SpecValidator(paths, True, Path("hand-written"))
    assert validator.response_schema("GET", "/users/{userId}", 200) == {
        "type": "object",
        "properties": {"id": {"type": "string"}},
    }
    assert validator.response_schema("GET", "/users/{userId}", 404) is None
    assert validator.response_schema("GET", "/nowhere", 200) is None
