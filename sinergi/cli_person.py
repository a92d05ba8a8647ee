"""``sinergi person export NIK``: a data subject's right of access (:mod:`sinergi.person`),
registered on the ``sinergi`` command line (:data:`sinergi.cli.app`) through its
``COMMAND_MODULES``. Administrator only: it reads as ``sinergi_owner`` and pseudonymises
with the members' shared key, both from the hub's own secrets, as ``audit verify`` and
``agency add`` do; every export is recorded in ``person_exports``.

The raw NIK goes nowhere but the document: not into the export's record, the messages,
or a log. Left out of the command line, it is asked for without an echo (or read from
standard input), so that it stays out of the shell's history and the process list too.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from sinergi import bootstrap, person
from sinergi.cli import EXPECTED_ERRORS, app, err, fail, settings
from sinergi.i18n import t
from sinergi.person import PersonExportError

person_app = typer.Typer(help=t("group.person"), no_args_is_help=True)
app.add_typer(person_app, name="person")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _asked_nik() -> str:
    """The NIK without an echo at a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        return getpass.getpass(f"{t('person_nik_prompt')}: ")
    return sys.stdin.readline().strip()


def write_private(path: Path, text: str) -> None:
    """``text`` into ``path``, readable by its owner only (it holds the NIK)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@person_app.command("export", help=t("cmd.person_export"))
def person_export(
    nik: Annotated[
        str | None, typer.Argument(help=t("arg.person_nik"), metavar="NIK", show_default=False)
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help=t("opt.export_out"), show_default=False)
    ] = None,
    request: Annotated[
        str | None, typer.Option(help=t("opt.export_request"), show_default=False)
    ] = None,
    by: Annotated[str | None, typer.Option(help=t("opt.who"), show_default=False)] = None,
) -> None:
    s = settings()
    try:
        typed = nik if nik not in (None, "-") else _asked_nik()
        done = person.export(
            bootstrap.conninfo(s, "sinergi_owner"),
            bootstrap.pseudonymiser(s),
            typed or "",
            exported_by=by or getpass.getuser(),
            request_ref=request,
        )
    except (PersonExportError, *EXPECTED_ERRORS) as exc:
        fail(exc)
    text = json.dumps(done.document, ensure_ascii=False, indent=2, default=_jsonable) + "\n"
    if out_path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_private(out_path, text)
    if not done.document["subject"]["held"]:
        err.print(Text(t("person_not_held"), style="yellow"))
    where = t("stdout") if out_path is None else str(out_path)
    line = t("person_exported", case=done.case_id, events=done.events, alerts=done.alerts,
             where=where, seq=done.seq)  # fmt: skip
    err.print(Text(line, style="green"), soft_wrap=True)


if __name__ == "__main__":  # pragma: no cover - `python -m sinergi.cli_person person ...`
    app()
