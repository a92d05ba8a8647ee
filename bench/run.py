"""``make bench``: the whole table of issue 8, measured in one run on this machine.

Starts its own stack (``.sinergi-bench``, every port moved by 5000, so it runs beside a
demo, the tests or ``make chaos``) in a fresh slice (topics, consumer group, database),
and measures, with the processor as a black box (``sinergi process``):

1. drain of a backlog of every agency's events (1,000,000; ``--quick`` 100,000), years
   of history in time order (``bench/plan.py``), published by several desk processes
   (``bench/publish.py``); beside fastavro's decode rate of the same events
   (``bench/decode.py``), and the publish rate beside Kafka's ProducerPerformance;
2. the drain rate of the 10th tenth against the 1st (``bench/drain.py``);
3. ``sinergi ledger rebuild`` of the same events, which must say identical;
4. alert latency under 2,000 events/s of background (``bench/alerts.py``);
5. a desk's CSV import of 100,000 rows (``bench/desk.py``);
6. the processor's peak RSS with the whole ledger;
7. the naive faust agent (``bench/naive.py``) on a prefix of the same events;
8. Kafka's own ProducerPerformance and ConsumerPerformance (``bench/kafka_perf.py``).

Prints the table (figure, goal, same-run limit or baseline, ratio, met?), writes
``bench/results.json``, then drops its databases (as the superuser), deletes its topics,
and stops the stack if it started it (``--keep`` keeps everything). Exit status 0 when
it ran, whatever the figures; 1 when something broke (a crash, events lost or
dead-lettered, a rebuild that differs), after printing what it measured.

    make bench            # or: python -m bench.run
    make bench-quick      # or: python -m bench.run --quick
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from rich.console import Console

from bench import alerts, decode, desk, kafka_perf
from bench import drain as drains
from bench.drain import BenchError
from bench.plan import EventPlan, chunks
from bench.publish import DeskPool, Published
from bench.rebuild import Rebuilt, rebuild
from bench.report import Goal, Row, print_table, quantity, results_document
from sinergi import bootstrap, runtime
from sinergi.config import REPO_ROOT, Settings, from_env
from tests.integration.hub import Hub, drop_hub, make_hub

HOME = REPO_ROOT / ".sinergi-bench"
PORT_OFFSET = 5000
RESULTS = REPO_ROOT / "bench" / "results.json"
CHUNK_ROWS = 10_000
T = TypeVar("T")
console = Console(highlight=False)


@dataclass(frozen=True)
class Volumes:
    backlog: int
    alerts: int
    idle_alerts: int
    naive_prefix: int
    desk_rows: int = 100_000
    background_rate: float = 2_000.0
    alert_spacing_s: float = 0.25
    alert_warmup_s: float = 5.0
    alert_timeout_s: float = 60.0

    @property
    def background(self) -> int:
        """Enough for the warm-up, the triggers and 15 s of waiting for the last alerts."""
        seconds = self.alert_warmup_s + self.alerts * self.alert_spacing_s + 15
        return int(self.background_rate * seconds)


FULL = Volumes(backlog=1_000_000, alerts=200, idle_alerts=20, naive_prefix=20_000)
QUICK = Volumes(backlog=100_000, alerts=100, idle_alerts=10, naive_prefix=10_000)
PHASES = ("kafka", "decode", "rebuild", "alerts", "naive", "desk")


@dataclass
class Measured:
    """What the phases measured (None: not measured) and what broke."""

    plan: EventPlan
    volumes: Volumes
    processes: int
    simulate_s: float = 0.0
    published: Published | None = None
    background: int = 0
    perf: kafka_perf.Perf | None = None
    decoded: decode.DecodeRate | None = None
    drained: drains.Drain | None = None
    counts: dict[str, int | None] = field(default_factory=dict)
    rebuilt: Rebuilt | None = None
    latency: alerts.AlertLatency | None = None
    peak_rss_kb: int | None = None
    naive: drains.NaiveDrain | None = None
    imported: desk.DeskImport | None = None
    problems: list[str] = field(default_factory=list)
    # Other stacks running beside the bench slow it down: recorded with the figures.
    load_at_start: tuple[float, float, float] = field(default_factory=os.getloadavg)


def say(text: str) -> None:
    console.print(f"[dim]{datetime.now():%H:%M:%S}[/] {text}", soft_wrap=True)


def timed(what: str, action: Callable[[], T]) -> T:
    say(f"{what} ...")
    began = time.perf_counter()
    result = action()
    say(f"{what}: done in {time.perf_counter() - began:,.1f} s")
    return result


# --- the phases -------------------------------------------------------------------------


def publish(hub: Hub, m: Measured, work: Path, *, background: bool) -> None:
    pool = DeskPool(hub.env, m.processes)  # spawned while the simulator runs
    try:
        began = time.perf_counter()
        rows = m.plan.rows()
        m.simulate_s = time.perf_counter() - began
        say(f"simulated {len(rows):,} rows in {m.simulate_s:.1f} s: {m.plan.describe()}")
        backlog, later = rows[: m.plan.backlog], rows[m.plan.backlog :]
        del rows
        m.published = timed(
            f"publishing the backlog ({m.processes} desk processes)",
            lambda: pool.publish(chunks(backlog, CHUNK_ROWS), work / "spool"),
        )
        p = m.published
        say(
            f"published {p.events:,} events from {p.units} units: {p.rate:,.0f} events/s,"
            f" {p.mean_message_bytes} bytes per message"
        )
        if p.events != m.plan.backlog:
            raise BenchError(f"published {p.events:,} of {m.plan.backlog:,} events")
        if not background:
            return
        m.background = timed(
            "encoding the background traffic",
            lambda: pool.encode(chunks(later, CHUNK_ROWS), work / "background"),
        )
    finally:
        pool.close()


def kafka_limit(hub: Hub, m: Measured, work: Path) -> None:
    assert m.published is not None
    m.perf = timed(
        "Kafka's ProducerPerformance and ConsumerPerformance",
        lambda: kafka_perf.measure(
            hub.settings,
            work,
            # Kafka's tools need some volume to warm up: at least 100,000 records.
            records=max(m.plan.backlog, 100_000),
            record_size=m.published.mean_message_bytes,
        ),
    )


def decode_limit(hub: Hub, m: Measured, work: Path) -> None:
    registry = bootstrap.registry_reader(hub.settings)
    try:
        m.decoded = timed(
            "fastavro decoding the same events",
            lambda: decode.decode_rate(work / "spool", registry),
        )
    finally:
        registry.close()
    say(f"fastavro: {m.decoded.rate:,.0f} events/s on one core")


def drain(hub: Hub, m: Measured) -> None:
    m.drained = timed("draining the backlog", lambda: drains.drain(hub, m.plan.backlog))
    d = m.drained
    say(
        f"drained {d.expected:,} events in {d.seconds:,.1f} s: {d.rate:,.0f} events/s;"
        " tenths: " + ", ".join(f"{r:,.0f}" if r else "?" for r in d.tenths)
    )
    m.counts = drains.ledger_counts(hub)
    say("ledger: " + ", ".join(f"{k} {v:,}" for k, v in m.counts.items() if v is not None))
    stored, dead = m.counts.get("events"), m.counts.get("dead_lettered")
    if stored is not None and stored != m.plan.backlog:
        m.problems.append(f"the event store holds {stored:,} of {m.plan.backlog:,} events")
    if dead:
        m.problems.append(f"{dead:,} valid events were dead-lettered (see the audit trail)")


def rebuild_ledger(hub: Hub, m: Measured) -> None:
    m.rebuilt = timed("sinergi ledger rebuild", lambda: rebuild(hub))
    if not m.rebuilt.identical:
        m.problems.append(
            f"sinergi ledger rebuild did not say identical (exit {m.rebuilt.returncode}):"
            f" {m.rebuilt.output[-600:]}"
        )


def alert_latency(hub: Hub, m: Measured, work: Path) -> None:
    v = m.volumes
    m.latency = timed(
        f"alert latency ({v.alerts} alerts, {v.background_rate:,.0f} events/s of background)",
        lambda: alerts.measure(
            hub,
            work / "background",
            alerts=v.alerts,
            idle_alerts=v.idle_alerts,
            rate=v.background_rate,
            spacing_s=v.alert_spacing_s,
            warmup_s=v.alert_warmup_s,
            timeout_s=v.alert_timeout_s,
        ),
    )
    lat = m.latency
    say(
        f"alerts: idle p50 {quantity(lat.idle.p(50), 'ms')}, under background p50"
        f" {quantity(lat.loaded.p(50), 'ms')}, p99 {quantity(lat.loaded.p(99), 'ms')},"
        f" {lat.loaded.missing} missing; background {lat.background_rate:,.0f} events/s"
    )
    if lat.idle.ms == [] and lat.idle.missing:
        m.problems.append("no alert reached police even on an idle hub")


def stop_processor(hub: Hub, m: Measured) -> None:
    """Read the processor's peak memory (the process and any children), then stop it."""
    for proc in hub.workers:
        if proc.poll() is None:
            m.peak_rss_kb = drains.tree_kb(proc.pid, "VmHWM")
            hub.stop_worker(proc)


def naive(hub: Hub, m: Measured) -> None:
    prefix = min(m.volumes.naive_prefix, m.plan.backlog)
    m.naive = timed(
        f"the naive faust agent on the first {prefix:,} events",
        lambda: drains.drain_naive(hub, prefix),
    )
    say(
        f"naive agent: {m.naive.reached:,} events, {m.naive.rate or 0:,.0f} events/s"
        f" ({m.naive.stopped_because})"
    )


def desk_import(hub: Hub, m: Measured, work: Path) -> None:
    m.imported = timed(
        f"sinergi post import of {m.volumes.desk_rows:,} rows",
        lambda: desk.measure(hub, work / "desk", rows=m.volumes.desk_rows),
    )


def run_phases(hub: Hub, m: Measured, work: Path, skip: set[str]) -> None:
    publish(hub, m, work, background="alerts" not in skip)
    if "kafka" not in skip:
        kafka_limit(hub, m, work)
    if "decode" not in skip:
        decode_limit(hub, m, work)
    try:
        drain(hub, m)
        if "rebuild" not in skip:
            rebuild_ledger(hub, m)
        if "alerts" not in skip:
            alert_latency(hub, m, work)
    finally:
        stop_processor(hub, m)
    if "naive" not in skip:
        naive(hub, m)
    if "desk" not in skip:
        desk_import(hub, m, work)


# --- the table --------------------------------------------------------------------------


def mb(kb: int | None) -> float | None:
    return None if kb is None else kb / 1024


def rows(m: Measured) -> list[Row]:
    """Each figure beside its goal and its same-run limit or baseline."""
    n = m.plan.backlog
    d, lat, perf, imported = m.drained, m.latency, m.perf, m.imported
    tenths = d.tenths if d else [None] * 10
    rebuild_goal = 60 * n / 1_000_000
    out = [
        Row(
            "drain",
            f"drain of {n:,} mixed events (verify, store, ledger, alerts, metrics, audit)",
            d.rate if d else None,
            "events/s",
            Goal(">=", 20_000, "≥ 20,000 events/s (first milestone 5,000)"),
            m.decoded.rate if m.decoded else None,
            "fastavro decode, one core",
            note=_drain_note(m),
        ),
        Row(
            "flat",
            "drain rate of the 10th tenth (vs the 1st)",
            tenths[9],
            "events/s",
            Goal(">=", 0.9, "10th tenth ≥ 0.9 × 1st", on="ratio"),
            tenths[0],
            "1st tenth",
            details={"tenths": tenths},
        ),
        Row(
            "rebuild",
            f"sinergi ledger rebuild of the {n:,} events",
            m.rebuilt.seconds if m.rebuilt else None,
            "s",
            Goal("<=", rebuild_goal, f"≤ {quantity(rebuild_goal, 's')} (60 s per 1,000,000)"),
            d.seconds if d else None,
            "the live drain",
            note=_rebuild_note(m),
        ),
        Row(
            "alert_p99",
            "alert latency p99, published → police, under background",
            lat.loaded.p(99) if lat else None,
            "ms",
            Goal("<=", 250, "p99 ≤ 250 ms"),
            lat.idle.p(99) if lat else None,
            "p99 on an idle hub",
            note=_alert_note(m),
        ),
        Row(
            "alert_p50",
            "alert latency p50, under background",
            lat.loaded.p(50) if lat else None,
            "ms",
            None,
            lat.idle.p(50) if lat else None,
            "p50 on an idle hub",
        ),
        Row(
            "background",
            "background traffic achieved during the alert test",
            lat.background_rate if lat else None,
            "events/s",
            None,
            m.volumes.background_rate,
            "target",
        ),
        Row(
            "desk",
            f"desk: CSV import of {m.volumes.desk_rows:,} rows (validate,"
            " pseudonymise, seal, sign, send)",
            imported.rate if imported else None,
            "rows/s",
            Goal(">=", 30_000, "≥ 30,000 rows/s"),
            imported.dry_run_rate if imported else None,
            "--dry-run: validate only",
        ),
        Row(
            "rss",
            "processor peak RSS (VmHWM) with the whole ledger",
            mb(m.peak_rss_kb),
            "MB",
            Goal("<=", 400, "≤ 400 MB (1,000,000 events)"),
            mb(d.rss_after_first_tenth_kb) if d else None,
            "RSS after the 1st tenth",
        ),
        Row(
            "naive",
            "processor drain rate against the naive faust agent",
            d.steady_rate if d else None,
            "events/s",
            Goal(">=", 20, "≥ 20× the naive agent", on="ratio"),
            m.naive.rate if m.naive else None,
            "naive agent",
            note=_naive_note(m),
        ),
        Row(
            "publish",
            f"publish: desk, encode, sign, send ({m.processes} processes)",
            m.published.rate if m.published else None,
            "events/s",
            None,
            perf.produced_per_s if perf else None,
            "Kafka ProducerPerformance",
        ),
        Row(
            "kafka_produce",
            "Kafka ProducerPerformance (acks=all, same record size)",
            perf.produced_per_s if perf else None,
            "records/s",
            note=f"{perf.record_size} B records, {perf.produced_mb_per_s:.1f} MB/s, average"
            f" latency {perf.produce_latency_avg_ms:.0f} ms"
            if perf
            else "",
        ),
        Row(
            "kafka_consume",
            "Kafka ConsumerPerformance (fetch rate, same records)",
            perf.consumed_per_s if perf else None,
            "records/s",
            note=f"{perf.consumed_mb_per_s:.1f} MB/s" if perf else "",
        ),
    ]
    return out


def _drain_note(m: Measured) -> str:
    d = m.drained
    if d is None:
        return ""
    steady = d.steady_rate
    return (
        f"{d.seconds:,.1f} s from starting the processor; {steady or 0:,.0f} events/s from"
        f" its first commit; ledger after it: "
        + ", ".join(f"{k} {v:,}" for k, v in m.counts.items() if v is not None)
    )


def _rebuild_note(m: Measured) -> str:
    r = m.rebuilt
    if r is None:
        return ""
    said = "identical" if r.identical else f"NOT identical (exit {r.returncode})"
    return f"{said}; replayed {r.replayed or 0:,} messages; peak RSS {r.peak_rss_kb / 1024:,.0f} MB"


def _alert_note(m: Measured) -> str:
    lat = m.latency
    if lat is None:
        return ""
    note = (
        f"{len(lat.loaded.ms)} of {len(lat.loaded.ms) + lat.loaded.missing} alerts arrived"
        f" (idle: {len(lat.idle.ms)} of {len(lat.idle.ms) + lat.idle.missing}); one"
        f" trigger every {m.volumes.alert_spacing_s} s"
    )
    if lat.loaded.missing:
        note += f"; a missing alert counts as later than {lat.timeout_s:.0f} s"
    if lat.background_ran_out:
        note += "; the background ran out before the last alert arrived"
    return note


def _naive_note(m: Measured) -> str:
    if m.naive is None:
        return ""
    return (
        f"the naive agent stored the first {m.naive.reached:,} events"
        f" ({m.naive.stopped_because}); both rates from their first stored event on"
    )


# --- where, when, and cleaning up -------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu, memory_kb = "", 0
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    with contextlib.suppress(OSError, IndexError, ValueError):
        memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "host": platform.node(),
        "system": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def meta(m: Measured, mode: str, started: datetime, settings: Settings) -> dict[str, Any]:
    return {
        "date": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),  # its load average: at the end
        "load_average_at_start": m.load_at_start,
        "git": {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))},
        "mode": mode,
        "volumes": asdict(m.volumes),
        "plan": {
            "backlog": m.plan.backlog,
            "background": m.plan.background,
            "months": m.plan.months,
            "scale": m.plan.scale,
            "recruiters": m.plan.recruiters,
            "start": m.plan.start.isoformat(),
            "events_per_month": m.plan.per_month,
        },
        "processor": {
            "batch_max": settings.batch_max,
            "rebuild_batch_max": settings.rebuild_batch_max,
            "batch_within_s": settings.batch_within_s,
            "partitions": settings.topic_partitions,
            "alert_grace_hours": settings.alert_grace_hours,
        },
        "publish_processes": m.processes,
        "simulate_s": m.simulate_s,
        "published": asdict(m.published) if m.published else None,
        "ledger_counts": m.counts,
        "drain_samples": m.drained.samples if m.drained else [],
        "alert_latency_ms": {
            "idle": m.latency.idle.ms,
            "loaded": m.latency.loaded.ms,
            "missing": m.latency.loaded.missing,
            "background_sent": m.latency.background_sent,
        }
        if m.latency
        else None,
    }


def cleanup(hub: Hub, work: Path) -> None:
    """Everything this run made, as the superuser where sessions must be ended."""
    settings = hub.settings
    superuser = bootstrap.conninfo(settings, "postgres", "postgres")
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(drains.naive_database(hub))
            )
        )
    group = settings.processor_group
    with bootstrap.kafka_admin(settings) as admin:
        for name in (group, f"{group}-naive", f"{group}-perf"):
            # A group that never formed: nothing to delete.
            with contextlib.suppress(Exception):
                admin.delete_consumer_groups([name])
    drop_hub(hub)  # the workers, topics, ACLs and the database
    for folder in (work, settings.desk_dir, settings.home / "naive" / f"{group}-naive"):
        shutil.rmtree(folder, ignore_errors=True)


def quiet_kafka() -> None:
    """kafka-python warns of SASL without TLS on every login (loopback here: known)."""
    logging.getLogger("kafka").setLevel(logging.ERROR)


def stack_was_stopped(settings: Settings) -> bool:
    return all(state == "stopped" for state in runtime.stack(settings).status().values())


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events instead of 1,000,000")
    parser.add_argument("--events", type=int, help="backlog size (overrides the mode's)")
    parser.add_argument("--alerts", type=int, help="alerts timed under load (overrides the mode's)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the stack, topics and databases afterwards"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=max(2, os.cpu_count() or 2),
        help="desk processes publishing the backlog",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SINERGI_X=VALUE",
        help="a processor setting for this run, e.g. SINERGI_BATCH_MAX=4000",
    )
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=PHASES,
        help="leave phases out (while working on the bench)",
    )
    parser.add_argument("--home", type=Path, default=HOME)
    parser.add_argument("--port-offset", type=int, default=PORT_OFFSET)
    parser.add_argument("--results", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def processor_env(settings_args: list[str]) -> dict[str, str]:
    """The processor's settings for the run: the defaults of a deployment (not the test
    slice's), the alert grace period off (the triggers' alerts are raised at once),
    then ``--set``."""
    defaults = Settings()
    env = {
        "SINERGI_BATCH_WITHIN_MS": str(round(defaults.batch_within_s * 1000)),
        "SINERGI_TOPIC_PARTITIONS": str(defaults.topic_partitions),
        "SINERGI_ALERT_GRACE_HOURS": "0",
        # The commands' English lines, which the bench reads (rebuild: "identical").
        "SINERGI_LANG": "en",
    }
    for item in settings_args:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("SINERGI_"):
            raise SystemExit(f"--set takes SINERGI_NAME=VALUE, got {item!r}")
        env[key] = value
    return env


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    quiet_kafka()
    volumes = QUICK if args.quick else FULL
    if args.events:
        volumes = Volumes(**(asdict(volumes) | {"backlog": args.events}))
    if args.alerts:
        idle = max(1, args.alerts // 10)
        volumes = Volumes(**(asdict(volumes) | {"alerts": args.alerts, "idle_alerts": idle}))
    started = datetime.now(UTC)
    base = {k: v for k, v in os.environ.items() if not k.startswith("SINERGI_")}
    base |= {"SINERGI_HOME": str(args.home.resolve()), "SINERGI_PORT_OFFSET": str(args.port_offset)}
    stack_settings = from_env(base)
    ours = stack_was_stopped(stack_settings)
    stack = runtime.stack(stack_settings)
    background = 0 if "alerts" in args.skip else volumes.background
    plan = EventPlan(volumes.backlog, background, date.today())
    measured = Measured(plan, volumes, args.processes)
    hub: Hub | None = None
    work = stack_settings.home / "bench"
    try:
        timed("starting the stack", lambda: stack.up(report=lambda line: say(f"  {line}")))
        runtime.ensure_keys(stack_settings)
        hub = timed(
            "a fresh slice: topics, group, database, members",
            lambda: make_hub(base, **processor_env(args.set)),
        )
        work = stack_settings.home / "bench" / hub.settings.processor_group
        run_phases(hub, measured, work, set(args.skip))
    except KeyboardInterrupt:
        measured.problems.append("interrupted")
    except Exception as exc:
        measured.problems.append(f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
    finally:
        if not args.keep:
            if hub is not None:
                timed("cleaning up (databases, topics, groups, files)", lambda: cleanup(hub, work))
            if ours:
                timed(
                    "stopping the stack", lambda: stack.down(report=lambda line: say(f"  {line}"))
                )
    table = rows(measured)
    mode = "quick" if args.quick else "full"
    print_table(
        table, f"Sinergi bench, {volumes.backlog:,} events ({mode}), {started:%Y-%m-%d %H:%M} UTC"
    )
    settings = hub.settings if hub is not None else stack_settings
    document = results_document(table, meta(measured, mode, started, settings), measured.problems)
    args.results.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    say(f"written: {args.results}")
    for problem in measured.problems:
        console.print(f"[bold red]broken:[/] {problem}", soft_wrap=True)
    return 1 if measured.problems else 0


if __name__ == "__main__":
    sys.exit(main())
