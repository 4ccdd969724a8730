"""workers/intervals.py: attended time as the union of presence, independent of order and duplicates."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from workers.intervals import JOIN, LEAVE, Interval, presence_intervals, total_seconds, union

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def join(minutes: float):
    return (at(minutes), JOIN)


def leave(minutes: float):
    return (at(minutes), LEAVE)


def closed(start: float, end: float) -> Interval:
    return Interval(at(start), at(end))


def opened(start: float) -> Interval:
    return Interval(at(start), None)


# --- Interval ---------------------------------------------------------------------------


def test_interval_seconds():
    assert closed(0, 90).seconds == 5400
    assert closed(5, 5).seconds == 0
    assert opened(0).seconds == 0
    assert Interval(T0, T0 + timedelta(seconds=1.9)).seconds == 1


def test_constants():
    assert (JOIN, LEAVE) == ("join", "leave")


# --- presence_intervals -----------------------------------------------------------------


def test_no_points_no_presence():
    assert presence_intervals([], None) == []
    assert presence_intervals([], at(60)) == []


def test_single_join_leave():
    assert presence_intervals([join(0), leave(45)], at(60)) == [closed(0, 45)]
    assert presence_intervals([join(0), leave(45)], None) == [closed(0, 45)]


def test_two_devices_overlapping_count_once():
    points = [join(0), join(10), leave(30), leave(50)]
    result = presence_intervals(points, at(60))
    assert result == [closed(0, 50)]
    assert total_seconds(result) == 50 * 60


def test_second_device_inside_first():
    assert presence_intervals([join(0), join(10), leave(20), leave(50)], None) == [closed(0, 50)]


def test_rejoin_adds_up():
    result = presence_intervals([join(0), leave(10), join(20), leave(35)], at(60))
    assert result == [closed(0, 10), closed(20, 35)]
    assert total_seconds(result) == 25 * 60


def test_join_without_leave_closes_at_meeting_end():
    assert presence_intervals([join(15)], at(60)) == [closed(15, 60)]


def test_rejoin_without_leave_closes_at_meeting_end():
    assert presence_intervals([join(0), leave(10), join(20)], at(60)) == [closed(0, 10), closed(20, 60)]


def test_two_devices_one_never_leaves_closes_at_meeting_end():
    assert presence_intervals([join(0), join(5), leave(10)], at(60)) == [closed(0, 60)]


def test_join_without_leave_and_no_meeting_end_stays_open():
    result = presence_intervals([join(15)], None)
    assert result == [opened(15)]
    assert result[0].end is None
    assert result[0].seconds == 0
    assert total_seconds(result) == 0


def test_open_presence_keeps_earlier_closed_time():
    result = presence_intervals([join(0), leave(10), join(20)], None)
    assert result == [closed(0, 10), opened(20)]
    assert total_seconds(result) == 600


def test_leave_without_join_adds_nothing():
    assert presence_intervals([leave(30)], at(60)) == []
    assert presence_intervals([leave(30)], None) == []


def test_extra_leave_after_closed_presence_adds_nothing():
    assert presence_intervals([join(0), leave(10), leave(20)], at(60)) == [closed(0, 10)]


def test_leave_before_join_for_same_person():
    # the leave of an earlier session (whose join we never got) does not close a later join
    assert presence_intervals([leave(5), join(10), leave(40)], at(60)) == [closed(10, 40)]
    assert presence_intervals([leave(5), join(10)], at(60)) == [closed(10, 60)]
    assert presence_intervals([leave(5), join(10)], None) == [opened(10)]


def test_duplicates_of_the_same_point_change_nothing():
    points = [join(0), leave(10), join(20), leave(30)]
    expected = presence_intervals(points, at(60))
    assert presence_intervals(points * 3, at(60)) == expected
    assert presence_intervals([*points, join(0), join(0)], at(60)) == expected
    assert presence_intervals([*points, leave(10)], at(60)) == expected


def test_duplicate_join_does_not_keep_presence_open():
    # the same join delivered twice is one session: its single leave closes it
    assert presence_intervals([join(0), join(0), leave(10)], None) == [closed(0, 10)]


def test_order_of_input_never_matters_fixed_seed():
    points = [join(0), leave(10), join(5), leave(25), join(40), leave(41), leave(70), join(55), join(90)]
    expected = presence_intervals(points, at(100))
    assert expected == [closed(0, 25), closed(40, 41), closed(55, 70), closed(90, 100)]
    rng = random.Random(20240501)
    for _ in range(200):
        shuffled = points[:]
        rng.shuffle(shuffled)
        assert presence_intervals(shuffled, at(100)) == expected
        assert presence_intervals(iter(shuffled), at(100)) == expected  # any iterable


def test_meeting_end_earlier_than_open_join_start():
    # a join after the recorded end (a late event): never a negative or backwards interval
    result = presence_intervals([join(0), leave(10), join(70)], at(60))
    assert result[0] == closed(0, 10)
    assert len(result) == 2
    late = result[1]
    assert late.start == at(70)
    assert late.end is None or late.end >= late.start
    assert late.seconds == 0
    assert total_seconds(result) == 600


def test_meeting_end_equal_to_open_join_start_gives_zero_length():
    assert presence_intervals([join(60)], at(60)) == [closed(60, 60)]


def test_join_and_leave_at_the_same_instant_is_zero_length():
    result = presence_intervals([join(10), leave(10)], at(60))
    assert result == [closed(10, 10)]
    assert total_seconds(result) == 0


def test_leave_and_rejoin_at_the_same_instant_is_continuous():
    # joins sort before leaves at the same instant: one device leaving as another joins is no gap
    result = presence_intervals([join(0), leave(10), join(10), leave(20)], None)
    assert result == [closed(0, 20)]


def test_same_instant_tie_break_does_not_depend_on_order():
    points = [leave(10), join(10), join(0), leave(20)]
    for perm in (points, points[::-1], sorted(points, key=lambda p: p[1])):
        assert presence_intervals(perm, None) == [closed(0, 20)]


def test_intervals_are_sorted_and_disjoint():
    result = presence_intervals([join(50), leave(60), join(0), leave(10), join(20), leave(30)], None)
    assert result == sorted(result)
    for first, second in zip(result, result[1:], strict=False):
        assert first.end < second.start


def test_two_devices_leaving_in_the_same_second_are_two_leaves():
    # e.g. the host ends the meeting: the session id keeps the two leaves apart
    laptop = [(*join(0), "laptop"), (*leave(30), "laptop")]
    phone = [(*join(10), "phone"), (*leave(30), "phone")]
    assert presence_intervals(laptop + phone, None) == [closed(0, 30)]
    # the same leave reported twice for one session is still one fact
    assert presence_intervals(laptop + phone + [(*leave(30), "phone")], None) == [closed(0, 30)]


def test_without_session_ids_same_second_leaves_collapse():
    # bare (at, kind) points carry no identity: identical points are one fact
    assert presence_intervals([join(0), join(10), leave(30), leave(30)], None) == [opened(0)]


# --- union ------------------------------------------------------------------------------


def test_union_empty():
    assert union([]) == []
    assert total_seconds([]) == 0


def test_union_keeps_disjoint_sorted():
    assert union([closed(20, 30), closed(0, 10)]) == [closed(0, 10), closed(20, 30)]


def test_union_merges_overlapping():
    assert union([closed(0, 20), closed(10, 30)]) == [closed(0, 30)]


def test_union_merges_touching():
    assert union([closed(0, 10), closed(10, 20)]) == [closed(0, 20)]
    assert total_seconds([closed(0, 10), closed(10, 20)]) == 20 * 60


def test_union_one_second_gap_not_merged():
    first = Interval(T0, T0 + timedelta(seconds=10))
    second = Interval(T0 + timedelta(seconds=11), T0 + timedelta(seconds=20))
    assert union([second, first]) == [first, second]


def test_union_contained_interval():
    assert union([closed(0, 60), closed(10, 20)]) == [closed(0, 60)]
    assert union([closed(10, 20), closed(0, 60)]) == [closed(0, 60)]


def test_union_same_start_different_ends():
    assert union([closed(0, 10), closed(0, 30)]) == [closed(0, 30)]
    assert union([closed(0, 30), closed(0, 10)]) == [closed(0, 30)]


def test_union_duplicates():
    assert union([closed(0, 10)] * 4) == [closed(0, 10)]


def test_union_open_interval_swallows_later_ones():
    assert union([opened(10), closed(20, 30), closed(40, 50)]) == [opened(10)]
    assert union([closed(40, 50), opened(10), closed(20, 30)]) == [opened(10)]


def test_union_open_interval_extends_overlapping_earlier_one():
    assert union([closed(0, 15), opened(10)]) == [opened(0)]
    assert union([closed(0, 10), opened(10)]) == [opened(0)]  # touching


def test_union_open_interval_after_gap_keeps_earlier_closed():
    result = union([closed(0, 10), opened(20), closed(25, 30)])
    assert result == [closed(0, 10), opened(20)]
    assert total_seconds(result) == 600


def test_union_open_and_closed_with_same_start():
    assert union([closed(0, 10), opened(0)]) == [opened(0)]
    assert union([opened(0), closed(0, 10)]) == [opened(0)]


def test_union_of_runs():
    # two runs of a meeting: intervals from each run are unioned
    run1 = presence_intervals([join(0), leave(30)], at(40))
    run2 = presence_intervals([join(100), leave(130)], at(140))
    assert total_seconds(run1 + run2) == 60 * 60


def test_total_seconds_counts_overlap_once():
    assert total_seconds([closed(0, 20), closed(10, 30), closed(50, 55)]) == 35 * 60


# --- properties -------------------------------------------------------------------------

minutes = st.integers(min_value=0, max_value=240)
point_lists = st.lists(st.tuples(minutes, st.sampled_from([JOIN, LEAVE])), max_size=25)
meeting_ends = st.one_of(st.none(), minutes)


def to_points(raw):
    return [(at(m), kind) for m, kind in raw]


@settings(max_examples=200, deadline=None)
@given(point_lists, meeting_ends, st.randoms(use_true_random=False))
def test_presence_independent_of_order_and_duplicates(raw, end, rnd):
    points = to_points(raw)
    meeting_end = None if end is None else at(end)
    expected = presence_intervals(points, meeting_end)
    shuffled = points[:]
    rnd.shuffle(shuffled)
    assert presence_intervals(shuffled, meeting_end) == expected
    duplicated = points + [rnd.choice(points) for _ in range(len(points))] if points else []
    rnd.shuffle(duplicated)
    assert presence_intervals(duplicated, meeting_end) == expected


@settings(max_examples=200, deadline=None)
@given(point_lists, meeting_ends)
def test_presence_intervals_are_sorted_disjoint_and_within_points(raw, end):
    points = to_points(raw)
    meeting_end = None if end is None else at(end)
    result = presence_intervals(points, meeting_end)
    joins = {t for t, kind in points if kind == JOIN}
    assert len(result) <= len(joins)
    for interval in result:
        assert interval.start in joins
        assert interval.end is None or interval.end >= interval.start
        assert interval.seconds >= 0
    for first, second in zip(result, result[1:], strict=False):
        assert first.end is not None
        assert first.end < second.start
    open_ones = [i for i in result if i.end is None]
    assert len(open_ones) <= 1
    if open_ones:
        assert open_ones[0] is result[-1]
    assert union(result) == result  # already disjoint


intervals_strategy = st.lists(
    st.one_of(
        st.tuples(minutes, st.integers(min_value=0, max_value=120)).map(lambda p: closed(p[0], p[0] + p[1])),
        minutes.map(opened),
    ),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(intervals_strategy, st.randoms(use_true_random=False))
def test_union_total_bounded_by_span_and_by_sum(intervals, rnd):
    total = total_seconds(intervals)
    closed_ones = [i for i in intervals if i.end is not None]
    assert total >= 0
    assert total <= sum(i.seconds for i in closed_ones)
    if intervals:
        times = [i.start for i in intervals] + [i.end for i in closed_ones]
        assert total <= int((max(times) - min(times)).total_seconds())
    shuffled = intervals[:]
    rnd.shuffle(shuffled)
    assert union(shuffled) == union(intervals)
    assert union(union(intervals)) == union(intervals)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(minutes, st.integers(min_value=0, max_value=120)), max_size=20))
def test_union_of_closed_intervals_covers_exactly_the_same_minutes(pairs):
    intervals = [closed(start, start + length) for start, length in pairs]
    merged = union(intervals)
    covered = {m for s, n in pairs for m in range(s, s + n)}  # minute [m, m+1) covered
    merged_minutes = set()
    for interval in merged:
        start = int((interval.start - T0).total_seconds() // 60)
        end = int((interval.end - T0).total_seconds() // 60)
        merged_minutes.update(range(start, end))
    assert merged_minutes == covered
    assert total_seconds(intervals) == 60 * len(covered)
    for first, second in zip(merged, merged[1:], strict=False):
        assert first.end < second.start
