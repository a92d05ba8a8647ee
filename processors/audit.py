"""The audit trail: who published what and when, hash-chained so any change shows, and
complete, so any message taken in without a trace shows too.

Every message the hub receives leaves one entry, whatever became of it (stored,
redelivered, already recorded, dead-lettered), with its signer and where it is in
Kafka. Entries form one hash chain per topic partition (so workers on different
partitions never wait for each other): each entry's hash covers the previous hash of
its chain and the entry itself, and changing, removing or inserting any entry breaks
every hash after it, which :func:`verify_chains` finds. Entries written before chains
were per partition (chain ``None``) form one global chain, checked the same way.

Completeness (:func:`coverage`): every offset of a partition below the offset the
processor committed must have an entry; a committed offset past unaudited messages is
exactly how events were lost before (issue 7), and it shows as a gap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields

import orjson

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    topic: str
    partition: int
    offset: int
    outcome: str  # stored, redelivered, already_recorded, dead_lettered (replayed: before 0005)
    payload_sha256: str
    event_id: str | None = None
    event_type: str | None = None
    signer: str | None = None
    recorded_at: str | None = None
    reason: str | None = None

    def canonical(self) -> bytes:
        """The entry's fields in a fixed order, as JSON (what its hash covers)."""
        return orjson.dumps([getattr(self, name) for name in _FIELDS])

    @property
    def chain(self) -> str:
        """The hash chain this entry belongs to: its topic partition."""
        return chain_key(self.topic, self.partition)


_FIELDS = tuple(f.name for f in fields(AuditEntry))


def chain_key(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"


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


def by_chain(entries: Iterable[AuditEntry]) -> dict[str, list[AuditEntry]]:
    """Entries grouped by chain, each group in the order given."""
    grouped: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.chain, []).append(entry)
    return grouped


def link_all(
    heads: Mapping[str, str], entries: Sequence[AuditEntry]
) -> list[tuple[AuditEntry, str, str]]:
    """Link entries of several chains, each continuing from its head (GENESIS when new);
    returned chain by chain in sorted chain order."""
    out: list[tuple[AuditEntry, str, str]] = []
    for key, group in sorted(by_chain(entries).items()):
        out += chain(heads.get(key, GENESIS), group)
    return out


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    chains: int
    heads: dict[str, str] = field(default_factory=dict)
    broken_at: int | None = None  # sequence number of the first entry that fails
    broken_chain: str | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


AuditRow = tuple[int, str | None, AuditEntry, str, str]  # seq, chain, entry, previous, hash


def verify_chains(rows: Sequence[AuditRow]) -> ChainCheck:
    """Check (seq, chain, entry, previous hash, hash) rows given in sequence order."""
    heads: dict[str, str] = {}
    for seq, key, entry, stated_previous, stated in rows:
        name = key if key is not None else "(before 0005)"
        if key is not None and key != entry.chain:
            return _broken(rows, heads, seq, name, "is filed under another partition's chain")
        previous = heads.get(name, GENESIS)
        if stated_previous != previous:
            return _broken(rows, heads, seq, name, "does not follow the entry before it")
        if link(previous, entry) != stated:
            return _broken(rows, heads, seq, name, "its content does not match its hash")
        heads[name] = stated
    return ChainCheck(len(rows), len(heads), heads)


def _broken(
    rows: Sequence[AuditRow], heads: dict[str, str], seq: int, key: str, why: str
) -> ChainCheck:
    return ChainCheck(len(rows), len(heads), heads, seq, key, why)


# --- completeness -------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Whether the audit covers one partition from the start of its log to the offset
    the processor committed."""

    topic: str
    partition: int
    start: int  # the first offset still in the log
    committed: int  # the processor group's committed offset (the next one to read)
    missing: tuple[tuple[int, int], ...] = ()  # inclusive offset ranges without an entry

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def missing_count(self) -> int:
        return sum(high - low + 1 for low, high in self.missing)

    def describe(self) -> str:
        ranges = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.missing[:10])
        more = f" and {len(self.missing) - 10} more ranges" if len(self.missing) > 10 else ""
        return (
            f"{self.topic}[{self.partition}]: {self.missing_count} offset(s) below the committed"
            f" offset {self.committed} have no audit entry: {ranges}{more}"
        )


def coverage(
    topic: str, partition: int, start: int, committed: int, audited: Iterable[int]
) -> Coverage:
    """The offsets in [start, committed) that ``audited`` lacks, as ranges."""
    present = sorted({o for o in audited if start <= o < committed})
    missing: list[tuple[int, int]] = []
    expected = start
    for offset in present:
        if offset > expected:
            missing.append((expected, offset - 1))
        expected = offset + 1
    if expected < committed:
        missing.append((expected, committed - 1))
    return Coverage(topic, partition, start, committed, tuple(missing))
