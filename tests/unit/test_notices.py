"""The organizer's notifications: what each says, with times in the training's own zone."""

from __future__ import annotations

from datetime import UTC, datetime

from service import notices

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_assigned_names_the_training_and_its_local_time():
    notice = notices.assigned("Fire safety", START, 60, "Europe/Berlin")
    assert notice.kind == "assigned" and "Fire safety" in notice.subject
    assert "2026-12-01 10:00 (Europe/Berlin)" in notice.body and "60 minutes" in notice.body
    assert "start and end" in notice.body


def test_changed_lists_each_field_before_and_after():
    later = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)
    notice = notices.changed(
        "Fire safety",
        "Asia/Tokyo",
        {"start_time": (START, later), "duration": (60, 90), "max_participants": (None, 20)},
    )
    assert notice.kind == "changed"
    lines = notice.body.splitlines()[1:]
    assert lines == [
        "- start: 2026-12-01 18:00 (Asia/Tokyo) → 2026-12-01 22:30 (Asia/Tokyo)",
        "- duration (minutes): 60 → 90",
        "- max participants: (none) → 20",
    ]


def test_unassigned_says_who_organizes_now():
    notice = notices.unassigned("Fire safety", "Olga Organizer")
    assert notice.kind == "unassigned" and "Olga Organizer" in notice.body


def test_cancelled_says_the_zoom_meeting_goes_too():
    notice = notices.cancelled("Fire safety", START, "UTC")
    assert notice.kind == "cancelled" and "2026-12-01 09:00 (UTC)" in notice.body and "Zoom" in notice.body
