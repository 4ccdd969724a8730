"""Faults against the real processes: what Zoom sent is stored once, reconciled once, and nothing is lost.

Each test breaks one thing while a meeting is played in the simulated Zoom (every participant a registered
learner), then checks the service against what the simulator knows: every message acknowledged in the end,
every event stored once (one row per dedupe key) and done, every join and leave kept once, and each
learner's attendance equal to Zoom's own computation. The figures go to artifacts/faults/ for
docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis as redis_lib
import requests
from rq.registry import StartedJobRegistry
from sqlalchemy import text

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
from chaos.harness import SECRET
from service.dedupe import dedupe_key
from workers.queues import RECONCILE_QUEUE, marker_key
from zoomsim.load import generate_events
from zoomsim.signing import signed_headers

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


# What marks the inbox's INSERT on PostgreSQL's wire: every event type these bodies carry starts so, and the
# INSERT's parameters carry it, prepared or not (the writer's connection is in autocommit: no BEGIN, no COMMIT).
INSERT_SENT = b"webinar."
INSERT_DONE = b"INSERT 0 "  # the server's CommandComplete for it, sent once the statement has committed


def _deliver(fs, body: bytes) -> requests.Response | Exception:
    """One delivery as Zoom makes it: the body, signed now; the answer, or what stood for none."""
    try:
        return requests.post(f"{fs.url}/webhooks/zoom", data=body, headers=signed_headers(SECRET, body), timeout=30)
    except requests.RequestException as exc:
        return exc


def _kept(fs, bodies: list[bytes]) -> dict[str, int]:
    """Rows in the inbox for each body's event, by dedupe key (read straight from PostgreSQL)."""
    keys = [dedupe_key(json.loads(body)) for body in bodies]
    with fs.db.connect() as conn:
        rows = conn.execute(
            text("SELECT dedupe_key, count(*) FROM inbox_events WHERE dedupe_key = ANY(:keys) GROUP BY 1"),
            {"keys": keys},
        ).all()
    found = dict(rows)
    return {key: found.get(key, 0) for key in keys}


def _web_answering(fs, web) -> None:
    fs.stack.wait_for(lambda: len(_gunicorn_workers(web)) >= 2, "gunicorn's workers back", 30)
    fs.stack.wait_for(lambda: requests.get(f"{fs.url}/healthz", timeout=1).ok, "web to answer", 30)


def test_a_web_process_killed_between_the_commit_and_the_answer_keeps_the_event_and_the_retry_is_a_duplicate(
    system,
):
    """PostgreSQL has committed the delivery's batch, the answer has not left: the process dies (SIGKILL).
    Zoom, with no answer, sends the event again; the event is in the inbox once, and the retry's answer says
    it is a duplicate. The proxy holds PostgreSQL's answer to the batch's INSERT (sent once it committed), so
    the kill falls exactly there."""
    fs = system
    [web] = [p for p in fs.stack.processes if p.name == "web"]
    [body] = generate_events(1, meetings=1, seed=41)
    fs.pg_proxy.hold_at(INSERT_DONE)
    answer: list = []
    sender = threading.Thread(target=lambda: answer.append(_deliver(fs, body)))
    sender.start()
    assert fs.pg_proxy.holding.wait(20), "the delivery's INSERT was never answered"
    # Committed in PostgreSQL while its process still waits (its answer is the statement's completion and the
    # ReadyForQuery after the commit; the first may leave a moment before the commit: hence the wait).
    fs.stack.wait_for(lambda: list(_kept(fs, [body]).values()) == [1], "the held batch committed", 10)
    for worker in _gunicorn_workers(web):
        os.kill(worker, signal.SIGKILL)
    sender.join(30)
    assert isinstance(answer[0], requests.ConnectionError), answer  # Zoom heard nothing: no 200 for it
    fs.pg_proxy.release()
    _web_answering(fs, web)
    retry = _deliver(fs, body)
    assert retry.status_code == 200 and retry.json()["status"] == "duplicate", retry.text
    assert list(_kept(fs, [body]).values()) == [1]
    report("web_sigkill_after_commit", stored_at_kill=1, answer="no answer", retry=retry.json()["status"], stored=1)


def test_the_database_cut_off_mid_batch_answers_503_to_every_delivery_of_the_batch_and_keeps_none_of_it(system):
    """The connection to PostgreSQL drops as a batch's INSERT is sent (the proxy waits a moment first, so that
    the deliveries behind it form batches of many, then closes the connection with the INSERT unsent): every
    delivery of every such batch is answered 503, none of them is kept, and Zoom's retries, once the
    database is back, keep each once. The error logged names no person of the bodies."""
    fs = system
    [web] = [p for p in fs.stack.processes if p.name == "web"]
    bodies = generate_events(40, meetings=2, seed=43)
    fs.pg_proxy.drop_at(INSERT_SENT, delay=0.3)
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda body: _deliver(fs, body), bodies))
    statuses = [getattr(answer, "status_code", type(answer).__name__) for answer in answers]
    assert statuses == [503] * len(bodies), statuses
    assert sum(_kept(fs, bodies).values()) == 0  # no batch was half kept
    keys = [dedupe_key(json.loads(body)) for body in bodies]
    carried = [sum(key.encode() in sent for key in keys) for sent in fs.pg_proxy.dropped]
    assert sum(carried) == len(bodies)  # each delivery was in one cut-off batch
    assert max(carried) >= 2, carried  # and batches of several were cut off whole
    fs.pg_proxy.release()
    _web_answering(fs, web)
    with ThreadPoolExecutor(8) as pool:
        retries = list(pool.map(lambda body: _deliver(fs, body), bodies))
    assert [r.status_code for r in retries] == [200] * len(bodies)
    assert set(_kept(fs, bodies).values()) == {1}
    people = {
        value
        for body in bodies
        for key, value in json.loads(body)["payload"]["object"].get("participant", {}).items()
        if key in ("email", "user_name") and value
    }
    logs = "".join(process.log_path.read_text(errors="replace") for process in fs.stack.processes)
    assert "inbox unavailable" in logs and not [person for person in people if person in logs]
    report(
        "postgres_cut_mid_batch",
        deliveries=len(bodies),
        answered_503=statuses.count(503),
        batches_cut=len(carried),
        largest_batch_cut=max(carried),
        kept_before_retries=0,
        kept_after_retries=len(bodies),
        people_in_logs=0,
    )
