"""Reading the ledger as analysts and police do: through the PostgreSQL views only."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from rich.console import Group as RichGroup
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from schemas.model import AlertRule, Severity
from sinergi import bootstrap
from sinergi.config import Settings
from sinergi.display import local_time
from sinergi.display import severity as severity_label


class LedgerReadError(RuntimeError):
    """The ledger cannot be read, or a request to it cannot be answered: one sentence."""


class ChoiceError(LedgerReadError):
    """A filter value that is not one of its enum's members."""


@contextmanager
def _analyst(settings: Settings) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A connection as the analyst, whose failures are one sentence (LedgerReadError)."""
    try:
        conn = psycopg.connect(
            bootstrap.conninfo(settings, "sinergi_analyst"), row_factory=dict_row
        )
    except psycopg.OperationalError as exc:
        raise LedgerReadError(
            f"the ledger cannot be read: PostgreSQL at {settings.host}:{settings.ports.postgres}"
            f" did not accept the connection ({type(exc).__name__})"
        ) from exc
    try:
        with conn:
            yield conn
    except psycopg.errors.UndefinedTable as exc:
        raise LedgerReadError(
            "the ledger lacks a view this command reads: its migrations are not all applied"
            " (`sinergi stack up` applies them)"
        ) from exc


# --- alert status --------------------------------------------------------------------------

# v_alert_status (migration 0007) is the one definition of an alert's status.
OPEN = "open"  # holds (not withdrawn) and no police unit acknowledged it
ACKNOWLEDGED = "acknowledged"  # holds, acknowledged
WITHDRAWN = "withdrawn"  # a later fact ended it (acknowledged or not)
STATUS_STYLE = {OPEN: "bold yellow", ACKNOWLEDGED: "green", WITHDRAWN: "dim"}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


# --- the summary ---------------------------------------------------------------------------


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
    alerts_open: int  # holding and not acknowledged
    alerts_acknowledged: int  # holding and acknowledged
    alerts_withdrawn: int  # ended by a later fact, acknowledged or not


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
        alerts = _alert_counts(conn)
    assert recruiters is not None
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
        alerts=sum(alerts.values()),
        alerts_open=alerts.get(OPEN, 0),
        alerts_acknowledged=alerts.get(ACKNOWLEDGED, 0),
        alerts_withdrawn=alerts.get(WITHDRAWN, 0),
    )


def _alert_counts(conn: psycopg.Connection[dict[str, Any]]) -> dict[str, int]:
    """How many alerts stand in each status."""
    return {
        r["status"]: int(r["n"])
        for r in conn.execute("SELECT status, count(*) AS n FROM v_alert_status GROUP BY status")
    }


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
    table.add_row("  open (holding, not yet acknowledged)", str(summary.alerts_open))
    table.add_row("  acknowledged", str(summary.alerts_acknowledged))
    table.add_row("  withdrawn (a later fact ended them)", str(summary.alerts_withdrawn))
    return table


# --- cases ---------------------------------------------------------------------------------


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
    # The id on a line of its own, whole at any width (a table title would be folded).
    title = Text.assemble(("Case ", "italic"), (case["case_id"], "bold"), overflow="fold")
    head = Table(show_header=False)
    head.add_column(no_wrap=True)
    head.add_column(overflow="fold")
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
    return RichGroup(title, head, facts)


def recruiters(settings: Settings, limit: int) -> list[dict[str, Any]]:
    with _analyst(settings) as conn:
        return conn.execute(
            "SELECT recruiter_ref, people, interceptions, tips, groups, investigations,"
            " suspect_status, last_seen FROM v_recruiters"
            " ORDER BY people DESC, interceptions DESC, recruiter_ref LIMIT %s",
            (limit,),
        ).fetchall()


# --- alerts --------------------------------------------------------------------------------

E = TypeVar("E", bound=StrEnum)


def parse_choice(enum: type[E], text: str, what: str) -> E:
    """A member of ``enum`` by name, in any case, '-' or ' ' for '_'; else one sentence
    naming the known values."""
    key = re.sub(r"[\s-]+", "_", text.strip()).upper()
    for member in enum:
        if member.name == key:
            return member
    known = ", ".join(m.name for m in enum)
    raise ChoiceError(f"unknown {what} {text.strip()[:40]!r}; known: {known}")


def parse_rule(text: str) -> AlertRule:
    return parse_choice(AlertRule, text, "rule")


def parse_severity(text: str) -> Severity:
    return parse_choice(Severity, text, "severity")


def alerts(
    settings: Settings,
    *,
    only_open: bool,
    limit: int,
    rule: AlertRule | None = None,
    severity: Severity | None = None,
) -> list[dict[str, Any]]:
    """Alerts, newest first, with their status and first acknowledgement; ``only_open``:
    those that hold and are not acknowledged."""
    with _analyst(settings) as conn:
        return conn.execute(
            "SELECT a.alert_id::text AS alert_id, a.rule, a.severity, s.status, a.summary,"
            " a.case_ids, a.triggered_at, a.raised_at, a.acknowledged_at, a.acknowledged_by,"
            " a.action, a.withdrawn_at"
            " FROM v_alerts a JOIN v_alert_status s USING (alert_id)"
            " WHERE (s.status = %(open)s OR NOT %(only_open)s)"
            " AND (a.rule = %(rule)s OR %(rule)s::text IS NULL)"
            " AND (a.severity = %(severity)s OR %(severity)s::text IS NULL)"
            " ORDER BY a.triggered_at DESC, a.alert_id LIMIT %(limit)s",
            {
                "open": OPEN,
                "only_open": only_open,
                "rule": None if rule is None else rule.value,
                "severity": None if severity is None else severity.value,
                "limit": limit,
            },
        ).fetchall()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def alert_record(row: dict[str, Any]) -> dict[str, Any]:
    """An alert as one JSON object: full ids, status, times in ISO 8601."""
    return {
        "alert_id": str(row["alert_id"]),
        "rule": row["rule"],
        "severity": row["severity"],
        "status": row["status"],
        "triggered_at": _iso(row["triggered_at"]),
        "summary": row["summary"],
        "case_ids": list(row["case_ids"]),
        "acknowledged_at": _iso(row["acknowledged_at"]),
        "acknowledged_by": row["acknowledged_by"],
        "action": row["action"],
        "withdrawn_at": _iso(row["withdrawn_at"]),
    }


# Below this console width an alert is a few lines of its own rather than a table row:
# the whole id (36 characters) must fit, and the summary stay readable.
ALERT_TABLE_WIDTH = 160


def render_alerts(rows: Sequence[dict[str, Any]], *, width: int) -> RenderableType:
    if width >= ALERT_TABLE_WIDTH:
        return _alerts_table(rows)
    return RichGroup(*(_alert_block(row) for row in rows))


def _acknowledgement(row: dict[str, Any]) -> str:
    if not row["acknowledged_at"]:
        return "-"
    return f"{when(row['acknowledged_at'])} {row['acknowledged_by']} {row['action']}"


def _alerts_table(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table()
    for name in ("triggered (WITA)", "status", "severity", "rule"):
        table.add_column(name, no_wrap=True)
    table.add_column("summary", overflow="fold", ratio=2)
    table.add_column("acknowledged", overflow="fold", ratio=1)
    table.add_column("alert id", no_wrap=True, min_width=36)  # whole, to be copied
    for row in rows:
        table.add_row(
            when(row["triggered_at"]),
            status_text(row["status"]),
            severity_label(row["severity"]),
            row["rule"],
            Text(row["summary"]),
            _acknowledgement(row),
            str(row["alert_id"]),
        )
    return table


def _alert_block(row: dict[str, Any]) -> RichGroup:
    """One alert in a narrow console: a head line, then the id on its own line."""
    head = Text.assemble(
        when(row["triggered_at"]), "  ", severity_label(row["severity"]), "  ",
        (row["rule"], "bold"), "  ", status_text(row["status"]),
    )  # fmt: skip
    lines: list[RenderableType] = [
        head,
        Text(f"  alert {row['alert_id']}", overflow="fold"),
        Text(f"  {row['summary']}"),
    ]
    if row["acknowledged_at"]:
        lines.append(Text(f"  acknowledged {_acknowledgement(row)}"))
    if row["withdrawn_at"]:
        lines.append(Text(f"  withdrawn {when(row['withdrawn_at'])}"))
    return RichGroup(*lines, Text(""))


def when(value: datetime | None) -> str:
    return local_time(value) if value else "-"
