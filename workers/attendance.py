"""Attendance of a training, recomputed from every participant fact of its meeting.

Zoom's participant report, once read (workers/reports.py), replaces the live
join/leave events of each meeting run it covers. Recomputing from the full set of stored facts (never adjusting totals
incrementally) is what makes the result independent of delivery order and
duplicates. Only rows whose values changed are written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from models import (
    Attendance,
    AttendanceAssignment,
    ParticipantEvent,
    Registrant,
    ReportRow,
    Training,
    User,
)
from models.database import chunks
from models.report import WAITING_ROOM_STATUS
from workers import presence
from workers.intervals import JOIN, LEAVE, Interval, person_intervals, total_seconds, union
from workers.presence import WAITING_JOIN, WAITING_LEAVE
from workers.runs import not_the_training, plan_report_pull, runs_of, summarise_runs, why_not_day


@dataclass
class _Session:
    """One Zoom session (participant `user_id`, or one report row), its identifiers merged across its events."""

    events: list[tuple[datetime, str]] = field(default_factory=list)
    room: bool = False  # a breakout-room stint
    zoom_session_id: str = ""  # Zoom's user_id of a report row (a live session is keyed by it)
    links: set[str] = field(default_factory=set)  # tags of the session Zoom says this one belongs to
    registrant_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    zoom_user_ids: set[str] = field(default_factory=set)
    participant_uuids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def add(self, fact) -> None:
        self.events.append((fact.at, fact.kind))
        self.room = self.room or bool(fact.room_uuid)
        if fact.link_session_id:
            self.links.add(f"s:{fact.link_session_id}")
        if fact.link_participant_uuid:
            self.links.add(f"p:{fact.link_participant_uuid}")
        self.note(fact.registrant_id, fact.email, fact.participant_user_id, fact.participant_uuid, fact.name)

    def note(self, registrant_id: str, email: str, zoom_user_id: str, participant_uuid: str, name: str) -> None:
        for bucket, value in (
            (self.registrant_ids, registrant_id),
            (self.emails, email.lower()),
            (self.zoom_user_ids, zoom_user_id),
            (self.participant_uuids, participant_uuid),
            (self.names, name),
        ):
            if value:
                bucket.add(value)

    def tags(self, session_id: str) -> set[str]:
        """What ties this session to others of the same person in its run (see presence.people)."""
        own = self.zoom_session_id or session_id
        tags = {f"s:{own}"} if own and not own.startswith("#") else set()
        tags |= {f"r:{v}" for v in self.registrant_ids} | {f"z:{v}" for v in self.zoom_user_ids}
        return tags | {f"p:{v}" for v in self.participant_uuids}

    def merged(self, other: _Session) -> _Session:
        return _Session(
            registrant_ids=self.registrant_ids | other.registrant_ids,
            emails=self.emails | other.emails,
            zoom_user_ids=self.zoom_user_ids | other.zoom_user_ids,
            participant_uuids=self.participant_uuids | other.participant_uuids,
            names=self.names | other.names,
        )


@dataclass
class _Person:
    user_id: int | None
    name: str = ""
    email: str = ""
    intervals: list[Interval] = field(default_factory=list)
    waiting: list[Interval] = field(default_factory=list)  # waits that were not also presence
    rooms: list[Interval] = field(default_factory=list)  # breakout-room stints (part of `intervals`)


def _first(values: set[str]) -> str:
    return min(values) if values else ""


def _group_sessions(facts: Iterable) -> dict[tuple[str, str], _Session]:
    sessions: dict[tuple[str, str], _Session] = defaultdict(_Session)
    for fact in facts:
        # Without a session id a fact stands alone (keyed by its own row id).
        key = (fact.meeting_uuid, fact.session_id or f"#fact{fact.id}")
        sessions[key].add(fact)
    return sessions


def _report_sessions(session: Session, meeting_id: int, skipped: set[str]) -> dict[tuple[str, str], _Session]:
    """Each row of Zoom's report is one stint with its join and its leave, in the meeting or its waiting room."""
    rows = session.execute(
        select(
            ReportRow.id,
            ReportRow.meeting_uuid,
            ReportRow.session_id,
            ReportRow.participant_user_id,
            ReportRow.registrant_id,
            ReportRow.email,
            ReportRow.name,
            ReportRow.join_time,
            ReportRow.leave_time,
            ReportRow.status,
            ReportRow.bo_mtg_id,
        ).where(ReportRow.meeting_id == meeting_id)
    )
    sessions: dict[tuple[str, str], _Session] = {}
    for row in rows:
        if row.meeting_uuid in skipped:
            continue
        came, went = (WAITING_JOIN, WAITING_LEAVE) if row.status == WAITING_ROOM_STATUS else (JOIN, LEAVE)
        s = _Session(events=[(row.join_time, came), (row.leave_time, went)], room=bool(row.bo_mtg_id))
        s.zoom_session_id = row.session_id
        # A report row has no participant uuid; rows of one person share a Zoom user id or registrant id.
        s.note(row.registrant_id, row.email, row.participant_user_id, "", row.name)
        sessions[(row.meeting_uuid, f"#report{row.id}")] = s
    return sessions


def _user_lookups(session: Session, training: Training, sessions: Iterable[_Session]):
    sessions = list(sessions)
    by_registrant = dict(
        session.execute(
            select(Registrant.zoom_registrant_id, Registrant.user_id).where(
                Registrant.training_id == training.id, Registrant.zoom_registrant_id.is_not(None)
            )
        ).all()
    )
    emails = set().union(*(s.emails for s in sessions)) if sessions else set()
    zoom_ids = set().union(*(s.zoom_user_ids for s in sessions)) if sessions else set()
    by_email: dict[str, int] = {}
    for chunk in chunks(emails):
        for user_id, email in session.execute(
            select(User.id, func.lower(User.email)).where(func.lower(User.email).in_(chunk))
        ):
            by_email[email] = user_id
    by_zoom_id: dict[str, int] = {}
    for chunk in chunks(zoom_ids):
        by_zoom_id.update(session.execute(select(User.zoom_user_id, User.id).where(User.zoom_user_id.in_(chunk))).all())
    return by_registrant, by_email, by_zoom_id


def _identity(s: _Session, by_registrant, by_email, by_zoom_id) -> tuple[str, int | None]:
    """Match by registrant id, else email (case-insensitive), else Zoom user id; else a guest key."""
    for registrant_id in sorted(s.registrant_ids):
        if registrant_id in by_registrant:
            return f"user:{by_registrant[registrant_id]}", by_registrant[registrant_id]
    for email in sorted(s.emails):
        if email in by_email:
            return f"user:{by_email[email]}", by_email[email]
    for zoom_id in sorted(s.zoom_user_ids):
        if zoom_id in by_zoom_id:
            return f"user:{by_zoom_id[zoom_id]}", by_zoom_id[zoom_id]
    for prefix, values in (
        ("email", s.emails),
        ("zoom", s.zoom_user_ids),
        ("p", s.participant_uuids),
        ("name", s.names),
    ):
        if values:
            return f"guest:{prefix}:{_first(values)}"[:400], None
    return "guest:unknown", None


def compute_attendance(session: Session, training: Training) -> dict[str, _Person]:
    """Everyone's attendance for the training, keyed by identity; reads only."""
    if training.zoom_meeting_id is None:
        return {}
    known = runs_of(session, training)
    ends = {run.uuid: run.ended_at for run in known}
    skipped = not_the_training(known)  # a rehearsal, or another day: not the session
    # Plain rows, not ORM objects: a large webinar has tens of thousands of facts.
    facts = session.execute(
        select(
            ParticipantEvent.id,
            ParticipantEvent.meeting_uuid,
            ParticipantEvent.kind,
            ParticipantEvent.at,
            ParticipantEvent.session_id,
            ParticipantEvent.participant_uuid,
            ParticipantEvent.participant_user_id,
            ParticipantEvent.registrant_id,
            ParticipantEvent.email,
            ParticipantEvent.name,
            ParticipantEvent.room_uuid,
            ParticipantEvent.link_session_id,
            ParticipantEvent.link_participant_uuid,
        ).where(ParticipantEvent.meeting_id == training.zoom_meeting_id)
    )
    reported = _report_sessions(session, training.zoom_meeting_id, skipped)
    # Zoom's report is authoritative for every run it covers; live events count for the others.
    covered = {meeting_uuid for meeting_uuid, _ in reported} | skipped
    live, binds = [], []
    for fact in facts:
        if fact.meeting_uuid not in covered:
            live.append(fact)
        elif fact.kind == presence.BIND and fact.meeting_uuid not in skipped:
            binds.append(fact)  # a phone bind still ties the phone's report rows to its attendee's
    sessions = _group_sessions(live)
    sessions.update(reported)
    sessions.update(_group_sessions(binds))
    lookups = _user_lookups(session, training, sessions.values())
    assigned = dict(
        session.execute(
            select(AttendanceAssignment.identity_key, AttendanceAssignment.user_id).where(
                AttendanceAssignment.training_id == training.id
            )
        ).all()
    )
    by_run: dict[str, dict[str, _Session]] = defaultdict(dict)
    for (meeting_uuid, session_id), s in sessions.items():
        by_run[meeting_uuid][session_id] = s
    for meeting_uuid in [uuid for uuid in by_run if uuid not in ends]:
        # No started or ended event of this run came: it is the training's if its events began on its day.
        first = min((at for s in by_run[meeting_uuid].values() for at, _ in s.events), default=None)
        if first is not None and why_not_day(first, training.start_time, training.timezone):
            del by_run[meeting_uuid]
    # identity -> meeting run uuid -> presence edges: swept per run, then unioned across runs.
    edges: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    waits: dict[str, list[Interval]] = defaultdict(list)
    rooms: dict[str, list[Interval]] = defaultdict(list)
    people: dict[str, _Person] = {}
    for meeting_uuid, run in sorted(by_run.items()):
        end = ends.get(meeting_uuid)
        groups = presence.people({k: s.tags(k) for k, s in run.items()}, {k: s.links for k, s in run.items()})
        for group in groups:
            whole = _Session()
            for session_id in group:
                whole = whole.merged(run[session_id])
            key, user_id = _identity(whole, *lookups)
            if key in assigned:  # a guest an admin said is this user
                key, user_id = f"user:{assigned[key]}", assigned[key]
            person = people.setdefault(key, _Person(user_id=user_id))
            person.name = person.name or _first(whole.names)
            person.email = person.email or _first(whole.emails)
            for session_id in group:
                session_edges, waiting = presence.session_edges(run[session_id].events)
                # The session id keeps two devices' same-second leaves apart in the sweep.
                edges[key][meeting_uuid].extend((at, kind, session_id) for at, kind in session_edges)
                waits[key].extend(presence.close_open(waiting, end))
                if run[session_id].room:
                    rooms[key].extend(presence.room_intervals([run[session_id].events], end))
    for key, person in people.items():
        intervals: list[Interval] = []
        for meeting_uuid, run_edges in edges[key].items():
            intervals.extend(person_intervals(run_edges, ends.get(meeting_uuid)))
        person.intervals = union(intervals)
        person.waiting = presence.waiting_intervals(person.intervals, waits[key])
        person.rooms = union(rooms[key])
    return people


def _spelled(intervals: list[Interval]) -> list[list[str | None]]:
    return [[i.start.isoformat(), i.end.isoformat() if i.end else None] for i in intervals]


def _row_values(person: _Person) -> dict:
    intervals = person.intervals
    return dict(
        user_id=person.user_id,
        name=person.name[:255],
        email=person.email[:320],
        first_join_time=intervals[0].start if intervals else None,
        last_leave_time=intervals[-1].end if intervals else None,
        attended_seconds=total_seconds(intervals),
        intervals=_spelled(intervals),
        waiting_seconds=total_seconds(person.waiting),
        waiting_intervals=_spelled(person.waiting),
        room_intervals=_spelled(person.rooms),
    )


ROW_FIELDS = (
    "user_id",
    "name",
    "email",
    "first_join_time",
    "last_leave_time",
    "attended_seconds",
    "intervals",
    "waiting_seconds",
    "waiting_intervals",
    "room_intervals",
)


def write_attendance(session: Session, training: Training) -> int:
    """Bring the training's attendance rows in line with the facts; returns rows written.

    Bulk statements (executemany) for inserts and updates: a 10,000-person webinar
    must not become 10,000 ORM objects per batch.
    """
    people = compute_attendance(session, training)
    existing = {
        row.identity_key: row
        for row in session.execute(
            select(Attendance.id, Attendance.identity_key, *(getattr(Attendance, f) for f in ROW_FIELDS)).where(
                Attendance.training_id == training.id
            )
        )
    }
    inserts, updates = [], []
    for key, person in people.items():
        values = _row_values(person)
        row = existing.pop(key, None)
        if row is None:
            inserts.append(dict(training_id=training.id, identity_key=key, **values))
        elif any(getattr(row, name) != value for name, value in values.items()):
            updates.append(dict(id=row.id, **values))
    if inserts:
        session.execute(insert(Attendance), inserts)
    if updates:
        session.execute(update(Attendance), updates)
    stale = [row.id for row in existing.values()]
    for chunk in chunks(stale):
        session.execute(delete(Attendance).where(Attendance.id.in_(chunk)))
    return len(inserts) + len(updates) + len(stale)


def recompute_training_attendance(training_id: int) -> int:
    """RQ job: recompute after LMS data changed (a registrant added, a meeting linked)."""
    from models.database import lock_meeting
    from service.services import services

    with services().unit_of_work() as uow:
        training = uow.session.get(Training, training_id)
        if training is None or training.zoom_meeting_id is None:
            return 0
        lock_meeting(uow.session, training.zoom_meeting_id)
        # A new schedule may make another run the training's: its status, and whether a report is to be read.
        held_until = training.actual_end
        summarise_runs(uow.session, training)
        delay = services().settings.report_delays[0]
        changed = training.actual_end != held_until
        plan_report_pull(uow.session, training, ended=False, runs_changed=changed, delay_seconds=delay)
        written = write_attendance(uow.session, training)
        uow.commit()
        return written
