"""Reading the audit trail back from PostgreSQL, for ``sinergi audit verify``: the
entries in sequence order, which offsets of a partition have an entry, and which
messages were dead-lettered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from processors.audit import AuditEntry, AuditRow, Coverage, coverage

DEAD_LETTERED = ("dead_lettered", "replayed")  # "replayed": its name before migration 0005


def _connect(conninfo: str, schema: str | None) -> psycopg.Connection[Any]:
    conn = psycopg.connect(conninfo)
    if schema is not None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    return conn


def read_audit(conninfo: str, *, schema: str | None = None) -> list[AuditRow]:
    """The whole audit trail in sequence order: (seq, chain, entry, previous hash, hash)."""
    with _connect(conninfo, schema) as conn:
        rows = conn.execute(
            "SELECT seq, chain, topic, kafka_partition, kafka_offset, outcome, payload_sha256,"
            " event_id, event_type, signer, recorded_at, reason, prev_hash, hash"
            " FROM audit_log ORDER BY seq"
        ).fetchall()
    return [
        (
            r[0],
            r[1],
            AuditEntry(
                topic=r[2],
                partition=r[3],
                offset=r[4],
                outcome=r[5],
                payload_sha256=r[6],
                event_id=r[7],
                event_type=r[8],
                signer=r[9],
                recorded_at=r[10],
                reason=r[11],
            ),
            r[12],
            r[13],
        )
        for r in rows
    ]


def partition_coverage(
    conninfo: str, partitions: dict[tuple[str, int], tuple[int, int]]
) -> list[Coverage]:
    """For each (topic, partition) -> (log start offset, committed offset), whether the
    audit has an entry for every offset in between. Counts first; the offsets themselves
    are read only for a partition that falls short."""
    found = []
    with psycopg.connect(conninfo) as conn:
        for (topic, partition), (start, committed) in sorted(partitions.items()):
            if committed <= start:
                found.append(Coverage(topic, partition, start, committed))
                continue
            where = (
                " FROM audit_log WHERE topic = %s AND kafka_partition = %s"
                " AND kafka_offset >= %s AND kafka_offset < %s"
            )
            args = (topic, partition, start, committed)
            row = conn.execute(f"SELECT count(DISTINCT kafka_offset){where}", args).fetchone()
            if row is not None and row[0] == committed - start:
                found.append(Coverage(topic, partition, start, committed))
                continue
            offsets = [r[0] for r in conn.execute(f"SELECT DISTINCT kafka_offset{where}", args)]
            found.append(coverage(topic, partition, start, committed, offsets))
    return found


def dead_lettered(conninfo: str) -> set[tuple[str, int, int]]:
    """Positions (topic, partition, offset) the audit says were dead-lettered."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT DISTINCT topic, kafka_partition, kafka_offset FROM audit_log"
            " WHERE outcome = ANY(%s)",
            (list(DEAD_LETTERED),),
        ).fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def outbox_values(conninfo: str, topic: str) -> list[bytes]:
    """Values still waiting in the outbox for ``topic`` (committed, not yet relayed)."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute("SELECT value FROM outbox WHERE topic = %s", (topic,)).fetchall()
    return [bytes(r[0]) for r in rows]


@dataclass(frozen=True)
class DeadLetterEntry:
    """A refused message as the audit trail keeps it: where, who signed it, why (the
    reason names the rule and the field, never the content)."""

    logged_at: datetime
    topic: str
    partition: int
    offset: int
    signer: str | None
    event_type: str | None
    reason: str | None


def dead_letter_entries(
    conninfo: str, *, since: datetime | None = None, limit: int = 50
) -> tuple[list[DeadLetterEntry], int]:
    """The newest ``limit`` dead letters logged since ``since`` (all when None), newest
    first, and how many there are in all (read through ``v_audit_log``: the analyst may)."""
    params = {"outcomes": list(DEAD_LETTERED), "since": since, "limit": limit}
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT logged_at, topic, kafka_partition, kafka_offset, signer, event_type, reason"
            " FROM v_audit_log WHERE outcome = ANY(%(outcomes)s)"
            " AND (%(since)s::timestamptz IS NULL OR logged_at >= %(since)s)"
            " ORDER BY seq DESC LIMIT %(limit)s",
            params,
        ).fetchall()
        [(total,)] = conn.execute(
            "SELECT count(*) FROM v_audit_log WHERE outcome = ANY(%(outcomes)s)"
            " AND (%(since)s::timestamptz IS NULL OR logged_at >= %(since)s)",
            params,
        ).fetchall()
    return [DeadLetterEntry(*row) for row in rows], int(total)
