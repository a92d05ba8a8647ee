"""The breach clock in PostgreSQL (migration 0012): suspicions, whose ``detected_at``
starts the 3 x 24 hours and never moves, and what the watch checked and how far it read.
Written as the administrator (``sinergi_owner``); see :mod:`sinergi.breach`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from sinergi.breach import BreachError, Check, Evidence, LogPosition, Outcome, merge_detail

_WATCH_LOCK = 0x53494E42  # "SINB": one watch writes at a time


@dataclass(frozen=True)
class Suspicion:
    suspicion_id: str
    kind: str
    subject: str
    detected_at: datetime
    notify_by: datetime
    first_evidence_at: datetime | None
    last_seen_at: datetime
    occurrences: int
    detail: dict[str, Any]
    closed_at: datetime | None
    closed_by: str | None
    close_note: str | None
    notified: bool | None

    @property
    def open(self) -> bool:
        return self.closed_at is None


_COLUMNS = (
    "suspicion_id::text AS suspicion_id, kind, subject, detected_at, notify_by,"
    " first_evidence_at, last_seen_at, occurrences, detail, closed_at, closed_by,"
    " close_note, notified"
)


class BreachTransaction:
    """One watch's writes, in one transaction under the watch's lock."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self.conn = conn

    def position(self, source: str) -> LogPosition | None:
        row = self.conn.execute(
            "SELECT position FROM breach_watch WHERE source = %s", (source,)
        ).fetchone()
        return LogPosition.from_json(row["position"] if row else None)

    def suspect(self, evidence: Evidence) -> tuple[str, bool]:
        """Count ``evidence`` into the open suspicion of its kind and subject, or open one
        (its clock starts now); return its id and whether it is new."""
        row = self.conn.execute(
            "SELECT suspicion_id::text AS id, detail, first_evidence_at FROM breach_suspicions"
            " WHERE kind = %s AND subject = %s AND closed_at IS NULL FOR UPDATE",
            (evidence.kind.value, evidence.subject),
        ).fetchone()
        if row is None:
            new = self.conn.execute(
                "INSERT INTO breach_suspicions (kind, subject, first_evidence_at, last_seen_at,"
                " occurrences, detail) VALUES (%s, %s, %s, coalesce(%s, now()), %s, %s)"
                " RETURNING suspicion_id::text AS id",
                (
                    evidence.kind.value, evidence.subject, evidence.first_at, evidence.last_at,
                    evidence.occurrences, Jsonb(evidence.detail),
                ),
            ).fetchone()  # fmt: skip
            assert new is not None
            return str(new["id"]), True
        first = row["first_evidence_at"]
        if evidence.first_at is not None and (first is None or evidence.first_at < first):
            first = evidence.first_at
        self.conn.execute(
            "UPDATE breach_suspicions SET occurrences = occurrences + %s,"
            " last_seen_at = greatest(last_seen_at, coalesce(%s, now())),"
            " first_evidence_at = %s, detail = %s WHERE suspicion_id = %s",
            (
                evidence.occurrences, evidence.last_at, first,
                Jsonb(merge_detail(row["detail"], evidence.detail)), row["id"],
            ),
        )  # fmt: skip
        return str(row["id"]), False

    def checked(
        self, check: Check, source: str, outcome: Outcome, position: LogPosition | None = None
    ) -> None:
        """That ``source`` was checked now; ``position``: how far its log was read."""
        ran = outcome is not Outcome.UNAVAILABLE
        self.conn.execute(
            "INSERT INTO breach_watch AS w (source, check_name, checked_at, succeeded_at,"
            " outcome, position) VALUES (%(source)s, %(check)s, now(),"
            " CASE WHEN %(ran)s THEN now() END, %(outcome)s, %(position)s)"
            " ON CONFLICT (source) DO UPDATE SET checked_at = now(),"
            " succeeded_at = CASE WHEN %(ran)s THEN now() ELSE w.succeeded_at END,"
            " outcome = EXCLUDED.outcome,"
            " position = CASE WHEN %(moved)s THEN EXCLUDED.position ELSE w.position END",
            {
                "source": source,
                "check": check.value,
                "ran": ran,
                "outcome": outcome.value,
                "position": Jsonb(position.to_json() if position else {}),
                "moved": position is not None,
            },
        )


class BreachStore:
    """Suspicions and the watch's checks, as the administrator."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    @contextmanager
    def locked(self) -> Iterator[BreachTransaction]:
        with psycopg.connect(self.conninfo, row_factory=dict_row) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WATCH_LOCK,))
            yield BreachTransaction(conn)

    def record(
        self, check: Check, source: str, outcome: Outcome, evidence: Sequence[Evidence]
    ) -> list[tuple[str, bool]]:
        """A check's result: its evidence as suspicions, and that it ran."""
        with self.locked() as tx:
            opened = [tx.suspect(item) for item in evidence]
            tx.checked(check, source, outcome)
        return opened

    def suspicions(self, *, only_open: bool = True) -> list[Suspicion]:
        with psycopg.connect(self.conninfo, row_factory=dict_row) as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM v_breach_suspicions"  # noqa: S608 - constant columns
                " WHERE closed_at IS NULL OR NOT %s ORDER BY detected_at, suspicion_id",
                (only_open,),
            ).fetchall()
        return [Suspicion(**row) for row in rows]

    def find(self, text: str) -> Suspicion:
        """The one suspicion whose id begins with ``text`` (8 hex digits or more)."""
        compact = text.strip().lower().replace("-", "")
        if not (8 <= len(compact) <= 32) or any(c not in "0123456789abcdef" for c in compact):
            raise BreachError("a suspicion is named by its id, or its first 8 or more hex digits")
        low = str(uuid.UUID(compact.ljust(32, "0")))
        high = str(uuid.UUID(compact.ljust(32, "f")))
        with psycopg.connect(self.conninfo, row_factory=dict_row) as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM v_breach_suspicions"  # noqa: S608 - constant columns
                " WHERE suspicion_id BETWEEN %s::uuid AND %s::uuid",
                (low, high),
            ).fetchall()
        if not rows:
            raise BreachError(f"no suspicion id begins with {compact}")
        if len(rows) > 1:
            raise BreachError(f"{len(rows)} suspicion ids begin with {compact}; give more of it")
        return Suspicion(**rows[0])

    def close(self, suspicion_id: str, *, by: str, note: str, notified: bool) -> Suspicion:
        """Close an open suspicion with a note; a closed one stays as it was closed."""
        with psycopg.connect(self.conninfo, row_factory=dict_row) as conn:
            done = conn.execute(
                "UPDATE breach_suspicions SET closed_at = now(), closed_by = %s,"
                " close_note = %s, notified = %s"
                " WHERE suspicion_id = %s AND closed_at IS NULL RETURNING suspicion_id",
                (by, note, notified, suspicion_id),
            ).fetchone()
        if done is None:
            raise BreachError(f"suspicion {suspicion_id} is already closed")
        return self.find(suspicion_id)
