"""Requests checked against Zoom's OpenAPI descriptions, so our client cannot drift from the real API unnoticed.

The files are Zoom's (`ZoomMeetingAPISpec.json`, `ZoomUsersAPISpec.json`) and
stay outside the project; where they are absent `load` returns None and the
simulator says at start-up that it does not validate. OpenAPI 3.0 schemas are
JSON Schema draft 4 plus `nullable`; strict mode also refuses fields and query
parameters the description does not name (Zoom ignores them, which is exactly
how a misspelt field would go unnoticed).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

SPEC_FILES = ("ZoomMeetingAPISpec.json", "ZoomUsersAPISpec.json")
_DROP = {"example", "examples", "description", "title", "x-enum-descriptions", "deprecated", "readOnly", "writeOnly"}


def to_json_schema(schema: Any, strict: bool) -> Any:
    """An OpenAPI 3.0 schema as draft-4 JSON Schema; `strict` closes objects to unnamed properties."""
    if isinstance(schema, list):
        return [to_json_schema(item, strict) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if strict and "allOf" in schema and all(_plain_object(part) for part in schema["allOf"]):
        merged: dict[str, Any] = {
            "type": "object",
            "properties": dict(schema.get("properties", {})),
            "required": list(schema.get("required", [])),
        }
        for part in schema["allOf"]:
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return to_json_schema({**rest, **merged}, strict)
    out = {
        key: (
            {name: to_json_schema(prop, strict) for name, prop in value.items()}  # names, not keywords
            if key == "properties"
            else to_json_schema(value, strict)
        )
        for key, value in schema.items()
        if key not in _DROP
    }
    if out.get("required") == []:
        del out["required"]
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if strict and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _plain_object(part: Any) -> bool:
    return isinstance(part, dict) and not ({"allOf", "oneOf", "anyOf"} & part.keys())


def _field(path) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


class SpecValidator:
    def __init__(self, paths: dict[str, dict[str, Any]], strict: bool, source: Path) -> None:
        self.paths = paths
        self.strict = strict
        self.source = source
        self._validators: dict[tuple[str, str, str], Draft4Validator] = {}

    @classmethod
    def load(cls, spec_dir: Path | None, strict: bool = True) -> SpecValidator | None:
        """None where the files are absent. Parsed once per process (3 MB of JSON), then shared."""
        if spec_dir is None or not all((Path(spec_dir) / name).is_file() for name in SPEC_FILES):
            return None
        return cls(_read_paths(Path(spec_dir).resolve()), strict, Path(spec_dir))

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        return self.paths.get(path, {}).get(method.lower())

    def _validator(self, kind: str, method: str, path: str, schema: Any, strict: bool) -> Draft4Validator:
        key = (kind, method, path)
        if key not in self._validators:
            self._validators[key] = Draft4Validator(to_json_schema(schema, strict))
        return self._validators[key]

    def request_errors(
        self, method: str, path: str, query: Mapping[str, list[str]], body: Any, has_body: bool
    ) -> list[dict[str, str]]:
        """What is wrong with a request to `method path` (Zoom's template), as Zoom's `errors` list."""
        op = self.operation(method, path)
        if op is None:
            return [{"field": "", "message": f"{method} {path} is not in Zoom's API description"}]
        problems: list[dict[str, str]] = []
        params = {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "query"}
        for name, values in query.items():
            param = params.get(name)
            if param is None:
                if self.strict:
                    problems.append({"field": name, "message": "Unrecognized query parameter."})
                continue
            validator = self._validator(f"query:{name}", method, path, param.get("schema", {}), False)
            for value in values:
                for error in validator.iter_errors(_coerce(value, param.get("schema", {}))):
                    problems.append({"field": name, "message": error.message})
        for name, param in params.items():
            if param.get("required") and name not in query:
                problems.append({"field": name, "message": "Required query parameter is missing."})
        content = op.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None:
            if has_body and body not in (None, {}, ""):
                problems.append({"field": "", "message": "This API takes no request body."})
            return problems
        if not has_body:
            if op["requestBody"].get("required"):
                problems.append({"field": "", "message": "Request Body is required."})
            return problems
        validator = self._validator("body", method, path, content.get("schema", {}), self.strict)
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                named = set(error.schema.get("properties", {}))
                for extra in sorted(set(error.instance) - named):
                    problems.append({"field": _field([*error.absolute_path, extra]), "message": "Unrecognized field."})
                continue
            problems.append({"field": _field(error.absolute_path), "message": error.message})
        return problems

    def response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        """The JSON Schema of one documented answer (for the simulator's own conformance tests)."""
        op = self.operation(method, path) or {}
        answer = op.get("responses", {}).get(str(status), {})
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        return None if schema is None else to_json_schema(schema, strict=False)


@functools.cache
def _read_paths(spec_dir: Path) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for name in SPEC_FILES:
        paths.update(json.loads((spec_dir / name).read_text(encoding="utf-8"))["paths"])
    return paths


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value
