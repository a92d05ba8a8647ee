"""What the commands do, composed from the parts: bring the hub up, run it, show it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import random
import signal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from deploy.kafka import KafkaNode, node_ids_on_disk
from deploy.procs import (
    PidFile,
    ProcessOfHome,
    StackError,
    ensure_port_free,
    port_open,
    spawn,
    stop_process,
    wait_until,
)
from deploy.stack import Stack, StackConfig
from processors import collector
from processors.pipeline import Pipeline
from processors.sentinel import SentinelProcess
from processors.worker import Health, LedgerWorker
from producers import forms
from producers.pseudonym import load_or_create_key
from producers.simulate import Simulator
from schemas.model import Agency, Event
from sinergi import bootstrap, buildinfo, members, police, views
from sinergi.config import Settings
from sinks.migrate import migrate
from sinks.prometheus import (
    BreachClockCollector,
    LedgerMetricsCollector,
    WorkerMetrics,
    build_info,
    ready_within_lag,
)

log = logging.getLogger(__name__)
Report = Callable[[str], None]


def stack(settings: Settings) -> Stack:
    """The stack's services; Kafka as ``settings.kafka_brokers`` nodes, and every node an
    earlier ``stack up --brokers N`` left in this home (stopped and shown as well)."""
    on_disk = max(node_ids_on_disk(settings.home), default=1)
    nodes = tuple(KafkaNode(*n) for n in settings.kafka_nodes)
    every = tuple(KafkaNode(*n) for n in settings.ports.kafka_nodes(on_disk))
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
            kafka_nodes=nodes,
            kafka_nodes_on_disk=every,
            kafka_replication=settings.kafka_replication,
            kafka_min_insync=settings.kafka_min_insync,
            external=settings.services == "external",
        )
    )


def ensure_keys(settings: Settings) -> None:
    """The members' shared pseudonym key and the hotline's own key (made once)."""
    load_or_create_key(settings.pseudonym_key_file, create=True)
    bootstrap.hotline_key(settings, create=True)


def prepare_hub(settings: Settings, report: Report = print) -> None:
    """Keys, tables, topics, schemas and members of this deployment (idempotent)."""
    ensure_keys(settings)
    applied = migrate(bootstrap.conninfo(settings, "sinergi_owner"))
    report(f"database {settings.database}: " + (", ".join(applied) or "up to date"))
    created = bootstrap.create_topics(settings)
    report(f"topics: {len(created)} created, schemas registered")
    count = members.ensure(settings, members.default_members())
    report(f"members: {count} with credentials, signing keys and least-privilege ACLs")
    bootstrap.ensure_web_role(settings)


def up(settings: Settings, report: Report = print, *, hub: bool = False) -> None:
    """The services and the hub's tables, topics and members; with ``hub``, the processor
    and the web app too."""
    stack(settings).up(report)
    prepare_hub(settings, report)
    if hub:
        report(f"processor: {processor(settings).start()}")
        report(f"web: {web(settings).start()}")


def down(settings: Settings, report: Report = print) -> None:
    report(f"web: {web(settings).stop()}")
    report(f"processor: {processor(settings).stop()}")
    stack(settings).down(report)


def status(settings: Settings) -> dict[str, str]:
    states = stack(settings).status()
    states["processor"] = processor(settings).status()
    states["web"] = web(settings).status()
    return states


# --- the processor --------------------------------------------------------------------


def worker_metrics(settings: Settings) -> WorkerMetrics:
    """The processor's /metrics: its own figures and build and, with
    ``SINERGI_LEDGER_METRICS`` (the default), the ledger's counts and the breach clock,
    read from PostgreSQL. Those are the whole hub's, the same from every worker: of
    several workers, one serves them, so that no sum over workers counts them twice."""
    metrics = WorkerMetrics()
    if settings.ledger_metrics:
        conninfo = bootstrap.conninfo(settings, "sinergi_processor")
        metrics.registry.register(LedgerMetricsCollector(conninfo))
        metrics.registry.register(BreachClockCollector(conninfo))
    build_info(metrics.registry, buildinfo.version(), buildinfo.commit())
    return metrics


def run_processor(settings: Settings) -> None:
    """Run the ledger worker in this process until SIGTERM or SIGINT."""
    metrics = worker_metrics(settings)
    health = Health()
    metrics.ready.set_function(lambda: 1.0 if health.ready else 0.0)
    # /readyz: consuming (the worker's health) and not too far behind (a check of its own,
    # beside the worker: the lag gauge against SINERGI_READY_MAX_LAG).
    ready = ready_within_lag(
        lambda: (health.ready, health.reason), metrics.total_lag, settings.ready_max_lag
    )
    server = metrics.serve(settings.host, settings.ports.metrics, ready)
    parts: list[bootstrap.ProcessorParts] = []

    def pipeline_factory() -> Pipeline:
        parts.append(bootstrap.processor_parts(settings))
        collector.settle()  # what is built stays out of the collector's scans
        return parts[-1].pipeline

    worker = LedgerWorker(bootstrap.worker_config(settings), pipeline_factory, metrics,
                          health=health, ahead=bootstrap.helper(settings))  # fmt: skip
    log.info(
        "processor %s: metrics on http://%s:%d/metrics",
        settings.processor_group,
        settings.host,
        settings.ports.metrics,
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        with contextlib.suppress(asyncio.CancelledError):
            await worker.run()

    # Alerts a record raises on its own, as the record arrives (processors/sentinel.py),
    # from a process of its own.
    sentinel = SentinelProcess(functools.partial(bootstrap.sentinel_parts, settings), metrics)
    if settings.sentinel:
        sentinel.start()
    try:
        asyncio.run(main())
    finally:
        sentinel.stop()
        server.shutdown()
        for part in parts:
            part.close()
        log.info("processor %s stopped", settings.processor_group)


@dataclass
class ProcessorService:
    """The processor as a background process, like the stack's services."""

    settings: Settings

    # Its command line; with this home in its environment (environment()): another
    # home's processor, or a pid reused by another program, is not taken for it.
    COMMAND = ("-m", "sinergi", "process")

    @property
    def pidfile(self) -> PidFile:
        return PidFile(
            self.settings.home / "run" / "processor.pid",
            ProcessOfHome(self.COMMAND, self.settings.home),
        )

    def environment(self, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        """The processor's environment: ours, ``overrides`` and this home, always named."""
        return home_environment(self.settings, overrides)

    @property
    def log_file(self) -> str:
        return str(self.settings.home / "logs" / "processor.log")

    def start(self, overrides: Mapping[str, str] | None = None) -> str:
        """Start it in the background; ``overrides``: settings (SINERGI_*) for this run."""
        pid = self.pidfile.running_pid()
        if pid is not None:
            return f"already running (pid {pid})"
        ensure_port_free(
            self.settings.host,
            self.settings.ports.metrics,
            "processor metrics",
            "SINERGI_METRICS_PORT",
        )
        proc = spawn(
            [sys.executable, *self.COMMAND],
            self.settings.home / "logs" / "processor.log",
            env=self.environment(overrides),
        )
        self.pidfile.write(proc.pid)
        took = wait_until(
            lambda: port_open(self.settings.host, self.settings.ports.metrics),
            timeout=60,
            what="the processor",
            alive=lambda: proc.poll() is None,
            log_file=self.settings.home / "logs" / "processor.log",
        )
        return f"started (pid {proc.pid}) in {took:.1f}s; metrics on :{self.settings.ports.metrics}"

    def stop(self) -> str:
        """Stop the processor, and the browser application started with it (demo)."""
        stopped = stop_process(self.pidfile, timeout=30)
        beside = web(self.settings)
        if beside.pidfile.running_pid() is not None:
            stopped += f"; web: {beside.stop()}"
        return stopped

    def status(self) -> str:
        pid, another = self.pidfile.check()
        return self.pidfile.stopped(another) if pid is None else f"running (pid {pid})"


def home_environment(settings: Settings, overrides: Mapping[str, str] | None) -> dict[str, str]:
    """The environment of a process the stack starts: this one's, ``overrides``, and
    ``SINERGI_HOME`` set to the home (by which its pid file knows it)."""
    return dict(os.environ) | dict(overrides or {}) | {"SINERGI_HOME": str(settings.home)}


def processor(settings: Settings) -> ProcessorService:
    return ProcessorService(settings)


# --- the browser application ----------------------------------------------------------------


@dataclass
class WebService:
    """The browser application (and its notifier) as a background process."""

    settings: Settings

    COMMAND = ("-m", "sinergi.web")

    @property
    def pidfile(self) -> PidFile:
        return PidFile(
            self.settings.home / "run" / "web.pid", ProcessOfHome(self.COMMAND, self.settings.home)
        )

    def environment(self, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        return home_environment(self.settings, overrides)

    @property
    def log_file(self) -> Path:
        return self.settings.home / "logs" / "web.log"

    def start(self, overrides: Mapping[str, str] | None = None) -> str:
        pid = self.pidfile.running_pid()
        url = f"http://{self.settings.web_host}:{self.settings.ports.web}/"
        if pid is not None:
            return f"already running (pid {pid}) on {url}"
        host, port = self.settings.web_host, self.settings.ports.web
        ensure_port_free(host, port, "web application", "SINERGI_WEB_PORT")
        proc = spawn(
            [sys.executable, *self.COMMAND],
            self.log_file,
            env=self.environment(overrides),
        )
        self.pidfile.write(proc.pid)
        took = wait_until(
            lambda: port_open(host, port),
            timeout=60,
            what="the web application",
            alive=lambda: proc.poll() is None,
            log_file=self.log_file,
        )
        return f"started (pid {proc.pid}) in {took:.1f}s on {url}"

    def stop(self) -> str:
        return stop_process(self.pidfile, timeout=15)

    def status(self) -> str:
        pid, another = self.pidfile.check()
        return self.pidfile.stopped(another) if pid is None else f"running (pid {pid})"


def web(settings: Settings) -> WebService:
    return WebService(settings)


# Officers of the demonstration, one per kind of unit: (username, unit, staff code).
DEMO_OFFICERS = (
    ("eltari", "post-eltari", "ELT-01"),
    ("tenau", "post-tenau", "TNU-01"),
    ("polresta-kupang", "police-polres-5371", "PRK-01"),
    ("polres-tts", "police-polres-5302", "PTS-01"),
    ("polres-belu", "police-polres-5304", "PBL-01"),
    ("polda", "police-polda-ntt", "POLDA-01"),
    ("bp3mi", "bp3mi-ntt", "BP3MI-01"),
    ("district-tts", "district-5302", "TTS-01"),
    ("hotline", "hotline-sisaga", "SISAGA-01"),
    ("ops", "ops", "OPS-01"),
    ("admin", "admin", "ADM-01"),
)


def demo_officers(settings: Settings) -> Path:
    """The demonstration's officers (idempotent); their generated passwords are in
    SINERGI_HOME/secrets/web/<username>.password (mode 0600), never printed."""
    from deploy.secrets import ensure_password
    from sinergi.web.officers import OfficerError, add_officer

    store = bootstrap.officer_store(settings)
    folder = settings.secrets_dir / "web"
    for username, unit, code in DEMO_OFFICERS:
        password = ensure_password(folder, username)
        if store.get(username) is None:
            with contextlib.suppress(OfficerError):
                add_officer(store, username, unit, code, password)
    return folder


# --- the demonstration ---------------------------------------------------------------------


def backlog(settings: Settings) -> int:
    """Messages on the input topics that the processor group has not committed yet."""
    group = settings.processor_group
    with bootstrap.kafka_admin(settings) as admin:
        committed = admin.list_group_offsets([group]).get(group, {})
    consumer = KafkaConsumer(**bootstrap.kafka_client(settings, bootstrap.ADMIN))
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


AGENCY_OF_FORM = {form.name: form.agency for form in forms.FORMS.values()}


def simulated_events(settings: Settings, *, months: int, seed: int) -> dict[str, list[Event]]:
    """Months of every agency's activity, validated and pseudonymised by their desks,
    grouped by unit."""
    shared = bootstrap.pseudonymiser(settings)
    rows: dict[tuple[str, str], list[dict[str, str | None]]] = defaultdict(list)
    for form, place, row in Simulator(seed=seed, months=months).events_rows(shared):
        rows[(form, place)].append(dict(row))
    by_unit: dict[str, list[Event]] = defaultdict(list)
    for (form, place), form_rows in rows.items():
        desk = bootstrap.desk(settings, AGENCY_OF_FORM[form], place)
        by_unit[desk.unit] += forms.record_rows(desk, forms.FORMS[form], form_rows)
    return by_unit


def cite_hub_cases(settings: Settings, events: list[Event]) -> list[Event]:
    """Police files as police would write them: the simulator cites each victim by their
    pseudonym (``nik:<pseudonym>``), which police never see; here each becomes the case the
    hub gave that person (found in the vault as the analyst, who may only find), as an
    officer copies it from an alert or the browser. A person the hub does not know (yet)
    is not cited."""
    vault = bootstrap.vault(settings, "sinergi_analyst", create=False)
    try:

        def hub_case(cited: str) -> str | None:
            strength, _, pseudonym = cited.partition(":")
            found = vault.find(strength, pseudonym)
            return found.case_id if found else None

        out = []
        for event in events:
            cited = getattr(event, "case_ids", None)
            if cited:
                cases = tuple(c for c in (hub_case(x) for x in cited) if c)
                event = dataclasses.replace(event, case_ids=cases)  # type: ignore[call-arg]
            out.append(event)
        return out
    finally:
        vault.close()


def _cite_cases(events: list[Event]) -> bool:
    return any(getattr(e, "case_ids", None) for e in events)


def acknowledge_some(settings: Settings, share: float, seed: int) -> int:
    """Police acknowledge a share of the open alerts (as a duty officer would)."""
    rng = random.Random(seed)
    open_alerts = views.alerts(settings, only_open=True, limit=100_000)
    chosen = [a for a in open_alerts if rng.random() < share]
    desk = bootstrap.desk(settings, Agency.POLICE, "polda-ntt")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [
        {
            "alert_id": str(a["alert_id"]),
            "officer": f"POLDA-{rng.randint(1, 40):02d}",
            "action": rng.choice(["NOTED", "INVESTIGATING", "INVESTIGATING", "REFERRED"]),
            "occurred_at": now,
        }
        for a in chosen
    ]
    events = forms.record_rows(desk, forms.FORMS["acknowledgement"], rows)
    pub = bootstrap.publisher(settings, desk.unit)
    try:
        pub.publish(events)
    finally:
        pub.close()
    return len(events)


def demo(settings: Settings, *, months: int, seed: int, report: Report = print) -> None:
    up(settings, report)
    # Six months arrive in a minute: rules waiting for late facts would wait a day, so the
    # demonstration's processor raises them at once.
    grace = {"SINERGI_ALERT_GRACE_HOURS": "0"}
    report(f"processor: {processor(settings).start(grace)} (alert grace period: none)")
    folder = demo_officers(settings)
    try:
        report(f"web: {web(settings).start()}")
    except StackError as exc:  # the demonstration goes on; the command line still works
        report(f"web: not started: {exc}")
    report(
        f"  log in as eltari (post), polres-tts, polresta-kupang, polda (police), ops, admin,"
        f" ...: passwords in {folder}/<username>.password"
    )
    by_unit = simulated_events(settings, months=months, seed=seed)
    by_agency: dict[str, Counter[str]] = defaultdict(Counter)
    units: dict[str, set[str]] = defaultdict(set)
    # Police cite victims by the cases the hub gave them: their files go last, once the
    # hub has taken in every other agency's records.
    citing = {unit for unit, events in by_unit.items() if _cite_cases(events)}
    for unit, events in sorted(by_unit.items(), key=lambda item: (item[0] in citing, item[0])):
        if unit in citing:
            if not wait_until_processed(settings, timeout=300):
                raise StackError(f"the processor has not caught up after 300s; see {settings.home}")
            events = cite_hub_cases(settings, events)
        # Each unit publishes with its own credential and signs with its own key.
        pub = bootstrap.publisher(settings, unit)
        try:
            pub.publish(events)
        finally:
            pub.close()
        agency = unit.split("-", 1)[0]
        units[agency].add(unit)
        by_agency[agency].update(e.event_type for e in events)
    for agency, kinds in sorted(by_agency.items()):
        what = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        report(
            f"{agency} ({len(units[agency])} unit(s)): published {sum(kinds.values())} events"
            f" ({what})"
        )
    report("waiting for the processor to take them in ...")
    if not wait_until_processed(settings, timeout=300):
        raise StackError(
            f"the processor has not caught up after 300s; see {settings.home / 'logs'}"
        )
    report("police follow the alerts (`sinergi alerts follow`), the first five:")
    for item in police.follow(
        settings, unit="police-polda-ntt", from_beginning=True, max_alerts=5, idle_timeout_s=10
    ):
        if isinstance(item, police.Raised):
            alert = item.alert
            report(f"  {alert.severity.value:<8} {alert.rule.value:<28} {alert.summary}")
    acked = acknowledge_some(settings, 0.6, seed)
    report(f"police acknowledged {acked} alerts (`sinergi alerts ack ALERT_ID --officer ...`)")
    wait_until_processed(settings, timeout=120)
    report(views.render_summary(views.ledger_summary(settings)))  # type: ignore[arg-type]
    report(
        f"web: http://{settings.web_host}:{settings.ports.web}/ (passwords in {folder})\n"
        f"metrics: http://{settings.host}:{settings.ports.metrics}/metrics\n"
        "try: sinergi ledger recruiters | sinergi alerts list --open | sinergi ledger rebuild\n"
        f"SQL: psql 'host={settings.host} port={settings.ports.postgres} dbname={settings.database}"
        f" user=sinergi_analyst' (password in {settings.secrets_dir}/sinergi_analyst.password)"
        "\nstop everything with: make down"
    )
