"""Report-pull benchmark: Zoom's participant report of a 10,000-person webinar read and made attendance.

    python -m bench.report_pull            # 10,000 rows: 34 pages of 300 (`make bench`)
    python -m bench.report_pull --quick    # 1,000 rows: 4 pages

A connected academy (Server-to-Server) schedules a webinar in the simulated
Zoom (Pro limits), the simulator plays it with one session per person, and the
real worker's pull job reads every page and writes the training's attendance.
Measured from the job's queueing to the pull recorded done, with the worker's
peak memory; the report endpoint is Heavy (10 a second on Pro), so Zoom's own
floor for 34 pages is 3.4 s.
"""

from __future__ import annotations

import math
import random
import sys
import time

import requests
from redis import Redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench import cli
from bench.processes import PeakMemory, attendance_difference, mib, wait_until, workers_registered
from bench.results import Result, Target
from chaos.drill import api_post, attendance_by_email
from chaos.harness import AUTH, System
from chaos.outbound import connect_server_to_server, last_call_id, zoom_calls
from service.event_schemas import as_zoom_time
from workers.queues import enqueue_report_pull
from workers.runs import schedule_report_pull

PAGE_SIZE = 300
HEAVY_PER_SECOND = 10  # Zoom's Pro plan


def _script(people: int, rng: random.Random) -> dict:
    participants = []
    for n in range(people):
        join = rng.randint(0, 1800)
        participants.append(
            {
                "name": f"Viewer {n}",
                "email": f"viewer{n}@report.example",
                "sessions": [{"join": join, "leave": rng.randint(join + 60, 3600)}],
            }
        )
    return {"start": "2026-12-01T09:00:00Z", "end_after": 3600, "participants": participants}


def report_pull(quick: bool, postgres_url: str, people: int, seed: int) -> Result:
    result = Result(
        "report_pull",
        f"Report pull: a {people:,}-row participant report read and reconciled",
        ["Rows", "Pages", "Zoom calls", "Seconds", "Zoom's floor s", "Worker peak RSS MiB", "Attendance rows"],
    )
    options = {"webinar_capacity": people + 100}
    with cli.system("report", postgres_url, sim_options=options) as system:
        redis = Redis.from_url(system.redis.url)
        worker = system.stack.start("worker")
        wait_until(lambda: workers_registered(redis) > 0, "the worker to be ready", 60)
        academy = connect_server_to_server(system, "Reports")
        body = {
            "academy_id": academy.id,
            "theme": "Benchmark report",
            "start_time": "2026-12-01T09:00:00Z",  # the day the meeting is played: that run is the training
            "duration": 60,
            "timezone": "UTC",
            "meeting_type": "webinar",
            "organizer_id": academy.organizer,
        }
        training_id = api_post(system, "/trainings", body, academy.acting)["id"]
        meeting_id = _linked_meeting(system, training_id)
        played = system.zoom.control.play(meeting_id, _script(people, random.Random(seed)))
        with Session(system.db) as session:
            schedule_report_pull(session, training_id, as_zoom_time(played["end_time"]), 0)
            session.commit()
        calls_before = last_call_id(system)
        with PeakMemory(worker.popen.pid) as memory:
            started = time.monotonic()
            enqueue_report_pull(redis, training_id)
            done = wait_until(lambda: _pull_status(system, training_id)[0] in ("done", "failed"), "the pull", 600)
        status, rows = _pull_status(system, training_id)
        calls = zoom_calls(system, calls_before)
        pages = sum(1 for c in calls if c["path"].startswith("/v2/report/") and c["status"] == 200)
        seen = {k: v for k, v in attendance_by_email(system, training_id).items() if v}
        expected = {k: v for k, v in played["attendance"].items() if v}
        redis.close()
    seconds = done - started
    floor = math.ceil(people / PAGE_SIZE) / HEAVY_PER_SECOND
    result.rows.append([rows, pages, len(calls), round(seconds, 2), floor, round(mib(memory.largest)), len(seen)])
    if status != "done" or rows != people:
        result.problems.append(f"the pull ended {status} with {rows} rows of {people}")
    if pages != math.ceil(people / PAGE_SIZE):
        result.problems.append(f"{pages} pages read, {math.ceil(people / PAGE_SIZE)} expected")
    wrong = attendance_difference(seen, expected)
    if wrong:
        result.problems.append(wrong)
    peak = mib(memory.largest)
    result.targets.append(Target("worker peak RSS (largest process)", peak, 300, at_least=False, unit=" MiB"))
    result.notes.append("No target for the time: Zoom's rate limit sets its floor; the table shows how near it is.")
    return result


def _linked_meeting(system: System, training_id: int) -> int:
    """The Zoom webinar the worker created for the training, once it has."""

    def meeting_id() -> int | None:
        training = requests.get(f"{system.api}/trainings/{training_id}", headers=AUTH, timeout=10).json()
        return training["zoom"]["meeting_id"]

    wait_until(lambda: meeting_id() is not None, "the webinar created in Zoom", 120, interval=0.2)
    return meeting_id()


def _pull_status(system: System, training_id: int) -> tuple[str | None, int]:
    with system.db.connect() as conn:
        row = conn.execute(
            text("SELECT status, coalesce(rows, 0) FROM report_pulls WHERE training_id = :t"), {"t": training_id}
        ).first()
    return (row[0], row[1]) if row else (None, 0)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m bench.report_pull", __doc__, "a 1,000-row report")
    parser.add_argument("--people", type=int)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    people = args.people or (1000 if args.quick else 10_000)
    started = time.monotonic()
    result = report_pull(args.quick, args.postgres, people, args.seed)
    return cli.conclude(result, args.quick, started)


if __name__ == "__main__":
    raise SystemExit(main())
