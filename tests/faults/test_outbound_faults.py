"""Outbound faults against the real processes: every LMS edit reaches Zoom, whatever Zoom does meanwhile.

Two worker processes push edits made through the LMS API to the simulated Zoom while it fails (5xx, read
timeouts, dropped connections), refuses (a storm of real 429s: another app on the account spends its
per-second budget), answers the host's daily cap (at a simulated UTC midnight: the processes and the
simulator run ahead of the real time), or expires the access tokens both workers hold. At the end both
sides hold the same schedule and registrants for every training, and every outbox row is sent. The
figures go to artifacts/faults/ for docs/reliability.md.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from chaos.drill import report
from chaos.harness import libfaketime, running_system
from chaos.outbound import (
    accepted_patches,
    add_learner,
    call_figures,
    connect_oauth,
    connect_server_to_server,
    edit,
    last_call_id,
    lms_side,
    new_trainings,
    outbox_counts,
    random_schedule,
    remove_learner,
    wait_in_sync,
    zoom_calls,
)
from tests.conftest import IN_CI
from zoomapi.timing import next_utc_midnight

pytestmark = pytest.mark.faults

OUTAGE_SECONDS = 20
STORM_SECONDS = 12
WORKERS = 2


def _genuine_429s(calls: list[dict]) -> list[dict]:
    """Zoom's own refusals (its rate limiter), not the faults a test injected."""
    return [c for c in calls if c["status"] == 429 and not c.get("fault")]


def _edit_round(fs, academy, training_ids, rng, people: dict[int, list[int]] | None = None) -> int:
    """Every training's schedule edited once; with `people`, a learner added to some and removed from others."""
    edits = 0
    for n, training_id in enumerate(training_ids):
        edit(fs, academy, training_id, random_schedule(rng))
        edits += 1
        if people is not None and n % 4 == 0:
            people[training_id].append(add_learner(fs, academy, training_id, f"late{edits}"))
            edits += 1
        if people is not None and n % 5 == 1 and people[training_id]:
            remove_learner(fs, academy, training_id, people[training_id].pop(0))
            edits += 1
    return edits


def _registered(fs, training_ids) -> dict[int, list[int]]:
    with fs.db.connect() as conn:
        rows = conn.execute(
            text("SELECT training_id, user_id FROM registrants WHERE removed_at IS NULL ORDER BY id")
        ).all()
    people: dict[int, list[int]] = {training_id: [] for training_id in training_ids}
    for training_id, user_id in rows:
        people.setdefault(training_id, []).append(user_id)
    return people


@pytest.mark.long
def test_edits_made_while_zoom_is_down_then_storming_all_reach_zoom_in_their_final_state(postgres_url, tmp_path):
    rng = random.Random(7)
    with running_system(postgres_url, tmp_path, database="zoomsync_faults", extra_env={"ZOOM_READ_TIMEOUT": "2"}) as fs:
        for _ in range(WORKERS):
            fs.stack.start("worker")
        academy = connect_server_to_server(fs)
        trainings = new_trainings(fs, academy, 20, registrants=2)
        wait_in_sync(fs, trainings, 90)
        people = _registered(fs, trainings)

        # Zoom down: every API call times out, is dropped, or answers 500 or 503 (its edge's HTML page).
        before_outage = last_call_id(fs)
        zoom = fs.zoom.control
        zoom.fault(kind="latency", latency=2.5, share=0.15, path="^/v2/")  # past our 2 s read timeout
        zoom.fault(kind="drop", share=0.3, path="^/v2/")
        zoom.fault(kind="status", status=500, share=0.4, path="^/v2/")
        zoom.fault(kind="status", status=503, path="^/v2/")
        outage_started = time.monotonic()
        edits = 0
        for _ in range(3):
            edits += _edit_round(fs, academy, trainings, rng, people)
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))
        # The stretch ends before the faults are cleared: a push the workers send once they are gone meets Zoom
        # well, and must not count as a call of the outage.
        outage_ended = last_call_id(fs)
        zoom.clear_faults()
        outage = call_figures(zoom_calls(fs, before_outage, until_id=outage_ended), timeout=2.0)
        assert outage["calls"] > 0 and all(key.endswith("(injected)") for key in outage["by_answer"]), outage
        synced_after_outage = wait_in_sync(fs, trainings, 120)
        outage_patches = accepted_patches(zoom_calls(fs, before_outage))

        # A 429 storm: another app on the account spends most of its per-second budget.
        before_storm = last_call_id(fs)
        account = fs.zoom.sim.config.account_id
        zoom.call("PUT", f"/accounts/{account}/limits", {"light": 2, "medium": 2, "heavy": 1})
        storm_started = time.monotonic()
        storm_edits = 0
        while time.monotonic() - storm_started < STORM_SECONDS - 2:
            storm_edits += _edit_round(fs, academy, trainings, rng, people)
            time.sleep(1)
        time.sleep(max(0.0, STORM_SECONDS - (time.monotonic() - storm_started)))
        zoom.call("PUT", f"/accounts/{account}/limits", {"light": 30, "medium": 20, "heavy": 10})
        storm_calls = zoom_calls(fs, before_storm)
        storm = call_figures(storm_calls)
        refused = len(_genuine_429s(storm_calls))

        synced_after_storm = wait_in_sync(fs, trainings, 120)
        storm_patches = accepted_patches(zoom_calls(fs, before_storm))

    assert refused > 0, f"the storm never happened: {storm}"
    # Each 429 blocks the category until Zoom's Retry-After: at most the calls in flight (one per worker)
    # are refused per blocked second and category, never a worker knocking in a loop.
    assert refused <= WORKERS * 3 * (STORM_SECONDS + 2), storm
    # What was edited while Zoom was away arrives coalesced: at most one accepted PATCH per training.
    assert outage_patches <= len(trainings), outage_patches
    assert storm_patches <= storm_edits
    report(
        "zoom_outage_and_429_storm",
        trainings=len(trainings),
        outage_seconds=OUTAGE_SECONDS,
        outage_edits=edits,
        outage=outage,
        seconds_to_sync_after_outage=synced_after_outage,
        meeting_patches_after_outage=outage_patches,
        storm_seconds=STORM_SECONDS,
        storm_edits=storm_edits,
        storm=storm,
        zoom_429s=refused,
        seconds_to_sync_after_storm=synced_after_storm,
        meeting_patches_after_storm=storm_patches,
        outbox=outbox_counts(fs),
    )


def _require_faketime() -> None:
    if libfaketime() is None:
        reason = "libfaketime is not installed (apt-get install faketime): the daily-limit drill needs it"
        if IN_CI:
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)


LEAD_SECONDS = 45  # the run starts this long before a simulated UTC midnight
ZOOM_BEHIND = 2  # seconds Zoom's clock lags ours: just after our midnight, Zoom still refuses for the old day


@pytest.mark.long
def test_the_hosts_daily_limit_holds_their_edits_until_zooms_midnight_and_then_they_all_go(postgres_url, tmp_path):
    _require_faketime()
    real_now = datetime.now(UTC)
    offset = float(round((next_utc_midnight(real_now) - real_now).total_seconds() - LEAD_SECONDS))
    midnight = real_now + timedelta(seconds=offset + LEAD_SECONDS)  # in the run's time: ours, Zoom's comes later
    with running_system(postgres_url, tmp_path, database="zoomsync_faults", webhooks=False, clock_offset=offset) as fs:
        fs.zoom.control.call("POST", "/clock", {"advance": -ZOOM_BEHIND})
        for _ in range(WORKERS):
            fs.stack.start("worker")
        account = fs.zoom.sim.config.account_id
        fs.zoom.control.call("PUT", f"/accounts/{account}/limits", {"host_daily": 6})
        academy = connect_server_to_server(fs)
        trainings = new_trainings(fs, academy, 4, registrants=1)  # 4 of the host's 6 creates and updates
        wait_in_sync(fs, trainings, 30)
        before = last_call_id(fs)
        wanted = {}
        for n, training_id in enumerate(trainings):
            wanted[training_id] = {"duration": 30 + 15 * n, "timezone": "Europe/Berlin"}
            edit(fs, academy, training_id, wanted[training_id])

        def run_time() -> datetime:
            return datetime.now(UTC) + timedelta(seconds=offset)

        def reasons() -> list[str | None]:
            with fs.db.connect() as conn:
                return conn.execute(text("SELECT last_error FROM outbox WHERE status = 'pending'")).scalars().all()

        def held() -> bool:  # both pushes have said why they wait
            waiting = reasons()
            return len(waiting) == 2 and all("daily" in (r or "") for r in waiting)

        fs.stack.wait_for(held, "two edits held back by the daily limit", 20)
        assert run_time() < midnight, "the drill ran past midnight before the limit was reached: raise LEAD_SECONDS"
        assert reasons() == ["waiting for Zoom's daily rate limit"] * 2
        time.sleep(max(0.0, (midnight - run_time()).total_seconds() - 2))
        before_midnight = _patches(fs, before)  # what went before the reset
        synced_after = wait_in_sync(fs, trainings, 60)
        after_midnight = [c for c in _patches(fs, before) if c not in before_midnight]
        final = {training_id: lms_side(fs, training_id) for training_id in trainings}

    statuses = sorted(c["status"] for c in before_midnight)
    # Two went; then Zoom's refusal, once per push already on its way (one per worker at most): after the
    # first refusal the host is spent, and no held edit knocks again before the reset.
    assert statuses[:2] == [204, 204] and 1 <= statuses.count(429) <= WORKERS and len(statuses) <= 2 + WORKERS, statuses
    # At our midnight both go; Zoom, still in the old day, may refuse each once. That refusal spends the day
    # Zoom is in, not our new one: each is tried again a moment later, and goes.
    after = [c["status"] for c in after_midnight]
    assert after.count(204) == 2 and after.count(429) <= 2 and len(after) == after.count(204) + after.count(429), after
    assert after[-2:] == [204, 204], after
    for training_id, change in wanted.items():
        assert (final[training_id]["duration"], final[training_id]["timezone"]) == (
            change["duration"],
            change["timezone"],
        )
    report(
        "zoom_daily_limit",
        host_daily_limit=6,
        held_edits=2,
        calls_before_reset=statuses,
        zoom_clock_behind_seconds=ZOOM_BEHIND,
        calls_after_reset=after,
        seconds_to_sync_after_reset=round(synced_after, 1),
        outbox=outbox_counts(fs),
    )


def _patches(fs, since: int) -> list[dict]:
    return [c for c in zoom_calls(fs, since) if c["method"] == "PATCH" and "/meetings/" in c["path"]]


ROUNDS = 4


def test_tokens_expiring_under_two_workers_are_refreshed_once_and_the_rotated_one_is_kept(postgres_url, tmp_path):
    rng = random.Random(11)
    with running_system(postgres_url, tmp_path, database="zoomsync_faults") as fs:
        for _ in range(WORKERS):
            fs.stack.start("worker")
        academy = connect_oauth(fs)
        trainings = new_trainings(fs, academy, 12, registrants=1)
        wait_in_sync(fs, trainings, 60)
        # A slow token endpoint: while one worker refreshes, the other meets the dead token too.
        fs.zoom.control.fault(kind="latency", latency=1.0, path="^/oauth/token")
        rounds = []
        for _ in range(ROUNDS):
            before = last_call_id(fs)
            expired = fs.zoom.control.call("POST", "/tokens/expire")["expired"]
            assert expired >= 1
            _edit_round(fs, academy, trainings, rng)  # both workers push at once, each with the dead token
            wait_in_sync(fs, trainings, 60)
            tokens = zoom_calls(fs, before, path="/oauth/token")
            api = zoom_calls(fs, before)
            rounds.append(
                {
                    "refreshes": [c["status"] for c in tokens],
                    "api_401s": sum(1 for c in api if c["status"] == 401),
                    "api_calls": len(api),
                }
            )
        with fs.db.connect() as conn:
            # A create is charged one attempt before its call (so an interrupted one is adopted); nothing more.
            retried = conn.execute(
                text(
                    "SELECT kind, attempts, last_error FROM outbox"
                    " WHERE attempts > CASE WHEN kind = 'create' THEN 1 ELSE 0 END"
                )
            ).all()
            status = conn.execute(text("SELECT status FROM zoom_connections")).scalar_one()

    for figures in rounds:
        assert figures["refreshes"] == [200], rounds  # one refresh per expiry, and never a refused one
        assert 1 <= figures["api_401s"] <= WORKERS, rounds  # each worker meets the dead token at most once
    assert max(figures["api_401s"] for figures in rounds) == WORKERS, rounds  # both at once, at least once
    assert retried == []  # no push failed: a 401 is refreshed and retried inside the call
    assert status == "connected"
    report("token_expiry_two_workers", rounds=rounds, workers=WORKERS, trainings=len(trainings))


@pytest.mark.long
def test_a_push_waiting_for_its_retry_goes_when_the_worker_running_rqs_scheduler_is_killed(postgres_url, tmp_path):
    """RQ's scheduler runs inside one worker; killing that worker must not strand the retries it would have queued."""
    with running_system(postgres_url, tmp_path, database="zoomsync_faults") as fs:
        first = fs.stack.start("worker")  # the only worker: it runs the scheduler
        fs.stack.wait_for(lambda: b"Scheduler for" in first.log_path.read_bytes(), "the scheduler to start", 30)
        academy = connect_server_to_server(fs)
        [training] = new_trainings(fs, academy, 1, registrants=1)
        wait_in_sync(fs, [training], 30)
        fs.zoom.control.fault(kind="status", status=503, count=1, path="^/v2/meetings/", method="PATCH")
        edit(fs, academy, training, {"duration": 45})
        fs.stack.wait_for(lambda: outbox_counts(fs).get("pending") == 1 and _waiting(fs), "the push to back off", 30)
        fs.stack.start("worker")  # a second worker, started while the first holds the scheduler's lock
        fs.stack.kill(first)  # and the scheduler with it, its retry still scheduled in Redis
        killed = time.monotonic()
        # RQ alone would leave it until the survivor's maintenance, 10 minutes on: here within the lock's minute
        # and a maintenance round (30 s), or the sweeper's overdue check (90 s).
        wait_in_sync(fs, [training], 150)
        waited = round(time.monotonic() - killed, 1)
        assert lms_side(fs, training)["duration"] == 45
    report("scheduler_worker_killed", seconds_until_pushed=waited)


def _waiting(fs) -> bool:
    with fs.db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM outbox WHERE next_attempt_at IS NOT NULL")).scalar_one() == 1
