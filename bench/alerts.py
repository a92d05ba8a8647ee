"""Alert latency: a triggering event published -> ``AlertRaised`` received by police.

A police consumer (``police-polda-ntt``'s credential, on the deployment's alerts topic,
from its end) notes when each alert arrives and which events caused it. Triggers are
interceptions of fresh 16-year-olds, each raising one ``MINOR_INTERCEPTED`` at once;
each is encoded and signed beforehand by the El Tari desk and timed from just before
it is sent to its arrival at police. First a few triggers on an idle hub (the
baseline), then the measured ones while a separate process publishes the background
(every agency's later history, pre-encoded by their desks, each unit with its own
credential) at a fixed rate, on a ledger already holding the drained backlog.
A trigger whose alert has not arrived ``timeout_s`` after the last one is *missing*:
counted as infinitely late in the percentiles.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from bench.plan import minor_interceptions
from bench.publish import background_messages
from bench.stats import percentile
from producers import forms
from producers.publisher import Encoded, kafka_producer
from schemas.model import Agency, AlertRaised
from schemas.serde import EventDeserializer, SerializationError
from schemas.topics import ALERTS
from sinergi import bootstrap
from sinergi.config import Settings, from_env
from tests.integration.hub import Hub

POLICE = "police-polda-ntt"
POST = "eltari"  # the desk that records the triggers


@dataclass
class Latencies:
    ms: list[float] = field(default_factory=list)
    missing: int = 0

    def p(self, q: float) -> float | None:
        return percentile(self.ms, q, missing=self.missing)


@dataclass
class AlertLatency:
    idle: Latencies
    loaded: Latencies
    background_target: float
    background_sent: int = 0
    background_seconds: float = 0.0
    background_ran_out: bool = False
    timeout_s: float = 0.0

    @property
    def background_rate(self) -> float:
        return self.background_sent / self.background_seconds if self.background_seconds else 0.0


class PoliceListener(threading.Thread):
    """Follows the alerts topic from its end; ``arrived``: cause event id -> when."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="police-listener", daemon=True)
        self.settings = settings
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._follow()
        except BaseException as exc:  # reported by the measuring thread
            self.error = exc
            self.ready.set()

    def _follow(self) -> None:
        consumer = KafkaConsumer(
            group_id=None,
            enable_auto_commit=False,
            **bootstrap.kafka_client(self.settings, POLICE),
        )
        decode = EventDeserializer(bootstrap.registry_reader(self.settings))
        try:
            topic = self.settings.topic(ALERTS.name)
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
            consumer.assign(partitions)
            consumer.seek_to_end(*partitions)
            for tp in partitions:
                consumer.position(tp)  # resolve "the end" now, before any trigger
            self.ready.set()
            while not self.halt.is_set():
                polled = consumer.poll(timeout_ms=100)
                now = time.perf_counter()
                for records in polled.values():
                    for message in records:
                        self._note(decode, message.value, now)
        finally:
            consumer.close()

    def _note(self, decode: EventDeserializer, value: bytes, now: float) -> None:
        try:
            event = decode(value).event
        except SerializationError:
            return
        if isinstance(event, AlertRaised):
            for cause in event.cause_event_ids:
                self.arrived.setdefault(cause, now)


def triggers(settings: Settings, count: int) -> list[tuple[str, Encoded]]:
    """(event id, signed message) of ``count`` minors intercepted at El Tari."""
    desk = bootstrap.desk(settings, Agency.POST, POST)
    events = forms.record_rows(
        desk, forms.FORMS["interception"], minor_interceptions(count, datetime.now(UTC))
    )
    pub = bootstrap.publisher(settings, desk.unit)
    try:
        return [(e.event_id, pub.encode_all([e])[0]) for e in events]
    finally:
        pub.close()


def fire(
    settings: Settings,
    listener: PoliceListener,
    shots: list[tuple[str, Encoded]],
    spacing_s: float,
    timeout_s: float,
) -> Latencies:
    """Send each trigger alone, ``spacing_s`` apart; wait for their alerts."""
    unit = bootstrap.desk(settings, Agency.POST, POST).unit
    producer = kafka_producer(
        settings.bootstrap_servers, **bootstrap.kafka_security(settings, unit)
    )
    sent: dict[str, float] = {}
    try:
        producer.partitions_for(shots[0][1].topic)  # connected before the clock starts
        began = time.perf_counter()
        for n, (event_id, m) in enumerate(shots):
            time.sleep(max(0.0, began + n * spacing_s - time.perf_counter()))
            sent[event_id] = time.perf_counter()
            producer.send(m.topic, key=m.key, value=m.value, headers=m.headers)
            producer.flush()
    finally:
        producer.close()
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline and not all(e in listener.arrived for e in sent):
        if listener.error is not None:
            raise listener.error
        time.sleep(0.05)
    result = Latencies()
    for event_id, at in sent.items():
        arrived = listener.arrived.get(event_id)
        if arrived is None:
            result.missing += 1
        else:
            result.ms.append((arrived - at) * 1000)
    return result


def measure(
    hub: Hub,
    spool: Path,
    *,
    alerts: int,
    idle_alerts: int,
    rate: float,
    spacing_s: float = 0.25,
    warmup_s: float = 5.0,
    timeout_s: float = 60.0,
) -> AlertLatency:
    settings = hub.settings
    shots = triggers(settings, idle_alerts + alerts)
    listener = PoliceListener(settings)
    listener.start()
    listener.ready.wait(timeout=60)
    if listener.error is not None:
        raise listener.error
    try:
        idle = fire(settings, listener, shots[:idle_alerts], spacing_s, timeout_s=30)
        background = Background(hub.env, spool, rate)
        try:
            background.started.wait(timeout=120)
            time.sleep(warmup_s)
            loaded = fire(settings, listener, shots[idle_alerts:], spacing_s, timeout_s)
        finally:
            sent, seconds, ran_out = background.stop()
    finally:
        listener.halt.set()
        listener.join(timeout=10)
    return AlertLatency(idle, loaded, rate, sent, seconds, ran_out, timeout_s)


class Background:
    """The background traffic, published at ``rate`` by a process of its own."""

    def __init__(self, env: Mapping[str, str], spool: Path, rate: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.started = context.Event()
        self._halt = context.Event()
        self._results: Any = context.Queue()
        self._proc = context.Process(
            target=_publish_paced,
            args=(dict(env), spool, rate, self.started, self._halt, self._results),
            name="bench-background",
        )
        self._proc.start()

    def stop(self) -> tuple[int, float, bool]:
        """Stop it; (messages sent, seconds, whether it ran out of messages)."""
        self._halt.set()
        try:
            result: tuple[int, float, bool] = self._results.get(timeout=120)
        finally:
            self._proc.join(timeout=30)
            if self._proc.is_alive():
                self._proc.kill()
        return result


def _publish_paced(
    env: dict[str, str], spool: Path, rate: float, started: Any, halt: Any, results: Any
) -> None:
    logging.getLogger("kafka").setLevel(logging.ERROR)  # SASL on loopback: known
    settings = from_env(env)
    messages = background_messages(spool)
    producers = {
        unit: kafka_producer(settings.bootstrap_servers, **bootstrap.kafka_security(settings, unit))
        for unit in {m[0] for m in messages}
    }
    for unit, producer in producers.items():  # connected before the clock starts
        producer.partitions_for(next(m[1] for m in messages if m[0] == unit))
    started.set()
    began, sent = time.perf_counter(), 0
    while not halt.is_set() and sent < len(messages):
        due = min(len(messages), int((time.perf_counter() - began) * rate))
        while sent < due:
            unit, topic, key, value, headers = messages[sent]
            producers[unit].send(topic, key=key, value=value, headers=headers)
            sent += 1
        time.sleep(0.005)
    seconds = time.perf_counter() - began
    for producer in producers.values():
        producer.flush(timeout=60)
        producer.close(timeout=10)
    results.put((sent, seconds, sent >= len(messages)))
