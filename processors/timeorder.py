"""Taking a backlog in the order it happened, across topics and partitions.

A Kafka consumer fetches every partition it holds at once, so after an outage (or in a
bench's backlog) a topic with few messages, such as the interceptions, is read to its end
long before the busy ones: the hub would take every interception of a week first and
every police report of the same week after. Kafka Streams chooses the next record by
timestamp across its partitions instead, waiting a moment for a partition that has more
to come but nothing fetched yet (``max.task.idle.ms``); this does the same for the
worker.

:class:`TimeOrder` holds what the consumer fetched, per partition (each partition stays in
offset order), and hands it out oldest first by the record's Kafka timestamp. It stops a
batch where a partition with more to come has nothing fetched (its next record may be the
oldest), unless that partition has kept batches waiting long enough already (a partition
whose leader is away does not hold up the others for long).

Pure: no Kafka. The worker says, per partition, how long it may hold batches up.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable

from aiokafka import TopicPartition

from processors.ports import RawMessage


class TimeOrder:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.buffers: dict[TopicPartition, deque[RawMessage]] = {}
        # Per partition, the offset after the last message added: a message that does not
        # follow it means the consumer went back (a rebalance, an offset reset).
        self.following: dict[TopicPartition, int] = {}
        # Since when each partition with more to come has had nothing fetched.
        self.empty_since: dict[TopicPartition, float] = {}
        # Those no longer waited for (they held batches up too long), until they have
        # something fetched again; and those the last take gave up on (for the log).
        self.given_up: set[TopicPartition] = set()
        self.newly_given_up: set[TopicPartition] = set()
        # Those the last take waited on: what to fetch next.
        self.waiting_on: set[TopicPartition] = set()

    def add(self, messages: Iterable[RawMessage]) -> None:
        for msg in messages:
            tp = TopicPartition(msg.topic, msg.partition)
            buf = self.buffers.get(tp)
            if buf is None or self.following.get(tp) != msg.offset:
                buf = self.buffers[tp] = deque()  # the consumer went back: start again
            buf.append(msg)
            self.following[tp] = msg.offset + 1
            self.empty_since.pop(tp, None)
            self.given_up.discard(tp)

    def keep_only(self, assigned: Collection[TopicPartition]) -> None:
        """Forget the partitions no longer ours (their new owner reads them)."""
        for tp in [tp for tp in self.buffers if tp not in assigned]:
            del self.buffers[tp]
            self.following.pop(tp, None)
        for tp in [tp for tp in self.empty_since if tp not in assigned]:
            del self.empty_since[tp]
        self.given_up &= set(assigned)

    def held(self) -> int:
        return sum(len(buf) for buf in self.buffers.values())

    def holding(self, count: int) -> set[TopicPartition]:
        """The partitions of which ``count`` messages or more are held."""
        return {tp for tp, buf in self.buffers.items() if len(buf) >= count}

    def take(
        self,
        limit: int,
        assigned: Collection[TopicPartition],
        wait_s: Callable[[TopicPartition], float],
    ) -> list[RawMessage]:
        """Up to ``limit`` messages, oldest first, and none whose place is not yet sure:
        the batch stops where a partition with nothing fetched may have more to come, for
        at most ``wait_s(tp)`` seconds of the clock from when it was first found so (0:
        nothing more to come)."""
        now = self.clock()
        self.waiting_on = set()
        self.newly_given_up = set()

        def waits_for(tp: TopicPartition) -> bool:
            wait = wait_s(tp)
            if wait <= 0:
                self.empty_since.pop(tp, None)
                return False
            since = self.empty_since.setdefault(tp, now)
            if now - since < wait:
                self.waiting_on.add(tp)
                return True
            if tp not in self.given_up:
                self.given_up.add(tp)
                self.newly_given_up.add(tp)
            return False

        for tp in assigned:  # every one waited on is noted, to be fetched next
            if not self.buffers.get(tp):
                waits_for(tp)
        if self.waiting_on:
            return []
        heads = [
            (buf[0].timestamp_ms, tp.topic, tp.partition, tp)
            for tp, buf in self.buffers.items()
            if buf
        ]
        heapq.heapify(heads)
        out: list[RawMessage] = []
        while heads and len(out) < limit:
            _, topic, partition, tp = heapq.heappop(heads)
            buf = self.buffers[tp]
            out.append(buf.popleft())
            if buf:
                heapq.heappush(heads, (buf[0].timestamp_ms, topic, partition, tp))
            elif waits_for(tp):
                break  # its next message may be older than every other one here
        return out
