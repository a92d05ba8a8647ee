"""The worker's helper process, spawned for real: it receives a batch exactly as the
worker would have (the same outcomes, reasons and events), relays when asked, and a
fresh one is started after a failure. (The worker's use of it, with its failures, is in
test_worker.py; the helper dying with a worker killed -9, in the integration tests.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import pytest

from processors.ahead import Helper, Packed, unpack
from processors.pipeline import Pipeline
from processors.ports import RawMessage
from schemas.serde import EventDeserializer, EventSerializer
from sinergi import rebuild
from sinks.memory import MemoryLedgerStore
from tests.factories import interception
from tests.unit.fakes import MemoryRegistry

TOPIC = "t.posts.interception-recorded"


def registry() -> MemoryRegistry:
    """The same ids in the test and in the helper (ids follow registration order)."""
    found = MemoryRegistry()
    EventSerializer(found, register=True)(TOPIC, interception(0))
    return found


def build_pipeline() -> Pipeline:
    """The helper's pipeline: importable by name, as a spawned process needs."""
    return Pipeline(EventDeserializer(registry()), MemoryLedgerStore())


def broken_pipeline() -> Pipeline:
    raise RuntimeError("cannot build")


def wait_ready(helper: Helper) -> None:
    deadline = time.monotonic() + 60
    while not helper.ready:
        assert time.monotonic() < deadline, "the helper did not start"
        time.sleep(0.05)


def seen(received):
    return [(r.position, r.outcome, r.reason, r.rule, r.signer, r.payload_sha256,
             r.stored.event if r.stored else None) for r in received]  # fmt: skip


def test_a_spawned_helper_receives_a_batch_exactly_as_the_worker_would():
    encode = EventSerializer(registry(), register=True)
    batch = [RawMessage(TOPIC, 0, i, None, encode(TOPIC, interception(i))) for i in range(5)]
    batch.append(RawMessage(TOPIC, 0, 5, None, b"\x00\x00\x00\x00\x63not avro"))
    now_ms = time.time() * 1000
    helper = Helper(build_pipeline)
    helper.start()
    try:
        wait_ready(helper)
        there = unpack(batch, helper.submit(batch, now_ms).result(timeout=60))
        here = build_pipeline().prepare(batch, now_ms=now_ms)
        assert seen(there) == seen(here)
        assert [r.outcome.value for r in there] == ["stored"] * 5 + ["dead_lettered"]
        assert helper.relay().result(timeout=60) == 0  # a pipeline without outputs
    finally:
        helper.close()


def test_a_helper_that_cannot_start_is_not_ready_and_is_started_again():
    helper = Helper(broken_pipeline)
    helper.start()
    try:
        first = helper._executor
        deadline = time.monotonic() + 60
        while helper._executor is first:  # ready stays False; the failed one is let go
            assert not helper.ready
            assert time.monotonic() < deadline, "the failure was not noticed"
            time.sleep(0.05)
        helper.start()
        assert helper._executor is not None and helper._executor is not first
    finally:
        helper.close()


# --- the rebuild's replay with a helper (sinergi/rebuild.py) -------------------------------


def replay_batch() -> list[RawMessage]:
    encode = EventSerializer(registry(), register=True)
    return [RawMessage(TOPIC, 0, i, None, encode(TOPIC, interception(i))) for i in range(5)]


def ledger(pipeline: Pipeline) -> tuple[object, ...]:
    tables = pipeline.store.tables  # type: ignore[attr-defined]
    return sorted(tables.events), sorted(map(str, tables.entities)), len(tables.audit)


@pytest.fixture
def replaying() -> Iterator[tuple[list[RawMessage], tuple[object, ...], Helper]]:
    """A batch, the ledger it makes processed with no helper, and a helper that is up."""
    batch = replay_batch()
    alone = build_pipeline()
    rebuild._apply(alone, batch, None, None)  # no helper: processed here
    helper = Helper(build_pipeline)
    helper.start()
    try:
        wait_ready(helper)
        yield batch, ledger(alone), helper
    finally:
        helper.close()


def test_the_replay_applies_what_its_helper_received_as_it_would_have_processed_it(replaying):
    batch, alone, helper = replaying
    pipeline = build_pipeline()
    ahead = helper.offer(batch, pipeline.clock_ms())
    assert ahead is not None
    rebuild._apply(pipeline, batch, ahead, helper)
    assert ledger(pipeline) == alone
    assert len(alone[0]) == 5  # type: ignore[arg-type]


def test_the_replay_receives_a_batch_itself_when_its_helper_died(replaying):
    batch, alone, helper = replaying
    died: Future[list[Packed]] = Future()
    died.set_exception(BrokenProcessPool("the helper died"))
    pipeline = build_pipeline()
    rebuild._apply(pipeline, batch, died, helper)
    assert ledger(pipeline) == alone
    assert not helper.ready  # let go: the next batch starts a fresh one


def test_the_replay_processes_a_batch_itself_when_what_the_helper_received_cannot_be_applied(
    replaying,
):
    batch, alone, helper = replaying
    pipeline = build_pipeline()
    received = helper.offer(batch, pipeline.clock_ms())
    assert received is not None
    applied = pipeline.apply
    calls = []

    def apply_failing_once(*args, **kwargs):  # a fault that passes, then gone
        calls.append(len(args[0]))
        if len(calls) == 1:
            raise RuntimeError("the transaction failed")
        return applied(*args, **kwargs)

    pipeline.apply = apply_failing_once  # type: ignore[method-assign]
    rebuild._apply(pipeline, batch, received, helper)
    assert calls == [5, 5]  # what the helper received, then the batch processed here
    assert ledger(pipeline) == alone


def test_the_batch_work_yields_the_cpu_by_its_niceness_in_its_own_thread_only():
    import os
    import threading

    from processors.ahead import NICENESS, yield_cpu

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []

    def batch_thread() -> None:
        yield_cpu()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=batch_thread)
    thread.start()
    thread.join()
    assert seen == [min(19, mine + NICENESS)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
