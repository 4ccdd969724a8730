"""A meeting's script, read and checked whole before anything is played (zoomsim/life.py plays it).

Times are seconds after the start. The fields (all but `name` optional):

    {start, end_after, host_joins, uuid,
     practice,                  # webinars: play a practice session (webinar.ended says practice_session)
     leave_main_for_rooms,      # a room move also leaves the main room in the webhooks (default false)
     participants: [{name, email, zoom_user_id, participant_uuid,
                     room_rows_blank,        # their breakout rows show no `id` nor `user_email`
                     phone: {number, join, leave, bind_at},   # a phone caller of theirs, maybe bound
                     sessions: [{join, leave, lose_leave,
                                 waiting,           # seconds in the waiting room from `join`, then admitted
                                 never_admitted,    # waits from `join` to `leave`, never admitted
                                 put_back: [[at, readmit_at or null], ...],   # sent back to the waiting room
                                 rooms: [{at, until, room}, ...],             # breakout-room stints
                                 failover_at}]}]}   # the client reconnects then

A mistake is a SimUsageError naming the participant and session, and nothing is played.
Waiting and breakout rooms are meetings' only: Zoom's event reference has their events for meetings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zoomsim.rooms import Person
from zoomsim.times import parse_start_time
from zoomsim.world import Meeting, SimUsageError, World

# Within one second, leaves come before joins (a rejoin in the same second is a leave then a join),
# and a phone binds once everyone has arrived.
EXIT, ENTRY, BIND = 0, 1, 2
# Within one session and one second: stints end before the next begins.
_ORDER = {"enter": 0, "admit": 1, "room_out": 2, "readmit": 2, "room_in": 3, "put_back": 3, "failover": 4, "leave": 5}
_PHASE = {"leave": EXIT, "room_out": EXIT, "put_back": EXIT, "bind": BIND}


@dataclass(frozen=True)
class Step:
    at: float
    kind: str  # enter, admit, room_in, room_out, put_back, readmit, failover, leave; a phone's bind
    room: str = ""

    @property
    def phase(self) -> int:
        return _PHASE.get(self.kind, ENTRY)


@dataclass
class SessionPlan:
    join: float
    leave: float | None
    lose_leave: bool = False
    waiting: float = 0.0
    never_admitted: bool = False
    rooms: list[tuple[float, float, str]] = field(default_factory=list)
    put_back: list[tuple[float, float | None]] = field(default_factory=list)
    failover_at: float | None = None
    end: float = 0.0  # its leave, or the meeting's end

    @property
    def admitted(self) -> float | None:
        return None if self.never_admitted else self.join + self.waiting

    def steps(self) -> list[Step]:
        steps = [Step(self.join, "enter")]
        if self.waiting and not self.never_admitted:
            steps.append(Step(self.join + self.waiting, "admit"))
        starts = {at for at, _, _ in self.rooms}
        for at, until, room in self.rooms:
            steps.append(Step(at, "room_in", room))
            if until != self.leave and until not in starts:  # straight to the next room or out: no main row
                steps.append(Step(until, "room_out", room))
        for at, readmit in self.put_back:
            steps.append(Step(at, "put_back"))
            if readmit is not None:
                steps.append(Step(readmit, "readmit"))
        if self.failover_at is not None:
            steps.append(Step(self.failover_at, "failover"))
        if self.leave is not None:
            steps.append(Step(self.leave, "leave"))
        return sorted(steps, key=lambda s: (s.at, _ORDER[s.kind]))

    def in_meeting_at(self, moment: float) -> bool:
        """On a computer in the meeting (main or breakout room) at `moment`."""
        admitted = self.admitted
        if admitted is None or not admitted <= moment < self.end:
            return False
        return not any(at <= moment < (readmit if readmit is not None else self.end) for at, readmit in self.put_back)


@dataclass
class PhonePlan:
    number: str
    join: float
    leave: float | None
    bind_at: float | None

    def steps(self) -> list[Step]:
        steps = [Step(self.join, "enter")]
        if self.bind_at is not None:
            steps.append(Step(self.bind_at, "bind"))
        if self.leave is not None:
            steps.append(Step(self.leave, "leave"))
        return steps


@dataclass
class PersonPlan:
    person: Person
    sessions: list[SessionPlan]
    phone: PhonePlan | None = None
    room_rows_blank: bool = False


@dataclass
class Plan:
    start: datetime
    length: float
    uuid: str | None
    practice: bool
    leave_main_for_rooms: bool
    people: list[PersonPlan]


def parse(world: World, meeting: Meeting, script: dict[str, Any]) -> Plan:
    """The checked script; SimUsageError for the first mistake."""
    if not isinstance(script, dict):
        raise SimUsageError("a script is a JSON object")
    start = meeting.start_time
    if script.get("start"):
        parsed = parse_start_time(script["start"], "UTC")
        if parsed is None:
            raise SimUsageError("start must be yyyy-MM-ddTHH:mm:ssZ")
        start = parsed
    length = seconds(script.get("end_after", meeting.duration * 60 or 3600), "end_after")
    practice = flag(script, "practice", "practice")
    if practice and meeting.kind != "webinar":
        raise SimUsageError("practice: only a webinar has practice sessions")
    raw_people = script.get("participants") or []
    if not isinstance(raw_people, list):
        raise SimUsageError("participants must be a list")
    raw_people = list(raw_people)
    if script.get("host_joins"):
        host = world.users[meeting.host_id]
        raw_people.insert(0, {"name": host.display_name, "email": host.email, "sessions": [{"join": 0}]})
    people = [_person(n, raw, length, meeting.kind) for n, raw in enumerate(raw_people)]
    return Plan(
        start=start,
        length=length,
        uuid=script.get("uuid"),
        practice=practice,
        leave_main_for_rooms=flag(script, "leave_main_for_rooms", "leave_main_for_rooms"),
        people=people,
    )


def seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise SimUsageError(f"{what} must be a number of seconds after the start")
    return float(value)


def duration(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise SimUsageError(f"{what} must be a number of seconds, 0 or more")
    return float(value)


def flag(raw: dict[str, Any], key: str, what: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise SimUsageError(f"{what} must be true or false")
    return value


def _text(raw: dict[str, Any], key: str, what: str) -> str:
    value = raw.get(key) or ""
    if not isinstance(value, str):
        raise SimUsageError(f"{what} must be a string")
    return value


def _person(n: int, raw: Any, length: float, kind: str) -> PersonPlan:
    if not isinstance(raw, dict):
        raise SimUsageError(f"participant {n} must be an object")
    if not raw.get("name"):
        raise SimUsageError(f"participant {n} has no name")
    where = f"participant {n}"
    person = Person(
        name=_text(raw, "name", f"{where}: name"),
        email=_text(raw, "email", f"{where}: email"),
        zoom_user_id=_text(raw, "zoom_user_id", f"{where}: zoom_user_id"),
        participant_uuid=_text(raw, "participant_uuid", f"{where}: participant_uuid"),
    )
    raw_sessions = raw.get("sessions") or [{"join": 0}]
    if not isinstance(raw_sessions, list):
        raise SimUsageError(f"{where}: sessions must be a list")
    sessions = [_session(f"{where} session {k}", s, length, kind) for k, s in enumerate(raw_sessions)]
    phone = _phone(f"{where} phone", raw["phone"], sessions) if raw.get("phone") is not None else None
    return PersonPlan(person, sessions, phone, flag(raw, "room_rows_blank", f"{where}: room_rows_blank"))


def _session(where: str, raw: Any, length: float, kind: str) -> SessionPlan:
    if not isinstance(raw, dict):
        raise SimUsageError(f"{where} must be an object")
    join = seconds(raw.get("join", 0), f"{where}: join")
    leave = None if raw.get("leave") is None else seconds(raw["leave"], f"{where}: leave")
    if leave is not None and leave < join:
        raise SimUsageError(f"{where} leaves before joining")
    plan = SessionPlan(join, leave, bool(raw.get("lose_leave")), end=leave if leave is not None else max(join, length))
    plan.waiting = duration(raw.get("waiting", 0), f"{where}: waiting")
    plan.never_admitted = flag(raw, "never_admitted", f"{where}: never_admitted")
    rooms, put_back = raw.get("rooms") or [], raw.get("put_back") or []
    if kind != "meeting" and (plan.waiting or plan.never_admitted or rooms or put_back):
        raise SimUsageError(f"{where}: waiting and breakout rooms are played in meetings only (Zoom's events are)")
    failover = raw.get("failover_at")
    if plan.never_admitted and (plan.waiting or rooms or put_back or failover is not None):
        raise SimUsageError(f"{where}: never admitted, so no waiting time, rooms, put_back or failover_at")
    if plan.join + plan.waiting > plan.end:
        raise SimUsageError(f"{where}: waits {plan.waiting:g} s, past its leave at {plan.end:g}")
    rooms, put_back = _list(rooms, f"{where}: rooms"), _list(put_back, f"{where}: put_back")
    plan.rooms = [_room(f"{where} room {k}", r, plan) for k, r in enumerate(rooms)]
    plan.put_back = [_put_back(f"{where} put_back {k}", p, plan) for k, p in enumerate(put_back)]
    _no_overlaps(where, plan)
    if failover is not None:
        plan.failover_at = _failover(where, seconds(failover, f"{where}: failover_at"), plan)
    return plan


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise SimUsageError(f"{where} must be a list")
    return value


def _room(where: str, raw: Any, plan: SessionPlan) -> tuple[float, float, str]:
    if not isinstance(raw, dict) or set(raw) - {"at", "until", "room"}:
        raise SimUsageError(f"{where} must be an object with at, until and room")
    at, until = seconds(raw.get("at"), f"{where}: at"), seconds(raw.get("until"), f"{where}: until")
    name = raw.get("room")
    if not isinstance(name, str) or not name:
        raise SimUsageError(f"{where}: room must name the breakout room")
    if until <= at:
        raise SimUsageError(f"{where}: until must come after at")
    assert plan.admitted is not None
    if at < plan.admitted or until > plan.end:
        raise SimUsageError(f"{where} lies outside its session ({plan.admitted:g} to {plan.end:g} in the meeting)")
    return at, until, name


def _put_back(where: str, raw: Any, plan: SessionPlan) -> tuple[float, float | None]:
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise SimUsageError(f"{where} must be [at, readmit_at or null]")
    at = seconds(raw[0], f"{where}: at")
    readmit = None if raw[1] is None else seconds(raw[1], f"{where}: readmit_at")
    assert plan.admitted is not None
    if not plan.admitted <= at < plan.end:
        raise SimUsageError(f"{where} lies outside its session ({plan.admitted:g} to {plan.end:g} in the meeting)")
    if readmit is not None and not at < readmit < plan.end:
        raise SimUsageError(f"{where}: readmit_at must come after at and before the session's leave at {plan.end:g}")
    return at, readmit


def _no_overlaps(where: str, plan: SessionPlan) -> None:
    stints = [(at, until, f"room {name!r}") for at, until, name in plan.rooms]
    stints += [(at, readmit if readmit is not None else plan.end, "put_back") for at, readmit in plan.put_back]
    stints.sort()
    for (at, until, what), (next_at, _, next_what) in zip(stints, stints[1:], strict=False):
        if next_at < until:
            raise SimUsageError(f"{where}: {what} from {at:g} to {until:g} overlaps {next_what} from {next_at:g}")


def _failover(where: str, at: float, plan: SessionPlan) -> float:
    assert plan.admitted is not None
    if not plan.admitted < at < plan.end:
        raise SimUsageError(f"{where}: failover_at must fall while they are in the meeting, not at its edges")
    stints = [(a, u) for a, u, _ in plan.rooms] + [(a, r if r is not None else plan.end) for a, r in plan.put_back]
    if any(a <= at <= u for a, u in stints):
        raise SimUsageError(f"{where}: failover_at falls in a breakout or waiting room stint")
    return at


def _phone(where: str, raw: Any, sessions: list[SessionPlan]) -> PhonePlan:
    if not isinstance(raw, dict) or set(raw) - {"number", "join", "leave", "bind_at"}:
        raise SimUsageError(f"{where} must be an object with number, join, leave and bind_at")
    number = raw.get("number")
    if not isinstance(number, str) or not number:
        raise SimUsageError(f"{where}: number must be the phone number, a string")
    join = seconds(raw.get("join", 0), f"{where}: join")
    leave = None if raw.get("leave") is None else seconds(raw["leave"], f"{where}: leave")
    if leave is not None and leave < join:
        raise SimUsageError(f"{where} leaves before joining")
    bind_at = None if raw.get("bind_at") is None else seconds(raw["bind_at"], f"{where}: bind_at")
    if bind_at is not None:
        if bind_at < join or (leave is not None and bind_at >= leave):
            raise SimUsageError(f"{where}: bind_at must fall while the phone is in the meeting")
        if not any(s.in_meeting_at(bind_at) for s in sessions):
            raise SimUsageError(f"{where}: bind_at must fall while they are in the meeting on a computer")
    return PhonePlan(number, join, leave, bind_at)
