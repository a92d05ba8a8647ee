"""Prometheus: the ledger's counts (from PostgreSQL) and the worker's own health.

Ledger counts are read from the daily metrics table at scrape time (cached for a
moment), so they are exact, survive restarts, and agree with PostgreSQL. The
worker's throughput, dead letters and lag are live process metrics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

DOCS = {
    "sinergi_interceptions": "Interceptions recorded by the posts, by post.",
}


class LedgerMetricsCollector(Collector):
    """Exposes ``metrics_daily`` summed over all days as Prometheus counters."""

    def __init__(self, conninfo: str, *, cache_seconds: float = 2.0) -> None:
        self.conninfo = conninfo
        self.cache_seconds = cache_seconds
        self._cached: list[tuple[str, dict[str, str], int]] = []
        self._at = 0.0
        self._lock = threading.Lock()

    def _rows(self) -> list[tuple[str, dict[str, str], int]]:
        with self._lock:
            if time.monotonic() - self._at > self.cache_seconds:
                with psycopg.connect(self.conninfo, connect_timeout=3) as conn:
                    self._cached = [
                        (str(metric), dict(labels), int(value))
                        for metric, labels, value in conn.execute(
                            "SELECT metric, labels, sum(value) FROM metrics_daily"
                            " GROUP BY metric, labels ORDER BY metric, labels::text"
                        )
                    ]
                self._at = time.monotonic()
            return self._cached

    def collect(self) -> Iterable[Metric]:
        families: dict[str, CounterMetricFamily] = {}
        for metric, labels, value in self._rows():
            name = metric.removesuffix("_total")
            family = families.get(name)
            if family is None:
                family = CounterMetricFamily(
                    name, DOCS.get(name, name.replace("_", " ")), labels=sorted(labels)
                )
                families[name] = family
            family.add_metric([labels[k] for k in sorted(labels)], value)
        return list(families.values())


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
