"""``sinergi``: the command line for the stack, the agencies, police, the processor and the ledger.

Each agency's commands are made from its forms (``producers/forms.py``): one command
per form, one option per column, the same checks as a CSV import.
"""

from __future__ import annotations

import inspect
import json
import logging
import shlex
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from deploy.procs import StackError
from producers import forms
from producers.amend import Retraction, as_recorded
from producers.fields import FieldError, InvalidInputError
from producers.formkit import parse_uuid
from producers.outbox import Delivery, OutboxError, Pending, Sent
from producers.pseudonym import PseudonymKeyError
from schemas.access import Role, agency_admin
from schemas.crypto import CryptoError
from schemas.directory import DirectoryError
from schemas.model import Agency, AlertRaised, Event, RetractionReason
from schemas.registry import RegistryError
from schemas.serde import SerializationError
from sinergi import auditing, bootstrap, members, police, runtime, views
from sinergi.config import ConfigError, Settings, from_env
from sinergi.display import local_time, severity
from sinergi.members import MemberError
from sinergi.rebuild import rebuild

app = typer.Typer(
    help="Sinergi: the NTT inter-agency hub against non-procedural migration and trafficking.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(
    help="The local Kafka, PostgreSQL and schema registry.", no_args_is_help=True
)
processor_app = typer.Typer(help="The ledger processor (faust worker).", no_args_is_help=True)
ledger_app = typer.Typer(help="The joint case ledger in PostgreSQL.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts for police: follow, list, acknowledge.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(processor_app, name="processor")
app.add_typer(ledger_app, name="ledger")
app.add_typer(alerts_app, name="alerts")
agency_app = typer.Typer(
    help="Members of the hub: credentials, signing keys, least-privilege access.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="The hash-chained audit trail of who published what.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(agency_app, name="agency")
app.add_typer(audit_app, name="audit")

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


def settings() -> Settings:
    return from_env()


def fail(exc: BaseException) -> None:
    if isinstance(exc, InvalidInputError):
        err.print(f"[red]refused, nothing was sent:[/red] {len(exc.errors)} problem(s)")
        for problem in exc.errors[:50]:
            err.print(f"  - {problem}")
        if len(exc.errors) > 50:
            err.print(f"  ... and {len(exc.errors) - 50} more")
    else:
        err.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=2)


# --- stack -------------------------------------------------------------------------------


@stack_app.command("up")
def stack_up() -> None:
    """Start PostgreSQL, Kafka and the schema registry; create topics, schemas and tables."""
    try:
        runtime.up(settings(), report=out.print)
    except EXPECTED_ERRORS as exc:
        fail(exc)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the processor and every service (data stays in SINERGI_HOME)."""
    try:
        runtime.down(settings(), report=out.print)
    except EXPECTED_ERRORS as exc:
        fail(exc)


@stack_app.command("status")
def stack_status() -> None:
    """Show whether each service runs."""
    table = Table("service", "status")
    for name, state in runtime.status(settings()).items():
        table.add_row(name, state)
    out.print(table)


# --- agencies: one command per form --------------------------------------------------------

DEFAULT_PLACE = {
    Agency.POLICE: "polda-ntt",
    Agency.BP3MI: "ntt",
    Agency.HOTLINE: "sisaga",
}
PLACE_HELP = {
    Agency.POST: "The post: eltari, tenau, ...",
    Agency.POLICE: "The police unit: polda-ntt or polres-<regency code>",
    Agency.BP3MI: "The BP3MI office: ntt",
    Agency.DISTRICT: "The district: a regency's Kemendagri code or name",
    Agency.HOTLINE: "The hotline: sisaga",
}


def publish_rows(
    agency: Agency,
    form_name: str,
    place: str,
    rows: list[dict[str, str | None]],
    *,
    dry_run: bool,
    from_file: bool,
    as_admin: bool = False,
) -> list[Event]:
    """Validate every row, then (unless a dry run) keep them all at the desk and deliver
    what waits there: a hub that cannot be reached leaves them waiting, not lost. A row
    with ``corrects`` is published as a correction of that record; ``as_admin``: signed
    by the agency's administrator (who may correct any of its units' records)."""
    s = settings()
    try:
        form = forms.FORMS[form_name]
        desk = bootstrap.desk(s, agency, place)
        if from_file:
            events = forms.record_rows(desk, form, rows)
        else:
            events = [forms.record(desk, form, row) for row in rows]
        if dry_run:
            out.print(f"[green]valid:[/green] {len(events)} {form_name} row(s); nothing sent")
            return events
        signer = agency_admin(agency) if as_admin else desk.unit
        with bootstrap.desk_publisher(s, signer) as pub:
            delivery = pub.record(as_recorded(events, rows))
    except EXPECTED_ERRORS as exc:
        fail(exc)
        return []
    show_recorded(agency, signer, form_name, events, delivery)
    return events


def show_recorded(
    agency: Agency, unit: str, form_name: str, events: list[Event], delivery: Delivery
) -> None:
    """What a recording command did: published, or kept at the desk, or both."""
    mine = delivery.ids or {event.event_id for event in events}
    published = sum(item.event_id in mine for item in delivery.sent)
    if delivery.sent or not delivery.pending:
        out.print(f"[green]published[/green] {published} {form_name}(s) from {unit}")
        show_sent(delivery.sent)
    earlier = len(delivery.sent) - published
    if earlier:
        out.print(f"  with {earlier} earlier record(s) that had waited at the desk")
    again = len(mine) - delivery.recorded
    if again:
        out.print(f"  {again} {form_name}(s) were recorded at this desk before: kept once")
    show_waiting(agency, unit, delivery)


def show_sent(sent: list[Sent]) -> None:
    for item in sent[:5]:
        out.print(f"  {item.event_id} -> {item.topic}[{item.partition}]@{item.offset}")
    if len(sent) > 5:
        out.print(f"  ... and {len(sent) - 5} more")


def show_waiting(agency: Agency, unit: str, delivery: Delivery) -> None:
    """One sentence when records wait at the desk: how many, and how to send them."""
    if not delivery.pending:
        return
    place = shlex.quote(unit.removeprefix(f"{agency.value}-"))
    out.print(
        f"[yellow]kept at the desk:[/yellow] the hub cannot be reached now ({delivery.error}),"
        f" so {delivery.pending} record(s) of {unit} wait there;"
        f" `sinergi {agency.value} sync --at {place}` delivers them."
    )


def _with_parameters(
    command: Callable[..., None], params: list[inspect.Parameter], doc: str
) -> Callable[..., None]:
    """Give typer real annotation objects: this module's are strings (from __future__),
    which typer could not evaluate for a closure."""
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = doc
    return command


def _option(help_text: str, *, required: bool = False) -> Any:
    return typer.Option(help=help_text + (" (required)" if required else ""))


def form_command(form: forms.Form[Event], place_param: str = "at") -> Callable[..., None]:
    """A command whose options are the form's columns."""
    place_default = DEFAULT_PLACE.get(form.agency, ...)
    params = [
        inspect.Parameter(
            place_param,
            inspect.Parameter.KEYWORD_ONLY,
            default=place_default,
            annotation=Annotated[str, typer.Option(help=PLACE_HELP[form.agency])],
        )
    ]
    for column, help_text in form.columns.items():
        params.append(
            inspect.Parameter(
                column,
                inspect.Parameter.KEYWORD_ONLY,
                default="",
                annotation=Annotated[str, _option(help_text, required=column in form.required)],
            )
        )
    params.append(
        inspect.Parameter(
            "dry_run",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, typer.Option(help="Validate only; send nothing")],
        )
    )

    def command(**values: Any) -> None:
        place = values.pop(place_param)
        dry_run = values.pop("dry_run")
        row = {k: v for k, v in values.items() if v != ""}
        publish_rows(form.agency, form.name, place, [row], dry_run=dry_run, from_file=False)

    return _with_parameters(
        command, params, f"Record one {form.name} ({form.event_type.event_type})."
    )


def correct_command(agency: Agency) -> Callable[..., None]:
    """``sinergi <agency> correct EVENT_ID --column value ...``: the whole record again,
    with what was wrong put right; the hub replaces the record with it."""
    names = [f.name for f in forms.forms_of(agency) if f.name != "acknowledgement"]
    columns: dict[str, str] = {}
    for name in names:
        for column, help_text in forms.FORMS[name].columns.items():
            if column not in ("event_id", "corrects"):
                columns.setdefault(column, help_text)
    params = [
        inspect.Parameter(
            "event_id",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(help="The id of the record to correct")],
        ),
        *_amend_options(agency, names),
        *(
            inspect.Parameter(
                column,
                inspect.Parameter.KEYWORD_ONLY,
                default="",
                annotation=Annotated[str, _option(help_text)],
            )
            for column, help_text in columns.items()
        ),
    ]

    def command(event_id: str, **values: Any) -> None:
        place, as_admin, form_name = values.pop("at"), values.pop("as_admin"), values.pop("form")
        form = _form_of(agency, names, form_name, event_id, place)
        if form is None:
            return
        row = {k: v for k, v in values.items() if v != "" and k in form.columns}
        row["corrects"] = event_id
        publish_rows(agency, form.name, place, [row], dry_run=False, from_file=False,
                     as_admin=as_admin)  # fmt: skip

    return _with_parameters(
        command,
        params,
        "Correct a record this desk published: give the whole record again, as it should"
        " have been (the hub replaces the record with it; nothing is changed in place).",
    )


def retract_command(agency: Agency) -> Callable[..., None]:
    """``sinergi <agency> retract EVENT_ID --reason R``: take a record out of the ledger."""
    names = [f.name for f in forms.forms_of(agency) if f.name != "acknowledgement"]
    reasons = ", ".join(r.value for r in RetractionReason)
    params = [
        inspect.Parameter(
            "event_id",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(help="The id of the record to retract")],
        ),
        inspect.Parameter(
            "reason",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[str, typer.Option(help=f"Why (a code): {reasons}")],
        ),
        *_amend_options(agency, names),
    ]

    def command(event_id: str, *, reason: str, at: str, as_admin: bool, form: str) -> None:
        try:
            why = RetractionReason(reason.strip().upper())
        except ValueError:
            fail(StackError(f"unknown reason; expected one of {reasons}"))
            return
        found = _form_of(agency, names, form, event_id, at)
        if found is None:
            return
        s = settings()
        try:
            desk = bootstrap.desk(s, agency, at)
            record_id = parse_uuid(event_id)
            retraction = Retraction(record_id, found.event_type.event_type, why)
            signer = agency_admin(agency) if as_admin else desk.unit
            with bootstrap.desk_publisher(s, signer) as pub:
                delivery = pub.record([retraction])
        except EXPECTED_ERRORS as exc:
            fail(exc)
            return
        except FieldError:
            fail(StackError("the event id must be a UUID"))
            return
        show_recorded(agency, signer, "retraction", [], delivery)

    return _with_parameters(
        command, params, "Retract a record this desk published: the ledger treats it as absent."
    )


def _amend_options(agency: Agency, names: list[str]) -> list[inspect.Parameter]:
    return [
        inspect.Parameter(
            "at",
            inspect.Parameter.KEYWORD_ONLY,
            default=DEFAULT_PLACE.get(agency, ...),
            annotation=Annotated[
                str, typer.Option(help=PLACE_HELP[agency] + " (the unit that published it)")
            ],
        ),
        inspect.Parameter(
            "form",
            inspect.Parameter.KEYWORD_ONLY,
            default="",
            annotation=Annotated[
                str,
                typer.Option(
                    help=f"The record's form ({', '.join(names)}); default: as this desk"
                    " recorded it"
                ),
            ],
        ),
        inspect.Parameter(
            "as_admin",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[
                bool,
                typer.Option(
                    help=f"Sign as the agency's administrator ({agency_admin(agency)}),"
                    " who may amend any of its units' records"
                ),
            ],
        ),
    ]


def _form_of(
    agency: Agency, names: list[str], given: str, event_id: str, place: str
) -> forms.Form[Event] | None:
    """The form of the record to amend: given, or as this desk recorded it, or the
    agency's only one."""
    if given:
        if given not in names:
            fail(StackError(f"the {agency.value} has no form {given!r}; forms: {', '.join(names)}"))
            return None
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
        return None
    by_type = {forms.FORMS[n].event_type.event_type: n for n in names}
    if found is None or found[0] not in by_type:
        fail(StackError(f"this desk did not record that event: say its form with --form"
                        f" ({', '.join(names)})"))  # fmt: skip
        return None
    return forms.FORMS[by_type[found[0]]]


def import_command(agency: Agency) -> Callable[..., None]:
    names = [f.name for f in forms.forms_of(agency)]
    params = [
        inspect.Parameter(
            "form",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(help=f"One of: {', '.join(names)}")],
        ),
        inspect.Parameter(
            "file",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
        ),
        inspect.Parameter(
            "at",
            inspect.Parameter.KEYWORD_ONLY,
            default=DEFAULT_PLACE.get(agency, ...),
            annotation=Annotated[str, typer.Option(help=PLACE_HELP[agency])],
        ),
        inspect.Parameter(
            "dry_run",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, typer.Option(help="Validate only; send nothing")],
        ),
    ]

    def command(form: str, file: Path, *, at: str, dry_run: bool) -> None:
        if form not in names:
            fail(StackError(f"the {agency.value} has no form {form!r}; forms: {', '.join(names)}"))
        try:
            rows = forms.read_csv(file)
        except InvalidInputError as exc:
            fail(exc)
            return
        publish_rows(agency, form, at, rows, dry_run=dry_run, from_file=True)

    return _with_parameters(
        command, params, "Import a CSV file: every row is checked before anything is sent."
    )


def _desk_units(agency: Agency, at: str | None) -> list[str]:
    """The unit at ``at``, or every unit of ``agency`` with an outbox on this machine."""
    s = settings()
    if at:
        return [bootstrap.desk(s, agency, at).unit]
    return bootstrap.desk_units(s, agency)


def _at_parameter(agency: Agency) -> inspect.Parameter:
    help_text = PLACE_HELP[agency] + " (default: every desk of this machine)"
    return inspect.Parameter(
        "at",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[str | None, typer.Option(help=help_text)],
    )


def sync_command(agency: Agency) -> Callable[..., None]:
    def command(*, at: str | None) -> None:
        waiting = False
        try:
            units = _desk_units(agency, at)
            for unit in units:
                with bootstrap.desk_publisher(settings(), unit) as pub:
                    delivery = pub.sync()
                show_synced(agency, unit, delivery)
                waiting = waiting or delivery.pending > 0
        except EXPECTED_ERRORS as exc:
            fail(exc)
            return
        if not units:
            out.print(f"no {agency.value} desk on this machine has kept anything")
        if waiting:
            raise typer.Exit(code=1)

    return _with_parameters(
        command,
        [_at_parameter(agency)],
        "Deliver what waits at the desk, in order (exit code 1 while some still waits).",
    )


def show_synced(agency: Agency, unit: str, delivery: Delivery) -> None:
    if delivery.sent:
        out.print(f"[green]delivered[/green] {len(delivery.sent)} record(s) from {unit}")
        show_sent(delivery.sent)
    elif not delivery.pending:
        out.print(f"{unit}: nothing waits at the desk")
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
            return
        if json_lines:
            for unit, pending in found.items():
                for item in pending:
                    print(json.dumps(pending_record(unit, item)), flush=True)
            return
        if not found:
            out.print(f"no {agency.value} desk on this machine has kept anything")
        for unit, pending in found.items():
            show_pending(unit, pending)

    json_option = inspect.Parameter(
        "json_lines",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[
            bool, typer.Option("--json", help="One JSON object per waiting record")
        ],
    )
    return _with_parameters(
        command,
        [_at_parameter(agency), json_option],
        "What waits at the desk for the hub: event ids, types, times, attempts, last error.",
    )


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
        out.print(f"{unit}: nothing waits at the desk")
        return
    out.print(f"{unit}: {len(pending)} record(s) wait for the hub")
    table = Table()
    table.add_column("event type", no_wrap=True)
    table.add_column("recorded (WITA)", no_wrap=True)
    table.add_column("attempts", justify="right")
    table.add_column("last error", overflow="fold")
    table.add_column("event id", no_wrap=True, min_width=36)  # whole, to be copied
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
        out.print(f"  ... and {len(pending) - PENDING_SHOWN} more (--json lists them all)")


AGENCY_HELP = {
    Agency.POST: "Posts (posko): record interceptions.",
    Agency.POLICE: "Police: investigations, suspects, files sent to the prosecutor.",
    Agency.BP3MI: "BP3MI: procedural placements and repatriations.",
    Agency.DISTRICT: "Districts: LTSA registrations and prevention activities.",
    Agency.HOTLINE: "SI-SAGA hotline: public tips (the reporter stays anonymous).",
}

for _agency in (Agency.POST, Agency.POLICE, Agency.BP3MI, Agency.DISTRICT, Agency.HOTLINE):
    _group = typer.Typer(help=AGENCY_HELP[_agency], no_args_is_help=True)
    for _form in forms.forms_of(_agency):
        if _form.name == "acknowledgement":
            continue  # `sinergi alerts ack` is the police's way to acknowledge
        _group.command(_form.name)(form_command(_form))
    if _agency is Agency.POST:
        # `sinergi post record --post eltari ...`, the posts' everyday command.
        _group.command("record")(form_command(forms.FORMS["interception"], place_param="post"))
    _group.command("import")(import_command(_agency))
    _group.command("correct")(correct_command(_agency))
    _group.command("retract")(retract_command(_agency))
    _group.command("sync")(sync_command(_agency))
    _group.command("pending")(pending_command(_agency))
    app.add_typer(_group, name=_agency.value)


@app.command("forms")
def list_forms() -> None:
    """What every agency records: forms, their columns (* required) and events."""
    table = Table("agency", "form", "event", "columns")
    for form in forms.FORMS.values():
        columns = ", ".join(c + ("*" if c in form.required else "") for c in form.columns)
        table.add_row(form.agency.value, form.name, form.event_type.event_type, columns)
    out.print(table)


# --- police: alerts ------------------------------------------------------------------------


def refuse(exc: BaseException) -> NoReturn:
    """A read of the ledger that cannot be answered: its sentence, never a traceback. The
    message may hold what was typed, so it is printed without markup."""
    err.print(Text.assemble(("error: ", "red"), str(exc)), soft_wrap=True)
    raise typer.Exit(code=2)


# What reading the ledger may meet: a sentence each (a prefix, a filter, no connection).
READ_ERRORS = (views.LedgerReadError, *EXPECTED_ERRORS)


@alerts_app.command("follow")
def alerts_follow(
    unit: Annotated[str, typer.Option(help="Police unit following (its own consumer group)")] = (
        "police-polda-ntt"
    ),
    from_beginning: Annotated[bool, typer.Option(help="Show every alert ever raised")] = False,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per alert")] = False,
    max_alerts: Annotated[int, typer.Option("--max", help="Stop after this many (0: never)")] = 0,
    idle_timeout: Annotated[float, typer.Option(help="Stop after this many idle seconds")] = 0,
    reveal: Annotated[
        bool, typer.Option(help="Open the recruiter contacts sealed for police")
    ] = False,
) -> None:
    """Follow alerts as the hub raises (and withdraws) them (Ctrl-C to stop)."""
    s = settings()
    opener = police.contact_opener(s) if reveal else None
    try:
        for item in police.follow(
            s,
            unit=unit,
            from_beginning=from_beginning,
            max_alerts=max_alerts or None,
            idle_timeout_s=idle_timeout or None,
            on_skip=lambda why: err.print(f"[yellow]skipped[/yellow] {escape(why)}"),
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
        Text(f"    alert {alert.alert_id}", style="dim"),
        Text(f"    cases {', '.join(alert.case_ids)}", style="dim"),
    ]  # fmt: skip
    if contacts:
        lines.append(Text(f"    recruiter contact (police only): {', '.join(contacts)}"))
    return lines


def withdrawn_lines(item: police.Withdrawn) -> list[Text]:
    """A withdrawn alert says so, and why; it is never shown as if it held."""
    why = f"{item.reason}: {item.summary}" if item.summary else item.reason
    head: list[str | tuple[str, str]] = [local_time(item.withdrawn_at), " ", ("WITHDRAWN", "bold")]
    if item.rule:
        head += [" ", (item.rule, "bold")]
    head.append(" ")
    return [
        Text.assemble(*head, why),
        Text(f"    alert {item.alert_id}", style="dim"),
    ]


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[
        str,
        typer.Argument(
            help="The alert to acknowledge: its id, or 8 or more of its first hex digits"
        ),
    ],
    officer: Annotated[str, typer.Option(help="Your staff code")],
    action: Annotated[str, typer.Option(help="NOTED, INVESTIGATING, REFERRED, NO_ACTION")] = (
        "NOTED"
    ),
    unit: Annotated[str, typer.Option(help="Your police unit")] = "polda-ntt",
    occurred_at: Annotated[str, typer.Option(help="When (default: now)")] = "",
) -> None:
    """Acknowledge an alert (publishes AlertAcknowledged with the alert's whole id)."""
    try:
        full_id = views.find_alert(settings(), alert_id)
    except READ_ERRORS as exc:
        refuse(exc)
    when = occurred_at or datetime.now(UTC).isoformat(timespec="seconds")
    row: dict[str, str | None] = {
        "alert_id": full_id,
        "officer": officer,
        "action": action,
        "occurred_at": when,
    }
    publish_rows(Agency.POLICE, "acknowledgement", unit, [row], dry_run=False, from_file=False)


@alerts_app.command("list")
def alerts_list(
    open_only: Annotated[
        bool, typer.Option("--open", help="Only open alerts: holding and not acknowledged")
    ] = False,
    rule: Annotated[str, typer.Option(help="Only this rule (e.g. MINOR_INTERCEPTED)")] = "",
    severity_name: Annotated[
        str, typer.Option("--severity", help="Only this severity (LOW, MEDIUM, HIGH, CRITICAL)")
    ] = "",
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first")] = 20,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per alert")] = False,
) -> None:
    """Alerts with their status (open, acknowledged, withdrawn) and acknowledgement."""
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
            print(json.dumps(views.alert_record(row), ensure_ascii=False), flush=True)
        return
    if not rows:
        out.print("no open alerts" if open_only else "no alerts")
        return
    out.print(views.render_alerts(rows, width=out.width))


# --- members and audit -------------------------------------------------------------------


@agency_app.command("add")
def agency_add(
    name: Annotated[str, typer.Argument(help="Member id, e.g. post-atapupu or police-polres-5304")],
    role: Annotated[Role, typer.Option(help="What the member may do")],
) -> None:
    """Create a member: SCRAM credential, Ed25519 signing key, ACLs, directory entry."""
    s = settings()
    try:
        member = members.add(s, name, role)
    except EXPECTED_ERRORS as exc:
        fail(exc)
        return
    out.print(f"[green]member {member.member_id}[/green] ({member.role.value}) ready")
    out.print(f"  Kafka credential: {s.kafka_credentials_dir / (name + '.password')} (mode 0600)")
    out.print(f"  signing key:      {s.keys_dir / (name + '.signing.key')} (mode 0600)")
    out.print(f"  public key:       {member.signing_key} (in {s.directory_file})")


@agency_app.command("list")
def agency_list() -> None:
    """Members, their roles, ACL counts, and whether they were revoked."""
    try:
        rows = members.list_members(settings())
    except EXPECTED_ERRORS as exc:
        fail(exc)
        return
    table = Table("member", "role", "ACLs", "since", "revoked")
    for row in rows:
        m = row.member
        table.add_row(m.member_id, m.role.value, str(row.acls), m.created_at, m.revoked_at or "-")
    out.print(table)


@agency_app.command("revoke")
def agency_revoke(name: Annotated[str, typer.Argument(help="Member id")]) -> None:
    """Remove a member's credential and ACLs; its past signatures stay verifiable."""
    try:
        member = members.revoke(settings(), name)
    except EXPECTED_ERRORS as exc:
        fail(exc)
        return
    out.print(f"[yellow]revoked[/yellow] {member.member_id} at {member.revoked_at}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit trail: every partition's hash chain, that every offset the processor
    committed has an entry, and that the dead-letter topic agrees with it."""
    try:
        report = auditing.verify(settings())
    except EXPECTED_ERRORS as exc:
        fail(exc)
        return
    chains = report.chains
    if chains.intact:
        out.print(f"[green]intact:[/green] {chains.entries} entries in {chains.chains} chain(s)")
    else:
        err.print(
            f"[red]broken:[/red] chain {chains.broken_chain}, entry {chains.broken_at}:"
            f" {chains.reason}"
        )
    partitions = len(report.coverage)
    if report.complete:
        out.print(
            f"[green]complete:[/green] every offset below the committed offset of"
            f" {partitions} partition(s) has an entry"
        )
    for gap in report.coverage:
        if not gap.complete:
            err.print(f"[red]incomplete:[/red] {gap.describe()}")
    if report.dead_letters_agree:
        out.print(
            f"[green]dead letters agree:[/green] {report.dead_lettered} in the audit,"
            f" {report.on_topic} on the dead-letter topic (or about to be relayed)"
        )
    for topic, partition, offset in report.not_published[:20]:
        err.print(f"[red]no dead letter[/red] for {topic}[{partition}]@{offset}")
    for topic, partition, offset in report.not_audited[:20]:
        err.print(f"[red]not in the audit:[/red] dead letter of {topic}[{partition}]@{offset}")
    if not report.ok:
        fail(StackError("the audit trail does not prove that nothing was lost or changed"))


# --- processor ---------------------------------------------------------------------------


@app.command("process")
def process() -> None:
    """Run the ledger processor in the foreground (Ctrl-C stops it cleanly)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        runtime.run_processor(settings())
    except EXPECTED_ERRORS as exc:
        fail(exc)


@processor_app.command("start")
def processor_start() -> None:
    """Start the processor in the background (logs in SINERGI_HOME/logs/processor.log)."""
    try:
        out.print(f"processor: {runtime.processor(settings()).start()}")
    except EXPECTED_ERRORS as exc:
        fail(exc)


@processor_app.command("stop")
def processor_stop() -> None:
    """Stop the background processor."""
    out.print(f"processor: {runtime.processor(settings()).stop()}")


# --- ledger ------------------------------------------------------------------------------


@ledger_app.command("summary")
def ledger_summary() -> None:
    """Cases, statuses, interceptions per post, recruiters and alerts (open, acknowledged,
    withdrawn)."""
    try:
        out.print(views.render_summary(views.ledger_summary(settings())))
    except READ_ERRORS as exc:
        refuse(exc)


@ledger_app.command("case")
def ledger_case(
    case: Annotated[
        str,
        typer.Argument(
            help="The case id (nik:... or weak:...), 8 or more of its first hex digits,"
            " or a 16-digit NIK (pseudonymised here, never sent)",
            metavar="CASE_ID_OR_NIK",
        ),
    ],
) -> None:
    """One case and its timeline across agencies."""
    s = settings()
    try:
        found = views.case_view(s, views.find_case(s, case))
    except READ_ERRORS as exc:
        refuse(exc)
    if found is None:  # resolved a moment ago: only a rebuild in between removes it
        refuse(views.IdError("the case is no longer in the ledger"))
    out.print(views.render_case(*found))


@ledger_app.command("recruiters")
def ledger_recruiters(limit: Annotated[int, typer.Option(help="How many")] = 15) -> None:
    """Recruiters (pseudonymous) linked to the most people."""
    table = Table("recruiter", "people", "interceptions", "tips", "groups", "investigations",
                  "suspect", "last seen (WITA)")  # fmt: skip
    for r in views.recruiters(settings(), limit):
        table.add_row(
            r["recruiter_ref"], str(r["people"]), str(r["interceptions"]), str(r["tips"]),
            str(r["groups"]), str(r["investigations"]), r["suspect_status"] or "-",
            views.when(r["last_seen"]),
        )  # fmt: skip
    out.print(table)


@ledger_app.command("rebuild")
def ledger_rebuild(
    keep: Annotated[bool, typer.Option(help="Keep the rebuilt schema for inspection")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the live processor")] = 60,
) -> None:
    """Replay every topic from the beginning into a fresh projection; compare with live."""
    try:
        result = rebuild(settings(), keep=keep, wait_s=wait, report=out.print)
    except EXPECTED_ERRORS as exc:
        fail(exc)
        return
    table = Table("table", "rows (live)", "differences")
    for name, rows in result.rows.items():
        table.add_row(name, str(rows), str(len(result.differences.get(name, []))))
    out.print(table)
    if result.identical:
        out.print(f"[green]identical:[/green] the rebuild from {result.replayed} messages equals "
                  "the live ledger")  # fmt: skip
        return
    for name, diffs in result.differences.items():
        for line in diffs[:10]:
            err.print(f"  {name}: {line}")
    fail(StackError("the rebuild differs from the live ledger"))


@app.command("demo")
def demo(
    months: Annotated[int, typer.Option(help="Months of activity to simulate")] = 6,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 2026,
) -> None:
    """Start everything and show every agency publishing and the ledger filling."""
    try:
        runtime.demo(settings(), months=months, seed=seed, report=out.print)
    except EXPECTED_ERRORS as exc:
        fail(exc)


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
