"""``sinergi audit watch``, ``sinergi audit breaches`` and ``sinergi audit close``: the
breach notification clock (:mod:`sinergi.breach`), registered on the ``sinergi`` command
line (:data:`sinergi.cli.app`) through its ``COMMAND_MODULES``. Administrator only: they
read and write as ``sinergi_owner``, with the hub's own secrets, as ``audit verify`` does.
"""

from __future__ import annotations

import getpass
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.text import Text

from sinergi import bootstrap, breach
from sinergi.auditing import AuditReport
from sinergi.breach import BreachError, Outcome
from sinergi.cli import EXPECTED_ERRORS, audit_app, err, fail, out, print_json, settings
from sinergi.config import Settings
from sinergi.display import local_time
from sinergi.i18n import t
from sinergi.person import PersonExportError, checked_text
from sinks.breach import BreachStore, Suspicion


def store(s: Settings) -> BreachStore:
    return BreachStore(bootstrap.conninfo(s, "sinergi_owner"))


@audit_app.command("watch", help=t("cmd.audit_watch"))
def audit_watch(
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help=t("opt.watch_verify"))
    ] = True,
    logs: Annotated[
        list[Path] | None, typer.Option("--log", help=t("opt.watch_log"), show_default=False)
    ] = None,
    every: Annotated[float, typer.Option(min=0, help=t("opt.watch_every"))] = 0,
) -> None:
    s = settings()
    clock = store(s)
    unavailable = False
    while True:
        try:
            results = breach.watch(s, clock, verify=verify, logs=logs or None)
        except EXPECTED_ERRORS as exc:
            fail(exc)
        for result in results:
            unavailable |= result.outcome is Outcome.UNAVAILABLE
            _show(result)
        if not every:
            break
        try:
            time.sleep(every)
        except KeyboardInterrupt:
            break
    still_open = clock.suspicions()
    for suspicion in still_open:
        err.print(_line(suspicion), style="bold red", soft_wrap=True)
    if unavailable:
        raise typer.Exit(code=2)
    if still_open:
        raise typer.Exit(code=1)


def _show(result: breach.CheckResult) -> None:
    if result.outcome is Outcome.UNAVAILABLE:
        line = t("watch_unavailable", source=result.source, reason=result.reason)
        err.print(Text(line, style="yellow"), soft_wrap=True)
    elif not result.evidence:
        out.print(Text(t("watch_ok", source=result.source), style="green"), soft_wrap=True)
    for item in result.evidence:
        line = t("watch_suspected", source=result.source, kind=item.kind.value,
                 subject=item.subject, count=item.occurrences)  # fmt: skip
        err.print(Text(line, style="red"), soft_wrap=True)


def _line(s: Suspicion) -> str:
    if not s.open:
        return t("breach_closed_line", id=s.suspicion_id, kind=s.kind, subject=s.subject,
                 closed=local_time(s.closed_at) if s.closed_at else "-",
                 by=s.closed_by, note=s.close_note)  # fmt: skip
    hours = (s.notify_by - datetime.now(UTC)).total_seconds() / 3600
    left = (
        t("breach_left", hours=f"{hours:.1f}")
        if hours >= 0
        else t("breach_overdue", hours=f"{-hours:.1f}")
    )
    return t("breach_line", id=s.suspicion_id, kind=s.kind, subject=s.subject,
             detected=local_time(s.detected_at), deadline=local_time(s.notify_by), left=left,
             count=s.occurrences)  # fmt: skip


def suspicion_record(s: Suspicion) -> dict[str, object]:
    return {
        "suspicion_id": s.suspicion_id,
        "kind": s.kind,
        "subject": s.subject,
        "detected_at": s.detected_at,
        "notify_by": s.notify_by,
        "first_evidence_at": s.first_evidence_at,
        "last_seen_at": s.last_seen_at,
        "occurrences": s.occurrences,
        "detail": s.detail,
        "closed_at": s.closed_at,
        "closed_by": s.closed_by,
        "close_note": s.close_note,
        "notified": s.notified,
    }


@audit_app.command("breaches", help=t("cmd.audit_breaches"))
def audit_breaches(
    everything: Annotated[bool, typer.Option("--all", help=t("opt.all_breaches"))] = False,
    json_lines: Annotated[bool, typer.Option("--json", help=t("opt.json"))] = False,
) -> None:
    found = store(settings()).suspicions(only_open=not everything)
    if json_lines:
        for s in found:
            print_json(suspicion_record(s))
        return
    if not found:
        out.print(Text(t("breach_none"), style="green"))
    for s in found:
        out.print(Text(_line(s), style="bold red" if s.open else ""), soft_wrap=True)
        if s.detail:
            out.print(Text("  " + json.dumps(s.detail, ensure_ascii=False)), soft_wrap=True)


@audit_app.command("close", help=t("cmd.audit_close"))
def audit_close(
    suspicion: Annotated[str, typer.Argument(help=t("arg.suspicion"), metavar="SUSPICION_ID")],
    note: Annotated[str, typer.Option(help=t("opt.close_note"))],
    notified: Annotated[
        bool, typer.Option("--notified/--not-notified", help=t("opt.close_notified"))
    ],
    by: Annotated[str | None, typer.Option(help=t("opt.who"))] = None,
) -> None:
    clock = store(settings())
    try:
        who = checked_text("--by", by or getpass.getuser())
        text = checked_text("--note", note)
        if who is None or text is None:
            raise BreachError("--note and --by may not be empty")
        found = clock.find(suspicion)
        closed = clock.close(found.suspicion_id, by=who, note=text, notified=notified)
    except (BreachError, PersonExportError) as exc:
        fail(exc)
    out.print(Text(t("breach_closed", id=closed.suspicion_id), style="green"))
    out.print(Text(_line(closed)), soft_wrap=True)


def after_verify(s: Settings, report: AuditReport) -> None:
    """What ``sinergi audit verify`` calls with its report: the run is recorded, a failure
    as a suspicion whose clock starts now (said on standard error)."""
    try:
        clock = store(s)
        breach.record_verify(clock, report)
        still_open = clock.suspicions()
    except psycopg.Error as exc:
        if not report.ok:
            err.print(Text(t("breach_not_recorded", kind=type(exc).__name__), style="bold red"))
        return
    if not report.ok:
        err.print(Text(t("breach_clock_started", count=len(still_open)), style="bold red"))
