"""``sinergi ledger rebuild``: replay every topic from the beginning into a fresh
projection, then compare it with the live one.

The ledger is a fold of the events, so the fold of the whole history must equal what
the live processor built batch by batch. The rebuild reads each input partition from
offset 0 up to the live consumer group's committed offset (what the live ledger has
taken in), folds it with the same pipeline into a new PostgreSQL schema, and compares
entities, alerts and daily metrics. It publishes nothing.

**In parallel** (``workers`` > 1). Every entity is derived from its timeline sorted by
(occurred_at, event id), corrections and retractions included, so the order in which
partitions are folded does not matter, only that each partition is read in order (its
audit chain). The partitions are then shared out among several processes, each with its
own consumer, pipeline and connection, writing into the same schema; the store's locks
(per bucket of entity keys and per audit chain, taken in sorted order) keep them apart,
as they keep live workers of one consumer group apart. Processes rather than threads:
the fold, the signature checks and decoding hold the GIL.

One process is the default: measured on the two-core machine that runs PostgreSQL and
Kafka too, two or three processes were slower than one (each batch locks most entity
buckets, so their transactions wait on each other, and each process starts, imports and
warms its caches). More processes pay off where PostgreSQL has cores of its own.

**With a helper** (one process, ``SINERGI_HELPER`` 1, the default): as in the live worker
(:mod:`processors.ahead`), a spawned helper builds the same pipeline and receives each
batch (decode, signatures, contract, the vault's subjects) while the one before is
applied here; whatever goes wrong there makes this process receive that batch itself.
Measured on 100,000 events: the replay took 45.6 s with it, 54.0 s without (the apply,
with PostgreSQL's share of it, is the rest).
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from typing import Any

import psycopg
from kafka import KafkaConsumer, TopicPartition
from psycopg import sql

from deploy.procs import StackError
from processors import collector
from processors.ahead import Helper, Packed, unpack
from processors.isolation import process_isolating
from processors.pipeline import Pipeline
from processors.ports import RawMessage
from schemas.faults import TransientError
from sinergi import bootstrap
from sinergi.config import Settings
from sinergi.runtime import wait_until_processed
from sinks.migrate import migrate
from sinks.postgres import TABLES, PostgresLedgerStore

log = logging.getLogger(__name__)

Report = Callable[[str], None]
# (messages replayed so far, messages to replay): for a progress bar.
Progress = Callable[[int, int], None]
# Per input partition, the offset to replay up to (exclusive).
Targets = dict[TopicPartition, int]

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
# A ledger as compared: per table, key -> what is compared of that row.
Snapshot = dict[str, dict[str, str]]

# How long a replay waits before taking a batch again after a fault that passes (a
# deadlock between two replaying processes, PostgreSQL restarting), and at most.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


@dataclass
class Comparison:
    schema: str
    replayed: int
    rows: dict[str, int] = field(default_factory=dict)
    differences: dict[str, list[str]] = field(default_factory=dict)  # the first LISTED
    workers: int = 1
    seconds: float = 0.0  # the replay alone
    counts: dict[str, int] = field(default_factory=dict)  # differences per table, all

    @property
    def identical(self) -> bool:
        return not any(self.differences.values())


def targets(settings: Settings) -> Targets:
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


def shares(until: Targets, workers: int) -> list[Targets]:
    """The partitions dealt out to at most ``workers`` replayers, about equal in
    messages: the longest partition first, each to the share with the fewest so far."""
    count = max(1, min(workers, len(until)))
    dealt: list[Targets] = [{} for _ in range(count)]
    for tp, end in sorted(until.items(), key=lambda item: (-item[1], item[0])):
        min(dealt, key=lambda share: sum(share.values()))[tp] = end
    return [share for share in dealt if share]


# A batch polled, and the helper receiving it (None: it is received where it is applied).
Held = tuple[list[RawMessage], "Future[list[Packed]] | None"]


def replay(
    settings: Settings,
    pipeline: Pipeline,
    until: Targets,
    progress: Progress | None = None,
    ahead: Helper | None = None,
) -> int:
    """Feed every message below ``until`` through ``pipeline``; return how many. With
    ``ahead`` (a helper process building the same pipeline), each batch is received
    there while the one before is applied here, as the live worker does."""
    if not until:
        return 0
    consumer = KafkaConsumer(
        enable_auto_commit=False,
        group_id=None,
        max_poll_records=settings.rebuild_batch_max,
        **bootstrap.kafka_client(settings, bootstrap.ADMIN),
    )
    consumer.assign(list(until))
    consumer.seek_to_beginning(*until)
    done = 0
    held: Held | None = None  # the batch polled last, being received by the helper

    def apply(batch: list[RawMessage], prepared: Future[list[Packed]] | None) -> None:
        nonlocal done
        _apply(pipeline, batch, prepared, ahead)
        done += len(batch)
        if progress is not None:
            progress(done, sum(until.values()))

    try:
        remaining = dict(until)
        while remaining:
            polled = consumer.poll(timeout_ms=1000, max_records=settings.rebuild_batch_max)
            batch = [
                _raw(m)
                for records in polled.values()
                for m in records
                if m.offset < until[TopicPartition(m.topic, m.partition)]
            ]
            if batch:
                offered = ahead.offer(batch, pipeline.clock_ms()) if ahead is not None else None
                following = (batch, offered)
                if held is not None:
                    apply(*held)
                held = following
            for tp in list(remaining):
                if consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]
        if held is not None:
            apply(*held)
    finally:
        consumer.close()
    return done


def _apply(
    pipeline: Pipeline,
    batch: list[RawMessage],
    prepared: Future[list[Packed]] | None,
    ahead: Helper | None,
) -> None:
    """Apply what the helper received; if anything about that fails (the helper died, a
    fault that passes, a poison message), process the batch here from its messages, as
    if the helper had never seen it (the failed transaction was rolled back)."""
    if prepared is not None and ahead is not None:
        try:
            received = unpack(batch, prepared.result())
        except Exception as exc:
            log.warning("replay: the helper did not receive a batch (%s): receiving it here",
                        type(exc).__name__)  # fmt: skip
            ahead.reset()
        else:
            try:
                pipeline.apply(received)
                return
            except Exception as exc:
                log.info("replay: prepared batch not applied (%s): processing it here",
                         type(exc).__name__)  # fmt: skip
    _process_until_done(pipeline, batch)


def _raw(m: Any) -> RawMessage:
    """kafka-python's record as the pipeline takes it."""
    headers = tuple((k, v) for k, v in (m.headers or ()))
    return RawMessage(m.topic, m.partition, m.offset, m.key, m.value, m.timestamp, headers)


def _process_until_done(pipeline: Pipeline, batch: list[RawMessage]) -> None:
    """Process a batch as the live worker does: a fault that passes (a deadlock with
    another replaying process, a serialization failure, PostgreSQL restarting) rolls
    the transaction back, so the same batch is simply taken again, after a while."""
    wait = RETRY_FIRST_S
    while True:
        try:
            process_isolating(pipeline, batch)
            return
        except TransientError as exc:
            log.warning("replay: %s; taking the batch again in %.1f s", exc, wait)
            time.sleep(wait)
            wait = min(RETRY_MAX_S, wait * 2)


def replay_pipeline(
    settings: Settings, schema: str, store: PostgresLedgerStore | None = None
) -> Pipeline:
    """The same pipeline as live (signatures, contract, rules), writing into ``schema``
    and publishing nothing; the replay's helper process builds it too."""
    if store is None:
        store = PostgresLedgerStore(bootstrap.conninfo(settings, "sinergi_owner"), schema=schema)
    return bootstrap.ledger_pipeline(settings, store, bootstrap.registry_reader(settings))


@contextmanager
def _pipeline(settings: Settings, schema: str) -> Iterator[Pipeline]:
    store = PostgresLedgerStore(bootstrap.conninfo(settings, "sinergi_owner"), schema=schema)
    pipeline = replay_pipeline(settings, schema, store)
    collector.settle()
    try:
        yield pipeline
    finally:
        pipeline.close()
        store.close()


# --- replaying with several processes -------------------------------------------------------

# A child's channel to the parent's progress bar (set in each child by _child_started).
_progress_queue: Queue[int] | None = None


def _child_started(progress: Queue[int]) -> None:
    global _progress_queue
    _progress_queue = progress


def _replay_share(settings: Settings, schema: str, share: Targets) -> int:
    """In a child process: replay one share of the partitions into ``schema``."""
    sent = 0

    def report(done: int, _total: int) -> None:
        nonlocal sent
        if _progress_queue is not None:
            _progress_queue.put(done - sent)
        sent = done

    with _pipeline(settings, schema) as pipeline:
        return replay(settings, pipeline, share, report)


def replay_in_parallel(
    settings: Settings,
    schema: str,
    until: Targets,
    workers: int,
    progress: Progress | None = None,
) -> int:
    """Replay ``until`` into ``schema`` with ``workers`` processes (one: in this one)."""
    dealt = shares(until, workers)
    if len(dealt) <= 1:
        # One process: with a helper receiving ahead, unless SINERGI_HELPER=0 (several
        # processes already take the machine's cores).
        ahead = Helper(replay_pipeline, settings, schema) if settings.helper > 0 else None
        if ahead is not None:
            ahead.start()
        try:
            with _pipeline(settings, schema) as pipeline:
                return replay(settings, pipeline, until, progress, ahead)
        finally:
            if ahead is not None:
                ahead.close()
    # "spawn": a child must not inherit this process's Kafka or PostgreSQL connections.
    context = multiprocessing.get_context("spawn")
    progress_queue: Queue[int] = context.Queue()
    total = sum(until.values())
    with ProcessPoolExecutor(
        len(dealt), mp_context=context, initializer=_child_started, initargs=(progress_queue,)
    ) as pool:
        futures = [pool.submit(_replay_share, settings, schema, share) for share in dealt]
        _follow(futures, progress_queue, progress, total)
        return sum(f.result() for f in futures)


def _follow(
    futures: list[Future[int]],
    progress_queue: Queue[int],
    progress: Progress | None,
    total: int,
) -> None:
    """Pass the children's progress on until every one has finished (or one failed)."""
    done = 0
    while not all(f.done() for f in futures):
        try:
            done += progress_queue.get(timeout=0.2)
        except queue.Empty:
            continue
        if progress is not None:
            progress(done, total)
        if any(f.done() and f.exception() is not None for f in futures):
            return


# --- the scratch schema ------------------------------------------------------------------------

RESTARTED = (
    "PostgreSQL restarted during the rebuild, which empties its scratch tables: run it again"
)


def unlogged(conninfo: str, schema: str) -> None:
    """Make every table of the fresh ``schema`` UNLOGGED (with its indexes and sequences).

    The rebuilt projection is scratch: it is compared with the live ledger and dropped
    (or kept for a look with ``--keep``), never served. So it needs no write-ahead log,
    nor to be streamed to a replica or archived: a rebuild of 60,000 events wrote 264 MB
    of WAL before, 2.2 MB now. The price: a crash of PostgreSQL empties unlogged tables,
    so :func:`into_scratch` notes when the server started and refuses to compare if it
    restarted in between. A table referenced by a foreign key changes after the tables
    that reference it (PostgreSQL lets an unlogged table reference a logged one, not the
    reverse)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        remaining = {
            name
            for (name,) in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relkind = 'r' AND c.relpersistence = 'p'",
                (schema,),
            )
        }
        referenced = {
            (referencing, target)
            for referencing, target in conn.execute(
                "SELECT r.relname, t.relname FROM pg_constraint k"
                " JOIN pg_class r ON r.oid = k.conrelid JOIN pg_class t ON t.oid = k.confrelid"
                " JOIN pg_namespace n ON n.oid = t.relnamespace"
                " WHERE k.contype = 'f' AND n.nspname = %s AND k.conrelid <> k.confrelid",
                (schema,),
            )
        }
        with conn.transaction():
            while remaining:
                free = sorted(
                    name
                    for name in remaining
                    if not any(t == name and r in remaining for r, t in referenced)
                )
                if not free:  # a cycle of foreign keys: PostgreSQL would refuse it too
                    raise StackError(f"cannot make {', '.join(sorted(remaining))} unlogged")
                for name in free:
                    conn.execute(
                        sql.SQL("ALTER TABLE {}.{} SET UNLOGGED").format(
                            sql.Identifier(schema), sql.Identifier(name)
                        )
                    )
                remaining -= set(free)


def into_scratch(conninfo: str, schema: str, replay: Callable[[], int]) -> int:
    """Make ``schema`` :func:`unlogged`, then ``replay`` into it; refuse (StackError) what
    was replayed if PostgreSQL restarted meanwhile, since a crash empties unlogged tables
    (a clean restart does not, but one restart looks like the other from here)."""
    unlogged(conninfo, schema)
    began = _server_started(conninfo)
    replayed = replay()
    if _server_started(conninfo) != began:
        raise StackError(RESTARTED)
    return replayed


def _server_started(conninfo: str) -> datetime:
    with psycopg.connect(conninfo) as conn:
        return conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]  # type: ignore[index,no-any-return]


# --- comparing ---------------------------------------------------------------------------------


# A row's compared value, as a SHA-256 digest: comparing ledgers of millions of rows must
# not hold their states in memory.
_DIGEST = sql.SQL(
    "SELECT k, encode(sha256(convert_to(v, 'UTF8')), 'hex') AS digest FROM ({}) AS q(k, v)"
)
# Differences listed per table (all are counted).
LISTED = 100


def snapshot(conninfo: str, schema: str = "public") -> Snapshot:
    """What is compared of the ledger in ``schema`` of the database ``conninfo`` names
    (each row's compared value as its digest)."""
    with psycopg.connect(conninfo) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        return {
            name: dict(conn.execute(_DIGEST.format(query)).fetchall())
            for name, query in COMPARED.items()
        }


def differences(ours: Snapshot, theirs: Snapshot) -> dict[str, list[str]]:
    """Per table: rows only in ``ours`` (live), only in ``theirs`` (rebuilt), different."""
    found: dict[str, list[str]] = {}
    for name in COMPARED:
        a, b = ours.get(name, {}), theirs.get(name, {})
        diff = [f"only live: {k}" for k in sorted(set(a) - set(b))]
        diff += [f"only rebuilt: {k}" for k in sorted(set(b) - set(a))]
        diff += [f"differs: {k}" for k in sorted(set(a) & set(b)) if a[k] != b[k]]
        found[name] = diff
    return found


def compare(
    conninfo: str, live: str, rebuilt: str
) -> tuple[dict[str, int], dict[str, list[str]], dict[str, int]]:
    """Compare two schemas of one database inside PostgreSQL (digests in temporary
    tables, joined): the live rows per table, the first LISTED differences per table,
    and how many there are."""
    rows: dict[str, int] = {}
    listed: dict[str, list[str]] = {}
    counted: dict[str, int] = {}
    with psycopg.connect(conninfo) as conn:
        for name, query in COMPARED.items():
            for table, schema in (("cmp_live", live), ("cmp_rebuilt", rebuilt)):
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
                conn.execute(
                    sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(table))
                )
                conn.execute(
                    sql.SQL("CREATE TEMP TABLE {} AS {}").format(
                        sql.Identifier(table), _DIGEST.format(query)
                    )
                )
            conn.execute("SET search_path TO pg_temp")
            rows[name] = conn.execute("SELECT count(*) FROM cmp_live").fetchone()[0]  # type: ignore[index]
            found = conn.execute(
                "SELECT coalesce(a.k, b.k),"
                " CASE WHEN b.k IS NULL THEN 'only live' WHEN a.k IS NULL THEN 'only rebuilt'"
                " ELSE 'differs' END AS how, count(*) OVER ()"
                " FROM cmp_live a FULL JOIN cmp_rebuilt b ON a.k = b.k"
                " WHERE a.k IS NULL OR b.k IS NULL OR a.digest <> b.digest"
                " ORDER BY how, 1 LIMIT %s",
                (LISTED,),
            ).fetchall()
            listed[name] = [f"{how}: {key}" for key, how, _ in found]
            counted[name] = found[0][2] if found else 0
    return rows, listed, counted


def rebuild(
    settings: Settings,
    *,
    keep: bool = False,
    wait_s: float = 60.0,
    report: Report = print,
    progress: Progress | None = None,
    workers: int | None = None,
) -> Comparison:
    """Replay into a fresh schema with ``workers`` processes (default: one, this one),
    compare with the live ledger, drop the schema unless ``keep``."""
    if not wait_until_processed(settings, timeout=wait_s):
        report(
            "the live processor has not caught up: comparing up to what it has committed "
            "(differences may only mean it is still working)"
        )
    time.sleep(settings.batch_within_s + 1.5)  # let its last offsets commit
    # Derive with the rules the live processor derived with (its grace period, ages and
    # thresholds): "identical" must compare histories, not configurations.
    settings, changed = bootstrap.with_live_rules(settings)
    if changed:
        report("with the live processor's rules: " + ", ".join(changed))
    until = targets(settings)
    chosen = max(1, workers or 1)
    schema = "rebuild_" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    owner = bootstrap.conninfo(settings, "sinergi_owner")
    migrate(owner, schema=schema)
    try:
        began = time.monotonic()
        replayed = into_scratch(
            owner, schema, lambda: replay_in_parallel(settings, schema, until, chosen, progress)
        )
        took = time.monotonic() - began
        used = len(shares(until, chosen))
        report(f"replayed {replayed} messages from {len(until)} partitions into schema {schema}")
        report(f"{used} process(es) replayed them in {took:.1f}s")
        rows, found, counts = compare(owner, "public", schema)
    finally:
        if not keep:
            with psycopg.connect(owner, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return Comparison(schema, replayed, rows, found, used, took, counts)
