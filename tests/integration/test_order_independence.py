"""The spec's ordering property, checked on both backends with generated event streams.

"Any permutation of an event stream, with any duplicates, gives the same final
database as the stream delivered once in order."

A scenario is one meeting's stream: meeting.updated changes with distinct Zoom
change times (some newer than the training, one maybe older, one maybe an
unsupported change to a recurring meeting), started/ended of one or two runs of
the meeting (each run has its own uuid), maybe deleted, and joins and leaves of
2-4 people (LMS users matched by email, by Zoom user id or by registrant id, and
guests; several devices at once, rejoins, joins without a leave, leaves without a
join, legacy `date_time` payloads without event_ts).

Reference run: a fresh database, the stream delivered once in order, then the jobs
run. Test run: a fresh database, the stream permuted with exact, re-serialised and
re-sent (new event_ts) duplicates inserted, jobs run at random cut points (so events
are applied in several batches, in arbitrary order), and the training linked to the
meeting at a random point (events before it wait as `unmatched`). Both must end with
the same training and attendance (as the API shows them) and with every inbox event
processed.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import redis as redis_lib
from flask import Flask
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from models import Base, InboxEvent, Registrant
from models.database import make_engine
from service.app import create_app
from service.services import EXTENSION_KEY
from tests.helpers import AUTH, STAFF, acting, deliver, fixture, run_jobs
from workers.runner import set_job_app

MEETING_ID = 85212345678
RUN_UUIDS = ("qF3kT9+bW/Ae1xZ0rYv2mQ==", "Zr2nD8+second/Run0aQ==")  # a meeting may be started again
MEETING_DAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# Zoom change times either side of any training's creation (the LMS stamps its own values then).
NEWER = 4_102_444_800_000  # 2100-01-01 in epoch ms
OLDER = 1_577_836_800_000  # 2020-01-01 in epoch ms

EXAMPLES = {"sqlite+fakeredis": 40, "postgres+redis": 15}
ZONES = (
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Adelaide",
    "UTC",
)
PEOPLE_KINDS = ("email_user", "zoom_id_user", "registrant", "guest_email", "guest_phone")
DUPLICATE_KINDS = ("same_bytes", "reserialised", "new_event_ts")
LMS_TRAINING = {
    "theme": "LMS theme",
    "start_time": "2026-12-01T09:00:00Z",
    "duration": 60,
    "timezone": "Europe/Berlin",
    "description": "Written in the LMS",
    "meeting_type": "meeting",
    "zoom_meeting_id": MEETING_ID,
}


# --- fresh databases ------------------------------------------------------------------------------------------


class Stack:
    """One backend; every `fresh_app()` starts on a migrated, empty database and an empty Redis."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, settings, workdir: Path):
        self.kind = kind
        self.settings = settings
        self.workdir = workdir
        self.runs = 0
        if kind == "sqlite+fakeredis":
            self.template = request.getfixturevalue("sqlite_template")
            self.engine = None
            self.redis = None
        else:
            self.engine = make_engine(request.getfixturevalue("postgres_url"))
            self.redis = redis_lib.Redis.from_url(request.getfixturevalue("real_redis_url"))

    @contextmanager
    def fresh_app(self) -> Iterator[Flask]:
        self.runs += 1
        if self.engine is None:
            path = self.workdir / f"run-{self.runs}.db"
            shutil.copy(self.template, path)
            engine, redis = make_engine(f"sqlite:///{path}"), fakeredis.FakeRedis(server=fakeredis.FakeServer())
        else:
            engine, redis = self.engine, self.redis
            _empty_all_tables(engine)
            redis.flushdb()
        app = create_app(self.settings, engine=engine, redis=redis)
        set_job_app(app)
        try:
            yield app
        finally:
            set_job_app(None)
            if self.engine is None:
                engine.dispose()
                for leftover in self.workdir.glob(f"run-{self.runs}.db*"):
                    leftover.unlink()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.redis.flushdb()


def _empty_all_tables(engine) -> None:
    tables = ", ".join(table.name for table in reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


# --- scenarios ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attendee:
    index: int
    kind: str  # one of PEOPLE_KINDS
    # (meeting run, join offset or None, leave offset or None, email spelling) per Zoom session;
    # offsets are seconds from the start of that run.
    sessions: tuple[tuple[int, int | None, int | None, int], ...]

    @property
    def lms_email(self) -> str:
        return f"person{self.index}@example.org"


@dataclass(frozen=True)
class Scenario:
    attendees: tuple[Attendee, ...]
    stream: tuple[dict[str, Any], ...]  # bodies in the order they happened
    deliveries: tuple[bytes, ...]  # the test run: a permutation of the stream with duplicates
    cuts: frozenset[int]  # run the jobs after these deliveries of the test run
    link_at: int  # the test run creates the training before this delivery


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _zoom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


TOPICS = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=40).filter(
    lambda s: s.strip() != ""
)
CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "topic": TOPICS,
        "start_time": st.integers(0, 60 * 24 * 14).map(lambda m: _zoom_time(MEETING_DAY + timedelta(minutes=m))),
        "duration": st.integers(1, 600),
        "timezone": st.sampled_from(ZONES),
    },
)


def _updated(time_stamp: int, event_ts: int, changed: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(fixture("meeting.updated"))
    body["event_ts"] = event_ts
    body["payload"]["time_stamp"] = time_stamp
    body["payload"]["object"] = {"id": MEETING_ID, **changed, "agenda": f"agenda of change {time_stamp}"}
    return body


def _run_event(name: str, uuid: str, event_ts: int, start: datetime, end: datetime | None = None) -> dict[str, Any]:
    body = copy.deepcopy(fixture(name))
    body["event_ts"] = event_ts
    obj = body["payload"]["object"]
    obj["uuid"] = uuid
    obj["start_time"] = _zoom_time(start)
    if end is not None:
        obj["end_time"] = _zoom_time(end)
    return body


def _participant_event(person: Attendee, session: int, uuid: str, kind: str, moment: datetime, spelling: int) -> dict:
    def spelled(email: str) -> str:
        return (email.lower(), email.upper(), email.title())[spelling]

    i = person.index
    session_id = str(16_778_240 + 100 * i + session)
    event = "meeting.participant_joined" if kind == "join" else "meeting.participant_left"
    if person.kind == "guest_phone":
        # Legacy shape: numeric ids, `date_time`, no event_ts.
        body = copy.deepcopy(fixture("meeting.participant_joined.legacy"))
        body["event"] = event
        participant = body["payload"]["object"]["participant"]
        participant.update(user_id=int(session_id), user_name=f"Phone {i}", date_time=_zoom_time(moment))
        body["payload"]["object"]["uuid"] = uuid
        return body
    body = copy.deepcopy(fixture(event))
    body["payload"]["object"]["uuid"] = uuid
    body["event_ts"] = _ms(moment) + 100 + i
    participant = {
        "user_id": session_id,
        "user_name": f"Person {i}" if session % 2 == 0 else f"Person {i} (phone)",
        "id": "",
        "participant_uuid": f"PU-{i}",
        "participant_user_id": "",
        "email": "",
        "registrant_id": None if kind == "join" else "",
        ("join_time" if kind == "join" else "leave_time"): _zoom_time(moment),
    }
    if person.kind in ("email_user", "guest_email"):
        base = person.lms_email if person.kind == "email_user" else f"guest{i}@guests.test"
        participant["email"] = spelled(base)
    elif person.kind == "zoom_id_user":
        participant["id"] = participant["participant_user_id"] = f"zu-{i}"
    elif person.kind == "registrant":
        participant["email"] = spelled(f"private{i}@mail.test")
        if kind == "join":
            participant["registrant_id"] = f"reg-{i}"
    body["payload"]["object"]["participant"] = participant
    return body


@st.composite
def _sessions(draw, lengths: list[int]) -> tuple[int, int | None, int | None, int]:
    run = draw(st.integers(0, len(lengths) - 1))
    shape = draw(st.sampled_from(("closed", "closed", "closed", "no_leave", "no_join")))
    join = draw(st.integers(0, lengths[run] - 1))
    leave = draw(st.integers(join, lengths[run]))
    spelling = draw(st.integers(0, 2))
    return (run, None if shape == "no_join" else join, None if shape == "no_leave" else leave, spelling)


@st.composite
def scenarios(draw) -> Scenario:
    runs: list[tuple[datetime, datetime]] = []  # (start, end) of each meeting run
    start = MEETING_DAY + timedelta(seconds=draw(st.integers(0, 300)))
    for _ in range(1 if draw(st.integers(0, 3)) else 2):
        end = start + timedelta(seconds=draw(st.integers(30 * 60, 90 * 60)))
        runs.append((start, end))
        start = end + timedelta(seconds=draw(st.integers(60, 7200)))
    first_start, last_end = runs[0][0], runs[-1][1]
    any_ts = st.integers(_ms(first_start) - 86_400_000, _ms(last_end) + 3_600_000)
    timed: list[tuple[int, dict[str, Any]]] = []  # (when it happened, body)

    for offset in draw(st.lists(st.integers(0, 10**6), min_size=2, max_size=4, unique=True)):
        event_ts = draw(any_ts)
        timed.append((event_ts, _updated(NEWER + offset, event_ts, draw(CHANGES.filter(bool)))))
    if draw(st.booleans()):  # made in Zoom before the training existed: only its title may apply
        event_ts = draw(any_ts)
        timed.append((event_ts, _updated(OLDER + draw(st.integers(0, 10**6)), event_ts, draw(CHANGES))))
    if draw(st.integers(0, 3)) == 0:  # unsupported: a sync issue, nothing else
        event_ts = draw(any_ts)
        changed = {"type": 8, "topic": draw(TOPICS)}
        timed.append((event_ts, _updated(NEWER + 2 * 10**6 + draw(st.integers(0, 10**6)), event_ts, changed)))
    for uuid, (start, end) in zip(RUN_UUIDS, runs, strict=False):
        if draw(st.integers(0, 4)) > 0:
            timed.append((_ms(start) + 500, _run_event("meeting.started", uuid, _ms(start) + 500, start)))
        if draw(st.integers(0, 4)) > 0:
            timed.append((_ms(end) + 900, _run_event("meeting.ended", uuid, _ms(end) + 900, start, end)))
    if draw(st.integers(0, 3)) == 0:
        deleted = copy.deepcopy(fixture("meeting.deleted"))
        deleted["event_ts"] = _ms(last_end) + draw(st.integers(1_000, 3_600_000))
        timed.append((deleted["event_ts"], deleted))

    attendees = []
    for index in range(draw(st.integers(2, 4))):
        kind = draw(st.sampled_from(PEOPLE_KINDS))
        lengths = [int((end - start).total_seconds()) for start, end in runs]
        sessions = tuple(draw(st.lists(_sessions(lengths), min_size=1, max_size=3)))
        person = Attendee(index, kind, sessions)
        attendees.append(person)
        for number, (run, join, leave, spelling) in enumerate(sessions):
            for kind_, offset in (("join", join), ("leave", leave)):
                if offset is not None:
                    moment = runs[run][0] + timedelta(seconds=offset)
                    body = _participant_event(person, number, RUN_UUIDS[run], kind_, moment, spelling)
                    timed.append((_ms(moment), body))

    stream = tuple(body for _, body in sorted(timed, key=lambda pair: pair[0]))
    deliveries = [json.dumps(stream[i]).encode() for i in draw(st.permutations(range(len(stream))))]
    for source, position, how in draw(
        st.lists(
            st.tuples(st.integers(0, len(stream) - 1), st.integers(0, len(stream)), st.sampled_from(DUPLICATE_KINDS)),
            max_size=6,
        )
    ):
        deliveries.insert(position, _duplicate(stream[source], how, draw(st.integers(1, 10**5))))
    flags = draw(st.lists(st.booleans(), min_size=len(deliveries), max_size=len(deliveries)))
    cuts = [position for position, cut in enumerate(flags) if cut]
    link_at = draw(st.integers(0, len(deliveries)))
    return Scenario(tuple(attendees), stream, tuple(deliveries), frozenset(cuts), link_at)


def _duplicate(body: dict[str, Any], how: str, shift: int) -> bytes:
    """Zoom sending an event again: the same bytes, the same JSON written differently, or a new event_ts."""
    if how == "same_bytes":
        return json.dumps(body).encode()
    if how == "reserialised":
        return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=True).encode()
    resent = copy.deepcopy(body)
    resent["event_ts"] = (resent.get("event_ts") or _ms(MEETING_DAY)) + shift
    return json.dumps(resent).encode()


# --- running a scenario ---------------------------------------------------------------------------------------


class _Api:
    def __init__(self, client):
        self.client = client
        self.headers = AUTH  # then as the organizer, once there is one

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(f"/api/v1{path}", json=body, headers=self.headers)
        assert response.status_code == 201, response.json
        return response.json

    def get(self, path: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1{path}", headers=AUTH)
        assert response.status_code == 200, response.json
        return response.json


def _create_people(api: _Api, scenario: Scenario) -> dict[str, int]:
    """LMS users, always in the same order so both runs give them the same ids."""
    users = {"organizer": api.post("/users", STAFF | {"email": "organizer@lms.test", "name": "Olga"})["id"]}
    api.headers = acting(users["organizer"])
    users["absent"] = api.post("/users", {"email": "absent@example.org", "name": "Abe Absent"})["id"]
    for person in scenario.attendees:
        if person.kind in ("email_user", "registrant", "zoom_id_user"):
            body = {"email": person.lms_email, "name": f"Person {person.index}"}
            if person.kind == "zoom_id_user":
                body["zoom_user_id"] = f"zu-{person.index}"
            users[f"person{person.index}"] = api.post("/users", body)["id"]
    return users


def _create_training(app: Flask, api: _Api, scenario: Scenario, users: dict[str, int]) -> int:
    academy = api.post("/academies", {"name": "Safety academy"})["id"]
    training = api.post("/trainings", {**LMS_TRAINING, "academy_id": academy, "organizer_id": users["organizer"]})["id"]
    api.post(f"/trainings/{training}/registrants", {"user_id": users["absent"]})
    zoom_registrant_ids = {}
    for person in scenario.attendees:
        if person.kind == "registrant":
            registrant = api.post(f"/trainings/{training}/registrants", {"user_id": users[f"person{person.index}"]})
            zoom_registrant_ids[registrant["id"]] = f"reg-{person.index}"
    with app.extensions[EXTENSION_KEY].session_factory() as session:  # the API cannot set it yet
        for registrant_id, zoom_registrant_id in zoom_registrant_ids.items():
            session.get(Registrant, registrant_id).zoom_registrant_id = zoom_registrant_id
        session.commit()
    return training


def _deliver(client, raw_body: bytes) -> None:
    response = deliver(client, raw_body)
    assert response.status_code == 200, response.json


def _final_state(app: Flask, api: _Api, training_id: int) -> dict[str, Any]:
    with app.extensions[EXTENSION_KEY].session_factory() as session:
        statuses = sorted(set(session.scalars(select(InboxEvent.status))))
    assert statuses == ["processed"], statuses
    return {
        "training": api.get(f"/trainings/{training_id}"),
        "attendance": api.get(f"/trainings/{training_id}/attendance"),
    }


def reference_run(stack: Stack, scenario: Scenario) -> dict[str, Any]:
    with stack.fresh_app() as app:
        client = app.test_client()
        api = _Api(client)
        training_id = _create_training(app, api, scenario, _create_people(api, scenario))
        for body in scenario.stream:
            _deliver(client, json.dumps(body).encode())
        run_jobs(app)
        return _final_state(app, api, training_id)


def permuted_run(stack: Stack, scenario: Scenario) -> dict[str, Any]:
    with stack.fresh_app() as app:
        client = app.test_client()
        api = _Api(client)
        users = _create_people(api, scenario)
        training_id = None
        for position, raw_body in enumerate(scenario.deliveries):
            if position == scenario.link_at:
                training_id = _create_training(app, api, scenario, users)
            _deliver(client, raw_body)
            if position in scenario.cuts:
                run_jobs(app)
        if training_id is None:
            training_id = _create_training(app, api, scenario, users)
        run_jobs(app)
        return _final_state(app, api, training_id)


# --- the property ---------------------------------------------------------------------------------------------


@pytest.fixture(params=sorted(EXAMPLES))
def stack(request, settings, tmp_path) -> Iterator[Stack]:
    current = Stack(request.param, request, settings, tmp_path)
    yield current
    current.close()


def test_any_order_with_duplicates_gives_the_same_result_as_in_order_delivery(stack):
    @hypothesis_settings(
        max_examples=EXAMPLES[stack.kind],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(scenario=scenarios())
    def check(scenario: Scenario) -> None:
        assert permuted_run(stack, scenario) == reference_run(stack, scenario)

    check()
