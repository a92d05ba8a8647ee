"""The audit trail: who published what and when, hash-chained so any change shows.

Every message the hub receives leaves one entry, whatever became of it (stored,
redelivered, replayed, dead-lettered), with its signer and where it is in Kafka. Each
entry's hash covers the previous entry's hash and the entry itself; changing,
removing or inserting any entry breaks every hash after it, which
:func:`verify_chain` finds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

import orjson

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    topic: str
    partition: int
    offset: int
    outcome: str  # stored, redelivered, replayed, dead_lettered
    payload_sha256: str
    event_id: str | None = None
    event_type: str | None = None
    signer: str | None = None
    recorded_at: str | None = None
    reason: str | None = None

    def canonical(self) -> bytes:
        """The entry's fields in a fixed order, as JSON (what its hash covers)."""
        return orjson.dumps([getattr(self, name) for name in _FIELDS])


_FIELDS = tuple(f.name for f in fields(AuditEntry))


def link(previous: str, entry: AuditEntry) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + entry.canonical()).hexdigest()


def chain(previous: str, entries: Iterable[AuditEntry]) -> list[tuple[AuditEntry, str, str]]:
    """(entry, previous hash, hash) for each entry, continuing from ``previous``."""
    out = []
    for entry in entries:
        digest = link(previous, entry)
        out.append((entry, previous, digest))
        previous = digest
    return out


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    head: str
    broken_at: int | None = None  # sequence number of the first entry that fails
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(rows: Sequence[tuple[int, AuditEntry, str, str]]) -> ChainCheck:
    """Check (seq, entry, previous hash, hash) rows in sequence order."""
    previous = GENESIS
    for seq, entry, stated_previous, stated in rows:
        if stated_previous != previous:
            return ChainCheck(len(rows), previous, seq, "does not follow the entry before it")
        if link(previous, entry) != stated:
            return ChainCheck(len(rows), previous, seq, "its content does not match its hash")
        previous = stated
    return ChainCheck(len(rows), previous)
