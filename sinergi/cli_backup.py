"""``sinergi backup run | prune | restore``: backups that erasure reaches
(:mod:`sinergi.backup`, docs/erasure.md step 7), registered on the ``sinergi`` command line
(:data:`sinergi.cli.app`) through its ``COMMAND_MODULES``. Administrator only: they dump
and restore as ``sinergi_owner``, with the password from the hub's own secrets.

Run ``backup run`` and ``backup prune --apply`` from a timer (daily); copy ``data/`` and
``keys/`` to two different places, each with the retention ``prune`` applies here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.text import Text

from schemas.model import utcnow
from sinergi import backup
from sinergi.backup import BackupError
from sinergi.cli import (
    EXPECTED_ERRORS,
    AtOption,
    app,
    err,
    fail,
    moment_at,
    out,
    print_json,
    settings,
)
from sinergi.display import local_time
from sinergi.i18n import t

backup_app = typer.Typer(help=t("group.backup"), no_args_is_help=True)
app.add_typer(backup_app, name="backup")
BACKUP_ERRORS = (BackupError, psycopg.Error, OSError, *EXPECTED_ERRORS)


def _root(to: Path | None) -> Path:
    return (to or settings().backups_dir).expanduser().resolve()


ToOption = Annotated[Path | None, typer.Option("--to", help=t("opt.backup_to"), show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help=t("opt.json"))]


@backup_app.command("run", help=t("cmd.backup_run"))
def backup_run(to: ToOption = None, as_json: JsonOption = False) -> None:
    s = settings()
    try:
        written = backup.run(s, _root(to), utcnow().replace(microsecond=0))
    except BACKUP_ERRORS as exc:
        fail(exc)
    for one in written:
        if as_json:
            print_json({"kind": one.backup.kind, "database": one.backup.database,
                        "path": str(one.backup.path), "sha256": one.sha256, "size": one.size,
                        "taken_at": one.backup.taken_at})  # fmt: skip
            continue
        key = "backup_written_keys" if one.backup.kind == backup.KEYS else "backup_written_data"
        told = one.manifest
        line = t(key, path=one.backup.path, size=one.size, sha=one.sha256[:16],
                 people=told.get("people", 0), keys=told.get("keys", 0))  # fmt: skip
        out.print(Text(line, style="green"), soft_wrap=True)
    err.print(Text(t("backup_kek_apart", kek=s.vault_dir / "kek.key"), style="yellow"),
              soft_wrap=True)  # fmt: skip


@backup_app.command("prune", help=t("cmd.backup_prune"))
def backup_prune(
    apply: Annotated[bool, typer.Option("--apply", help=t("opt.backup_prune_apply"))] = False,
    at: AtOption = None,
    to: ToOption = None,
    as_json: JsonOption = False,
) -> None:
    s = settings()
    now = utcnow()
    moment = moment_at(at, now)
    retention = backup.Retention.of(s)
    try:
        backup.check_moment(moment, now, applying=apply)
        every = backup.found(_root(to))
        going = backup.expired(every, retention, moment)
        for one in going:
            if apply:
                backup.delete(one)
            if as_json:
                print_json({"kind": one.kind, "path": str(one.path), "taken_at": one.taken_at,
                            "deleted": apply})  # fmt: skip
            else:
                days = retention.of_kind(one.kind).days
                key = "backup_pruned" if apply else "backup_expired"
                out.print(t(key, kind=one.kind, path=one.path, at=local_time(one.taken_at),
                            days=days), soft_wrap=True)  # fmt: skip
    except BACKUP_ERRORS as exc:
        fail(exc)
    kept = [b for b in every if b not in going]
    summary = "backup_prune_applied" if apply else "backup_prune_listed"
    err.print(t(summary, count=len(going), kept=len(kept), at=local_time(moment)), soft_wrap=True)
    if not any(b.kind == backup.KEYS for b in kept):
        err.print(Text(t("backup_no_keys_left"), style="yellow"), soft_wrap=True)


@backup_app.command("restore", help=t("cmd.backup_restore"))
def backup_restore(
    data: Annotated[Path, typer.Option("--data", help=t("opt.backup_data"))],
    keys: Annotated[Path, typer.Option("--keys", help=t("opt.backup_keys"))],
    database: Annotated[str, typer.Option("--database", help=t("opt.backup_database"))],
    as_json: JsonOption = False,
) -> None:
    try:
        done = backup.restore(settings(), data, keys, database)
    except BACKUP_ERRORS as exc:
        fail(exc)
    if as_json:
        print_json({"database": done.database, "people": done.people, "keys": done.keys,
                    "facts": done.facts, "readable_facts": done.readable_facts,
                    "sample_tried": done.tried, "sample_opened": done.opened})  # fmt: skip
    else:
        line = t("backup_restored", database=done.database, people=done.people,
                 keys=done.keys, facts=done.facts, readable=done.readable_facts)  # fmt: skip
        out.print(Text(line, style="green"), soft_wrap=True)
        if done.opened is not None:
            key = "backup_sample_opened" if done.opened == done.tried else "backup_sample_failed"
            out.print(Text(t(key, opened=done.opened, tried=done.tried)), soft_wrap=True)
    if done.opened is not None and done.opened < done.tried:
        raise typer.Exit(code=1)


@backup_app.command("drop", help=t("cmd.backup_drop"))
def backup_drop(
    database: Annotated[str, typer.Option("--database", help=t("opt.backup_drop_database"))],
) -> None:
    try:
        backup.drop(settings(), database)
    except BACKUP_ERRORS as exc:
        fail(exc)
    out.print(t("backup_dropped", database=database))


if __name__ == "__main__":  # pragma: no cover - `python -m sinergi.cli_backup backup ...`
    app()
