"""The sentinel (processors/sentinel.py): a record that alerts on its own is alerted as it
arrives, the ledger does not raise it again, and police end up with the same alerts,
the same words, as from the ledger alone."""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from processors.alerts import AlertRules
from processors.people import People
from processors.ports import RawMessage
from processors.sentinel import Sentinel, SentinelProcess, SentinelThread, Watched
from processors.vault import VaultKeys
from producers.amend import Correction
from schemas import crypto
from schemas.model import AlertRaised, AlertRule, AlertWithdrawn, Event
from schemas.person_seal import key_id
from schemas.serde import EventDeserializer
from schemas.topics import topic_of
from sinks.memory import MemoryVault
from tests.factories import interception, ltsa, person, placement, tip
from tests.unit.memory_hub import NOW_MS, MemoryHub, memory_hub

INTAKE = X25519PrivateKey.generate()
PUBLIC = crypto.public_sealing(INTAKE)
CHILD = person(1, birth_date=date(2010, 6, 1))  # 15 at the factories' dates
ADULT = person(2, birth_date=date(1990, 1, 1))


def private_for(kid: str) -> X25519PrivateKey | None:
    return INTAKE if kid == key_id(PUBLIC) else None


def hub(rules: AlertRules | None = None, vault: MemoryVault | None = None) -> MemoryHub:
    vault = vault or MemoryVault(VaultKeys(kek=crypto.data_key(), lookup_key=crypto.data_key()))
    return memory_hub(rules, people=People(vault, private_for), intake=PUBLIC)


class Kafka:
    """What the sentinel publishes, as Kafka acknowledged it (or refuses, when down)."""

    def __init__(self) -> None:
        self.sent: list[Event] = []
        self.down = False

    def __call__(self, events: Sequence[Event]) -> None:
        if self.down and events:
            raise ConnectionError("Kafka did not acknowledge")
        self.sent.extend(events)


def sentinel(on: MemoryHub, kafka: Kafka, rules: AlertRules | None = None) -> Sentinel:
    return Sentinel(
        on.pipeline,
        on.store,
        kafka,
        EventDeserializer(on.registry).decode_dict,
        rules=rules or AlertRules(),
        unit="hub-test",
        max_age_s=60,
        clock_ms=lambda: NOW_MS,
    )


def arriving(on: MemoryHub, events: Sequence[Event], *, seconds_ago: float = 0.1):
    """The messages desks send for ``events`` (people sealed), received ``seconds_ago``."""
    encode = on.serializer()
    at = int(NOW_MS - seconds_ago * 1000)
    return [
        RawMessage(topic_of(e).name, 0, n, e.partition_key().encode(),
                   encode(topic_of(e).name, e), timestamp_ms=at)
        for n, e in enumerate(events, start=1)
    ]  # fmt: skip


def said(alert: AlertRaised) -> dict[str, Any]:
    """What an alert tells police (all but when the hub wrote it down)."""
    told = dataclasses.asdict(alert)
    del told["envelope"]["recorded_at"]
    return told


def records() -> list[Event]:
    return [
        interception(1, person=CHILD),
        interception(2, person=ADULT, minutes=5),
        placement(3, person=person(3, birth_date=date(2010, 2, 1)), minutes=10),
        ltsa(4, person=ADULT, minutes=15),
        tip(minutes=20),
    ]


def test_records_that_alert_on_their_own_are_alerted_on_arrival_and_once_with_the_ledgers_words():
    live, kafka, recorded = hub(), Kafka(), records()
    batch = arriving(live, recorded)
    watched = sentinel(live, kafka).watch(batch)
    assert (watched.messages, watched.too_old, watched.candidates) == (5, 0, 2)
    assert sorted(a.rule for a in watched.raised) == [
        AlertRule.MINOR_INTERCEPTED,
        AlertRule.UNDERAGE_REGISTRATION,
    ]
    assert [e.event_id for e in kafka.sent] == [a.alert_id for a in watched.raised]
    assert all(0.09 < s < 0.2 for s in watched.seconds)

    live.pipeline.process(batch)
    live.pipeline.publish_pending()
    from_ledger = live.published(AlertRaised.event_type)
    assert not {e.event_id for e in from_ledger} & {e.event_id for e in kafka.sent}
    assert {a.alert_id for a in watched.raised} <= set(live.holding())

    # The same records through the ledger alone: police hear the same alerts, word for word.
    alone = hub(vault=live.pipeline.people.vault)  # type: ignore[union-attr, arg-type]
    alone.pipeline.process(arriving(alone, recorded))
    alone.pipeline.publish_pending()
    expected = {e.event_id: said(e) for e in alone.published(AlertRaised.event_type)}  # type: ignore[arg-type]
    heard = {e.event_id: said(e) for e in [*kafka.sent, *from_ledger]}  # type: ignore[arg-type]
    assert heard == expected and len(kafka.sent) + len(from_ledger) == len(expected)


def test_a_record_sent_twice_in_one_poll_is_alerted_once():
    live, kafka, child = hub(), Kafka(), interception(1, person=CHILD)
    watched = sentinel(live, kafka).watch(arriving(live, [child, child]))
    assert (watched.candidates, len(watched.raised), len(kafka.sent)) == (2, 1, 1)


def test_a_record_the_ledger_has_stored_or_one_read_too_late_is_left_to_the_ledger():
    live, kafka, child = hub(), Kafka(), interception(1, person=CHILD)
    live.pipeline.process(arriving(live, [child]))
    again = sentinel(live, kafka).watch(arriving(live, [child]))
    assert (again.candidates, again.raised, kafka.sent) == (1, [], [])

    another_child = interception(5, person=person(5, birth_date=date(2011, 1, 1)))
    late = sentinel(live, kafka).watch(arriving(live, [another_child], seconds_ago=61))
    assert (late.too_old, late.candidates, late.raised) == (1, 0, [])


def test_an_alert_the_ledger_does_not_hold_is_withdrawn_after_it_was_raised():
    live, kafka = hub(), Kafka()
    child = interception(1, person=CHILD)
    [raised] = sentinel(live, kafka).watch(arriving(live, [child])).raised
    # The ledger reads the record together with its correction: an adult after all.
    live.send(child, Correction(dataclasses.replace(child, person=ADULT)))
    withdrawn = live.published(AlertWithdrawn.event_type)
    assert [e.alert_id for e in withdrawn] == [raised.alert_id]  # type: ignore[attr-defined]
    assert live.published(AlertRaised.event_type) == []
    assert raised.alert_id not in live.holding()


def test_an_alert_kafka_did_not_take_is_not_claimed_and_the_ledger_raises_it():
    live, kafka = hub(), Kafka()
    kafka.down = True
    batch = arriving(live, [interception(1, person=CHILD)])
    with pytest.raises(ConnectionError):
        sentinel(live, kafka).watch(batch)
    assert live.store.alerts == {}
    live.pipeline.process(batch)
    live.pipeline.publish_pending()
    [alert] = live.published(AlertRaised.event_type)
    assert alert.rule is AlertRule.MINOR_INTERCEPTED  # type: ignore[attr-defined]


def test_a_rule_turned_off_is_not_raised_by_the_sentinel_either():
    rules = AlertRules(enabled=frozenset(AlertRule) - {AlertRule.MINOR_INTERCEPTED})
    live, kafka = hub(rules), Kafka()
    watched = sentinel(live, kafka, rules).watch(arriving(live, records()))
    assert [a.rule for a in watched.raised] == [AlertRule.UNDERAGE_REGISTRATION]


class Polled:
    def __init__(self, batches: list[list[Any]]) -> None:
        self.batches = batches
        self.commits = 0
        self.closed = False

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[Any, list[Any]]:
        return {"tp": self.batches.pop(0)} if self.batches else {}

    def assignment(self) -> set[Any]:
        return {"tp"}

    def commit(self) -> None:
        self.commits += 1

    def close(self) -> None:
        self.closed = True


def test_the_thread_starts_again_after_a_fault_and_commits_what_it_watched():
    live, kafka = hub(), Kafka()
    [message] = arriving(live, [interception(1, person=CHILD)])
    consumers: list[Polled] = []
    results: list[Watched] = []
    faults: list[str] = []
    thread: SentinelThread

    def build() -> tuple[Sentinel, Polled, Any]:
        if not faults:
            raise ConnectionError("PostgreSQL is down")
        consumers.append(Polled([[Record(message.topic, 0, 1, message.key, message.value,
                                         message.timestamp_ms, [])]]))  # fmt: skip
        return sentinel(live, kafka), consumers[-1], lambda: None

    class Observer:
        def watched(self, result: Watched) -> None:
            results.append(result)
            thread.halt.set()

        def failed(self, cause: str) -> None:
            faults.append(cause)

    thread = SentinelThread(build, Observer(), poll_ms=1, retry_s=0.01)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert faults == ["ConnectionError"]
    [result] = results
    assert [a.rule for a in result.raised] == [AlertRule.MINOR_INTERCEPTED]
    assert (consumers[0].commits, consumers[0].closed) == (1, True)


def test_a_consumer_left_without_partitions_is_made_again_waiting_longer_each_time():
    """kafka-python was seen once to join the group and never finish the rebalance: the
    sentinel then makes its consumer again (a fault, counted), after twice as long each
    time in a row, and back to the first wait once it holds partitions."""
    consumers: list[Polled] = []
    faults: list[str] = []
    limits: list[float] = []  # the wait without a partition each consumer was given
    thread: SentinelThread

    class Unassigned(Polled):
        def assignment(self) -> set[Any]:
            return set()

    class Assigned(Polled):
        def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[Any, list[Any]]:
            thread.halt.set()
            return {}

    def build() -> tuple[Sentinel, Polled, Any]:
        limits.append(thread.unassigned_s)
        consumers.append(Unassigned([]) if len(consumers) < 2 else Assigned([]))
        return sentinel(hub(), Kafka()), consumers[-1], lambda: None

    class Observer:
        def watched(self, result: Watched) -> None:
            pass

        def failed(self, cause: str) -> None:
            faults.append(cause)

    thread = SentinelThread(build, Observer(), poll_ms=1, retry_s=0.001, unassigned_s=0.05)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert faults == ["unassigned", "unassigned"]
    assert limits == [0.05, 0.1, 0.2]  # each wait twice the one before
    assert all(c.closed for c in consumers) and len(consumers) == 3
    assert thread.unassigned_s == 0.05  # partitions held: the first wait again


Record = dataclasses.make_dataclass(
    "Record", ["topic", "partition", "offset", "key", "value", "timestamp", "headers"]
)


class Paced(Polled):
    """Waits as long as asked when it has nothing (a process polling in a loop)."""

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[Any, list[Any]]:
        if not self.batches:
            time.sleep(timeout_ms / 1000)
        return super().poll(timeout_ms, max_records)


def in_its_process() -> tuple[Sentinel, Polled, Any]:
    """Built in the sentinel's process (spawned, so by name): a child intercepted."""
    live = hub()
    [message] = arriving(live, [interception(1, person=CHILD)])
    record = Record(message.topic, 0, 1, message.key, message.value, message.timestamp_ms, [])
    return sentinel(live, Kafka()), Paced([[record]]), lambda: None


def test_the_sentinel_runs_in_a_process_of_its_own_reports_here_and_is_started_again_if_it_dies():
    reports: queue.Queue[Watched] = queue.Queue()
    faults: list[str] = []

    class Observer:
        def watched(self, result: Watched) -> None:
            reports.put(result)

        def failed(self, cause: str) -> None:
            faults.append(cause)

    process = SentinelProcess(in_its_process, Observer(), retry_s=0.01, poll_ms=20)
    process.start()
    try:
        first = reports.get(timeout=60)
        assert [a.rule for a in first.raised] == [AlertRule.MINOR_INTERCEPTED]
        killed = process.process
        assert killed is not None and killed.pid not in (None, os.getpid())
        assert faults == []
        os.kill(killed.pid or 0, signal.SIGKILL)
        again = reports.get(timeout=60)  # a fresh process (and hub here), which reads it again
        assert faults == ["process"]
        assert process.process is not None and process.process.pid != killed.pid
        assert [a.rule for a in again.raised] == [AlertRule.MINOR_INTERCEPTED]
    finally:
        process.stop()
    assert process.process is not None and not process.process.is_alive()
    assert process.process.exitcode == 0  # it stopped when told, not killed
