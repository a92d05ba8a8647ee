"""Reading the ledger as analysts and police do: through the PostgreSQL views only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from rich.console import Group as RichGroup
from rich.table import Table

from sinergi import bootstrap
from sinergi.config import Settings
from sinergi.display import local_time


def _analyst(settings: Settings) -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(bootstrap.conninfo(settings, "sinergi_analyst"), row_factory=dict_row)


@dataclass(frozen=True)
class LedgerSummary:
    cases: int
    strong: int
    weak: int
    repeat: int
    minors: int
    interceptions: int
    by_status: dict[str, int]
    by_post: dict[str, int]
    recruiters: int
    alerts: int
    alerts_open: int


def ledger_summary(settings: Settings) -> LedgerSummary:
    with _analyst(settings) as conn:
        row = conn.execute(
            "SELECT count(*) AS cases, count(*) FILTER (WHERE match_kind = 'strong') AS strong,"
            " count(*) FILTER (WHERE match_kind = 'weak') AS weak,"
            " count(*) FILTER (WHERE interceptions > 1) AS repeat,"
            " count(*) FILTER (WHERE minor) AS minors,"
            " coalesce(sum(interceptions), 0) AS interceptions FROM v_cases"
        ).fetchone()
        assert row is not None
        by_status = {
            r["status"]: int(r["n"])
            for r in conn.execute(
                "SELECT status, count(*) AS n FROM v_cases GROUP BY status ORDER BY status"
            )
        }
        by_post = {
            r["post"]: int(r["n"])
            for r in conn.execute(
                "SELECT post, sum(interceptions)::bigint AS n FROM v_interceptions_daily"
                " GROUP BY post ORDER BY post"
            )
        }
        recruiters = conn.execute("SELECT count(*) AS n FROM v_recruiters").fetchone()
        alerts = conn.execute(
            "SELECT count(*) AS n, count(*) FILTER (WHERE acknowledged_at IS NULL) AS open"
            " FROM v_alerts"
        ).fetchone()
    assert recruiters is not None and alerts is not None
    return LedgerSummary(
        cases=int(row["cases"]),
        strong=int(row["strong"]),
        weak=int(row["weak"]),
        repeat=int(row["repeat"]),
        minors=int(row["minors"]),
        interceptions=int(row["interceptions"]),
        by_status=by_status,
        by_post=by_post,
        recruiters=int(recruiters["n"]),
        alerts=int(alerts["n"]),
        alerts_open=int(alerts["open"]),
    )


def render_summary(summary: LedgerSummary) -> Table:
    table = Table(title="Joint case ledger (buku kasus bersama)")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("cases (people)", str(summary.cases))
    table.add_row("  matched by NIK (strong)", str(summary.strong))
    table.add_row("  matched by name/birth/origin (weak)", str(summary.weak))
    for status, count in summary.by_status.items():
        table.add_row(f"  status {status}", str(count))
    table.add_row("  intercepted more than once", str(summary.repeat))
    table.add_row("  minors when first seen", str(summary.minors))
    table.add_row("interceptions in the ledger", str(summary.interceptions))
    for post, count in summary.by_post.items():
        table.add_row(f"  at post {post}", str(count))
    table.add_row("recruiters (calo) linked", str(summary.recruiters))
    table.add_row("alerts for police", str(summary.alerts))
    table.add_row("  not yet acknowledged", str(summary.alerts_open))
    return table


def case_view(
    settings: Settings, case_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    with _analyst(settings) as conn:
        case = conn.execute("SELECT * FROM v_cases WHERE case_id = %s", (case_id,)).fetchone()
        if case is None:
            return None
        timeline = conn.execute(
            "SELECT occurred_at, event_type, unit, facts FROM v_case_timeline"
            " WHERE case_id = %s ORDER BY occurred_at, event_id",
            (case_id,),
        ).fetchall()
    return case, timeline


def render_case(case: dict[str, Any], timeline: list[dict[str, Any]]) -> RichGroup:
    head = Table(title=f"Case {case['case_id']}", show_header=False)
    for name in (
        "match_kind", "status", "sex", "origin_regency", "minor", "interceptions",
        "registrations", "placements", "repatriations", "tips", "investigation", "recruiters",
    ):  # fmt: skip
        value = case[name]
        head.add_row(name, ", ".join(value) if isinstance(value, list) else str(value))
    facts = Table(title="Timeline (linimasa)")
    for column in ("when (WITA)", "fact", "by", "details"):
        facts.add_column(column)
    for fact in timeline:
        details = ", ".join(
            f"{k}={v}" for k, v in sorted(fact["facts"].items())
            if v not in (None, [], "") and not isinstance(v, dict)
        )  # fmt: skip
        facts.add_row(local_time(fact["occurred_at"]), fact["event_type"], fact["unit"], details)
    return RichGroup(head, facts)


def recruiters(settings: Settings, limit: int) -> list[dict[str, Any]]:
    with _analyst(settings) as conn:
        return conn.execute(
            "SELECT recruiter_ref, people, interceptions, tips, groups, investigations,"
            " suspect_status, last_seen FROM v_recruiters"
            " ORDER BY people DESC, interceptions DESC, recruiter_ref LIMIT %s",
            (limit,),
        ).fetchall()


def alerts(settings: Settings, *, only_open: bool, limit: int) -> list[dict[str, Any]]:
    with _analyst(settings) as conn:
        return conn.execute(
            "SELECT alert_id, rule, severity, summary, case_ids, triggered_at, raised_at,"
            " acknowledged_at, acknowledged_by, action FROM v_alerts"
            " WHERE acknowledged_at IS NULL OR NOT %s"
            " ORDER BY triggered_at DESC LIMIT %s",
            (only_open, limit),
        ).fetchall()


def when(value: datetime | None) -> str:
    return local_time(value) if value else "-"
