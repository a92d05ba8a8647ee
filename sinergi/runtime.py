"""What the commands do, composed from the parts: bring the hub up, run it, show it."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import faust
import psycopg
from kafka import KafkaConsumer, TopicPartition
from rich.table import Table

from deploy.procs import PidFile, StackError, spawn, terminate, wait_until
from deploy.stack import Stack, StackConfig
from processors.pipeline import Pipeline
from processors.worker import WorkerConfig, build_app
from producers.posts import interceptions_from_rows
from producers.pseudonym import load_or_create_key
from producers.simulate import Simulator
from sinergi import bootstrap
from sinergi.config import Settings
from sinks.postgres import migrate
from sinks.prometheus import LedgerMetricsCollector, WorkerMetrics

log = logging.getLogger(__name__)
Report = Callable[[str], None]


def stack(settings: Settings) -> Stack:
    return Stack(
        StackConfig(
            home=settings.home,
            host=settings.host,
            kafka_port=settings.ports.kafka,
            kafka_controller_port=settings.ports.kafka_controller,
            postgres_port=settings.ports.postgres,
            registry_port=settings.ports.registry,
            database=settings.database,
            java_home=settings.java_home,
            registry_java_home=settings.registry_java_home,
            maven=settings.maven,
            pg_bindir=settings.pg_bindir,
        )
    )


def prepare_hub(settings: Settings, report: Report = print) -> None:
    """Tables, topics and schemas of this deployment (idempotent)."""
    load_or_create_key(settings.pseudonym_key_file, create=True)
    applied = migrate(bootstrap.conninfo(settings, "sinergi_owner"))
    report(f"database {settings.database}: " + (", ".join(applied) or "up to date"))
    created = bootstrap.create_topics(settings)
    report(f"topics: {len(created)} created, schemas registered")


def up(settings: Settings, report: Report = print) -> None:
    stack(settings).up(report)
    prepare_hub(settings, report)


def down(settings: Settings, report: Report = print) -> None:
    report(f"processor: {processor(settings).stop()}")
    stack(settings).down(report)


def status(settings: Settings) -> dict[str, str]:
    states = stack(settings).status()
    states["processor"] = processor(settings).status()
    return states


# --- the processor --------------------------------------------------------------------


def run_processor(settings: Settings) -> None:
    """Run the faust worker in this process until stopped."""
    metrics = WorkerMetrics()
    metrics.registry.register(
        LedgerMetricsCollector(bootstrap.conninfo(settings, "sinergi_processor"))
    )
    metrics.serve(settings.host, settings.ports.metrics)
    parts: list[bootstrap.ProcessorParts] = []

    def pipeline_factory() -> Pipeline:
        parts.append(bootstrap.processor_parts(settings))
        return parts[-1].pipeline

    app = build_app(
        WorkerConfig(
            app_id=settings.processor_group,
            broker=f"kafka://{settings.bootstrap_servers}",
            topics=bootstrap.input_topics(settings),
            batch_max=settings.batch_max,
            batch_within_s=settings.batch_within_s,
        ),
        pipeline_factory,
        metrics,
    )
    log.info(
        "processor %s: metrics on http://%s:%d/metrics",
        settings.processor_group,
        settings.host,
        settings.ports.metrics,
    )
    worker = faust.Worker(app, loglevel="INFO", quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    finally:
        for part in parts:
            part.close()


@dataclass
class ProcessorService:
    """The processor as a background process, like the stack's services."""

    settings: Settings

    @property
    def pidfile(self) -> PidFile:
        return PidFile(self.settings.home / "run" / "processor.pid", marker="sinergi process")

    @property
    def log_file(self) -> str:
        return str(self.settings.home / "logs" / "processor.log")

    def start(self) -> str:
        pid = self.pidfile.running_pid()
        if pid is not None:
            return f"already running (pid {pid})"
        from deploy.procs import ensure_port_free

        ensure_port_free(
            self.settings.host,
            self.settings.ports.metrics,
            "processor metrics",
            "SINERGI_METRICS_PORT",
        )
        proc = spawn(
            [sys.executable, "-m", "sinergi", "process"],
            self.settings.home / "logs" / "processor.log",
            env=dict(os.environ),
        )
        self.pidfile.write(proc.pid)
        from deploy.procs import port_open

        took = wait_until(
            lambda: port_open(self.settings.host, self.settings.ports.metrics),
            timeout=60,
            what="the processor",
            alive=lambda: proc.poll() is None,
            log_file=self.settings.home / "logs" / "processor.log",
        )
        return f"started (pid {proc.pid}) in {took:.1f}s; metrics on :{self.settings.ports.metrics}"

    def stop(self) -> str:
        pid = self.pidfile.running_pid()
        if pid is None:
            return "not running"
        killed = terminate(pid, timeout=30)
        self.pidfile.remove()
        return "killed after timeout" if killed else "stopped"

    def status(self) -> str:
        pid = self.pidfile.running_pid()
        return "stopped" if pid is None else f"running (pid {pid})"


def processor(settings: Settings) -> ProcessorService:
    return ProcessorService(settings)


# --- reading the ledger ---------------------------------------------------------------


@dataclass(frozen=True)
class LedgerSummary:
    events: int
    cases: int
    strong: int
    weak: int
    repeat: int
    minors: int
    by_post: dict[str, int]


def ledger_summary(settings: Settings) -> LedgerSummary:
    with psycopg.connect(bootstrap.conninfo(settings, "sinergi_analyst")) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE match_kind = 'strong'),"
            " count(*) FILTER (WHERE match_kind = 'weak'),"
            " count(*) FILTER (WHERE interceptions > 1), count(*) FILTER (WHERE minor),"
            " coalesce(sum(interceptions), 0) FROM v_cases"
        ).fetchone()
        assert row is not None
        by_post: dict[str, int] = dict(
            conn.execute(
                "SELECT post, sum(interceptions)::bigint FROM v_interceptions_by_post"
                " GROUP BY post ORDER BY post"
            ).fetchall()
        )
    cases, strong, weak, repeat, minors, events = (int(v) for v in row)
    return LedgerSummary(events, cases, strong, weak, repeat, minors, by_post)


def render_summary(summary: LedgerSummary) -> Table:
    table = Table(title="Joint case ledger (PostgreSQL)")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("interceptions in the ledger", str(summary.events))
    table.add_row("cases (people)", str(summary.cases))
    table.add_row("  matched by NIK (strong)", str(summary.strong))
    table.add_row("  matched by name/birth/origin (weak)", str(summary.weak))
    table.add_row("  intercepted more than once", str(summary.repeat))
    table.add_row("  minors when first seen", str(summary.minors))
    for post, count in summary.by_post.items():
        table.add_row(f"interceptions at post {post}", str(count))
    return table


# --- the demonstration ---------------------------------------------------------------------


def backlog(settings: Settings) -> int:
    """Messages on the input topics that the processor group has not committed yet."""
    group = settings.processor_group
    with bootstrap.kafka_admin(settings) as admin:
        committed = admin.list_group_offsets([group]).get(group, {})
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, **bootstrap.kafka_security(settings)
    )
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in bootstrap.input_topics(settings)
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        ends = consumer.end_offsets(partitions)
    finally:
        consumer.close()
    done = {tp: meta.offset for tp, meta in committed.items()}
    return sum(max(0, end - max(0, done.get(tp, 0))) for tp, end in ends.items())


def wait_until_processed(settings: Settings, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if backlog(settings) == 0:
            return True
        time.sleep(0.5)
    return False


def demo(settings: Settings, *, months: int, seed: int, report: Report = print) -> None:
    up(settings, report)
    report(f"processor: {processor(settings).start()}")
    sim = Simulator(seed=seed, months=months)
    rows_by_post: dict[str, list[dict[str, str | None]]] = {}
    for post, row in sim.interceptions():
        rows_by_post.setdefault(post, []).append(dict(row))
    total = 0
    pub = bootstrap.publisher(settings)
    try:
        for post, rows in sorted(rows_by_post.items()):
            desk = bootstrap.post_desk(settings, post)
            events = interceptions_from_rows(desk, rows)
            sent = pub.publish(events)
            total += len(sent)
            report(f"post {post}: published {len(sent)} interceptions ({months} months)")
    finally:
        pub.close()
    report("waiting for the processor to take them in ...")
    if not wait_until_processed(settings, timeout=180):
        raise StackError(
            f"the processor has not caught up after 180s; see {settings.home / 'logs'}"
        )
    summary = ledger_summary(settings)
    report(render_summary(summary))  # type: ignore[arg-type]
    report(
        f"metrics: http://{settings.host}:{settings.ports.metrics}/metrics  "
        f"(sinergi_interceptions_total)\n"
        f"SQL: psql 'host={settings.host} port={settings.ports.postgres} dbname={settings.database}"
        f" user=sinergi_analyst' (password in {settings.secrets_dir}/sinergi_analyst.password)"
        "\nstop everything with: make down"
    )
