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
from sinergi.views import when
from sinergi.web.notifier import Channel, ChannelError, webhook_secret
from sinergi.web.officers import (
    AuditEntry,
    OfficerError,
    add_officer,
    generate_password,
    hash_password,
)

web_app = typer.Typer(
    help="The browser application (police, posts, agencies, operations).",
    invoke_without_command=True,
)
officer_app = typer.Typer(help="Officers who log in to the browser application.",
                          no_args_is_help=True)  # fmt: skip
notify_app = typer.Typer(help="Push notifications of new alerts (webhooks, e-mail).",
                         no_args_is_help=True)  # fmt: skip
app.add_typer(web_app, name="web")
app.add_typer(officer_app, name="officer")
app.add_typer(notify_app, name="notify")

DB_ERRORS = (psycopg.Error, StackError, OfficerError, ChannelError)


def _ready() -> None:
    """The web role and its rights (idempotent): commands work right after stack up."""
    try:
        bootstrap.ensure_web_role(settings())
    except DB_ERRORS as exc:
        fail(StackError(f"PostgreSQL cannot be reached as its administrator ({type(exc).__name__}):"
                        " is the stack up? (sinergi stack up)"))  # fmt: skip


# --- the web application ---------------------------------------------------------------------


@web_app.callback()
def web(
    ctx: typer.Context,
    no_notify: Annotated[
        bool, typer.Option("--no-notify", help="Do not run the notifier of new alerts")
    ] = False,
) -> None:
    """Serve the browser application in the foreground (SINERGI_WEB_HOST, SINERGI_WEB_PORT;
    loopback by default), with the notifier of new alerts."""
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


@web_app.command("start")
def web_start() -> None:
    """Start the browser application in the background (logs in SINERGI_HOME/logs/web.log)."""
    try:
        out.print(f"web: {runtime.web(settings()).start()}")
    except DB_ERRORS as exc:
        fail(exc)


@web_app.command("stop")
def web_stop() -> None:
    """Stop the background browser application."""
    out.print(f"web: {runtime.web(settings()).stop()}")


# --- officers --------------------------------------------------------------------------------


@officer_app.command("add")
def officer_add(
    username: Annotated[str, typer.Argument(help="Log-in name: lower-case letters, digits, . _ -")],
    unit: Annotated[
        str,
        typer.Option(
            help="The member unit: post-eltari, police-polres-5371, "
            "bp3mi-ntt, district-5302, hotline-sisaga, ops, admin"
        ),
    ],
    code: Annotated[
        str,
        typer.Option(
            help="The officer's staff code, as the desks publish it "
            "(a pseudonym such as ELT-07, never a name)"
        ),
    ],
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input (else one is generated)")
    ] = False,
) -> None:
    """Add an officer. A generated password is written to SINERGI_HOME/secrets/web/
    USERNAME.password (mode 0600) and never printed."""
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
    out.print(
        f"[green]officer {officer.username}[/green] of {officer.unit} ({officer.officer_code})"
    )
    if where is not None:
        out.print(f"  password: {where} (mode 0600)")


def _write_secret(folder: Path, name: str, value: str) -> Path:
    import os

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = password_file(folder, name.strip().lower())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return path


@officer_app.command("list")
def officer_list() -> None:
    """Officers, their units and codes, and whether they are disabled or locked out."""
    _ready()
    try:
        officers = bootstrap.officer_store(settings()).all()
    except DB_ERRORS as exc:
        fail(exc)
        return
    table = Table("username", "unit", "code", "since", "last log-in", "state")
    for o in officers:
        state = "disabled" if o.disabled_at else (
            f"locked until {when(o.locked_until)}" if o.locked_until else "active")  # fmt: skip
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
        fail(OfficerError(f"no officer {username}"))
    action = "officer.disable" if disabled else "officer.enable"
    store.audit(AuditEntry(action, "ok", username))
    out.print(
        f"{username}: {'disabled (logged out at the next request)' if disabled else 'enabled'}"
    )


@officer_app.command("disable")
def officer_disable(
    username: Annotated[str, typer.Argument(help="The officer's username")],
) -> None:
    """Disable an officer: their sessions end at their next request."""
    _set_disabled(username, True)


@officer_app.command("enable")
def officer_enable(username: Annotated[str, typer.Argument(help="The officer's username")]) -> None:
    """Enable a disabled officer again."""
    _set_disabled(username, False)


@officer_app.command("reset-password")
def officer_reset(username: Annotated[str, typer.Argument(help="The officer's username")]) -> None:
    """A new generated password (in SINERGI_HOME/secrets/web/USERNAME.password); the
    lockout is lifted."""
    _ready()
    s = settings()
    password = generate_password()
    if not bootstrap.officer_store(s).set_password(username, hash_password(password)):
        fail(OfficerError(f"no officer {username}"))
        return
    where = _write_secret(s.secrets_dir / "web", username, password)
    out.print(f"{username}: new password in {where} (mode 0600)")


# --- notifications ----------------------------------------------------------------------------


@notify_app.command("add")
def notify_add(
    channel_id: Annotated[str, typer.Argument(help="A name for the channel, e.g. polres-tts-hook")],
    unit: Annotated[
        str, typer.Option(help="The police unit told: police-polda-ntt or police-polres-<code>")
    ],
    webhook: Annotated[str, typer.Option(help="A URL to POST signed notifications to")] = "",
    email: Annotated[str, typer.Option(help="An address to e-mail notifications to")] = "",
    min_severity: Annotated[str, typer.Option(help="LOW, MEDIUM, HIGH or CRITICAL")] = "HIGH",
) -> None:
    """Tell a police unit of new alerts on a channel (alerts raised from now on). A
    webhook's signing secret is written to SINERGI_HOME/secrets/webhooks/ID.password."""
    _ready()
    from schemas.access import Role
    from sinergi.web.access import UnitError, unit_role

    try:
        role = unit_role(unit)
    except UnitError as exc:
        fail(exc)
        return
    if role.role is not Role.POLICE:
        fail(ChannelError("only police units are told of alerts"))
    if bool(webhook) == bool(email):
        fail(ChannelError("give one of --webhook or --email"))
    if min_severity.upper() not in {s.value for s in Severity}:
        fail(ChannelError("--min-severity is LOW, MEDIUM, HIGH or CRITICAL"))
    if webhook and not webhook.startswith(("http://", "https://")):
        fail(ChannelError("--webhook is an http:// or https:// URL"))
    if email and ("@" not in email or any(c.isspace() for c in email)):
        fail(ChannelError("--email is an address"))
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
    out.print(f"[green]channel {channel_id}[/green]: {channel.kind} for {role.unit}, "
              f"{channel.min_severity} and above")  # fmt: skip
    if webhook:
        webhook_secret(s.secrets_dir, channel_id)
        out.print(f"  signing secret: {password_file(s.secrets_dir / 'webhooks', channel_id)}")


@notify_app.command("channels")
def notify_channels() -> None:
    """The channels, active and disabled."""
    _ready()
    rows = bootstrap.notification_store(settings()).channels(active=False)
    table = Table("channel", "unit", "kind", "target", "min severity", "since", "state")
    for c in rows:
        table.add_row(c.channel_id, c.unit, c.kind, c.target, c.min_severity, when(c.since),
                      "disabled" if c.disabled_at else "active")  # fmt: skip
    out.print(table)


@notify_app.command("disable")
def notify_disable(channel_id: Annotated[str, typer.Argument(help="The channel")]) -> None:
    """Stop a channel (what it has not delivered stays in the log, undelivered)."""
    _ready()
    if not bootstrap.notification_store(settings()).disable_channel(channel_id):
        fail(ChannelError(f"no active channel {channel_id}"))
    out.print(f"{channel_id}: disabled")


@notify_app.command("deliveries")
def notify_deliveries(
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 30,
) -> None:
    """The delivery log: each notification, its attempts and its state."""
    _ready()
    rows = bootstrap.notification_store(settings()).deliveries(limit)
    table = Table(
        "alert", "channel", "status", "attempts", "next attempt", "delivered", "last error"
    )
    for r in rows:
        table.add_row(
            r["alert_id"], r["channel_id"], r["status"], str(r["attempts"]),
            when(r["next_attempt_at"]), when(r["delivered_at"]), r["last_error"] or "-",
        )  # fmt: skip
    out.print(table)


@notify_app.command("run")
def notify_run() -> None:
    """Run the notifier in the foreground, apart from the web application (one notifier
    works at a time; a second one waits)."""
    _ready()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    loop = bootstrap.notifier_loop(settings())
    err.print("notifier running (Ctrl-C stops it)")
    try:
        loop.run()
    except KeyboardInterrupt:
        loop.stop()
