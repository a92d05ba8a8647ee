"""``sinergi``: the command line for the stack, the agencies, police, the processor and the ledger.

Each agency's desk commands (one per form, imports, corrections, delivery) are
:mod:`sinergi.cli_desk`'s.

It speaks Bahasa Indonesia unless told otherwise (``--lang en``, ``SINERGI_LANG=en``, or
an English locale): every text comes from the catalogue in :mod:`sinergi.i18n`. A
refusal (a permission, a service out of reach) is one sentence, never a traceback
(:class:`SinergiGroup`). Other modules add commands to :data:`app` when they are
installed: see :data:`COMMAND_MODULES` at the end.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated, Any, NoReturn

import psycopg
import typer
from kafka.errors import (
    AuthorizationError,
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    SaslAuthenticationFailedError,
    TopicAuthorizationFailedError,
)
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from typer._click.exceptions import UsageError  # typer's own click: no public name
from typer.core import TyperGroup

from deploy.procs import StackError
from producers.fields import InvalidInputError
from producers.outbox import OutboxError
from producers.pseudonym import PseudonymKeyError
from schemas.access import Role
from schemas.crypto import CryptoError
from schemas.directory import DirectoryError
from schemas.model import (
    WITA,
    Agency,
    AlertAction,
    AlertRaised,
    AlertRule,
    Severity,
)
from schemas.registry import RegistryError
from schemas.serde import SerializationError
from sinergi import (
    auditing,
    buildinfo,
    config,
    i18n,
    members,
    police,
    runtime,
    views,
)
from sinergi.config import ConfigError, Settings, from_env
from sinergi.display import Steps, local_time, now_wita, severity
from sinergi.i18n import t
from sinergi.members import MemberError
from sinergi.rebuild import rebuild

# --- the language, before any help text is made ------------------------------------------


def _starting_language() -> str:
    """``--lang`` on the command line, else the environment's (config.language)."""
    chosen = i18n.argv_language(sys.argv[1:])
    if chosen is not None:
        return chosen
    try:
        return config.language()
    except ConfigError:
        return i18n.DEFAULT  # said again, as an error, when a command reads the settings


# Typer looks some of its own words up with gettext (``Commands``, ``Missing command.``):
# its core module's ``_`` looks them up in the catalogue instead, and its help panels'
# titles are set from it. Usage errors are translated as they pass (SinergiGroup).
_TYPER_TEXTS = {
    "DEPRECATED_STRING": "(deprecated) ",
    "DEFAULT_STRING": "[default: {}]",
    "REQUIRED_LONG_STRING": "[required]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error",
    "ABORTED_TEXT": "Aborted.",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
}


def _localise_typer() -> None:
    vars(importlib.import_module("typer.core"))["_"] = i18n.click_text
    rich_utils = importlib.import_module("typer.rich_utils")
    for name, english in _TYPER_TEXTS.items():
        setattr(rich_utils, name, i18n.click_text(english))


i18n.set_language(_starting_language())
_localise_typer()

out = Console()
err = Console(stderr=True)
# A desk that cannot reach the hub says so in one sentence; kafka-python's own account
# (with no logging configured, Python would print its errors) is not for the officer.
logging.getLogger("kafka").addHandler(logging.NullHandler())

EXPECTED_ERRORS = (
    StackError,
    MemberError,
    DirectoryError,
    CryptoError,
    ConfigError,
    RegistryError,
    SerializationError,
    InvalidInputError,
    PseudonymKeyError,
    OutboxError,
)
# What reading the ledger may meet: a sentence each (a prefix, a filter, no connection).
READ_ERRORS = (views.LedgerReadError, *EXPECTED_ERRORS)
# Refused by a service or the system rather than by a check of ours: one sentence each.
REFUSALS = (
    AuthorizationError,
    SaslAuthenticationFailedError,
    NodeNotReadyError,
    KafkaConnectionError,
    KafkaTimeoutError,
    psycopg.Error,
    PermissionError,
)


def settings() -> Settings:
    return from_env()


def error_line(message: str) -> Text:
    """``error: <message>``: the message as text, never markup (it may hold what was typed)."""
    return Text.assemble((t("error"), "red"), message)


def fail(exc: BaseException) -> NoReturn:
    """A command that cannot go on: its reason in the user's language, exit code 2."""
    if isinstance(exc, InvalidInputError):
        err.print(Text(t("refused", count=len(exc.errors)), style="red"))
        for problem in exc.errors[:50]:
            err.print(Text(f"  - {i18n.problem(problem)}"), soft_wrap=True)
        if len(exc.errors) > 50:
            err.print(t("and_more", count=len(exc.errors) - 50))
    else:
        err.print(error_line(i18n.sentence(str(exc))), soft_wrap=True)
    for note in getattr(exc, "__notes__", ()):  # what else went wrong on the way out
        for line in i18n.sentence(note).splitlines():
            err.print(Text(f"  {line}"), soft_wrap=True)
    raise typer.Exit(code=2)


def refuse(exc: BaseException) -> NoReturn:
    """A read of the ledger that cannot be answered: its sentence, never a traceback."""
    fail(exc)


def refusal(exc: BaseException) -> str:
    """What a service's or the system's refusal means, in one sentence of the user's
    language; never the library's account (which may hold a statement or a value)."""
    if isinstance(exc, AuthorizationError):
        what = {
            TopicAuthorizationFailedError: "what.topic",
            GroupAuthorizationFailedError: "what.group",
            ClusterAuthorizationFailedError: "what.cluster",
        }.get(type(exc), "what.other")
        return t("refusal.kafka_acl", unit=t("someone"), what=t(what))
    if isinstance(exc, SaslAuthenticationFailedError):
        return t("refusal.kafka_login", unit=t("someone"))
    if isinstance(exc, NodeNotReadyError | KafkaConnectionError | KafkaTimeoutError):
        return t("refusal.kafka_down", address=_address("kafka"), kind=type(exc).__name__)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        first = str(exc).splitlines()[0] if str(exc) else "permission denied"
        detail = (exc.diag.message_primary or first)[:120]
        return t("refusal.pg_permission", detail=detail)
    if _login_refused(exc):
        return t("refusal.pg_login")
    if isinstance(exc, psycopg.OperationalError):
        return t("refusal.pg_down", address=_address("postgres"), kind=type(exc).__name__)
    if isinstance(exc, psycopg.Error):
        return t("refusal.pg_other", kind=type(exc).__name__)
    if isinstance(exc, PermissionError):
        return t("refusal.file", path=exc.filename or "?")
    return i18n.sentence(str(exc))


def _login_refused(exc: BaseException) -> bool:
    """PostgreSQL refused the password or the role (libpq says so only in its text)."""
    refused = (psycopg.errors.InvalidPassword, psycopg.errors.InvalidAuthorizationSpecification)
    if isinstance(exc, refused):
        return True
    return isinstance(exc, psycopg.OperationalError) and "authentication failed" in str(exc)


def _address(service: str) -> str:
    try:
        s = settings()
    except ConfigError:
        return "?"
    return s.bootstrap_servers if service == "kafka" else f"{s.host}:{s.ports.postgres}"


class SinergiGroup(TyperGroup):
    """The root command: a refusal no command caught (a permission, a service out of
    reach, a known error) becomes one sentence and exit code 2, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if i18n.language() == "en":
                raise
            raise UsageError(i18n.usage_error(exc.format_message()), ctx=exc.ctx) from None
        except REFUSALS as exc:
            err.print(error_line(refusal(exc)), soft_wrap=True)
            raise typer.Exit(code=2) from None
        except READ_ERRORS as exc:
            fail(exc)


app = typer.Typer(
    cls=SinergiGroup,
    help=t("app.help"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        commit = buildinfo.commit()
        shown = "" if commit == buildinfo.UNKNOWN else t("app.commit", commit=commit)
        print(t("app.version_line", version=buildinfo.version(), commit=shown))
        raise typer.Exit()


@app.callback(help=t("app.help"))
def _options(
    lang: Annotated[
        str | None, typer.Option("--lang", help=t("app.lang"), metavar="id|en", show_default=False)
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", help=t("app.version"), is_eager=True, callback=_show_version),
    ] = False,
) -> None:
    # The language of this run's messages (help texts were made with _starting_language).
    if lang is None:
        try:
            chosen = settings().lang
        except ConfigError as exc:
            fail(exc)
    else:
        chosen = lang.strip().lower()
        if chosen not in i18n.LANGUAGES:
            raise typer.BadParameter(t("app.bad_lang", lang=lang), param_hint="--lang")
    i18n.set_language(chosen)
    _localise_typer()


stack_app = typer.Typer(help=t("group.stack"), no_args_is_help=True)
processor_app = typer.Typer(help=t("group.processor"), no_args_is_help=True)
ledger_app = typer.Typer(help=t("group.ledger"), no_args_is_help=True)
alerts_app = typer.Typer(help=t("group.alerts"), no_args_is_help=True)
agency_app = typer.Typer(help=t("group.agency"), no_args_is_help=True)
audit_app = typer.Typer(help=t("group.audit"), no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(processor_app, name="processor")
app.add_typer(ledger_app, name="ledger")
app.add_typer(alerts_app, name="alerts")
app.add_typer(agency_app, name="agency")
app.add_typer(audit_app, name="audit")


def json_option() -> Any:
    return typer.Option("--json", help=t("opt.json"))


# ``--at``: another moment to look at (retention, backup pruning), typed in WITA unless a
# zone is given.
AtOption = Annotated[
    datetime | None,
    typer.Option(
        "--at",
        help=t("opt.retention_at"),
        show_default=False,
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
    ),
]


def moment_at(at: datetime | None, now: datetime) -> datetime:
    """The moment ``--at`` names (UTC), or ``now``."""
    if at is None:
        return now
    return (at if at.tzinfo else at.replace(tzinfo=WITA)).astimezone(UTC)


def print_json(record: Mapping[str, Any]) -> None:
    """One record as one line of JSON (times in ISO 8601, WITA as stored: with a zone)."""
    print(json.dumps(record, ensure_ascii=False, default=_jsonable), flush=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    return str(value)


# --- stack -------------------------------------------------------------------------------


@stack_app.command("up", help=t("cmd.stack_up"))
def stack_up(
    brokers: Annotated[
        int | None,
        typer.Option(help=t("opt.brokers")),
    ] = None,
    hub: Annotated[bool, typer.Option("--hub", help=t("opt.hub"))] = False,
) -> None:
    try:
        chosen = settings() if brokers is None else settings().with_kafka_brokers(brokers)
        runtime.up(chosen, report=out.print, hub=hub)
    except EXPECTED_ERRORS as exc:
        fail(exc)


@stack_app.command("down", help=t("cmd.stack_down"))
def stack_down() -> None:
    try:
        runtime.down(settings(), report=out.print)
    except EXPECTED_ERRORS as exc:
        fail(exc)


@stack_app.command("status", help=t("cmd.stack_status"))
def stack_status(json_lines: Annotated[bool, json_option()] = False) -> None:
    states = runtime.status(settings())
    if json_lines:
        for name, state in states.items():
            print_json({"service": name, "status": state})
        return
    table = Table(t("col.service"), t("col.status"))
    for name, state in states.items():
        table.add_row(name, state)
    out.print(table)


# --- police: alerts ------------------------------------------------------------------------

RULES = ", ".join(r.value for r in AlertRule)
SEVERITIES = ", ".join(s.value for s in Severity)


def police_member(unit: str) -> str:
    """``polda-ntt``, ``polres-5371`` or the member id itself: the member id."""
    unit = unit.strip().lower()
    return unit if unit.startswith("police-") else f"police-{unit}"


@contextlib.contextmanager
def _interrupt_ends_it(grace_s: float = 5.0) -> Iterator[None]:
    """Ctrl-C or SIGTERM ends a follower: KeyboardInterrupt, which closes its consumer;
    should the Kafka client swallow it (it can, in the middle of a rebalance), the
    process ends ``grace_s`` later all the same rather than following on unseen."""

    def interrupted(signum: int, frame: object) -> None:
        ender = threading.Timer(grace_s, os._exit, args=(0,))
        ender.daemon = True
        ender.start()
        raise KeyboardInterrupt

    before = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


@alerts_app.command("follow", help=t("cmd.follow"))
def alerts_follow(
    unit: Annotated[str, typer.Option(help=t("opt.follow_unit"))] = "polda-ntt",
    from_beginning: Annotated[bool, typer.Option(help=t("opt.from_beginning"))] = False,
    json_lines: Annotated[bool, json_option()] = False,
    max_alerts: Annotated[int, typer.Option("--max", help=t("opt.max"))] = 0,
    idle_timeout: Annotated[float, typer.Option(help=t("opt.idle"))] = 0,
    reveal: Annotated[bool, typer.Option(help=t("opt.reveal"))] = False,
) -> None:
    s = settings()
    opener = police.contact_opener(s) if reveal else None
    skipped = t("skipped")
    try:
        with _interrupt_ends_it():
            for item in police.follow(
                s,
                unit=police_member(unit),
                from_beginning=from_beginning,
                max_alerts=max_alerts or None,
                idle_timeout_s=idle_timeout or None,
                on_skip=lambda why: err.print(f"[yellow]{skipped}[/yellow] {escape(why)}"),
            ):
                show_followed(item, opener, json_lines=json_lines)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    except KeyboardInterrupt:
        pass


def show_followed(
    item: police.Followed, opener: Callable[[str], str] | None, *, json_lines: bool
) -> None:
    """One alert raised or withdrawn, as a line of JSON or for a person; ids whole."""
    if isinstance(item, police.Withdrawn):
        if json_lines:
            print(police.as_json(item), flush=True)
        else:
            out.print(*withdrawn_lines(item), sep="\n")
        return
    contacts = [opener(c) for c in item.alert.sealed_contacts] if opener else []
    if json_lines:
        print(police.as_json(item, contacts), flush=True)
    else:
        out.print(*raised_lines(item.alert, contacts), sep="\n")


def raised_lines(alert: AlertRaised, contacts: list[str]) -> list[Text]:
    lines = [
        Text.assemble(
            local_time(alert.triggered_at), " ", severity(alert.severity.value), " ",
            (alert.rule.value, "bold"), " ", alert.summary,
        ),
        Text(t("alert_line", alert_id=alert.alert_id), style="dim"),
        Text(t("cases_line", cases=", ".join(alert.case_ids)), style="dim"),
    ]  # fmt: skip
    if contacts:
        lines.append(Text(t("contact_line", contacts=", ".join(contacts))))
    return lines


def withdrawn_lines(item: police.Withdrawn) -> list[Text]:
    """A withdrawn alert says so, and why; it is never shown as if it held."""
    why = f"{item.reason}: {item.summary}" if item.summary else item.reason
    head: list[str | tuple[str, str]] = [
        local_time(item.withdrawn_at),
        " ",
        (t("withdrawn"), "bold"),
    ]
    if item.rule:
        head += [" ", (item.rule, "bold")]
    head.append(" ")
    return [
        Text.assemble(*head, why),
        Text(t("alert_line", alert_id=item.alert_id), style="dim"),
    ]


ACTIONS = i18n.choices(i18n.CHOICES["action"])


@alerts_app.command("ack", help=t("cmd.ack"))
def alerts_ack(
    alert_id: Annotated[str, typer.Argument(help=t("arg.alert"))],
    officer: Annotated[str, typer.Option(help=t("opt.officer"))],
    action: Annotated[
        str, typer.Option(help=t("opt.action", values=t("opt.values", values=ACTIONS)))
    ] = AlertAction.NOTED.value,
    unit: Annotated[str, typer.Option(help=t("opt.ack_unit"))] = "polda-ntt",
    occurred_at: Annotated[str, typer.Option(help=t("opt.when"), show_default=False)] = "",
    json_lines: Annotated[bool, json_option()] = False,
) -> None:
    try:
        full_id = views.find_alert(settings(), alert_id)
    except views.IdError as exc:
        refuse(exc)
    except READ_ERRORS as exc:
        # The ledger out of reach: a whole id needs no lookup, and the acknowledgement is
        # kept at the desk like any record until the hub can be reached.
        whole = views.whole_alert_id(alert_id)
        if whole is None:
            refuse(exc)
        full_id = whole
    row: dict[str, str | None] = {
        "alert_id": full_id,
        "officer": officer,
        "action": action,
        "occurred_at": occurred_at or now_wita(),
    }
    from sinergi import cli_desk  # imported by this module's end (COMMAND_MODULES)

    cli_desk.publish_rows(Agency.POLICE, "acknowledgement", unit, [row], dry_run=False,
                          from_file=False, json_lines=json_lines)  # fmt: skip


@alerts_app.command("list", help=t("cmd.alerts_list"))
def alerts_list(
    open_only: Annotated[bool, typer.Option("--open", help=t("opt.open"))] = False,
    rule: Annotated[str, typer.Option(help=t("opt.rule", rules=RULES))] = "",
    severity_name: Annotated[
        str, typer.Option("--severity", help=t("opt.severity", severities=SEVERITIES))
    ] = "",
    limit: Annotated[int, typer.Option(min=1, help=t("opt.limit"))] = 20,
    json_lines: Annotated[bool, json_option()] = False,
) -> None:
    try:
        rows = views.alerts(
            settings(),
            only_open=open_only,
            limit=limit + 1,  # one more: whether there are more than shown
            rule=views.parse_rule(rule) if rule else None,
            severity=views.parse_severity(severity_name) if severity_name else None,
        )
    except READ_ERRORS as exc:
        refuse(exc)
    more = len(rows) > limit
    rows = rows[:limit]
    if json_lines:
        for row in rows:
            print_json(views.alert_record(row))
        if more:  # stdout stays JSON lines
            err.print(Text(t("alerts_more", shown=limit)))
        return
    if not rows:
        out.print(t("no_open_alerts") if open_only else t("no_alerts"))
        return
    out.print(views.render_alerts(rows, width=out.width))
    if more:
        out.print(Text(t("alerts_more", shown=limit), style="yellow"))


# --- members and audit -------------------------------------------------------------------


@agency_app.command("add", help=t("cmd.agency_add"))
def agency_add(
    name: Annotated[str, typer.Argument(help=t("arg.member"))],
    role: Annotated[Role, typer.Option(help=t("opt.role"))],
    json_lines: Annotated[bool, json_option()] = False,
) -> None:
    s = settings()
    try:
        member = members.add(s, name, role)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    credential = s.kafka_credentials_dir / f"{member.member_id}.password"
    key = s.keys_dir / f"{member.member_id}.signing.key"
    if json_lines:
        print_json({"member": member.member_id, "role": member.role.value,
                    "credential_file": str(credential), "signing_key_file": str(key),
                    "public_key": member.signing_key})  # fmt: skip
        return
    ready = t("member_ready", member=member.member_id, role=member.role.value)
    out.print(Text(ready, style="green"))
    out.print(Text(t("member_credential", path=credential)), soft_wrap=True)
    out.print(Text(t("member_key", path=key)), soft_wrap=True)
    public = t("member_public", key=member.signing_key, path=s.directory_file)
    out.print(Text(public), soft_wrap=True)


@agency_app.command("list", help=t("cmd.agency_list"))
def agency_list(json_lines: Annotated[bool, json_option()] = False) -> None:
    try:
        rows = members.list_members(settings())
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if json_lines:
        for row in rows:
            m = row.member
            print_json({"member": m.member_id, "role": m.role.value, "acls": row.acls,
                        "since": m.created_at, "revoked": m.revoked_at})  # fmt: skip
        return
    table = Table(t("col.member"), t("col.role"), t("col.acls"), t("col.since"), t("col.revoked"))
    for row in rows:
        m = row.member
        table.add_row(m.member_id, m.role.value, str(row.acls), m.created_at, m.revoked_at or "-")
    out.print(table)


@agency_app.command("revoke", help=t("cmd.agency_revoke"))
def agency_revoke(name: Annotated[str, typer.Argument(help=t("arg.member_id"))]) -> None:
    try:
        member = members.revoke(settings(), name)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    line = t("member_revoked", member=member.member_id, at=member.revoked_at)
    out.print(Text(line, style="yellow"))


@audit_app.command("verify", help=t("cmd.audit_verify"))
def audit_verify() -> None:
    try:
        report = auditing.verify(settings())
    except EXPECTED_ERRORS as exc:
        fail(exc)
    chains = report.chains
    if chains.intact:
        line = t("audit_intact", entries=chains.entries, chains=chains.chains)
        out.print(_labelled(line, "green"))
    else:
        line = t("audit_broken", chain=chains.broken_chain, at=chains.broken_at,
                 reason=chains.reason)  # fmt: skip
        err.print(_labelled(line, "red"))
    if report.complete:
        out.print(_labelled(t("audit_complete", partitions=len(report.coverage)), "green"))
    for gap in report.coverage:
        if not gap.complete:
            err.print(_labelled(t("audit_incomplete", gap=gap.describe()), "red"))
    if report.dead_letters_agree:
        line = t("audit_dead_letters", audited=report.dead_lettered, published=report.on_topic)
        out.print(_labelled(line, "green"))
    for topic, partition, offset in report.not_published[:20]:
        where = f"{topic}[{partition}]@{offset}"
        err.print(Text(t("audit_not_published", where=where), style="red"))
    for topic, partition, offset in report.not_audited[:20]:
        where = f"{topic}[{partition}]@{offset}"
        err.print(_labelled(t("audit_not_audited", where=where), "red"))
    from sinergi.cli_breach import after_verify  # the breach clock: a failure starts it

    after_verify(settings(), report)
    if not report.ok:
        fail(StackError(t("audit_failed")))


def _labelled(line: str, style: str) -> Text:
    """``label: the rest``, the label in ``style``."""
    head, colon, rest = line.partition(":")
    return Text.assemble((head + colon, style), rest) if colon else Text(line, style=style)


# --- processor ---------------------------------------------------------------------------


@app.command("process", help=t("cmd.process"))
def process() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        runtime.run_processor(settings())
    except EXPECTED_ERRORS as exc:
        fail(exc)


@processor_app.command("start", help=t("cmd.processor_start"))
def processor_start() -> None:
    try:
        out.print(t("processor", state=runtime.processor(settings()).start()))
    except EXPECTED_ERRORS as exc:
        fail(exc)


@processor_app.command("stop", help=t("cmd.processor_stop"))
def processor_stop() -> None:
    out.print(t("processor", state=runtime.processor(settings()).stop()))


# --- ledger ------------------------------------------------------------------------------


@ledger_app.command("summary", help=t("cmd.summary"))
def ledger_summary(json_lines: Annotated[bool, json_option()] = False) -> None:
    try:
        summary = views.ledger_summary(settings())
    except READ_ERRORS as exc:
        refuse(exc)
    if json_lines:
        print_json(asdict(summary))
        return
    out.print(views.render_summary(summary))


@ledger_app.command("case", help=t("cmd.case"))
def ledger_case(
    case: Annotated[str, typer.Argument(help=t("arg.case"), metavar="CASE_ID_OR_NIK")],
    json_lines: Annotated[bool, json_option()] = False,
) -> None:
    s = settings()
    try:
        found = views.case_view(s, views.find_case(s, case))
    except READ_ERRORS as exc:
        refuse(exc)
    if found is None:  # resolved a moment ago: only a rebuild in between removes it
        refuse(views.IdError(t("case_gone")))
    if json_lines:
        head, timeline = found
        print_json({**head, "timeline": timeline})
        return
    out.print(views.render_case(*found))


@ledger_app.command("recruiters", help=t("cmd.recruiters"))
def ledger_recruiters(
    limit: Annotated[int, typer.Option(help=t("opt.how_many"))] = 15,
    json_lines: Annotated[bool, json_option()] = False,
) -> None:
    try:
        rows = views.recruiters(settings(), limit)
    except READ_ERRORS as exc:
        refuse(exc)
    if json_lines:
        for r in rows:
            print_json(r)
        return
    table = Table(
        t("col.recruiter"), t("col.people"), t("col.interceptions"), t("col.tips"),
        t("col.groups"), t("col.investigations"), t("col.suspect"), t("col.last_seen"),
    )  # fmt: skip
    for r in rows:
        table.add_row(
            r["recruiter_ref"], str(r["people"]), str(r["interceptions"]), str(r["tips"]),
            str(r["groups"]), str(r["investigations"]), r["suspect_status"] or "-",
            views.when(r["last_seen"]),
        )  # fmt: skip
    out.print(table)


@ledger_app.command("rebuild", help=t("cmd.rebuild"))
def ledger_rebuild(
    keep: Annotated[bool, typer.Option(help=t("opt.keep"))] = False,
    wait: Annotated[float, typer.Option(help=t("opt.wait"))] = 60,
    workers: Annotated[int | None, typer.Option(min=1, help=t("opt.workers"))] = None,
) -> None:
    try:
        with Steps(err) as steps:
            task = steps.step(t("progress.replay"))

            def replayed(done: int, total: int) -> None:
                steps.update(task, completed=done, total=max(done, total))

            result = rebuild(
                settings(),
                keep=keep,
                wait_s=wait,
                report=lambda line: out.print(Text(i18n.sentence(line)), soft_wrap=True),
                progress=replayed,
                workers=workers,
            )
    except EXPECTED_ERRORS as exc:
        fail(exc)
    table = Table(t("col.table"), t("col.rows_live"), t("col.differences"))
    for name, rows in result.rows.items():
        table.add_row(name, str(rows), str(result.counts.get(name, 0)))
    out.print(table)
    if result.identical:
        out.print(_labelled(t("identical", count=result.replayed), "green"))
        return
    for name, diffs in result.differences.items():
        for line in diffs[:10]:
            err.print(Text(f"  {name}: {line}"), soft_wrap=True)
    fail(StackError(t("rebuild_differs")))


@app.command("demo", help=t("cmd.demo"))
def demo(
    months: Annotated[int, typer.Option(help=t("opt.months"))] = 6,
    seed: Annotated[int, typer.Option(help=t("opt.seed"))] = 2026,
) -> None:
    try:
        runtime.demo(settings(), months=months, seed=seed, report=out.print)
    except EXPECTED_ERRORS as exc:
        fail(exc)


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


# --- commands of other modules ---------------------------------------------------------------

# Modules that add their own commands to `app` when imported (`from sinergi.cli import app`,
# then `@app.command(...)` or `app.add_typer(...)`); one that is not installed is skipped.
COMMAND_MODULES: tuple[str, ...] = (
    "sinergi.cli_desk",
    "sinergi.cli_web",
    "sinergi.cli_report",
    "sinergi.cli_person",
    "sinergi.cli_breach",
    "sinergi.cli_keys",
    "sinergi.cli_backup",
    "sinergi.cli_dead_letters",
)


def _load_command_modules(names: Iterable[str]) -> Iterator[str]:
    """Import each module; yield the names of those found."""
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise  # the module is there but something it imports is not: say so
            continue
        yield name


LOADED_COMMAND_MODULES = tuple(_load_command_modules(COMMAND_MODULES))
