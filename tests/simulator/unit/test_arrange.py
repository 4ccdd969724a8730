"""zoomsim/webhooks.py `arrange`: the order one batch of webhooks goes out in, duplicates after their originals."""

from __future__ import annotations

import random

import pytest

from zoomsim.webhooks import ORDERS, Message, arrange


def batch(count: int) -> list[Message]:
    return [Message(n, f"event.{n}", 1714554000000 + n, f'{{"n":{n}}}'.encode()) for n in range(1, count + 1)]


def copy_of(message: Message, new_id: int) -> Message:
    return Message(new_id, message.event, message.event_ts, message.body, duplicate_of=message.id)


def ids(messages: list[Message]) -> list[int]:
    return [m.id for m in messages]


def test_in_order_keeps_the_order():
    messages = batch(5)
    assert ids(arrange(messages, "in_order", [], random.Random(1))) == [1, 2, 3, 4, 5]


def test_reversed_reverses():
    messages = batch(5)
    assert ids(arrange(messages, "reversed", [], random.Random(1))) == [5, 4, 3, 2, 1]


def test_shuffled_is_the_seeded_shuffle():
    messages = batch(10)
    expected = list(messages)
    random.Random(42).shuffle(expected)
    assert arrange(messages, "shuffled", [], random.Random(42)) == expected


def test_shuffled_is_a_permutation_that_varies_with_the_seed():
    messages = batch(10)
    orders = {tuple(ids(arrange(messages, "shuffled", [], random.Random(seed)))) for seed in range(20)}
    assert all(sorted(order) == list(range(1, 11)) for order in orders)
    assert len(orders) > 10


def test_arrange_does_not_change_the_batch_it_is_given():
    messages = batch(6)
    before = list(messages)
    arrange(messages, "shuffled", [copy_of(messages[0], 7)], random.Random(5))
    arrange(messages, "reversed", [], random.Random(5))
    assert messages == before


def test_empty_batch():
    for order in ORDERS:
        assert arrange([], order, [], random.Random(1)) == []


@pytest.mark.parametrize("order", ORDERS)
def test_duplicates_always_come_after_their_original(order):
    messages = batch(8)
    duplicates = [copy_of(messages[0], 9), copy_of(messages[3], 10), copy_of(messages[7], 11), copy_of(messages[3], 12)]
    for seed in range(300):
        sequence = arrange(messages, order, duplicates, random.Random(seed))
        assert sorted(ids(sequence)) == list(range(1, 13))
        position = {m.id: i for i, m in enumerate(sequence)}
        for copy in duplicates:
            assert position[copy.id] > position[copy.duplicate_of]


@pytest.mark.parametrize("order", ORDERS)
def test_originals_keep_their_relative_order_when_duplicates_are_added(order):
    messages = batch(6)
    duplicates = [copy_of(messages[2], 7), copy_of(messages[5], 8)]
    for seed in range(50):
        without = arrange(messages, order, [], random.Random(seed))
        with_copies = arrange(messages, order, duplicates, random.Random(seed))
        assert [m for m in with_copies if m.duplicate_of is None] == without


def test_duplicate_of_the_last_message_goes_last():
    messages = batch(4)
    for seed in range(50):
        sequence = arrange(messages, "in_order", [copy_of(messages[-1], 5)], random.Random(seed))
        assert ids(sequence) == [1, 2, 3, 4, 5]


def test_duplicate_of_the_first_reversed_message_goes_last():
    messages = batch(4)
    sequence = arrange(messages, "reversed", [copy_of(messages[0], 5)], random.Random(3))
    assert ids(sequence) == [4, 3, 2, 1, 5]


def test_a_duplicate_can_land_anywhere_after_its_original():
    messages = batch(3)
    places = set()
    for seed in range(200):
        sequence = arrange(messages, "in_order", [copy_of(messages[0], 4)], random.Random(seed))
        places.add(ids(sequence).index(4))
    assert places == {1, 2, 3}


def test_duplicate_carries_the_same_body_and_points_to_its_original():
    messages = batch(3)
    sequence = arrange(messages, "in_order", [copy_of(messages[1], 4)], random.Random(0))
    copy = next(m for m in sequence if m.id == 4)
    assert copy.duplicate_of == 2
    assert copy.body == messages[1].body


@pytest.mark.parametrize("order", ["random", "", "IN_ORDER", "sorted", None])
def test_unknown_order_raises(order):
    with pytest.raises(ValueError, match="order must be one of in_order, shuffled, reversed"):
        arrange(batch(2), order, [], random.Random(1))
