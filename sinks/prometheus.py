"""Prometheus: the ledger's counts (from PostgreSQL) and the worker's own health.

Ledger counts are read from the daily metrics table at scrape time (cached for a
moment), so they are exact, survive restarts, and agree with PostgreSQL. The
worker's throughput, dead letters and lag are live process metrics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from processors import metrics

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
            alerts = {
                (str(rule), str(severity)): (int(raised), int(acked), int(withdrawn), int(open_))
                for rule, severity, raised, acked, withdrawn, open_ in conn.execute(
                    "SELECT rule, severity, count(*),"
                    " count(*) FILTER (WHERE acknowledged_at IS NOT NULL),"
                    " count(*) FILTER (WHERE withdrawn_at IS NOT NULL),"
                    " count(*) FILTER (WHERE acknowledged_at IS NULL AND withdrawn_at IS NULL)"
                    " FROM v_alerts GROUP BY rule, severity"
                )
            }
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
        snap = self.snapshot()
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


class WorkerMetrics:
    """The processor's live metrics, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.messages = Counter(
            "sinergi_processor_messages",
            "Messages handled by the ledger processor, by topic and outcome.",
            ["topic", "outcome"],
            registry=self.registry,
        )
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

    def serve(self, host: str, port: int) -> Any:
        return start_http_server(port, addr=host, registry=self.registry)
