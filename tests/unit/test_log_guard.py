"""tests/log_guard.py: which log lines it reports, and from which loggers (the matching, not the session hook)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time

from service.logs import JsonLines
from tests.helpers import API_TOKEN, SECRET, fixture
from tests.log_guard import (
    Forbidden,
    Guard,
    admin_passwords,
    default_forbidden,
    fixture_personal_data,
    is_checked,
    leaks_in,
    literal,
    scan,
)
from webhook.signature import sign
from zoomsim.config import SimConfig
from zoomsim.world import World

FORBIDDEN = default_forbidden()


def line(message: str, logger: str = "workers.reconcile", exc_info=None) -> str:
    """A line exactly as production writes it."""
    record = logging.LogRecord(logger, logging.INFO, __file__, 1, "%s", (message,), exc_info)
    return JsonLines().format(record)


def labels(message: str) -> list[str]:
    return leaks_in(line(message), FORBIDDEN)


def test_an_ordinary_service_line_is_clean():
    assert labels("reconciled meeting 85212345678: 3 events applied, attendance of 2 registrants") == []
    assert labels("POST /webhooks/zoom 200") == []
    assert labels("PostgreSQL not reachable at postgresql://postgres@127.0.0.1:5432/test") == []


def test_the_test_secrets_are_found():
    assert labels(f"Authorization: Bearer {API_TOKEN}") == ["API_TOKEN (tests/helpers.py)"]
    assert labels(f"verifying with {SECRET}") == ["SECRET, the webhook secret token (tests/helpers.py)"]


def test_the_admin_passwords_the_tests_use_are_found():
    """tests/integration/test_admin.py logs in with this one."""
    found = labels("login failed for ops with 'correct horse battery staple'")
    assert found == ["an admin password (tests/browser/conftest.py, tests/integration/test_admin.py)"]


def test_passwords_are_read_from_assignments_to_password_names_only(tmp_path):
    (tmp_path / "test_x.py").write_text('USERNAME, PASSWORD = "ops", "hunter2 but longer"\nOTHER = "not-a-secret"\n')
    [found] = admin_passwords(tmp_path)
    assert found.pattern.search("… hunter2 but longer …") and not found.pattern.search("ops")


def test_personal_data_from_the_fixtures_is_found_whatever_its_case():
    joined = fixture("meeting.participant_joined")["payload"]["object"]["participant"]
    assert joined["email"] == "Ada.Learner@Example.org"
    # labelled by the first fixture (by name) that holds the value: several of Ada's events do
    found = labels("matched ada.learner@example.org")
    assert any(re.fullmatch(r"personal data: email in meeting\.participant_\w+\.json", label) for label in found)
    [label] = labels(f"guest {joined['user_name']} joined")
    assert re.fullmatch(r"personal data: user_name in meeting\.participant_\w+\.json", label)
    names = {item.label for item in fixture_personal_data()}
    assert not any("first_name" in label for label in names), "a one-letter first name would match everywhere"


def test_an_address_inside_a_longer_one_is_not_the_fixtures_address():
    x = literal("x", "x@example.org")
    assert x.pattern.search("to x@example.org") and not x.pattern.search("to box@example.org")


def test_any_email_address_is_personal_data():
    assert labels("sent the reminder to someone.else@school.example") == ["an email address"]


def test_the_simulators_oauth_tokens_are_found_but_its_masked_ones_are_not():
    world = World(SimConfig(), clock=time.time)
    token = world._token("access", {"aid": "a", "uid": "u", "cid": "c"})
    assert labels(f"token refreshed: {token}") == ["an OAuth token (JWT-shaped)"]
    assert labels(f"token refreshed: …{token[-6:]}") == []


def test_a_signature_header_value_is_found():
    signature = sign(SECRET, "1796115600", b"{}")
    assert labels(f"x-zm-signature={signature}") == ["an x-zm-signature value (v0= and 64 hex digits)"]
    assert labels("signature scheme v0=") == []


def test_a_raw_payload_is_found_as_json_or_as_a_python_repr():
    body = {"event": "meeting.started", "event_ts": 1796115600500, "payload": {"object": {"id": "85212345678"}}}
    expected = {"a raw Zoom payload (event_ts key)", "a raw Zoom payload (payload key)"}
    assert set(labels(f"bad event: {json.dumps(body)}")) == expected
    assert set(labels(f"bad event: {body!r}")) == expected


def test_a_traceback_is_checked_as_part_of_its_line():
    try:
        raise ValueError("duplicate key (email)=(bo@example.org)")
    except ValueError:
        failed = line("job failed", exc_info=sys.exc_info())
    assert "personal data: email in webinar.participant_joined.json" in leaks_in(failed, FORBIDDEN)


def test_only_the_services_loggers_are_checked():
    assert not is_checked("zoomsim") and not is_checked("zoomsim.rest") and not is_checked("mail.log")
    assert not is_checked("tests.hostile")
    assert is_checked("root") and is_checked("workers.push") and is_checked("rq.worker") and is_checked("werkzeug")
    assert is_checked("zoomsimulated"), "a prefix is a logger and its children, not any name starting with it"


def test_scan_reports_each_string_once_with_its_logger_count_and_first_line():
    leak = f"Bearer {API_TOKEN}"
    lines = [
        ("zoomsim", line(leak, "zoomsim")),
        ("zoomsync.request", line("GET /api/v1/trainings 200", "zoomsync.request")),
        ("zoomsync.request", line(f"first {leak}", "zoomsync.request")),
        ("workers.push", line(f"second {leak}", "workers.push")),
    ]
    [found] = scan(lines, FORBIDDEN)
    assert (found.label, found.logger, found.count) == ("API_TOKEN (tests/helpers.py)", "zoomsync.request", 2)
    assert "first Bearer" in found.first_line


def test_every_line_is_written_and_the_report_truncates_the_offending_one(tmp_path):
    sink = (tmp_path / "run.jsonl").open("w")
    guard = Guard([Forbidden("a secret", literal("s", "s3cret-value").pattern)], sink)
    guard.record("zoomsim", "zoomsim's own s3cret-value")
    guard.record("workers.push", "x" * 400 + " s3cret-value")
    sink.close()
    assert (tmp_path / "run.jsonl").read_text().count("\n") == 2
    assert (guard.recorded, guard.checked) == (2, 1)
    [report] = guard.report()
    assert report.startswith("a secret: 1 line(s), first from logger 'workers.push': xxx")
    assert len(report) < 400 and "s3cret-value" in report, "a long line is cut around what it leaked"
