"""The bugs the hostile tests found, each pinned by a plain example (issue 7)."""

from __future__ import annotations

import json
import sys

import pytest
from sqlalchemy import select

from models import InboxEvent
from service.envelope import MAX_NESTING
from service.event_schemas import LATEST_MS, MAX_DURATION_MINUTES
from service.services import EXTENSION_KEY
from tests.helpers import AUTH, create_training, deliver, fixture
from tests.hostile.strategies import nested
from tests.hostile.support import NO_PROBLEMS, padded_event, worker_problems
from webhook.signature import encrypt_token
from workers.field_rules import is_iana_timezone


def rows(session_factory) -> list[InboxEvent]:
    with session_factory() as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


# --- intake -------------------------------------------------------------------------------------


def test_nesting_is_refused_past_the_limit_at_every_depth_never_500(client, session_factory):
    # Was: at a depth near the recursion limit (980 from a shell) the body parsed in read_envelope and
    # the dedupe key's json.dumps, a few frames deeper, hit the limit: a 500 that Zoom would retry.
    # Every depth near the limit is tried: the window was a few levels wide and moves with the stack.
    template = json.dumps({"event": "meeting.updated", "payload": {"object": {"id": 85212345678, "agenda": "@"}}})
    limit = sys.getrecursionlimit()
    kept = 0
    for depth in [*range(MAX_NESTING - 5, MAX_NESTING + 6), *range(limit - 400, limit + 100)]:  # 3 + the agenda's
        body = template.replace('"@"', nested(depth - 3, "list")).encode()
        status = deliver(client, body).status_code
        assert status == (200 if depth <= MAX_NESTING else 400), depth
        kept += status == 200
    assert len(rows(session_factory)) == kept == 6


SURROGATE_BODIES = {
    "event_type": (
        '{"event":"meeting.started\\udfff","payload":{"object":{"id":85212345678}}}',
        "meeting.started\ufffd",
    ),
    "account_id": (
        '{"event":"meeting.started","payload":{"account_id":"acct\\ud800","object":{"id":85212345678,"uuid":"r"}}}',
        "acct\ufffd",
    ),
    "meeting_uuid": (
        '{"event":"meeting.started","payload":{"object":{"id":85212345678,"uuid":"\\udc00r"}}}',
        "\ufffdr",
    ),
    "participant_uuid": (
        '{"event":"meeting.participant_joined","payload":{"object":{"id":85212345678,"uuid":"r",'
        '"participant":{"participant_uuid":"\\ud800","join_time":"2026-12-01T09:01:00Z"}}}}',
        "\ufffd",
    ),
}


@pytest.mark.parametrize("column", sorted(SURROGATE_BODIES))
def test_a_lone_surrogate_in_an_indexed_field_is_stored_not_500(client, app, session_factory, column):
    # Was: 500. The escape is valid JSON, but no driver encodes a lone surrogate as UTF-8; the inbox
    # columns now hold U+FFFD in its place, and the raw body stays as it was signed.
    text, stored = SURROGATE_BODIES[column]
    response = deliver(client, text.encode())
    assert response.status_code == 200, response.get_data()[:300]
    [row] = rows(session_factory)
    assert row.raw_body == text.encode()
    assert getattr(row, column) == stored
    assert worker_problems(app, session_factory) == NO_PROBLEMS


def test_a_challenge_with_a_lone_surrogate_is_answered_not_500(client, session_factory):
    # Was: 500 from encrypt_token's strict UTF-8 encoding.
    response = deliver(client, b'{"event":"endpoint.url_validation","payload":{"plainToken":"t\\ud800"}}')
    assert response.status_code == 200
    assert response.json["encryptedToken"] == encrypt_token("test-webhook-secret", "t\ud800")
    assert rows(session_factory) == []


# --- the worker ---------------------------------------------------------------------------------


def test_one_event_that_ends_in_9999_fails_alone_and_does_not_take_its_batch_with_it(client, app, session_factory):
    # Was: the meeting "ended" at 9999-12-31 passed the schema, then the report pull's due time
    # overflowed outside any savepoint: the whole batch failed, the join in it was charged an attempt
    # and left pending with it, and after MAX_EVENT_ATTEMPTS both were failed.
    create_training(client)
    ended = fixture("meeting.ended")
    ended["payload"]["object"]["end_time"] = "9999-12-31T23:59:59Z"
    assert deliver(client, ended).status_code == 200
    assert deliver(client, fixture("meeting.participant_joined")).status_code == 200
    assert worker_problems(app, session_factory) == NO_PROBLEMS
    failed, joined = rows(session_factory)
    assert (failed.status, joined.status) == ("failed", "processed")
    assert "end_time" in failed.last_error and failed.attempts == 1


@pytest.mark.parametrize(
    ("name", "path", "value", "named"),
    [
        ("meeting.updated", ("payload", "time_stamp"), 2**63, "time_stamp"),  # was OverflowError / bigint DataError
        ("meeting.updated", ("payload", "time_stamp"), -(2**63) - 1, "time_stamp"),
        ("meeting.started", ("event_ts",), 10**15, "event_ts"),  # was ValueError: year 33658 is out of range
        ("meeting.updated", ("payload", "object", "duration"), 2**31, "duration"),  # was integer out of range (PG)
        ("meeting.updated", ("payload", "object", "duration"), MAX_DURATION_MINUTES + 1, "duration"),  # the limit
        ("meeting.started", ("payload", "object", "uuid"), "u" * 129, "uuid"),  # was varchar(128) truncation (PG)
        ("meeting.ended", ("payload", "object", "end_time"), "9999-12-31T23:59:59Z", "end_time"),  # the batch, above
    ],
    ids=[
        "time_stamp-2**63",
        "time_stamp-below-int64",
        "event_ts-year-33658",
        "duration-2**31",
        "duration-over-a-year",
        "uuid-129",
        "end-9999",
    ],
)
def test_a_value_out_of_range_fails_the_event_at_once_naming_the_field(
    client, app, session_factory, name, path, value, named
):
    # Was: an error the reconcile job took for a passing fault: the event stayed pending through
    # MAX_EVENT_ATTEMPTS retries (about 12 minutes of backoff) before it was failed.
    create_training(client)
    body = fixture(name)
    if "time_stamp" in body["payload"]:
        body["payload"]["time_stamp"] = 4_102_444_800_000  # newer than the training's LMS edit: applied
    if name == "meeting.started":
        del body["payload"]["object"]["start_time"]  # so event_ts is the start
    holder = body
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    assert deliver(client, body).status_code == 200
    assert worker_problems(app, session_factory) == NO_PROBLEMS
    [row] = rows(session_factory)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("ValidationError") and named in row.last_error


@pytest.mark.parametrize("zone", ["America", "A" * 300], ids=["a-directory", "too-long-a-file-name"])
def test_a_time_zone_the_zone_database_cannot_open_is_ignored_like_any_unknown_one(client, app, session_factory, zone):
    # Was: OSError (IsADirectoryError, ENAMETOOLONG) out of is_iana_timezone: retried as a passing
    # fault, then failed; an unknown name is otherwise skipped and the rest of the update applied.
    assert not is_iana_timezone(zone)
    training = create_training(client)
    body = fixture("meeting.updated")
    body["payload"]["time_stamp"] = 4_102_444_800_000
    body["payload"]["object"]["timezone"] = zone
    assert deliver(client, body).status_code == 200
    assert worker_problems(app, session_factory) == NO_PROBLEMS
    assert [row.status for row in rows(session_factory)] == ["processed"]
    got = client.get(f"/api/v1/trainings/{training}", headers=AUTH).json
    assert (got["timezone"], got["duration"]) == ("UTC", 90)


@pytest.mark.parametrize("account", ["acct\u0000", "acct\udc00"], ids=["nul", "lone-surrogate"])
def test_app_deauthorized_with_an_odd_account_id_is_settled_not_pending_forever(client, app, session_factory, account):
    # Was (PostgreSQL: NUL; both: surrogate, once intake stored it): the job queried with the raw
    # account id, raised, was retried by RQ, and the sweeper queued it again: pending forever.
    body = fixture("app_deauthorized")
    body["payload"]["account_id"] = account
    assert deliver(client, body).status_code == 200
    assert worker_problems(app, session_factory) == NO_PROBLEMS
    [row] = rows(session_factory)
    assert row.status == "processed"


def test_an_account_event_carrying_a_meeting_id_is_left_to_its_own_job(client, app, session_factory):
    # Was: stored with the meeting's id, so the meeting's reconcile job took it up, found no handler
    # (KeyError) and raised, retrying it as a fault; had it used up its attempts first, the event would
    # have been failed and the deauthorization never applied.
    create_training(client)
    deauthorized = fixture("app_deauthorized")
    deauthorized["payload"]["object"] = {"id": 85212345678}
    assert deliver(client, deauthorized).status_code == 200
    assert deliver(client, fixture("meeting.participant_joined")).status_code == 200
    assert worker_problems(app, session_factory) == NO_PROBLEMS
    account, joined = rows(session_factory)
    assert (account.meeting_id, account.status, joined.status) == (None, "processed", "processed")


def test_the_limits_hold_at_their_edges(client, app, session_factory):
    """The last values the new limits accept are still applied, and what they make stays readable."""
    training = create_training(client)
    body = fixture("meeting.updated")
    body["event_ts"] = LATEST_MS
    body["payload"]["time_stamp"] = LATEST_MS
    body["payload"]["object"].update(
        duration=MAX_DURATION_MINUTES, start_time="9997-12-31T23:59:59Z", timezone="Pacific/Kiritimati", uuid="u" * 128
    )
    assert deliver(client, body).status_code == 200
    assert worker_problems(app, session_factory) == NO_PROBLEMS
    assert [row.status for row in rows(session_factory)] == ["processed"]
    got = client.get(f"/api/v1/trainings/{training}", headers=AUTH).json
    assert (got["start_time"], got["duration"]) == ("9997-12-31T23:59:59Z", MAX_DURATION_MINUTES)
    # Was, after a start in 9997 and 2**31 - 1 minutes, or a start in 9998 and a year: a 500 here.
    assert client.get(f"/api/v1/users/{got['organizer_id']}/calendar.ics", headers=AUTH).status_code == 200


def test_a_body_of_exactly_the_size_limit_is_kept(client, app, session_factory):
    body = padded_event(app.extensions[EXTENSION_KEY].settings.webhook_max_body_bytes)
    assert deliver(client, body).status_code == 200
    assert [row.raw_body for row in rows(session_factory)] == [body]
