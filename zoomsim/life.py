"""A meeting's life from a script: start, people joining and leaving from several devices, end.

Times in a script are seconds after the start, so a test can play an hour-long
meeting in an instant: the webhooks carry the scripted times, and the reports
say the same as the webhooks (except where a script loses a leave event: the
report still knows when that person left, as Zoom's does).
"""

from __future__ import annotations

import heapq
import math
import random
from datetime import datetime, timedelta
from typing import Any

from zoomsim.times import parse_start_time, zoom_time
from zoomsim.world import Meeting, SimUsageError, World


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise SimUsageError(f"{what} must be a number of seconds after the start")
    return float(value)


def play(world: World, meeting: Meeting, script: dict[str, Any]) -> dict[str, Any]:
    """Run a whole meeting; returns what happened and the simulator's own attendance figures."""
    start = meeting.start_time
    if script.get("start"):
        start = parse_start_time(script["start"], "UTC")
        if start is None:
            raise SimUsageError("start must be yyyy-MM-ddTHH:mm:ssZ")
    length = _seconds(script.get("end_after", meeting.duration * 60 or 3600), "end_after")
    timeline: list[tuple[float, int, int, dict[str, Any], dict[str, Any]]] = []
    people = list(script.get("participants") or [])
    if script.get("host_joins"):
        host = world.users[meeting.host_id]
        people.insert(0, {"name": host.display_name, "email": host.email, "sessions": [{"join": 0}]})
    for n, person in enumerate(people):
        if not person.get("name"):
            raise SimUsageError(f"participant {n} has no name")
        for session in person.get("sessions") or [{"join": 0}]:
            join = _seconds(session.get("join", 0), "join")
            leave = session.get("leave")
            if leave is not None and _seconds(leave, "leave") < join:
                raise SimUsageError(f"participant {n} leaves before joining")
            timeline.append((min(join, length), 0, n, person, session))
    instance = world.start(meeting, _at(start, 0), script.get("uuid"))
    timeline.sort(key=lambda item: (item[0], item[1], item[2]))
    leaves: list[tuple[float, int, str, bool]] = []
    for at, _, n, person, session in timeline:
        _leave_until(world, meeting, start, leaves, at)
        joined = world.join(
            meeting,
            name=person["name"],
            email=person.get("email") or "",
            at=_at(start, at),
            participant_user_id=person.get("zoom_user_id") or "",
            participant_uuid=person.get("participant_uuid") or "",
        )
        if session.get("leave") is not None and float(session["leave"]) < length:
            heapq.heappush(leaves, (float(session["leave"]), n, joined.user_id, bool(session.get("lose_leave"))))
    _leave_until(world, meeting, start, leaves, length)
    world.end(meeting, _at(start, length))
    return {
        "uuid": instance.uuid,
        "start_time": zoom_time(instance.start_time),
        "end_time": zoom_time(instance.end_time or instance.start_time),
        "sessions": [
            {
                "user_id": s.user_id,
                "name": s.name,
                "email": s.email,
                "join_time": zoom_time(s.join_time),
                "leave_time": zoom_time(s.leave_time or instance.start_time),
                "leave_lost": s.leave_lost,
            }
            for s in instance.sessions
        ],
        "attendance": world.attendance(instance),
    }


def _at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


def _leave_until(world: World, meeting: Meeting, start: datetime, leaves: list, until: float) -> None:
    """Carry out every scripted leave due by `until` (a heap, in time order)."""
    while leaves and leaves[0][0] <= until:
        at, _, session_id, lost = heapq.heappop(leaves)
        world.leave(meeting, session_id, _at(start, at), lose_event=lost)


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
