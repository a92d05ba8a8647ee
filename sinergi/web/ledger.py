"""Reading the ledger for the browser: through the analysts' views only, as
:mod:`sinergi.views` does, with each police unit's routing applied in the query.

Every function opens a short connection as ``sinergi_analyst``; failures are one
sentence (:class:`sinergi.views.LedgerReadError`), never a traceback on a page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from sinergi import views
from sinergi.views import LedgerReadError
from sinergi.web import routing

Row = dict[str, Any]


@dataclass(frozen=True)
class AlertFilter:
    """What an inbox shows: the unit's routing (``visible``: regencies, None for all)
    and the officer's filters."""

    visible: frozenset[str] | None = None
    rule: str | None = None
    severity: str | None = None
    regency: str | None = None
    status: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class Alert:
    alert_id: str
    rule: str
    severity: str
    status: str  # open, acknowledged, withdrawn (v_alert_status)
    summary: str
    case_ids: tuple[str, ...]
    regencies: tuple[str, ...]
    triggered_at: datetime
    raised_at: datetime
    recruiter_ref: str | None = None
    group_ref: str | None = None
    cause_event_ids: tuple[str, ...] = ()
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    action: str | None = None
    withdrawn_at: datetime | None = None
    # When the hub last changed it (raised, moved with its record, rewritten, withdrawn).
    updated_at: datetime | None = None

    def visible_to(self, visible: frozenset[str] | None) -> bool:
        return visible is None or bool(visible & set(self.regencies))


@dataclass(frozen=True)
class Fact:
    """One fact of a timeline: when, what, who, and its details (codes and pseudonyms)."""

    event_id: str
    occurred_at: datetime
    event_type: str
    unit: str
    details: dict[str, Any]
    sealed_contact: bool = False


@dataclass(frozen=True)
class Case:
    case_id: str
    summary: dict[str, Any]
    timeline: list[Fact]
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class Recruiter:
    recruiter_ref: str
    summary: dict[str, Any]
    case_ids: list[str]
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class Group:
    group_key: str
    summary: dict[str, Any]
    case_ids: list[str]
    alerts: list[Alert] = field(default_factory=list)


@contextmanager
def _connect(conninfo: str) -> Iterator[psycopg.Connection[Row]]:
    try:
        conn = psycopg.connect(conninfo, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        raise LedgerReadError(
            f"the ledger cannot be read: PostgreSQL did not accept the connection"
            f" ({type(exc).__name__})"
        ) from exc
    try:
        with conn:
            yield conn
    except psycopg.errors.UndefinedTable as exc:
        raise LedgerReadError(
            "the ledger lacks a view: its migrations are not all applied (sinergi stack up)"
        ) from exc


# An alert's regencies: its people's origins, and the regency of the post of each
# interception that caused it (routing.py says why).
_ALERTS = """
WITH posts(post_id, regency) AS (
    SELECT * FROM unnest(%(post_ids)s::text[], %(post_regencies)s::text[])
), found AS (
    SELECT a.alert_id::text AS alert_id, a.rule, a.severity, s.status, a.summary, a.case_ids,
           a.recruiter_ref, a.group_ref, a.cause_event_ids, a.triggered_at, a.raised_at,
           a.acknowledged_at, a.acknowledged_by, a.action, a.withdrawn_at, a.updated_at,
           ARRAY(
               SELECT DISTINCT r FROM (
                   SELECT c.origin_regency AS r FROM v_cases c WHERE c.case_id = ANY(a.case_ids)
                   UNION
                   SELECT p.regency FROM v_case_timeline t
                   JOIN posts p ON p.post_id = t.facts ->> 'post_id'
                   WHERE t.event_id = ANY(a.cause_event_ids::uuid[])
               ) x WHERE r IS NOT NULL ORDER BY r
           ) AS regencies
    FROM v_alerts a JOIN v_alert_status s USING (alert_id)
    WHERE {where}
)
SELECT * FROM found
WHERE (%(visible)s::text[] IS NULL OR regencies && %(visible)s::text[])
  AND (%(regency)s::text IS NULL OR %(regency)s::text = ANY(regencies))
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
ORDER BY {order}
LIMIT %(limit)s
"""
NEWEST_FIRST = "raised_at DESC, triggered_at DESC, alert_id"
# The notifier's order: oldest first, the id breaking ties (a transaction's alerts share
# their raised_at), so that a read continues exactly after the last alert of the one before.
OLDEST_FIRST = "raised_at, alert_id::uuid"
# The notifier's read of changed alerts: those changed first first, so that it goes on
# from the last change it read.
CHANGED_FIRST = "updated_at, alert_id::uuid"


def _onwards(column: str, after: str | None) -> str:
    """The notifier's reads, in (``column``, alert id) order: those at or after
    ``%(since)s``, or with ``after`` (an alert id) those after (``%(since)s``, it), to
    continue a read that its limit cut."""
    if after is None:
        return f"a.{column} >= %(since)s"
    return f"(a.{column}, a.alert_id) > (%(since)s, %(after)s::uuid)"


def _alert(row: Row) -> Alert:
    return Alert(
        alert_id=row["alert_id"],
        rule=row["rule"],
        severity=row["severity"],
        status=row["status"],
        summary=row["summary"],
        case_ids=tuple(row["case_ids"]),
        regencies=tuple(row["regencies"]),
        triggered_at=row["triggered_at"],
        raised_at=row["raised_at"],
        recruiter_ref=row["recruiter_ref"],
        group_ref=row["group_ref"],
        cause_event_ids=tuple(row["cause_event_ids"]),
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        action=row["action"],
        withdrawn_at=row["withdrawn_at"],
        updated_at=row["updated_at"],
    )


class LedgerReader:
    """What the pages read from the ledger, as the analyst."""

    def __init__(self, conninfo: str, pseudonym_nik: Any = None) -> None:
        self.conninfo = conninfo
        # NIK -> case id, pseudonymised here with the members' shared key (a case search).
        self.pseudonym_nik = pseudonym_nik

    def _alerts(
        self,
        conn: psycopg.Connection[Row],
        where: str,
        params: dict[str, Any],
        flt: AlertFilter,
        order: str = NEWEST_FIRST,
    ) -> list[Alert]:
        posts = routing.post_regencies()
        query = _ALERTS.format(where=where, order=order)
        rows = conn.execute(
            query.encode(),
            {
                "post_ids": list(posts),
                "post_regencies": list(posts.values()),
                "visible": None if flt.visible is None else sorted(flt.visible),
                "regency": flt.regency,
                "status": flt.status,
                "limit": flt.limit,
                **params,
            },
        ).fetchall()
        return [_alert(row) for row in rows]

    def alerts(self, flt: AlertFilter) -> list[Alert]:
        """Alerts newest first (by when the hub raised them), as ``flt`` says."""
        where = (
            "(%(rule)s::text IS NULL OR a.rule = %(rule)s::text)"
            " AND (%(severity)s::text IS NULL OR a.severity = %(severity)s::text)"
        )
        with _connect(self.conninfo) as conn:
            return self._alerts(conn, where, {"rule": flt.rule, "severity": flt.severity}, flt)

    def alert(self, alert_id: str, visible: frozenset[str] | None) -> Alert | None:
        with _connect(self.conninfo) as conn:
            found = self._alerts(
                conn,
                "a.alert_id::text = %(alert_id)s",
                {"alert_id": alert_id},
                AlertFilter(visible=visible, limit=1),
            )
        return found[0] if found else None

    def raised_since(
        self, since: datetime, after: str | None = None, limit: int = 5000
    ) -> list[Alert]:
        """The notifier's source: at most ``limit`` alerts the hub raised at or after
        ``since``, oldest first; with ``after`` (an alert id), only those that come after
        (``since``, ``after``) in that order, to continue a read that ``limit`` cut."""
        with _connect(self.conninfo) as conn:
            return self._alerts(
                conn, _onwards("raised_at", after), {"since": since, "after": after},
                AlertFilter(limit=limit), OLDEST_FIRST,
            )  # fmt: skip

    def changed_since(
        self, since: datetime, after: str | None = None, limit: int = 5000
    ) -> list[Alert]:
        """Alerts that still hold and changed at or after ``since`` (raised, or moved to
        another case by a correction: the regencies they concern may have changed), at
        most ``limit``, those changed first first; with ``after`` (an alert id), only those
        after (``since``, ``after``) in that order, to continue a read ``limit`` cut."""
        changed = _onwards("updated_at", after)
        with _connect(self.conninfo) as conn:
            return self._alerts(
                conn, f"{changed} AND a.withdrawn_at IS NULL", {"since": since, "after": after},
                AlertFilter(limit=limit), CHANGED_FIRST,
            )  # fmt: skip

    def statuses(self, alert_ids: Sequence[str]) -> dict[str, str]:
        """The status of each of ``alert_ids`` the ledger holds (v_alert_status)."""
        if not alert_ids:
            return {}
        with _connect(self.conninfo) as conn:
            rows = conn.execute(
                "SELECT alert_id::text AS alert_id, status FROM v_alert_status"
                " WHERE alert_id = ANY(%s::uuid[])",
                (list(alert_ids),),
            ).fetchall()
        return {r["alert_id"]: r["status"] for r in rows}

    def _about(
        self, conn: psycopg.Connection[Row], where: str, value: str, visible: frozenset[str] | None
    ) -> list[Alert]:
        return self._alerts(conn, where, {"value": value}, AlertFilter(visible=visible, limit=200))

    def case(self, case_id: str, visible: frozenset[str] | None) -> Case | None:
        with _connect(self.conninfo) as conn:
            head = conn.execute("SELECT * FROM v_cases WHERE case_id = %s", (case_id,)).fetchone()
            if head is None:
                return None
            # The facts as the ledger holds them: corrected ones replaced, retracted absent.
            rows = conn.execute(
                "SELECT event_id::text AS event_id, occurred_at, event_type, unit,"
                " detail AS facts FROM v_case_facts WHERE case_id = %s"
                " ORDER BY occurred_at, event_id",
                (case_id,),
            ).fetchall()
            alerts = self._about(conn, "%(value)s = ANY(a.case_ids)", case_id, visible)
        return Case(case_id, dict(head), [_fact(r) for r in rows], alerts)

    def recruiter(self, ref: str, visible: frozenset[str] | None) -> Recruiter | None:
        with _connect(self.conninfo) as conn:
            head = conn.execute(
                "SELECT * FROM v_recruiters WHERE recruiter_ref = %s", (ref,)
            ).fetchone()
            if head is None:
                return None
            alerts = self._about(conn, "a.recruiter_ref = %(value)s", ref, visible)
        summary = dict(head)
        case_ids = sorted(summary.pop("case_ids") or [])
        return Recruiter(ref, summary, case_ids, alerts)

    def group(self, key: str, visible: frozenset[str] | None) -> Group | None:
        post, _, code = key.partition("/")
        with _connect(self.conninfo) as conn:
            head = conn.execute("SELECT * FROM v_groups WHERE group_key = %s", (key,)).fetchone()
            if head is None:
                return None
            cases = conn.execute(
                "SELECT DISTINCT case_id FROM v_case_facts"
                " WHERE detail ->> 'post' = %s AND detail ->> 'group' = %s ORDER BY case_id",
                (post, code),
            ).fetchall()
            alerts = self._about(conn, "a.group_ref = %(value)s", key, visible)
        return Group(key, dict(head), [r["case_id"] for r in cases], alerts)

    def find_case(self, text: str) -> str:
        """The one case a case id, its prefix or a NIK names (views.find_case's rules)."""
        if views.is_nik(text) and self.pseudonym_nik is not None:
            case_id = str(self.pseudonym_nik(text))
            with _connect(self.conninfo) as conn:
                found = conn.execute(
                    "SELECT 1 FROM v_cases WHERE case_id = %s", (case_id,)
                ).fetchone()
            if found is None:
                raise views.IdError("no case for this NIK")
            return case_id
        prefix = views.case_prefix(text)
        with _connect(self.conninfo) as conn:
            ids = [
                r["case_id"]
                for r in conn.execute(
                    "SELECT case_id FROM v_cases WHERE case_id LIKE ANY(%s)",
                    ([f"{start}%" for start in prefix.starts],),
                )
            ]
        return views.resolve(prefix, ids)

    def sealed_contact(self, event_id: str, case_id: str) -> str | None:
        """Where the vault keeps the recruiter contact of one fact of a case (its
        reference, ``vault:<event id>``), or None if the fact carried none."""
        with _connect(self.conninfo) as conn:
            # The fact as it stands: a correction that took the contact out leaves none.
            row = conn.execute(
                "SELECT detail ->> 'contact_sealed' AS sealed FROM v_case_facts"
                " WHERE event_id::text = %s AND case_id = %s",
                (event_id, case_id),
            ).fetchone()
        # The fact's own reference: a corrected record's contact is kept under the
        # correction that carried it, not under the record's id.
        return str(row["sealed"]) if row is not None and row["sealed"] else None

    def ping(self) -> None:
        with _connect(self.conninfo) as conn:
            conn.execute("SELECT 1")


def _fact(row: Row) -> Fact:
    facts = dict(row["facts"] or {})
    sealed = bool(facts.pop("contact_sealed", None))
    details = {
        k: v
        for k, v in sorted(facts.items())
        if v not in (None, [], "") and not isinstance(v, dict)
    }
    return Fact(
        event_id=row["event_id"],
        occurred_at=row["occurred_at"],
        event_type=row["event_type"],
        unit=row["unit"],
        details=details,
        sealed_contact=sealed,
    )


def statuses(alerts: Sequence[Alert]) -> dict[str, str]:
    return {a.alert_id: a.status for a in alerts}
