"""The soak run's short version (`make soak` runs the long one): a few meetings, LMS edits, faults throughout."""

from __future__ import annotations

import pytest

from bench.soak import soak

pytestmark = pytest.mark.faults


def test_a_short_soak_with_faults_loses_nothing_and_applies_nothing_twice(postgres_url):
    figures = soak(
        postgres_url,
        meetings=3,
        people=40,
        faults=4,
        workers=2,
        duplicates=0.1,
        seed=7,
        database="zoomsync_soak_test",
        trainings=6,
        edits=60,
    )
    assert figures["problems"] == []
    assert figures["lost"] == 0 and figures["stored_twice"] == 0 and figures["facts_applied_twice"] == 0
    assert figures["stored"] == figures["events_sent"] > 300
    assert figures["deliveries"]["never_acknowledged"] == 0
    assert len(figures["faults"]) == 4 and figures["attendance_compared"] >= 100
    assert set(figures["inbox"]) <= {"processed", "ignored"}
    lms = figures["lms"]
    assert sum(lms["edits"].values()) == 60 and lms["errors"] == []
    assert lms["not_as_set"] == [] and lms["differing_from_zoom"] == []
    assert set(lms["outbox"]) <= {"sent", "cancelled"}
