"""workers/field_rules.py: which Zoom changes reach a training, and which win."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workers import field_rules
from workers.field_rules import (
    ZOOM_TO_TRAINING,
    FieldChange,
    accepted_changes,
    newer,
    unsupported_change,
)

START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
STAMP = (1_714_550_400_000, "evt-b")


# --- unsupported_change -----------------------------------------------------------------


@pytest.mark.parametrize("event_kind, training_type", [("meeting", "webinar"), ("webinar", "meeting")])
def test_event_kind_differs_from_training_type(event_kind, training_type):
    reason = unsupported_change(event_kind, training_type, {"topic": "x"})
    assert reason is not None
    assert event_kind in reason and training_type in reason
    assert "not supported" in reason


def test_event_kind_check_comes_first():
    reason = unsupported_change("webinar", "meeting", {"type": 2})
    assert reason is not None and "webinar event for a meeting" in reason


@pytest.mark.parametrize("training_type, zoom_type", [("meeting", 3), ("meeting", 8), ("webinar", 6), ("webinar", 9)])
def test_recurring_types(training_type, zoom_type):
    reason = unsupported_change(training_type, training_type, {"type": zoom_type})
    assert reason is not None
    assert "recurring" in reason
    assert f"({zoom_type})" in reason
    assert training_type in reason


def test_pmi_type():
    reason = unsupported_change("meeting", "meeting", {"type": 4})
    assert reason is not None and "Personal Meeting ID" in reason


@pytest.mark.parametrize("zoom_type", [None, 2], ids=["no-type", "type-2"])
def test_use_pmi_setting(zoom_type):
    changed = {"settings": {"use_pmi": True}}
    if zoom_type is not None:
        changed["type"] = zoom_type
    reason = unsupported_change("meeting", "meeting", changed)
    assert reason is not None and "Personal Meeting ID" in reason


@pytest.mark.parametrize(
    "settings",
    [{"use_pmi": False}, {}, None, {"use_pmi": "true"}, {"use_pmi": 1}],
    ids=["false", "empty", "null", "str", "int"],
)
def test_use_pmi_must_be_exactly_true(settings):
    assert unsupported_change("meeting", "meeting", {"type": 2, "settings": settings}) is None


@pytest.mark.parametrize("zoom_type", [5])
def test_meeting_converted_to_webinar(zoom_type):
    reason = unsupported_change("meeting", "meeting", {"type": zoom_type})
    assert reason is not None and "converted to a webinar" in reason


@pytest.mark.parametrize("zoom_type", [1, 2])
def test_webinar_converted_to_meeting(zoom_type):
    reason = unsupported_change("webinar", "webinar", {"type": zoom_type})
    assert reason is not None and "converted to a meeting" in reason


@pytest.mark.parametrize(
    "training_type, zoom_type",
    [("meeting", 6), ("meeting", 9), ("webinar", 3), ("webinar", 4), ("webinar", 8)],
)
def test_other_cross_kind_types_are_unsupported(training_type, zoom_type):
    # a webinar's recurring code on a meeting (and the reverse) is refused whichever reason is given
    reason = unsupported_change(training_type, training_type, {"type": zoom_type})
    assert reason is not None and "not supported" in reason


@pytest.mark.parametrize(
    "training_type, changed",
    [
        ("meeting", {"type": 2}),
        ("meeting", {"type": 2, "topic": "New", "duration": 30}),
        ("meeting", {"type": 1}),
        ("meeting", {}),
        ("meeting", {"topic": "New"}),
        ("meeting", {"type": 2, "settings": {"host_video": True}}),
        ("webinar", {"type": 5}),
        ("webinar", {"topic": "New"}),
        ("webinar", {}),
    ],
    ids=[
        "meeting-2",
        "meeting-2-fields",
        "meeting-1",
        "meeting-empty",
        "meeting-topic",
        "meeting-settings",
        "webinar-5",
        "webinar-topic",
        "webinar-empty",
    ],
)
def test_supported_changes(training_type, changed):
    assert unsupported_change(training_type, training_type, changed) is None


@pytest.mark.parametrize("zoom_type", [7, 10, 0, 99])
def test_unknown_type_codes_are_not_refused(zoom_type):
    assert unsupported_change("meeting", "meeting", {"type": zoom_type}) is None


# --- newer ------------------------------------------------------------------------------


def test_newer():
    assert newer((1, "a"), None)
    assert newer((2, "a"), (1, "z"))
    assert newer((1, "b"), (1, "a"))
    assert not newer((1, "a"), (1, "a"))
    assert not newer((1, "a"), (1, "b"))
    assert not newer((1, "z"), (2, "a"))
    assert newer((2, "a"), [1, "z"])  # stamps read back from JSON are lists
    assert not newer((1, "a"), [1, "a"])


# --- accepted_changes -------------------------------------------------------------------


def attrs(changes):
    return {c.attribute: c.value for c in changes}


def test_mapping():
    assert ZOOM_TO_TRAINING == {
        "topic": "theme",
        "start_time": "start_time",
        "duration": "duration",
        "timezone": "timezone",
    }


def test_all_fields_accepted_with_no_stamps():
    changed = {"topic": "New", "start_time": START, "duration": 90, "timezone": "Europe/Paris"}
    result = accepted_changes(changed, STAMP, {})
    assert result == [
        FieldChange("theme", "New"),
        FieldChange("start_time", START),
        FieldChange("duration", 90),
        FieldChange("timezone", "Europe/Paris"),
    ]


def test_only_present_fields():
    assert accepted_changes({"duration": 30}, STAMP, {}) == [FieldChange("duration", 30)]
    assert accepted_changes({}, STAMP, {}) == []
    assert accepted_changes({"id": 1, "type": 2, "uuid": "u", "settings": {}}, STAMP, {}) == []


def test_agenda_never_produces_a_change():
    assert accepted_changes({"agenda": "New description"}, STAMP, {}) == []
    result = accepted_changes({"agenda": "New description", "topic": "T"}, STAMP, {})
    assert result == [FieldChange("theme", "T")]
    assert all(c.attribute not in ("agenda", "description") for c in result)


def test_newer_stamp_wins():
    stamps = {"theme": [STAMP[0] - 1, "evt-z"], "duration": [STAMP[0] - 1000, "a"]}
    assert attrs(accepted_changes({"topic": "New", "duration": 30}, STAMP, stamps)) == {"theme": "New", "duration": 30}


def test_older_stamp_loses():
    stamps = {"theme": [STAMP[0] + 1, "a"]}
    assert accepted_changes({"topic": "Old"}, STAMP, stamps) == []


def test_equal_stamp_is_not_applied_again():
    assert accepted_changes({"topic": "Same"}, STAMP, {"theme": list(STAMP)}) == []


def test_equal_ms_resolved_by_tiebreak():
    ms = STAMP[0]
    assert accepted_changes({"duration": 30}, (ms, "b"), {"duration": [ms, "a"]}) == [FieldChange("duration", 30)]
    assert accepted_changes({"duration": 30}, (ms, "a"), {"duration": [ms, "b"]}) == []


def test_equal_ms_same_result_whatever_arrival_order():
    ms = STAMP[0]
    first, second = ((ms, "evt-1"), 30), ((ms, "evt-2"), 45)

    def apply(order):
        value, stamps = None, {}
        for stamp, duration in order:
            for change in accepted_changes({"duration": duration}, stamp, stamps):
                value, stamps = change.value, {"duration": list(stamp)}
        return value

    assert apply([first, second]) == apply([second, first]) == 45


def test_stamps_are_per_attribute():
    stamps = {"theme": [STAMP[0] + 1, "z"]}
    changed = {"topic": "Older title", "timezone": "UTC"}
    assert accepted_changes(changed, STAMP, stamps) == [FieldChange("timezone", "UTC")]


@pytest.mark.parametrize(
    "changed",
    [
        {"topic": ""},
        {"topic": "   "},
        {"topic": "\t\n"},
        {"topic": None},
        {"topic": 5},
        {"duration": 0},
        {"duration": -30},
        {"duration": None},
        {"duration": "60"},
        {"duration": 60.0},
        {"timezone": ""},
        {"timezone": None},
        {"timezone": 0},
        {"start_time": "2024-05-01T09:00:00Z"},
        {"start_time": None},
        {"start_time": 1714550400},
        {"start_time": START.date()},
    ],
    ids=lambda c: f"{next(iter(c))}={next(iter(c.values()))!r}",
)
def test_invalid_values_are_skipped(changed):
    assert accepted_changes(changed, STAMP, {}) == []


def test_invalid_value_does_not_block_valid_siblings():
    changed = {"topic": " ", "duration": 0, "timezone": "", "start_time": START}
    assert accepted_changes(changed, STAMP, {}) == [FieldChange("start_time", START)]


def test_valid_edge_values():
    assert attrs(accepted_changes({"duration": 1, "topic": " x ", "timezone": "UTC"}, STAMP, {})) == {
        "duration": 1,
        "theme": " x ",
        "timezone": "UTC",
    }


def test_topic_with_non_ascii():
    assert accepted_changes({"topic": "Über 🚀"}, STAMP, {}) == [FieldChange("theme", "Über 🚀")]


def test_an_unknown_time_zone_from_zoom_is_not_applied():
    changed = {"timezone": "Mars/Olympus_Mons", "duration": 45}
    assert accepted_changes(changed, STAMP, {}) == [FieldChange("duration", 45)]


# --- echoes: our own pushes coming back ------------------------------------------------------------

SENT = 1_796_000_000_000


def push(sent=SENT, previous=None, origins=None, **fields):
    return field_rules.Push(sent, fields, previous or {}, origins or {})


def test_a_value_we_pushed_coming_back_is_an_echo_carrying_its_edit_time():
    pushes = [push(duration=90, previous={"duration": 60}, origins={"duration": SENT - 5000})]
    assert field_rules.echoes({"duration": 90}, {"duration": 60}, pushes, {}, SENT + 800) == {"duration": SENT - 5000}


def test_a_start_time_is_compared_as_zoom_spells_it():
    start = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    pushes = [push(start_time="2026-12-10T08:00:00Z", timezone="Europe/Berlin")]
    changed = {"start_time": start, "timezone": "Europe/Berlin"}
    assert set(field_rules.echoes(changed, {}, pushes, {}, SENT + 10)) == {"start_time", "timezone"}


def test_another_value_is_no_echo():
    assert field_rules.echoes({"duration": 91}, {}, [push(duration=90)], {}, SENT + 800) == {}


def test_a_field_we_did_not_push_is_no_echo():
    assert field_rules.echoes({"topic": "x"}, {}, [push(duration=90)], {}, SENT + 800) == {}


def test_only_the_pushed_fields_of_a_mixed_update_are_echoes():
    changed = {"duration": 90, "topic": "Renamed in Zoom"}
    assert set(field_rules.echoes(changed, {}, [push(duration=90)], {}, SENT + 5)) == {"duration"}


def test_the_same_value_long_after_the_push_is_somebodys_edit():
    late = SENT + field_rules.ECHO_WINDOW_MS + 1
    assert field_rules.echoes({"duration": 90}, {}, [push(duration=90)], {}, late) == {}


def test_zooms_clock_may_be_a_little_behind_ours():
    early = SENT - field_rules.CLOCK_SKEW_MS
    assert set(field_rules.echoes({"duration": 90}, {}, [push(duration=90)], {}, early)) == {"duration"}
    assert field_rules.echoes({"duration": 90}, {}, [push(duration=90)], {}, early - 1) == {}


def test_after_a_zoom_change_since_the_push_a_matching_value_is_an_edit():
    # We pushed 90; someone set 60 in Zoom; then someone set 90 again: that is no echo.
    zoom_change = {"duration": SENT + 100}
    assert field_rules.echoes({"duration": 90}, {"duration": 60}, [push(duration=90)], zoom_change, SENT + 200) == {}


def test_an_earlier_push_echoing_after_a_later_one_is_known_by_its_old_value():
    pushes = [push(SENT, {"duration": 60}, duration=90), push(SENT + 1000, {"duration": 90}, duration=120)]
    assert set(field_rules.echoes({"duration": 90}, {"duration": 60}, pushes, {}, SENT + 1500)) == {"duration"}


def test_a_value_set_back_in_zoom_after_our_later_push_is_an_edit():
    # We pushed 90, then 120; the host then sets 90 in Zoom (old_object 120): a real edit.
    pushes = [push(SENT, {"duration": 60}, duration=90), push(SENT + 1000, {"duration": 90}, duration=120)]
    assert field_rules.echoes({"duration": 90}, {"duration": 120}, pushes, {}, SENT + 5000) == {}


def test_our_latest_push_is_an_echo_even_when_it_overwrote_an_unknown_zoom_edit():
    # Zoom held 50 (an edit we had not heard of), our push set 70: Zoom's old_object says 50.
    pushes = [push(SENT, {"duration": 60}, duration=70)]
    assert set(field_rules.echoes({"duration": 70}, {"duration": 50}, pushes, {}, SENT + 10)) == {"duration"}


# --- Zoom behind the training ----------------------------------------------------------------------


class _Training:
    def __init__(self, **values):
        self.__dict__.update(values)


def test_zoom_is_behind_when_it_holds_an_older_edit_than_the_training():
    training = _Training(duration=50, start_time=None, timezone="UTC")
    confirmed = {"duration": [70, [SENT + 100, "push"], SENT - 1000]}  # our push of an LMS edit made earlier
    stamps = {"duration": [SENT, "zoom-edit"]}  # the training took Zoom's later edit
    assert field_rules.zoom_behind(training, confirmed, stamps, names=["duration"]) == {"duration": 50}


def test_zoom_is_not_behind_when_its_value_is_the_newer_one():
    training = _Training(duration=70, start_time=None, timezone="UTC")
    confirmed = {"duration": [50, [SENT, "zoom"], SENT]}
    stamps = {"duration": [SENT - 1000, "lms"]}  # the training's value is older: it is waiting for its own push
    assert field_rules.zoom_behind(training, confirmed, stamps, names=["duration"]) == {}


def test_zoom_is_not_behind_when_both_hold_the_same():
    training = _Training(duration=70, start_time=None, timezone="UTC")
    confirmed = {"duration": [70, [SENT, "push"], SENT - 1000]}
    assert field_rules.zoom_behind(training, confirmed, {"duration": [SENT + 5, "lms"]}, names=["duration"]) == {}


def test_the_title_is_never_pushed_back():
    training = _Training(theme="LMS title", duration=60, start_time=None, timezone="UTC")
    confirmed = {"topic": ["Zoom title", [SENT, "zoom"], SENT]}
    assert field_rules.zoom_behind(training, confirmed, {"theme": [SENT + 10, "lms"]}, names=["topic"]) == {}


# --- status_from_runs -------------------------------------------------------------------

NO_RUN: list = []
UNDER_WAY = [(True, False)]
ENDED = [(True, False), (True, True)]

# (cancelled, runs that count) -> result, written out by hand
EXPECTED_FROM_RUNS = [
    (False, NO_RUN, "not_started"),  # also when only a practice session had looked like a start
    (True, NO_RUN, "cancelled"),
    (False, UNDER_WAY, "started"),
    (True, UNDER_WAY, "cancelled"),
    (False, ENDED, "completed"),
    (True, ENDED, "completed"),  # held, then deleted: it happened
]


@pytest.mark.parametrize("cancelled, runs, expected", EXPECTED_FROM_RUNS)
def test_status_from_runs(cancelled, runs, expected):
    assert field_rules.status_from_runs(cancelled, runs) == expected
    assert field_rules.status_from_runs(cancelled, iter(runs)) == expected  # any iterable, read once
    assert field_rules.status_from_runs(cancelled, reversed(runs)) == expected  # order of runs is no matter
