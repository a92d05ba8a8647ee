"""One batch of messages: decode, check, fold into the ledger, raise alerts, store, all
or nothing; then publish what the batch produced.

Used by the live faust worker and by ``sinergi ledger rebuild``; knows nothing of
faust. Decoding failures go to the dead-letter sink with the reason; they never
stop the batch. What the hub publishes (alerts, case changes) is written to an
outbox in the batch's transaction and relayed after the commit, so an alert is
never lost between the database and Kafka, and never raised twice (its id is
stable).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from processors import alerts as alert_rules
from processors import ledger, metrics
from processors.alerts import Alert, AlertRules
from processors.audit import AuditEntry
from processors.authenticity import AuthenticityError
from processors.ledger import Case, Entity, Kind, Ref
from processors.ports import (
    Acknowledgement,
    DeadLetter,
    DeadLetterSink,
    LedgerStore,
    OutboxMessage,
    RawMessage,
    Relay,
    StoredEvent,
    UnitOfWork,
)
from schemas.access import may_publish
from schemas.crypto import CryptoError
from schemas.directory import Member
from schemas.model import (
    AlertAcknowledged,
    AlertRaised,
    CaseUpdated,
    Event,
    InterceptionRecorded,
    LtsaRegistrationRecorded,
    Person,
    PlacementRegistered,
    RepatriationRecorded,
    Sex,
    envelope_for,
)
from schemas.serde import Decoded, SerializationError, unframe

log = logging.getLogger(__name__)

# A recorded_at this far after the clock of the hub is a broken clock or a forgery.
MAX_CLOCK_SKEW = timedelta(minutes=10)
_CASE_VERSION = uuid.UUID("6c1f0a3e-2b7d-4f59-8e41-9d2a7c5b3e18")


@dataclass
class BatchResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    entities_changed: int = 0
    alerts_raised: list[Alert] = field(default_factory=list)
    alerts_withdrawn: list[str] = field(default_factory=list)
    published: int = 0
    seconds: float = 0.0
    # (topic, outcome) -> messages; outcome is stored, duplicate or dead_lettered.
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    stored_events: list[Event] = field(default_factory=list)


class InvalidEventError(ValueError):
    """A decodable event that breaks a rule every event must keep."""


_PSEUDONYM = re.compile(r"^[0-9a-f]{32}$")
_CASE_ID = re.compile(r"^(nik|weak):[0-9a-f]{32}$")
_PERSON_EVENTS = (
    InterceptionRecorded,
    PlacementRegistered,
    RepatriationRecorded,
    LtsaRegistrationRecorded,
)


def _check_person(path: str, person: Person) -> None:
    for name in ("nik_pseudonym", "weak_pseudonym"):
        value = getattr(person, name)
        if value is not None and not _PSEUDONYM.match(value):
            # Perhaps a raw NIK or name: refused, and the value is never echoed.
            raise InvalidEventError(f"{path}.{name} is not a pseudonym (32 hex characters)")


def check_identifiers(event: Event) -> None:
    """Person and recruiter references must be pseudonyms, case ids hub case ids."""
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, Person):
            _check_person(f.name, value)
        elif f.name.endswith("recruiter_ref") and value is not None:
            if not _PSEUDONYM.match(value):
                raise InvalidEventError(f"{f.name} is not a pseudonym (32 hex characters)")
        elif f.name == "recruiter_refs" and not all(_PSEUDONYM.match(v) for v in value):
            raise InvalidEventError("recruiter_refs holds a value that is not a pseudonym")
        elif f.name == "case_ids" and not all(_CASE_ID.match(v) for v in value):
            raise InvalidEventError("case_ids holds a value that is not a hub case id")
    if isinstance(event, _PERSON_EVENTS) and event.person.key is None:
        raise InvalidEventError(
            f"{event.event_type} names no person (neither nik_pseudonym nor weak_pseudonym)"
        )


def check(event: Event, now_ms: float) -> None:
    """Rules beyond the schema that every event must keep to enter the ledger."""
    env = event.envelope
    try:
        uuid.UUID(env.event_id)
    except ValueError:
        raise InvalidEventError("envelope.event_id is not a UUID") from None
    if env.occurred_at > env.recorded_at:
        raise InvalidEventError("envelope.occurred_at is after envelope.recorded_at")
    if env.recorded_at.timestamp() * 1000 > now_ms + MAX_CLOCK_SKEW.total_seconds() * 1000:
        raise InvalidEventError("envelope.recorded_at is in the future")
    if env.agency != event.agency.value:
        raise InvalidEventError(
            f"{event.event_type} must be published by a {event.agency.value}, not {env.agency}"
        )
    check_identifiers(event)


@dataclass(frozen=True)
class Outputs:
    """How the hub publishes: an encoder to outbox messages, and the relay that sends them.
    Absent when rebuilding (a rebuild publishes nothing)."""

    encode: Callable[[Event], OutboxMessage]
    relay: Relay
    unit: str


@dataclass(frozen=True)
class Security:
    """How the processor knows who sent what: the signature check, and how old a
    message may be when it reaches the hub before it counts as a replay."""

    authenticate: Callable[[RawMessage], Member]
    max_age: timedelta = timedelta(hours=24)


def check_signer(event: Event, signer: Member) -> None:
    """The signer must be the unit the envelope names, entitled to this event type,
    and a member when the event was recorded."""
    if event.envelope.unit != signer.member_id:
        raise InvalidEventError(
            f"envelope.unit is {event.envelope.unit} but the message is signed by"
            f" {signer.member_id}"
        )
    if not may_publish(signer.role, event.event_type):
        raise InvalidEventError(
            f"{signer.member_id} ({signer.role.value}) may not publish {event.event_type}"
        )
    if not signer.active_at(event.envelope.recorded_at):
        raise InvalidEventError(f"{signer.member_id} was revoked before this event was recorded")


@dataclass
class _Received:
    """One message's way through the batch."""

    msg: RawMessage
    payload_sha256: str
    stored: StoredEvent | None = None
    signer: str | None = None
    outcome: str = "dead_lettered"
    reason: str | None = None

    def audit(self) -> AuditEntry:
        event = self.stored.event if self.stored else None
        return AuditEntry(
            topic=self.msg.topic,
            partition=self.msg.partition,
            offset=self.msg.offset,
            outcome=self.outcome,
            payload_sha256=self.payload_sha256,
            event_id=event.event_id if event else None,
            event_type=event.event_type if event else None,
            signer=self.signer,
            recorded_at=event.envelope.recorded_at.isoformat() if event else None,
            reason=self.reason,
        )


class Pipeline:
    def __init__(
        self,
        decode: Callable[[bytes | None], Decoded],
        store: LedgerStore,
        dead_letters: DeadLetterSink,
        *,
        rules: AlertRules | None = None,
        outputs: Outputs | None = None,
        security: Security | None = None,
        clock_ms: Callable[[], float] = lambda: time.time() * 1000,
    ) -> None:
        self.decode = decode
        self.store = store
        self.dead_letters = dead_letters
        self.rules = rules or AlertRules()
        self.outputs = outputs
        self.security = security
        self.clock_ms = clock_ms

    # --- receiving: authenticate, decode, check ------------------------------------------

    def _reject(self, item: _Received, reason: str, result: BatchResult) -> None:
        msg = item.msg
        schema_id = None
        with contextlib.suppress(SerializationError):
            schema_id, _ = unframe(msg.value)
        self.dead_letters.add(
            DeadLetter(
                topic=msg.topic,
                partition=msg.partition,
                offset=msg.offset,
                reason=reason,
                payload_sha256=item.payload_sha256,
                payload_bytes=len(msg.value or b""),
                schema_id=schema_id,
            )
        )
        item.outcome, item.reason, item.stored = "dead_lettered", reason, None
        result.dead_lettered += 1
        result.outcomes[(msg.topic, "dead_lettered")] += 1
        # The reason names fields and rules, never values: safe to log.
        log.warning("dead-lettered %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, reason)

    def _receive(self, msg: RawMessage, now: float) -> StoredEvent:
        """The message as a checked event, or an exception saying why not."""
        signer = self.security.authenticate(msg) if self.security else None
        schema_id, event, record = self.decode(msg.value)
        check(event, now)
        if signer is not None:
            check_signer(event, signer)
        if self.security is not None and msg.timestamp_ms > 0:
            age = msg.timestamp_ms / 1000 - event.envelope.recorded_at.timestamp()
            if age > self.security.max_age.total_seconds():
                raise InvalidEventError(
                    f"replayed: recorded {age / 3600:.0f} h before it reached the hub"
                    f" (at most {self.security.max_age.total_seconds() / 3600:.0f} h)"
                )
        refs = ledger.refs(event)
        case_ids = [r.key for r in refs if r.kind is Kind.CASE]
        return StoredEvent(
            event,
            ledger.case_key(event) or (case_ids[0] if len(case_ids) == 1 else None),
            msg.topic,
            msg.partition,
            msg.offset,
            schema_id,
            record,
        )

    def _receive_all(self, batch: Sequence[RawMessage], result: BatchResult) -> list[_Received]:
        received = []
        seen: set[str] = set()
        now = self.clock_ms()
        for msg in batch:
            item = _Received(msg, hashlib.sha256(msg.value or b"").hexdigest())
            received.append(item)
            try:
                item.stored = self._receive(msg, now)
            except (
                SerializationError,
                InvalidEventError,
                ledger.LedgerError,
                AuthenticityError,
                CryptoError,
            ) as exc:
                self._reject(item, str(exc), result)
                continue
            item.signer = item.stored.event.envelope.unit if self.security else None
            event_id = item.stored.event.event_id
            if event_id in seen:
                self._reject(item, f"replayed: event {event_id} twice in one batch", result)
                item.outcome = "replayed"
                continue
            seen.add(event_id)
        return received

    # --- the batch -------------------------------------------------------------------------

    def process(self, batch: Sequence[RawMessage]) -> BatchResult:
        started = time.perf_counter()
        result = BatchResult(received=len(batch))
        received = self._receive_all(batch, result)
        # Dead letters are out before the batch commits: a crash in between repeats them
        # (each names its source offset), it never loses them.
        self.dead_letters.flush()
        candidates = [r for r in received if r.stored is not None]
        with self.store.unit_of_work() as uow:
            new_ids = uow.add_events([r.stored for r in candidates if r.stored])
            self._sort_out_duplicates(uow, candidates, new_ids, result)
            fresh = sorted(
                (r.stored.event for r in candidates if r.stored and r.outcome == "stored"),
                key=lambda e: (e.occurred_at, e.event_id),
            )
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
            uow.add_metrics(metrics.tally(metrics.event_cells(fresh)))
            uow.append_audit([r.audit() for r in received])
            if self.outputs is not None:
                uow.add_outbox(self._outputs(alerts.raised, changed.values()))
        # Replays found against the store are dead-lettered once the batch is safe.
        self.dead_letters.flush()
        if self.outputs is not None:
            result.published = self.outputs.relay.publish_pending()
        result.stored = len(fresh)
        result.entities_changed = len(changed)
        result.alerts_raised = alerts.raised
        result.alerts_withdrawn = alerts.withdrawn
        result.stored_events = fresh
        result.seconds = time.perf_counter() - started
        return result

    def _sort_out_duplicates(
        self,
        uow: UnitOfWork,
        candidates: Sequence[_Received],
        new_ids: set[str],
        result: BatchResult,
    ) -> None:
        """A known event id is a redelivery when it comes from the same place in Kafka
        (a replayed batch after a crash: a silent no-op), and a replay otherwise."""
        known = [r for r in candidates if r.stored and r.stored.event.event_id not in new_ids]
        positions = uow.positions([r.stored.event.event_id for r in known if r.stored])
        for item in candidates:
            assert item.stored is not None
            event_id = item.stored.event.event_id
            if event_id in new_ids:
                item.outcome = "stored"
                result.outcomes[(item.msg.topic, "stored")] += 1
            elif positions.get(event_id) == (item.msg.topic, item.msg.partition, item.msg.offset):
                item.outcome = "redelivered"
                result.duplicates += 1
                result.outcomes[(item.msg.topic, "duplicate")] += 1
            else:
                where = positions.get(event_id)
                first = f" (first at {where[0]}[{where[1]}]@{where[2]})" if where else ""
                self._reject(item, f"replayed: event {event_id} is already in the ledger{first}",
                             result)  # fmt: skip
                item.outcome = "replayed"

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
            ref: ledger.apply_many(known.get(ref), ref, events) for ref, events in by_ref.items()
        }

    def _outputs(self, raised: Iterable[Alert], changed: Iterable[Entity]) -> list[OutboxMessage]:
        assert self.outputs is not None
        now = datetime.now(UTC)
        events: list[Event] = [alert_event(a, self.outputs.unit, now) for a in raised]
        events += [
            case_event(e, self.outputs.unit, now)
            for e in changed
            if isinstance(e, Case) and e.first_seen is not None
        ]
        return [self.outputs.encode(e) for e in events]


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
