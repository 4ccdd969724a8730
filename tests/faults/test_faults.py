"""Faults against the real processes: what Zoom sent is stored once, reconciled once, and nothing is lost.

Each test breaks one thing while a meeting is played in the simulated Zoom (every participant a registered
learner), then checks the service against what the simulator knows: every message acknowledged in the end,
every event stored once (one row per dedupe key) and done, every join and leave kept once, and each
learner's attendance equal to Zoom's own computation. The figures go to artifacts/faults/ for
docs/reliability.md.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis as redis_lib
from rq.registry import StartedJobRegistry

from chaos.drill import (
    DONE,
    attendance,
    delivery_figures,
    inbox_counts,
    meeting_with_learners,
    participant_facts,
    report,
    stored_once,
)
from workers.queues import RECONCILE_QUEUE, marker_key

pytestmark = pytest.mark.faults


def _settled(fs, meeting, played) -> dict:
    """Wait until the LMS agrees with Zoom and every event is done; the service's side of the figures."""
    fs.stack.wait_for(lambda: attendance(fs, meeting) == played["attendance"], "attendance equal to Zoom's", 120)
    fs.stack.wait_for(lambda: set(inbox_counts(fs)) <= DONE, "every event done", 60)
    rows, keys = stored_once(fs)
    facts, distinct_facts = participant_facts(fs)
    assert rows == keys and facts == distinct_facts
    return {
        "stored": rows,
        "stored_twice": rows - keys,
        "inbox": inbox_counts(fs),
        "facts_applied_twice": facts - distinct_facts,
    }


def test_with_redis_down_events_are_acknowledged_kept_and_reconciled_when_it_returns(system):
    fs = system
    zoom = system.zoom
    fs.stack.start("worker")
    meeting = meeting_with_learners(fs, people=12)
    fs.redis.stop()
    down_at = time.monotonic()
    played = zoom.control.play(meeting.meeting_id, meeting.script)
    assert zoom.control.wait_for_webhooks(60)
    during = delivery_figures(zoom.control.deliveries())
    assert during["attempts"] == {"200": during["sent"]}  # every one acknowledged at once, Redis gone
    stored = inbox_counts(fs)
    assert sum(stored.values()) == during["sent"] and "processed" not in stored  # kept, not yet reconciled
    time.sleep(2)  # the worker and the sweeper meet the outage too
    fs.redis.start()  # empty: every queued job and marker is gone; only the database remembers
    outage = round(time.monotonic() - down_at, 1)
    service = _settled(fs, meeting, played)
    assert service["stored"] == during["sent"]
    report("redis_down", outage_seconds=outage, zoom=during, service=service, learners=len(meeting.users))


def test_with_postgres_down_the_endpoint_answers_503_and_zooms_retries_deliver_everything_once(system):
    fs = system
    zoom = system.zoom
    fs.stack.start("worker")
    meeting = meeting_with_learners(fs, people=12)
    assert zoom.control.wait_for_webhooks(30)  # meeting.created, before the outage
    before = {d["message_id"] for d in zoom.control.deliveries()}
    fs.pg_proxy.cut()
    played = zoom.control.play(meeting.meeting_id, meeting.script)
    time.sleep(6)  # past Zoom's first retry (3 s here): that one meets the outage too
    refused = [d for d in zoom.control.deliveries() if d["message_id"] not in before]
    assert refused and {d["status"] for d in refused} == {503}, [
        (d["event"], d["status"], d["answer"], d["sent_at"]) for d in refused if d["status"] != 503
    ]
    assert sum(inbox_counts(fs).values()) == len(before)
    fs.pg_proxy.restore()
    assert zoom.control.wait_for_webhooks(90)  # the second retries (12 s later) find the database back
    after = delivery_figures([d for d in zoom.control.deliveries() if d["message_id"] not in before])
    assert after["never_acknowledged"] == 0 and after["attempts"]["503"] >= 2 * after["sent"]
    service = _settled(fs, meeting, played)
    assert service["stored"] == after["sent"] + len(before)
    report("postgres_down", outage_seconds=6, zoom=after, service=service, learners=len(meeting.users))


def test_a_worker_killed_in_the_middle_of_a_reconcile_batch_leaves_its_work_to_another(system):
    fs = system
    zoom = system.zoom
    meeting = meeting_with_learners(fs, people=150)
    played = zoom.control.play(meeting.meeting_id, meeting.script)  # no worker yet: the inbox fills up
    assert zoom.control.wait_for_webhooks(60)
    sent = delivery_figures(zoom.control.deliveries())
    redis = redis_lib.Redis.from_url(fs.redis.url)
    started = StartedJobRegistry(RECONCILE_QUEUE, connection=redis)
    # Batches of 20 (some 15 commits for this meeting's events): the job is still at work when it is killed,
    # however fast its horse starts. It is killed once at work: past its first step, which gives up the
    # meeting's marker so that the sweeper may queue another job (a kill in the moment before is left to
    # RQ's retry of an abandoned job, minutes later).
    first = fs.stack.start("worker", env={"RECONCILE_BATCH_SIZE": "20"})
    fs.stack.wait_for(
        lambda: started.count > 0 and not redis.exists(marker_key(meeting.meeting_id)), "a reconcile job at work", 60
    )
    fs.stack.kill(first)  # SIGKILL to the worker and its work horse, mid-job
    at_kill = inbox_counts(fs)
    assert at_kill.get("pending", 0) > 0  # the batch was cut short: work was left undone
    fs.stack.start("worker")  # another worker; its sweeper finds what the dead one left
    service = _settled(fs, meeting, played)
    assert service["stored"] == sent["sent"]
    report("worker_sigkill", zoom=sent, at_kill=at_kill, service=service, learners=len(meeting.users))


def _gunicorn_workers(web) -> list[int]:
    """The pids gunicorn's master (the web process) forked to answer requests."""
    children = Path(f"/proc/{web.popen.pid}/task/{web.popen.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def test_a_web_process_killed_while_deliveries_stream_loses_no_acknowledged_event(system):
    """SIGKILL to a gunicorn worker, five times, while a 150-person meeting's webhooks arrive: a delivery
    answered 200 was committed first (group commit answers no one before its batch's commit), so every 200 is
    a stored row; a delivery cut off unanswered is retried by Zoom and, if its batch had committed, stored
    once all the same (the redelivery is a duplicate)."""
    fs = system
    zoom = system.zoom
    fs.stack.start("worker")
    [web] = [p for p in fs.stack.processes if p.name == "web"]
    meeting = meeting_with_learners(fs, people=150)
    assert zoom.control.wait_for_webhooks(30)
    before = {d["message_id"] for d in zoom.control.deliveries()}
    played = zoom.control.play(meeting.meeting_id, meeting.script)
    killed = []
    for _ in range(5):
        fs.stack.wait_for(lambda: len(_gunicorn_workers(web)) >= 2, "gunicorn's workers up", 30)
        victim = _gunicorn_workers(web)[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
        time.sleep(0.2)
    assert zoom.control.wait_for_webhooks(120)
    zoom_side = delivery_figures([d for d in zoom.control.deliveries() if d["message_id"] not in before])
    assert zoom_side["attempts"].get("no answer", 0) >= 1  # a kill cut deliveries off: the drill hit the stream
    assert zoom_side["never_acknowledged"] == 0
    service = _settled(fs, meeting, played)
    assert service["stored"] == zoom_side["sent"] + len(before)  # every message once: none lost, none twice
    report("web_sigkill", zoom=zoom_side, service=service, learners=len(meeting.users), kills=len(killed))
