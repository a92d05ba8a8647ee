"""One batch of messages, all or nothing: receive (see :mod:`processors.intake`), then in
one transaction store the new events, fold them into the ledger, raise and withdraw
alerts, count, audit every message and put what the hub publishes in the outbox.

Used by the live worker and by ``sinergi ledger rebuild``; knows nothing of Kafka
clients or PostgreSQL. Nothing leaves the batch before its transaction commits: a
refused message's dead letter is an outbox row like an alert, so the audit trail
and the dead-letter topic always agree, and a crash repeats the whole batch or
none of it. The outbox is relayed after the commit (:meth:`Pipeline.publish_pending`).

A fault that passes (a :class:`~schemas.faults.TransientError`: the database or the
registry unreachable) leaves the batch as if it never ran; the caller tries it again.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from processors import alerts as alert_rules
from processors import ledger, metrics
from processors.alerts import Alert, AlertRules
from processors.intake import Intake, Outcome, Position, Received, Security
from processors.ledger import Case, Entity, Kind, Ref
from processors.ports import (
    Acknowledgement,
    KnownEvent,
    LedgerStore,
    OutboxMessage,
    RawMessage,
    Relay,
    UnitOfWork,
)
from schemas.model import (
    AlertAcknowledged,
    AlertRaised,
    CaseUpdated,
    Event,
    MessageDeadLettered,
    Sex,
    envelope_for,
)
from schemas.serde import Decoded, SerializationError, unframe

__all__ = ["BatchResult", "Outputs", "Pipeline", "Security"]

log = logging.getLogger(__name__)

_CASE_VERSION = uuid.UUID("6c1f0a3e-2b7d-4f59-8e41-9d2a7c5b3e18")
_DEAD_LETTER = uuid.UUID("2f0c7d1e-8a4b-4e6f-9b3a-5c1d7e9f0a2b")


@dataclass
class BatchResult:
    received: int = 0
    stored: int = 0
    redelivered: int = 0
    already_recorded: int = 0
    dead_lettered: int = 0
    entities_changed: int = 0
    alerts_raised: list[Alert] = field(default_factory=list)
    alerts_withdrawn: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # (topic, outcome) -> messages; the outcomes of processors.intake.Outcome.
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    # refusal rule -> messages dead-lettered for it (a bounded set of names).
    refusals: Counter[str] = field(default_factory=Counter)
    stored_events: list[Event] = field(default_factory=list)

    def merge(self, other: BatchResult) -> BatchResult:
        """Both results as one (the halves of a bisected batch)."""
        return BatchResult(
            received=self.received + other.received,
            stored=self.stored + other.stored,
            redelivered=self.redelivered + other.redelivered,
            already_recorded=self.already_recorded + other.already_recorded,
            dead_lettered=self.dead_lettered + other.dead_lettered,
            entities_changed=self.entities_changed + other.entities_changed,
            alerts_raised=self.alerts_raised + other.alerts_raised,
            alerts_withdrawn=self.alerts_withdrawn + other.alerts_withdrawn,
            seconds=self.seconds + other.seconds,
            outcomes=self.outcomes + other.outcomes,
            refusals=self.refusals + other.refusals,
            stored_events=self.stored_events + other.stored_events,
        )


@dataclass(frozen=True)
class Outputs:
    """How the hub publishes: an encoder to outbox messages, and the relay that sends them.
    Absent when rebuilding (a rebuild publishes nothing)."""

    encode: Callable[[Event], OutboxMessage]
    relay: Relay
    unit: str


class Pipeline:
    def __init__(
        self,
        decode: Callable[[bytes | None], Decoded],
        store: LedgerStore,
        *,
        rules: AlertRules | None = None,
        outputs: Outputs | None = None,
        security: Security | None = None,
        clock_ms: Callable[[], float] = lambda: time.time() * 1000,
    ) -> None:
        self.intake = Intake(decode, security)
        self.store = store
        self.rules = rules or AlertRules()
        self.outputs = outputs
        self.clock_ms = clock_ms

    @property
    def security(self) -> Security | None:
        return self.intake.security

    def process(
        self,
        batch: Sequence[RawMessage],
        *,
        refuse: Mapping[Position, tuple[str, str]] | None = None,
    ) -> BatchResult:
        """Take a batch in, in one transaction. ``refuse``: messages to dead-letter
        outright, position -> (reason, rule) (see :mod:`processors.isolation`)."""
        started = time.perf_counter()
        received = self.intake.receive(batch, self.clock_ms(), refuse)
        with self.store.unit_of_work() as uow:
            fresh = self._store_events(uow, received)
            changed = self._fold(uow, fresh)
            uow.put_entities(changed.values())
            # Alerts are a projection too: each changed entity's alerts are what its rules
            # say now; the first time an alert holds, it is published.
            holding = {
                f"{e.kind.value}:{e.key}": alert_rules.evaluate(e, self.rules)
                for e in changed.values()
            }
            alerts = uow.sync_alerts(holding)
            uow.add_acknowledgements(_acknowledgements(fresh))
            uow.add_metrics(metrics.tally(metrics.event_cells(fresh, self.rules.person)))
            uow.append_audit([r.audit() for r in received])
            if self.outputs is not None:
                uow.add_outbox(self._outputs(received, alerts.raised, changed.values()))
        result = _result(received, fresh)
        result.entities_changed = len(changed)
        result.alerts_raised = alerts.raised
        result.alerts_withdrawn = alerts.withdrawn
        result.seconds = time.perf_counter() - started
        for item in received:
            if item.outcome is Outcome.DEAD_LETTERED:
                # The reason names fields and rules, never values (safe_reason): safe to log.
                log.warning(
                    "dead-lettered %s[%d]@%d: %s",
                    item.msg.topic,
                    item.msg.partition,
                    item.msg.offset,
                    item.reason,
                )
        return result

    def publish_pending(self) -> int:
        """Relay what committed batches left in the outbox (raises TransientError when
        Kafka or the database cannot be reached: the outbox keeps it)."""
        return self.outputs.relay.publish_pending() if self.outputs is not None else 0

    # --- the steps of the transaction ---------------------------------------------------

    def _store_events(self, uow: UnitOfWork, received: Sequence[Received]) -> list[Event]:
        """Append the new events; sort out the rest: a redelivery (the same Kafka position
        again, after a crash) and an honest re-send (same id, unit and content: a desk
        retrying, a file imported again) are no-ops; the same id with another unit or
        content is a replay."""
        first: dict[str, Received] = {}
        for item in received:
            if item.stored is None:
                continue
            event_id = item.stored.event.event_id
            earlier = first.get(event_id)
            if earlier is None:
                first[event_id] = item
            else:
                _sort_out(item, _known_from(earlier))
        candidates = list(first.values())
        new_ids = uow.add_events([r.stored for r in candidates if r.stored is not None])
        taken = [r.stored.event.event_id for r in candidates if r.stored is not None]
        known = uow.known([event_id for event_id in taken if event_id not in new_ids])
        fresh = []
        for item in candidates:
            assert item.stored is not None
            event_id = item.stored.event.event_id
            if event_id in new_ids:
                item.outcome = Outcome.STORED
                fresh.append(item.stored.event)
            else:
                _sort_out(item, known.get(event_id))
        return sorted(fresh, key=lambda e: (e.occurred_at, e.event_id))

    def _fold(self, uow: UnitOfWork, fresh: Sequence[Event]) -> dict[Ref, Entity]:
        """Load the entities the events name, fold the events in, return those changed."""
        by_ref = ledger.by_ref(fresh)
        wanted: dict[Kind, set[str]] = defaultdict(set)
        for ref in by_ref:
            wanted[ref.kind].add(ref.key)
        known: dict[Ref, Entity] = {}
        for kind in sorted(wanted):
            for key, entity in uow.get_entities(kind, sorted(wanted[kind])).items():
                known[Ref(kind, key)] = entity
        # One derivation per entity per batch, however many of its facts the batch holds.
        return {
            ref: ledger.apply_many(known.get(ref), ref, events, self.rules.person)
            for ref, events in by_ref.items()
        }

    def _outputs(
        self, received: Iterable[Received], raised: Iterable[Alert], changed: Iterable[Entity]
    ) -> list[OutboxMessage]:
        assert self.outputs is not None
        now = datetime.now(UTC)
        unit = self.outputs.unit
        events: list[Event] = [
            dead_letter_event(r, unit, now) for r in received if r.outcome is Outcome.DEAD_LETTERED
        ]
        events += [alert_event(a, unit, now) for a in raised]
        events += [
            case_event(e, unit, now)
            for e in changed
            if isinstance(e, Case) and e.first_seen is not None
        ]
        return [self.outputs.encode(e) for e in events]


def _known_from(item: Received) -> KnownEvent:
    assert item.stored is not None
    return KnownEvent(*item.position, item.stored.event.envelope.unit, item.stored.content_sha256)


def _sort_out(item: Received, known: KnownEvent | None) -> None:
    """What a message whose event id is already taken is."""
    if known is not None and known.position == item.position:
        item.outcome = Outcome.REDELIVERED
    elif (
        known is not None
        and item.stored is not None
        and known.content_sha256 == item.stored.content_sha256
        # The unit that published it (with signatures checked: the signer, see intake).
        and known.unit == item.stored.event.envelope.unit
    ):
        item.outcome = Outcome.ALREADY_RECORDED
    else:
        where = f" (first at {known.topic}[{known.partition}]@{known.offset})" if known else ""
        item.refuse(
            f"replayed: the event id is already in the ledger with another unit or content{where}",
            "replayed",
        )


def _result(received: Sequence[Received], fresh: list[Event]) -> BatchResult:
    result = BatchResult(received=len(received), stored_events=fresh)
    for item in received:
        result.outcomes[(item.msg.topic, item.outcome.value)] += 1
        if item.outcome is Outcome.STORED:
            result.stored += 1
        elif item.outcome is Outcome.REDELIVERED:
            result.redelivered += 1
        elif item.outcome is Outcome.ALREADY_RECORDED:
            result.already_recorded += 1
        else:
            result.dead_lettered += 1
            result.refusals[item.rule or "invalid"] += 1
    return result


def _acknowledgements(events: Iterable[Event]) -> list[Acknowledgement]:
    return [
        Acknowledgement(
            alert_id=e.alert_id,
            event_id=e.event_id,
            acknowledged_at=e.occurred_at,
            unit=e.envelope.unit,
            officer_ref=e.officer_ref,
            action=e.action.value,
        )
        for e in events
        if isinstance(e, AlertAcknowledged)
    ]


def dead_letter_event(item: Received, unit: str, now: datetime) -> MessageDeadLettered:
    """Where a refused message is and why; never its payload. Its id names the position
    and the payload, so a relayed copy sent twice is recognisably the same."""
    msg = item.msg
    schema_id = None
    with contextlib.suppress(SerializationError):
        schema_id, _ = unframe(msg.value)
    name = f"{msg.topic}/{msg.partition}/{msg.offset}/{item.payload_sha256}"
    return MessageDeadLettered(
        envelope=envelope_for(
            MessageDeadLettered,
            unit=unit,
            occurred_at=now,
            recorded_at=now,
            event_id=str(uuid.uuid5(_DEAD_LETTER, name)),
        ),
        source_topic=msg.topic,
        source_partition=msg.partition,
        source_offset=msg.offset,
        reason=item.reason or "refused",
        payload_sha256=item.payload_sha256,
        payload_bytes=len(msg.value or b""),
        schema_id=schema_id,
    )


def alert_event(alert: Alert, unit: str, now: datetime) -> AlertRaised:
    return AlertRaised(
        envelope=envelope_for(
            AlertRaised,
            unit=unit,
            occurred_at=alert.triggered_at,
            recorded_at=max(now, alert.triggered_at),
            event_id=alert.alert_id,
        ),
        alert_id=alert.alert_id,
        rule=alert.rule,
        severity=alert.severity,
        case_ids=alert.case_ids,
        recruiter_ref=alert.recruiter_ref,
        group_ref=alert.group_ref,
        cause_event_ids=alert.cause_event_ids,
        summary=alert.summary,
        triggered_at=alert.triggered_at,
        sealed_contacts=alert.sealed_contacts,
    )


def case_event(case: Case, unit: str, now: datetime) -> CaseUpdated:
    """The case's change event; its id names this version of the case."""
    assert case.first_seen is not None and case.last_seen is not None
    version = f"{case.case_id}/{len(case.facts)}/{case.facts[-1].event_id}"
    return CaseUpdated(
        envelope=envelope_for(
            CaseUpdated,
            unit=unit,
            occurred_at=case.last_seen,
            recorded_at=max(now, case.last_seen),
            event_id=str(uuid.uuid5(_CASE_VERSION, version)),
        ),
        case_id=case.case_id,
        match=case.match,
        status=case.status,
        sex=Sex(case.sex),
        origin_regency=case.origin_regency,
        minor_when_first_seen=case.minor_when_first_seen,
        interceptions=case.interceptions,
        repatriations=case.repatriations,
        placements=case.placements,
        investigation=case.investigation,
        recruiters=tuple(sorted(case.recruiters)),
        first_seen=case.first_seen,
        last_seen=case.last_seen,
        fact_count=len(case.facts),
    )
