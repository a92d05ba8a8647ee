"""The live ledger processor: a Kafka consumer that commits an offset only after every
message before it is in the event store, the dead-letter outbox or the audit trail.

Why not a faust agent: faust-streaming acknowledges the events of a ``take_events``
batch in a ``finally`` clause, so a batch whose transaction failed was acknowledged
anyway, and faust then committed its offsets (on a PostgreSQL outage of 30 s at 40
events/s, 1,280 acknowledged events were lost that way, issue 7). Offsets are ours
now: this worker consumes with aiokafka (the client faust itself is built on) with
auto-commit off and commits exactly the batch it has stored, after the transaction.

The loop, one batch at a time:

1. take up to ``batch_max`` messages (or what arrived within ``batch_within_s``), oldest
   first by their Kafka timestamp across every topic and partition
   (:mod:`processors.timeorder`): a backlog is taken in the order it happened, not one
   topic's week before another's;
2. process them in a worker thread (:func:`~processors.isolation.process_isolating`:
   a poison message is bisected out and dead-lettered, the rest stored);
3. on a fault that passes (:class:`~schemas.faults.TransientError`: PostgreSQL, the
   registry or Kafka unreachable), report not ready, pause the partitions, wait
   (capped exponential backoff) and process the *same* batch again; never skip it;
4. commit the batch's offsets; a failed commit only means a redelivery later, which
   the store recognises (same position: a no-op);
5. relay the outbox (alerts, case changes, dead letters), in the helper process while
   the next batch is applied (see :mod:`processors.ahead`): the rows the batch wrote,
   sent from its own copy of them; the whole outbox, read back, at start, on the timer
   and after a relay that did not send them all. If Kafka does not take them, they stay
   in the outbox and are relayed on the next turn.

A crash (even kill -9) anywhere in between replays from the last committed offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from processors.ahead import Helper, Packed, unpack, yield_cpu
from processors.isolation import process_isolating
from processors.pipeline import BatchResult, Pipeline
from processors.ports import RawMessage, Written
from processors.timeorder import TimeOrder
from schemas.faults import TransientError
from sinks.prometheus import WorkerMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")
# How long a partition not yet fetched from may hold batches up (its messages may be the
# oldest): at start and after a rebalance, a partition's first fetch waits on its offsets.
FIRST_FETCH_WAIT_S = 2.0
# How many fetched messages of one partition the worker holds to put them in order.
HELD = 250
Prepared = asyncio.Future[list[Packed]]  # a batch being received by the helper process


@dataclass(frozen=True)
class WorkerConfig:
    """The worker's consumer and pace. Its batches, timer and lookahead have no defaults
    here: ``sinergi.config.Settings`` holds them, with the measurements behind them."""

    group: str  # the Kafka consumer group
    bootstrap_servers: str
    topics: Sequence[str]
    batch_max: int
    batch_within_s: float
    # How often held-back alerts whose grace period passed are raised (a timer: they
    # are raised even when no new fact arrives), and the whole outbox relayed.
    timer_s: float
    # Batches handed to the helper process ahead of the one being applied (see
    # processors.ahead).
    lookahead: int
    # aiokafka's security options (security_protocol, sasl_mechanism, ...).
    security: Mapping[str, Any] = field(default_factory=dict)
    backoff_initial_s: float = 0.5
    # At most 5 s between tries: a database, registry or broker back after an outage is
    # used again within 5 s (with 30, a 20-s outage was waited out 11 s longer than it
    # lasted); a try costs one connection attempt.
    backoff_max_s: float = 5.0


class Backoff:
    """Capped exponential backoff: initial, doubling, at most ``maximum``; reset on success."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self.next = initial

    def step(self) -> float:
        wait = self.next
        self.next = min(self.maximum, self.next * 2)
        return wait

    def reset(self) -> None:
        self.next = self.initial


@dataclass
class Health:
    """Whether the worker is doing its job, for ``/readyz`` and the ready gauge."""

    ready: bool = False
    reason: str = "starting"
    since: float = field(default_factory=time.time)

    def set(self, ready: bool, reason: str) -> None:
        if (ready, reason) != (self.ready, self.reason):
            self.ready, self.reason, self.since = ready, reason, time.time()


def to_raw(record: Any) -> RawMessage:
    return RawMessage(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        timestamp_ms=int(record.timestamp or 0),
        headers=tuple((k, bytes(v)) for k, v in (record.headers or ())),
    )


def next_offsets(batch: Sequence[RawMessage]) -> dict[TopicPartition, int]:
    """Per partition, the offset after the batch's last message (what to commit)."""
    after: dict[TopicPartition, int] = {}
    for msg in batch:
        tp = TopicPartition(msg.topic, msg.partition)
        after[tp] = max(after.get(tp, 0), msg.offset + 1)
    return after


class Consumer(Protocol):
    """What the worker uses of aiokafka's consumer (a fake in unit tests)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Any]]: ...

    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...

    def assignment(self) -> set[TopicPartition]: ...

    def pause(self, *partitions: TopicPartition) -> None: ...

    def resume(self, *partitions: TopicPartition) -> None: ...

    def paused(self) -> set[TopicPartition]: ...

    def highwater(self, partition: TopicPartition) -> int | None: ...

    async def position(self, partition: TopicPartition) -> int: ...


def kafka_consumer(cfg: WorkerConfig) -> Consumer:
    """The worker's consumer: its own offsets (auto-commit off), from the earliest."""
    consumer: Consumer = AIOKafkaConsumer(
        *cfg.topics,
        bootstrap_servers=cfg.bootstrap_servers,
        group_id=cfg.group,
        client_id=f"{cfg.group}-worker",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=cfg.batch_max,
        max_partition_fetch_bytes=256 * 1024,
        fetch_max_bytes=8 * 1024 * 1024,
        # A crashed worker's partitions move to the others after 10 s.
        session_timeout_ms=10_000,
        heartbeat_interval_ms=3_000,
        # A batch retried through a long outage must not cost the group membership too
        # early; if it does, the batch is simply redelivered (a no-op).
        max_poll_interval_ms=600_000,
        **cfg.security,
    )
    return consumer


class LedgerWorker:
    def __init__(
        self,
        cfg: WorkerConfig,
        pipeline_factory: Callable[[], Pipeline],
        metrics: WorkerMetrics,
        *,
        health: Health | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
        consumer_factory: Callable[[WorkerConfig], Consumer] | None = None,
        ahead: Helper | None = None,
    ) -> None:
        self.cfg = cfg
        self.ahead = ahead
        self.consumer_factory = consumer_factory or kafka_consumer
        self.pipeline_factory = pipeline_factory
        self.metrics = metrics
        self.health = health or Health()
        self.on_batch = on_batch
        self.backoff = Backoff(cfg.backoff_initial_s, cfg.backoff_max_s)
        self.executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="ledger", initializer=yield_cpu
        )
        self.pipeline: Pipeline | None = None
        self.relay_due = True  # a previous run may have left messages in the outbox
        self.relaying: asyncio.Future[int] | None = None  # the helper relaying the outbox
        self.timer_at = 0.0  # when the next held-back alerts are due a look (monotonic)
        self.stopping = asyncio.Event()
        # What the consumer fetched, handed out oldest first. A partition with more to
        # come but nothing fetched holds batches up for at most the time a batch may take
        # to fill (FIRST_FETCH_WAIT_S before its first fetch), on a clock that runs only
        # while the worker waits for such partitions (as Kafka Streams' max.task.idle.ms):
        # time spent applying batches is not waiting.
        self.idled = 0.0
        self.order = TimeOrder(clock=lambda: self.idled)

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        consumer = await self._start_consumer()
        if self.ahead is not None:
            self.ahead.start()
        # The next batches (up to cfg.lookahead), taken from what the consumer already
        # fetched and handed to the helper process while this one is applied (see
        # processors.ahead), oldest first. Their offsets are committed as each is applied.
        waiting: deque[tuple[list[RawMessage], Prepared | None]] = deque()
        try:
            while not self.stopping.is_set():
                if waiting:
                    batch, prepared = waiting.popleft()
                else:
                    batch = await self._take(consumer, self.cfg.batch_within_s)
                    prepared = self._prepare_ahead(batch)
                while batch and prepared is not None and len(waiting) < self.cfg.lookahead:
                    following = await self._take(consumer, 0)
                    if not following:
                        break
                    waiting.append((following, self._prepare_ahead(following)))
                written: list[Written] = []
                if batch:
                    result = await self._process_until_done(consumer, batch, prepared)
                    await self._commit(consumer, batch)
                    self._record(result, batch)
                    self._lag(consumer, batch)
                    written = result.outbox
                if time.monotonic() >= self.timer_at:
                    await self._raise_due()
                await self._relayed()
                if self.relay_due or batch:
                    # The batch's rows from its own copy, unless older rows may wait.
                    await self._relay(None if self.relay_due else written)
                if not batch and self.pipeline is not None and not self.relay_due:
                    self.health.set(True, "consuming")
        finally:
            if self.relaying is not None:
                with contextlib.suppress(Exception):
                    await self.relaying
            await consumer.stop()
            self.executor.shutdown(wait=True)
            if self.ahead is not None:
                self.ahead.close()

    async def _take(self, consumer: Consumer, within_s: float) -> list[RawMessage]:
        """The next batch, oldest first (see :mod:`processors.timeorder`), waiting up to
        ``within_s`` for it to fill: for any message when none is fetched, else for the
        partitions whose next message may be older than those fetched. A batch goes as
        soon as nothing is waited on, full or not (live traffic is not held up)."""
        deadline = time.monotonic() + within_s
        batch: list[RawMessage] = []
        while True:
            await self._fetched(consumer)
            more, waiting = await self._in_order(consumer, self.cfg.batch_max - len(batch))
            batch += more
            left = deadline - time.monotonic()
            if len(batch) >= self.cfg.batch_max or left <= 0 or self.stopping.is_set():
                return batch
            if batch and not waiting:
                return batch
            began = time.monotonic()
            polled = await consumer.getmany(
                *waiting, timeout_ms=max(1, int(left * 1000)), max_records=self.cfg.batch_max
            )
            if waiting:  # the order's clock: how long the worker has idled for them
                self.idled += time.monotonic() - began
            self.order.add(to_raw(r) for records in polled.values() for r in records)

    async def _fetched(self, consumer: Consumer) -> None:
        """Everything the consumer has fetched, into the order (aiokafka fetches nothing
        more from a broker while it holds any partition's messages for us). A partition
        of which the order holds ``HELD`` messages is paused until it holds fewer (the
        consumer then drops what it fetched of it and fetches it again when resumed):
        that bounds what is held."""
        while polled := await consumer.getmany(timeout_ms=0, max_records=self.cfg.batch_max):
            self.order.add(to_raw(r) for records in polled.values() for r in records)
        assigned = consumer.assignment()
        self.order.keep_only(assigned)
        full = self.order.holding(HELD) & assigned
        paused = consumer.paused() & assigned
        if full - paused:
            consumer.pause(*(full - paused))
        if paused - full:
            consumer.resume(*(paused - full))

    async def _in_order(
        self, consumer: Consumer, limit: int
    ) -> tuple[list[RawMessage], list[TopicPartition]]:
        """Up to ``limit`` messages in order, and the partitions the order waits on."""
        assigned = consumer.assignment()
        # Where the consumer stands in each partition it has fetched from. One not yet
        # fetched from (at start, after a rebalance) may hold the oldest message: it is
        # waited for longer, as its first fetch may wait on finding its position.
        ends: dict[TopicPartition, tuple[int, int]] = {}
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is not None:
                try:
                    ends[tp] = (await consumer.position(tp), highwater)
                except KafkaError:  # taken by a rebalance just now: not ours to wait for
                    ends[tp] = (highwater, highwater)

        def wait_s(tp: TopicPartition) -> float:
            end = ends.get(tp)
            if end is None:
                return FIRST_FETCH_WAIT_S
            return self.cfg.batch_within_s if end[0] < end[1] else 0.0

        batch = self.order.take(limit, assigned, wait_s)
        if gone := self.order.newly_given_up:
            for tp in gone:
                self.metrics.order_given_up.labels(topic=tp.topic).inc()
            log.debug(
                "went on without %d partition(s) that kept batches waiting: %s",
                len(gone),
                ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in gone)),
            )
        return batch, sorted(self.order.waiting_on)

    def _prepare_ahead(self, batch: list[RawMessage]) -> Prepared | None:
        """Hand ``batch`` to the helper process, once the pipeline is built (the first
        batch is received here, as it builds it)."""
        if self.ahead is None or self.pipeline is None or not batch:
            return None
        offered = self.ahead.offer(batch, self.pipeline.clock_ms())
        return asyncio.wrap_future(offered) if offered is not None else None

    def stop(self) -> None:
        self.stopping.set()

    async def _start_consumer(self) -> Consumer:
        while True:
            consumer = self.consumer_factory(self.cfg)
            try:
                await consumer.start()
            except KafkaError as exc:
                await consumer.stop()
                await self._wait("kafka", f"cannot reach Kafka ({type(exc).__name__})")
                continue
            self.backoff.reset()
            log.info("consuming %d topics as group %s", len(self.cfg.topics), self.cfg.group)
            return consumer

    async def _process_until_done(
        self, consumer: Consumer, batch: list[RawMessage], prepared: Prepared | None = None
    ) -> BatchResult:
        """Process the batch, however many attempts it takes; never skip it. A batch the
        helper received is applied as it is; if that fails in any way, the batch is
        processed here from its messages, as if the helper had never seen it."""
        if prepared is not None:
            applied = await self._apply_prepared(batch, prepared)
            if applied is not None:
                return applied
        paused = False
        try:
            while True:
                try:
                    pipeline = await self._in_thread(self._pipeline)
                    with self.metrics.batch_seconds.time():
                        result = await self._in_thread(process_isolating, pipeline, batch)
                except TransientError as exc:
                    if not paused:
                        consumer.pause(*consumer.assignment())
                        paused = True
                    await self._wait(exc.cause, str(exc))
                    continue
                except Exception as exc:  # a bug, or a dead letter that could not be written
                    log.exception("batch of %d failed; trying it again", len(batch))
                    await self._wait("unknown", f"batch failed ({type(exc).__name__})")
                    continue
                self.backoff.reset()
                self.health.set(True, "consuming")
                return result
        finally:
            if paused:  # those holding enough stay paused
                consumer.resume(*(consumer.assignment() - self.order.holding(HELD)))

    async def _apply_prepared(
        self, batch: list[RawMessage], prepared: Prepared
    ) -> BatchResult | None:
        assert self.ahead is not None
        try:
            received = unpack(batch, await prepared)
        except Exception as exc:  # the helper died or failed: receive the batch here
            log.warning("the helper did not receive a batch (%s): receiving it here",
                        type(exc).__name__)  # fmt: skip
            self.ahead.reset()
            return None
        pipeline = self.pipeline
        if pipeline is None:
            return None
        try:
            with self.metrics.batch_seconds.time():
                result = await self._in_thread(pipeline.apply, received)
        except Exception as exc:  # a fault that passes, or a poison message: as before
            log.info("prepared batch not applied (%s): processing it here", type(exc).__name__)
            return None
        self.backoff.reset()
        self.health.set(True, "consuming")
        return result

    def _pipeline(self) -> Pipeline:
        """The pipeline, built on first use (building it may fail while a service is down:
        that is retried like any fault that passes)."""
        if self.pipeline is None:
            try:
                self.pipeline = self.pipeline_factory()
            except Exception as exc:
                raise _StartupError(f"cannot build the pipeline ({type(exc).__name__})") from exc
        return self.pipeline

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, fn, *args)

    async def _wait(self, cause: str, reason: str) -> None:
        """Not ready: count it, say why (no data in the reason), back off."""
        delay = self.backoff.step()
        self.health.set(False, f"{cause}: {reason}")
        self.metrics.retries.labels(cause=cause).inc()
        self.metrics.backoff_seconds.set(delay)
        log.warning("not ready (%s: %s): trying again in %.1f s", cause, reason, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=delay)
        self.metrics.backoff_seconds.set(0)
        if self.stopping.is_set():
            raise asyncio.CancelledError("stopping")

    async def _commit(self, consumer: Consumer, batch: Sequence[RawMessage]) -> None:
        """Commit the offsets after the batch, for the partitions still ours. A failure is
        harmless: whoever reads them next finds them stored (a redelivery, a no-op)."""
        assigned = consumer.assignment()
        offsets = {tp: o for tp, o in next_offsets(batch).items() if tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            self.metrics.commit_failures.inc()
            log.warning("offsets not committed (%s): the batch will be redelivered, a no-op",
                        type(exc).__name__)  # fmt: skip

    async def _raise_due(self) -> None:
        """Raise the alerts whose grace period has passed (into the outbox). Each timer
        turn also relays the outbox: an administrator's command may have left a message
        there (an erasure's PersonErased, when Kafka could not take it at once), which an
        idle hub would otherwise keep until the next message arrives."""
        if self.pipeline is None:
            return
        try:
            due = await self._in_thread(self.pipeline.raise_due)
        except TransientError as exc:
            await self._wait(exc.cause, f"held-back alerts not raised: {exc}")
            return
        self.timer_at = time.monotonic() + self.cfg.timer_s
        self.relay_due = True
        if due:
            log.info("raised %d alert(s) whose grace period passed", len(due))

    async def _relay(self, written: list[Written] | None = None) -> None:
        """Relay the rows a batch wrote, from its copy of them, or with None the whole
        outbox (:meth:`Pipeline.relay`): in the helper process when there is one (the
        worker goes on with the next batch meanwhile, and :meth:`_relayed` collects the
        outcome next turn), else here. Rows left waiting (behind an older row of their
        case) make the next relay a whole one. At start, this builds the pipeline (an
        idle hub is ready once it can, not at its first message)."""
        left = 0
        try:
            pipeline = await self._in_thread(self._pipeline)
            if self.ahead is not None and self.ahead.ready:
                try:
                    self.relaying = asyncio.wrap_future(self.ahead.relay(written))
                except Exception as exc:  # no helper to be had: relay here
                    log.warning("helper process unavailable (%s): relaying here",
                                type(exc).__name__)  # fmt: skip
                    self.ahead.reset()
            if self.relaying is None:
                left = await self._in_thread(pipeline.relay, written)
        except TransientError as exc:
            self.relay_due = True
            await self._wait(exc.cause, f"outbox not relayed: {exc}")
            return
        self.relay_due = left > 0

    async def _relayed(self) -> None:
        """The outcome of the relay the helper ran: if Kafka did not take it, the outbox
        keeps it (not ready, back off, relay again); if the helper died, relay again."""
        if self.relaying is None:
            return
        relaying, self.relaying = self.relaying, None
        try:
            if await relaying:  # rows left waiting: the next relay is a whole one
                self.relay_due = True
        except TransientError as exc:
            self.relay_due = True
            await self._wait(exc.cause, f"outbox not relayed: {exc}")
        except Exception as exc:  # the helper died (or its relay broke): relay here
            log.warning("the helper did not relay (%s): relaying here", type(exc).__name__)
            if self.ahead is not None:
                self.ahead.reset()
            try:
                await self._in_thread(self._pipeline().publish_pending)
            except TransientError as fault:
                self.relay_due = True
                await self._wait(fault.cause, f"outbox not relayed: {fault}")

    # --- metrics ---------------------------------------------------------------------------

    def _record(self, result: BatchResult, batch: Sequence[RawMessage]) -> None:
        for (topic, outcome), count in result.outcomes.items():
            self.metrics.messages.labels(topic=topic, outcome=outcome).inc(count)
        for rule, count in result.refusals.items():
            self.metrics.dead_letters.labels(rule=rule).inc(count)
        now = time.time()
        for topic in {m.topic for m in batch}:
            self.metrics.last_processed.labels(topic=topic).set(now)
        if self.on_batch is not None:
            self.on_batch(result)
        log.info(
            "batch: %d received, %d stored, %d redelivered, %d already recorded,"
            " %d dead-lettered in %.3fs",
            result.received,
            result.stored,
            result.redelivered,
            result.already_recorded,
            result.dead_lettered,
            result.seconds,
        )

    def _lag(self, consumer: Consumer, batch: Sequence[RawMessage]) -> None:
        per_topic: dict[str, int] = {}
        assigned = consumer.assignment()  # a rebalance during the batch may have taken some
        for tp, after in next_offsets(batch).items():
            if tp not in assigned:
                continue
            highwater = consumer.highwater(tp)
            if highwater is not None:
                per_topic[tp.topic] = per_topic.get(tp.topic, 0) + max(0, highwater - after)
        for topic, lag in per_topic.items():
            self.metrics.lag.labels(topic=topic).set(lag)


class _StartupError(TransientError):
    cause = "startup"
