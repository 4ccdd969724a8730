"""Meetings played in the simulated Zoom, and the checks of what the service made of them.

The fault tests and the soak run both use it: a meeting whose participants are
registered learners, and the invariants (every event stored once and done,
every join and leave kept once, attendance equal to Zoom's own computation).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import text

from chaos.harness import AUTH, System


@dataclass
class Meeting:
    meeting_id: int
    training_id: int
    users: dict[int, str]  # LMS user id -> email
    script: dict


def _zoom_api(zoom, method: str, path: str, **kwargs) -> requests.Response:
    """A call to the simulated Zoom as an admin of its account would make it, waiting out its 429s (the
    drill shares the account's per-second budget with the service's own pushes)."""
    cfg = zoom.sim.config
    token = zoom.control.s2s_token(cfg.s2s_client_id, cfg.s2s_client_secret, cfg.account_id)
    for _ in range(30):
        answer = requests.request(
            method, f"{zoom.url}/v2{path}", headers={"Authorization": f"Bearer {token}"}, timeout=5, **kwargs
        )
        if answer.status_code != 429:
            return answer
        time.sleep(float(answer.headers.get("Retry-After", "1")))
    return answer


def api_post(fs: System, path: str, body: dict, headers: dict | None = None) -> dict:
    answer = requests.post(f"{fs.api}{path}", json=body, headers=headers or AUTH, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def linked_training(fs: System, name: str, meeting_id: int | None = None, **training: object) -> tuple[int, int, dict]:
    """A Zoom meeting (made in the simulator unless `meeting_id` names one Zoom sends events of) and the LMS
    training linked to it, organised by a publisher: (meeting id, training id, the organizer's headers)."""
    if meeting_id is None:
        meeting_id = _new_zoom_meeting(fs, name)
    academy = api_post(fs, "/academies", {"name": f"{name} academy"})
    organizer = api_post(
        fs, "/users", {"email": f"organizer.{meeting_id}@example.org", "name": "Org", "role": "publisher"}
    )
    acting = {**AUTH, "X-Acting-User": str(organizer["id"])}
    body = {
        "academy_id": academy["id"],
        "theme": name,
        "start_time": "2026-12-01T09:00:00Z",
        "duration": 60,
        "timezone": "UTC",
        "meeting_type": "meeting",
        "organizer_id": organizer["id"],
        "zoom_meeting_id": meeting_id,
        **training,
    }
    return meeting_id, api_post(fs, "/trainings", body, acting)["id"], acting


def daytime_zone(moment: datetime) -> str:
    """A time zone in which `moment` falls between 01:00 and 21:00: a training held then stays on one day.

    A training is one day in its own time zone (its runs on other days are not the training); a run played
    "now" is the training's when the training is scheduled now in such a zone, whatever the hour in UTC.
    """
    for zone in ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Pacific/Honolulu"):
        if 1 <= moment.astimezone(ZoneInfo(zone)).hour < 21:
            return zone
    raise AssertionError(f"no daytime zone for {moment}")


def training_on_the_day_of(start_time: str) -> dict[str, object]:
    """linked_training's fields for a training scheduled when a run played at `start_time` (Zoom's format) began."""
    moment = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
    return {"start_time": start_time, "timezone": daytime_zone(moment)}


def _new_zoom_meeting(fs: System, name: str) -> int:
    me = _zoom_api(fs.zoom, "GET", "/users/me")
    assert me.status_code == 200, me.text
    created = _zoom_api(
        fs.zoom,
        "POST",
        f"/users/{me.json()['id']}/meetings",
        json={"topic": name, "type": 2, "start_time": "2026-12-01T09:00:00Z", "duration": 60, "timezone": "UTC"},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def meeting_with_learners(fs: System, people: int, name: str = "Fault drill") -> Meeting:
    """A Zoom meeting, its LMS training and `people` registered learners; each will join once or twice."""
    meeting_id, training_id, acting = linked_training(fs, name, max_participants=people + 10)
    users = {}
    participants = []
    for n in range(people):
        email = f"learner{n}.{meeting_id}@example.org"
        user = api_post(fs, "/users", {"email": email, "name": f"Learner {n}"})
        api_post(fs, f"/trainings/{training_id}/registrants", {"user_id": user["id"]}, acting)
        users[user["id"]] = email
        sessions = [{"join": 30 + n, "leave": 1200 + 13 * n}]
        if n % 3 == 0:  # a third drop out and come back
            sessions.append({"join": 1500 + n, "leave": 3000 + 7 * n})
        participants.append({"name": f"Learner {n}", "email": email, "sessions": sessions})
    script = {"start": "2026-12-01T09:00:04Z", "end_after": 3600, "participants": participants}
    return Meeting(meeting_id, training_id, users, script)


def attendance(fs: System, meeting: Meeting) -> dict[str, int]:
    """Seconds attended per registered learner's email, as the LMS reports them."""
    return attendance_by_email(fs, meeting.training_id)


# What the service does with each event: never pending, failed or lost (ignored: a type we do not act on).
DONE = {"processed", "ignored"}


def inbox_counts(fs: System) -> dict[str, int]:
    with fs.db.connect() as conn:
        return dict(conn.execute(text("SELECT status, count(*) FROM inbox_events GROUP BY status")).all())


def stored_once(fs: System) -> tuple[int, int]:
    """(rows, distinct dedupe keys) of the inbox: equal when nothing was stored twice."""
    with fs.db.connect() as conn:
        return tuple(conn.execute(text("SELECT count(*), count(DISTINCT dedupe_key) FROM inbox_events")).one())


def participant_facts(fs: System) -> tuple[int, int]:
    """(rows, distinct facts) of joins and leaves kept: equal when none was applied twice."""
    with fs.db.connect() as conn:
        return tuple(conn.execute(text("SELECT count(*), count(DISTINCT fact_key) FROM participant_events")).one())


ARTIFACTS = Path(os.environ.get("FAULT_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts" / "faults")


def report(name: str, **figures) -> None:
    """What a fault run measured, for docs/reliability.md: kept as JSON beside the other test artifacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"{name}: {json.dumps(figures, sort_keys=True)}")


def delivery_figures(deliveries: list[dict]) -> dict:
    """Zoom's side: messages sent, attempts by answer, and whether every message got a 200 in the end."""
    by_answer: dict[str, int] = {}
    for d in deliveries:
        key = str(d["status"]) if d["status"] is not None else "no answer"
        by_answer[key] = by_answer.get(key, 0) + 1
    messages = {d["message_id"] for d in deliveries}
    acknowledged = {d["message_id"] for d in deliveries if d["status"] == 200}
    return {"sent": len(messages), "attempts": by_answer, "never_acknowledged": len(messages - acknowledged)}


def guest_meeting(fs: System, people: int, rng, name: str) -> tuple[int, int, dict]:
    """A Zoom meeting and its LMS training, and a script of `people` guests (each with an email, none an LMS
    user) joining once to three times at random: (meeting id, training id, script)."""
    meeting_id, training_id, _ = linked_training(fs, name)
    participants = []
    for n in range(people):
        sessions, at = [], rng.randint(0, 600)
        for _ in range(rng.randint(1, 3)):
            leave = min(3600, at + rng.randint(60, 1500))
            sessions.append({"join": at, "leave": leave})
            at = leave + rng.randint(30, 600)
            if at >= 3500:
                break
        participants.append({"name": f"Guest {n}", "email": f"guest{n}.{meeting_id}@example.org", "sessions": sessions})
    script = {"start": "2026-12-01T09:00:04Z", "end_after": 3600, "participants": participants}
    return meeting_id, training_id, script


def attendance_by_email(fs: System, training_id: int) -> dict[str, int]:
    """Seconds attended per email, matched users and guests alike, as the LMS reports them."""
    body = requests.get(f"{fs.api}/trainings/{training_id}/attendance", headers=AUTH, timeout=30).json()
    seen = {item["email"].lower(): item["attended_seconds"] for item in body["items"] if item.get("email")}
    for guest in body["unmatched"]:
        if guest.get("email"):
            key = guest["email"].lower()
            seen[key] = seen.get(key, 0) + guest["attended_seconds"]
    return seen


def wait_delivered(zoom, timeout: float) -> bool:
    """Until the simulator has nothing left to deliver or retry; asked in short calls (its client times out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if zoom.control.wait_for_webhooks(min(20.0, max(1.0, deadline - time.monotonic()))):
            return True
    return False
