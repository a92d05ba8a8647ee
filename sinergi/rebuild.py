"""``sinergi ledger rebuild``: replay every topic from the beginning into a fresh
projection, then compare it with the live one.

The ledger is a fold of the events, so the fold of the whole history must equal what
the live processor built batch by batch. The rebuild reads each input partition from
offset 0 up to the live consumer group's committed offset (what the live ledger has
taken in), folds it with the same pipeline into a new PostgreSQL schema, and compares
entities, alerts and daily metrics. It publishes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from kafka import KafkaConsumer, TopicPartition
from psycopg import sql

from processors.isolation import process_isolating
from processors.pipeline import Pipeline
from processors.ports import RawMessage
from sinergi import bootstrap
from sinergi.config import Settings
from sinergi.runtime import wait_until_processed
from sinks.migrate import migrate
from sinks.postgres import TABLES, PostgresLedgerStore

Report = Callable[[str], None]
# (messages replayed so far, messages to replay): for a progress bar.
Progress = Callable[[int, int], None]

# What is compared: entity states (timeline and derived values), the alerts that hold
# (and what they say), daily metrics, events. Not compared: when rows were written, when
# an alert was first raised, alerts withdrawn (which were raised and withdrawn depends on
# the order facts arrived in: a history, not the ledger's state), acknowledgements
# (police's own facts, stored as they come).
COMPARED: dict[str, sql.Composed | sql.SQL] = {
    **{
        spec.table: sql.SQL("SELECT {}, state::text FROM {}").format(
            sql.Identifier(spec.key), sql.Identifier(spec.table)
        )
        for spec in TABLES.values()
    },
    "alerts": sql.SQL(
        "SELECT alert_id::text, concat_ws(' | ', source, rule, severity, case_ids::text,"
        " cause_event_ids::text, summary, triggered_at::text)"
        " FROM alerts WHERE withdrawn_at IS NULL"
    ),
    "metrics_daily": sql.SQL(
        "SELECT day::text || ' ' || metric || ' ' || labels::text, value::text FROM metrics_daily"
    ),
    "events": sql.SQL("SELECT event_id::text, event_type FROM events"),
}


@dataclass
class Comparison:
    schema: str
    replayed: int
    rows: dict[str, int] = field(default_factory=dict)
    differences: dict[str, list[str]] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not any(self.differences.values())


def targets(settings: Settings) -> dict[TopicPartition, int]:
    """Per input partition, the offset the live processor has committed."""
    group = settings.processor_group
    with bootstrap.kafka_admin(settings) as admin:
        committed = admin.list_group_offsets([group]).get(group, {})
    inputs = set(bootstrap.input_topics(settings))
    return {
        TopicPartition(tp.topic, tp.partition): meta.offset
        for tp, meta in committed.items()
        if tp.topic in inputs and meta.offset > 0
    }


def replay(
    settings: Settings,
    pipeline: Pipeline,
    until: dict[TopicPartition, int],
    progress: Progress | None = None,
) -> int:
    """Feed every message below ``until`` through ``pipeline``; return how many."""
    if not until:
        return 0
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        max_poll_records=settings.batch_max,
        **bootstrap.kafka_security(settings, bootstrap.ADMIN),
    )
    consumer.assign(list(until))
    consumer.seek_to_beginning(*until)
    done = 0
    try:
        remaining = dict(until)
        while remaining:
            polled = consumer.poll(timeout_ms=1000, max_records=settings.batch_max)
            batch = [
                RawMessage(
                    m.topic,
                    m.partition,
                    m.offset,
                    m.key,
                    m.value,
                    m.timestamp,
                    tuple((k, v) for k, v in (m.headers or ())),
                )
                for records in polled.values()
                for m in records
                if m.offset < until[TopicPartition(m.topic, m.partition)]
            ]
            if batch:
                process_isolating(pipeline, batch)
                done += len(batch)
                if progress is not None:
                    progress(done, sum(until.values()))
            for tp in list(remaining):
                if consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]
    finally:
        consumer.close()
    return done


def compare(conninfo: str, live: str, rebuilt: str) -> tuple[dict[str, int], dict[str, list[str]]]:
    rows: dict[str, int] = {}
    differences: dict[str, list[str]] = {}
    with psycopg.connect(conninfo) as conn:
        for name, query in COMPARED.items():
            sides: list[dict[str, str]] = []
            for schema in (live, rebuilt):
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
                sides.append(dict(conn.execute(query).fetchall()))
            ours, theirs = sides
            rows[name] = len(ours)
            diff = [f"only live: {k}" for k in sorted(set(ours) - set(theirs))]
            diff += [f"only rebuilt: {k}" for k in sorted(set(theirs) - set(ours))]
            diff += [
                f"differs: {k}" for k in sorted(set(ours) & set(theirs)) if ours[k] != theirs[k]
            ]
            differences[name] = diff
    return rows, differences


def rebuild(
    settings: Settings,
    *,
    keep: bool = False,
    wait_s: float = 60.0,
    report: Report = print,
    progress: Progress | None = None,
) -> Comparison:
    if not wait_until_processed(settings, timeout=wait_s):
        report(
            "the live processor has not caught up: comparing up to what it has committed "
            "(differences may only mean it is still working)"
        )
    time.sleep(settings.batch_within_s + 1.5)  # let its last offsets commit
    until = targets(settings)
    schema = "rebuild_" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    owner = bootstrap.conninfo(settings, "sinergi_owner")
    migrate(owner, schema=schema)
    store = PostgresLedgerStore(owner, schema=schema)
    try:
        # The same pipeline as live (signatures, contract, rules), publishing nothing.
        pipeline = bootstrap.ledger_pipeline(settings, store, bootstrap.registry_reader(settings))
        replayed = replay(settings, pipeline, until, progress)
        report(f"replayed {replayed} messages from {len(until)} partitions into schema {schema}")
        rows, differences = compare(owner, "public", schema)
    finally:
        store.close()
        if not keep:
            with psycopg.connect(owner, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return Comparison(schema, replayed, rows, differences)
