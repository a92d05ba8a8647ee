"""Corrections and retractions: which version of each agency record the ledger holds.

Nothing is updated in place. A RecordCorrected carries the whole corrected record; the
ledger treats the record as replaced by it. A RecordRetracted takes the record out; it
is final. Of several corrections of one record, the latest (by its recorded_at, then its
event id) holds; a retraction beats every correction, whatever the order they arrive in.

Records and their amendments may arrive in any order (they can sit on different
partitions): an amendment that arrives before its record is kept as the record's
version (the record, when it comes, is then not folded), and one whose record's unit
turns out not to be the one it claimed is dropped when the record arrives. So the
ledger depends on the facts, not on the batches or the order they came in.

Pure: :func:`plan` turns one batch's new records and amendments, with what the store
knows of them, into what to fold in, what to take out, and how the counts move. The
version of a record that is in the ledger, with where it was folded and counted, is a
:class:`~processors.ports.FactVersion`, kept once a record is first amended.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from processors import ledger, metrics
from processors.ledger import Kind, Ref
from processors.person_rules import PersonRules
from processors.ports import FactVersion, MetricKey, StoredEvent
from schemas.model import AlertAcknowledged, Event, WithdrawalReason

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """What one batch does to the ledger."""

    additions: list[Event] = field(default_factory=list)  # fold these in as facts
    removals: dict[Ref, set[str]] = field(default_factory=lambda: defaultdict(set))
    cells: Counter[MetricKey] = field(default_factory=Counter)
    versions: dict[str, FactVersion] = field(default_factory=dict)  # rows to write
    # Which of the batch's events touched an entity (source "kind:key") and how: the
    # reason an alert of that entity is withdrawn.
    touched: dict[str, list[tuple[str, WithdrawalReason]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    received: dict[str, datetime] = field(default_factory=dict)
    # Acknowledgements taken back out (by record id): they stand on no entity, so the
    # store takes them back itself (remove_acknowledgements).
    acks_out: set[str] = field(default_factory=set)
    # Records that arrived after an amendment of theirs, by id: the amended version that
    # holds instead (its refs: where a corrected version stands; or retracted).
    standing: dict[str, FactVersion] = field(default_factory=dict)
    # The folded events' (day, cell) pairs, summed into ``cells`` once by ``settle``.
    _added: list[tuple[date, metrics.Cell]] = field(default_factory=list, repr=False)
    # The record (or corrected version) each root folds in from this batch: a later
    # amendment in the same batch takes it back out of ``additions``.
    _folded: dict[str, Event] = field(default_factory=dict, repr=False)

    def fold_in(
        self, event: Event, why: WithdrawalReason, by: str, rules: PersonRules, root: str = ""
    ) -> None:
        self.additions.append(event)
        self._folded[root or event.event_id] = event
        for ref in ledger.refs(event):
            self.touched[str(ref)].append((by, why))
        self._added.extend(metrics.event_cells([event], rules))

    def settle(self) -> Plan:
        """Sum the folded events' cells into ``cells`` (one tally for the batch)."""
        self.cells.update(metrics.tally(self._added))
        self._added.clear()
        return self

    def take_out(self, version: FactVersion, why: WithdrawalReason, by: str) -> None:
        folded = self._folded.pop(version.root_id, None)
        if folded is not None:  # folded in by this very batch: it never reaches the ledger
            self.additions = [e for e in self.additions if e is not folded]
        if version.record_type == AlertAcknowledged.event_type:
            self.acks_out.add(version.root_id)
        for text in version.refs:
            ref = ref_of(text)
            self.removals[ref].add(version.root_id)
            self.touched[text].append((by, why))
        for day, metric, labels, amount in version.cells:
            self.cells[MetricKey(day, metric, labels)] -= amount


def ref_of(text: str) -> Ref:
    kind, _, key = text.partition(":")
    return Ref(Kind(kind), key)


def _cells(event: Event, rules: PersonRules) -> Counter[MetricKey]:
    return metrics.tally(metrics.event_cells([event], rules))


def _version_of(
    root_id: str, record: Event, rules: PersonRules, head: tuple[str, tuple[datetime, str] | None]
) -> FactVersion:
    """The version row of ``record`` (the record itself, or a corrected version of it)."""
    cells = tuple(
        (key.day, key.metric, key.labels, amount) for key, amount in _cells(record, rules).items()
    )
    return FactVersion(
        root_id=root_id,
        record_type=record.event_type,
        record_unit=record.envelope.unit,
        head_id=head[0],
        head_order=head[1],
        refs=tuple(str(r) for r in ledger.refs(record)),
        cells=cells,
    )


def plan(
    records: Sequence[StoredEvent],
    amendments: Sequence[StoredEvent],
    versions: Mapping[str, FactVersion],
    stored: Mapping[str, Event],
    rules: PersonRules,
) -> Plan:
    """The batch's new records (``records``) and amendments (``amendments``, in any
    order), with the version rows the store holds for them (``versions``) and the
    amended records it holds that have none yet (``stored``)."""
    out = Plan()
    current = dict(versions)
    by_id = {s.event.event_id: s.event for s in records}
    for s in (*records, *amendments):
        if s.received_at is not None:
            out.received[s.event.event_id] = s.received_at
    for s in records:
        _take_record(s.event, current, out, rules)
    ordered = sorted(amendments, key=lambda s: (s.event.envelope.recorded_at, s.event.event_id))
    for s in ordered:
        _take_amendment(s, current, by_id, stored, out, rules)
    return out.settle()


def _take_record(
    record: Event, current: dict[str, FactVersion], out: Plan, rules: PersonRules
) -> None:
    version = current.get(record.event_id)
    if version is None:
        out.fold_in(record, WithdrawalReason.LATE_FACT, record.event_id, rules)
        return
    # Amended before it arrived: the amendment's version holds, if it was the record's own
    # unit's (or its agency administrator's) to make.
    if version.record_unit in ("", record.envelope.unit) and (
        version.record_type == record.event_type
    ):
        if not version.record_unit:
            out.versions[record.event_id] = current[record.event_id] = replace(
                version, record_unit=record.envelope.unit
            )
        out.standing[record.event_id] = current[record.event_id]
        return
    log.warning(
        "an amendment of %s claimed another unit or type than the record's: dropped",
        record.event_id,
    )
    if version.retracted_by is None:
        out.take_out(version, WithdrawalReason.RECORD_CORRECTED, version.head_id)
    out.fold_in(record, WithdrawalReason.LATE_FACT, record.event_id, rules)
    fresh = _version_of(record.event_id, record, rules, (record.event_id, None))
    out.versions[record.event_id] = current[record.event_id] = fresh


def _take_amendment(
    s: StoredEvent,
    current: dict[str, FactVersion],
    batch: Mapping[str, Event],
    stored: Mapping[str, Event],
    out: Plan,
    rules: PersonRules,
) -> None:
    amendment = s.amendment
    assert amendment is not None
    root, by = amendment.root_id, s.event.event_id
    version = current.get(root)
    if version is None:
        record = batch.get(root) or stored.get(root)
        if record is not None:
            version = _version_of(root, record, rules, (root, None))
    if amendment.corrected is None:  # a retraction: final
        why = WithdrawalReason.RECORD_RETRACTED
        if version is None:  # the record has not arrived: it will not be folded
            unit = s.event.envelope.unit
            version = FactVersion(root, amendment.record_type, _unit_claimed(unit), root, None)
        elif version.retracted_by is None:
            out.take_out(version, why, by)
        else:
            return  # retracted already
        out.versions[root] = current[root] = replace(version, retracted_by=by, refs=(), cells=())
        return
    why = WithdrawalReason.RECORD_CORRECTED
    order = (s.event.envelope.recorded_at, by)
    if version is not None:
        if version.retracted_by is not None:
            return  # a retraction is final
        if version.head_order is not None and order <= version.head_order:
            return  # a later correction holds
        out.take_out(version, why, by)
    out.fold_in(amendment.corrected, why, by, rules, root=root)
    # The corrected version (it keeps the record's id) is a fact since the hub received
    # the correction, whether the record came in this batch or an earlier one.
    if s.received_at is not None:
        out.received[root] = s.received_at
    else:
        out.received.pop(root, None)
    new = _version_of(root, amendment.corrected, rules, (by, order))
    out.versions[root] = current[root] = new


def _unit_claimed(unit: str) -> str:
    """The unit a retraction arriving before its record says published it: its signer,
    unless that is an agency administrator (who may retract any unit's record)."""
    return "" if unit.endswith("-admin") else unit


def roots(amendments: Iterable[StoredEvent]) -> set[str]:
    return {s.amendment.root_id for s in amendments if s.amendment is not None}
