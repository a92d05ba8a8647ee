"""The real batch pipeline over the in-memory store, for unit tests that need the whole
fold (ledger, alerts, metrics, outbox) without services: as in test_pipeline.py."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from processors import ledger
from processors.alerts import Alert, AlertRules
from processors.people import People
from processors.pipeline import BatchResult, Outputs, Pipeline
from processors.ports import MetricKey, OutboxMessage, RawMessage
from producers.amend import Correction, Recorded, amendment
from producers.sealing import PersonSealer, SealingSerializer
from schemas.model import AlertRule, Event
from schemas.serde import EventDeserializer, EventSerializer, Serializer
from schemas.topics import topic_of
from sinks.memory import MemoryLedgerStore, MemoryRelay
from tests.factories import T0
from tests.unit.fakes import MemoryRegistry

# The hub's clock: after every fact the tests make (factories start at T0), whatever
# the date on the machine that runs them.
NOW_MS = (T0 + timedelta(days=3 * 365)).timestamp() * 1000
# When corrections and retractions are made (after every fact, before the hub's clock).
AMENDED_AT = T0 + timedelta(days=2 * 365)


@dataclasses.dataclass
class MemoryHub:
    pipeline: Pipeline
    store: MemoryLedgerStore
    relay: MemoryRelay
    registry: MemoryRegistry
    clock: list[float]
    offset: int = 0
    # The hub's intake key (base64): events are then sent as a desk sends them, people sealed.
    intake: str | None = None

    def serializer(self) -> Serializer:
        encode = EventSerializer(self.registry, register=True)
        intake = self.intake
        return encode if intake is None else SealingSerializer(encode, PersonSealer(lambda: intake))

    def send(self, *items: Recorded) -> BatchResult:
        """One batch of the events (records, corrections, retractions), in this order,
        each on its topic at its own Kafka offset."""
        encode = self.serializer()
        batch = []
        for item in items:
            event = self.amended(item)
            topic = topic_of(event).name
            self.offset += 1
            key = event.partition_key().encode()
            batch.append(RawMessage(topic, 0, self.offset, key, encode(topic, event)))
        result = self.pipeline.process(batch)
        self.pipeline.publish_pending()
        return result

    def amended(self, item: Recorded, by: str | None = None) -> Event:
        """``item`` as published: a correction or retraction by ``by`` (default: the unit
        of the record, or post-eltari for a retraction)."""
        encode = self.serializer()
        if isinstance(item, Correction):
            unit = by or item.record.envelope.unit
        else:
            unit = by or "post-eltari"
        return amendment(
            item, unit, lambda r: encode(topic_of(r).name, r), lambda i: None, now=AMENDED_AT
        )

    def raise_due(self, at_ms: float) -> list[Alert]:
        """The timer, at the hub's time ``at_ms``."""
        self.clock[0] = at_ms
        due = self.pipeline.raise_due()
        self.pipeline.publish_pending()
        return due

    def ledger(self) -> dict[str, str]:
        """Every entity, in the ledger's canonical form."""
        return {str(ref): ledger.canonical(e) for ref, e in self.store.entities.items()}

    def holding(self, rule: AlertRule | None = None) -> dict[str, Alert]:
        """The alerts that hold now (raised and not withdrawn), by id."""
        return {
            alert_id: alert
            for alert_id, alert in self.store.alerts.items()
            if alert_id not in self.store.withdrawn and rule in (None, alert.rule)
        }

    def metrics(self) -> dict[MetricKey, int]:
        return {key: value for key, value in self.store.metrics.items() if value}

    def count(self, metric: str) -> int:
        return sum(v for k, v in self.store.metrics.items() if k.metric == metric)

    def published(self, event_type: str) -> list[Event]:
        decode = EventDeserializer(self.registry)
        found = (decode(m.value).event for m in self.relay.published)
        return [e for e in found if e.event_type == event_type]


def memory_hub(
    rules: AlertRules | None = None,
    *,
    people: People | None = None,
    intake: str | None = None,
    registry: MemoryRegistry | None = None,
) -> MemoryHub:
    """A hub publishing into a memory relay, with ``rules`` (the defaults if None); with
    ``people``, resolving people through a vault, sent sealed to ``intake``."""
    registry = registry or MemoryRegistry()
    store = MemoryLedgerStore()
    relay = MemoryRelay(store)
    encode_value = EventSerializer(registry, register=True)

    def encode(event: Event) -> OutboxMessage:
        return OutboxMessage(
            f"out.{event.event_type}", event.partition_key().encode(), encode_value("out", event)
        )

    clock = [NOW_MS]
    pipeline = Pipeline(
        EventDeserializer(registry),
        store,
        rules=rules,
        outputs=Outputs(encode, relay, "hub-test"),
        clock_ms=lambda: clock[0],
        people=people,
    )
    return MemoryHub(pipeline, store, relay, registry, clock, intake=intake)
