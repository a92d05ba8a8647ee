"""``sinergi``: the command line for the stack, the agencies, police, the processor and the ledger.

Each agency's commands are made from its forms (``producers/forms.py``): one command
per form, one option per column, the same checks as a CSV import.

It speaks Bahasa Indonesia unless told otherwise (``--lang en``, ``SINERGI_LANG=en``, or
an English locale): every text comes from the catalogue in :mod:`sinergi.i18n`. A
refusal (a permission, a service out of reach) is one sentence, never a traceback
(:class:`SinergiGroup`). Other modules add commands to :data:`app` when they are
installed: see :data:`COMMAND_MODULES` at the end.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import inspect
import json
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
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
from producers import forms
from producers.amend import Retraction, as_recorded
from producers.fields import WITA, FieldError, InvalidInputError
from producers.formkit import parse_uuid
from producers.outbox import Delivery, OutboxError, Pending, Sent
from producers.pseudonym import PseudonymKeyError
from schemas.access import Role, agency_admin
from schemas.crypto import CryptoError
from schemas.directory import DirectoryError
from schemas.model import (
    Agency,
    AlertAction,
    AlertRaised,
    AlertRule,
    Event,
    RetractionReason,
    Severity,
)
from schemas.registry import RegistryError
from schemas.serde import SerializationError
from sinergi import (
    auditing,
    bootstrap,
    buildinfo,
    config,
    desk_pool,
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
forms_app = typer.Typer(help=t("group.forms"))
app.add_typer(stack_app, name="stack")
app.add_typer(processor_app, name="processor")
app.add_typer(ledger_app, name="ledger")
app.add_typer(alerts_app, name="alerts")
app.add_typer(agency_app, name="agency")
app.add_typer(audit_app, name="audit")
app.add_typer(forms_app, name="forms")


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


# --- agencies: one command per form --------------------------------------------------------

DEFAULT_PLACE = {
    Agency.POLICE: "polda-ntt",
    Agency.BP3MI: "ntt",
    Agency.HOTLINE: "sisaga",
}


def place_help(agency: Agency) -> str:
    return t(f"place.{agency.value}")


def form_label(name: str) -> str:
    return t(f"form.{name}")


def publish_rows(
    agency: Agency,
    form_name: str,
    place: str,
    rows: list[dict[str, str | None]],
    *,
    dry_run: bool,
    from_file: bool,
    as_admin: bool = False,
    json_lines: bool = False,
) -> list[Event]:
    """Validate every row, then (unless a dry run) keep them all at the desk and deliver
    what waits there: a hub that cannot be reached leaves them waiting, not lost. A row
    with ``corrects`` is published as a correction of that record; ``as_admin``: signed
    by the agency's administrator (who may correct any of its units' records). Work of
    more than a second shows its progress (rows checked, then sending)."""
    s = settings()
    try:
        form = forms.FORMS[form_name]
        desk = bootstrap.desk(s, agency, place)
        signer = agency_admin(agency) if as_admin else desk.unit
        delivery = None
        with Steps(err) as steps:
            if from_file:
                counted = steps.step(t("progress.rows"), len(rows))
                events = desk_pool.record_file(
                    s, desk, form_name, rows, seal_as=None if dry_run else signer,
                    progress=lambda n: steps.advance(counted, n),
                )  # fmt: skip
            else:
                events = [forms.record(desk, form, row) for row in rows]
            if not dry_run:
                steps.step(t("progress.send"))
                with bootstrap.desk_publisher(s, signer) as pub:
                    delivery = pub.record(as_recorded(events, rows))
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if delivery is None:
        show_valid(form_name, events, json_lines=json_lines)
    else:
        show_recorded(agency, signer, form_name, events, delivery, json_lines=json_lines)
    return events


def show_valid(form_name: str, events: list[Event], *, json_lines: bool) -> None:
    if json_lines:
        print_json({"form": form_name, "valid": len(events), "sent": 0,
                    "event_ids": [e.event_id for e in events]})  # fmt: skip
        return
    out.print(Text.assemble((t("valid", count=len(events), label=form_label(form_name)), "green")))


def show_recorded(
    agency: Agency,
    unit: str,
    form_name: str,
    events: list[Event],
    delivery: Delivery,
    *,
    json_lines: bool = False,
) -> None:
    """What a recording command did: published, or kept at the desk, or both."""
    mine = delivery.ids or {event.event_id for event in events}
    published = sum(item.event_id in mine for item in delivery.sent)
    earlier = len(delivery.sent) - published
    again = len(mine) - delivery.recorded
    if json_lines:
        print_json(
            {
                "unit": unit,
                "form": form_name,
                "event_ids": [e.event_id for e in events] or sorted(mine),
                "published": published,
                "published_earlier": earlier,
                "already_recorded": again,
                "waiting": delivery.pending,
                "error": delivery.error,
                "sent": [sent_record(item) for item in delivery.sent],
            }
        )
        return
    if delivery.sent or not delivery.pending:
        label = form_label(form_name)
        out.print(Text(t("published", count=published, label=label, unit=unit), style="green"))
        show_sent(delivery.sent)
    if earlier:
        out.print(t("published_earlier", count=earlier))
    if again:
        out.print(t("recorded_before", count=again, label=form_label(form_name)))
    show_waiting(agency, unit, delivery)


def sent_record(item: Sent) -> dict[str, object]:
    return {
        "event_id": item.event_id,
        "topic": item.topic,
        "partition": item.partition,
        "offset": item.offset,
    }


def show_sent(sent: list[Sent]) -> None:
    for item in sent[:5]:
        out.print(
            Text(f"  {item.event_id} -> {item.topic}[{item.partition}]@{item.offset}"),
            soft_wrap=True,
        )
    if len(sent) > 5:
        out.print(t("and_more", count=len(sent) - 5))


def show_waiting(agency: Agency, unit: str, delivery: Delivery) -> None:
    """One sentence when records wait at the desk: how many, and how to send them."""
    if not delivery.pending:
        return
    place = shlex.quote(unit.removeprefix(f"{agency.value}-"))
    line = t("kept_at_desk", error=delivery.error, count=delivery.pending, unit=unit,
             agency=agency.value, place=place)  # fmt: skip
    head, _, rest = line.partition(":")
    out.print(Text.assemble((head + ":", "yellow"), rest))


def _with_parameters(
    command: Callable[..., None], params: list[inspect.Parameter], doc: str
) -> Callable[..., None]:
    """Give typer real annotation objects: this module's are strings (from __future__),
    which typer could not evaluate for a closure."""
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = doc
    return command


def _keyword(
    name: str, annotation: Any, default: Any = inspect.Parameter.empty
) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def _column_option(form: forms.Form[Event], column: str, *, required: bool) -> Any:
    help_text = i18n.column_help(form.name, column)
    if column == "occurred_at" and required:
        help_text += t("opt.default_now")
    elif required:
        help_text += t("opt.required")
    return typer.Option(help=help_text)


def _place_parameters(agency: Agency, *, extra: str = "") -> list[inspect.Parameter]:
    """``--at``: where the desk is, the same name in every command; ``--post``, its
    former name in ``post record``, still works (hidden)."""
    default = DEFAULT_PLACE.get(agency)
    required = "" if default else t("opt.required")
    params = [
        _keyword(
            "at",
            Annotated[str | None, typer.Option(help=place_help(agency) + extra + required)],
            default,
        )
    ]
    if agency is Agency.POST:
        params.append(
            _keyword("post", Annotated[str | None, typer.Option("--post", hidden=True)], None)
        )
    return params


def _place(agency: Agency, values: dict[str, Any]) -> str:
    """The place given by ``--at`` (or the hidden ``--post``); refused when missing."""
    at, post = values.pop("at", None), values.pop("post", None)
    if at and post and at != post:
        fail(StackError(t("place.twice")))
    place = at or post
    if not place:
        fail(StackError(t("place.missing", help=place_help(agency))))
    return str(place)


def _flag(name: str, help_key: str) -> inspect.Parameter:
    return _keyword(name, Annotated[bool, typer.Option(help=t(help_key))], False)


def _json_parameter() -> inspect.Parameter:
    return _keyword("json_lines", Annotated[bool, json_option()], False)


def form_command(form: forms.Form[Event]) -> Callable[..., None]:
    """A command whose options are the form's columns; ``--occurred-at`` is now unless
    given (the moment the officer records it, in WITA)."""
    params = _place_parameters(form.agency)
    for column in form.columns:
        option = _column_option(form, column, required=column in form.required)
        params.append(_keyword(column, Annotated[str, option], ""))
    params += [_flag("dry_run", "opt.dry_run"), _json_parameter()]

    def command(**values: Any) -> None:
        place = _place(form.agency, values)
        dry_run, json_lines = values.pop("dry_run"), values.pop("json_lines")
        row = {k: v for k, v in values.items() if v != ""}
        row.setdefault("occurred_at", now_wita())
        publish_rows(form.agency, form.name, place, [row], dry_run=dry_run, from_file=False,
                     json_lines=json_lines)  # fmt: skip

    label = form_label(form.name)
    return _with_parameters(
        command, params, t("cmd.form", label=label, event=form.event_type.event_type)
    )


def correct_command(agency: Agency) -> Callable[..., None]:
    """``sinergi <agency> correct EVENT_ID --column value ...``: the whole record again,
    with what was wrong put right; the hub replaces the record with it."""
    names = [f.name for f in forms.forms_of(agency) if f.name != "acknowledgement"]
    columns: dict[str, str] = {}
    for name in names:
        for column in forms.FORMS[name].columns:
            if column not in ("event_id", "corrects"):
                columns.setdefault(column, i18n.column_help(name, column))
    params = [
        inspect.Parameter(
            "event_id",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(help=t("arg.correct"))],
        ),
        *_amend_options(agency, names),
        *(
            _keyword(column, Annotated[str, typer.Option(help=help_text)], "")
            for column, help_text in columns.items()
        ),
        _json_parameter(),
    ]

    def command(event_id: str, **values: Any) -> None:
        place = _place(agency, values)
        as_admin, form_name = values.pop("as_admin"), values.pop("form")
        json_lines = values.pop("json_lines")
        form = _form_of(agency, names, form_name, event_id, place)
        row = {k: v for k, v in values.items() if v != "" and k in form.columns}
        row["corrects"] = event_id
        publish_rows(agency, form.name, place, [row], dry_run=False, from_file=False,
                     as_admin=as_admin, json_lines=json_lines)  # fmt: skip

    return _with_parameters(command, params, t("cmd.correct"))


def retract_command(agency: Agency) -> Callable[..., None]:
    """``sinergi <agency> retract EVENT_ID --reason R``: take a record out of the ledger."""
    names = [f.name for f in forms.forms_of(agency) if f.name != "acknowledgement"]
    reasons = ", ".join(r.value for r in RetractionReason)
    params = [
        inspect.Parameter(
            "event_id",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(help=t("arg.retract"))],
        ),
        _keyword("reason", Annotated[str, typer.Option(help=t("opt.reason", reasons=reasons))]),
        *_amend_options(agency, names),
        _json_parameter(),
    ]

    def command(event_id: str, **values: Any) -> None:
        place = _place(agency, values)
        reason, as_admin, form = values["reason"], values["as_admin"], values["form"]
        try:
            why = RetractionReason(reason.strip().upper())
        except ValueError:
            fail(StackError(t("unknown_reason", reasons=reasons)))
        found = _form_of(agency, names, form, event_id, place)
        s = settings()
        try:
            desk = bootstrap.desk(s, agency, place)
            record_id = parse_uuid(event_id)
            retraction = Retraction(record_id, found.event_type.event_type, why)
            signer = agency_admin(agency) if as_admin else desk.unit
            with Steps(err) as steps, bootstrap.desk_publisher(s, signer) as pub:
                steps.step(t("progress.send"))
                delivery = pub.record([retraction])
        except EXPECTED_ERRORS as exc:
            fail(exc)
        except FieldError:
            fail(StackError(t("not_uuid")))
        show_recorded(agency, signer, "retraction", [], delivery,
                      json_lines=values["json_lines"])  # fmt: skip

    return _with_parameters(command, params, t("cmd.retract"))


def _amend_options(agency: Agency, names: list[str]) -> list[inspect.Parameter]:
    return [
        *_place_parameters(agency, extra=t("place.publisher")),
        _keyword(
            "form",
            Annotated[str, typer.Option(help=t("opt.form", names=", ".join(names)))],
            "",
        ),
        _keyword(
            "as_admin",
            Annotated[bool, typer.Option(help=t("opt.as_admin", admin=agency_admin(agency)))],
            False,
        ),
    ]


def _form_of(
    agency: Agency, names: list[str], given: str, event_id: str, place: str
) -> forms.Form[Event]:
    """The form of the record to amend: given, or as this desk recorded it, or the
    agency's only one."""
    if given:
        if given not in names:
            fail(StackError(t("no_form", agency=agency.value, form=given, names=", ".join(names))))
        return forms.FORMS[given]
    if len(names) == 1:
        return forms.FORMS[names[0]]
    s = settings()
    try:
        unit = bootstrap.desk(s, agency, place).unit
        with bootstrap.desk_outbox(s, unit) as outbox:
            found = outbox.record_of(event_id.strip().lower())
    except EXPECTED_ERRORS as exc:
        fail(exc)
    by_type = {forms.FORMS[n].event_type.event_type: n for n in names}
    if found is None or found[0] not in by_type:
        fail(StackError(t("not_recorded_here", names=", ".join(names))))
    return forms.FORMS[by_type[found[0]]]


def import_command(agency: Agency) -> Callable[..., None]:
    names = [f.name for f in forms.forms_of(agency)]
    params = [
        inspect.Parameter(
            "form",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[
                str, typer.Argument(help=t("arg.import_form", names=", ".join(names)))
            ],
        ),
        inspect.Parameter(
            "file",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[
                Path,
                typer.Argument(
                    exists=True, dir_okay=False, readable=True, help=t("arg.import_file")
                ),
            ],
        ),
        *_place_parameters(agency),
        _flag("dry_run", "opt.dry_run"),
        _json_parameter(),
    ]

    def command(form: str, file: Path, **values: Any) -> None:
        place = _place(agency, values)
        if form not in names:
            fail(StackError(t("no_form", agency=agency.value, form=form, names=", ".join(names))))
        try:
            rows = forms.read_csv(file)
        except InvalidInputError as exc:
            fail(exc)
        publish_rows(agency, form, place, rows, dry_run=values["dry_run"], from_file=True,
                     json_lines=values["json_lines"])  # fmt: skip

    return _with_parameters(command, params, t("cmd.import"))


def _desk_units(agency: Agency, at: str | None) -> list[str]:
    """The unit at ``at``, or every unit of ``agency`` with an outbox on this machine."""
    s = settings()
    if at:
        return [bootstrap.desk(s, agency, at).unit]
    return bootstrap.desk_units(s, agency)


def _at_parameter(agency: Agency) -> inspect.Parameter:
    help_text = place_help(agency) + t("place.every_desk")
    return _keyword("at", Annotated[str | None, typer.Option(help=help_text)], None)


def sync_command(agency: Agency) -> Callable[..., None]:
    def command(*, at: str | None, json_lines: bool) -> None:
        waiting = False
        try:
            units = _desk_units(agency, at)
            for unit in units:
                with Steps(err) as steps, bootstrap.desk_publisher(settings(), unit) as pub:
                    steps.step(t("progress.sync"))
                    delivery = pub.sync()
                show_synced(agency, unit, delivery, json_lines=json_lines)
                waiting = waiting or delivery.pending > 0
        except EXPECTED_ERRORS as exc:
            fail(exc)
        if not units and not json_lines:
            out.print(t("no_desk", agency=agency.value))
        if waiting:
            raise typer.Exit(code=1)

    return _with_parameters(command, [_at_parameter(agency), _json_parameter()], t("cmd.sync"))


def show_synced(agency: Agency, unit: str, delivery: Delivery, *, json_lines: bool) -> None:
    if json_lines:
        print_json({"unit": unit, "delivered": [sent_record(s) for s in delivery.sent],
                    "waiting": delivery.pending, "error": delivery.error})  # fmt: skip
        return
    if delivery.sent:
        out.print(Text(t("delivered", count=len(delivery.sent), unit=unit), style="green"))
        show_sent(delivery.sent)
    elif not delivery.pending:
        out.print(t("nothing_waits", unit=unit))
    show_waiting(agency, unit, delivery)


def pending_command(agency: Agency) -> Callable[..., None]:
    def command(*, at: str | None, json_lines: bool) -> None:
        try:
            found: dict[str, list[Pending]] = {}
            for unit in _desk_units(agency, at):
                with bootstrap.desk_outbox(settings(), unit) as outbox:
                    found[unit] = outbox.pending()
        except EXPECTED_ERRORS as exc:
            fail(exc)
        if json_lines:
            for unit, pending in found.items():
                for item in pending:
                    print_json(pending_record(unit, item))
            return
        if not found:
            out.print(t("no_desk", agency=agency.value))
        for unit, pending in found.items():
            show_pending(unit, pending)

    return _with_parameters(command, [_at_parameter(agency), _json_parameter()], t("cmd.pending"))


def pending_record(unit: str, item: Pending) -> dict[str, object]:
    """A waiting record as JSON: ids, type, times and delivery attempts (no personal data:
    the outbox holds pseudonymised events only, and none of their fields are shown)."""
    m = item.message
    signed = None if m.signed_at_ms is None else datetime.fromtimestamp(m.signed_at_ms / 1000, UTC)
    return {
        "unit": unit,
        "seq": item.seq,
        "event_id": m.event_id,
        "event_type": m.event_type,
        "recorded_at": m.recorded_at.isoformat(),
        "signed_at": None if signed is None else signed.isoformat(),
        "attempts": item.attempts,
        "last_error": item.last_error,
    }


PENDING_SHOWN = 100


def show_pending(unit: str, pending: list[Pending]) -> None:
    if not pending:
        out.print(t("nothing_waits", unit=unit))
        return
    out.print(t("waiting", unit=unit, count=len(pending)))
    table = Table()
    table.add_column(t("col.event_type"), no_wrap=True)
    table.add_column(t("col.recorded"), no_wrap=True)
    table.add_column(t("col.attempts"), justify="right")
    table.add_column(t("col.last_error"), overflow="fold")
    table.add_column(t("col.event_id"), no_wrap=True, min_width=36)  # whole, to be copied
    for item in pending[:PENDING_SHOWN]:
        m = item.message
        table.add_row(
            m.event_type,
            local_time(m.recorded_at),
            str(item.attempts),
            item.last_error or "-",
            m.event_id,
        )
    out.print(table)
    if len(pending) > PENDING_SHOWN:
        out.print(t("waiting_more", count=len(pending) - PENDING_SHOWN))


for _agency in (Agency.POST, Agency.POLICE, Agency.BP3MI, Agency.DISTRICT, Agency.HOTLINE):
    _group = typer.Typer(help=t(f"group.{_agency.value}"), no_args_is_help=True)
    for _form in forms.forms_of(_agency):
        if _form.name == "acknowledgement":
            continue  # `sinergi alerts ack` is the police's way to acknowledge
        _group.command(_form.name)(form_command(_form))
    if _agency is Agency.POST:
        # `sinergi post record --at eltari ...`, the posts' everyday command.
        _record = form_command(forms.FORMS["interception"])
        _record.__doc__ = t("cmd.record")
        _group.command("record")(_record)
    _group.command("import")(import_command(_agency))
    _group.command("correct")(correct_command(_agency))
    _group.command("retract")(retract_command(_agency))
    _group.command("sync")(sync_command(_agency))
    _group.command("pending")(pending_command(_agency))
    app.add_typer(_group, name=_agency.value)


# --- forms -----------------------------------------------------------------------------------


@forms_app.callback(invoke_without_command=True, help=t("group.forms"))
def forms_list(ctx: typer.Context, json_lines: Annotated[bool, json_option()] = False) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if json_lines:
        for form in forms.FORMS.values():
            print_json({"agency": form.agency.value, "form": form.name,
                        "event": form.event_type.event_type, "columns": list(form.columns),
                        "required": sorted(form.required)})  # fmt: skip
        return
    table = Table(t("col.agency"), t("col.form"), t("col.event"), t("col.columns"))
    for form in forms.FORMS.values():
        columns = ", ".join(c + ("*" if c in form.required else "") for c in form.columns)
        table.add_row(form.agency.value, form.name, form.event_type.event_type, columns)
    out.print(table)


FORM_NAMES = ", ".join(forms.FORMS)


@forms_app.command("template", help=t("cmd.template"))
def forms_template(
    form: Annotated[str, typer.Argument(help=t("arg.template_form", names=FORM_NAMES))],
    file: Annotated[str, typer.Argument(help=t("arg.template_file"), show_default=False)] = "",
    force: Annotated[bool, typer.Option(help=t("opt.force"))] = False,
) -> None:
    """An empty CSV file whose header is the form's columns, in the form's order: what
    ``<agency> import`` reads."""
    found = forms.FORMS.get(form.strip().lower())
    if found is None:
        fail(StackError(t("unknown_form", form=form, names=FORM_NAMES)))
    if file == "-":
        csv.writer(sys.stdout, lineterminator="\n").writerow(found.columns)
        return
    path = Path(file or f"{found.name}.csv")
    if path.exists() and not force:
        fail(StackError(t("file_exists", path=path)))
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(found.columns)
    out.print(Text(t("template_written", path=path, count=len(found.columns),
                     required=len(found.required), agency=found.agency.value,
                     form=found.name)), soft_wrap=True)  # fmt: skip


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
    except READ_ERRORS as exc:
        refuse(exc)
    row: dict[str, str | None] = {
        "alert_id": full_id,
        "officer": officer,
        "action": action,
        "occurred_at": occurred_at or now_wita(),
    }
    publish_rows(Agency.POLICE, "acknowledgement", unit, [row], dry_run=False, from_file=False,
                 json_lines=json_lines)  # fmt: skip


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
            limit=limit,
            rule=views.parse_rule(rule) if rule else None,
            severity=views.parse_severity(severity_name) if severity_name else None,
        )
    except READ_ERRORS as exc:
        refuse(exc)
    if json_lines:
        for row in rows:
            print_json(views.alert_record(row))
        return
    if not rows:
        out.print(t("no_open_alerts") if open_only else t("no_alerts"))
        return
    out.print(views.render_alerts(rows, width=out.width))


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
    "sinergi.cli_web",
    "sinergi.cli_report",
    "sinergi.cli_person",
    "sinergi.cli_breach",
    "sinergi.cli_keys",
    "sinergi.cli_backup",
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
