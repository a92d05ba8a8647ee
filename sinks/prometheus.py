"""Prometheus: the ledger's counts (from PostgreSQL) and the worker's own health.

Ledger counts are read from the daily metrics table at scrape time (cached for a
moment), so they are exact, survive restarts, and agree with PostgreSQL. The
worker's throughput, dead letters and lag are live process metrics.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, make_wsgi_app
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from processors import metrics
from processors.intake import REFUSAL_RULES
from sinergi.breach import NOTIFY_WITHIN, Check, Kind

if TYPE_CHECKING:
    from processors.sentinel import Watched

log = logging.getLogger(__name__)

ACK_BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 3 * 86400.0)


@dataclass(frozen=True)
class Snapshot:
    cells: list[tuple[str, dict[str, str], int]]
    deaths_this_year: int
    ack_seconds: list[float]
    # (rule, severity) -> (raised, acknowledged, withdrawn, open)
    alerts: dict[tuple[str, str], tuple[int, int, int, int]]


class LedgerMetricsCollector(Collector):
    """The ledger's metrics, read from PostgreSQL at scrape time (cached for a moment):
    the daily table summed over all days as counters, and what is derived from it."""

    def __init__(self, conninfo: str, *, cache_seconds: float = 2.0) -> None:
        self.conninfo = conninfo
        self.cache_seconds = cache_seconds
        self._cached: Snapshot | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def _read(self) -> Snapshot:
        with psycopg.connect(self.conninfo, connect_timeout=3) as conn:
            cells = [
                (str(metric), dict(labels), int(value))
                for metric, labels, value in conn.execute(
                    "SELECT metric, labels, sum(value) FROM metrics_daily"
                    " GROUP BY metric, labels ORDER BY metric, labels::text"
                )
            ]
            deaths = conn.execute(
                "SELECT coalesce(sum(value), 0) FROM metrics_daily WHERE metric = %s"
                " AND day >= date_trunc('year', now() AT TIME ZONE 'Asia/Makassar')::date",
                (metrics.DEATHS,),
            ).fetchone()
            acks = conn.execute(
                "SELECT extract(epoch FROM time_to_acknowledge)::float8 FROM v_alerts"
                " WHERE acknowledged_at IS NOT NULL"
            ).fetchall()
            alerts = _alert_counts(conn)
        return Snapshot(
            cells,
            int(deaths[0]) if deaths else 0,
            [max(0.0, float(row[0])) for row in acks],
            alerts,
        )

    def snapshot(self) -> Snapshot:
        with self._lock:
            if self._cached is None or time.monotonic() - self._at > self.cache_seconds:
                self._cached = self._read()
                self._at = time.monotonic()
            return self._cached

    def collect(self) -> Iterable[Metric]:
        try:
            snap = self.snapshot()
        except psycopg.Error as exc:
            # PostgreSQL unreachable: say so, and leave the ledger's counts out of this scrape.
            log.warning("ledger metrics unavailable (%s)", type(exc).__name__)
            yield GaugeMetricFamily(
                "sinergi_ledger_metrics_up", "1 when the ledger's counts could be read.", value=0
            )
            return
        yield GaugeMetricFamily(
            "sinergi_ledger_metrics_up", "1 when the ledger's counts could be read.", value=1
        )
        families: dict[str, CounterMetricFamily] = {}
        for metric, labels, value in snap.cells:
            name = metric.removesuffix("_total")
            family = families.get(name)
            if family is None:
                help_text = metrics.HELP.get(metric, name.replace("_", " "))
                family = CounterMetricFamily(name, help_text, labels=sorted(labels))
                families[name] = family
            family.add_metric([labels[k] for k in sorted(labels)], value)
        yield from families.values()
        yield GaugeMetricFamily(
            "sinergi_deaths_this_year",
            "Deceased migrant workers repatriated since 1 January (WITA).",
            value=snap.deaths_this_year,
        )
        procedural = {"procedural": 0, "non_procedural": 0}
        for metric, labels, value in snap.cells:
            if metric == metrics.REPATRIATIONS and labels.get("procedural") in procedural:
                procedural[labels["procedural"]] += value
        known = sum(procedural.values())
        yield GaugeMetricFamily(
            "sinergi_repatriations_non_procedural_ratio",
            "Share of non-procedural among repatriations whose procedural status is known.",
            value=procedural["non_procedural"] / known if known else 0.0,
        )
        yield from _alert_families(snap.alerts)
        buckets = [(str(b), sum(s <= b for s in snap.ack_seconds)) for b in ACK_BUCKETS]
        buckets.append(("+Inf", len(snap.ack_seconds)))
        yield HistogramMetricFamily(
            "sinergi_alert_acknowledge_seconds",
            "Time from raising an alert to police acknowledging it.",
            buckets=buckets,
            sum_value=sum(snap.ack_seconds),
        )


def _alert_counts(
    conn: psycopg.Connection[Any],
) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """(rule, severity) -> (raised, acknowledged, withdrawn, open). Open is v_alert_status's
    (migration 0007): holding and not acknowledged, the definition the command line and
    v_alerts_daily use; a withdrawn alert is never open, acknowledged or not."""
    return {
        (str(rule), str(severity)): (int(raised), int(acked), int(withdrawn), int(open_))
        for rule, severity, raised, acked, withdrawn, open_ in conn.execute(
            "SELECT a.rule, a.severity, count(*),"
            " count(*) FILTER (WHERE a.acknowledged_at IS NOT NULL),"
            " count(*) FILTER (WHERE s.status = 'withdrawn'),"
            " count(*) FILTER (WHERE s.status = 'open')"
            " FROM v_alerts a JOIN v_alert_status s USING (alert_id)"
            " GROUP BY a.rule, a.severity"
        )
    }


def _alert_families(
    alerts: dict[tuple[str, str], tuple[int, int, int, int]],
) -> Iterable[Metric]:
    labels = ["rule", "severity"]
    raised = CounterMetricFamily(
        "sinergi_alerts_raised", "Alerts raised for police, by rule and severity.", labels=labels
    )
    acked = CounterMetricFamily(
        "sinergi_alerts_acknowledged", "Alerts acknowledged by police.", labels=labels
    )
    withdrawn = CounterMetricFamily(
        "sinergi_alerts_withdrawn",
        "Alerts withdrawn because a late fact ended them.",
        labels=labels,
    )
    still_open = GaugeMetricFamily(
        "sinergi_alerts_open", "Alerts holding and not yet acknowledged.", labels=labels
    )
    for (rule, severity), (n_raised, n_acked, n_withdrawn, n_open) in sorted(alerts.items()):
        key = [rule.lower(), severity.lower()]
        raised.add_metric(key, n_raised)
        acked.add_metric(key, n_acked)
        withdrawn.add_metric(key, n_withdrawn)
        still_open.add_metric(key, n_open)
    return [raised, acked, withdrawn, still_open]


# The breach clock's kinds and the watch's checks (sinergi/breach.py): bounded label values.
BREACH_KINDS = tuple(kind.value for kind in Kind)
BREACH_CHECKS = tuple(check.value for check in Check)


@dataclass(frozen=True)
class BreachClock:
    open: dict[str, tuple[int, float]]  # kind -> (open suspicions, earliest detected_at)
    checked: dict[str, float]  # check -> when it last ran (epoch seconds)


class BreachClockCollector(Collector):
    """The breach notification clock (migration 0012), read from PostgreSQL at scrape
    time, so a restart of the processor neither resets nor hides it: per kind, the open
    suspicions, since when (the clock's start) and the deadline, 3 x 24 hours later; and
    when each of the watch's checks last ran (0: never)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def _read(self) -> BreachClock:
        with psycopg.connect(self.conninfo, connect_timeout=3) as conn:
            opened = {
                str(kind): (int(count), float(since))
                for kind, count, since in conn.execute(
                    "SELECT kind, count(*), extract(epoch FROM min(detected_at))::float8"
                    " FROM breach_suspicions WHERE closed_at IS NULL GROUP BY kind"
                )
            }
            checked = {
                str(check): float(at)
                for check, at in conn.execute(
                    "SELECT check_name, extract(epoch FROM max(succeeded_at))::float8"
                    " FROM breach_watch WHERE succeeded_at IS NOT NULL GROUP BY check_name"
                )
            }
        return BreachClock(opened, checked)

    def collect(self) -> Iterable[Metric]:
        try:
            clock = self._read()
        except psycopg.Error as exc:
            log.warning("breach clock unavailable (%s)", type(exc).__name__)
            yield GaugeMetricFamily(
                "sinergi_breach_clock_up", "1 when the breach clock could be read.", value=0
            )
            return
        yield GaugeMetricFamily(
            "sinergi_breach_clock_up", "1 when the breach clock could be read.", value=1
        )
        count = GaugeMetricFamily(
            "sinergi_breach_suspicions_open",
            "Suspected personal data breaches not yet closed, by kind.",
            labels=["kind"],
        )
        since = GaugeMetricFamily(
            "sinergi_breach_suspected_since_timestamp_seconds",
            "When the earliest open suspicion of this kind was detected: the 3 x 24 hour"
            " notification clock (UU 27/2022 Pasal 46) runs from here.",
            labels=["kind"],
        )
        notify_by = GaugeMetricFamily(
            "sinergi_breach_notify_by_timestamp_seconds",
            "When the data subjects and the authority must have been told of the earliest"
            " open suspicion of this kind (detected + 72 hours).",
            labels=["kind"],
        )
        for kind in BREACH_KINDS:
            n, at = clock.open.get(kind, (0, 0.0))
            count.add_metric([kind], n)
            if n:
                since.add_metric([kind], at)
                notify_by.add_metric([kind], at + NOTIFY_WITHIN.total_seconds())
        watched = GaugeMetricFamily(
            "sinergi_breach_watch_last_success_timestamp_seconds",
            "When the breach watch last ran this check (sinergi audit watch; 0: never).",
            labels=["check"],
        )
        for check in BREACH_CHECKS:
            watched.add_metric([check], clock.checked.get(check, 0.0))
        yield from (count, since, notify_by, watched)


class WorkerMetrics:
    """The processor's live metrics, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.messages = Counter(
            "sinergi_processor_messages",
            "Messages handled by the ledger processor, by topic and outcome (stored,"
            " redelivered, already_recorded, dead_lettered).",
            ["topic", "outcome"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "sinergi_processor_dead_letters",
            "Messages dead-lettered, by the rule they broke (a bounded set of names).",
            ["rule"],
            registry=self.registry,
        )
        # Every rule at 0 from the start: a count that appears at 1 (the first refusal
        # after a start) is no increase to Prometheus.
        for rule in REFUSAL_RULES:
            self.dead_letters.labels(rule=rule)
        self.batch_seconds = Histogram(
            "sinergi_processor_batch_seconds",
            "Time to decode, fold and store one batch.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.lag = Gauge(
            "sinergi_processor_lag_messages",
            "Messages on the topic not yet processed (high-water mark minus position).",
            ["topic"],
            registry=self.registry,
        )
        self.last_processed = Gauge(
            "sinergi_processor_last_processed_timestamp_seconds",
            "When the processor last stored a batch holding messages of the topic.",
            ["topic"],
            registry=self.registry,
        )
        self.ready = Gauge(
            "sinergi_processor_ready",
            "1 when the processor consumes; 0 while it waits for a service that is down.",
            registry=self.registry,
        )
        self.retries = Counter(
            "sinergi_processor_retries",
            "Batches (or starts, or relays) tried again after a fault that passes, by cause.",
            ["cause"],
            registry=self.registry,
        )
        self.backoff_seconds = Gauge(
            "sinergi_processor_backoff_seconds",
            "How long the processor is waiting before its next attempt (0: not waiting).",
            registry=self.registry,
        )
        self.commit_failures = Counter(
            "sinergi_processor_commit_failures",
            "Offset commits that failed after the batch was stored (it will be redelivered).",
            registry=self.registry,
        )
        self.order_given_up = Counter(
            "sinergi_processor_order_given_up",
            "Times the worker went on without a partition that kept batches waiting for its"
            " next message (its leader away, say): that partition's next messages may be"
            " stored after later ones of other partitions.",
            ["topic"],
            registry=self.registry,
        )

        self.sentinel_records = Counter(
            "sinergi_sentinel_records",
            "Records the processor's sentinel read, by what it did: watched (may alert on"
            " their own), passed (cannot), too_old (left to the ledger: it was behind).",
            ["outcome"],
            registry=self.registry,
        )
        self.sentinel_alerts = Counter(
            "sinergi_sentinel_alerts",
            "Alerts the sentinel raised ahead of the ledger, by rule.",
            ["rule"],
            registry=self.registry,
        )
        self.sentinel_seconds = Histogram(
            "sinergi_sentinel_alert_seconds",
            "From the hub's receipt of a record to Kafka's acknowledgement of the alert the"
            " sentinel raised for it.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.sentinel_faults = Counter(
            "sinergi_sentinel_faults",
            "Times the sentinel stopped on a fault and started again, by cause (the"
            " ledger raises what it missed).",
            ["cause"],
            registry=self.registry,
        )

    def watched(self, result: Watched) -> None:
        """The sentinel's observer: what it did with a batch."""
        passed = result.messages - result.too_old - result.candidates
        for outcome, n in (("watched", result.candidates), ("passed", passed),
                           ("too_old", result.too_old)):  # fmt: skip
            if n:
                self.sentinel_records.labels(outcome).inc(n)
        for alert, seconds in zip(result.raised, result.seconds, strict=True):
            self.sentinel_alerts.labels(alert.rule.value).inc()
            self.sentinel_seconds.observe(seconds)

    def failed(self, cause: str) -> None:
        self.sentinel_faults.labels(cause).inc()

    def total_lag(self) -> float:
        """Messages not yet processed, over every topic (the lag gauge's sum)."""
        return sum(sample.value for family in self.lag.collect() for sample in family.samples)

    def serve(self, host: str, port: int, ready: Callable[[], tuple[bool, str]]) -> WSGIServer:
        """``/metrics``, ``/healthz`` (the process answers) and ``/readyz`` (it consumes;
        503 with the reason while it waits for a service), in a background thread."""
        server = make_server(
            host, port, health_app(make_wsgi_app(self.registry), ready),
            server_class=_ThreadingServer, handler_class=_QuietHandler,
        )  # fmt: skip
        threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
        return server


def build_info(registry: CollectorRegistry, version: str, commit: str) -> None:
    """``sinergi_build_info{version,commit} 1``: which code answers this page."""
    Info(
        "sinergi_build", "The running build: package version and git commit.", registry=registry
    ).info({"version": version, "commit": commit})


Ready = Callable[[], tuple[bool, str]]


def ready_within_lag(ready: Ready, lag: Callable[[], float], max_lag: int) -> Ready:
    """``ready``, and not ready either while the lag is above ``max_lag`` messages: a
    processor that consumes but is far behind is not serving fresh alerts yet (the
    threshold is SINERGI_READY_MAX_LAG). The worker's own ready gauge is left as it is."""

    def check() -> tuple[bool, str]:
        ok, reason = ready()
        if not ok:
            return ok, reason
        behind = int(lag())
        if behind > max_lag:
            return False, f"lag of {behind} messages is above {max_lag} (SINERGI_READY_MAX_LAG)"
        return True, reason

    return check


Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def health_app(metrics_app: Wsgi, ready: Callable[[], tuple[bool, str]]) -> Wsgi:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "alive"})
        if path == "/readyz":
            ok, reason = ready()
            status = "200 OK" if ok else "503 Service Unavailable"
            return _json(start_response, status, {"ready": ok, "reason": reason})
        return metrics_app(environ, start_response)

    return app


def _json(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not news."""
