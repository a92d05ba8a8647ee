"""PostgreSQL: the append-only event store, the case ledger and the daily metrics.

A batch is one transaction: events are copied into a staging table and inserted
with ``ON CONFLICT DO NOTHING`` (a known event id is a no-op), the cases it
touches are locked, folded and upserted, and the metric cells incremented. No
round trip per event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_loads

from processors.ledger import Case, case_from_json, case_to_json
from processors.ports import MetricKey, StoredEvent
from schemas.codec import to_dict

log = logging.getLogger(__name__)

MIGRATIONS = resources.files("sinks") / "migrations"
_MIGRATION_LOCK = 0x53494E45  # "SINE": one migrator at a time


def to_json(value: Any) -> str:
    """Compact JSON (orjson: datetimes, dates and enums natively, keys sorted)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped, in order."""
    found = []
    for entry in MIGRATIONS.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text()))
    return sorted(found)


def migrate(conninfo: str) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction; return their names."""
    applied: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, name, sql in migrations():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                applied.append(name)
                log.info("applied migration %s", name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    return applied


# SQL below is composed only from these constant column lists; values always travel as
# parameters or through COPY (hence ruff's S608 is silenced for this file).
_EVENT_COLUMNS = (
    "event_id, event_type, case_id, occurred_at, recorded_at, agency, unit,"
    " topic, kafka_partition, kafka_offset, schema_id, payload"
)
_CASE_COLUMNS = (
    "case_id, match_kind, status, sex, origin_regency, minor, interceptions,"
    " first_seen, last_seen, state"
)


class PostgresUnitOfWork:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def add_events(self, events: Sequence[StoredEvent]) -> set[str]:
        if not events:
            return set()
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY stage_events ({_EVENT_COLUMNS}) FROM STDIN") as copy:
                for s in events:
                    env = s.event.envelope
                    copy.write_row(
                        (
                            env.event_id,
                            s.event.event_type,
                            s.case_id,
                            env.occurred_at,
                            env.recorded_at,
                            env.agency,
                            env.unit,
                            s.topic,
                            s.partition,
                            s.offset,
                            s.schema_id,
                            to_json(s.record if s.record is not None else to_dict(s.event)),
                        )
                    )
            cur.execute(
                f"INSERT INTO events ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS} FROM stage_events"
                " ON CONFLICT (event_id) DO NOTHING RETURNING event_id::text"
            )
            new = {row[0] for row in cur.fetchall()}
            cur.execute("TRUNCATE stage_events")
        return new

    def get_cases(self, case_ids: Iterable[str]) -> dict[str, Case]:
        wanted = sorted(set(case_ids))
        if not wanted:
            return {}
        # Serialise concurrent workers per case, including cases that do not exist yet;
        # locks are taken in sorted order so two batches cannot deadlock.
        self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(%s::text[]) AS k",
            (wanted,),
        )
        rows = self.conn.execute(
            "SELECT state FROM cases WHERE case_id = ANY(%s)", (wanted,)
        ).fetchall()
        return {c.case_id: c for c in (case_from_json(row[0]) for row in rows)}

    def put_cases(self, cases: Iterable[Case]) -> None:
        rows = list(cases)
        if not rows:
            return
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY stage_cases ({_CASE_COLUMNS}) FROM STDIN") as copy:
                for case in rows:
                    copy.write_row(
                        (
                            case.case_id,
                            case.match,
                            case.status,
                            case.sex,
                            case.origin_regency,
                            case.minor_when_first_seen,
                            case.interceptions,
                            case.first_seen,
                            case.last_seen,
                            to_json(case_to_json(case)),
                        )
                    )
            updates = ", ".join(
                f"{c} = EXCLUDED.{c}" for c in _CASE_COLUMNS.replace(" ", "").split(",")[1:]
            )
            cur.execute(
                f"INSERT INTO cases ({_CASE_COLUMNS}) SELECT {_CASE_COLUMNS} FROM stage_cases"
                f" ON CONFLICT (case_id) DO UPDATE SET {updates}, updated_at = now()"
            )
            cur.execute("TRUNCATE stage_cases")

    def add_metrics(self, increments: Mapping[MetricKey, int]) -> None:
        if not increments:
            return
        rows = [
            (key.day, key.metric, to_json(dict(key.labels)), value)
            for key, value in sorted(
                increments.items(), key=lambda kv: (kv[0].day, kv[0].metric, kv[0].labels)
            )
        ]
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO metrics_daily (day, metric, labels, value)"
                " VALUES (%s, %s, %s::jsonb, %s)"
                " ON CONFLICT (day, metric, labels)"
                " DO UPDATE SET value = metrics_daily.value + EXCLUDED.value",
                rows,
            )


class PostgresLedgerStore:
    """The ledger store of one worker: one connection, one transaction per batch."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self.conninfo)
            set_json_loads(orjson.loads, conn)
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS stage_events"
                " (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS stage_cases"
                " (LIKE cases INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            conn.commit()
            self._conn = conn
        return self._conn

    @contextmanager
    def unit_of_work(self) -> Iterator[PostgresUnitOfWork]:
        conn = self._connection()
        try:
            with conn.transaction():
                yield PostgresUnitOfWork(conn)
        except psycopg.OperationalError:
            # A broken connection is replaced on the next batch.
            conn.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
