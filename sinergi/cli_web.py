"""``sinergi web``, ``sinergi officer ...`` and ``sinergi notify ...``: the browser
application's commands, registered on the ``sinergi`` command line (:data:`sinergi.cli.app`).

``sinergi.cli`` imports this module (its ``COMMAND_MODULES``); importing it again is
harmless (Python imports a module once).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from rich.table import Table

from deploy.procs import StackError
from deploy.secrets import password_file
from schemas.model import Severity
from sinergi import bootstrap, runtime
from sinergi.cli import app, err, fail, out, settings
from sinergi.i18n import t
from sinergi.views import when
from sinergi.web.notifier import Channel, ChannelError, webhook_secret
from sinergi.web.officers import (
    AuditEntry,
    OfficerError,
    add_officer,
    generate_password,
    hash_password,
)

web_app = typer.Typer(help=t("group.web"), invoke_without_command=True)
officer_app = typer.Typer(help=t("group.officer"), no_args_is_help=True)
notify_app = typer.Typer(help=t("group.notify"), no_args_is_help=True)
app.add_typer(web_app, name="web")
app.add_typer(officer_app, name="officer")
app.add_typer(notify_app, name="notify")

DB_ERRORS = (psycopg.Error, StackError, OfficerError, ChannelError)


def _ready() -> None:
    """The web role and its rights (idempotent): commands work right after stack up."""
    try:
        bootstrap.ensure_web_role(settings())
    except DB_ERRORS as exc:
        fail(StackError(t("web.db_down", kind=type(exc).__name__)))


# --- the web application ---------------------------------------------------------------------


@web_app.callback(help=f"{t('group.web')}\n\n{t('cmd.web')}")
def web(
    ctx: typer.Context,
    no_notify: Annotated[bool, typer.Option("--no-notify", help=t("opt.no_notify"))] = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from sinergi.web.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    s = settings()
    out.print(f"web: http://{s.web_host}:{s.ports.web}/")
    try:
        serve(s, notify=not no_notify)
    except DB_ERRORS as exc:
        fail(exc)


@web_app.command("start", help=t("cmd.web_start"))
def web_start() -> None:
    try:
        out.print(f"web: {runtime.web(settings()).start()}")
    except DB_ERRORS as exc:
        fail(exc)


@web_app.command("stop", help=t("cmd.web_stop"))
def web_stop() -> None:
    out.print(f"web: {runtime.web(settings()).stop()}")


# --- officers --------------------------------------------------------------------------------


@officer_app.command("add", help=t("cmd.officer_add"))
def officer_add(
    username: Annotated[str, typer.Argument(help=t("arg.new_username"))],
    unit: Annotated[str, typer.Option(help=t("opt.officer_unit"))],
    code: Annotated[str, typer.Option(help=t("opt.officer_code"))],
    password_stdin: Annotated[bool, typer.Option(help=t("opt.password_stdin"))] = False,
) -> None:
    _ready()
    s = settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        where = None
    else:
        password = generate_password()
        where = _write_secret(s.secrets_dir / "web", username, password)
    try:
        officer = add_officer(bootstrap.officer_store(s), username.strip().lower(), unit, code,
                              password)  # fmt: skip
    except DB_ERRORS as exc:
        if where is not None:
            where.unlink(missing_ok=True)
        fail(exc)
        return
    out.print(t("officer.added", username=officer.username, unit=officer.unit,
                code=officer.officer_code))  # fmt: skip
    if where is not None:
        out.print(t("officer.password_at", path=where))


def _write_secret(folder: Path, name: str, value: str) -> Path:
    import os

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = password_file(folder, name.strip().lower())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return path


@officer_app.command("list", help=t("cmd.officer_list"))
def officer_list() -> None:
    _ready()
    try:
        officers = bootstrap.officer_store(settings()).all()
    except DB_ERRORS as exc:
        fail(exc)
        return
    table = Table(t("col.username"), t("col.member_unit"), t("col.staff_code"), t("col.since"),
                  t("col.last_login"), t("col.state"))  # fmt: skip
    for o in officers:
        state = t("state.disabled") if o.disabled_at else (
            t("state.locked_until", until=when(o.locked_until)) if o.locked_until
            else t("state.active"))  # fmt: skip
        table.add_row(o.username, o.unit, o.officer_code, when(o.created_at),
                      when(o.last_login_at), state)  # fmt: skip
    out.print(table)


def _set_disabled(username: str, disabled: bool) -> None:
    _ready()
    from datetime import UTC, datetime

    store = bootstrap.officer_store(settings())
    try:
        changed = store.set_disabled(username, datetime.now(UTC) if disabled else None)
    except DB_ERRORS as exc:
        fail(exc)
        return
    if not changed:
        fail(OfficerError(t("officer.unknown", username=username)))
    action = "officer.disable" if disabled else "officer.enable"
    store.audit(AuditEntry(action, "ok", username))
    out.print(t("officer.now_disabled" if disabled else "officer.now_enabled", username=username))


@officer_app.command("disable", help=t("cmd.officer_disable"))
def officer_disable(username: Annotated[str, typer.Argument(help=t("arg.username"))]) -> None:
    _set_disabled(username, True)


@officer_app.command("enable", help=t("cmd.officer_enable"))
def officer_enable(username: Annotated[str, typer.Argument(help=t("arg.username"))]) -> None:
    _set_disabled(username, False)


@officer_app.command("reset-password", help=t("cmd.officer_reset"))
def officer_reset(username: Annotated[str, typer.Argument(help=t("arg.username"))]) -> None:
    _ready()
    s = settings()
    password = generate_password()
    if not bootstrap.officer_store(s).set_password(username, hash_password(password)):
        fail(OfficerError(t("officer.unknown", username=username)))
        return
    where = _write_secret(s.secrets_dir / "web", username, password)
    out.print(t("officer.new_password", username=username, path=where))


# --- notifications ----------------------------------------------------------------------------


@notify_app.command("add", help=t("cmd.notify_add"))
def notify_add(
    channel_id: Annotated[str, typer.Argument(help=t("arg.new_channel"))],
    unit: Annotated[str, typer.Option(help=t("opt.notify_unit"))],
    webhook: Annotated[str, typer.Option(help=t("opt.webhook"))] = "",
    email: Annotated[str, typer.Option(help=t("opt.email"))] = "",
    min_severity: Annotated[str, typer.Option(help=t("opt.min_severity"))] = "HIGH",
) -> None:
    _ready()
    from schemas.access import Role
    from sinergi.web.access import UnitError, unit_role

    try:
        role = unit_role(unit)
    except UnitError as exc:
        fail(exc)
        return
    if role.role is not Role.POLICE:
        fail(ChannelError(t("notify.police_only")))
    if bool(webhook) == bool(email):
        fail(ChannelError(t("notify.one_target")))
    if min_severity.upper() not in {s.value for s in Severity}:
        fail(ChannelError(t("notify.bad_severity")))
    if webhook and not webhook.startswith(("http://", "https://")):
        fail(ChannelError(t("notify.bad_webhook")))
    if email and ("@" not in email or any(c.isspace() for c in email)):
        fail(ChannelError(t("notify.bad_email")))
    s = settings()
    from datetime import UTC, datetime

    channel = Channel(
        channel_id=channel_id, unit=role.unit, kind="webhook" if webhook else "email",
        target=webhook or email, min_severity=min_severity.upper(), since=datetime.now(UTC),
    )  # fmt: skip
    try:
        bootstrap.notification_store(s).add_channel(channel)
    except DB_ERRORS as exc:
        fail(exc)
        return
    out.print(t("notify.added", channel=channel_id, kind=channel.kind, unit=role.unit,
                severity=channel.min_severity))  # fmt: skip
    if webhook:
        webhook_secret(s.secrets_dir, channel_id)
        out.print(t("notify.secret_at", path=password_file(s.secrets_dir / "webhooks", channel_id)))


@notify_app.command("channels", help=t("cmd.notify_channels"))
def notify_channels() -> None:
    _ready()
    rows = bootstrap.notification_store(settings()).channels(active=False)
    table = Table(t("col.channel"), t("col.member_unit"), t("col.channel_kind"), t("col.target"),
                  t("col.min_severity"), t("col.since"), t("col.state"))  # fmt: skip
    for c in rows:
        table.add_row(c.channel_id, c.unit, c.kind, c.target, c.min_severity, when(c.since),
                      t("state.disabled") if c.disabled_at else t("state.active"))  # fmt: skip
    out.print(table)


@notify_app.command("disable", help=t("cmd.notify_disable"))
def notify_disable(channel_id: Annotated[str, typer.Argument(help=t("arg.channel"))]) -> None:
    _ready()
    if not bootstrap.notification_store(settings()).disable_channel(channel_id):
        fail(ChannelError(t("notify.unknown", channel=channel_id)))
    out.print(t("notify.now_disabled", channel=channel_id))


@notify_app.command("deliveries", help=t("cmd.notify_deliveries"))
def notify_deliveries(
    limit: Annotated[int, typer.Option(help=t("opt.deliveries_limit"))] = 30,
) -> None:
    _ready()
    rows = bootstrap.notification_store(settings()).deliveries(limit)
    table = Table(t("col.alert"), t("col.channel"), t("col.status"), t("col.attempts"),
                  t("col.next_attempt"), t("col.delivered"), t("col.last_error"))  # fmt: skip
    for r in rows:
        table.add_row(
            r["alert_id"], r["channel_id"], r["status"], str(r["attempts"]),
            when(r["next_attempt_at"]), when(r["delivered_at"]), r["last_error"] or "-",
        )  # fmt: skip
    out.print(table)


@notify_app.command("run", help=t("cmd.notify_run"))
def notify_run() -> None:
    _ready()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    loop = bootstrap.notifier_loop(settings())
    err.print(t("notify.running"))
    try:
        loop.run()
    except KeyboardInterrupt:
        loop.stop()
