"""A meeting's life from a script: start, people joining and leaving from several devices, end.

Times in a script are seconds after the start, so a test can play an hour-long
meeting in an instant: the webhooks carry the scripted times, and the reports
say the same as the webhooks (except where a script loses a leave event: the
report still knows when that person left, as Zoom's does). Scripts can also
hold waiting rooms, breakout rooms, reconnects, phone callers and practice
sessions: the fields are in zoomsim/script.py, the moves in zoomsim/rooms.py.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from zoomsim import presence
from zoomsim.rooms import FAILOVER_OVERLAP, Person, Track, bind
from zoomsim.script import EXIT, Plan, SessionPlan, Step, parse
from zoomsim.times import zoom_time
from zoomsim.world import Meeting, World


def play(world: World, meeting: Meeting, script: dict[str, Any]) -> dict[str, Any]:
    """Run a whole meeting; returns what happened and the simulator's own attendance figures.

    The script is checked whole first (zoomsim/script.py), so a mistake plays nothing. The answer:
    `uuid`, `start_time`, `end_time`, `practice` (a webinar's practice session: its attendance is
    counted but is no run of the webinar), `sessions` (every row of the report, in order, with `status`,
    `room`, `failover`, `phone_number`), `rooms` (name -> breakout_room_uuid and bo_mtg_id),
    `attendance` (seconds in the meeting per person, zoomsim/presence.py) and `waiting` (seconds in the
    waiting room, not in the meeting otherwise, per person who waited).
    """
    plan = parse(world, meeting, script)
    instance = world.start(meeting, _at(plan.start, 0), plan.uuid, practice=plan.practice)
    _Playing(world, meeting, plan).run()
    world.end(meeting, _at(plan.start, plan.length))
    return {
        "uuid": instance.uuid,
        "start_time": zoom_time(instance.start_time),
        "end_time": zoom_time(instance.end_time or instance.start_time),
        "practice": instance.practice,
        "sessions": [
            {
                "user_id": s.user_id,
                "name": s.name,
                "email": s.email,
                "join_time": zoom_time(s.join_time),
                "leave_time": zoom_time(s.leave_time or instance.start_time),
                "leave_lost": s.leave_lost,
                "status": s.status,
                "room": s.room,
                "failover": s.failover,
                "phone_number": s.phone_number,
            }
            for s in instance.sessions
        ],
        "rooms": {name: {"breakout_room_uuid": ids[0], "bo_mtg_id": ids[1]} for name, ids in instance.rooms.items()},
        "attendance": world.attendance(instance),
        "waiting": presence.waiting(instance),
    }


def _at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


class _Playing:
    """The script's steps in time order. Each device's next step is queued once its previous one is done,
    so a leave in the same second as its own join comes after it, and leaves come before joins otherwise."""

    def __init__(self, world: World, meeting: Meeting, plan: Plan) -> None:
        self.world, self.meeting, self.plan = world, meeting, plan
        self.queue: list[tuple[float, int, int, int, Callable[[], None]]] = []
        self.order = itertools.count()
        self.computers: dict[int, list[Track]] = {}
        self.tracks: list[Track] = []

    def run(self) -> None:
        plan = self.plan
        for n, person in enumerate(plan.people):
            self.computers[n] = []
            for session in person.sessions:
                track = Track(
                    self.world,
                    self.meeting,
                    person.person,
                    leave_main_for_rooms=plan.leave_main_for_rooms,
                    blank_room_rows=person.room_rows_blank,
                )
                self.computers[n].append(track)
                self._queue(n, track, session, session.steps(), 0)
            self.tracks += self.computers[n]
            if person.phone is not None:  # a participant of its own, named by its number
                number = person.phone.number
                track = Track(self.world, self.meeting, Person(name=number), phone_number=number)
                self.tracks.append(track)
                self._queue(n, track, None, person.phone.steps(), 0)
        while self.queue:
            heapq.heappop(self.queue)[-1]()
        for track in self.tracks:
            track.close(_at(plan.start, plan.length))

    def _queue(self, n: int, track: Track, session: SessionPlan | None, steps: list[Step], i: int) -> None:
        """Queue step i; a join after the end happens at the end, anything else after it never happens."""
        at = min(steps[i].at, self.plan.length) if i == 0 else steps[i].at
        if i == 0 or at < self.plan.length:
            self.push(at, steps[i].phase, n, lambda: self._do(n, track, session, steps, i, at))

    def push(self, at: float, phase: int, n: int, action: Callable[[], None]) -> None:
        heapq.heappush(self.queue, (at, phase, n, next(self.order), action))

    def _do(self, n: int, track: Track, session: SessionPlan | None, steps: list[Step], i: int, at: float) -> None:
        step, when = steps[i], _at(self.plan.start, at)
        if step.kind == "enter":
            track.enter(when, waiting=session is not None and (session.waiting > 0 or session.never_admitted))
        elif step.kind in ("admit", "readmit"):
            track.admit(when)
        elif step.kind == "room_in":
            track.to_room(when, step.room)
        elif step.kind == "room_out":
            track.from_room(when)
        elif step.kind == "put_back":
            track.put_back(when)
        elif step.kind == "failover":
            assert session is not None
            old, drop = track.failover(when), min(at + FAILOVER_OVERLAP, session.end)
            if drop < self.plan.length:
                self.push(drop, EXIT, n, lambda: track.drop(old, _at(self.plan.start, drop)))
        elif step.kind == "bind":
            bind(track, self.computers[n], when)
        elif step.kind == "leave":
            track.leave(when, session is not None and session.lose_leave)
        if i + 1 < len(steps):
            self._queue(n, track, session, steps, i + 1)


def crowd(
    count: int,
    length: int,
    rng: random.Random,
    *,
    devices_share: float = 0.1,
    rejoin_share: float = 0.2,
    lost_leave_share: float = 0.01,
    guest_share: float = 0.05,
    email_domain: str = "crowd.example",
) -> dict[str, Any]:
    """A script for a large webinar: `count` people, some on two devices, some rejoining, a few leaves lost."""
    people = []
    for n in range(count):
        guest = rng.random() < guest_share
        join = rng.randint(0, max(0, length // 4))
        leave = rng.randint(join, length)
        sessions: list[dict[str, Any]] = []
        if rng.random() < rejoin_share and leave - join > 120:
            gap_start = rng.randint(join + 30, leave - 60)
            sessions += [{"join": join, "leave": gap_start}, {"join": min(gap_start + 30, leave), "leave": leave}]
        else:
            sessions.append({"join": join, "leave": leave})
        if rng.random() < devices_share:
            second = rng.randint(join, leave)
            sessions.append({"join": second, "leave": rng.randint(second, length)})
        if rng.random() < lost_leave_share:
            sessions[-1]["lose_leave"] = True
        people.append(
            {
                "name": f"Guest {n}" if guest else f"Attendee {n}",
                "email": "" if guest else f"attendee{n}@{email_domain}",
                "sessions": sessions,
            }
        )
    return {"end_after": length, "participants": people}
