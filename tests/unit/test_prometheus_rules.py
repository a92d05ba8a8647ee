"""Operations' Prometheus configuration and rules hold (``promtool``, Debian's
``prometheus`` package, installed by deploy/bootstrap.sh), and every query of the rules
and the Grafana dashboard reads a metric the processor registers. The same check runs
against the real processor's /metrics in tests/integration/test_operations.py."""

from __future__ import annotations

import re
import shutil
import subprocess

import psycopg
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from processors import metrics
from sinks.prometheus import (
    BreachClock,
    BreachClockCollector,
    LedgerMetricsCollector,
    Snapshot,
    WorkerMetrics,
    build_info,
)
from tests.promql import (
    BUILTIN,
    PROMETHEUS,
    dashboard_queries,
    metric_names,
    page_names,
    panel_queries,
    rule_expressions,
    rule_files,
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is missing: deploy/bootstrap.sh installs it (apt-get install prometheus)"
        )
    return subprocess.run(
        [found, *args], capture_output=True, text=True, timeout=120, check=False, cwd=PROMETHEUS
    )


def test_the_prometheus_configuration_and_its_rule_files_are_valid():
    checked = promtool("check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 rule files found" in checked.stdout


def test_the_alerting_rules_fire_when_they_should_and_only_then():
    """Processor down or absent, not ready, lag above 10,000 for 10 minutes, stalled,
    dead letters rising (the first after a start too), a post silent for 24 h in its
    opening hours (not at night; a retraction meanwhile changes nothing), acknowledgements
    slow, a HIGH alert open for 4 hours (not a stream of alerts each acknowledged within
    the hour); the ledger's figures served by two workers counted once, and falling by a
    retraction, not restarting (tests/*_test.yml)."""
    tested = promtool("test", "rules", "tests/rules_test.yml", "tests/daily_rules_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == 2


class _Ledger(LedgerMetricsCollector):
    """The ledger's collector with one count of every metric instead of PostgreSQL."""

    def __init__(self) -> None:
        super().__init__("")

    def _read(self) -> Snapshot:
        cells = [(name, {"label": "x"}, 1) for name in metrics.HELP]
        return Snapshot(
            cells,
            1,
            {0.5: 60.0, 0.9: 600.0},
            {("MINOR_INTERCEPTED", "HIGH"): (2, 1, 0, 1)},
            {"high": 1000.0},
            {"eltari": 2000.0},
        )


class _Breach(BreachClockCollector):
    """The breach clock's collector with one open suspicion instead of PostgreSQL."""

    def __init__(self, clock: BreachClock | None = None) -> None:
        super().__init__("")
        self.clock = clock or BreachClock({"acl_denied": (1, 3600.0)}, {"audit_verify": 60.0})

    def _read(self) -> BreachClock:
        return self.clock


def registered_page() -> str:
    worker = WorkerMetrics()
    build_info(worker.registry, "0.1.0", "abcdef012345")
    worker.registry.register(_Ledger())
    worker.registry.register(_Breach())
    return generate_latest(worker.registry).decode()


def test_every_rule_and_dashboard_query_reads_a_registered_metric():
    expressions, recorded = rule_expressions()
    offered = page_names(registered_page()) | BUILTIN
    for expr in expressions:
        assert metric_names(expr) <= offered | recorded, expr
    for expr in dashboard_queries():
        assert metric_names(expr) <= offered, expr
    assert len(rule_files()) == 2 and len(expressions) >= 15


def test_rules_and_dashboard_count_a_ledger_figure_once_whatever_number_of_workers_serve_it():
    """The ledger's counts are the whole hub's, read from PostgreSQL: every worker that
    serves them (SINERGI_LEDGER_METRICS) serves the same. Each is taken from one instance
    (``max without (instance)``) where it is read, before anything adds it up."""
    ledger = page_names(ledger_page()) - {"sinergi_ledger_metrics_up"}
    once = re.compile(r"max without \(instance\) \((?:\w+\()?$")
    expressions, _ = rule_expressions()
    unguarded = [
        expr
        for expr in expressions + panel_queries()
        for name in metric_names(expr) & ledger
        for found in re.finditer(rf"(?<![\w:]){name}(?![\w:])", expr)
        if not once.search(expr[: found.start()])
    ]
    assert unguarded == []
    # The collector's families were found, the new ones among them.
    assert len(ledger) > 25
    assert {
        "sinergi_interceptions",
        "sinergi_deaths",
        "sinergi_alerts_acknowledged",
        "sinergi_alerts_withdrawn",
        "sinergi_alerts_raised_total",
        "sinergi_alert_acknowledge_seconds",
        "sinergi_alerts_oldest_open_timestamp_seconds",
        "sinergi_post_last_interception_timestamp_seconds",
    } <= ledger


def ledger_page() -> str:
    registry = CollectorRegistry()
    registry.register(_Ledger())
    return generate_latest(registry).decode()


def test_the_ledgers_figures_are_gauges_because_a_retraction_takes_counts_back():
    """A retraction or a correction takes a record's counts back out of metrics_daily,
    an acknowledgement can be retracted, a withdrawn alert can hold again: a counter that
    falls is a restart to Prometheus, whose increase() then adds the whole count again
    (a post's whole history as its last 24 hours). So what can fall is a gauge, without
    _total; alerts raised (rows never deleted) stays a counter."""
    types = {f.name: f.type for f in text_string_to_metric_families(ledger_page())}
    for name in metrics.HELP:  # metrics_daily's names keep _total; /metrics drops it
        assert types[name.removesuffix("_total")] == "gauge", name
    for name in ("sinergi_alerts_acknowledged", "sinergi_alerts_withdrawn", "sinergi_alerts_open"):
        assert types[name] == "gauge", name
    assert types["sinergi_alerts_raised"] == "counter"
    assert "histogram" not in types.values()
    assert [n for n, t in types.items() if t == "counter"] == ["sinergi_alerts_raised"]


def test_the_time_to_acknowledge_and_the_oldest_open_alert_are_served_as_postgresql_says():
    page = ledger_page()
    assert 'sinergi_alert_acknowledge_seconds{quantile="0.5",window="24h"} 60.0' in page
    assert 'sinergi_alert_acknowledge_seconds{quantile="0.9",window="24h"} 600.0' in page
    assert 'sinergi_alerts_oldest_open_timestamp_seconds{severity="high"} 1000.0' in page
    assert 'sinergi_post_last_interception_timestamp_seconds{post="eltari"} 2000.0' in page
    assert 'sinergi_interceptions{label="x"} 1.0' in page
    assert 'sinergi_alerts_raised_total{rule="minor_intercepted",severity="high"} 2.0' in page
    assert 'sinergi_alerts_acknowledged{rule="minor_intercepted",severity="high"} 1.0' in page


def test_metric_names_are_read_from_promql():
    assert metric_names(
        'sum by (post) (delta(sinergi_interceptions{post=~"$post"}[$__rate_interval]))'
    ) == {"sinergi_interceptions"}
    assert metric_names(
        "histogram_quantile(0.9, sum by (le) (rate(sinergi_processor_batch_seconds_bucket[5m])))"
    ) == {"sinergi_processor_batch_seconds_bucket"}
    assert metric_names(
        "sinergi:post_silence_seconds > 86400 and on () ((hour() + 8) % 24 >= 6)"
    ) == {"sinergi:post_silence_seconds"}
    assert metric_names("time() - sinergi_x offset 5m > 4 * 3600") == {"sinergi_x"}


def test_the_breach_clock_shows_since_when_and_the_deadline_of_each_kind_open():
    registry = CollectorRegistry()
    registry.register(_Breach(BreachClock({"acl_denied": (2, 1000.0)}, {"authorizer_log": 99.0})))
    page = generate_latest(registry).decode()
    assert 'sinergi_breach_suspicions_open{kind="acl_denied"} 2.0' in page
    assert 'sinergi_breach_suspicions_open{kind="audit_failed"} 0.0' in page
    assert 'sinergi_breach_suspected_since_timestamp_seconds{kind="acl_denied"} 1000.0' in page
    assert 'sinergi_breach_notify_by_timestamp_seconds{kind="acl_denied"} 260200.0' in page
    assert 'kind="audit_failed"} 1000' not in page  # no clock for a kind with none open
    assert (
        'sinergi_breach_watch_last_success_timestamp_seconds{check="authorizer_log"} 99.0' in page
    )
    assert 'sinergi_breach_watch_last_success_timestamp_seconds{check="audit_verify"} 0.0' in page
    assert "sinergi_breach_clock_up 1.0" in page


def test_an_unreadable_breach_clock_says_so():
    class Down(BreachClockCollector):
        def _read(self) -> BreachClock:
            raise psycopg.OperationalError("down")

    registry = CollectorRegistry()
    registry.register(Down(""))
    page = generate_latest(registry).decode()
    assert "sinergi_breach_clock_up 0.0" in page
    assert "sinergi_breach_suspicions_open{" not in page
