"""Each agency's desk on the ``sinergi`` command line (:data:`sinergi.cli.app`), through
its ``COMMAND_MODULES``: ``sinergi post record``, ``sinergi bp3mi repatriation``, ...

Each agency's commands are made from its forms (``producers/forms.py``): one command per
form, one option per column, the same checks as a CSV import; and each agency's
``import`` (a CSV file), ``correct``, ``retract``, ``sync`` (deliver what waits at the
desk) and ``pending``. ``sinergi forms`` lists the forms and writes a CSV template.
"""

from __future__ import annotations

import csv
import inspect
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from deploy.procs import StackError
from processors import collector
from producers import forms
from producers.amend import Retraction, as_recorded, corrected_ids
from producers.fields import FieldError, InvalidInputError
from producers.formkit import parse_uuid
from producers.outbox import SUFFIX as OUTBOX_SUFFIX
from producers.outbox import Delivery, Pending, Sent, repeated
from producers.publisher import RECORDED_BEFORE, content_digest
from schemas.access import agency_admin
from schemas.model import Agency, Event, RetractionReason
from sinergi import bootstrap, desk_pool, i18n
from sinergi.cli import (
    EXPECTED_ERRORS,
    app,
    err,
    fail,
    json_option,
    out,
    print_json,
    settings,
)
from sinergi.config import Settings
from sinergi.display import Steps, local_time, now_wita
from sinergi.i18n import t

forms_app = typer.Typer(help=t("group.forms"))
app.add_typer(forms_app, name="forms")

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
) -> list[str]:
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
            counted = steps.step(t("progress.rows"), len(rows)) if from_file else None
            advance = None if counted is None else lambda n: steps.advance(counted, n)
            if dry_run:
                events = (
                    desk_pool.record_file(s, desk, form_name, rows, progress=advance)
                    if from_file
                    else [forms.record(desk, form, row) for row in rows]
                )
                ids = [event.event_id for event in events]
                # What keeping them would refuse, said now (a dry run keeps nothing).
                _refuse_recorded_before(s, signer, events, rows)
            else:
                with bootstrap.desk_publisher(s, signer) as pub:
                    if from_file:  # sealed, encoded and signed on every core
                        signed = desk_pool.sign_file(
                            s, desk, form_name, rows, pub, signer=signer, progress=advance
                        )
                        ids = signed.ids
                        steps.step(t("progress.send"))
                        delivery = pub.keep(signed.messages)
                    else:
                        events = [forms.record(desk, form, row) for row in rows]
                        ids = [event.event_id for event in events]
                        steps.step(t("progress.send"))
                        delivery = pub.record(as_recorded(events, rows))
    except InvalidInputError as exc:
        fail(_at_rows(exc, rows) if from_file else exc)  # a typed record has no row
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if delivery is None:
        show_valid(form_name, ids, json_lines=json_lines)
    else:
        show_recorded(agency, signer, form_name, ids, delivery, json_lines=json_lines)
    return ids


def _refuse_recorded_before(
    s: Settings, unit: str, events: Sequence[Event], rows: Sequence[Mapping[str, str | None]]
) -> None:
    """Raise what keeping ``events`` at ``unit``'s desk would: records whose ids it holds,
    or the rows hold twice, with other content (corrections are corrections)."""
    corrects = corrected_ids(rows)
    records = [(e.event_id, content_digest(e)) for e in events if e.event_id not in corrects]
    if (s.desk_dir / f"{unit}{OUTBOX_SUFFIX}").exists():
        with bootstrap.desk_outbox(s, unit) as outbox:
            found = outbox.conflicts(records)
    else:  # a desk that never kept anything (a dry run makes no file): the rows alone
        found = sorted(repeated(records)[1])
    if found:
        raise InvalidInputError([FieldError("event_id", f"{i}: {RECORDED_BEFORE}") for i in found])


def _at_rows(exc: InvalidInputError, rows: Sequence[Mapping[str, str | None]]) -> InvalidInputError:
    """``exc`` with the row of each record a problem names by its id alone (a record
    refused as edited: its id first), as a spreadsheet numbers them (the header is 1)."""
    numbers: dict[str, list[int]] = {}
    for number, row in enumerate(rows, start=2):
        given = (row.get("event_id") or "").strip().lower()
        if given:
            numbers.setdefault(given, []).append(number)
    placed: list[FieldError] = []
    for problem in exc.errors:
        event_id = problem.message.split(":", 1)[0]
        if problem.row is None and problem.field == "event_id" and event_id in numbers:
            placed += [problem.at_row(n) for n in numbers[event_id]]
        else:
            placed.append(problem)
    return InvalidInputError(placed)


def show_valid(form_name: str, ids: list[str], *, json_lines: bool) -> None:
    if json_lines:
        print_json({"form": form_name, "valid": len(ids), "sent": 0, "event_ids": ids})
        return
    out.print(Text.assemble((t("valid", count=len(ids), label=form_label(form_name)), "green")))


def show_recorded(
    agency: Agency,
    unit: str,
    form_name: str,
    ids: list[str],
    delivery: Delivery,
    *,
    json_lines: bool = False,
) -> None:
    """What a recording command did: published, or kept at the desk, or both."""
    mine = delivery.ids or set(ids)
    published = sum(item.event_id in mine for item in delivery.sent)
    earlier = len(delivery.sent) - published
    again = len(mine) - delivery.recorded
    if json_lines:
        print_json(
            {
                "unit": unit,
                "form": form_name,
                "event_ids": ids or sorted(mine),
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
    if delivery.pending:  # the kept records' ids, to correct or retract one before it is sent
        sent = {item.event_id for item in delivery.sent}
        kept = [i for i in ids if i in mine and i not in sent]
        show_first([f"  {i} ({t('kept_id')})" for i in kept[:SHOWN]], len(kept))


def sent_record(item: Sent) -> dict[str, object]:
    return {
        "event_id": item.event_id,
        "topic": item.topic,
        "partition": item.partition,
        "offset": item.offset,
    }


# How many records a command lists by id; the rest are counted.
SHOWN = 5


def show_sent(sent: list[Sent]) -> None:
    lines = [f"  {i.event_id} -> {i.topic}[{i.partition}]@{i.offset}" for i in sent[:SHOWN]]
    show_first(lines, len(sent))


def show_first(lines: list[str], total: int) -> None:
    """The first ``SHOWN`` of ``total`` records' lines, then how many more there are."""
    for line in lines:
        out.print(Text(line), soft_wrap=True)
    if total > len(lines):
        out.print(t("and_more", count=total - len(lines)))


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
        _warn_if_not_recorded_here(agency, place, event_id, as_admin)
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
        _warn_if_not_recorded_here(agency, place, event_id, as_admin)
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
    _, found = _kept_here(agency, place, event_id)
    by_type = {forms.FORMS[n].event_type.event_type: n for n in names}
    if found is None or found[0] not in by_type:
        fail(StackError(t("not_recorded_here", names=", ".join(names))))
    return forms.FORMS[by_type[found[0]]]


def _kept_here(agency: Agency, place: str, event_id: str) -> tuple[str, tuple[str, bytes] | None]:
    """This desk's unit, and the type and key of the record ``event_id`` it kept (None:
    it kept none)."""
    s = settings()
    try:
        unit = bootstrap.desk(s, agency, place).unit
        with bootstrap.desk_outbox(s, unit) as outbox:
            return unit, outbox.record_of(event_id.strip().lower())
    except EXPECTED_ERRORS as exc:
        fail(exc)


def _warn_if_not_recorded_here(agency: Agency, place: str, event_id: str, as_admin: bool) -> None:
    """Say so when this desk has no record of ``event_id``: the amendment is still sent
    (the unit may have recorded it on another computer), but the hub refuses a unit's
    amendment of another unit's record, or of a record it never received, as a dead
    letter the officer would not otherwise see."""
    if as_admin:
        return
    unit, found = _kept_here(agency, place, event_id)
    if found is None:
        err.print(Text(t("amend_unknown_here", unit=unit), style="yellow"), soft_wrap=True)


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
        collector.settle()  # the file's rows stay out of the collector's scans
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
NARROW = 100  # columns: below, `post pending` lists rather than draws a table


def show_pending(unit: str, pending: list[Pending]) -> None:
    if not pending:
        out.print(t("nothing_waits", unit=unit))
        return
    out.print(t("waiting", unit=unit, count=len(pending)))
    if out.width < NARROW:  # the table's five columns do not fit: two lines each
        for item in pending[:PENDING_SHOWN]:
            m = item.message
            out.print(Text.assemble(
                (m.event_type, "bold"), f"  {local_time(m.recorded_at)}  ",
                f"{t('col.attempts')}: {item.attempts}  ", (item.last_error or "-", "yellow"),
            ), soft_wrap=True)  # fmt: skip
            out.print(Text(f"  {m.event_id}"), soft_wrap=True)  # whole, to be copied
        if len(pending) > PENDING_SHOWN:
            out.print(t("waiting_more", count=len(pending) - PENDING_SHOWN))
        return
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
