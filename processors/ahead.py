"""The worker's helper process: it receives the next batches (``SINERGI_LOOKAHEAD``, two)
while the worker applies this one, and relays the outbox to Kafka.

Receiving a message (:meth:`processors.pipeline.Pipeline.prepare`: decode, signature,
signer, contract, the X25519 opening of its people and the vault's subjects) reads
nothing of the ledger, and was about two fifths of the processor's time; relaying the
outbox (:meth:`Pipeline.relay`: send what the batch wrote, from the batch's own copy,
with kafka-python, and delete those rows) about a sixth. One Python process runs one
thread at a time, so the helper does both for the worker: it receives batch n+1 while the
worker applies batch n in its transaction, then relays what batch n committed, and the
machine's second core takes that share.

The helper builds its pipeline through the same composition root as the worker
(:func:`sinergi.bootstrap.helper_pipeline`), so it trusts exactly what the worker would.
It is a speed-up, never a second way of deciding: whatever goes wrong there (the helper
died, a fault that passes, a bug) makes the worker receive that batch itself, as it did
before (:func:`processors.isolation.process_isolating`), and start a fresh helper for the
next. Its vault writes are idempotent (a message keeps the subject it got first), so a
batch received twice is received the same; the relay is the same relay (the outbox is
its truth), only in another process. The helper dies with the worker (``kill -9``
included: ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from processors import collector
from processors.intake import Outcome, Received
from processors.pipeline import Pipeline
from processors.ports import RawMessage, StoredEvent, Written

log = logging.getLogger(__name__)

# What the helper sends back for each message (its RawMessage stays with the worker):
# payload SHA-256, the stored event, the signer, outcome, reason, rule.
Packed = tuple[str, StoredEvent | None, str | None, str, str | None, str | None]

_PR_SET_PDEATHSIG = 1
_pipeline: Pipeline | None = None  # the helper's own, built once at its start


# How much the batch work (the worker's thread that applies batches, and its helper
# process) yields the CPU when the cores are short: to the sentinel
# (processors/sentinel.py), which tells police of a child intercepted while the batches
# queue, and to PostgreSQL and Kafka, which the batches wait on (docs/performance.md, issue 8's
# history, says what it measured).
NICENESS = 5


def yield_cpu() -> None:
    """Lower the calling thread's priority by :data:`NICENESS` (Linux: per thread)."""
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + NICENESS)


def die_with_parent() -> None:
    """In a child process of the worker: be killed when the thread that started it ends
    (``kill -9`` of the worker included: ``PR_SET_PDEATHSIG``), and leave Ctrl-C to the
    worker, which decides when its children stop."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the worker died before the line above took effect
        os._exit(0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start(build: Callable[..., Pipeline], args: tuple[Any, ...]) -> None:
    """In the helper: die with the worker, then build the pipeline."""
    die_with_parent()
    yield_cpu()
    global _pipeline
    _pipeline = build(*args)
    collector.settle()


def _prepare(batch: Sequence[RawMessage], now_ms: float) -> list[Packed]:
    assert _pipeline is not None
    return pack(_pipeline.prepare(batch, now_ms=now_ms))


def _relay(written: Sequence[Written] | None) -> int:
    assert _pipeline is not None
    return _pipeline.relay(written)


def pack(received: Sequence[Received]) -> list[Packed]:
    """What the helper sends back: each item without its message."""
    return [(r.payload_sha256, r.stored, r.signer, r.outcome.value, r.reason, r.rule)
            for r in received]  # fmt: skip


def unpack(batch: Sequence[RawMessage], packed: Sequence[Packed]) -> list[Received]:
    """The helper's answer as the worker's :class:`Received` items, message by message."""
    return [
        Received(msg, sha, stored, signer, Outcome(outcome), reason, rule)
        for msg, (sha, stored, signer, outcome, reason, rule) in zip(batch, packed, strict=True)
    ]


class Helper:
    """One helper process, started on first use and again after a failure; its tasks run
    in the order given.

    ``build(*args)`` must be importable by name (the helper is spawned, not forked: the
    worker holds threads and connections a fork would copy half-way)."""

    def __init__(self, build: Callable[..., Pipeline], *args: Any) -> None:
        self.build = build
        self.args = args
        self._executor: ProcessPoolExecutor | None = None
        self._started: Future[None] | None = None

    def start(self) -> None:
        """Spawn the helper now (it takes a second or two to build its pipeline), so the
        first batches need not wait for it."""
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(self.build, self.args),
            )
            # Spawned at the first submission: do it now, with nothing to receive.
            self._started = self._executor.submit(_prepare_nothing)

    @property
    def ready(self) -> bool:
        """Whether the helper is up (until then, and while a fresh one starts, the
        worker does the work itself rather than wait for it)."""
        if self._started is None or not self._started.done():
            return False
        if self._started.exception() is not None:  # it could not start: a fresh one later
            self.reset()
            return False
        return True

    def submit(self, batch: Sequence[RawMessage], now_ms: float) -> Future[list[Packed]]:
        """Receive ``batch`` in the helper; call from the thread that will outlive the
        helper (the worker's event loop), since the helper dies with the thread that
        spawned it."""
        self.start()
        assert self._executor is not None
        return self._executor.submit(_prepare, list(batch), now_ms)

    def offer(self, batch: Sequence[RawMessage], now_ms: float) -> Future[list[Packed]] | None:
        """``batch`` handed to the helper if it is up, else None and the caller receives
        it itself: while the helper starts (one is started if there is none), or when it
        cannot take it (it is let go; the next offer starts a fresh one)."""
        if not self.ready:
            self.start()
            return None
        try:
            return self.submit(batch, now_ms)
        except Exception as exc:  # the helper cannot be started
            log.warning("helper process unavailable (%s): receiving here", type(exc).__name__)
            self.reset()
            return None

    def relay(self, written: Sequence[Written] | None = None) -> Future[int]:
        """Relay in the helper (after the batch it holds is received) the rows a batch
        wrote, from the copy given (how many of them it left waiting), or with None the
        whole outbox (0); raises what the relay raises (a TransientError when Kafka does
        not take it)."""
        self.start()
        assert self._executor is not None
        return self._executor.submit(_relay, written)

    def reset(self) -> None:
        """Let the helper go (it failed, or its answer could not be used): the next
        submission starts a fresh one."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            self._started = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _prepare_nothing() -> None:
    return None
