"""Reading what the report needs, as the analyst (``sinergi_analyst``): the views only.

Days are the hub's days: ``metrics_daily`` counts an event on the date of its time in
UTC, so the session's time zone is UTC and every other view is cut at the same
midnight; the month's figures then add up across views.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg

from sinergi import views
from sinergi.config import Settings
from sinergi.report.ctdc import CaseRow
from sinergi.report.monthly import Figures, Month

Connection = psycopg.Connection[dict[str, Any]]

METRICS = (
    "sinergi_interceptions_by_destination_total",
    "sinergi_interceptions_by_origin_total",
    "sinergi_repatriations_total",
    "sinergi_repatriations_by_country_total",
    "sinergi_prevention_activities_total",
    "sinergi_prevention_attendance_total",
)


@contextmanager
def analyst(settings: Settings) -> Iterator[Connection]:
    """A read-only connection as the analyst, in UTC; failures in one sentence."""
    with views.analyst(
        settings, reader="the report", needs="the report needs 0010_report.sql"
    ) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        yield conn


def figures(conn: Connection, month: Month) -> Figures:
    """Everything the report says about one month, from the views."""
    span = {"start": month.first_day, "end": month.end}
    metrics = _metrics(conn, span)
    return Figures(
        month=month,
        post_route={
            (r["post"], r["route"]): int(r["n"])
            for r in conn.execute(
                "SELECT post, route, sum(interceptions)::bigint AS n"
                " FROM v_report_interceptions_daily"
                " WHERE day >= %(start)s AND day < %(end)s GROUP BY 1, 2",
                span,
            )
        },
        destinations=_one(metrics, "sinergi_interceptions_by_destination_total", "country"),
        origins=_one(metrics, "sinergi_interceptions_by_origin_total", "regency"),
        repatriations={
            (labels["kind"], labels["procedural"]): n
            for labels, n in metrics["sinergi_repatriations_total"]
        },
        repatriation_countries=_one(metrics, "sinergi_repatriations_by_country_total", "country"),
        alerts_raised={
            r["rule"]: int(r["n"])
            for r in conn.execute(
                "SELECT rule, sum(raised)::bigint AS n FROM v_alerts_daily"
                " WHERE day >= %(start)s AND day < %(end)s GROUP BY 1 HAVING sum(raised) > 0",
                span,
            )
        },
        alerts_acknowledged=_scalar(
            conn,
            "SELECT coalesce(sum(acknowledged), 0)::bigint AS n FROM v_alerts_daily"
            " WHERE day >= %(start)s AND day < %(end)s",
            span,
        ),
        ack_median_s=_median(conn, span),
        prevention_activities=_one(metrics, "sinergi_prevention_activities_total", "kind"),
        prevention_attendance=_one(metrics, "sinergi_prevention_attendance_total", "kind"),
    )


Metrics = Mapping[str, list[tuple[dict[str, str], int]]]


def _metrics(conn: Connection, span: Mapping[str, object]) -> Metrics:
    found: dict[str, list[tuple[dict[str, str], int]]] = defaultdict(list)
    for r in conn.execute(
        "SELECT metric, labels, sum(value)::bigint AS n FROM v_metrics_daily"
        " WHERE day >= %(start)s AND day < %(end)s AND metric = ANY(%(metrics)s)"
        " GROUP BY 1, 2",
        {**span, "metrics": list(METRICS)},
    ):
        if int(r["n"]):
            found[r["metric"]].append((dict(r["labels"]), int(r["n"])))
    return found


def _one(metrics: Metrics, metric: str, label: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for labels, n in metrics.get(metric, []):
        out[labels.get(label, "unknown")] += n
    return dict(out)


def _scalar(conn: Connection, statement: str, params: Mapping[str, object]) -> int:
    row = conn.execute(statement.encode(), params).fetchone()
    return int(row["n"]) if row else 0


def _median(conn: Connection, span: Mapping[str, object]) -> float | None:
    """The median time to acknowledge of the alerts acknowledged in the month."""
    row = conn.execute(
        "SELECT percentile_cont(0.5) WITHIN GROUP"
        " (ORDER BY extract(epoch FROM time_to_acknowledge)) AS median FROM v_alerts"
        " WHERE acknowledged_at >= %(start)s AND acknowledged_at < %(end)s",
        span,
    ).fetchone()
    return None if row is None or row["median"] is None else float(row["median"])


def ctdc_cases(conn: Connection, year: int) -> list[CaseRow]:
    """The cases registered (first seen) in ``year``, as the CTDC export reads them:
    generalised already in the view (age band, no dates, no ids)."""
    return [
        CaseRow(
            year=int(r["year_registered"]),
            sex=r["sex"],
            age_band=r["age_band"],
            intercepted=bool(r["intercepted"]),
            tipped=bool(r["tipped"]),
            investigated=bool(r["investigated"]),
            repatriated_non_procedural=bool(r["repatriated_non_procedural"]),
            trafficking_victim=bool(r["trafficking_victim"]),
            sector=r["sector"],
            exploitation_country=r["exploitation_country"],
        )
        for r in conn.execute("SELECT * FROM v_report_cases WHERE year_registered = %s", (year,))
    ]
