"""The live ledger processor: a faust-streaming worker.

The agent only moves batches: it takes up to ``batch_max`` messages (or what came
within ``batch_within_s``), hands them to the :class:`~processors.pipeline.Pipeline`
in a worker thread (decode, fold, one PostgreSQL transaction), and only then
are the offsets acknowledged. A crash before the commit replays the batch, and
the event store's unique event id makes the replay a no-op.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import faust

from processors.pipeline import BatchResult, Pipeline
from processors.ports import RawMessage
from sinks.prometheus import WorkerMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    app_id: str  # also the Kafka consumer group
    broker: str  # kafka://host:port
    topics: Sequence[str]
    batch_max: int = 2000
    batch_within_s: float = 0.25
    broker_credentials: Any = None


def to_raw(event: Any) -> RawMessage:
    msg = event.message
    return RawMessage(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key,
        value=msg.value,
        timestamp_ms=int((msg.timestamp or 0) * 1000),
        headers=tuple((k, v) for k, v in (msg.headers or ())),
    )


def build_app(
    cfg: WorkerConfig,
    pipeline_factory: Callable[[], Pipeline],
    metrics: WorkerMetrics,
    *,
    on_batch: Callable[[BatchResult], None] | None = None,
) -> faust.App:
    app = faust.App(
        cfg.app_id,
        broker=cfg.broker,
        broker_credentials=cfg.broker_credentials,
        store="memory://",
        web_enabled=False,
        autodiscover=False,
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        stream_wait_empty=True,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # A crashed worker's partitions move to the others after 10s, not faust's 60s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
    )
    source = app.topic(
        *cfg.topics,
        key_serializer="raw",
        value_serializer="raw",
        allow_empty=True,
    )
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
    state: dict[str, Pipeline] = {}

    def run_batch(batch: list[RawMessage]) -> BatchResult:
        if "pipeline" not in state:
            state["pipeline"] = pipeline_factory()
        return state["pipeline"].process(batch)

    @app.agent(source, name="ledger")
    async def ledger_agent(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(cfg.batch_max, within=cfg.batch_within_s):
            batch = [to_raw(e) for e in events]
            with metrics.batch_seconds.time():
                result = await loop.run_in_executor(executor, run_batch, batch)
            _record(metrics, result)
            _update_lag(app, metrics, batch)
            if on_batch is not None:
                on_batch(result)
            log.info(
                "batch: %d received, %d stored, %d duplicate, %d dead-lettered in %.3fs",
                result.received,
                result.stored,
                result.duplicates,
                result.dead_lettered,
                result.seconds,
            )

    return app


def _record(metrics: WorkerMetrics, result: BatchResult) -> None:
    for (topic, outcome), count in result.outcomes.items():
        metrics.messages.labels(topic=topic, outcome=outcome).inc(count)


def _update_lag(app: faust.App, metrics: WorkerMetrics, batch: Sequence[RawMessage]) -> None:
    last: dict[tuple[str, int], int] = {}
    for msg in batch:
        key = (msg.topic, msg.partition)
        last[key] = max(last.get(key, -1), msg.offset)
    per_topic: dict[str, int] = {}
    for (topic, partition), offset in last.items():
        try:
            highwater = app.consumer.highwater(faust.types.TP(topic, partition))
        except Exception:  # lag is best effort: never stop processing for it
            log.debug("no high-water mark for %s[%d] yet", topic, partition)
            continue
        if highwater is not None:
            per_topic[topic] = per_topic.get(topic, 0) + max(0, highwater - offset - 1)
    for topic, lag in per_topic.items():
        metrics.lag.labels(topic=topic).set(lag)
