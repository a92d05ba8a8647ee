"""The sentinel: police hear of a record that alerts on its own when it arrives, not when
the ledger reaches it.

The ledger processor takes every agency's messages in order, a batch at a time; under
load its queue is what an alert waits for (2,000 events/s of background on this
machine's two cores put the 99th percentile of the alert latency at 11.8 s, the idle
hub at 62 ms). Some rules need nothing but the record itself
(:func:`processors.alerts.record_alerts`: a child intercepted, a registration below the
legal age for migrant work). The processor's sentinel reads the topics that carry such
records in a consumer group of its own, from their end, and for each record that raises
one of those alerts:

1. receives it exactly as the ledger will (:meth:`Pipeline.prepare`: decode, signature,
   signer, contract, its person through the vault, so the same subject and case id);
2. claims the alert in the ledger's alerts (:meth:`UnitOfWork.claim_alerts`), unless the
   ledger knows it already or has stored its cause (the ledger decided it);
3. publishes the ledger's own :class:`~schemas.model.AlertRaised` (same event id) and
   commits the claim only once Kafka has acknowledged it.

When the ledger reaches the record the alert is known: it is not raised again; should
the ledger not hold it (a retraction the sentinel never saw), it is withdrawn like any
alert that stopped holding, after the raise on the alerts topic (the claim commits only
after Kafka took the raise). The ledger stays the truth; the sentinel only tells police
sooner. It is a speed-up, never a second way of deciding: a record it skips (older than
``max_age_s``: it fell behind; a fault) is raised by the ledger as before, and a crash
between Kafka's acknowledgement and the claim's commit makes the ledger raise it again
under the same event id (as a relay sent twice does).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from processors.ahead import die_with_parent
from processors.alerts import RECORD_ALERTING, Alert, AlertRules, record_alerts
from processors.intake import Outcome
from processors.ledger import Kind, Ref, fact_of
from processors.outgoing import alert_event
from processors.person_rules import below_migrant_work_age, is_minor
from processors.pipeline import Pipeline
from processors.ports import LedgerStore, RawMessage
from processors.worker import to_raw
from schemas.model import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Watched:
    """What the sentinel did with a batch of messages."""

    messages: int
    too_old: int  # left to the ledger: the sentinel was behind
    candidates: int  # records whose age on the fact's day may alert
    raised: list[Alert]
    # For each alert raised: seconds from the hub's receipt (the broker's time) to
    # Kafka's acknowledgement of the raise.
    seconds: list[float]


class Sentinel:
    def __init__(
        self,
        pipeline: Pipeline,
        store: LedgerStore,
        send: Callable[[Sequence[Event]], None],
        peek: Callable[[bytes | None], tuple[int, type[Event], dict[str, Any]]],
        *,
        rules: AlertRules,
        unit: str,
        max_age_s: float = 60.0,
        clock_ms: Callable[[], float] = lambda: time.time() * 1000,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.send = send  # publishes and returns once Kafka acknowledged, or raises
        self.peek = peek  # the Avro record, without making an event of it
        self.rules = rules
        self.unit = unit
        self.max_age_ms = max_age_s * 1000
        self.clock_ms = clock_ms

    def watch(self, batch: Sequence[RawMessage]) -> Watched:
        now_ms = self.clock_ms()
        fresh = [m for m in batch if now_ms - m.timestamp_ms <= self.max_age_ms]
        candidates = [m for m in fresh if self._may_alert(m)]
        raised: list[Alert] = []
        seconds: list[float] = []
        if candidates:
            claims: dict[str, tuple[str, Alert]] = {}  # by id: a message sent twice
            received_ms: dict[str, float] = {}
            for item in self.pipeline.prepare(candidates, now_ms=now_ms):
                stored = item.stored
                if item.outcome is not Outcome.STORED or stored is None or not stored.case_id:
                    continue  # refused, or names no case: the ledger's to handle
                fact = fact_of(stored.event, stored.received_at)
                for alert in record_alerts(fact, stored.case_id, self.rules):
                    claims.setdefault(alert.alert_id, (str(Ref(Kind.CASE, stored.case_id)), alert))
                    received_ms.setdefault(alert.alert_id, item.msg.timestamp_ms)
            if claims:
                now = datetime.fromtimestamp(now_ms / 1000, UTC)
                with self.store.unit_of_work() as uow:
                    raised = uow.claim_alerts(list(claims.values()))
                    self.send([alert_event(a, self.unit, now) for a in raised])
                done_ms = self.clock_ms()
                seconds = [(done_ms - received_ms[a.alert_id]) / 1000 for a in raised]
        return Watched(len(batch), len(batch) - len(fresh), len(candidates), raised, seconds)

    def _may_alert(self, msg: RawMessage) -> bool:
        """Whether the record may raise one of :func:`record_alerts`'s alerts: the age on
        the fact's day that it carries in clear (everything else about the person travels
        sealed) is a child's or below the age for migrant work. Anything that does not
        decode is the ledger's to refuse."""
        try:
            _, kind, record = self.peek(msg.value)
        except Exception:  # the ledger dead-letters it, with the reason
            return False
        if kind.event_type not in RECORD_ALERTING:
            return False
        age = (record.get("person") or {}).get("age_at_fact")
        return is_minor(age, self.rules.person) or below_migrant_work_age(age, self.rules.person)


class Consumer(Protocol):
    """What the sentinel uses of kafka-python's consumer."""

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[Any, list[Any]]: ...

    def assignment(self) -> set[Any]: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...


class Observer(Protocol):
    def watched(self, result: Watched) -> None: ...

    def failed(self, cause: str) -> None: ...


# What the sentinel is made of: itself, its consumer, and how to let go of the rest.
Build = Callable[[], tuple[Sentinel, Consumer, Callable[[], None]]]


class UnassignedError(RuntimeError):
    """The sentinel's consumer has held no partition for too long."""

    cause = "unassigned"


class SentinelThread(threading.Thread):
    """Runs a sentinel (in the processor, inside :class:`SentinelProcess`): poll, watch,
    commit; on a fault, log its kind (never a message's content), wait and start again
    from the last commit (records that aged past ``max_age_s`` meanwhile are the
    ledger's).

    A consumer that holds no partition for ``unassigned_s`` is a fault too: kafka-python
    (3.0.12) was seen, once in a bench run, to join its group at start and never finish
    the rebalance, polling an empty assignment for good while the ledger raised every
    alert late. It is then made again, which joins the group anew. Each time in a row
    the wait doubles (up to an hour): with more sentinels than partitions some hold none
    by right, and they should not keep the group rebalancing."""

    def __init__(
        self,
        build: Build,
        observer: Observer,
        *,
        poll_ms: int = 100,
        max_records: int = 500,
        retry_s: float = 2.0,
        unassigned_s: float = 30.0,
    ) -> None:
        super().__init__(name="sentinel", daemon=True)
        self.build = build
        self.observer = observer
        self.poll_ms = poll_ms
        self.max_records = max_records
        self.retry_s = retry_s
        self.first_unassigned_s = self.unassigned_s = unassigned_s
        self.halt = threading.Event()

    def stop(self, timeout: float = 10.0) -> None:
        self.halt.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self._run()
            except Exception as exc:  # the ledger raises what it missed
                cause = getattr(exc, "cause", None) or type(exc).__name__
                log.warning("sentinel: %s; starting again in %.0f s", cause, self.retry_s)
                self.observer.failed(str(cause))
                self.halt.wait(self.retry_s)

    def _run(self) -> None:
        sentinel, consumer, close = self.build()
        unassigned_since: float | None = time.monotonic()
        try:
            while not self.halt.is_set():
                polled = consumer.poll(timeout_ms=self.poll_ms, max_records=self.max_records)
                if consumer.assignment():
                    unassigned_since, self.unassigned_s = None, self.first_unassigned_s
                elif unassigned_since is None:
                    unassigned_since = time.monotonic()
                elif time.monotonic() - unassigned_since > self.unassigned_s:
                    waited, self.unassigned_s = self.unassigned_s, min(self.unassigned_s * 2, 3600)
                    raise UnassignedError(f"no partition for {waited:.0f} s")
                batch = [to_raw(r) for records in polled.values() for r in records]
                if not batch:
                    continue
                self.observer.watched(sentinel.watch(batch))
                consumer.commit()
        finally:
            consumer.close()
            close()


class SentinelProcess:
    """The sentinel in a process of its own beside the worker (spawned, like the helper:
    :mod:`processors.ahead`), running a :class:`SentinelThread` there; what it watched and
    its faults come back over a pipe to ``observer`` in the worker (its metrics).

    A thread in the worker's process waits for the interpreter lock whenever the batch
    being applied holds it, and that thread runs at a lower priority (``NICENESS``):
    when the cores are busy the kernel may leave it off the CPU for tens of
    milliseconds while it holds the lock, and police wait meanwhile (the alert latency's
    tail, timed in the README). A process of its own shares no lock with the batches.
    If it dies it is counted (``failed("process")``) and started again after
    ``retry_s``; it dies with the worker (``PR_SET_PDEATHSIG``), and :meth:`stop` ends
    it."""

    def __init__(
        self, build: Build, observer: Observer, *, retry_s: float = 2.0, **options: Any
    ) -> None:
        self.build = build  # importable by name: the process is spawned
        self.observer = observer
        self.retry_s = retry_s
        self.options = options  # for the SentinelThread in the process
        self._context = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="sentinel", daemon=True)
        self.process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the process to stop (SIGTERM: it lets go of its consumer and connections)
        and wait for it."""
        self._stopping.set()
        process = self.process
        if process is not None and process.is_alive():
            process.terminate()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _supervise(self) -> None:
        # This thread starts the process and outlives it (the process dies with it).
        while not self._stopping.is_set():
            reader, writer = self._context.Pipe(duplex=False)
            process = self._context.Process(
                target=_run_process,
                args=(self.build, writer, self.options),
                name="sinergi-sentinel",
                daemon=True,
            )
            try:
                process.start()
            except Exception as exc:  # no process to be had now: the ledger raises
                log.warning("sentinel: cannot start its process (%s)", type(exc).__name__)
                self.observer.failed("process")
                self._stopping.wait(self.retry_s)
                continue
            finally:
                writer.close()
            self.process = process
            if self._stopping.is_set():  # stop() came while it started
                process.terminate()
            self._forward(reader, process)
            reader.close()
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
            if self._stopping.is_set():
                break
            log.warning("sentinel: its process ended (exit %s); starting it again in %.0f s",
                        process.exitcode, self.retry_s)  # fmt: skip
            self.observer.failed("process")
            self._stopping.wait(self.retry_s)

    def _forward(self, reader: Any, process: multiprocessing.process.BaseProcess) -> None:
        """What the process reports, to the observer, until it ends."""
        while True:
            try:
                if not reader.poll(0.5):
                    if not process.is_alive():
                        return
                    continue
                kind, payload = reader.recv()
            except (EOFError, OSError):
                return
            if kind == "watched":
                self.observer.watched(payload)
            else:
                self.observer.failed(payload)


class _Forwarded:
    """The observer inside the sentinel's process: each report down the pipe. Only the
    process's one :class:`SentinelThread` reports, so the pipe needs no lock."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def watched(self, result: Watched) -> None:
        self._send(("watched", result))

    def failed(self, cause: str) -> None:
        self._send(("failed", cause))

    def _send(self, report: tuple[str, Any]) -> None:
        self.writer.send(report)


def _run_process(build: Build, writer: Any, options: dict[str, Any]) -> None:
    """The sentinel's process: its thread until SIGTERM from the worker (or the worker's
    end). Not a shared multiprocessing Event: one whose waiter was killed (``kill -9``)
    leaves its condition's counts behind, and the next ``set()`` never returns."""
    die_with_parent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    thread = SentinelThread(build, _Forwarded(writer), **options)
    thread.start()
    while not done.wait(1.0):
        pass
    thread.stop()
    writer.close()
