"""The worker's commit order, through the real wiring with fakes for Kafka's consumer and
the store: an offset is committed only after its batch is stored or dead-lettered; a
fault that passes is retried (never skipped, never dead-lettered); a poison message is
bisected out; a failed commit or relay loses nothing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from processors.ahead import Helper, pack
from processors.isolation import process_isolating
from processors.pipeline import Outputs, Pipeline
from processors.ports import OutboxMessage, RawMessage
from processors.worker import Health, LedgerWorker, WorkerConfig
from schemas.faults import DataRefusedError, TransientError
from schemas.serde import EventDeserializer, EventSerializer
from sinks.memory import MemoryLedgerStore, MemoryRelay
from sinks.prometheus import WorkerMetrics
from tests.factories import interception
from tests.unit.fakes import MemoryRegistry

TOPIC = "t.posts.interception-recorded"


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int = 0
    headers: tuple = ()


class FakeConsumer:
    """Hands out the records in batches of ``batch``; records commits."""

    batch = 4

    def __init__(self, records, fail_commits=0):
        self.records = list(records)
        self.at = 0  # how many records were handed out
        self.commits: list[dict[TopicPartition, int]] = []
        self.fail_commits = fail_commits
        self.paused_tps: set[TopicPartition] = set()
        self.worker: LedgerWorker | None = None

    async def start(self):
        pass

    async def stop(self):
        pass

    async def getmany(self, *partitions, timeout_ms=0, max_records=None):
        if self.at >= len(self.records):
            if timeout_ms == 0:  # a look at what has arrived (a batch taken ahead)
                return {}
            assert self.worker is not None
            self.worker.stop()  # nothing more: end the test's run
            await asyncio.sleep(0)
            return {}
        chunk = self.records[self.at : self.at + self.batch]
        self.at += len(chunk)
        out: dict[TopicPartition, list[Record]] = {}
        for r in chunk:
            out.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
        return out

    async def commit(self, offsets):
        if self.fail_commits:
            self.fail_commits -= 1
            raise CommitFailedError("rebalanced")
        self.commits.append(dict(offsets))

    assigned = frozenset({TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)})

    def assignment(self):
        return set(self.assigned)

    def pause(self, *partitions):
        self.paused_tps |= set(partitions)

    def resume(self, *partitions):
        self.paused_tps -= set(partitions)

    def paused(self):
        return set(self.paused_tps)

    def _of(self, partition, records):
        return [r for r in records if TopicPartition(r.topic, r.partition) == partition]

    def highwater(self, partition):
        assert partition in self.assigned, "Partition is not assigned"  # as aiokafka does
        return len(self._of(partition, self.records))

    async def position(self, partition):
        return len(self._of(partition, self.records[: self.at]))


class Outage(TransientError):
    cause = "postgres"


class FlakyStore(MemoryLedgerStore):
    """Fails the first ``outages`` transactions like an unreachable database, and refuses
    (like PostgreSQL refusing a NUL character) any batch holding ``poison``."""

    def __init__(self, outages=0, poison=None):
        super().__init__()
        self.outages = outages
        self.poison = poison
        self.attempts = 0

    @contextmanager
    def unit_of_work(self):
        self.attempts += 1
        if self.outages:
            self.outages -= 1
            raise Outage("PostgreSQL: OperationalError")
        with super().unit_of_work() as uow:
            original = uow.add_events

            def add_events(events):
                if any(s.event.event_id == self.poison for s in events):
                    raise DataRefusedError("refused by the event store: UntranslatableCharacter")
                return original(events)

            uow.add_events = add_events
            yield uow


class ThreadAhead(Helper):
    """:class:`processors.ahead.Helper` receiving in a thread of this process with a
    pipeline of its own (the real helper is a spawned process: the integration tests run
    it); ``fail`` submissions fail as a helper that died. Its own ``offer`` is used."""

    def __init__(self, pipeline_factory, fail=0, fail_relays=0):
        self.pipeline = pipeline_factory()
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.fail, self.fail_relays = fail, fail_relays
        self.submitted = self.resets = self.relays = 0

    ready = True

    def start(self):
        pass

    def submit(self, batch, now_ms):
        self.submitted += 1
        if self.fail:
            self.fail -= 1
            failed: Future = Future()
            failed.set_exception(BrokenProcessPool("the helper died"))
            return failed
        return self.pool.submit(lambda: pack(self.pipeline.prepare(batch, now_ms=now_ms)))

    def relay(self, written=None):
        """Relays at once (the memory store is not for two threads): the worker collects
        the outcome next turn, as from the real helper."""
        self.relays += 1
        done: Future = Future()
        if self.fail_relays:
            self.fail_relays -= 1
            done.set_exception(BrokenProcessPool("the helper died"))
            return done
        try:
            done.set_result(self.pipeline.relay(written))
        except TransientError as exc:
            done.set_exception(exc)
        return done

    def reset(self):
        self.resets += 1

    def close(self):
        self.pool.shutdown()


class Harness:
    def __init__(
        self,
        store,
        n=10,
        *,
        fail_commits=0,
        relay=None,
        ahead=False,
        fail_ahead=0,
        fail_relays=0,
        lookahead=2,
    ):
        self.registry = MemoryRegistry()
        self.store = store
        encode = EventSerializer(self.registry, register=True)
        self.events = [interception(i) for i in range(n)]
        now_ms = int(time.time() * 1000)
        records = [
            Record(TOPIC, i % 2, i // 2, None, encode(TOPIC, e), timestamp=now_ms + i)
            for i, e in enumerate(self.events)
        ]
        self.consumer = FakeConsumer(records, fail_commits=fail_commits)
        self.relay = relay or MemoryRelay(store)
        self.metrics = WorkerMetrics()
        self.health = Health()

        def encode_out(event):
            return OutboxMessage("out", b"", encode("out", event))

        def pipeline_factory():
            return Pipeline(
                EventDeserializer(self.registry),
                store,
                outputs=Outputs(encode_out, self.relay, "hub-test"),
            )

        self.worker = LedgerWorker(
            WorkerConfig(
                "g",
                "unused:0",
                [TOPIC],
                batch_max=FakeConsumer.batch,
                batch_within_s=0.25,
                timer_s=30.0,
                lookahead=lookahead,
                backoff_initial_s=0.001,
                backoff_max_s=0.004,
            ),
            pipeline_factory,
            self.metrics,
            health=self.health,
            consumer_factory=lambda cfg: self.consumer,
            ahead=ThreadAhead(pipeline_factory, fail_ahead, fail_relays) if ahead else None,
        )
        self.consumer.worker = self.worker

    def run(self):
        async def main():
            with suppress(asyncio.CancelledError):
                await self.worker.run()

        asyncio.run(main())

    def sample(self, name, **labels):
        return self.metrics.registry.get_sample_value(name, labels) or 0


def kinds(h):
    decode = EventDeserializer(h.registry)
    return Counter(decode(m.value).event.event_type for m in h.relay.published)


def audited_positions(store):
    return sorted((e.partition, e.offset) for e, _, _ in store.audit)


def assert_all_stored_once(h, n=10):
    """published = stored = audited: each of the ``n`` messages (alternating partitions)
    stored, and audited once as stored."""
    assert len(h.store.events) == n
    assert audited_positions(h.store) == sorted((i % 2, i // 2) for i in range(n))
    assert {e.outcome for e, _, _ in h.store.audit} == {"stored"}


def test_a_database_outage_is_retried_until_the_batch_is_stored_and_only_then_committed():
    h = Harness(FlakyStore(outages=3))
    h.run()
    assert_all_stored_once(h)  # nothing lost, nothing dead-lettered, audited once
    assert h.sample("sinergi_processor_retries_total", cause="postgres") == 3
    # Committed exactly once per batch, after it was stored: the last offsets + 1.
    committed: dict[TopicPartition, int] = {}
    for c in h.consumer.commits:
        committed.update(c)
    assert committed == {TopicPartition(TOPIC, 0): 5, TopicPartition(TOPIC, 1): 5}
    assert h.consumer.paused() == set()  # resumed after the outage
    assert h.health.ready


def test_an_idle_worker_is_ready_without_waiting_for_a_first_message():
    h = Harness(FlakyStore(), n=0)
    h.run()
    assert h.health.ready and h.health.reason == "consuming"


def test_a_partition_taken_by_a_rebalance_during_a_batch_does_not_stop_the_worker():
    h = Harness(FlakyStore())
    open_unit = h.store.unit_of_work

    def rebalanced():  # partition 1 goes elsewhere while the batch is being stored
        h.consumer.assigned = frozenset({TopicPartition(TOPIC, 0)})
        return open_unit()

    h.store.unit_of_work = rebalanced
    h.run()
    # The batch taken before the rebalance is stored whole, with both partitions; after
    # it, only partition 0 is taken and committed (partition 1's new owner reads on).
    first = [(i % 2, i // 2) for i in range(FakeConsumer.batch)]
    audited = audited_positions(h.store)
    assert len(audited) == len(set(audited))  # none audited twice
    assert set(first) | {(0, i) for i in range(5)} == set(audited)
    assert all(set(c) == {TopicPartition(TOPIC, 0)} for c in h.consumer.commits)


def test_no_offset_is_committed_while_the_batch_cannot_be_stored():
    h = Harness(FlakyStore(outages=10**6))

    async def main():
        task = asyncio.create_task(h.worker.run())
        await asyncio.sleep(0.2)
        assert not h.health.ready and h.health.reason.startswith("postgres")
        h.worker.stop()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert h.consumer.commits == []  # a restart reads the same batch again
    assert h.store.events == {} and h.store.audit == []


def test_a_poison_message_is_isolated_and_every_other_message_of_the_batch_is_stored():
    store = FlakyStore()
    h = Harness(store)
    store.poison = h.events[6].event_id
    h.run()
    assert len(store.events) == 9 and h.events[6].event_id not in store.events
    outcomes = {(e.partition, e.offset): (e.outcome, e.reason) for e, _, _ in store.audit}
    assert outcomes[(0, 3)] == (
        "dead_lettered",
        "refused by the event store: UntranslatableCharacter",
    )
    assert len(outcomes) == 10  # published = stored + dead-lettered = audited
    assert h.sample("sinergi_processor_dead_letters_total", rule="store") == 1
    [letter] = [m for m in h.relay.published if b"UntranslatableCharacter" in m.value]
    assert letter.topic == "out"


def test_a_failed_offset_commit_loses_nothing_and_the_worker_goes_on():
    h = Harness(FlakyStore(), fail_commits=1)
    h.run()
    assert_all_stored_once(h)
    assert h.sample("sinergi_processor_commit_failures_total") == 1
    # The batch whose commit failed is stored; only a redelivery (a no-op) could follow.


class LeaderAway(FakeConsumer):
    """Partition 1 has messages (its high-water mark says so) that no fetch brings until
    ``away_s`` after partition 0 ran out, as while its leader is away."""

    away_s = 0.3

    def __init__(self, records):
        super().__init__([r for r in records if r.partition == 0])
        self.away = [r for r in records if r.partition == 1]
        self.ran_out: float | None = None
        self.back = False

    def highwater(self, partition):
        if partition.partition == 1:
            return len(self.away)
        return super().highwater(partition)

    async def position(self, partition):
        if partition.partition == 1:
            return len(self.away) if self.back else 0
        return await super().position(partition)

    async def getmany(self, *partitions, timeout_ms=0, max_records=None):
        if self.at < len(self.records) or self.back or timeout_ms == 0:
            return await super().getmany(*partitions, timeout_ms=timeout_ms)
        self.ran_out = self.ran_out or time.monotonic()
        if time.monotonic() - self.ran_out < self.away_s:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        self.back = True
        return {TopicPartition(TOPIC, 1): self.away}


def test_a_partition_that_holds_batches_up_too_long_is_gone_without_and_counted():
    h = Harness(FlakyStore())
    h.consumer = LeaderAway(h.consumer.records)
    h.consumer.worker = h.worker
    h.run()
    # Partition 0's messages were stored without waiting for partition 1 any longer than
    # the batch window; partition 1's when they came. Nothing lost, each counted once.
    assert len(h.store.events) == 10
    assert [e.partition for e, _, _ in h.store.audit] == [0] * 5 + [1] * 5
    assert h.sample("sinergi_processor_order_given_up_total", topic=TOPIC) == 1


class FlakyRelay(MemoryRelay):
    """Kafka does not take the first two relays (of the whole outbox, or of a batch's
    rows from its copy), or those after ``calm`` relays went through."""

    def __init__(self, store, calm=0):
        super().__init__(store)
        self.failures, self.calm = 2, calm
        self.calls: list[str] = []

    def _flake(self, how):
        self.calls.append(how)
        if self.calm:
            self.calm -= 1
        elif self.failures:
            self.failures -= 1
            raise Outage("Kafka: KafkaTimeoutError")

    def publish_pending(self):
        self._flake("whole")
        return super().publish_pending()

    def publish(self, written):
        self._flake("copy")
        return super().publish(written)


@pytest.mark.parametrize("helper", [False, True], ids=["relayed here", "relayed by the helper"])
def test_a_relay_that_cannot_reach_kafka_keeps_the_outbox_and_tries_again(helper):
    calm = Harness(FlakyStore())
    calm.run()
    store = FlakyStore()
    # With a helper: it also dies once while relaying; the worker then relays itself.
    h = Harness(store, relay=FlakyRelay(store), ahead=helper, fail_relays=1 if helper else 0)
    h.run()
    assert_all_stored_once(h)
    assert store.outbox == []
    # Case changes and alerts: as many of each kind as without failures, none lost.
    assert kinds(h) == kinds(calm) and sum(kinds(h).values()) == len(h.relay.published)
    assert h.sample("sinergi_processor_retries_total", cause="postgres") == 2
    if helper:
        assert h.worker.ahead.relays >= 3 and h.worker.ahead.resets == 1


@pytest.mark.parametrize("helper", [False, True], ids=["relayed here", "relayed by the helper"])
def test_batches_are_relayed_from_their_copy_and_the_whole_outbox_after_a_failure(helper):
    """After the first relay (the whole outbox: a previous run may have left rows), each
    batch's rows are sent from the batch's copy; when Kafka does not take them, they
    stay, and the next relays read the whole outbox until one goes through."""
    calm = Harness(FlakyStore(), n=24)
    calm.run()
    store = FlakyStore()
    relay = FlakyRelay(store, calm=2)
    h = Harness(store, n=24, relay=relay, ahead=helper)
    h.run()
    assert_all_stored_once(h, n=24)
    assert store.outbox == []
    assert kinds(h) == kinds(calm) and sum(kinds(h).values()) == len(relay.published)
    assert len(set(relay.published)) == len(relay.published)  # nothing sent twice
    assert relay.calls[:2] == ["whole", "copy"]
    failed = relay.calls[2]
    assert failed == "copy" and relay.calls[3:5] == ["whole", "whole"], relay.calls
    assert relay.calls[5:] and set(relay.calls[5:]) == {"copy"}, relay.calls  # copies again


def test_bisection_finds_the_poison_with_few_transactions():
    store = FlakyStore()
    registry = MemoryRegistry()
    encode = EventSerializer(registry, register=True)
    events = [interception(i) for i in range(64)]
    batch = [RawMessage(TOPIC, 0, i, None, encode(TOPIC, e)) for i, e in enumerate(events)]
    store.poison = events[41].event_id
    result = process_isolating(Pipeline(EventDeserializer(registry), store), batch)
    assert (result.stored, result.dead_lettered, result.received) == (63, 1, 64)
    assert store.attempts <= 2 * 6 + 2  # about 2·log2(64) transactions, not 64


def _stored_as(h):
    assert sorted(h.store.events) == sorted(e.event_id for e in h.events)
    return audited_positions(h.store), h.consumer.commits[-1], kinds(h)


def test_batches_received_ahead_by_a_helper_are_stored_exactly_as_without_one():
    alone = Harness(FlakyStore())
    alone.run()
    h = Harness(FlakyStore(), ahead=True)
    h.run()
    assert h.worker.ahead.submitted >= 2  # every batch after the first was received ahead
    assert _stored_as(h) == _stored_as(alone)


class Watched(FlakyStore):
    """Notes how many messages the worker had taken into batches when each batch's
    transaction began (read from the consumer, less those it holds to order them)."""

    consumer: FakeConsumer | None = None

    def __init__(self):
        super().__init__()
        self.read_at: list[int] = []

    @contextmanager
    def unit_of_work(self):
        assert self.consumer is not None
        assert self.consumer.worker is not None
        self.read_at.append(self.consumer.at - self.consumer.worker.order.held())
        with super().unit_of_work() as uow:
            yield uow


@pytest.mark.parametrize("lookahead", [1, 2, 3])
def test_the_helper_is_given_lookahead_batches_ahead_and_the_ledger_is_the_same(lookahead):
    """Batches of 4: the first is received here (the helper's pipeline is built with
    it); while the second is applied, ``lookahead`` more were taken and handed over."""
    alone = Harness(FlakyStore(), n=24)
    alone.run()
    store = Watched()
    h = Harness(store, n=24, ahead=True, lookahead=lookahead)
    store.consumer = h.consumer
    h.run()
    # The first batch's transaction, its relay's, then the second batch's.
    assert store.read_at[0] == 4
    assert next(at for at in store.read_at if at > 4) == 4 * (2 + lookahead)
    assert h.worker.ahead.submitted == 5  # every batch after the first
    assert _stored_as(h) == _stored_as(alone)


def test_a_helper_that_dies_costs_nothing_but_time():
    h = Harness(FlakyStore(), ahead=True, fail_ahead=2)
    h.run()
    assert h.worker.ahead.resets == 2  # a fresh helper after each failure
    assert len(h.store.events) == 10
    assert [e.outcome for e, _, _ in h.store.audit].count("stored") == 10


def test_with_a_helper_an_outage_and_a_poison_message_lose_nothing():
    store = FlakyStore(outages=3)
    h = Harness(store, ahead=True)
    store.poison = h.events[6].event_id
    h.run()
    assert len(store.events) == 9 and h.events[6].event_id not in store.events
    outcomes = {(e.partition, e.offset): e.outcome for e, _, _ in store.audit}
    assert len(outcomes) == 10 and outcomes[(0, 3)] == "dead_lettered"
    assert h.sample("sinergi_processor_retries_total", cause="postgres") == 3
    assert h.consumer.commits[-1] == {TopicPartition(TOPIC, 0): 5, TopicPartition(TOPIC, 1): 5}
