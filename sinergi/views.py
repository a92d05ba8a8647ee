"""Reading the ledger as analysts and police do: through the PostgreSQL views only."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
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

from processors.vault import Vault
from producers.pseudonym import Pseudonymiser
from schemas import contract
from schemas.model import AlertRule, Severity
from schemas.nik import NIK_LENGTH, normalise_nik
from sinergi import bootstrap, person
from sinergi.config import Settings
from sinergi.display import local_date, local_time
from sinergi.display import severity as severity_label
from sinergi.i18n import MESSAGES, t


class LedgerReadError(RuntimeError):
    """The ledger cannot be read, or a request to it cannot be answered: one sentence."""


class ChoiceError(LedgerReadError):
    """A filter value that is not one of its enum's members."""


class IdError(LedgerReadError):
    """An id that cannot be resolved: malformed, too short, unknown or ambiguous."""


class AmbiguousIdError(IdError):
    """A prefix that begins more than one id; the candidates are part of the message."""

    def __init__(self, message: str, candidates: Sequence[str]) -> None:
        shown = list(candidates[:CANDIDATES_SHOWN])
        lines = [message, *(f"  {c}" for c in shown)]
        if len(candidates) > len(shown):
            lines.append(f"  ... and {len(candidates) - len(shown)} more")
        super().__init__("\n".join(lines))
        self.candidates = list(candidates)


@contextmanager
def analyst(
    settings: Settings, *, reader: str = "this command", needs: str = ""
) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """A connection as the analyst, whose failures are one sentence (LedgerReadError):
    PostgreSQL out of reach, or a view ``reader`` reads missing (``needs``: the
    migration that makes it, when one is named)."""
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
            f"the ledger lacks a view {reader} reads: its migrations are not all applied"
            f" (`sinergi stack up` applies them{'; ' + needs if needs else ''})"
        ) from exc


# --- alert status --------------------------------------------------------------------------

# v_alert_status (migration 0007) is the one definition of an alert's status.
OPEN = "open"  # holds (not withdrawn) and no police unit acknowledged it
ACKNOWLEDGED = "acknowledged"  # holds, acknowledged
WITHDRAWN = "withdrawn"  # a later fact ended it (acknowledged or not)
STATUS_STYLE = {OPEN: "bold yellow", ACKNOWLEDGED: "green", WITHDRAWN: "dim"}


def status_text(status: str) -> Text:
    """An alert's status, in the command line's language (open, acknowledged, withdrawn)."""
    key = f"view.status.{status}"
    return Text(t(key) if key in MESSAGES else status, style=STATUS_STYLE.get(status, ""))


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
    with analyst(settings) as conn:
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
    table = Table(title=t("view.summary"))
    table.add_column(t("view.what"))
    table.add_column(t("view.count"), justify="right")
    table.add_row(t("view.cases"), str(summary.cases))
    table.add_row("  " + t("view.strong"), str(summary.strong))
    table.add_row("  " + t("view.weak"), str(summary.weak))
    for status, count in summary.by_status.items():
        table.add_row("  " + t("view.case_status", status=status), str(count))
    table.add_row("  " + t("view.repeat"), str(summary.repeat))
    table.add_row("  " + t("view.minors"), str(summary.minors))
    table.add_row(t("view.interceptions"), str(summary.interceptions))
    for post, count in summary.by_post.items():
        table.add_row("  " + t("view.at_post", post=post), str(count))
    table.add_row(t("view.recruiters"), str(summary.recruiters))
    table.add_row(t("view.alerts"), str(summary.alerts))
    table.add_row("  " + t("view.alerts_open"), str(summary.alerts_open))
    table.add_row("  " + t("view.alerts_acknowledged"), str(summary.alerts_acknowledged))
    table.add_row("  " + t("view.alerts_withdrawn"), str(summary.alerts_withdrawn))
    return table


# --- cases ---------------------------------------------------------------------------------


def case_view(
    settings: Settings, case_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    with analyst(settings) as conn:
        case = conn.execute("SELECT * FROM v_cases WHERE case_id = %s", (case_id,)).fetchone()
        if case is None:
            return None
        # The facts as the ledger holds them (corrected ones replaced, retracted ones
        # absent), not every record ever sent (v_case_timeline).
        timeline = conn.execute(
            "SELECT occurred_at, event_type, unit, detail AS facts FROM v_case_facts"
            " WHERE case_id = %s ORDER BY occurred_at, event_id",
            (case_id,),
        ).fetchall()
    return case, timeline


def render_case(case: dict[str, Any], timeline: list[dict[str, Any]]) -> RichGroup:
    # The id on a line of its own, whole at any width (a table title would be folded).
    title = Text.assemble((t("view.case") + " ", "italic"), (case["case_id"], "bold"),
                          overflow="fold")  # fmt: skip
    head = Table(show_header=False)
    head.add_column(no_wrap=True)
    head.add_column(overflow="fold")
    for name in (
        "match_kind", "status", "sex", "origin_regency", "minor", "interceptions",
        "registrations", "placements", "repatriations", "tips", "investigation", "recruiters",
    ):  # fmt: skip
        value = case[name]
        head.add_row(name, ", ".join(value) if isinstance(value, list) else str(value))
    if case.get("erased_at") is not None:
        # Nothing personal is shown anyway: the date says why nothing can be disclosed.
        head.add_row(t("view.erased"), Text(t("case_erased", day=local_date(case["erased_at"])),
                                            style="bold"))  # fmt: skip
    facts = Table(title=t("view.timeline"))
    for column in ("view.when", "view.fact", "view.by", "view.details"):
        facts.add_column(t(column))
    for fact in timeline:
        details = ", ".join(
            f"{k}={v}" for k, v in sorted(fact["facts"].items())
            if v not in (None, [], "") and not isinstance(v, dict)
        )  # fmt: skip
        facts.add_row(local_time(fact["occurred_at"]), fact["event_type"], fact["unit"], details)
    return RichGroup(title, head, facts)


def recruiters(settings: Settings, limit: int) -> list[dict[str, Any]]:
    with analyst(settings) as conn:
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
    """Alerts, newest first (the last raised first, as the browser's inbox: one raised
    late about an old fact is new to police), with their status and first
    acknowledgement; ``only_open``: those that hold and are not acknowledged."""
    with analyst(settings) as conn:
        return conn.execute(
            "SELECT a.alert_id::text AS alert_id, a.rule, a.severity, s.status, a.summary,"
            " a.case_ids, a.triggered_at, a.raised_at, a.acknowledged_at, a.acknowledged_by,"
            " a.action, a.withdrawn_at"
            " FROM v_alerts a JOIN v_alert_status s USING (alert_id)"
            " WHERE (s.status = %(open)s OR NOT %(only_open)s)"
            " AND (a.rule = %(rule)s OR %(rule)s::text IS NULL)"
            " AND (a.severity = %(severity)s OR %(severity)s::text IS NULL)"
            " ORDER BY a.raised_at DESC, a.triggered_at DESC, a.alert_id LIMIT %(limit)s",
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
    for name in ("view.triggered", "view.status", "view.severity", "view.rule"):
        table.add_column(t(name), no_wrap=True)
    table.add_column(t("view.alert_summary"), overflow="fold", ratio=2)
    table.add_column(t("view.status.acknowledged"), overflow="fold", ratio=1)
    table.add_column(t("view.alert_id"), no_wrap=True, min_width=36)  # whole, to be copied
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
        Text(f"  {t('view.alert')} {row['alert_id']}", overflow="fold"),
        Text(f"  {row['summary']}"),
    ]
    if row["acknowledged_at"]:
        lines.append(Text(f"  {t('view.status.acknowledged')} {_acknowledgement(row)}"))
    if row["withdrawn_at"]:
        lines.append(Text(f"  {t('view.status.withdrawn')} {when(row['withdrawn_at'])}"))
    return RichGroup(*lines, Text(""))


def when(value: datetime | None) -> str:
    return local_time(value) if value else "-"


# --- ids from what people type: prefixes, and a NIK for a case --------------------------------

ALERT_PREFIX_MIN = 8  # hex digits of an alert id (a UUID)
CASE_PREFIX_MIN = 8  # hex digits of a case's pseudonym
CANDIDATES_SHOWN = 10
CASE_KINDS = ("nik", "weak")
_HEX = re.compile(r"[0-9a-f]+")
_NIK = re.compile(rf"[0-9]{{{NIK_LENGTH}}}")


@dataclass(frozen=True)
class IdPrefix:
    """The beginning of an alert or case id, as typed, ready to match full ids."""

    what: str  # "alert" or "case"
    starts: tuple[str, ...]  # an id matches when (without '-') it begins with one of these
    shown: str | None  # how refusals name it; None: never echoed

    def matches(self, full_id: str) -> bool:
        compact = full_id.lower().replace("-", "")
        return any(compact.startswith(start) for start in self.starts)


def alert_prefix(text: str) -> IdPrefix:
    """A whole alert id or its first ``ALERT_PREFIX_MIN`` or more hex digits ('-' ignored)."""
    typed = text.strip().lower()
    compact = typed.replace("-", "")
    if not _HEX.fullmatch(compact) or len(compact) > 32:
        raise IdError("an alert id is a UUID, or its first 8 or more hex digits")
    if len(compact) < ALERT_PREFIX_MIN:
        raise IdError(
            f"{typed} is too short to name one alert: give at least"
            f" {ALERT_PREFIX_MIN} hex digits of its id"
        )
    return IdPrefix("alert", (compact,), typed)


def whole_alert_id(text: str) -> str | None:
    """``text`` as a whole alert id in canonical form, or None when it gives only the
    first digits of one (:func:`alert_prefix` says what it accepts)."""
    compact = alert_prefix(text).starts[0]
    return str(uuid.UUID(compact)) if len(compact) == 32 else None


def case_prefix(text: str) -> IdPrefix:
    """``nik:``/``weak:`` and at least ``CASE_PREFIX_MIN`` hex digits, or the digits alone
    (either kind). A bare prefix is never echoed: it could be a mistyped NIK; nor one of ten
    decimal digits or more after its kind."""
    typed = text.strip().lower()
    kind, colon, digits = typed.rpartition(":")
    if (colon and kind not in CASE_KINDS) or not _HEX.fullmatch(digits) or len(digits) > 32:
        raise IdError(
            "a case is named by its id (nik: or weak: and hex digits, at least 8 of them),"
            " by those digits alone, or by a 16-digit NIK"
        )
    # Echoed with its kind, unless the digits could be a NIK or a phone number typed after it.
    shown = typed if colon and not contract.PERSONAL_NUMBER.search(digits) else None
    if len(digits) < CASE_PREFIX_MIN:
        named = typed if shown else "that prefix"
        raise IdError(
            f"{named} is too short to name one case: give at least {CASE_PREFIX_MIN}"
            " hex digits of its id"
        )
    starts = (typed,) if colon else tuple(f"{k}:{digits}" for k in CASE_KINDS)
    return IdPrefix("case", starts, shown)


def resolve(prefix: IdPrefix, ids: Iterable[str]) -> str:
    """The one id among ``ids`` that ``prefix`` begins, or an IdError in one sentence
    (unknown), or one sentence and the candidates (ambiguous)."""
    found = sorted({i for i in ids if prefix.matches(i)})
    if len(found) == 1:
        return found[0]
    named = f"with {prefix.shown}" if prefix.shown else "with that prefix"
    if not found:
        raise IdError(f"no {prefix.what} id begins {named}")
    raise AmbiguousIdError(
        f"{len(found)} {prefix.what} ids begin {named}; give more of the id:", found
    )


def resolve_alert_id(text: str, ids: Iterable[str]) -> str:
    return resolve(alert_prefix(text), ids)


def resolve_case_id(text: str, ids: Iterable[str]) -> str:
    return resolve(case_prefix(text), ids)


def is_nik(text: str) -> bool:
    """16 digits (spaces, dots and dashes as people type them) and no case kind."""
    return ":" not in text and bool(_NIK.fullmatch(normalise_nik(text.strip())))


def _uuid_bounds(compact: str) -> tuple[str, str]:
    """The smallest and the largest UUID beginning with these hex digits."""
    return str(uuid.UUID(compact.ljust(32, "0"))), str(uuid.UUID(compact.ljust(32, "f")))


def find_alert(settings: Settings, text: str) -> str:
    """The full id of the one alert whose id begins with ``text``."""
    prefix = alert_prefix(text)
    low, high = _uuid_bounds(prefix.starts[0])
    with analyst(settings) as conn:
        ids = [
            r["alert_id"]
            for r in conn.execute(
                "SELECT alert_id::text AS alert_id FROM v_alerts"
                " WHERE alert_id BETWEEN %s::uuid AND %s::uuid",
                (low, high),
            )
        ]
    return resolve(prefix, ids)


def find_case(settings: Settings, text: str) -> str:
    """The full id of the one case ``text`` names: an id or its prefix, or a NIK, which is
    pseudonymised here with the members' shared key and never leaves this machine."""
    if is_nik(text):
        case_id = case_of_nik(settings, normalise_nik(text.strip()))
        with analyst(settings) as conn:
            found = conn.execute("SELECT 1 FROM v_cases WHERE case_id = %s", (case_id,)).fetchone()
        if found is None:
            raise IdError("no case for this NIK")
        return case_id
    prefix = case_prefix(text)
    with analyst(settings) as conn:
        ids = [
            r["case_id"]
            for r in conn.execute(
                "SELECT case_id FROM v_cases WHERE case_id LIKE ANY(%s)",
                ([f"{start}%" for start in prefix.starts],),
            )
        ]
    return resolve(prefix, ids)


def analyst_vault(settings: Settings) -> Vault:
    """The vault as the analyst may use it: to learn who a pseudonym's lookup names."""
    return bootstrap.vault(settings, "sinergi_analyst", create=False)


def case_of_nik(settings: Settings, nik: str, names: Pseudonymiser | None = None) -> str:
    """The case id of a NIK, found as :func:`sinergi.person.subject_of_nik` finds it (the
    one way from a NIK to a case), as the analyst: the vault is asked only who the lookup
    names (``person_subject``), nothing else of it is read. ``names``: the members' shared
    key, if already read (else read now). Raises :class:`IdError` when the vault holds no
    one for it; whether the ledger shows that case is the caller's to ask."""
    vault = analyst_vault(settings)
    try:
        if names is None:
            names = bootstrap.pseudonymiser(settings)
        subject = person.subject_of_nik(names, vault, nik)
    finally:
        close = getattr(vault, "close", None)
        if close is not None:
            close()
    if subject is None:
        raise IdError("no case for this NIK")
    return subject.case_id
