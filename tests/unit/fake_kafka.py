"""A broker in memory, standing in for Kafka (unit tests only; integration tests use the
real one). It can be down (no producer can be made), or take only so many messages
before the connection drops (the rest time out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from kafka.errors import KafkaTimeoutError


class Metadata(NamedTuple):
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    partition: int
    offset: int


class FakeFuture:
    def __init__(self, meta: Metadata | None) -> None:
        self.meta = meta

    def get(self, timeout: float | None = None) -> Metadata:
        if self.meta is None:
            raise KafkaTimeoutError("Batch for posts.x-0 containing 1 record(s) expired")
        return self.meta


@dataclass
class FakeBroker:
    up: bool = True
    # Messages the broker still takes before the connection drops (None: no limit).
    takes: int | None = None
    partitions: int = 3
    records: list[Record] = field(default_factory=list)
    connections: int = 0

    def connect(self) -> FakeProducer:
        if not self.up:
            # What kafka-python 3 raises when no broker answers (2.x: NoBrokersAvailable).
            raise KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:19092")
        self.connections += 1
        return FakeProducer(self)

    def take(
        self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> FakeFuture:
        if not self.up or (self.takes is not None and self.takes <= 0):
            return FakeFuture(None)
        if self.takes is not None:
            self.takes -= 1
        partition = sum(key) % self.partitions
        offset = sum(1 for r in self.records if (r.topic, r.partition) == (topic, partition))
        self.records.append(Record(topic, key, value, tuple(headers), partition, offset))
        return FakeFuture(Metadata(topic, partition, offset))


class FakeProducer:
    def __init__(self, broker: FakeBroker) -> None:
        self.broker = broker
        self.closed = False

    def send(
        self, topic: str, *, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
    ) -> FakeFuture:
        assert not self.closed
        return self.broker.take(topic, key, value, headers)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        self.closed = True
