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

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from processors import alerts as alert_rules
from processors import amendments, ledger
from processors.alerts import Alert, AlertRules
from processors.intake import (
    Intake,
    Outcome,
    Position,
    Received,
    Refusal,
    Security,
    case_of,
)
from processors.ledger import Case, Entity, Kind, Ref
from processors.outgoing import alert_event, case_event, dead_letter_event, withdrawal_event
from processors.people import Carrier, People
from processors.ports import (
    Acknowledgement,
    AlertChanges,
    Amendment,
    FactVersion,
    KnownEvent,
    LedgerStore,
    OutboxMessage,
    RawMessage,
    Relay,
    StoredEvent,
    UnitOfWork,
    Written,
)
from processors.vault import subjects_of
from schemas.access import may_amend, role_of_unit
from schemas.model import (
    AlertAcknowledged,
    Event,
)
from schemas.serde import Decoded

__all__ = ["BatchResult", "Outputs", "Pipeline", "Security"]

log = logging.getLogger(__name__)


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
    # What the batch put in the outbox (row ids and messages), for the relay to send.
    outbox: list[Written] = field(default_factory=list)

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
            outbox=self.outbox + other.outbox,
        )


@dataclass(frozen=True)
class Outputs:
    """How the hub publishes: an encoder to outbox messages, and the relay that sends them.
    Absent when rebuilding (a rebuild publishes nothing)."""

    encode: Callable[[Event], OutboxMessage]
    relay: Relay
    unit: str
    # Many at once, signed once (a Merkle root): what the live processor uses.
    encode_all: Callable[[Sequence[Event]], list[OutboxMessage]] | None = None

    def encode_many(self, events: Sequence[Event]) -> list[OutboxMessage]:
        if not events:
            return []
        if self.encode_all is not None:
            return self.encode_all(events)
        return [self.encode(e) for e in events]


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
        topic_prefix: str = "",
        people: People | None = None,
    ) -> None:
        self.intake = Intake(decode, security, topic_prefix)
        self.people = people
        self.store = store
        self.rules = rules or AlertRules()
        self.outputs = outputs
        self.clock_ms = clock_ms

    def close(self) -> None:
        """Let go of what the pipeline holds besides the store (the vault's connection)."""
        if self.people is not None:
            self.people.close()

    @property
    def security(self) -> Security | None:
        return self.intake.security

    def process(
        self,
        batch: Sequence[RawMessage],
        *,
        refuse: Mapping[Position, tuple[str, Refusal]] | None = None,
    ) -> BatchResult:
        """Take a batch in, in one transaction. ``refuse``: messages to dead-letter
        outright, position -> (reason, rule) (see :mod:`processors.isolation`)."""
        started = time.perf_counter()
        now_ms = self.clock_ms()
        received = self.prepare(batch, refuse=refuse, now_ms=now_ms)
        return self.apply(received, now_ms=now_ms, started=started)

    def prepare(
        self,
        batch: Sequence[RawMessage],
        *,
        refuse: Mapping[Position, tuple[str, Refusal]] | None = None,
        now_ms: float | None = None,
    ) -> list[Received]:
        """The first half of :meth:`process`, which reads nothing of the ledger: each
        message decoded, its signature and contract checked, its people resolved through
        the vault. So the next batch can be prepared (in another process: see
        :mod:`processors.ahead`) while this one is applied."""
        now_ms = self.clock_ms() if now_ms is None else now_ms
        received = self.intake.receive(batch, now_ms, refuse)
        if self.people is not None:
            self._resolve_people(received)
        return received

    def apply(
        self,
        received: list[Received],
        *,
        now_ms: float | None = None,
        started: float | None = None,
    ) -> BatchResult:
        """The second half of :meth:`process`: the prepared batch in one transaction."""
        started = time.perf_counter() if started is None else started
        now_ms = self.clock_ms() if now_ms is None else now_ms
        now = datetime.fromtimestamp(now_ms / 1000, UTC)
        with self.store.unit_of_work() as uow:
            fresh = self._store_events(uow, received)
            plan = self._plan(uow, fresh)
            changed, emptied = self._fold(uow, plan)
            uow.put_entities(changed.values())
            uow.remove_entities((ref.kind, ref.key) for ref in emptied)
            uow.put_versions(list(plan.versions.values()))
            # Alerts are a projection too: each changed entity's alerts are what its rules
            # say now; the first time an alert holds (and is due), it is published.
            holding, considered = self._evaluate(uow, changed)
            holding |= {str(ref): [] for ref in emptied}
            _unreached(holding, considered, fresh, plan.standing)
            alerts = uow.sync_alerts(holding, now, considered)
            if plan.acks_out:
                uow.remove_acknowledgements(plan.acks_out)
            uow.add_acknowledgements(_acknowledgements(plan.additions))
            uow.add_metrics(plan.cells)
            uow.append_audit([r.audit() for r in received])
            written: list[Written] = []
            if self.outputs is not None:
                out = self._outputs(received, alerts, changed.values(), plan, now)
                written = list(zip(uow.add_outbox(out), out, strict=True))
        events = [s.event for s in fresh]
        result = _result(received, events)
        result.outbox = written
        result.entities_changed = len(changed) + len(emptied)
        result.alerts_raised = alerts.raised
        result.alerts_withdrawn = [a.alert_id for _, a in alerts.withdrawn]
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

    def relay(self, written: Sequence[Written] | None = None) -> int:
        """Relay what a batch just committed from its own copy (:attr:`BatchResult.outbox`)
        and return how many of its rows still wait (see
        :meth:`processors.ports.Relay.publish`); with None, the whole outbox
        (:meth:`publish_pending`, nothing left waiting: 0)."""
        if self.outputs is None:
            return 0
        if written is None:
            self.outputs.relay.publish_pending()
            return 0
        return self.outputs.relay.publish(written)

    def raise_due(self) -> list[Alert]:
        """Raise the alerts held back for a grace period whose time has come (a timer:
        no new fact needs to arrive); they go to the outbox like any alert."""
        now = datetime.fromtimestamp(self.clock_ms() / 1000, UTC)
        with self.store.unit_of_work() as uow:
            due = uow.raise_due(now)
            if due and self.outputs is not None:
                unit = self.outputs.unit
                uow.add_outbox(self.outputs.encode_many([alert_event(a, unit, now) for a in due]))
        return due

    def _resolve_people(self, received: Sequence[Received]) -> None:
        """Open the batch's sealed people into the vault and give each event (and each
        corrected record) the vault's subject (see :mod:`processors.people`); a person
        that cannot be opened is refused with its message."""
        assert self.people is not None
        carriers: list[tuple[Received, Carrier]] = []
        for item in received:
            if item.stored is None:
                continue
            amendment = item.stored.amendment
            corrected = amendment.corrected if amendment else None
            about = corrected if corrected is not None else item.stored.event
            root = amendment.root_id if amendment is not None and corrected is not None else None
            carriers.append((item, Carrier(item.stored.event.event_id, about, root)))
        resolved = self.people.resolve([c for _, c in carriers])
        for (item, carrier), event in zip(carriers, resolved, strict=True):
            stored = item.stored
            assert stored is not None
            if isinstance(event, str):
                item.refuse(event, Refusal.SEALED)
                continue
            if event is carrier.event:
                continue
            amendment = stored.amendment
            if amendment is not None and amendment.corrected is not None:
                amendment = replace(amendment, corrected=event)
                item.stored = replace(stored, amendment=amendment,
                                      case_id=case_of(stored.event, amendment))  # fmt: skip
            else:
                item.stored = replace(stored, event=event, case_id=case_of(event, None))

    # --- the steps of the transaction ---------------------------------------------------

    def _store_events(self, uow: UnitOfWork, received: Sequence[Received]) -> list[StoredEvent]:
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
        candidates = _authorised(uow, list(first.values()))
        new_ids = uow.add_events([r.stored for r in candidates if r.stored is not None])
        taken = [r.stored.event.event_id for r in candidates if r.stored is not None]
        known = uow.known([event_id for event_id in taken if event_id not in new_ids])
        fresh = []
        for item in candidates:
            assert item.stored is not None
            event_id = item.stored.event.event_id
            if event_id in new_ids:
                item.outcome = Outcome.STORED
                fresh.append(item.stored)
            else:
                _sort_out(item, known.get(event_id))
        return sorted(fresh, key=lambda s: (s.event.occurred_at, s.event.event_id))

    def _plan(self, uow: UnitOfWork, fresh: Sequence[StoredEvent]) -> amendments.Plan:
        """Which versions of which records the batch folds in and takes out."""
        records = [s for s in fresh if s.amendment is None]
        amending = [s for s in fresh if s.amendment is not None]
        person = self.rules.person
        wanted = amendments.roots(amending)
        if not wanted:
            # Usually nothing was amended: one look for records amended before they came.
            versions = uow.versions([s.event.event_id for s in records]) if records else {}
            return amendments.plan(records, [], versions, {}, person)
        versions = uow.versions(sorted(wanted | {s.event.event_id for s in records}))
        in_batch = {s.event.event_id for s in records}
        missing = sorted(wanted - set(versions) - in_batch)
        stored = uow.load_events(missing) if missing else {}
        if stored and self.people is not None:
            # Kept as they came (sealed): the vault knows their subjects by event id.
            ids = list(stored)
            found = self.people.resolve([Carrier(k, stored[k]) for k in ids])
            stored = {k: e for k, e in zip(ids, found, strict=True) if not isinstance(e, str)}
        return amendments.plan(records, amending, versions, stored, person)

    def _fold(self, uow: UnitOfWork, plan: amendments.Plan) -> tuple[dict[Ref, Entity], list[Ref]]:
        """Load the entities the plan touches, take out and fold in; return those changed
        and those left without any fact."""
        by_ref = ledger.by_ref(plan.additions)
        touched = set(by_ref) | set(plan.removals)
        recruiters = {ref for ref in touched if ref.kind is Kind.RECRUITER}
        wanted: dict[Kind, set[str]] = defaultdict(set)
        for ref in touched:
            wanted[ref.kind].add(ref.key)
        known: dict[Ref, Entity] = {}
        for kind in sorted(wanted):
            for key, entity in uow.get_entities(kind, sorted(wanted[kind])).items():
                known[Ref(kind, key)] = entity
        changed: dict[Ref, Entity] = {}
        emptied: list[Ref] = []
        # One derivation per entity per batch, however many of its facts the batch holds.
        for ref in sorted(touched - recruiters):
            before = known.get(ref)
            after = ledger.revise(before, ref, by_ref.get(ref, ()), plan.removals.get(ref, ()),
                                  self.rules.person, plan.received)  # fmt: skip
            if after is None:
                if before is not None:
                    emptied.append(ref)
            elif after is not before:
                changed[ref] = after
        more, gone = self._fold_recruiters(uow, sorted(recruiters), by_ref, plan, known)
        return changed | more, emptied + gone

    def _fold_recruiters(
        self,
        uow: UnitOfWork,
        refs: Sequence[Ref],
        by_ref: Mapping[Ref, Sequence[Event]],
        plan: amendments.Plan,
        known: Mapping[Ref, Entity],
    ) -> tuple[dict[Ref, Entity], list[Ref]]:
        """Recruiters, counted forward: their new facts stored apart, only the facts within
        the rules' reach of them loaded (a busy recruiter's whole timeline would make every
        batch's cost grow with history). After a correction or retraction, recounted from
        all their facts."""
        if not refs:
            return {}, []
        reach = alert_rules.reach(self.rules)
        new = {
            ref: [
                ledger.fact_for(Kind.RECRUITER, e, plan.received.get(e.event_id))
                for e in by_ref.get(ref, ())
            ]
            for ref in refs
        }
        recount = {ref for ref in refs if ref in plan.removals}
        ranges: dict[str, tuple[datetime, datetime] | None] = {}
        for ref in refs:
            times = [f.occurred_at for f in new[ref]]
            ranges[ref.key] = None if ref in recount else (min(times) - reach, max(times) + reach)
        stored = uow.recruiter_facts(ranges)
        candidates = {
            ref.key: {m for f in new[ref] for m in ledger.recruiter_members(f)}
            for ref in refs
            if ref not in recount
        }
        linked = uow.known_members(candidates)
        changed: dict[Ref, Entity] = {}
        emptied: list[Ref] = []
        fresh_facts: dict[str, list[ledger.Fact]] = {}
        fresh_members: dict[str, set[tuple[str, str]]] = {}
        for ref in refs:
            mine = {f.event_id for f in new[ref]}
            if ref in recount:
                gone = plan.removals[ref]
                kept = [f for f in stored.get(ref.key, []) if f.event_id not in gone | mine]
                facts = tuple(sorted([*kept, *new[ref]], key=ledger.Fact.sort_key))
                uow.reset_recruiter(
                    ref.key, facts, {m for f in facts for m in ledger.recruiter_members(f)}
                )
                if facts:
                    changed[ref] = ledger.derive_recruiter(ref.key, facts)
                elif ref in known:
                    emptied.append(ref)
                continue
            window = [f for f in stored.get(ref.key, []) if f.event_id not in mine]
            facts = tuple(sorted([*window, *new[ref]], key=ledger.Fact.sort_key))
            fresh = candidates[ref.key] - linked.get(ref.key, set())
            before = known.get(ref)
            start = before if isinstance(before, ledger.Recruiter) else ledger.Recruiter(ref.key)
            kinds = Counter(kind for kind, _ in fresh)
            changed[ref] = ledger.advance_recruiter(start, facts, new[ref], kinds)
            fresh_facts[ref.key] = new[ref]
            fresh_members[ref.key] = fresh
        uow.add_recruiter_facts(fresh_facts, fresh_members)
        return changed, emptied

    def _evaluate(
        self, uow: UnitOfWork, changed: Mapping[Ref, Entity]
    ) -> tuple[dict[str, list[Alert]], dict[str, set[str]]]:
        """Each changed entity's alerts; a recruiter counted forward decides only the
        alerts its loaded facts can (see processors.alerts.evaluate_scoped)."""
        partial = {
            str(ref): e.recruiter_ref
            for ref, e in changed.items()
            if isinstance(e, ledger.Recruiter) and e.changed is not None
        }
        # Of a recruiter's raised alerts the scoped rules read only its network alert; its
        # tip matches grow with its history and are not read.
        network = [alert_rules.network_alert_id(r) for r in partial.values()]
        raised = uow.raised_alerts(list(partial), only=network) if partial else {}
        holding: dict[str, list[Alert]] = {}
        considered: dict[str, set[str]] = {}
        for ref, entity in changed.items():
            source = str(ref)
            found, decided = alert_rules.evaluate_scoped(entity, self.rules, raised.get(source, ()))
            holding[source] = found
            if decided is not None:
                considered[source] = decided
        return holding, considered

    def _outputs(
        self,
        received: Iterable[Received],
        alerts: AlertChanges,
        changed: Iterable[Entity],
        plan: amendments.Plan,
        now: datetime,
    ) -> list[OutboxMessage]:
        assert self.outputs is not None
        unit = self.outputs.unit
        events: list[Event] = [
            dead_letter_event(r, unit, now) for r in received if r.outcome is Outcome.DEAD_LETTERED
        ]
        events += [alert_event(a, unit, now) for a in alerts.raised]
        events += [
            withdrawal_event(alert, plan.touched.get(source, ()), unit, now)
            for source, alert in alerts.withdrawn
        ]
        cases = [e for e in changed if isinstance(e, Case) and e.first_seen is not None]
        erased = self._erased(c.case_id for c in cases)
        events += [case_event(c, unit, now) for c in cases if c.case_id not in erased]
        return self.outputs.encode_many(events)

    def _erased(self, case_ids: Iterable[str]) -> set[str]:
        """Which of these cases are of people erased (the vault knows): their
        ``PersonErased`` stays their last word on ``hub.cases``, so no ``CaseUpdated``
        follows it, while the ledger still folds what later facts say of the case. The
        erasure takes the case's entity lock (:func:`sinks.postgres.lock_entities`), held
        here since the batch loaded the case: an erasure either committed before this
        looks, or waits until the batch's outbox rows are in, ahead of its own."""
        if self.people is None:
            return set()
        subjects = subjects_of(case_ids)
        if not subjects:
            return set()
        gone = self.people.vault.erased(list(subjects.values()))
        return {case_id for case_id, subject in subjects.items() if subject in gone}


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
            Refusal.REPLAYED,
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
            result.refusals[item.rule or Refusal.INVALID] += 1
    return result


def _authorised(uow: UnitOfWork, candidates: list[Received]) -> list[Received]:
    """Amendments whose record the hub holds, checked against it: the same type, the
    record's own unit or its agency's administrator, and for a correction, the record's
    unit kept. (An amendment of a record not here yet is checked when it comes: see
    processors.amendments.) The others are refused; the rest go on."""
    amending = {r.stored.amendment.root_id for r in candidates
                if r.stored is not None and r.stored.amendment is not None}  # fmt: skip
    if not amending:
        return candidates
    in_batch = {r.stored.event.event_id: r.stored.event for r in candidates if r.stored}
    known = uow.known(sorted(amending - set(in_batch)))
    records = {k: (v.unit, v.event_type) for k, v in known.items()}
    records |= {k: (e.envelope.unit, e.event_type) for k, e in in_batch.items() if k in amending}
    kept = []
    for item in candidates:
        amendment = item.stored.amendment if item.stored else None
        record = records.get(amendment.root_id) if amendment else None
        if amendment is not None and record is not None:
            why = _amendment_refused(item, amendment, *record)
            if why is not None:
                item.refuse(why, Refusal.SIGNER)
                continue
        kept.append(item)
    return kept


def _amendment_refused(
    item: Received, amendment: Amendment, record_unit: str | None, record_type: str | None
) -> str | None:
    assert item.stored is not None
    signer = item.stored.event.envelope.unit
    verb = "retract" if amendment.retraction else "correct"
    if record_type != amendment.record_type:
        return f"{item.stored.event.event_type}: record_type is not the type of the record"
    role = role_of_unit(signer)
    if (
        role is None
        or record_unit is None
        or not may_amend(signer, role, record_unit, amendment.record_type)
    ):
        return (
            f"{signer} may not {verb} a record of another unit (only the unit that"
            " published it or its agency's administrator may)"
        )
    if amendment.corrected is not None and amendment.corrected.envelope.unit != record_unit:
        return "record: envelope.unit is not the unit that published the record"
    return None


def _unreached(
    holding: dict[str, list[Alert]],
    considered: dict[str, set[str]],
    fresh: Sequence[StoredEvent],
    standing: Mapping[str, FactVersion],
) -> None:
    """A record's own alerts (:func:`processors.alerts.record_alerts`) on a case the batch
    did not change: the record did not reach that case (a correction in the same batch
    moved it to another person), so an alert the sentinel raised there on its arrival
    (:mod:`processors.sentinel`) does not hold: decided, and withdrawn if raised. Not so
    for a record whose correction came first and still stands on that case (``standing``):
    it reached the case then, and its alerts there are that batch's."""
    for stored in fresh:
        if stored.case_id and stored.event.event_type in alert_rules.RECORD_ALERTING:
            source = str(Ref(Kind.CASE, stored.case_id))
            version = standing.get(stored.event.event_id)
            if version is not None and version.retracted_by is None and source in version.refs:
                continue
            if source not in holding or source in considered:
                holding.setdefault(source, [])
                considered.setdefault(source, set()).update(
                    alert_rules.record_alert_ids(stored.event.event_id)
                )


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
