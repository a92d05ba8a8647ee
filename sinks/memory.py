"""An in-memory ledger store: the same contract as PostgreSQL, for tests and dry runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from processors.alerts import Alert
from processors.ledger import Entity, Kind, Ref
from processors.ports import Acknowledgement, DeadLetter, MetricKey, OutboxMessage, StoredEvent


class MemoryUnitOfWork:
    def __init__(self, store: MemoryLedgerStore) -> None:
        self.store = store
        self.events: dict[str, StoredEvent] = {}
        self.entities: dict[Ref, Entity] = {}
        self.alerts: dict[str, Alert] = {}
        self.acks: dict[str, Acknowledgement] = {}
        self.metrics: Counter[MetricKey] = Counter()
        self.outbox: list[OutboxMessage] = []

    def add_events(self, events: Sequence[StoredEvent]) -> set[str]:
        new: set[str] = set()
        for stored in events:
            event_id = stored.event.event_id
            if event_id not in self.store.events and event_id not in self.events:
                self.events[event_id] = stored
                new.add(event_id)
        return new

    def get_entities(self, kind: Kind, keys: Iterable[str]) -> dict[str, Entity]:
        found = {}
        for key in keys:
            entity = self.store.entities.get(Ref(kind, key))
            if entity is not None:
                found[key] = entity
        return found

    def put_entities(self, entities: Iterable[Entity]) -> None:
        for entity in entities:
            self.entities[Ref(entity.kind, entity.key)] = entity

    def add_alerts(self, alerts: Sequence[Alert]) -> list[Alert]:
        new = []
        for alert in alerts:
            if alert.alert_id not in self.store.alerts and alert.alert_id not in self.alerts:
                self.alerts[alert.alert_id] = alert
                new.append(alert)
        return new

    def add_acknowledgements(self, acks: Sequence[Acknowledgement]) -> list[Acknowledgement]:
        first = []
        for ack in sorted(acks, key=lambda a: (a.acknowledged_at, a.event_id)):
            known = self.store.acks.get(ack.alert_id) or self.acks.get(ack.alert_id)
            if known is None or (ack.acknowledged_at, ack.event_id) < (
                known.acknowledged_at,
                known.event_id,
            ):
                self.acks[ack.alert_id] = ack
                if known is None:
                    first.append(ack)
        return first

    def add_metrics(self, increments: Mapping[MetricKey, int]) -> None:
        self.metrics.update(increments)

    def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        self.outbox.extend(messages)


class MemoryLedgerStore:
    def __init__(self) -> None:
        self.events: dict[str, StoredEvent] = {}
        self.entities: dict[Ref, Entity] = {}
        self.alerts: dict[str, Alert] = {}
        self.acks: dict[str, Acknowledgement] = {}
        self.metrics: Counter[MetricKey] = Counter()
        self.outbox: list[OutboxMessage] = []

    @contextmanager
    def unit_of_work(self) -> Iterator[MemoryUnitOfWork]:
        uow = MemoryUnitOfWork(self)
        yield uow
        # Reached only when the batch raised nothing: commit.
        self.events.update(uow.events)
        self.entities.update(uow.entities)
        self.alerts.update(uow.alerts)
        self.acks.update(uow.acks)
        self.metrics.update(uow.metrics)
        self.outbox.extend(uow.outbox)

    @property
    def cases(self) -> dict[str, Entity]:
        return {r.key: e for r, e in self.entities.items() if r.kind is Kind.CASE}


class MemoryDeadLetters:
    def __init__(self) -> None:
        self.pending: list[DeadLetter] = []
        self.sent: list[DeadLetter] = []

    def add(self, letter: DeadLetter) -> None:
        self.pending.append(letter)

    def flush(self) -> None:
        self.sent.extend(self.pending)
        self.pending.clear()


class MemoryRelay:
    """Moves a memory store's outbox to a list, as the Kafka relay moves it to topics."""

    def __init__(self, store: MemoryLedgerStore) -> None:
        self.store = store
        self.published: list[OutboxMessage] = []

    def publish_pending(self) -> int:
        count = len(self.store.outbox)
        self.published.extend(self.store.outbox)
        self.store.outbox.clear()
        return count
