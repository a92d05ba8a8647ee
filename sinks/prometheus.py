"""Prometheus: the ledger's counts (from PostgreSQL) and the worker's own health.

Ledger counts are read from the daily metrics table at scrape time (cached for a
moment), so they are exact, survive restarts, and agree with PostgreSQL; they are
gauges, since corrections and retractions take counts back. The worker's throughput,
dead letters and lag are live process metrics.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from processors import metrics
from processors.intake import REFUSAL_RULES
from sinergi.breach import NOTIFY_WITHIN, Check, Kind

if TYPE_CHECKING:
    from processors.sentinel import Watched

log = logging.getLogger(__name__)

# The quantiles of the time to acknowledge served, over the alerts acknowledged in the
# last 24 hours.
ACK_QUANTILES = (0.5, 0.9)
ACK_WINDOW = "24h"

# When each post's latest interception took place: the post's last day in metrics_daily
# (a row per UTC date of occurred_at, kept when a retraction brings it to 0) gives the
# one day of the event store's (event_type, occurred_at) index to search, so a post
# silent for a year costs what one that recorded an hour ago does; the whole index,
# backwards, only where that day holds no record of the post (a correction moved one
# there). Measured with 1,000,000 events (400,000 interceptions, 7 posts, one silent for
# a year): 0.2 ms, against 400 ms to group every interception by post.
_LAST_INTERCEPTION = """
SELECT p.post, extract(epoch FROM coalesce(
    (SELECT max(e.occurred_at) FROM events e
     WHERE e.event_type = 'InterceptionRecorded' AND e.payload ->> 'post_id' = p.post
       AND e.occurred_at >= p.day::timestamp AT TIME ZONE 'UTC'
       AND e.occurred_at < (p.day + 1)::timestamp AT TIME ZONE 'UTC'),
    (SELECT max(e.occurred_at) FROM events e
     WHERE e.event_type = 'InterceptionRecorded' AND e.payload ->> 'post_id' = p.post)
))::float8
FROM unnest(%s::text[], %s::date[]) AS p(post, day)
"""


@dataclass(frozen=True)
class Snapshot:
    cells: list[tuple[str, dict[str, str], int]]
    deaths_this_year: int
    # quantile -> seconds, over the alerts acknowledged in the last 24 hours (none: empty)
    ack_seconds: dict[float, float]
    # (rule, severity) -> (raised, acknowledged, withdrawn, open)
    alerts: dict[tuple[str, str], tuple[int, int, int, int]]
    # severity -> when the oldest alert of it still open was raised (epoch seconds)
    oldest_open: dict[str, float] = field(default_factory=dict)
    # post -> when its latest interception took place (epoch seconds)
    last_interception: dict[str, float] = field(default_factory=dict)


class LedgerMetricsCollector(Collector):
    """The ledger's metrics, read from PostgreSQL at scrape time (cached for a moment):
    the daily table summed over all days, and what is derived from it.

    The ledger's figures are gauges, not counters: a retraction or a correction takes a
    record's cells back out of the daily table, an acknowledgement can be retracted and a
    withdrawn alert can hold again, so they go down as well as up, and Prometheus takes
    any fall of a counter for a restart (increase() then adds the whole count again).
    Only ``sinergi_alerts_raised_total`` is a counter: alert rows are never deleted."""

    def __init__(self, conninfo: str, *, cache_seconds: float = 2.0) -> None:
        self.conninfo = conninfo
        self.cache_seconds = cache_seconds
        self._cached: Snapshot | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def _read(self) -> Snapshot:
        with psycopg.connect(self.conninfo, connect_timeout=3) as conn:
            cells = []
            last_day: dict[str, date] = {}
            for metric, labels, value, day in conn.execute(
                "SELECT metric, labels, sum(value), max(day) FROM metrics_daily"
                " GROUP BY metric, labels ORDER BY metric, labels::text"
            ):
                cells.append((str(metric), dict(labels), int(value)))
                if metric == metrics.INTERCEPTIONS and "post" in labels:
                    last_day[str(labels["post"])] = day
            deaths = conn.execute(
                "SELECT coalesce(sum(value), 0) FROM metrics_daily WHERE metric = %s"
                " AND day >= date_trunc('year', now() AT TIME ZONE 'Asia/Makassar')::date",
                (metrics.DEATHS,),
            ).fetchone()
            [quantiles] = conn.execute(
                "SELECT percentile_cont(%s::float8[]) WITHIN GROUP"
                " (ORDER BY greatest(0, extract(epoch FROM time_to_acknowledge))::float8)"
                " FROM v_alerts WHERE acknowledged_at > now() - interval '24 hours'",
                (list(ACK_QUANTILES),),
            ).fetchone() or (None,)
            alerts, oldest = _alert_counts(conn)
            posts = sorted(last_day)
            last = {
                str(post): float(at)
                for post, at in conn.execute(
                    _LAST_INTERCEPTION, (posts, [last_day[p] for p in posts])
                )
                if at is not None
            }
        return Snapshot(
            cells,
            int(deaths[0]) if deaths else 0,
            dict(zip(ACK_QUANTILES, map(float, quantiles), strict=True)) if quantiles else {},
            alerts,
            oldest,
            last,
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
        # metrics_daily's names end in _total (processors/metrics.py); served as gauges,
        # without it.
        families: dict[str, GaugeMetricFamily] = {}
        for metric, labels, value in snap.cells:
            name = metric.removesuffix("_total")
            family = families.get(name)
            if family is None:
                help_text = metrics.HELP.get(metric, name.replace("_", " "))
                family = GaugeMetricFamily(
                    name,
                    f"{help_text} Net of corrections and retractions: it can fall.",
                    labels=sorted(labels),
                )
                families[name] = family
            family.add_metric([labels[k] for k in sorted(labels)], value)
        yield from families.values()
        last = GaugeMetricFamily(
            "sinergi_post_last_interception_timestamp_seconds",
            "When the latest interception the post recorded took place (its occurred_at),"
            " of all the hub stored, retracted ones included: the post's desk sent it.",
            labels=["post"],
        )
        for post, at in sorted(snap.last_interception.items()):
            last.add_metric([post], at)
        yield last
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
        yield from _alert_families(snap.alerts, snap.oldest_open)
        acknowledge = GaugeMetricFamily(
            "sinergi_alert_acknowledge_seconds",
            "Time from raising an alert to police acknowledging it: this quantile of the"
            " alerts acknowledged in the window (none acknowledged: no sample).",
            labels=["quantile", "window"],
        )
        for quantile, seconds in sorted(snap.ack_seconds.items()):
            acknowledge.add_metric([str(quantile), ACK_WINDOW], seconds)
        yield acknowledge


def _alert_counts(
    conn: psycopg.Connection[Any],
) -> tuple[dict[tuple[str, str], tuple[int, int, int, int]], dict[str, float]]:
    """(rule, severity) -> (raised, acknowledged, withdrawn, open), and severity -> when
    the oldest of its open alerts was raised. Open is v_alert_status's (migration 0007):
    holding and not acknowledged, the definition the command line and v_alerts_daily use;
    a withdrawn alert is never open, acknowledged or not. Rule and severity in lower
    case, as the labels."""
    counts: dict[tuple[str, str], tuple[int, int, int, int]] = {}
    oldest: dict[str, float] = {}
    for rule, severity, raised, acked, withdrawn, open_, since in conn.execute(
        "SELECT a.rule, a.severity, count(*),"
        " count(*) FILTER (WHERE a.acknowledged_at IS NOT NULL),"
        " count(*) FILTER (WHERE s.status = 'withdrawn'),"
        " count(*) FILTER (WHERE s.status = 'open'),"
        " extract(epoch FROM min(a.raised_at) FILTER (WHERE s.status = 'open'))::float8"
        " FROM v_alerts a JOIN v_alert_status s USING (alert_id)"
        " GROUP BY a.rule, a.severity"
    ):
        key = (str(rule).lower(), str(severity).lower())
        counts[key] = (int(raised), int(acked), int(withdrawn), int(open_))
        if since is not None:
            oldest[key[1]] = min(float(since), oldest.get(key[1], float(since)))
    return counts, oldest


def _alert_families(
    alerts: dict[tuple[str, str], tuple[int, int, int, int]],
    oldest_open: dict[str, float],
) -> Iterable[Metric]:
    labels = ["rule", "severity"]
    # Alert rows are never deleted: this one only grows.
    raised = CounterMetricFamily(
        "sinergi_alerts_raised", "Alerts raised for police, by rule and severity.", labels=labels
    )
    acked = GaugeMetricFamily(
        "sinergi_alerts_acknowledged",
        "Alerts police have acknowledged (a retracted acknowledgement no longer counts).",
        labels=labels,
    )
    withdrawn = GaugeMetricFamily(
        "sinergi_alerts_withdrawn",
        "Alerts withdrawn because a late fact ended them (one that holds again no longer counts).",
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
    oldest = GaugeMetricFamily(
        "sinergi_alerts_oldest_open_timestamp_seconds",
        "When the oldest alert of this severity that is still open (holding, not"
        " acknowledged) was raised; no sample while none is open.",
        labels=["severity"],
    )
    for severity, since in sorted(oldest_open.items()):
        oldest.add_metric([severity], since)
    return [raised, acked, withdrawn, still_open, oldest]


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
