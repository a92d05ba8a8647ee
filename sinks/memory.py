"""An in-memory ledger store: the same contract as PostgreSQL, for tests and dry runs.

A unit of work changes copies of the store's tables and puts them in place when the
batch raised nothing (commit); an exception leaves the store as it was (rollback).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from processors.alerts import Alert
from processors.audit import AuditEntry, link_all
from processors.ledger import Entity, Fact, Kind, Ref
from processors.ports import (
    Acknowledgement,
    AlertChanges,
    FactVersion,
    KnownEvent,
    MetricKey,
    OutboxMessage,
    StoredEvent,
    Written,
)
from processors.vault import Disclosure, Kept, Subject, VaultError, VaultKeys, past_retention
from processors.vault import Fact as VaultFact
from schemas.model import Event, utcnow


@dataclass(frozen=True)
class AlertRow:
    """An alert as the store keeps it: raised (published) or held back until due, and
    withdrawn once it stopped holding."""

    alert: Alert
    source: str
    raised: bool
    withdrawn: bool = False


@dataclass
class Tables:
    events: dict[str, StoredEvent] = field(default_factory=dict)
    entities: dict[Ref, Entity] = field(default_factory=dict)
    alerts: dict[str, AlertRow] = field(default_factory=dict)
    by_source: dict[str, set[str]] = field(default_factory=dict)  # source -> alert ids
    acks: dict[str, Acknowledgement] = field(default_factory=dict)  # the first, by alert
    ack_facts: dict[str, Acknowledgement] = field(default_factory=dict)  # each, by record
    metrics: Counter[MetricKey] = field(default_factory=Counter)
    versions: dict[str, FactVersion] = field(default_factory=dict)
    recruiter_facts: dict[str, dict[str, Fact]] = field(default_factory=dict)
    members: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    outbox: list[OutboxMessage] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)  # each outbox row's id, in order
    last_outbox_id: int = 0
    audit: list[tuple[AuditEntry, str, str]] = field(default_factory=list)


class MemoryUnitOfWork:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def add_events(self, events: Sequence[StoredEvent]) -> set[str]:
        new: set[str] = set()
        for stored in events:
            event_id = stored.event.event_id
            if event_id not in self.t.events:
                self.t.events[event_id] = stored
                new.add(event_id)
        return new

    def get_entities(self, kind: Kind, keys: Iterable[str]) -> dict[str, Entity]:
        found = {}
        for key in keys:
            entity = self.t.entities.get(Ref(kind, key))
            if entity is not None:
                found[key] = entity
        return found

    def put_entities(self, entities: Iterable[Entity]) -> None:
        for entity in entities:
            self.t.entities[Ref(entity.kind, entity.key)] = entity

    def remove_entities(self, refs: Iterable[tuple[Kind, str]]) -> None:
        for kind, key in refs:
            self.t.entities.pop(Ref(kind, key), None)

    def sync_alerts(
        self,
        holding: Mapping[str, Sequence[Alert]],
        now: datetime,
        considered: Mapping[str, set[str]] | None = None,
    ) -> AlertChanges:
        raised: list[Alert] = []
        withdrawn: list[tuple[str, Alert]] = []
        # An alert one source holds is not another's to withdraw: a correction may move a
        # record, and the alert it caused, to another person's case.
        held_now = {a.alert_id for alerts in holding.values() for a in alerts}
        for source, alerts in sorted(holding.items()):
            current = {a.alert_id: a for a in alerts}
            decided = (considered or {}).get(source)
            for alert_id, alert in sorted(current.items()):
                row = self.t.alerts.get(alert_id)
                if row is not None and row.source != source:
                    self.t.by_source.get(row.source, set()).discard(alert_id)  # moved here
                due = alert.due_at is None or alert.due_at <= now
                if row is not None and row.raised:
                    if row.withdrawn or row.source != source:
                        # Holds again, or moved to another case (a correction named the
                        # right person): police are told again, with the case it names now.
                        raised.append(alert)
                    self.t.alerts[alert_id] = AlertRow(alert, source, True)
                else:
                    self.t.alerts[alert_id] = AlertRow(alert, source, due)
                    if due:
                        raised.append(alert)
            known = self.t.by_source.setdefault(source, set())
            for alert_id in sorted(known - set(current)):
                if alert_id in held_now:
                    known.discard(alert_id)  # it moved to another source of this batch
                    continue
                if decided is not None and alert_id not in decided:
                    continue  # not this evaluation's to decide
                row = self.t.alerts[alert_id]
                if row.withdrawn:
                    continue
                if row.raised:
                    self.t.alerts[alert_id] = replace(row, withdrawn=True)
                    withdrawn.append((source, row.alert))
                else:
                    del self.t.alerts[alert_id]  # held back, never raised: simply dropped
                    known.discard(alert_id)
            known.update(current)
        return AlertChanges(raised, withdrawn)

    def claim_alerts(self, alerts: Sequence[tuple[str, Alert]]) -> list[Alert]:
        kept = []
        for source, alert in alerts:
            if alert.alert_id in self.t.alerts or any(
                cause in self.t.events for cause in alert.cause_event_ids
            ):
                continue
            self.t.alerts[alert.alert_id] = AlertRow(alert, source, True)
            self.t.by_source.setdefault(source, set()).add(alert.alert_id)
            kept.append(alert)
        return kept

    def raised_alerts(
        self, sources: Sequence[str], only: Collection[str] | None = None
    ) -> dict[str, list[Alert]]:
        found: dict[str, list[Alert]] = {}
        for source in sources:
            for alert_id in sorted(self.t.by_source.get(source, ())):
                row = self.t.alerts[alert_id]
                if row.raised and not row.withdrawn and (only is None or alert_id in only):
                    found.setdefault(source, []).append(row.alert)
        return found

    def recruiter_facts(
        self, ranges: Mapping[str, tuple[datetime, datetime] | None]
    ) -> dict[str, list[Fact]]:
        found: dict[str, list[Fact]] = {}
        for key, span in ranges.items():
            facts = self.t.recruiter_facts.get(key, {}).values()
            found[key] = sorted(
                (f for f in facts if span is None or span[0] <= f.occurred_at <= span[1]),
                key=Fact.sort_key,
            )
        return found

    def known_members(
        self, candidates: Mapping[str, set[tuple[str, str]]]
    ) -> dict[str, set[tuple[str, str]]]:
        return {k: wanted & self.t.members.get(k, set()) for k, wanted in candidates.items()}

    def add_recruiter_facts(
        self,
        facts: Mapping[str, Sequence[Fact]],
        members: Mapping[str, set[tuple[str, str]]],
    ) -> None:
        for key, items in facts.items():
            mine = self.t.recruiter_facts.setdefault(key, {})
            mine.update((f.event_id, f) for f in items)
        for key, links in members.items():
            self.t.members.setdefault(key, set()).update(links)

    def reset_recruiter(
        self, key: str, facts: Sequence[Fact], members: set[tuple[str, str]]
    ) -> None:
        self.t.recruiter_facts[key] = {f.event_id: f for f in facts}
        self.t.members[key] = set(members)

    def raise_due(self, now: datetime) -> list[Alert]:
        due = []
        for alert_id, row in sorted(self.t.alerts.items()):
            at = row.alert.due_at
            if not row.raised and not row.withdrawn and (at is None or at <= now):
                self.t.alerts[alert_id] = replace(row, raised=True)
                due.append(row.alert)
        return due

    def add_acknowledgements(self, acks: Sequence[Acknowledgement]) -> list[Acknowledgement]:
        first = []
        for ack in sorted(acks, key=lambda a: (a.acknowledged_at, a.event_id)):
            self.t.ack_facts[ack.event_id] = ack
            known = self.t.acks.get(ack.alert_id)
            if known is None or (ack.acknowledged_at, ack.event_id) < (
                known.acknowledged_at,
                known.event_id,
            ):
                self.t.acks[ack.alert_id] = ack
                if known is None:
                    first.append(ack)
        return first

    def remove_acknowledgements(self, event_ids: Collection[str]) -> None:
        for event_id in sorted(event_ids):
            gone = self.t.ack_facts.pop(event_id, None)
            first = self.t.acks.get(gone.alert_id) if gone is not None else None
            if gone is None or first is None or first.event_id != event_id:
                continue
            rest = [a for a in self.t.ack_facts.values() if a.alert_id == gone.alert_id]
            if rest:
                self.t.acks[gone.alert_id] = min(
                    rest, key=lambda a: (a.acknowledged_at, a.event_id)
                )
            else:
                del self.t.acks[gone.alert_id]

    def add_metrics(self, increments: Mapping[MetricKey, int]) -> None:
        self.t.metrics.update(increments)

    def add_outbox(self, messages: Sequence[OutboxMessage]) -> list[int]:
        first = self.t.last_outbox_id + 1
        ids = list(range(first, first + len(messages)))
        self.t.outbox.extend(messages)
        self.t.outbox_ids.extend(ids)
        self.t.last_outbox_id += len(messages)
        return ids

    def known(self, event_ids: Sequence[str]) -> dict[str, KnownEvent]:
        found = {}
        for event_id in event_ids:
            s = self.t.events.get(event_id)
            if s is not None:
                found[event_id] = KnownEvent(
                    s.topic,
                    s.partition,
                    s.offset,
                    s.event.envelope.unit,
                    s.content_sha256,
                    s.event.event_type,
                )
        return found

    def load_events(self, event_ids: Sequence[str]) -> dict[str, Event]:
        return {i: self.t.events[i].event for i in event_ids if i in self.t.events}

    def versions(self, root_ids: Sequence[str]) -> dict[str, FactVersion]:
        return {i: self.t.versions[i] for i in root_ids if i in self.t.versions}

    def put_versions(self, versions: Sequence[FactVersion]) -> None:
        for version in versions:
            self.t.versions[version.root_id] = version

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        heads = {entry.chain: digest for entry, _, digest in self.t.audit}
        self.t.audit.extend(link_all(heads, entries))


class MemoryLedgerStore:
    def __init__(self) -> None:
        self.tables = Tables()

    @contextmanager
    def unit_of_work(self) -> Iterator[MemoryUnitOfWork]:
        work = Tables(
            events=dict(self.tables.events),
            entities=dict(self.tables.entities),
            alerts=dict(self.tables.alerts),
            by_source={k: set(v) for k, v in self.tables.by_source.items()},
            acks=dict(self.tables.acks),
            ack_facts=dict(self.tables.ack_facts),
            metrics=copy.copy(self.tables.metrics),
            versions=dict(self.tables.versions),
            recruiter_facts={k: dict(v) for k, v in self.tables.recruiter_facts.items()},
            members={k: set(v) for k, v in self.tables.members.items()},
            outbox=list(self.tables.outbox),
            outbox_ids=list(self.tables.outbox_ids),
            last_outbox_id=self.tables.last_outbox_id,
            audit=list(self.tables.audit),
        )
        yield MemoryUnitOfWork(work)
        self.tables = work  # reached only when the batch raised nothing: commit

    # --- what tests read -------------------------------------------------------------------

    @property
    def events(self) -> dict[str, StoredEvent]:
        return self.tables.events

    @property
    def entities(self) -> dict[Ref, Entity]:
        return self.tables.entities

    @property
    def cases(self) -> dict[str, Entity]:
        return {r.key: e for r, e in self.entities.items() if r.kind is Kind.CASE}

    @property
    def alerts(self) -> dict[str, Alert]:
        """Alerts raised to police that still hold."""
        return {k: r.alert for k, r in self.tables.alerts.items() if r.raised and not r.withdrawn}

    @property
    def held_back(self) -> dict[str, Alert]:
        """Alerts waiting for their grace period to pass."""
        return {k: r.alert for k, r in self.tables.alerts.items() if not r.raised}

    @property
    def withdrawn(self) -> set[str]:
        return {k for k, r in self.tables.alerts.items() if r.withdrawn}

    @property
    def acks(self) -> dict[str, Acknowledgement]:
        return self.tables.acks

    @property
    def metrics(self) -> Counter[MetricKey]:
        return self.tables.metrics

    @property
    def outbox(self) -> list[OutboxMessage]:
        return self.tables.outbox

    @property
    def audit(self) -> list[tuple[AuditEntry, str, str]]:
        return self.tables.audit


class MemoryRelay:
    """Moves a memory store's outbox to a list, as the Kafka relay moves it to topics."""

    def __init__(self, store: MemoryLedgerStore) -> None:
        self.store = store
        self.published: list[OutboxMessage] = []

    def publish_pending(self) -> int:
        count = len(self.store.outbox)
        self.published.extend(self.store.outbox)
        self.store.outbox.clear()
        self.store.tables.outbox_ids.clear()
        return count

    def publish(self, written: Sequence[Written]) -> int:
        t = self.store.tables
        mine = {row_id for row_id, _ in written}
        waiting: set[tuple[str, bytes]] = set()  # topics and keys of older rows not ours
        sent: set[int] = set()
        for row_id, message in zip(t.outbox_ids, t.outbox, strict=True):
            key = (message.topic, message.key)
            if row_id not in mine:
                waiting.add(key)
            elif key not in waiting:
                sent.add(row_id)
        self.published.extend(m for row_id, m in written if row_id in sent)
        kept = [(i, m) for i, m in zip(t.outbox_ids, t.outbox, strict=True) if i not in sent]
        t.outbox_ids[:] = [i for i, _ in kept]
        t.outbox[:] = [m for _, m in kept]
        return sum(1 for row_id in t.outbox_ids if row_id in mine)


@dataclass
class _Person:
    subject: Subject
    lookup: bytes | None
    wrapped: bytes | None
    created_at: datetime
    erased_at: datetime | None = None
    erasure_ref: str | None = None


class MemoryVault:
    """The vault of people in memory (:class:`processors.vault.Vault`), same contract as
    :class:`sinks.vault.PostgresVault`."""

    def __init__(self, keys: VaultKeys) -> None:
        self.keys = keys
        self.people: dict[str, _Person] = {}  # subject id ->
        self.by_lookup: dict[bytes, str] = {}
        # carrier id -> (subject id, event type, occurred at, fields under the DEK)
        self.facts: dict[str, tuple[str, str, datetime, bytes | None]] = {}
        # carrier id -> the recruiter's contact (sealed for police) under the DEK
        self.contacts: dict[str, bytes] = {}

    def close(self) -> None:
        """Nothing to let go of (the PostgreSQL vault closes its connection)."""

    def keep(self, kept: Sequence[Kept]) -> dict[str, Subject]:
        found = self.carried([k.carrier_id for k in kept])
        for k in kept:
            if k.carrier_id in found:
                continue
            lookup = self.keys.lookup(k.strength, k.pseudonym)
            subject_id = self.by_lookup.get(lookup)
            if subject_id is None:
                subject, wrapped = self.keys.new_subject(k.strength)
                self.people[subject.subject_id] = _Person(subject, lookup, wrapped, utcnow())
                self.by_lookup[lookup] = subject_id = subject.subject_id
            person = self.people[subject_id]
            assert person.wrapped is not None
            fields = self.keys.seal_fields(person.subject, person.wrapped, k)
            self.facts[k.carrier_id] = (subject_id, k.event_type, k.occurred_at, fields)
            if k.contact is not None:
                self.contacts[k.carrier_id] = self.keys.seal_contact(
                    person.subject, person.wrapped, k.carrier_id, k.contact
                )
            found[k.carrier_id] = person.subject
        return found

    def carried(self, carrier_ids: Sequence[str]) -> dict[str, Subject]:
        return {c: self.people[self.facts[c][0]].subject for c in carrier_ids if c in self.facts}

    def find(self, strength: str, pseudonym: str) -> Subject | None:
        subject_id = self.by_lookup.get(self.keys.lookup(strength, pseudonym))
        return self.people[subject_id].subject if subject_id is not None else None

    def disclose(self, subject: Subject) -> Disclosure:
        person = self.people.get(subject.subject_id)
        if person is None or person.subject != subject:
            raise VaultError("no such subject in the vault")
        facts = sorted(
            (at, c, kind, blob)
            for c, (s, kind, at, blob) in self.facts.items()
            if s == subject.subject_id
        )
        return Disclosure(
            subject,
            person.created_at,
            person.erased_at,
            person.erasure_ref,
            [
                VaultFact(
                    c,
                    kind,
                    at,
                    self.keys.open_fields(subject, person.wrapped, c, blob),
                    self.keys.open_contact(subject, person.wrapped, c, self.contacts.get(c)),
                )
                for at, c, kind, blob in facts
            ],
        )

    def contact(self, carrier_id: str) -> str | None:
        if carrier_id not in self.facts:
            raise VaultError("the vault never saw this message")
        person = self.people[self.facts[carrier_id][0]]
        blob = self.contacts.get(carrier_id)
        return self.keys.open_contact(person.subject, person.wrapped, carrier_id, blob)

    def erase(self, subject: Subject, reference: str) -> int:
        person = self.people.get(subject.subject_id)
        if person is None or person.subject != subject or person.erased_at is not None:
            raise VaultError("no such subject in the vault, or already erased")
        if person.lookup is not None:
            del self.by_lookup[person.lookup]
        person.lookup = person.wrapped = None
        person.erased_at, person.erasure_ref = utcnow(), reference
        shredded = 0
        for c, (s, kind, at, _) in list(self.facts.items()):
            if s == subject.subject_id:
                self.facts[c] = (s, kind, at, None)
                self.contacts.pop(c, None)
                shredded += 1
        return shredded

    def erased(self, subjects: Sequence[Subject]) -> dict[Subject, datetime]:
        found = {}
        for subject in subjects:
            person = self.people.get(subject.subject_id)
            if person is None or person.subject != subject or person.erased_at is None:
                continue
            found[subject] = person.erased_at
        return found

    def due(self, keep_for: Mapping[str, timedelta], now: datetime) -> list[Subject]:
        facts: dict[str, list[tuple[str, datetime]]] = {}
        for s, kind, at, _ in self.facts.values():
            facts.setdefault(s, []).append((kind, at))
        return [
            self.people[s].subject
            for s, f in sorted(facts.items())
            if self.people[s].erased_at is None and past_retention(f, keep_for, now)
        ]
