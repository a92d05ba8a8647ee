"""PostgreSQL: the append-only event store, the ledger's entities, alerts and metrics.

A batch is one transaction: events are copied into a staging table and inserted
with ``ON CONFLICT DO NOTHING`` (a known event id is a no-op), the entities it
touches are locked, folded and upserted, new alerts and the first
acknowledgements recorded, the metric cells incremented, and the messages to
publish put in the outbox. No round trip per event.
"""

from __future__ import annotations

import logging
import operator
import uuid
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import set_json_loads

from processors import ledger
from processors.alerts import Alert, alert_from_json, alert_to_json
from processors.audit import AuditEntry, link_all
from processors.ledger import Case, Entity, Fact, Group, Investigation, Kind, Recruiter
from processors.ports import (
    Acknowledgement,
    AlertChanges,
    FactVersion,
    KnownEvent,
    MetricKey,
    OutboxMessage,
    StoredEvent,
)
from schemas import crypto
from schemas.codec import from_dict, to_dict
from schemas.faults import DataRefusedError, TransientError
from schemas.model import EVENT_TYPES, AlertRule, Event, Severity
from sinks.binary_copy import copy_rows

log = logging.getLogger(__name__)


class StoreUnavailableError(TransientError):
    """PostgreSQL cannot be reached, the connection dropped, or it rolled the
    transaction back (serialization failure, deadlock, shutdown): try again."""

    cause = "postgres"


class StoreRefusedError(DataRefusedError):
    """PostgreSQL refused the batch's data (an invalid character, a value too large, a
    violated constraint): a message of the batch is at fault, not the database.

    The message names the error class and SQLSTATE only, never the data."""


def store_error(exc: psycopg.Error) -> Exception:
    """The project's error for a psycopg error: refused data, or a fault that passes."""
    state = exc.sqlstate or ""
    name = type(exc).__name__
    if isinstance(exc, psycopg.DataError | psycopg.IntegrityError) or state.startswith("54"):
        return StoreRefusedError(f"refused by the event store: {name} ({state})")
    return StoreUnavailableError(f"PostgreSQL: {name}" + (f" ({state})" if state else ""))


def json_bytes(value: Any) -> bytes:
    """Compact JSON (orjson: datetimes, dates and enums natively, keys sorted), as bytes:
    what a binary COPY sends as ``jsonb`` (:mod:`sinks.binary_copy`)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def pg_array(values: Sequence[object]) -> str:
    """``values`` as PostgreSQL's array literal, every element quoted (so any text is one
    element: commas, quotes, braces, backslashes, spaces, the word NULL), for a parameter
    the statement casts (``%s::text[]``, ``::uuid[]``, ``::int[]``). psycopg dumps a Python
    list element by element in Python: an ``= ANY(%s)`` of 1,000 keys took 2.1 ms here,
    0.9 with this, and a batch asks about ten such questions."""
    if not values:
        return "{}"
    quoted = (str(v).replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return '{"' + '","'.join(quoted) + '"}'


def to_json(value: Any) -> str:
    """:func:`json_bytes` as text, for a statement's parameters."""
    return json_bytes(value).decode()


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
        r.people,
        r.interceptions,
        r.tips,
        r.groups,
        r.investigations,
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
    "topic", "kafka_partition", "kafka_offset", "schema_id", "payload", "content_sha256",
)  # fmt: skip


_AUDIT_COLUMNS = (
    "chain", "topic", "kafka_partition", "kafka_offset", "outcome", "payload_sha256",
    "event_id", "event_type", "signer", "recorded_at", "reason", "prev_hash", "hash",
)  # fmt: skip


def _ident_list(names: Iterable[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


_ALERT_COLUMNS = (
    "rule, severity, case_ids, recruiter_ref, group_ref, cause_event_ids, summary,"
    " triggered_at, sealed_contacts, since"
)
# The alerts of the sources given as one parameter (a text array), the sources as a table
# joined to the alerts', not ``source = ANY(array)``: the statements are prepared, and a
# generic plan made while the alerts table was small scanned it whole, comparing each row
# with each of the batch's ~1,000 sources in turn (a parameter's array is not hashed): 67
# to 120 ms a batch at 7,000 alerts and growing with them, up to a quarter of
# PostgreSQL's time in a drain of 60,000 events (in two drains of three). Joined, every
# plan is a lookup or a hash: 3.5 ms.
_ALERTS_OF_SOURCES = "unnest(%s::text[]) AS s(source) JOIN alerts USING (source)"
# Some alerts of some sources, by id (a source's alerts grow with its history).
_ALERTS_BY_ID = "alerts WHERE alert_id = ANY(%s::uuid[]) AND source = ANY(%s::text[])"


def _alert_of(row: Sequence[Any]) -> Alert:
    """An alert from its row's columns (_ALERT_COLUMNS, from alert_id on)."""
    alert_id, rule, severity, cases, recruiter, group, causes, summary, at, sealed, since = row
    return Alert(
        alert_id=str(alert_id),
        rule=AlertRule(rule),
        severity=Severity(severity),
        case_ids=tuple(cases),
        cause_event_ids=tuple(causes),
        summary=summary,
        triggered_at=at,
        recruiter_ref=recruiter,
        group_ref=group,
        sealed_contacts=tuple(sealed),
        since=since,
    )


def _alert_row(a: Alert, source: str) -> tuple[Any, ...]:
    return (
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
        a.since,
    )


# What a raised alert says that its upsert compares, and writes when it differs: one list
# for the statement's WHERE (_upsert_alerts) and for _changed, which asks first.
_COMPARED = (
    "severity",
    "case_ids",
    "cause_event_ids",
    "summary",
    "triggered_at",
    "sealed_contacts",
    "since",
)
_says = operator.attrgetter(*_COMPARED)
_WHEN_CHANGED = (
    f" WHERE (a.source, {', '.join(f'a.{c}' for c in _COMPARED)}, a.withdrawn_at IS NOT NULL)"
    f" IS DISTINCT FROM (EXCLUDED.source, {', '.join(f'EXCLUDED.{c}' for c in _COMPARED)}, false)"
)


def _changed(before: Alert, now: Alert) -> bool:
    """Whether an alert that still holds says something else than its row. Most of a
    batch's alerts hold as they did, and are then not sent to PostgreSQL at all (each was
    one statement of the batch's pipeline, whose WHERE found nothing to change)."""
    return bool(_says(before) != _says(now))


LOCK_BUCKETS = 1024
_LOCK_CLASS = {kind: 0x53490000 + n for n, kind in enumerate(Kind)}  # one lock space per kind


def lock_entities(conn: psycopg.Connection[Any], kind: Kind, keys: Iterable[str]) -> None:
    """Lock these entities until the transaction ends, including ones that do not exist
    yet: concurrent workers are serialised per entity this way, and so is an erasure with
    the batch that folds its case (see ``Pipeline._erased``). By bucket of keys (at most
    LOCK_BUCKETS locks per kind and batch, where one lock per entity outgrew PostgreSQL's
    lock table on big batches), taken in sorted order so two batches cannot deadlock."""
    buckets = sorted({zlib.crc32(key.encode()) % LOCK_BUCKETS for key in keys})
    conn.execute(
        "SELECT pg_advisory_xact_lock(%s, b) FROM unnest(%s::int[]) AS b",
        (_LOCK_CLASS[kind], pg_array(buckets)),
    )


class PostgresUnitOfWork:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def add_events(self, events: Sequence[StoredEvent]) -> set[str]:
        if not events:
            return set()
        cols = _ident_list(_EVENT_COLUMNS)
        with self.conn.cursor() as cur:
            copy_rows(
                cur,
                "stage_events",
                _EVENT_COLUMNS,
                (
                    (
                        uuid.UUID(s.event.envelope.event_id),
                        s.event.event_type,
                        s.case_id,
                        s.event.envelope.occurred_at,
                        s.event.envelope.recorded_at,
                        s.event.envelope.agency,
                        s.event.envelope.unit,
                        s.topic,
                        s.partition,
                        s.offset,
                        s.schema_id,
                        json_bytes(s.record if s.record is not None else to_dict(s.event)),
                        s.content_sha256,
                    )
                    for s in events
                ),
                like="events",
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
        lock_entities(self.conn, kind, wanted)
        rows = self.conn.execute(
            sql.SQL("SELECT state FROM {} WHERE {} = ANY(%s::text[])").format(
                sql.Identifier(spec.table), sql.Identifier(spec.key)
            ),
            (pg_array(wanted),),
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
        staged = f"stage_{spec.table}"
        stage = sql.Identifier(staged)
        with self.conn.cursor() as cur:
            copy_rows(
                cur,
                staged,
                columns,
                (
                    (entity.key, *spec.row(entity), json_bytes(ledger.to_json(entity)))
                    for entity in items
                ),
                like=spec.table,
            )
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

    def sync_alerts(
        self,
        holding: Mapping[str, Sequence[Alert]],
        now: datetime,
        considered: Mapping[str, set[str]] | None = None,
    ) -> AlertChanges:
        if not holding:
            return AlertChanges([], [])
        decided = considered or {}
        sources = sorted(holding)
        # A source in ``considered`` decides only some of its alerts: only those (and the
        # ones it holds) are read, not every alert its history raised.
        whole = [s for s in sources if s not in decided]
        scoped = [s for s in sources if s in decided]
        ids = sorted({a.alert_id for s in scoped for a in holding[s]}
                     | {k for s in scoped for k in decided[s]})  # fmt: skip
        columns = f"alert_id::text, withdrawn_at IS NOT NULL, source, {_ALERT_COLUMNS}"
        rows: list[tuple[Any, ...]] = []
        if whole:
            rows += self.conn.execute(
                f"SELECT {columns} FROM {_ALERTS_OF_SOURCES}", (pg_array(whole),)
            ).fetchall()
        if ids:
            rows += self.conn.execute(
                f"SELECT {columns} FROM {_ALERTS_BY_ID}", (pg_array(ids), pg_array(scoped))
            ).fetchall()
        # An alert held here but kept under another source (a correction moved its cause
        # to another person's case): read by id, so it moves rather than being inserted
        # again (which would find it and do nothing) and then withdrawn by its old source.
        found = {str(row[0]) for row in rows}
        elsewhere = sorted({a.alert_id for s in sources for a in holding[s]} - found)
        if elsewhere:
            rows += self.conn.execute(
                f"SELECT {columns} FROM alerts WHERE alert_id = ANY(%s::uuid[])",
                (pg_array(elsewhere),),
            ).fetchall()
        known = {
            str(row[0]): (bool(row[1]), str(row[2]), _alert_of((row[0], *row[3:]))) for row in rows
        }
        held = {
            str(row[0])
            for row in self.conn.execute(
                "SELECT alert_id::text FROM alerts_held WHERE source = ANY(%s::text[])",
                (pg_array(sources),),
            )
        }
        rows, new, hold, raised = [], [], [], []
        for source in sources:
            for a in sorted(holding[source], key=lambda a: a.alert_id):
                before = known.get(a.alert_id)
                if before is None and (a.due_at is None or a.due_at <= now):
                    new.append(_alert_row(a, source))
                elif before is not None:
                    if before[0] or before[1] != source or _changed(before[2], a):
                        rows.append(_alert_row(a, source))
                    if before[0] or before[1] != source:
                        # Holding again after a withdrawal, or moved to another case (a
                        # correction named the right person): police are told again.
                        raised.append(a)
                else:
                    hold.append((a.alert_id, source, a.due_at, to_json(alert_to_json(a))))
        self._upsert_alerts(rows)
        # A new alert is raised here unless the sentinel claimed it meanwhile (its row,
        # committed or not, wins the insert: see claim_alerts).
        inserted = self._insert_alerts(new)
        raised += [a for s in sources for a in holding[s] if a.alert_id in inserted]
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO alerts_held (alert_id, source, due_at, alert)"
                " VALUES (%s, %s, %s, %s::jsonb) ON CONFLICT (alert_id) DO UPDATE SET"
                " source = EXCLUDED.source, due_at = EXCLUDED.due_at, alert = EXCLUDED.alert,"
                " updated_at = now()",
                hold,
            )
        let_go = sorted(held - {h[0] for h in hold})  # raised now, or no longer holding
        if let_go:
            self.conn.execute(
                "DELETE FROM alerts_held WHERE alert_id = ANY(%s::uuid[])", (pg_array(let_go),)
            )
        holding_ids = {a.alert_id for alerts in holding.values() for a in alerts}
        gone = sorted(
            (k, source, alert)
            for k, (withdrawn, source, alert) in known.items()
            if k not in holding_ids
            and not withdrawn
            and (source not in decided or k in decided[source])
        )
        if gone:
            self.conn.execute(
                "UPDATE alerts SET withdrawn_at = %s, updated_at = now()"
                " FROM unnest(%s::uuid[]) AS g(alert_id) WHERE alerts.alert_id = g.alert_id",
                (now, pg_array([k for k, _, _ in gone])),
            )
        return AlertChanges(
            sorted(raised, key=lambda a: a.alert_id), [(source, a) for _, source, a in gone]
        )

    def claim_alerts(self, alerts: Sequence[tuple[str, Alert]]) -> list[Alert]:
        # Not waiting for the claim's WAL flush: a claim lost in a crash of PostgreSQL
        # only makes the ledger raise the alert again, under the same event id.
        self.conn.execute("SET LOCAL synchronous_commit = off")
        causes = sorted({c for _, a in alerts for c in a.cause_event_ids})
        decided = {
            str(row[0])
            for row in self.conn.execute(
                "SELECT event_id::text FROM events WHERE event_id = ANY(%s::uuid[])",
                (pg_array(causes),),
            )
        }
        wanted = list(
            {a.alert_id: (s, a) for s, a in alerts if not decided & set(a.cause_event_ids)}.values()
        )
        inserted = self._insert_alerts([_alert_row(a, source) for source, a in wanted])
        return [a for _, a in wanted if a.alert_id in inserted]

    def _insert_alerts(self, rows: Sequence[tuple[Any, ...]]) -> set[str]:
        """Insert alerts not known yet; the ids inserted (a row another transaction holds
        is waited for, and is then not inserted)."""
        if not rows:
            return set()
        inserted: set[str] = set()
        with self.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO alerts (alert_id, source, {_ALERT_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (alert_id) DO NOTHING RETURNING alert_id::text",
                rows,
                returning=True,
            )
            while True:
                inserted.update(str(row[0]) for row in cur.fetchall())
                if not cur.nextset():
                    break
        return inserted

    def _upsert_alerts(self, rows: Sequence[tuple[Any, ...]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO alerts AS a (alert_id, source, rule, severity, case_ids,"
                " recruiter_ref, group_ref, cause_event_ids, summary, triggered_at,"
                " sealed_contacts, since)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (alert_id) DO UPDATE SET source = EXCLUDED.source,"
                " severity = EXCLUDED.severity,"
                " case_ids = EXCLUDED.case_ids, recruiter_ref = EXCLUDED.recruiter_ref,"
                " group_ref = EXCLUDED.group_ref, cause_event_ids = EXCLUDED.cause_event_ids,"
                " summary = EXCLUDED.summary, triggered_at = EXCLUDED.triggered_at,"
                " sealed_contacts = EXCLUDED.sealed_contacts, since = EXCLUDED.since,"
                " withdrawn_at = NULL, updated_at = now()" + _WHEN_CHANGED,
                rows,
            )

    def raised_alerts(
        self, sources: Sequence[str], only: Collection[str] | None = None
    ) -> dict[str, list[Alert]]:
        found: dict[str, list[Alert]] = {}
        if only is None:
            query = (
                f"SELECT source, alert_id::text, {_ALERT_COLUMNS} FROM {_ALERTS_OF_SOURCES}"
                " WHERE withdrawn_at IS NULL ORDER BY alert_id"
            )
            params: tuple[Any, ...] = (pg_array(sorted(set(sources))),)
        else:
            query = (
                f"SELECT source, alert_id::text, {_ALERT_COLUMNS} FROM {_ALERTS_BY_ID}"
                " AND withdrawn_at IS NULL ORDER BY alert_id"
            )
            params = (pg_array(sorted(set(only))), pg_array(sorted(set(sources))))
        for row in self.conn.execute(query, params):
            found.setdefault(str(row[0]), []).append(_alert_of(row[1:]))
        return found

    def recruiter_facts(
        self, ranges: Mapping[str, tuple[datetime, datetime] | None]
    ) -> dict[str, list[Fact]]:
        if not ranges:
            return {}
        keys = sorted(ranges)
        lows = [ranges[k][0] if ranges[k] else None for k in keys]  # type: ignore[index]
        highs = [ranges[k][1] if ranges[k] else None for k in keys]  # type: ignore[index]
        found: dict[str, list[Fact]] = {}
        for key, fact in self.conn.execute(
            "SELECT f.recruiter_ref, f.fact"
            " FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[]) AS r(k, lo, hi)"
            " JOIN recruiter_facts f ON f.recruiter_ref = r.k"
            " AND (r.lo IS NULL OR f.occurred_at BETWEEN r.lo AND r.hi)"
            " ORDER BY f.recruiter_ref, f.occurred_at, f.event_id",
            (keys, lows, highs),
        ):
            found.setdefault(str(key), []).append(ledger.fact_from_json(fact))
        return found

    def known_members(
        self, candidates: Mapping[str, set[tuple[str, str]]]
    ) -> dict[str, set[tuple[str, str]]]:
        rows = [(k, kind, m) for k, wanted in candidates.items() for kind, m in wanted]
        if not rows:
            return {}
        found: dict[str, set[tuple[str, str]]] = {}
        for key, kind, member in self.conn.execute(
            "SELECT m.recruiter_ref, m.kind, m.member"
            " FROM unnest(%s::text[], %s::text[], %s::text[]) AS c(k, kind, member)"
            " JOIN recruiter_members m ON (m.recruiter_ref, m.kind, m.member)"
            " = (c.k, c.kind, c.member)",
            ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
        ):
            found.setdefault(str(key), set()).add((str(kind), str(member)))
        return found

    def add_recruiter_facts(
        self,
        facts: Mapping[str, Sequence[Fact]],
        members: Mapping[str, set[tuple[str, str]]],
    ) -> None:
        fact_rows = [
            (key, f.event_id, f.occurred_at, to_json(ledger.fact_to_json(f)))
            for key, items in sorted(facts.items())
            for f in items
        ]
        member_rows = [
            (key, kind, m) for key, links in sorted(members.items()) for kind, m in sorted(links)
        ]
        with self.conn.cursor() as cur:
            if fact_rows:
                cur.executemany(
                    "INSERT INTO recruiter_facts (recruiter_ref, event_id, occurred_at, fact)"
                    " VALUES (%s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING",
                    fact_rows,
                )
            if member_rows:
                cur.executemany(
                    "INSERT INTO recruiter_members (recruiter_ref, kind, member)"
                    " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    member_rows,
                )

    def reset_recruiter(
        self, key: str, facts: Sequence[Fact], members: set[tuple[str, str]]
    ) -> None:
        self.conn.execute("DELETE FROM recruiter_facts WHERE recruiter_ref = %s", (key,))
        self.conn.execute("DELETE FROM recruiter_members WHERE recruiter_ref = %s", (key,))
        self.add_recruiter_facts({key: facts}, {key: members})

    def raise_due(self, now: datetime) -> list[Alert]:
        due = [
            (str(source), alert_from_json(alert))
            for source, alert in self.conn.execute(
                "DELETE FROM alerts_held WHERE due_at <= %s RETURNING source, alert", (now,)
            )
        ]
        self._upsert_alerts([_alert_row(a, source) for source, a in due])
        return sorted((a for _, a in due), key=lambda a: a.alert_id)

    def remove_entities(self, refs: Iterable[tuple[Kind, str]]) -> None:
        by_kind: dict[Kind, list[str]] = {}
        for kind, key in refs:
            by_kind.setdefault(kind, []).append(key)
        for kind, keys in sorted(by_kind.items()):
            spec = TABLES[kind]
            self.conn.execute(
                sql.SQL("DELETE FROM {} WHERE {} = ANY(%s::text[])").format(
                    sql.Identifier(spec.table), sql.Identifier(spec.key)
                ),
                (pg_array(sorted(keys)),),
            )

    def load_events(self, event_ids: Sequence[str]) -> dict[str, Event]:
        if not event_ids:
            return {}
        rows = self.conn.execute(
            "SELECT event_id::text, event_type, payload FROM events"
            " WHERE event_id = ANY(%s::uuid[])",
            (pg_array(list(event_ids)),),
        ).fetchall()
        return {row[0]: from_dict(EVENT_TYPES[row[1]], row[2]) for row in rows}

    def versions(self, root_ids: Sequence[str]) -> dict[str, FactVersion]:
        if not root_ids:
            return {}
        rows = self.conn.execute(
            "SELECT root_event_id::text, record_type, record_unit, head_event_id::text,"
            " head_recorded_at, retracted_by::text, refs, cells FROM fact_versions"
            " WHERE root_event_id = ANY(%s::uuid[])",
            (pg_array(list(root_ids)),),
        ).fetchall()
        return {
            r[0]: FactVersion(
                root_id=r[0],
                record_type=r[1],
                record_unit=r[2],
                head_id=r[3],
                head_order=(r[4], r[3]) if r[4] is not None else None,
                retracted_by=r[5],
                refs=tuple(r[6]),
                cells=tuple(
                    (date.fromisoformat(day), metric, tuple((k, v) for k, v in labels), n)
                    for day, metric, labels, n in r[7]
                ),
            )
            for r in rows
        }

    def put_versions(self, versions: Sequence[FactVersion]) -> None:
        rows = [
            (
                v.root_id,
                v.record_type,
                v.record_unit,
                v.head_id,
                v.head_order[0] if v.head_order else None,
                v.retracted_by,
                list(v.refs),
                to_json([[day, metric, labels, n] for day, metric, labels, n in v.cells]),
            )
            for v in sorted(versions, key=lambda v: v.root_id)
        ]
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO fact_versions (root_event_id, record_type, record_unit,"
                " head_event_id, head_recorded_at, retracted_by, refs, cells)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
                " ON CONFLICT (root_event_id) DO UPDATE SET record_unit = EXCLUDED.record_unit,"
                " head_event_id = EXCLUDED.head_event_id,"
                " head_recorded_at = EXCLUDED.head_recorded_at,"
                " retracted_by = EXCLUDED.retracted_by, refs = EXCLUDED.refs,"
                " cells = EXCLUDED.cells, updated_at = now()",
                rows,
            )

    def add_acknowledgements(self, acks: Sequence[Acknowledgement]) -> list[Acknowledgement]:
        first: list[Acknowledgement] = []
        ordered = sorted(acks, key=lambda a: (a.acknowledged_at, a.event_id))
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO alert_ack_facts (event_id, alert_id, acknowledged_at, unit,"
                " officer_ref, action) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (event_id) DO UPDATE SET alert_id = EXCLUDED.alert_id,"
                " acknowledged_at = EXCLUDED.acknowledged_at, unit = EXCLUDED.unit,"
                " officer_ref = EXCLUDED.officer_ref, action = EXCLUDED.action",
                [
                    (a.event_id, a.alert_id, a.acknowledged_at, a.unit, a.officer_ref, a.action)
                    for a in ordered
                ],
            )
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

    def remove_acknowledgements(self, event_ids: Collection[str]) -> None:
        ids = pg_array(sorted(event_ids))
        self.conn.execute("DELETE FROM alert_ack_facts WHERE event_id = ANY(%s::uuid[])", (ids,))
        # An alert whose first acknowledgement this was falls back to its next one.
        alerts = [
            str(row[0])
            for row in self.conn.execute(
                "DELETE FROM alert_acks WHERE event_id = ANY(%s::uuid[]) RETURNING alert_id",
                (ids,),
            )
        ]
        if alerts:
            self.conn.execute(
                "INSERT INTO alert_acks (alert_id, event_id, acknowledged_at, unit,"
                " officer_ref, action)"
                " SELECT DISTINCT ON (alert_id) alert_id, event_id, acknowledged_at, unit,"
                " officer_ref, action FROM alert_ack_facts WHERE alert_id = ANY(%s::uuid[])"
                " ORDER BY alert_id, acknowledged_at, event_id",
                (pg_array(alerts),),
            )

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

    def add_outbox(self, messages: Sequence[OutboxMessage]) -> list[int]:
        if not messages:
            return []
        # The rows' ids taken first (COPY returns none), so that the relay can send the
        # batch's own copy of them and take out exactly these rows (sinks.kafka).
        ids = sorted(
            row[0]
            for row in self.conn.execute(
                "SELECT nextval('outbox_id_seq') FROM generate_series(1, %s)", (len(messages),)
            )
        )
        with self.conn.cursor() as cur:
            copy_rows(
                cur,
                "outbox",
                ("id", "topic", "key", "value", "headers"),
                (
                    (
                        row_id,
                        m.topic,
                        m.key,
                        m.value,
                        json_bytes([[name, crypto.b64(value)] for name, value in m.headers]),
                    )
                    for row_id, m in zip(ids, messages, strict=True)
                ),
            )
        return ids

    def known(self, event_ids: Sequence[str]) -> dict[str, KnownEvent]:
        if not event_ids:
            return {}
        rows = self.conn.execute(
            "SELECT event_id::text, topic, kafka_partition, kafka_offset, unit, content_sha256,"
            " event_type FROM events WHERE event_id = ANY(%s::uuid[])",
            (pg_array(list(event_ids)),),
        ).fetchall()
        return {row[0]: KnownEvent(*row[1:]) for row in rows}

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        chains = sorted({e.chain for e in entries})
        # One writer at a time per chain (a topic partition), locks taken in sorted order
        # and released at commit: workers on different partitions never wait.
        self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('audit:' || k, 0))"
            " FROM unnest(%s::text[]) AS k",
            (chains,),
        )
        heads = {
            key: head
            for key, head in self.conn.execute(
                "SELECT k, (SELECT hash FROM audit_log WHERE chain = k ORDER BY seq DESC LIMIT 1)"
                " FROM unnest(%s::text[]) AS k",
                (chains,),
            )
            if head is not None
        }
        with self.conn.cursor() as cur:
            copy_rows(
                cur,
                "audit_log",
                _AUDIT_COLUMNS,
                (
                    (
                        e.chain,
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
                    for e, previous, digest in link_all(heads, entries)
                ),
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
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on the worker's connection; psycopg's errors become the
        project's (:func:`store_error`), and a broken connection is replaced next time."""
        try:
            conn = self.connection()
        except psycopg.Error as exc:
            raise store_error(exc) from exc
        try:
            with conn.transaction():
                yield conn
        except psycopg.Error as exc:
            if conn.broken or isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
                conn.close()
            raise store_error(exc) from exc

    @contextmanager
    def unit_of_work(self) -> Iterator[PostgresUnitOfWork]:
        with self.transaction() as conn:
            yield PostgresUnitOfWork(conn)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
