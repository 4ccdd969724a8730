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
    MeetingInstance,
    ParticipantEvent,
    Registrant,
    ReportRow,
    Training,
    User,
)
from models.database import chunks
from workers.intervals import JOIN, LEAVE, Interval, person_intervals, total_seconds, union


@dataclass
class _Session:
    """One Zoom join session (participant `user_id`), its identifiers merged across its events."""

    points: list[tuple[datetime, str, str]] = field(default_factory=list)
    registrant_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    zoom_user_ids: set[str] = field(default_factory=set)
    participant_uuids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def add(self, fact: ParticipantEvent) -> None:
        # The session id keeps two devices' same-second leaves apart in the sweep.
        self.points.append((fact.at, fact.kind, fact.session_id or f"#fact{fact.id}"))
        for bucket, value in (
            (self.registrant_ids, fact.registrant_id),
            (self.emails, fact.email.lower()),
            (self.zoom_user_ids, fact.participant_user_id),
            (self.participant_uuids, fact.participant_uuid),
            (self.names, fact.name),
        ):
            if value:
                bucket.add(value)


@dataclass
class _Person:
    user_id: int | None
    name: str = ""
    email: str = ""
    intervals: list[Interval] = field(default_factory=list)


def _first(values: set[str]) -> str:
    return min(values) if values else ""


def _group_sessions(facts: Iterable[ParticipantEvent]) -> dict[tuple[str, str], _Session]:
    sessions: dict[tuple[str, str], _Session] = defaultdict(_Session)
    for fact in facts:
        # Without a session id a fact stands alone (keyed by its own row id).
        key = (fact.meeting_uuid, fact.session_id or f"#fact{fact.id}")
        sessions[key].add(fact)
    return sessions


def _report_sessions(session: Session, meeting_id: int) -> dict[tuple[str, str], _Session]:
    """Each row of Zoom's report is one join session with its join and its leave."""
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
        ).where(ReportRow.meeting_id == meeting_id)
    )
    sessions: dict[tuple[str, str], _Session] = {}
    for row in rows:
        key = f"#report{row.id}"
        s = _Session(points=[(row.join_time, JOIN, key), (row.leave_time, LEAVE, key)])
        for bucket, value in (
            (s.registrant_ids, row.registrant_id),
            (s.emails, row.email.lower()),
            (s.zoom_user_ids, row.participant_user_id),
            (s.names, row.name),
        ):
            if value:
                bucket.add(value)
        sessions[(row.meeting_uuid, key)] = s
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
        ).where(ParticipantEvent.meeting_id == training.zoom_meeting_id)
    )
    reported = _report_sessions(session, training.zoom_meeting_id)
    # Zoom's report is authoritative for every run it covers; live events count for the others.
    covered = {meeting_uuid for meeting_uuid, _ in reported}
    sessions = _group_sessions(fact for fact in facts if fact.meeting_uuid not in covered)
    sessions.update(reported)
    ends = dict(
        session.execute(
            select(MeetingInstance.uuid, MeetingInstance.ended_at).where(
                MeetingInstance.meeting_id == training.zoom_meeting_id
            )
        ).all()
    )
    lookups = _user_lookups(session, training, sessions.values())
    assigned = dict(
        session.execute(
            select(AttendanceAssignment.identity_key, AttendanceAssignment.user_id).where(
                AttendanceAssignment.training_id == training.id
            )
        ).all()
    )
    # identity -> meeting run uuid -> points: presence is swept per run, then unioned across runs.
    points: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    people: dict[str, _Person] = {}
    for (meeting_uuid, _), s in sorted(sessions.items()):
        key, user_id = _identity(s, *lookups)
        if key in assigned:  # a guest an admin said is this user
            key, user_id = f"user:{assigned[key]}", assigned[key]
        person = people.setdefault(key, _Person(user_id=user_id))
        person.name = person.name or _first(s.names)
        person.email = person.email or _first(s.emails)
        points[key][meeting_uuid].extend(s.points)
    for key, runs in points.items():
        intervals: list[Interval] = []
        for meeting_uuid, run_points in runs.items():
            intervals.extend(person_intervals(run_points, ends.get(meeting_uuid)))
        people[key].intervals = union(intervals)
    return people


def _row_values(person: _Person) -> dict:
    intervals = person.intervals
    return dict(
        user_id=person.user_id,
        name=person.name[:255],
        email=person.email[:320],
        first_join_time=intervals[0].start if intervals else None,
        last_leave_time=intervals[-1].end if intervals else None,
        attended_seconds=total_seconds(intervals),
        intervals=[[i.start.isoformat(), i.end.isoformat() if i.end else None] for i in intervals],
    )


ROW_FIELDS = ("user_id", "name", "email", "first_join_time", "last_leave_time", "attended_seconds", "intervals")


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
        written = write_attendance(uow.session, training)
        uow.commit()
        return written
