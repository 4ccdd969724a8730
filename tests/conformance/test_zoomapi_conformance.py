"""zoomapi's endpoint tables against Zoom's OpenAPI files: each call's rate-limit category and the host's daily cap.

The limiter spends each call from the budget of its category, so a category
that disagrees with Zoom's "Rate Limit Label" would let the service run into
429s (or hold it back for nothing). The documents are Zoom's, read from
../shared/zoom (or ZOOM_SHARED_DIR); tests/conformance/conftest.py skips this
module where they are absent.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conformance.shared import load_json
from zoomapi.categories import CATEGORY, HEAVY, HOST_DAILY, LIGHT, MEDIUM
from zoomapi.limiter import PLAN_LIMITS

SPECS = ("ZoomMeetingAPISpec.json", "ZoomUsersAPISpec.json")
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
ENDPOINTS = sorted(CATEGORY)
# How Zoom's descriptions state the cap of 100 creates or updates per host per day.
HOST_CAP = re.compile(r"100 requests per day", re.IGNORECASE)


@pytest.fixture(scope="module")
def operations(shared_documents) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation of Zoom's Meetings and Users API descriptions, by (METHOD, path template)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for name in SPECS:
        path = shared_documents / name
        assert path.is_file(), f"{name} missing in {shared_documents}"
        for template, item in load_json(path)["paths"].items():
            for method, operation in item.items():
                if method in HTTP_METHODS:
                    found[(method.upper(), template)] = operation
    assert found, f"no operations in {SPECS}"
    return found


def rate_limit_labels(description: str) -> list[str]:
    """The back-quoted values after `**[Rate Limit Label](...):**` in an operation's description."""
    match = re.search(r"\*\*\[Rate Limit Label\]\([^)]*\):\*\*([^\n]*)", description)
    return re.findall(r"`([^`]+)`", match.group(1)) if match else []


def _id(endpoint: tuple[str, str]) -> str:
    return f"{endpoint[0]} {endpoint[1]}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
def test_endpoint_exists_in_zooms_api_description(operations, endpoint):
    assert endpoint in operations, f"{_id(endpoint)} is not in {' or '.join(SPECS)}"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
def test_category_is_zooms_rate_limit_label(operations, endpoint):
    operation = operations.get(endpoint)
    assert operation is not None, f"{_id(endpoint)} is not in {' or '.join(SPECS)}"
    labels = rate_limit_labels(operation.get("description", ""))
    assert labels, f"{_id(endpoint)}: no Rate Limit Label in its description"
    assert [label.lower() for label in labels] == [CATEGORY[endpoint]]


def test_every_category_has_a_limit_on_every_plan():
    assert set(CATEGORY.values()) <= {LIGHT, MEDIUM, HEAVY}
    for plan, limits in PLAN_LIMITS.items():
        assert set(CATEGORY.values()) <= set(limits), plan


def test_host_daily_calls_are_endpoints_with_a_category():
    assert HOST_DAILY <= set(CATEGORY)
    assert HOST_DAILY  # the creates and updates Zoom caps per host


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
def test_host_daily_is_exactly_what_zoom_caps_at_100_a_day(operations, endpoint):
    operation = operations.get(endpoint)
    assert operation is not None, f"{_id(endpoint)} is not in {' or '.join(SPECS)}"
    capped = HOST_CAP.search(operation.get("description", "")) is not None
    assert (endpoint in HOST_DAILY) == capped, (
        f"{_id(endpoint)}: Zoom {'caps' if capped else 'does not cap'} it at 100 a day per host"
    )


def test_rate_limit_label_reader_reads_zooms_markup():
    description = (
        "**[Scopes](https://developers.zoom.us/docs/):** `meeting:read`\n\n"
        "**[Rate Limit Label](https://marketplace.zoom.us/docs/api-reference/rate-limits#rate-limits):** `HEAVY`"
    )
    assert rate_limit_labels(description) == ["HEAVY"]
    assert rate_limit_labels("no label here") == []
