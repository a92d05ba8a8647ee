"""Amending what a desk published: a correction (the whole record again, under the id of
the record it corrects) or a retraction (the record's id and a reason code).

The forms build a correction like any record (a row with ``corrects``); these values
say what to publish, and :class:`~producers.publisher.Publisher` wraps them in the
RecordCorrected or RecordRetracted the hub reads, signed by the desk's member: the
unit that published the record, or its agency's administrator (``<agency>-admin``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from schemas import avro
from schemas.model import (
    AMENDABLE,
    EVENT_TYPES,
    Agency,
    Envelope,
    Event,
    RecordCorrected,
    RecordRetracted,
    RetractionReason,
    utcnow,
)


@dataclass(frozen=True)
class Correction:
    """The whole corrected record; its event id is the id of the record it corrects."""

    record: Event

    @property
    def event_id(self) -> str:
        return self.record.event_id


@dataclass(frozen=True)
class Retraction:
    """Take the record ``event_id`` (of type ``record_type``) out of the ledger."""

    event_id: str
    record_type: str
    reason: RetractionReason


Recorded = Event | Correction | Retraction

AMENDABLE_TYPES = frozenset(cls.event_type for cls in AMENDABLE)


def as_recorded(
    events: Sequence[Event], rows: Iterable[Mapping[str, str | None]]
) -> list[Recorded]:
    """The events a form built from ``rows``, those of rows with ``corrects`` marked as
    corrections (their event id is the one they correct)."""
    return marked(events, corrected_ids(rows))


def corrected_ids(rows: Iterable[Mapping[str, str | None]]) -> frozenset[str]:
    """The event ids the ``corrects`` column of ``rows`` names."""
    return frozenset((row.get("corrects") or "").strip().lower() for row in rows) - {""}


def marked(events: Sequence[Event], corrects: frozenset[str]) -> list[Recorded]:
    """``events``, those whose id is in ``corrects`` as corrections."""
    return [Correction(e) if e.event_id in corrects else e for e in events]


def amendment(
    item: Recorded,
    unit: str,
    encode_record: Callable[[Event], bytes],
    key_of: Callable[[str], str | None],
    *,
    now: datetime | None = None,
) -> Event:
    """What to publish for ``item``, signed by ``unit``: the event itself, or the
    RecordCorrected carrying the corrected record framed by ``encode_record`` (as it
    would be published alone), or the RecordRetracted. Either is keyed like its record
    (``key_of``: the key a record was sent under, when the desk knows it)."""
    if not isinstance(item, Correction | Retraction):
        return item
    now = now or utcnow()
    if isinstance(item, Correction):
        record = item.record
        return RecordCorrected(
            envelope=_envelope(RecordCorrected, record.agency, unit, now),
            corrects_event_id=record.event_id,
            record_type=record.event_type,
            record=encode_record(record),
            key=record.partition_key(),
        )
    return RecordRetracted(
        envelope=_envelope(RecordRetracted, EVENT_TYPES[item.record_type].agency, unit, now),
        retracts_event_id=item.event_id,
        record_type=item.record_type,
        reason=item.reason,
        key=key_of(item.event_id) or item.event_id,
    )


def _envelope(cls: type[Event], agency: Agency, unit: str, now: datetime) -> Envelope:
    """An amendment's envelope: its own new id, the amending member, the record's agency."""
    return Envelope.new(
        agency=agency,
        unit=unit,
        occurred_at=now,
        recorded_at=now,
        schema_version=avro.load(cls.event_type).version,
    )
