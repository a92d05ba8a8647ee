"""``sinergi audit dead-letters``: the messages the hub refused, where they are and why.

A dead letter on ``hub.dead-letter`` holds the refused message's position and the reason;
the audit trail keeps the same, with who signed it. An engineer who sees
``SinergiDeadLettersRising`` (or a post officer's record that never reached the ledger)
reads them here, without a Kafka consumer or SQL: the reason names the rule broken and
the field, never the content.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from schemas.model import WITA
from sinergi import bootstrap
from sinergi.cli import READ_ERRORS, audit_app, json_option, out, print_json, refuse, settings
from sinergi.display import local_time
from sinergi.i18n import t
from sinks.audit_trail import dead_letter_entries


@audit_app.command("dead-letters", help=t("cmd.audit_dead_letters"))
def audit_dead_letters(
    since: Annotated[
        datetime | None,
        typer.Option(
            help=t("opt.dead_letters_since"),
            show_default=False,
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"],
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help=t("opt.limit"))] = 50,
    json_lines: Annotated[bool, json_option()] = False,
) -> None:
    s = settings()
    start = None if since is None else (since if since.tzinfo else since.replace(tzinfo=WITA))
    try:
        entries, total = dead_letter_entries(
            bootstrap.conninfo(s, "sinergi_analyst"),
            since=None if start is None else start.astimezone(UTC),
            limit=limit,
        )
    except READ_ERRORS as exc:
        refuse(exc)
    if json_lines:
        for e in entries:
            print_json({"logged_at": e.logged_at, "topic": e.topic, "partition": e.partition,
                        "offset": e.offset, "signer": e.signer, "event_type": e.event_type,
                        "reason": e.reason})  # fmt: skip
        return
    if not entries:
        out.print(t("no_dead_letters"))
        return
    table = Table()
    table.add_column(t("view.when"), no_wrap=True)
    table.add_column(t("col.position"), overflow="fold", min_width=20)  # whole, to be read
    table.add_column(t("col.signer"), overflow="fold")
    table.add_column(t("col.reason"), overflow="fold")
    for e in entries:
        where = f"{e.topic}[{e.partition}]@{e.offset}"
        table.add_row(local_time(e.logged_at), where, e.signer or "-", Text(e.reason or "-"))
    out.print(table)
    if total > len(entries):
        out.print(t("more_dead_letters", shown=len(entries), total=total))
