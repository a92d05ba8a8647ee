"""An in-memory ledger store: the same contract as PostgreSQL, for tests and dry runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from processors.alerts import Alert
from processors.audit import AuditEntry, link_all
from processors.ledger import Entity, Kind, Ref
from processors.ports import (
    Acknowledgement,
    AlertChanges,
    KnownEvent,
    MetricKey,
    OutboxMessage,
    StoredEvent,
)


class MemoryUnitOfWork:
    def __init__(self, store: MemoryLedgerStore) -> None:
        self.store = store
        self.events: dict[str, StoredEvent] = {}
        self.entities: dict[Ref, Entity] = {}
        self.alerts: dict[str, Alert] = {}
        self.sources: dict[str, str] = {}
        self.withdrawn: set[str] = set()
        self.acks: dict[str, Acknowledgement] = {}
        self.metrics: Counter[MetricKey] = Counter()
        self.outbox: list[OutboxMessage] = []
        self.audit: list[tuple[AuditEntry, str, str]] = []

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

    def sync_alerts(self, holding: Mapping[str, Sequence[Alert]]) -> AlertChanges:
        raised: list[Alert] = []
        withdrawn: list[str] = []
        for source, alerts in sorted(holding.items()):
            now = {a.alert_id: a for a in alerts}
            for alert_id, alert in now.items():
                if alert_id not in self.store.alerts and alert_id not in self.alerts:
                    raised.append(alert)
                self.alerts[alert_id] = alert
                self.withdrawn.discard(alert_id)
            known = self.store.by_source.get(source, set())
            for alert_id in sorted(known - set(now)):
                if alert_id not in self.store.withdrawn:
                    withdrawn.append(alert_id)
                self.withdrawn.add(alert_id)
            for alert_id in now:
                self.sources[alert_id] = source
        return AlertChanges(raised, withdrawn)

    def add_acknowledgements(self, acks: Sequence[Acknowledgement]) -> list[Acknowledgement]:
        first = []
        for ack in sorted(acks, key=lambda a: (a.acknowledged_at, a.event_id)):
            # This batch's own earlier acknowledgement first, then the stored one.
            known = self.acks.get(ack.alert_id) or self.store.acks.get(ack.alert_id)
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

    def known(self, event_ids: Sequence[str]) -> dict[str, KnownEvent]:
        found = {}
        for event_id in event_ids:
            s = self.store.events.get(event_id) or self.events.get(event_id)
            if s is not None:
                found[event_id] = KnownEvent(
                    s.topic, s.partition, s.offset, s.event.envelope.unit, s.content_sha256
                )
        return found

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        heads = self.store.audit_heads() | {e.chain: digest for e, _, digest in self.audit}
        self.audit.extend(link_all(heads, entries))


class MemoryLedgerStore:
    def __init__(self) -> None:
        self.events: dict[str, StoredEvent] = {}
        self.entities: dict[Ref, Entity] = {}
        self.alerts: dict[str, Alert] = {}
        self.sources: dict[str, str] = {}
        self.by_source: dict[str, set[str]] = {}
        self.withdrawn: set[str] = set()
        self.acks: dict[str, Acknowledgement] = {}
        self.metrics: Counter[MetricKey] = Counter()
        self.outbox: list[OutboxMessage] = []
        self.audit: list[tuple[AuditEntry, str, str]] = []

    def audit_heads(self) -> dict[str, str]:
        """The last hash of each chain (a topic partition)."""
        return {entry.chain: digest for entry, _, digest in self.audit}

    @contextmanager
    def unit_of_work(self) -> Iterator[MemoryUnitOfWork]:
        uow = MemoryUnitOfWork(self)
        yield uow
        # Reached only when the batch raised nothing: commit.
        self.events.update(uow.events)
        self.entities.update(uow.entities)
        self.alerts.update(uow.alerts)
        self.sources.update(uow.sources)
        for alert_id, source in uow.sources.items():
            self.by_source.setdefault(source, set()).add(alert_id)
        self.withdrawn = (self.withdrawn - set(uow.alerts)) | uow.withdrawn
        self.acks.update(uow.acks)
        self.metrics.update(uow.metrics)
        self.outbox.extend(uow.outbox)
        self.audit.extend(uow.audit)

    @property
    def cases(self) -> dict[str, Entity]:
        return {r.key: e for r, e in self.entities.items() if r.kind is Kind.CASE}


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
