"""The worker's order across partitions (processors/timeorder.py): oldest first by Kafka
timestamp, each partition in offset order, never past a partition that may hold an older
message, for no longer than it may hold batches up."""

from __future__ import annotations

from aiokafka import TopicPartition
from hypothesis import given
from hypothesis import strategies as st

from processors.ports import RawMessage
from processors.timeorder import TimeOrder

A0, A1, B0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)


def msgs(tp: TopicPartition, *stamps: int, first: int = 0) -> list[RawMessage]:
    return [
        RawMessage(tp.topic, tp.partition, first + i, None, b"", timestamp_ms=ts)
        for i, ts in enumerate(stamps)
    ]


def where(batch: list[RawMessage]) -> list[tuple[str, int, int]]:
    return [(m.topic, m.partition, m.offset) for m in batch]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def nothing_more(tp: TopicPartition) -> float:
    return 0.0


def test_partitions_fetched_one_after_the_other_come_out_oldest_first():
    order = TimeOrder()
    order.add(msgs(A0, 10, 30, 50))  # one topic's week fetched first...
    order.add(msgs(B0, 20, 40, 60))  # ...the other's after it
    batch = order.take(10, {A0, B0}, nothing_more)
    assert [m.timestamp_ms for m in batch] == [10, 20, 30, 40, 50, 60]
    assert order.held() == 0


def test_a_batch_stops_where_a_partition_with_more_to_come_has_nothing_fetched():
    clock = Clock()
    order = TimeOrder(clock=clock)
    order.add(msgs(A0, 10, 30))
    order.add(msgs(B0, 20, 40))

    def wait(tp: TopicPartition) -> float:
        return 0.25 if tp == B0 else 0.0  # B has more on the broker than fetched

    order.add(msgs(A0, 50, first=2))
    taken = order.take(10, {A0, B0}, wait)
    # B's fetched messages are all taken and its next may be older than A's 50: wait.
    assert [m.timestamp_ms for m in taken] == [10, 20, 30, 40] and order.held() == 1
    assert order.waiting_on == {B0}
    assert order.take(10, {A0, B0}, wait) == [] and order.waiting_on == {B0}
    assert order.given_up == set()
    order.add(msgs(B0, 45, first=2))  # B's next arrives: it goes first, then B is waited on
    assert where(order.take(10, {A0, B0}, wait)) == [("b", 0, 2)]
    assert where(order.take(10, {A0, B0}, nothing_more)) == [("a", 0, 2)]  # B at its end


def test_a_partition_that_keeps_batches_waiting_too_long_is_gone_on_without():
    clock = Clock()
    order = TimeOrder(clock=clock)
    order.add(msgs(A0, 10, 20))

    def wait(tp: TopicPartition) -> float:
        return 0.25 if tp == B0 else 0.0

    assert order.take(10, {A0, B0}, wait) == []
    clock.now += 0.1
    assert order.take(10, {A0, B0}, wait) == []
    clock.now += 0.2  # 0.3 s since B was first found empty with more to come
    assert where(order.take(10, {A0, B0}, wait)) == [("a", 0, 0), ("a", 0, 1)]
    assert order.given_up == order.newly_given_up == {B0}
    assert order.take(10, {A0, B0}, wait) == [] and order.newly_given_up == set()  # said once
    order.add(msgs(B0, 30))  # B has something again: waited for again when empty
    assert order.given_up == set()


def test_a_partition_not_yet_fetched_holds_batches_up_for_its_own_wait():
    clock = Clock()
    order = TimeOrder(clock=clock)
    order.add(msgs(A0, 10))

    def wait(tp: TopicPartition) -> float:
        return 2.0 if tp == A1 else 0.0  # never fetched from: its first fetch may be slow

    assert order.take(10, {A0, A1}, wait) == []
    clock.now += 1.0
    assert order.take(10, {A0, A1}, wait) == []
    clock.now += 1.5
    assert where(order.take(10, {A0, A1}, wait)) == [("a", 0, 0)]


def test_a_consumer_gone_back_starts_the_partition_again_and_others_are_forgotten():
    order = TimeOrder()
    order.add(msgs(A0, 10, 20, 30))
    order.add(msgs(A1, 15))
    order.add(msgs(A0, 10, first=0))  # a rebalance gave A0 back from its committed offset
    order.keep_only({A0})  # and A1 went to another worker
    assert where(order.take(10, {A0}, nothing_more)) == [("a", 0, 0)]


@given(st.lists(st.tuples(st.sampled_from([A0, A1, B0]), st.integers(0, 50)), max_size=60),
       st.integers(1, 7))  # fmt: skip
def test_everything_added_comes_out_once_oldest_first(added, limit):
    """Each partition's timestamps rising (as a producer's are): every message comes out
    once, and all of them oldest first, across batches too."""
    order = TimeOrder()
    offsets = {A0: 0, A1: 0, B0: 0}
    latest = {A0: 0, A1: 0, B0: 0}
    for tp, step in added:
        latest[tp] += step
        order.add(msgs(tp, latest[tp], first=offsets[tp]))
        offsets[tp] += 1
    out: list[RawMessage] = []
    while batch := order.take(limit, {A0, A1, B0}, nothing_more):
        assert len(batch) <= limit
        out += batch
    assert sorted(where(out)) == sorted(
        (tp.topic, tp.partition, i) for tp, n in offsets.items() for i in range(n)
    )
    stamps = [m.timestamp_ms for m in out]
    assert stamps == sorted(stamps)
