"""PostgreSQL: the append-only event store, the ledger's entities, alerts and metrics.

A batch is one transaction: events are copied into a staging table and inserted
with ``ON CONFLICT DO NOTHING`` (a known event id is a no-op), the entities it
touches are locked, folded and upserted, new alerts and the first
acknowledgements recorded, the metric cells incremented, and the messages to
publish put in the outbox. No round trip per event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import set_json_loads

from processors import ledger
from processors.alerts import Alert
from processors.audit import GENESIS, AuditEntry, chain
from processors.ledger import Case, Entity, Group, Investigation, Kind, Recruiter
from processors.ports import (
    Acknowledgement,
    AlertChanges,
    MetricKey,
    OutboxMessage,
    StoredEvent,
)
from schemas import crypto
from schemas.codec import to_dict

log = logging.getLogger(__name__)

MIGRATIONS = resources.files("sinks") / "migrations"
_MIGRATION_LOCK = 0x53494E45  # "SINE": one migrator at a time
_AUDIT_LOCK = 0x41554449  # "AUDI": one writer extends the audit chain at a time


def to_json(value: Any) -> str:
    """Compact JSON (orjson: datetimes, dates and enums natively, keys sorted)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def read_audit(
    conninfo: str, *, schema: str | None = None
) -> list[tuple[int, AuditEntry, str, str]]:
    """The whole audit trail in sequence order, for verification."""
    with psycopg.connect(conninfo) as conn:
        if schema is not None:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        rows = conn.execute(
            "SELECT seq, topic, kafka_partition, kafka_offset, outcome, payload_sha256, event_id,"
            " event_type, signer, recorded_at, reason, prev_hash, hash FROM audit_log ORDER BY seq"
        ).fetchall()
    return [
        (
            r[0],
            AuditEntry(
                topic=r[1],
                partition=r[2],
                offset=r[3],
                outcome=r[4],
                payload_sha256=r[5],
                event_id=r[6],
                event_type=r[7],
                signer=r[8],
                recorded_at=r[9],
                reason=r[10],
            ),
            r[11],
            r[12],
        )
        for r in rows
    ]


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped, in order."""
    found = []
    for entry in MIGRATIONS.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text()))
    return sorted(found)


def migrate(conninfo: str, *, schema: str | None = None) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction; return their names.

    ``schema``: apply them in that schema instead of ``public`` (the rebuild's projection).
    """
    applied: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if schema is not None:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, name, text in migrations():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(text.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                applied.append(name)
                log.info("applied migration %s", name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    return applied


# --- how each kind of entity is stored ----------------------------------------------------


@dataclass(frozen=True)
class EntityTable:
    table: str
    key: str
    columns: tuple[str, ...]  # besides key and state
    row: Callable[[Any], tuple[Any, ...]]


def _case_row(c: Case) -> tuple[Any, ...]:
    return (
        c.match,
        c.status,
        c.sex,
        c.origin_regency,
        c.minor_when_first_seen,
        c.interceptions,
        c.placements,
        c.registrations,
        c.repatriations,
        c.tips,
        c.investigation,
        c.first_seen,
        c.last_seen,
    )


def _recruiter_row(r: Recruiter) -> tuple[Any, ...]:
    return (
        len(r.case_ids),
        r.interceptions,
        r.tips,
        len(r.groups),
        len(r.investigations),
        r.suspect_status,
        r.first_seen,
        r.last_seen,
    )


def _group_row(g: Group) -> tuple[Any, ...]:
    return (len(g.case_ids), g.first_seen, g.last_seen)


def _investigation_row(i: Investigation) -> tuple[Any, ...]:
    return (
        i.state,
        i.offence,
        len(i.case_ids),
        i.opened_at,
        i.prosecuted_at,
        i.prosecutor_office,
    )


TABLES: dict[Kind, EntityTable] = {
    Kind.CASE: EntityTable(
        "cases",
        "case_id",
        (
            "match_kind",
            "status",
            "sex",
            "origin_regency",
            "minor",
            "interceptions",
            "placements",
            "registrations",
            "repatriations",
            "tips",
            "investigation",
            "first_seen",
            "last_seen",
        ),
        _case_row,
    ),
    Kind.RECRUITER: EntityTable(
        "recruiters",
        "recruiter_ref",
        (
            "people",
            "interceptions",
            "tips",
            "groups",
            "investigations",
            "suspect_status",
            "first_seen",
            "last_seen",
        ),
        _recruiter_row,
    ),
    Kind.GROUP: EntityTable(
        "groups", "group_key", ("people", "first_seen", "last_seen"), _group_row
    ),
    Kind.INVESTIGATION: EntityTable(
        "investigations",
        "investigation_ref",
        ("stage", "offence", "people", "opened_at", "prosecuted_at", "prosecutor_office"),
        _investigation_row,
    ),
}

_EVENT_COLUMNS = (
    "event_id", "event_type", "case_id", "occurred_at", "recorded_at", "agency", "unit",
    "topic", "kafka_partition", "kafka_offset", "schema_id", "payload",
)  # fmt: skip


def _ident_list(names: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


class PostgresUnitOfWork:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def add_events(self, events: Sequence[StoredEvent]) -> set[str]:
        if not events:
            return set()
        cols = _ident_list(_EVENT_COLUMNS)
        with self.conn.cursor() as cur:
            with cur.copy(sql.SQL("COPY stage_events ({}) FROM STDIN").format(cols)) as copy:
                for s in events:
                    env = s.event.envelope
                    record = s.record if s.record is not None else to_dict(s.event)
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
                            to_json(record),
                        )
                    )
            cur.execute(
                sql.SQL(
                    "INSERT INTO events ({c}) SELECT {c} FROM stage_events"
                    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id::text"
                ).format(c=cols)
            )
            new = {row[0] for row in cur.fetchall()}
            cur.execute("TRUNCATE stage_events")
        return new

    def get_entities(self, kind: Kind, keys: Iterable[str]) -> dict[str, Entity]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        spec = TABLES[kind]
        # Serialise concurrent workers per entity, including ones that do not exist yet;
        # locks are taken in sorted order so two batches cannot deadlock.
        self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s || k, 0))"
            " FROM unnest(%s::text[]) AS k",
            (f"{kind.value}:", wanted),
        )
        rows = self.conn.execute(
            sql.SQL("SELECT state FROM {} WHERE {} = ANY(%s)").format(
                sql.Identifier(spec.table), sql.Identifier(spec.key)
            ),
            (wanted,),
        ).fetchall()
        found = (ledger.from_json(row[0]) for row in rows)
        return {e.key: e for e in found}

    def put_entities(self, entities: Iterable[Entity]) -> None:
        by_kind: dict[Kind, list[Entity]] = {}
        for entity in entities:
            by_kind.setdefault(entity.kind, []).append(entity)
        for kind, items in sorted(by_kind.items()):
            self._upsert(TABLES[kind], sorted(items, key=lambda e: e.key))

    def _upsert(self, spec: EntityTable, items: Sequence[Entity]) -> None:
        columns = (spec.key, *spec.columns, "state")
        cols = _ident_list(columns)
        stage = sql.Identifier(f"stage_{spec.table}")
        with self.conn.cursor() as cur:
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, cols)) as copy:
                for entity in items:
                    copy.write_row((entity.key, *spec.row(entity), to_json(ledger.to_json(entity))))
            updates = sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns[1:]
            )
            cur.execute(
                sql.SQL(
                    "INSERT INTO {t} ({c}) SELECT {c} FROM {s}"
                    " ON CONFLICT ({k}) DO UPDATE SET {u}, updated_at = now()"
                ).format(
                    t=sql.Identifier(spec.table),
                    c=cols,
                    s=stage,
                    k=sql.Identifier(spec.key),
                    u=updates,
                )
            )
            cur.execute(sql.SQL("TRUNCATE {}").format(stage))

    def sync_alerts(self, holding: Mapping[str, Sequence[Alert]]) -> AlertChanges:
        if not holding:
            return AlertChanges([], [])
        sources = sorted(holding)
        known = {
            row[0]: row[1]
            for row in self.conn.execute(
                "SELECT alert_id::text, withdrawn_at IS NOT NULL FROM alerts"
                " WHERE source = ANY(%s)",
                (sources,),
            )
        }
        rows = [
            (
                a.alert_id,
                source,
                a.rule.value,
                a.severity.value,
                list(a.case_ids),
                a.recruiter_ref,
                a.group_ref,
                list(a.cause_event_ids),
                a.summary,
                a.triggered_at,
                list(a.sealed_contacts),
            )
            for source in sources
            for a in sorted(holding[source], key=lambda a: a.alert_id)
        ]
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO alerts AS a (alert_id, source, rule, severity, case_ids,"
                " recruiter_ref, group_ref, cause_event_ids, summary, triggered_at,"
                " sealed_contacts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (alert_id) DO UPDATE SET severity = EXCLUDED.severity,"
                " case_ids = EXCLUDED.case_ids, recruiter_ref = EXCLUDED.recruiter_ref,"
                " group_ref = EXCLUDED.group_ref, cause_event_ids = EXCLUDED.cause_event_ids,"
                " summary = EXCLUDED.summary, triggered_at = EXCLUDED.triggered_at,"
                " sealed_contacts = EXCLUDED.sealed_contacts, withdrawn_at = NULL,"
                " updated_at = now()"
                " WHERE (a.severity, a.case_ids, a.cause_event_ids, a.summary, a.triggered_at,"
                "        a.sealed_contacts, a.withdrawn_at IS NOT NULL)"
                "   IS DISTINCT FROM (EXCLUDED.severity, EXCLUDED.case_ids,"
                "        EXCLUDED.cause_event_ids, EXCLUDED.summary, EXCLUDED.triggered_at,"
                "        EXCLUDED.sealed_contacts, false)",
                rows,
            )
        now_holding = {a.alert_id for alerts in holding.values() for a in alerts}
        gone = sorted(k for k, withdrawn in known.items() if k not in now_holding and not withdrawn)
        if gone:
            self.conn.execute(
                "UPDATE alerts SET withdrawn_at = now(), updated_at = now()"
                " WHERE alert_id = ANY(%s::uuid[])",
                (gone,),
            )
        raised = [a for alerts in holding.values() for a in alerts if a.alert_id not in known]
        return AlertChanges(sorted(raised, key=lambda a: a.alert_id), gone)

    def add_acknowledgements(self, acks: Sequence[Acknowledgement]) -> list[Acknowledgement]:
        first: list[Acknowledgement] = []
        ordered = sorted(acks, key=lambda a: (a.acknowledged_at, a.event_id))
        for ack in ordered:
            # The earliest acknowledgement wins, whatever order they arrive in.
            row = self.conn.execute(
                "INSERT INTO alert_acks AS k (alert_id, event_id, acknowledged_at, unit,"
                " officer_ref, action) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (alert_id) DO UPDATE SET event_id = EXCLUDED.event_id,"
                " acknowledged_at = EXCLUDED.acknowledged_at, unit = EXCLUDED.unit,"
                " officer_ref = EXCLUDED.officer_ref, action = EXCLUDED.action"
                " WHERE (EXCLUDED.acknowledged_at, EXCLUDED.event_id)"
                "     < (k.acknowledged_at, k.event_id)"
                " RETURNING (xmax = 0) AS inserted",
                (
                    ack.alert_id,
                    ack.event_id,
                    ack.acknowledged_at,
                    ack.unit,
                    ack.officer_ref,
                    ack.action,
                ),
            ).fetchone()
            if row is not None and row[0]:
                first.append(ack)
        return first

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

    def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        if not messages:
            return
        with (
            self.conn.cursor() as cur,
            cur.copy("COPY outbox (topic, key, value, headers) FROM STDIN") as copy,
        ):
            for m in messages:
                headers = [[name, crypto.b64(value)] for name, value in m.headers]
                copy.write_row((m.topic, m.key, m.value, to_json(headers)))

    def positions(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int, int]]:
        if not event_ids:
            return {}
        rows = self.conn.execute(
            "SELECT event_id::text, topic, kafka_partition, kafka_offset FROM events"
            " WHERE event_id = ANY(%s::uuid[])",
            (list(event_ids),),
        ).fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        # One writer at a time extends the chain; the lock ends with the transaction.
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_AUDIT_LOCK,))
        last = self.conn.execute("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        linked = chain(last[0] if last else GENESIS, entries)
        with (
            self.conn.cursor() as cur,
            cur.copy(
                "COPY audit_log (topic, kafka_partition, kafka_offset, outcome, payload_sha256,"
                " event_id, event_type, signer, recorded_at, reason, prev_hash, hash)"
                " FROM STDIN"
            ) as copy,
        ):
            for e, previous, digest in linked:
                copy.write_row(
                    (
                        e.topic,
                        e.partition,
                        e.offset,
                        e.outcome,
                        e.payload_sha256,
                        e.event_id,
                        e.event_type,
                        e.signer,
                        e.recorded_at,
                        e.reason,
                        previous,
                        digest,
                    )
                )


class PostgresLedgerStore:
    """The ledger store of one worker: one connection, one transaction per batch.

    ``schema``: work in that schema instead of ``public`` (the rebuild's projection).
    """

    def __init__(self, conninfo: str, *, schema: str | None = None) -> None:
        self.conninfo = conninfo
        self.schema = schema
        self._conn: psycopg.Connection[Any] | None = None

    def connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self.conninfo)
            set_json_loads(orjson.loads, conn)
            if self.schema is not None:
                conn.execute(
                    sql.SQL("SET search_path TO {}, pg_temp").format(sql.Identifier(self.schema))
                )
            for table in ("events", *(t.table for t in TABLES.values())):
                conn.execute(
                    sql.SQL(
                        "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS)"
                        " ON COMMIT DELETE ROWS"
                    ).format(sql.Identifier(f"stage_{table}"), sql.Identifier(table))
                )
            conn.commit()
            self._conn = conn
        return self._conn

    @contextmanager
    def unit_of_work(self) -> Iterator[PostgresUnitOfWork]:
        conn = self.connection()
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
