"""`make demo` (`python -m demo`): the service as `make run` starts it, a simulated Zoom, and a meeting's life.

1. Starts the Zoom simulator on a free port, sending its webhooks to the service.
2. Starts the service on embedded defaults (the Procfile's release, web, worker).
3. Has Zoom validate the webhook endpoint, connects an academy by OAuth, and
   creates a training with its organizer and learners in the LMS; the worker
   creates the meeting in Zoom and registers the learners there.
4. Renames the meeting in Zoom's web portal (the LMS follows), changes its
   duration in the LMS (Zoom follows), then plays the meeting: a learner on two
   devices who spends a while in a breakout room, one who waits in the waiting
   room and rejoins, one whose leave event Zoom loses, a guest.
5. Waits for the worker, then for Zoom's participant report (which knows the
   lost leave), and prints the training and its attendance next to what Zoom
   itself counted, with what Zoom's rules left out or counted (waiting room,
   breakout room), then where to look: the admin pages with their login, the
   training's page, the meeting's webhooks. Ctrl-C stops it (`--once`: at once).

The academy is connected to the simulated account by OAuth, as an admin would;
the worker then creates the meeting in Zoom, registers the learners and pushes
the LMS's edits, as it would with Zoom itself.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from config import load_settings
from service.broker import stop_embedded_redis
from service.local_run import (
    service_env,
    start_service,
    stop_on_signals,
    stop_service,
    wait_while_running,
    where_to_look,
)
from zoomsim.config import SimConfig, default_spec_dir
from zoomsim.server import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
TIMEZONE = "Europe/Berlin"
LENGTH = timedelta(minutes=75)  # how long the played meeting lasts


def _start(now: datetime) -> datetime:
    """Two hours ago, on the hour, so its report is due by now; earlier still if the 75 minutes would cross
    midnight in Berlin, which the LMS refuses (a live session lasts at most one day)."""
    start = (now - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    local = start.astimezone(ZoneInfo(TIMEZONE))
    if (local + LENGTH).date() != local.date():
        start -= timedelta(hours=3)
    return start


# The demo's meeting was held earlier today.
START = _start(datetime.now(UTC))
LEARNERS = [
    ("ada.lovelace@example.org", "Ada", "Lovelace"),
    ("grace.hopper@example.org", "Grace", "Hopper"),
    ("alan.turing@example.org", "Alan", "Turing"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"demo: timed out waiting for {what}")


class Lms:
    def __init__(self, base: str, token: str) -> None:
        self.base = f"{base}/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **body: Any) -> dict[str, Any]:
        response = self.http.request(method, self.base + path, json=body or None, timeout=10)
        if response.status_code >= 400:
            raise SystemExit(f"demo: LMS {method} {path}: {response.status_code} {response.text}")
        return response.json()


def connect(lms: Lms, academy_id: int) -> dict[str, Any]:
    """The admin's browser: our authorize link, Zoom's consent page (approved at once), back to our callback."""
    ours = lms.http.get(f"{lms.base}/academies/{academy_id}/zoom-connection/authorize", allow_redirects=False)
    consent = requests.get(ours.headers["Location"], allow_redirects=False, timeout=10)
    back = requests.get(consent.headers["Location"], timeout=30)
    if back.status_code != 200:
        raise SystemExit(f"demo: connecting to Zoom failed: {back.status_code} {back.text}")
    return back.json()["connection"]


def run_demo(lms: Lms, zoom) -> dict[str, Any]:
    academy = lms.call("POST", "/academies", name="Demo Academy")
    connected = connect(lms, academy["id"])
    print(
        f"Academy {academy['id']} connected to Zoom account {connected['account_id']} by OAuth "
        f"({connected['plan']} host, meeting capacity {connected['meeting_capacity']}, "
        f"webinars {'on' if connected['webinar']['enabled'] else 'off'})."
    )
    host = connected["user"]
    organizer = lms.call(
        "POST", "/users", email=host["email"], name="Harper Host", zoom_user_id=host["id"], role="publisher"
    )
    lms.http.headers["X-Acting-User"] = str(organizer["id"])  # the LMS acts for the organizer from here on
    training = lms.call(
        "POST",
        "/trainings",
        academy_id=academy["id"],
        theme="Safety basics",
        start_time=START.isoformat(),
        duration=60,
        timezone=TIMEZONE,
        meeting_type="meeting",
        organizer_id=organizer["id"],
    )
    for email, first, last in LEARNERS:
        user = lms.call("POST", "/users", email=email, name=f"{first} {last}")
        lms.call("POST", f"/trainings/{training['id']}/registrants", user_id=user["id"])

    def pushed():
        got = lms.call("GET", f"/trainings/{training['id']}")
        people = lms.call("GET", f"/trainings/{training['id']}/registrants")["items"]
        done = got["zoom"]["sync_state"] == "synced" and all(p["zoom"]["sync_state"] == "synced" for p in people)
        return got if done else None

    meeting_id = wait_until(pushed, "the push job to create the meeting in Zoom")["zoom"]["meeting_id"]
    in_zoom = zoom.control.meeting(meeting_id)
    print(
        f"The worker created Zoom meeting {meeting_id} ({in_zoom['start_time']}, {in_zoom['timezone']}) "
        f"and registered {len(in_zoom['registrants'])} learners, each with a personal join link."
    )
    meeting = {"id": meeting_id}

    zoom.control.edit_meeting(meeting["id"], topic="Safety basics (2026 edition)")
    print("Renamed in Zoom's web portal: Zoom sends meeting.updated, and the training's theme follows.")
    lms.call("PATCH", f"/trainings/{training['id']}", duration=75)
    wait_until(lambda: zoom.control.meeting(meeting_id)["duration"] == 75, "the push of the new duration")
    print("Made 75 minutes long in the LMS: the worker PATCHed only the duration to Zoom.")
    played = zoom.control.play(
        meeting["id"],
        {
            "start": START.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_after": int(LENGTH.total_seconds()),
            "host_joins": True,
            "participants": [
                {  # a laptop and, for ten minutes, a phone as well; a quarter of an hour in a breakout room
                    "name": "Ada Lovelace",
                    "email": LEARNERS[0][0],
                    "sessions": [
                        {"join": 60, "leave": 3600, "rooms": [{"at": 1800, "until": 2700, "room": "Group work"}]},
                        {"join": 600, "leave": 1200},
                    ],
                },
                {  # three minutes in the waiting room, then drops out for a quarter of an hour
                    "name": "Grace Hopper",
                    "email": LEARNERS[1][0],
                    "sessions": [{"join": 120, "waiting": 180, "leave": 1500}, {"join": 2400}],
                },
                {  # Zoom never sends this leave; its report still knows it
                    "name": "Alan Turing",
                    "email": LEARNERS[2][0],
                    "sessions": [{"join": 300, "leave": 2100, "lose_leave": True}],
                },
                {"name": "A guest without an account", "email": "", "sessions": [{"join": 900, "leave": 1800}]},
            ],
        },
    )
    zoom.control.wait_for_webhooks(60)
    sent = zoom.control.deliveries()
    print(f"Zoom delivered {len(sent)} webhooks; answers: {sorted({d['status'] for d in sent})}.")

    def settled():
        got = lms.call("GET", f"/trainings/{training['id']}")
        if got["status"] != "completed" or got["theme"] != "Safety basics (2026 edition)":
            return None
        report = lms.call("GET", f"/trainings/{training['id']}/attendance")
        seen = {item["email"] for item in report["items"]}
        return (got, report) if {email for email, _, _ in LEARNERS} <= seen else None

    got, live = wait_until(settled, "the worker to reconcile the meeting")
    alan = next(item for item in live["items"] if item["email"] == LEARNERS[2][0])
    print(
        f"From the live events: Alan {alan['attended_seconds'] / 60:.0f} min (his leave event never came, "
        "so he counts until the end)."
    )

    def reported():
        got = lms.call("GET", f"/trainings/{training['id']}")
        return got if (got["zoom"]["report"] or {}).get("status") == "done" else None

    got = wait_until(reported, "Zoom's participant report to be read")
    print(f"Zoom's participant report read ({got['zoom']['report']['rows']} rows): it replaces the live estimate.")
    report = lms.call("GET", f"/trainings/{training['id']}/attendance")
    return {"training": got, "attendance": report, "zoom_attendance": played["attendance"]}


def show(result: dict[str, Any]) -> None:
    training = result["training"]
    print(
        f"\nTraining {training['id']}: {training['theme']!r}, {training['status']}, "
        f"{training['duration']} min, started {training['actual_start']}, ended {training['actual_end']}"
    )
    print(f"{'participant':<34}{'LMS minutes':>12}{'Zoom minutes':>14}  what Zoom's rules changed")
    zoom = result["zoom_attendance"]
    for item in result["attendance"]["items"]:
        print(
            f"{item['email']:<34}{item['attended_seconds'] / 60:>12.1f}{zoom.get(item['email'], 0) / 60:>14.1f}"
            f"  {_excluded(item)}".rstrip()
        )
    for guest in result["attendance"]["unmatched"]:
        print(f"{guest['name'] + ' (guest)':<34}{guest['attended_seconds'] / 60:>12.1f}")


def _minutes(intervals: list[dict[str, Any]]) -> float:
    def seconds(interval: dict[str, Any]) -> float:
        joined, left = (datetime.fromisoformat(interval[k].replace("Z", "+00:00")) for k in ("join_time", "leave_time"))
        return (left - joined).total_seconds()

    return sum(seconds(i) for i in intervals if i["leave_time"]) / 60


def _excluded(item: dict[str, Any]) -> str:
    """Why a person's minutes are not simply first join to last leave: Zoom's own rules."""
    notes = []
    if item["waiting_seconds"]:
        notes.append(f"{item['waiting_seconds'] / 60:.1f} min in the waiting room left out (never meeting time)")
    if item["breakout_intervals"]:
        notes.append(f"{_minutes(item['breakout_intervals']):.1f} min in a breakout room counted (meeting time)")
    return "; ".join(notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description="The whole LMS-Zoom loop, on a simulated Zoom")
    parser.add_argument("--once", action="store_true", help="stop after printing the result")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    stop_on_signals()
    base_env = dict(os.environ)
    embedded_redis = not base_env.get("REDIS_URL")
    if not base_env.get("DATABASE_URL"):
        # A fresh SQLite database of its own each time, beside (not in) the one `make run` uses.
        instance = Path(base_env.get("INSTANCE_DIR") or ROOT / "instance" / "demo")
        instance.mkdir(parents=True, exist_ok=True)
        (instance / "zoomsync.db").unlink(missing_ok=True)
        base_env["INSTANCE_DIR"] = str(instance)
    base_env.setdefault("SWEEP_INTERVAL_SECONDS", "2")
    # Zoom takes minutes; the simulated one is quick. The meeting ended in the past (it is played after the
    # fact), and the first look counts from its end: it comes 25 s after now, so that the live estimate is
    # read (and printed) before the report replaces it, even on a loaded machine.
    first_look = int((datetime.now(UTC) - (START + LENGTH)).total_seconds()) + 25
    base_env.setdefault("REPORT_DELAYS", f"{max(first_look, 3)},5,10")
    env = service_env(base_env)
    base = f"http://127.0.0.1:{env['PORT']}"
    callback = f"{base}/oauth/zoom/callback"
    sim_config = SimConfig(
        control=True,
        webhook_urls=(f"{base}/webhooks/zoom",),
        webhook_secret=env["ZOOM_WEBHOOK_SECRET_TOKEN"].split(",")[0],
        redirect_uris=(callback,),
        retry_scale=0.01,
        spec_dir=default_spec_dir(),
    )
    zoom = serve_in_thread(sim_config, port=int(env.get("ZOOMSIM_PORT") or free_port()))
    # The service's OAuth app is the simulator's: the same settings would name Zoom itself.
    env.update(
        ZOOM_CLIENT_ID=sim_config.client_id,
        ZOOM_CLIENT_SECRET=sim_config.client_secret,
        ZOOM_REDIRECT_URL=callback,
        ZOOM_API_BASE_URL=f"{zoom.url}/v2",
        ZOOM_OAUTH_BASE_URL=zoom.url,
    )
    print(f"Zoom simulator at {zoom.url} ({zoom.sim.describe()})", flush=True)
    children = start_service(env)
    try:
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=1).ok, "the service to answer")
        validation = zoom.control.call("POST", "/webhooks/validate")["results"][f"{base}/webhooks/zoom"]
        print(f"Zoom validated the webhook endpoint: {validation['valid']}", flush=True)
        result = run_demo(Lms(base, env["API_TOKEN"]), zoom)
        show(result)
        training = result["training"]
        print(
            f"\nWhere to look:\n{where_to_look(env)}"
            f"  training: {base}/admin/trainings/{training['id']}   (its runs, changes, pushes, attendance)\n"
            f"  events:   {base}/admin/events?meeting={training['zoom']['meeting_id']}   (the meeting's webhooks)\n"
            f"  LMS API:  {base}/api/v1/trainings/{training['id']} and .../attendance\n"
            f"  Zoom:     {zoom.url}/_sim/state, /_sim/meetings/<id>, /_sim/webhooks, /_sim/requests\n"
            f"  database: {load_settings(env).database_url}\n",
            flush=True,
        )
        if not args.once:
            print("Ctrl-C stops the demo.", flush=True)
            wait_while_running(children)
    finally:
        stop_service(children)
        zoom.stop()
        if embedded_redis:
            stop_embedded_redis(load_settings(env).instance_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
