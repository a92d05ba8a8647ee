"""What operations see: counts from the analysts' views, the processor's own metrics,
and the health of every service. Counts and codes only; no case, no person.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from deploy.procs import port_open
from sinergi.config import Settings
from sinergi.views import LedgerReadError
from sinergi.web import routing
from sinergi.web.ledger import _connect

Series = dict[str, list[float]]


@dataclass(frozen=True)
class Monthly:
    """Series over months: ``months`` on the x axis, one list per series."""

    months: list[str]
    series: Series


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Dashboard:
    by_post: Monthly
    by_route: Monthly
    repatriations: list[tuple[str, float]]
    deaths: list[tuple[str, float]]
    origins: list[tuple[str, float]]
    alerts: Monthly
    ack_median_s: float | None  # time to acknowledge, seconds
    ack_p90_s: float | None
    dead_letters: list[tuple[str, float]]
    lag: list[tuple[str, float]] = field(default_factory=list)
    health: list[Check] = field(default_factory=list)


def _monthly(rows: list[dict[str, Any]], key: str) -> Monthly:
    months = sorted({r["month"] for r in rows})
    series: Series = defaultdict(lambda: [0.0] * len(months))
    at = {m: i for i, m in enumerate(months)}
    for r in rows:
        series[r[key]][at[r["month"]]] += float(r["n"])
    return Monthly(months, dict(sorted(series.items())))


_BY_POST = (
    "SELECT to_char(date_trunc('month', day), 'YYYY-MM') AS month, post, sum(interceptions) AS n"
    " FROM v_interceptions_daily GROUP BY 1, 2"
)
# Routes and deaths from the ledger's facts (corrections and retractions followed, as in
# metrics_daily), never from v_case_timeline, which keeps every record ever sent. Months
# are cut at the hub's days (UTC dates, as metrics_daily and the monthly report).
_BY_ROUTE = (
    "SELECT to_char(date_trunc('month', day), 'YYYY-MM') AS month, route,"
    " sum(interceptions) AS n FROM v_report_interceptions_daily GROUP BY 1, 2"
)
_REPATRIATIONS = (
    "SELECT labels ->> 'country' AS k, sum(value) AS n FROM v_metrics_daily"
    " WHERE metric = 'sinergi_repatriations_by_country_total' GROUP BY 1 ORDER BY 2 DESC, 1"
)
_DEATHS = "SELECT country AS k, sum(deaths) AS n FROM v_deaths_daily GROUP BY 1 ORDER BY 2 DESC, 1"
_ORIGINS = (
    "SELECT coalesce(origin_regency, '-') AS k, count(*) AS n FROM v_cases"
    " GROUP BY 1 ORDER BY 2 DESC, 1"
)
_ALERTS = (
    "SELECT to_char(date_trunc('month', day), 'YYYY-MM') AS month, sum(raised) AS raised,"
    " sum(acknowledged) AS acknowledged FROM v_alerts_daily GROUP BY 1"
)
_ACK_TIME = (
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS median,"
    " percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90 FROM ("
    " SELECT extract(epoch FROM time_to_acknowledge) AS s FROM v_alerts"
    " WHERE time_to_acknowledge IS NOT NULL) x"
)
_DEAD = (
    "SELECT coalesce(reason, '-') AS k, count(*) AS n FROM v_audit_log"
    " WHERE outcome = 'dead_lettered' GROUP BY 1"
)
# What makes one reason many: the position of the first copy a replay names, and the
# numbers a reason quotes (an id, a count of hours).
_FIRST_AT = re.compile(r" \(first at [^)]*\)")
_NUMBER = re.compile(r"\d+")


def reason_kind(reason: str) -> str:
    """A dead letter's reason without what differs between messages refused for the same
    reason: ``replayed: ... (first at posts[0]@17)`` and ``@18`` are one bar."""
    return _NUMBER.sub("N", _FIRST_AT.sub("", reason))


def dead_letter_kinds(rows: list[dict[str, Any]], shown: int = 12) -> list[tuple[str, float]]:
    """The reasons of dead letters (``k``, with their count ``n``) as kinds, the most
    frequent first, at most ``shown``."""
    kinds: Counter[str] = Counter()
    for r in rows:
        kinds[reason_kind(r["k"])] += int(r["n"])
    return [(k, float(n)) for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))[:shown]]


def _pairs(rows: list[dict[str, Any]], name: Callable[[str], str] = str) -> list[tuple[str, float]]:
    return [(name(r["k"]), float(r["n"])) for r in rows]


def read(conninfo: str) -> Dashboard:
    """The ledger's part of the dashboard (the processor's and the health come apart)."""
    with _connect(conninfo) as conn:
        by_post = _monthly(conn.execute(_BY_POST).fetchall(), "post")
        by_route = _monthly(conn.execute(_BY_ROUTE).fetchall(), "route")
        repatriations = _pairs(conn.execute(_REPATRIATIONS).fetchall())
        deaths = _pairs(conn.execute(_DEATHS).fetchall())
        origins = _pairs(conn.execute(_ORIGINS).fetchall(), routing.regency_name)
        alert_rows = conn.execute(_ALERTS).fetchall()
        ack = conn.execute(_ACK_TIME).fetchone() or {}
        dead = dead_letter_kinds(conn.execute(_DEAD).fetchall())
    months = sorted(r["month"] for r in alert_rows)
    at = {r["month"]: r for r in alert_rows}
    alerts = Monthly(
        months,
        {
            "raised": [float(at[m]["raised"]) for m in months],
            "acknowledged": [float(at[m]["acknowledged"]) for m in months],
        },
    )

    def seconds(value: Any) -> float | None:
        return None if value is None else float(value)

    return Dashboard(
        by_post, by_route, repatriations, deaths, origins, alerts,
        seconds(ack.get("median")), seconds(ack.get("p90")), dead,
    )  # fmt: skip


# --- the processor's metrics and the services' health ------------------------------------


def processor_metrics(settings: Settings, timeout: float = 2.0) -> dict[str, dict[str, float]]:
    """Samples of the processor's /metrics: metric name -> topic (or '') -> value."""
    url = f"http://{settings.host}:{settings.ports.metrics}/metrics"
    text = httpx.get(url, timeout=timeout).text
    found: dict[str, dict[str, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name][sample.labels.get("topic", "")] = sample.value
    return found


def lag(settings: Settings) -> list[tuple[str, float]]:
    """Messages waiting per input topic (the prefix of a test deployment left out)."""
    try:
        samples = processor_metrics(settings).get("sinergi_processor_lag_messages", {})
    except httpx.HTTPError:
        return []
    prefix = settings.topic_prefix
    return sorted((topic.removeprefix(prefix), value) for topic, value in samples.items())


def health(settings: Settings, ledger_ping: Callable[[], None]) -> list[Check]:
    """Kafka, PostgreSQL, the schema registry and the processor: reachable, and why not."""
    checks = [
        Check(
            "Kafka",
            port_open(settings.host, settings.ports.kafka),
            f"{settings.bootstrap_servers}",
        )
    ]
    try:
        ledger_ping()
        checks.append(Check("PostgreSQL", True, f"{settings.host}:{settings.ports.postgres}"))
    except LedgerReadError as exc:
        checks.append(Check("PostgreSQL", False, str(exc)))
    checks.append(_http("Schema registry", f"{settings.registry_url}/subjects"))
    ready = _http("Processor", f"http://{settings.host}:{settings.ports.metrics}/readyz")
    checks.append(ready)
    return checks


def _http(name: str, url: str) -> Check:
    try:
        response = httpx.get(url, timeout=2.0)
    except httpx.HTTPError as exc:
        return Check(name, False, f"{url}: {type(exc).__name__}")
    detail = f"{url}: HTTP {response.status_code}"
    if response.status_code != 200 and response.text:
        detail += f" ({response.text.strip()[:120]})"
    return Check(name, response.status_code == 200, detail)


def duration(seconds: float | None) -> str:
    """A time to acknowledge as people read it: seconds, minutes, hours or days."""
    if seconds is None:
        return "-"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
