"""The worker imports every job's module before forking, so no work horse imports one again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rq.utils import import_attribute

from workers.account_events import handle_account_event
from workers.attendance import recompute_training_attendance
from workers.drift import drift_check
from workers.notify import send_notifications
from workers.push import push_training
from workers.queues import JOBS
from workers.reconcile import reconcile_meeting
from workers.reports import pull_report
from workers.runner import JOB_MODULES
from workers.sweeper import sweep_inbox, sweep_notifications, sweep_outbox, sweep_report_pulls

QUEUED = (
    reconcile_meeting,
    recompute_training_attendance,
    push_training,
    pull_report,
    send_notifications,
    handle_account_event,
    sweep_inbox,
    sweep_outbox,
    sweep_report_pulls,
    sweep_notifications,
    drift_check,
)


def test_every_queued_job_lives_in_a_preloaded_module():
    assert {job.__module__ for job in QUEUED} <= set(JOB_MODULES)


def test_every_dotted_path_queued_names_its_job():
    """workers/queues.py enqueues by dotted path: a typo would only show when a worker ran the job."""
    by_path = {f"{job.__module__}.{job.__qualname__}": job for job in QUEUED}
    assert set(JOBS) <= by_path.keys()
    for path in JOBS:
        assert import_attribute(path) is by_path[path]  # how RQ's worker finds it


# Run in a fresh interpreter: in this one, earlier tests have imported the modules and configured the ORM.
FRESH_PRELOAD = """
import sys
from models.base import Base
from workers.runner import JOB_MODULES, preload_jobs

mappers = list(Base.registry.mappers)
before = (any(m in sys.modules for m in JOB_MODULES), all(mapper.configured for mapper in mappers))
preload_jobs()
mappers = list(Base.registry.mappers)
after = (all(m in sys.modules for m in JOB_MODULES), bool(mappers) and all(m.configured for m in mappers))
print(before, after)
"""


def test_preloading_imports_them_all_and_configures_the_orm():
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", FRESH_PRELOAD], cwd=root, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    # Before: no job module imported and the ORM not configured; after: all imported, every mapper configured.
    assert run.stdout.split("\n")[-2] == "(False, False) (True, True)"
