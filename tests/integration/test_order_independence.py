"""The spec's ordering property, checked on both backends with generated event streams.

"Any permutation of an event stream, with any duplicates, gives the same final
database as the stream delivered once in order."

A scenario is one meeting's stream: meeting.updated changes with distinct Zoom
change times (some newer than the training, one maybe older, one maybe an
unsupported change to a recurring meeting), started/ended of one or two runs of
the meeting (each run has its own uuid), maybe deleted, and joins and leaves of
2-4 people (LMS users matched by email, by Zoom user id or by registrant id, and
guests; several devices at once, rejoins, joins without a leave, leaves without a
join, legacy `date_time` payloads without event_ts), some of them first in the
waiting room (admitted after a while, with or without Zoom's "joined" as they
entered, or never admitted) and some moving to a breakout room for a while (with
or without a main-room leave and rejoin around it).

Reference run: a fresh database, the stream delivered once in order, then the jobs
run. Test run: a fresh database, the stream permuted with exact, re-serialised and
re-sent (new event_ts) duplicates inserted, jobs run at random cut points (so events
are applied in several batches, in arbitrary order), and the training linked to the
meeting at a random point (events before it wait as `unmatched`). Both must end with
the same training and attendance (as the API shows them) and with every inbox event
processed. And both must agree with an oracle written apart from the service (sets
of seconds): for every LMS user whose sessions all have a join and a leave, the
attended time is the union of their admitted stretches and the waiting time what of
their waits lies outside it, so a sum instead of a union, or a waiting room counted
as presence, fails even where order does not matter.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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


WAIT_SHAPES = ("admitted", "joined_on_entry", "never_admitted")


@dataclass(frozen=True)
class Visit:
    """One Zoom session; offsets are seconds from the start of its meeting run."""

    run: int
    join: int | None
    leave: int | None
    spelling: int
    wait: int | None = None  # seconds in the waiting room from `join` (closed sessions only)
    wait_shape: str = "admitted"  # one of WAIT_SHAPES
    room: tuple[int, int, bool] | None = None  # a breakout stint (from, until, main-room leave around it)

    @property
    def admitted_at(self) -> int | None:
        if self.wait is None:
            return self.join
        return None if self.wait_shape == "never_admitted" else self.join + self.wait


@dataclass(frozen=True)
class Attendee:
    index: int
    kind: str  # one of PEOPLE_KINDS
    sessions: tuple[Visit, ...]

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
    runs: tuple[tuple[datetime, datetime], ...] = ()  # (start, end) of each meeting run


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
        # Often the same day, sometimes another: then the runs played are not the training's (runs.py).
        "start_time": st.one_of(st.integers(-120, 12 * 60), st.integers(0, 60 * 24 * 14)).map(
            lambda m: _zoom_time(MEETING_DAY + timedelta(minutes=m))
        ),
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


def _session_id(person: Attendee, session: int, room: bool = False, back: bool = False) -> str:
    return str(16_778_240 + 100 * person.index + session + (50 if room else 0) + (75 if back else 0))


def _participant_event(
    person: Attendee,
    session: int,
    uuid: str,
    kind: str,
    moment: datetime,
    spelling: int,
    *,
    event: str | None = None,
    session_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict:
    """A join or leave (`kind`), or the waiting/breakout `event` given, of one of the person's sessions."""

    def spelled(email: str) -> str:
        return (email.lower(), email.upper(), email.title())[spelling]

    i = person.index
    session_id = session_id or _session_id(person, session)
    event = event or ("meeting.participant_joined" if kind == "join" else "meeting.participant_left")
    if person.kind == "guest_phone":
        # Legacy shape: numeric ids, `date_time`, no event_ts.
        body = copy.deepcopy(fixture("meeting.participant_joined.legacy"))
        body["event"] = event
        participant = body["payload"]["object"]["participant"]
        participant.update(user_id=int(session_id), user_name=f"Phone {i}", date_time=_zoom_time(moment))
        body["payload"]["object"]["uuid"] = uuid
        return body
    body = copy.deepcopy(fixture(event if event in FIXTURE_EVENTS else "meeting.participant_joined"))
    body["event"] = event
    body["payload"]["object"]["uuid"] = uuid
    body["event_ts"] = _ms(moment) + 100 + i
    time_field = {"join": "join_time", "leave": "leave_time"}.get(kind, "date_time")
    participant = {
        "user_id": session_id,
        "user_name": f"Person {i}" if session % 2 == 0 else f"Person {i} (phone)",
        "id": "",
        "participant_uuid": f"PU-{i}",
        "participant_user_id": "",
        "email": "",
        "registrant_id": None if kind == "join" else "",
        time_field: _zoom_time(moment),
        **(extra or {}),
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


FIXTURE_EVENTS = {
    "meeting.participant_joined",
    "meeting.participant_left",
    "meeting.participant_joined_waiting_room",
    "meeting.participant_admitted",
    "meeting.participant_left_waiting_room",
    "meeting.participant_joined_breakout_room",
    "meeting.participant_left_breakout_room",
}


def _visit_events(person: Attendee, number: int, visit: Visit, start: datetime, uuid: str) -> list:
    """(when, body) of everything Zoom sends for one visit: waits, joins, room moves, leaves."""

    def at(offset: int) -> datetime:
        return start + timedelta(seconds=offset)

    def ev(kind: str, offset: int, **kw) -> tuple[int, dict]:
        return _ms(at(offset)), _participant_event(person, number, uuid, kind, at(offset), visit.spelling, **kw)

    if visit.wait is None or person.kind == "guest_phone":
        return [
            ev(kind, offset) for kind, offset in (("join", visit.join), ("leave", visit.leave)) if offset is not None
        ]
    out = [ev("wait", visit.join, event="meeting.participant_joined_waiting_room")]
    if visit.wait_shape == "never_admitted":
        out.append(ev("wait", visit.leave, event="meeting.participant_left_waiting_room"))
        out.append(ev("leave", visit.leave, extra={"leave_reason": "Leave waiting room."}))
        return out
    if visit.wait_shape == "joined_on_entry":
        out.append(ev("join", visit.join))  # Zoom's "joined" as they entered the waiting room
    admitted = visit.admitted_at
    out.append(ev("wait", admitted, event="meeting.participant_admitted"))
    out.append(ev("join", admitted))
    if visit.room is None:
        out.append(ev("leave", visit.leave))
        return out
    room_from, room_until, main_leave = visit.room
    main = _session_id(person, number)
    room_id = _session_id(person, number, room=True)
    room_extra = {"parent_user_id": main}
    out.append(
        ev("join", room_from, event="meeting.participant_joined_breakout_room", session_id=room_id, extra=room_extra)
    )
    out.append(
        ev("leave", room_until, event="meeting.participant_left_breakout_room", session_id=room_id, extra=room_extra)
    )
    for body in (out[-2][1], out[-1][1]):
        body["payload"]["object"]["breakout_room_uuid"] = f"room-{person.index}-{number}"
    if main_leave:
        back = _session_id(person, number, back=True)
        out.append(ev("leave", room_from))
        out.append(ev("join", room_until, session_id=back))
        out.append(ev("leave", visit.leave, session_id=back))
    else:
        out.append(ev("leave", visit.leave))
    return out


@st.composite
def _sessions(draw, lengths: list[int]) -> Visit:
    run = draw(st.integers(0, len(lengths) - 1))
    shape = draw(st.sampled_from(("closed", "closed", "closed", "no_leave", "no_join")))
    join = draw(st.integers(0, lengths[run] - 1))
    leave = draw(st.integers(join, lengths[run]))
    spelling = draw(st.integers(0, 2))
    visit = Visit(run, None if shape == "no_join" else join, None if shape == "no_leave" else leave, spelling)
    if shape != "closed" or leave - join < 4 or not draw(st.booleans()):
        return visit
    wait = draw(st.integers(0, min(600, (leave - join) // 2)))
    shape = draw(st.sampled_from(WAIT_SHAPES))
    room = None
    admitted = join + wait
    if shape != "never_admitted" and leave - admitted >= 2 and draw(st.booleans()):
        room_from = draw(st.integers(admitted, leave - 1))
        room = (room_from, draw(st.integers(room_from + 1, leave)), draw(st.booleans()))
    return dataclasses.replace(visit, wait=wait, wait_shape=shape, room=room)


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
        for number, visit in enumerate(sessions):
            timed.extend(_visit_events(person, number, visit, runs[visit.run][0], RUN_UUIDS[visit.run]))

    stream = tuple(body for _, body in sorted(timed, key=lambda pair: pair[0]))  # stable: a visit's own order
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
    return Scenario(tuple(attendees), stream, tuple(deliveries), frozenset(cuts), link_at, tuple(runs))


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
        reference = reference_run(stack, scenario)
        assert permuted_run(stack, scenario) == reference
        expected = oracle(scenario, reference["training"])
        seen = _users_seen(reference)
        assert {email: seen.get(email, (0, 0)) for email in expected} == expected

    check()


# --- the oracle -----------------------------------------------------------------------------------------------


def oracle(scenario: Scenario, training: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(attended, waiting) seconds of every LMS user whose every session has a join and a leave, as sets of seconds.

    Written apart from the service: a second is attended if any session of the person was admitted
    and not yet gone at it (a breakout stint is inside its session); waiting if they were in the
    waiting room at it and attended at no session. Only runs of the training's final day count
    (or started at most an hour before its start).
    """
    zone = ZoneInfo(training["timezone"])
    start = datetime.fromisoformat(training["start_time"].replace("Z", "+00:00"))

    def on_the_day(moment: datetime) -> bool:
        same_day = moment.astimezone(zone).date() == start.astimezone(zone).date()
        return same_day or start - timedelta(hours=1) <= moment <= start

    counted = {n for n, moment in enumerate(_run_moments(scenario)) if moment is None or on_the_day(moment)}
    expected = {}
    for person in scenario.attendees:
        if person.kind not in ("email_user", "zoom_id_user", "registrant"):
            continue
        if any(v.join is None or v.leave is None for v in person.sessions):
            continue
        attended: set[tuple[int, int]] = set()
        waited: set[tuple[int, int]] = set()
        for v in person.sessions:
            if v.run not in counted:
                continue
            if v.admitted_at is not None:
                attended |= {(v.run, second) for second in range(v.admitted_at, v.leave)}
            if v.wait is not None:
                until = v.leave if v.wait_shape == "never_admitted" else v.admitted_at
                waited |= {(v.run, second) for second in range(v.join, until)}
        expected[person.lms_email] = (len(attended), len(waited - attended))
    return expected


def _run_moments(scenario: Scenario) -> list[datetime | None]:
    """When each run began as Zoom told it: its start if a started or ended event says so, else its first event."""
    moments: list[datetime | None] = []
    for uuid, (run_start, _) in zip(RUN_UUIDS, scenario.runs, strict=False):
        bodies = [b for b in scenario.stream if b["payload"]["object"].get("uuid") == uuid]
        if any(b["event"] in ("meeting.started", "meeting.ended") for b in bodies):
            moments.append(run_start)
            continue
        times = [
            datetime.fromisoformat(person[name].replace("Z", "+00:00"))
            for b in bodies
            for person in [b["payload"]["object"].get("participant") or {}]
            for name in ("join_time", "leave_time", "date_time")
            if person.get(name)
        ]
        moments.append(min(times, default=None))
    return moments


def _users_seen(state: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """The same figures from the API, for the people the oracle speaks of (by their LMS email)."""
    return {
        item["email"]: (item["attended_seconds"], item["waiting_seconds"])
        for item in state["attendance"]["items"]
        if item["email"] != "absent@example.org"
    }
