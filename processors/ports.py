"""The narrow interfaces the processors need from storage and the outside world.

PostgreSQL implements them in :mod:`sinks.postgres`, memory in :mod:`sinks.memory`
(for unit tests and quick checks); the processors import only these protocols.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from processors.alerts import Alert
from processors.audit import AuditEntry
from processors.ledger import Entity, Fact, Kind
from schemas.model import Event


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Amendment:
    """What a RecordCorrected or RecordRetracted does: to which record (its id and type),
    and, for a correction, the whole corrected record (under the record's id)."""

    root_id: str
    record_type: str
    corrected: Event | None = None  # None: a retraction

    @property
    def retraction(self) -> bool:
        return self.corrected is None


@dataclass(frozen=True)
class StoredEvent:
    """An event as the hub keeps it: with where it came from and which case it joined."""

    event: Event
    case_id: str | None
    topic: str
    partition: int
    offset: int
    schema_id: int
    # The Avro dict form, when the decoder kept it (saves converting the event back).
    record: dict[str, Any] | None = None
    # SHA-256 of what the event says, without when it was recorded (see
    # schemas.codec.content_sha256): the same fact sent again has the same hash.
    content_sha256: str | None = None
    # When the hub received it (the broker's LogAppendTime).
    received_at: datetime | None = None
    # For a RecordCorrected or RecordRetracted: what it amends.
    amendment: Amendment | None = None


@dataclass(frozen=True)
class KnownEvent:
    """What the store knows of an event id already taken: where it was first read, who
    published it and what it said (its content hash)."""

    topic: str
    partition: int
    offset: int
    unit: str | None
    content_sha256: str | None
    event_type: str | None = None

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)


@dataclass(frozen=True)
class MetricKey:
    """One cell of the daily metrics table."""

    day: date
    metric: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Acknowledgement:
    alert_id: str
    event_id: str
    acknowledged_at: datetime
    unit: str
    officer_ref: str
    action: str


@dataclass(frozen=True)
class AlertChanges:
    raised: list[Alert]  # to publish: new, due, or holding again after a withdrawal
    # (source, alert) raised before and no longer holding (a late fact, an amendment).
    withdrawn: list[tuple[str, Alert]]


@dataclass(frozen=True)
class FactVersion:
    """Which version of an agency's record the ledger holds, once it was amended.

    ``root_id`` is the record's own event id; ``head_id`` the event whose version holds
    (the record itself, or the latest RecordCorrected), ordered by ``head_order``;
    ``retracted_by`` the RecordRetracted that took it out (final). ``refs`` and
    ``cells`` say where the holding version was folded and counted, so that the next
    amendment can take it out again."""

    root_id: str
    record_type: str
    record_unit: str  # the unit that published the record
    head_id: str
    head_order: tuple[datetime, str] | None  # None: the record itself
    retracted_by: str | None = None
    refs: tuple[str, ...] = ()  # "kind:key" of the entities the holding version is on
    cells: tuple[tuple[date, str, tuple[tuple[str, str], ...], int], ...] = ()


@dataclass(frozen=True)
class OutboxMessage:
    """A message the hub will publish once the batch that made it has committed."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class EncodedMessage(Protocol):
    """A signed message as a publisher encodes it (:class:`producers.publisher.Encoded`)."""

    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes: ...
    @property
    def value(self) -> bytes: ...
    @property
    def headers(self) -> Iterable[tuple[str, bytes]]: ...


# An outbox row as the batch that wrote it knows it: the row's id (the truth, in the
# database) and its message (the batch's own copy, sent without reading the row back).
Written = tuple[int, OutboxMessage]


def outbox_message(encoded: EncodedMessage) -> OutboxMessage:
    """The outbox's copy of a message the hub's publisher encoded (and signed)."""
    return OutboxMessage(encoded.topic, encoded.key, encoded.value, tuple(encoded.headers))


class UnitOfWork(Protocol):
    """One batch, all or nothing."""

    def add_events(self, events: Sequence[StoredEvent]) -> set[str]:
        """Append events; return the ids that were new (a known id is a no-op)."""
        ...

    def get_entities(self, kind: Kind, keys: Iterable[str]) -> dict[str, Entity]: ...

    def put_entities(self, entities: Iterable[Entity]) -> None: ...

    def sync_alerts(
        self,
        holding: Mapping[str, Sequence[Alert]],
        now: datetime,
        considered: Mapping[str, set[str]] | None = None,
    ) -> AlertChanges:
        """Make the alerts of each source entity (by ref) exactly ``holding``: raise new
        ones that are due (``due_at`` None or past ``now``), hold back the others until
        they are due, update changed ones, withdraw raised ones that no longer hold, and
        drop held-back ones that no longer hold (never raised, never withdrawn). For a
        source in ``considered``, only the alerts with those ids are decided: the others
        stand as they are (a recruiter evaluated on a window of its facts)."""
        ...

    def raised_alerts(
        self, sources: Sequence[str], only: Collection[str] | None = None
    ) -> dict[str, list[Alert]]:
        """The alerts raised and not withdrawn of each source; with ``only``, of those
        alert ids alone (a source's alerts grow with its history; a caller that needs
        one of them should not read them all)."""
        ...

    def claim_alerts(self, alerts: Sequence[tuple[str, Alert]]) -> list[Alert]:
        """Keep each (source, alert) as raised, unless the store knows the alert already
        (raised, held or withdrawn) or has stored one of its causes (the ledger decided
        it); return the alerts kept, which the caller publishes before the unit commits.
        The sentinel's (:mod:`processors.sentinel`): an alert claimed so is not raised
        again by :meth:`sync_alerts`, and is withdrawn there if it does not hold. Also
        under a concurrent :meth:`sync_alerts` raising the same alert, one of the two
        raises it."""
        ...

    def recruiter_facts(
        self, ranges: Mapping[str, tuple[datetime, datetime] | None]
    ) -> dict[str, list[Fact]]:
        """Each recruiter's stored facts within the time range (None: all of them)."""
        ...

    def known_members(
        self, candidates: Mapping[str, set[tuple[str, str]]]
    ) -> dict[str, set[tuple[str, str]]]:
        """Which of the candidates (kind, value) each recruiter is linked to already."""
        ...

    def add_recruiter_facts(
        self,
        facts: Mapping[str, Sequence[Fact]],
        members: Mapping[str, set[tuple[str, str]]],
    ) -> None:
        """Store recruiters' new facts and the cases, groups, files they newly link."""
        ...

    def reset_recruiter(
        self, key: str, facts: Sequence[Fact], members: set[tuple[str, str]]
    ) -> None:
        """Replace all of a recruiter's facts and links (a recount after an amendment)."""
        ...

    def raise_due(self, now: datetime) -> list[Alert]:
        """Raise the held-back alerts whose time has come (they still hold)."""
        ...

    def remove_entities(self, refs: Iterable[tuple[Kind, str]]) -> None:
        """Delete entities left without facts (their records retracted or moved)."""
        ...

    def load_events(self, event_ids: Sequence[str]) -> dict[str, Event]:
        """Stored events by id, as the event store keeps them."""
        ...

    def versions(self, root_ids: Sequence[str]) -> dict[str, FactVersion]:
        """The versions of amended records (absent: never amended)."""
        ...

    def put_versions(self, versions: Sequence[FactVersion]) -> None: ...

    def add_acknowledgements(self, acks: Sequence[Acknowledgement]) -> list[Acknowledgement]:
        """Keep each acknowledgement (one per record: a corrected one replaces its
        record's), and the first of each alert; return those that were an alert's first."""
        ...

    def remove_acknowledgements(self, event_ids: Collection[str]) -> None:
        """Take back the acknowledgements of these records (retracted, or corrected: the
        corrected version is added after); an alert whose first it was falls back to its
        next one, or to none."""
        ...

    def add_metrics(self, increments: Mapping[MetricKey, int]) -> None: ...

    def add_outbox(self, messages: Sequence[OutboxMessage]) -> list[int]:
        """Put messages in the outbox, in this order; return their rows' ids (ascending)."""
        ...

    def known(self, event_ids: Sequence[str]) -> dict[str, KnownEvent]:
        """What is stored of each of these event ids (absent: not stored)."""
        ...

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries to the audit trail: one hash chain per topic partition."""
        ...


class LedgerStore(Protocol):
    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...


class Relay(Protocol):
    """Publishes what committed batches left in the outbox (raises TransientError when
    it cannot: the outbox keeps the messages)."""

    def publish_pending(self) -> int:
        """Send every row of the outbox, oldest first, and take them out; return how many."""
        ...

    def publish(self, written: Sequence[Written]) -> int:
        """Send rows a batch has just committed from the batch's own copy of them (nothing
        read back), and take them out. A row is sent only while it is still in the outbox
        (another relay may have sent it) and no older row of the same topic and key waits
        there (nothing of a case overtakes what was queued before it). Return how many of
        these rows it left waiting, for :meth:`publish_pending`."""
        ...
