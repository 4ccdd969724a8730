"""LMS edits pushed to the simulated Zoom, and the checks of what arrived, for the outbound fault tests and the soak.

A connected academy (Server-to-Server or OAuth) whose organizer is a host of the simulated account,
trainings with registrants, edits made through the LMS API, and the invariant: every training's schedule
and registrants the same on both sides, every outbox row sent (none failed, none left pending).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import text

from chaos.drill import api_post
from chaos.harness import AUTH, System

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney")


@dataclass
class Academy:
    id: int
    organizer: int
    acting: dict[str, str]  # the headers that act as the organizer


PATIENCE_SECONDS = 120.0  # how long an LMS keeps retrying an edit the service answered 503 (its store away)


class Patience:
    """What an LMS does when the service answers 503 or not at all: it tries again a second later.

    Counts the retries, for the soak's figures; anything else unexpected fails at once.
    """

    def __init__(self) -> None:
        self.retries = 0

    def send(self, method: str, url: str, ok: tuple[int, ...], **kwargs) -> requests.Response:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while True:
            try:
                answer = requests.request(method, url, timeout=10, **kwargs)
                if answer.status_code in ok:
                    return answer
                if answer.status_code != 503:
                    raise AssertionError(f"{method} {url}: {answer.status_code} {answer.text[:300]}")
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {url}: no answer but 503 for {PATIENCE_SECONDS:.0f} s")
            self.retries += 1
            time.sleep(1)


def _send(patience: Patience | None, method: str, url: str, ok: tuple[int, ...], **kwargs) -> requests.Response:
    if patience is not None:
        return patience.send(method, url, ok, **kwargs)
    answer = requests.request(method, url, timeout=10, **kwargs)
    assert answer.status_code in ok, f"{method} {url}: {answer.status_code} {answer.text[:300]}"
    return answer


def _organizer(fs: System, academy_id: int, email: str) -> Academy:
    body = {"email": email, "name": "Harper Host", "role": "publisher"}
    organizer = api_post(fs, "/users", body)["id"]
    return Academy(academy_id, organizer, {**AUTH, "X-Acting-User": str(organizer)})


def connect_server_to_server(fs: System, name: str = "Outbound") -> Academy:
    """An academy connected with the simulated account's Server-to-Server app; its organizer hosts there."""
    cfg = fs.zoom.sim.config
    academy_id = api_post(fs, "/academies", {"name": name})["id"]
    body = {
        "kind": "server_to_server",
        "account_id": cfg.account_id,
        "client_id": cfg.s2s_client_id,
        "client_secret": cfg.s2s_client_secret,
    }
    answer = requests.put(f"{fs.api}/academies/{academy_id}/zoom-connection", json=body, headers=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    return _organizer(fs, academy_id, cfg.host_email)


def connect_oauth(fs: System, name: str = "Outbound OAuth") -> Academy:
    """An academy connected through Zoom's consent page (auto-approved by the simulator) and our callback."""
    cfg = fs.zoom.sim.config
    academy_id = api_post(fs, "/academies", {"name": name})["id"]
    authorize = requests.get(
        f"{fs.api}/academies/{academy_id}/zoom-connection/authorize", headers=AUTH, allow_redirects=False, timeout=10
    )
    assert authorize.status_code == 302, authorize.text
    consent = requests.get(authorize.headers["Location"], allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    query = parse_qs(urlsplit(consent.headers["Location"]).query)
    back = requests.get(
        f"{fs.url}/oauth/zoom/callback", params={"code": query["code"][0], "state": query["state"][0]}, timeout=10
    )
    assert back.status_code == 200, back.text
    return _organizer(fs, academy_id, cfg.host_email)


def another_host(fs: System, academy: Academy, n: int) -> Academy:
    """The academy with another organizer, a licensed user of the simulated account, so that their trainings
    spend their own daily 100 creates and updates (Zoom counts them per host)."""
    email = f"host{n}.{academy.id}@example.org"
    fs.zoom.control.call("POST", "/users", {"email": email, "first_name": "Host", "last_name": str(n)})
    return _organizer(fs, academy.id, email)


def new_trainings(fs: System, academy: Academy, count: int, registrants: int = 2, name: str = "Edited") -> list[int]:
    """`count` trainings, each with `registrants` learners (emails unique to the run): their ids."""
    ids = []
    for n in range(count):
        body = {
            "academy_id": academy.id,
            "theme": f"{name} {n}",
            "start_time": "2026-12-20T09:00:00Z",
            "duration": 60,
            "timezone": "UTC",
            "meeting_type": "meeting",
            "organizer_id": academy.organizer,
        }
        training_id = api_post(fs, "/trainings", body, academy.acting)["id"]
        for k in range(registrants):
            add_learner(fs, academy, training_id, f"r{k}")
        ids.append(training_id)
    return ids


def add_learner(fs: System, academy: Academy, training_id: int, tag: str, patience: Patience | None = None) -> int:
    """A new LMS user registered for the training (a 409 on a retry: the first try had done it)."""
    email = f"learner.{tag}.{training_id}.{random.getrandbits(32):x}@example.org"
    body = {"email": email, "name": f"Learner {tag}"}
    user = _send(patience, "POST", f"{fs.api}/users", (201,), json=body, headers=AUTH).json()["id"]
    url = f"{fs.api}/trainings/{training_id}/registrants"
    _send(patience, "POST", url, (201, 409), json={"user_id": user}, headers=academy.acting)
    return user


def remove_learner(
    fs: System, academy: Academy, training_id: int, user_id: int, patience: Patience | None = None
) -> None:
    url = f"{fs.api}/trainings/{training_id}/registrants/{user_id}"
    _send(patience, "DELETE", url, (204,), headers=academy.acting)


def random_schedule(rng: random.Random) -> dict:
    """A schedule an organizer might set: a day in late December, between 06:00 and 18:00 where it is held
    (so it ends the day it starts, as the LMS requires, whatever length it had), and sometimes a new length."""
    zone = rng.choice(ZONES)
    local = datetime(2026, 12, 14, 6, tzinfo=ZoneInfo(zone)) + timedelta(
        days=rng.randint(0, 14), minutes=15 * rng.randint(0, 48)
    )
    change: dict = {
        "start_time": local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": zone,
        "duration": rng.choice((30, 45, 60, 75, 90, 120, 180)),
    }
    if rng.random() < 0.3:
        del change["duration"]  # not every edit changes every field (the zone always comes with the time)
    return change


def edit(fs: System, academy: Academy, training_id: int, change: dict, patience: Patience | None = None) -> None:
    """One LMS edit of a training's schedule, as its organizer."""
    _send(patience, "PATCH", f"{fs.api}/trainings/{training_id}", (200,), json=change, headers=academy.acting)


def lms_side(fs: System, training_id: int) -> dict:
    """What the LMS holds of a training: its schedule and its registrants' emails."""
    training = requests.get(f"{fs.api}/trainings/{training_id}", headers=AUTH, timeout=10).json()
    people = requests.get(f"{fs.api}/trainings/{training_id}/registrants", headers=AUTH, timeout=10).json()
    return {
        "meeting_id": training["zoom"]["meeting_id"],
        "start_time": training["start_time"],
        "duration": training["duration"],
        "timezone": training["timezone"],
        "registrants": sorted(item["email"].lower() for item in people["items"]),
    }


def not_as_set(fs: System, wanted: dict[int, dict]) -> list[int]:
    """Trainings whose LMS schedule is not what the LMS last set of each field (an edit the service lost)."""
    wrong = []
    for training_id, change in wanted.items():
        held = lms_side(fs, training_id)
        if any(held[name] != value for name, value in change.items()):
            wrong.append(training_id)
    return wrong


def zoom_side(fs: System, meeting_id: int) -> dict:
    """What the simulated Zoom holds of that meeting: the same fields, approved registrants only."""
    meeting = fs.zoom.control.meeting(meeting_id)
    return {
        "meeting_id": meeting_id,
        "start_time": meeting["start_time"],
        "duration": meeting["duration"],
        "timezone": meeting["timezone"],
        "registrants": sorted(r["email"].lower() for r in meeting["registrants"] if r["status"] == "approved"),
    }


def differences(fs: System, training_ids: list[int]) -> list[tuple[int, dict, dict | None]]:
    """Every training whose two sides differ: (training id, the LMS's side, Zoom's side or None)."""
    found = []
    for training_id in training_ids:
        lms = lms_side(fs, training_id)
        zoom = zoom_side(fs, lms["meeting_id"]) if lms["meeting_id"] else None
        if zoom != lms:
            found.append((training_id, lms, zoom))
    return found


def outbox_counts(fs: System) -> dict[str, int]:
    with fs.db.connect() as conn:
        return dict(conn.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all())


def outbox_errors(fs: System, limit: int = 5) -> list[str]:
    """The last errors of rows not sent: what a failed check shows."""
    query = text("SELECT kind, status, attempts, last_error FROM outbox WHERE status <> 'sent' ORDER BY id LIMIT :n")
    with fs.db.connect() as conn:
        return [str(tuple(row)) for row in conn.execute(query, {"n": limit})]


def all_sent(fs: System) -> bool:
    """Every outbox row sent: nothing pending, nothing failed (a cancelled row is superseded, not lost)."""
    return set(outbox_counts(fs)) <= {"sent", "cancelled"}


def wait_in_sync(fs: System, training_ids: list[int], timeout: float, settle: bool = False) -> float:
    """Until every outbox row is sent and every training agrees with Zoom: the seconds it took.

    `settle`: return when the time is up instead of failing, for a checker that reports what still differs.
    """
    started = time.monotonic()
    try:
        fs.stack.wait_for(lambda: all_sent(fs), "every push sent", timeout)
        fs.stack.wait_for(lambda: not differences(fs, training_ids), "both sides equal", max(10.0, timeout / 4))
    except AssertionError as exc:
        if not settle:
            raise AssertionError(
                f"{exc}\nnot sent: {outbox_errors(fs)}\ndiffering: {differences(fs, training_ids)[:3]}"
            ) from None
    return round(time.monotonic() - started, 1)


def zoom_calls(fs: System, since_id: int = 0, path: str = "/v2/", until_id: int | None = None) -> list[dict]:
    """The requests the simulated Zoom received after `since_id` (its log's ids) and up to `until_id`, API calls
    only by default."""
    return [
        r
        for r in fs.zoom.control.requests()
        if r["id"] > since_id and (until_id is None or r["id"] <= until_id) and r["path"].startswith(path)
    ]


def last_call_id(fs: System) -> int:
    calls = fs.zoom.control.requests()
    return max((r["id"] for r in calls), default=0)


def call_figures(calls: list[dict], timeout: float | None = None) -> dict:
    """Zoom's side of a stretch: calls by answer, injected faults apart from Zoom's own refusals, and (given
    the service's read timeout) how many were answered too late for the service to hear."""
    by_answer: dict[str, int] = {}
    for call in calls:
        key = "no answer" if call["status"] is None else str(call["status"])
        if call.get("fault"):
            key = f"{key} (injected)"
        by_answer[key] = by_answer.get(key, 0) + 1
    figures: dict = {"calls": len(calls), "by_answer": dict(sorted(by_answer.items()))}
    if timeout is not None:
        figures["answered_after_the_timeout"] = sum(1 for c in calls if c["duration_ms"] >= timeout * 1000)
    return figures


def accepted_patches(calls: list[dict]) -> int:
    """Meeting updates Zoom accepted among `calls`: what an edit costs of the host's daily budget."""
    return sum(1 for c in calls if c["method"] == "PATCH" and "/meetings/" in c["path"] and c["status"] == 204)
