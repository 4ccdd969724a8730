"""The worker imports every job's module before forking, so no work horse imports one again."""

from __future__ import annotations

import sys

from workers.account_events import handle_account_event
from workers.attendance import recompute_training_attendance
from workers.drift import drift_check
from workers.notify import send_notifications
from workers.push import push_training
from workers.reconcile import reconcile_meeting
from workers.reports import pull_report
from workers.runner import JOB_MODULES, preload_jobs
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


def test_preloading_imports_them_all_and_configures_the_orm():
    from models.base import Base

    preload_jobs()
    assert set(JOB_MODULES) <= set(sys.modules)
    mappers = list(Base.registry.mappers)
    assert mappers and all(mapper.configured for mapper in mappers)  # no horse configures them again
