"""The parts every agency's form is made of: the desk, the form, the row reader.

Agency modules (:mod:`producers.posts`, :mod:`producers.police`, ...) build their
forms from these; :mod:`producers.forms` collects the forms and is the entry point
for recording rows. Kept apart from :mod:`producers.forms` so agency modules can
import it without a cycle.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Generic, TypeVar

from producers.fields import (
    CELL_MAX,
    FieldError,
    InvalidInputError,
    RowReader,
    parse_choice,
    parse_enum,
    parse_moment,
)
from producers.pseudonym import Pseudonymiser, normalise_name, normalise_phone
from schemas import contract, reference
from schemas.ids import name_uuid
from schemas.model import Agency, Envelope, Event, Sector, envelope_for

T = TypeVar("T")
E = TypeVar("E", bound=Event)
E_co = TypeVar("E_co", bound=Event, covariant=True)

# Every form has these two columns first.
COMMON_COLUMNS: Mapping[str, str] = {
    "event_id": "the agency's own record id (a UUID); derived from the row when empty",
    "occurred_at": "when it happened, e.g. 2026-01-20T08:30 (WITA unless a zone is given)",
    "corrects": "the event id of a record of this desk that this row corrects: the row is"
    " the whole corrected record (empty: a new record)",
}

SECTOR = parse_enum(
    Sector,
    {
        "prt": Sector.DOMESTIC_WORK,
        "pekerja_rumah_tangga": Sector.DOMESTIC_WORK,
        "perkebunan": Sector.PLANTATION,
        "sawit": Sector.PLANTATION,
        "konstruksi": Sector.CONSTRUCTION,
        "perikanan": Sector.FISHERIES,
        "pabrik": Sector.MANUFACTURING,
        "perawat": Sector.CARE,
        "restoran": Sector.HOSPITALITY,
    },
)


def parse_exit_point(text: str) -> str:
    return _exit_point_parser()(text)


@cache
def _exit_point_parser() -> Callable[[str], str]:
    """Made once: the reference list of exit points does not change."""
    return parse_choice(reference.exit_points(), "exit point")


def parse_uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise FieldError("", "expected a UUID") from None


def recruiter_parser(pseudonymiser: Pseudonymiser) -> Callable[[str], str]:
    """Raw phone or name to the shared recruiter pseudonym, the same at every agency.

    A value with neither digits nor letters ("-", "?") is refused: pseudonymised, all
    such values would become one recruiter and join unrelated cases.
    """

    def parse(text: str) -> str:
        if len(text) > contract.RECRUITER_CONTACT_MAX:
            # Sealed for police as typed: longer would not fit the sealed field.
            raise FieldError("", f"must be at most {contract.RECRUITER_CONTACT_MAX} characters")
        if contract.has_invisible(text):
            raise FieldError("", "must not hold control or invisible formatting characters")
        if not normalise_phone(text) and not normalise_name(text):
            raise FieldError("", "expected a phone number or a name; leave it empty if unknown")
        return pseudonymiser.recruiter(text)

    return parse


@dataclass(frozen=True)
class Desk:
    """Who is recording: one member of the hub (a post, a police unit, a district, ...).

    Made by :func:`producers.forms.desk_for`, which checks the unit exists.
    ``reporter_key`` is the hotline's own secret for reporter references; it is kept
    out of the ``repr`` so it never lands in a log.
    """

    agency: Agency
    unit: str
    pseudonymiser: Pseudonymiser
    reporter_key: bytes | None = field(default=None, repr=False)
    post: reference.Post | None = None
    regency: str | None = None
    # The police role's public sealing key (base64), for fields only police may read.
    police_sealing_key: str | None = None

    @cached_property
    def row_keyer(self) -> Pseudonymiser:
        """The key for derived event ids: the hotline's own, since its rows name the reporter."""
        if self.reporter_key is not None:
            return Pseudonymiser(self.reporter_key)
        return self.pseudonymiser


Build = Callable[[RowReader, Desk, datetime], E_co | None]


@dataclass(frozen=True)
class Form(Generic[E_co]):
    """One kind of row an agency records, and how it becomes an event.

    ``columns`` (in CSV order, each with a one-line help) are all a row may hold.
    ``required`` columns are enforced by the reader :func:`producers.forms.record`
    hands to ``build``, so a form declares them once. ``build`` reads the row with
    ``r.get``/``r.fail`` and returns the event, or None when something failed.
    """

    agency: Agency
    name: str
    event_type: type[E_co]
    columns: Mapping[str, str]
    required: frozenset[str]
    build: Build[E_co]

    def __post_init__(self) -> None:
        if self.event_type.agency is not self.agency:
            raise ValueError(f"form {self.name}: {self.event_type.__name__} is not {self.agency}")
        if not {"event_id", "occurred_at"} <= set(self.columns):
            raise ValueError(f"form {self.name}: event_id and occurred_at must be columns")
        if not self.required <= set(self.columns):
            raise ValueError(f"form {self.name}: required columns must be columns")


class FormReader(RowReader):
    """A row reader that knows which columns its form requires."""

    def __init__(
        self,
        row: Mapping[str, str | None],
        row_number: int | None,
        required: frozenset[str],
    ) -> None:
        super().__init__(row, row_number)
        self.required = required

    def get(
        self, name: str, parse: Callable[[str], T], *, required: bool | None = None
    ) -> T | None:
        """As :meth:`RowReader.get`; ``required`` defaults to what the form declares."""
        return super().get(
            name, parse, required=name in self.required if required is None else required
        )


def must(value: T | None) -> T:
    """A value ``build`` has checked is there (its errors were empty)."""
    if value is None:
        raise AssertionError("a required value is missing after validation")
    return value


def read_occurred(r: RowReader, now: datetime) -> datetime | None:
    return r.get("occurred_at", lambda text: parse_moment(text, now=now), required=True)


def envelope(
    cls: type[Event], r: RowReader, desk: Desk, occurred: datetime, now: datetime
) -> Envelope:
    """The envelope of the row's event: its own event id, or one derived from the row.

    Call it only once the row is valid (:func:`record` has checked ``event_id``).
    """
    # A correction is the whole record again, under the id of the record it corrects.
    corrects = r.get("corrects", parse_uuid)
    event_id = (
        corrects or r.get("event_id", parse_uuid) or row_event_id(desk.unit, r.row, desk.row_keyer)
    )
    # A time a few minutes ahead of the desk's clock is accepted (parse_moment), and an
    # event is never recorded before it occurred: the contract refuses that.
    recorded = max(now, occurred)
    return envelope_for(
        cls, unit=desk.unit, occurred_at=occurred, recorded_at=recorded, event_id=event_id
    )


# Ids of rows without one are derived from the row, so importing a file twice stores it once.
_ROW_NAMESPACE = uuid.UUID("5b1e4c2a-9d1f-4e0b-8c55-3a1f6d2b7e90")


def row_event_id(unit: str, row: Mapping[str, str], keyer: Pseudonymiser) -> str:
    """A deterministic event id for a row: the same unit and row always give the same id.

    The row's raw content is digested with the desk's key first (see
    :meth:`Pseudonymiser.row_digest`): the id travels with the event, the row's NIK or
    phone number must not be recoverable from it. Forms have different required
    columns, so two forms never see the same row.
    """
    content = "\x1f".join(f"{k}={row[k]}" for k in sorted(row) if row[k])
    return name_uuid(_ROW_NAMESPACE, keyer.row_digest(f"{unit}\x1e{content}"))


def record(
    desk: Desk,
    form: Form[E],
    row: Mapping[str, str | None],
    *,
    row_number: int | None = None,
    now: datetime | None = None,
) -> E:
    """Validate one row and build its event; raises InvalidInputError naming each field."""
    now = now or datetime.now(UTC)
    _check_agency(desk, form, row_number)
    r = FormReader(row, row_number, form.required)
    for column in sorted(set(r.row) - set(form.columns)):
        r.fail(column, f"unknown column; expected {', '.join(form.columns)}")
    # Checked here, so each build sees their errors; read again in envelope().
    given = r.get("event_id", parse_uuid)
    corrects = r.get("corrects", parse_uuid)
    if given and corrects and given != corrects:
        r.fail("event_id", "leave it empty in a correction: the record keeps its own id")
    event = form.build(r, desk, now)
    r.done()
    event = must(event)
    for violation in contract.violations(event):
        r.fail(column_of(form, violation.field), violation.rule)
    r.done()
    return event


# Event fields whose column has another name; person fields lose their record's prefix.
_COLUMNS_BY_FIELD: Mapping[str, str] = {
    "recruiter_ref": "recruiter",
    "suspected_recruiter_ref": "recruiter",
    "recruiter_contact_sealed": "recruiter",
    "recruiter_refs": "recruiters",
    "officer_ref": "officer",
    "reporter_ref": "reporter",
    "intended_sector": "sector",
    "nik_pseudonym": "nik",
    "nik_status": "nik",
    "weak_pseudonym": "name",
    "person": "nik",
    "subject": "nik",
}


def column_of(form: Form[Event], path: str) -> str:
    """The column a contract violation is about: the event field's own name or its
    column's when the form has that column, else the event field's path."""
    name = path.rsplit(".", 1)[-1]
    if name in form.columns:
        return name
    column = _COLUMNS_BY_FIELD.get(name, path)
    return column if column in form.columns else path


def _check_agency(desk: Desk, form: Form[Event], row_number: int | None) -> None:
    """A post cannot record a placement: each agency records only its own facts."""
    if desk.agency is not form.agency:
        message = (
            f"a {desk.agency.value} desk cannot record {form.name}, "
            f"which is a {form.agency.value} form"
        )
        raise InvalidInputError([FieldError("form", message, row_number)])


def record_rows(
    desk: Desk,
    form: Form[E],
    rows: Iterable[Mapping[str, str | None]],
    *,
    now: datetime | None = None,
    first: int = 2,
) -> list[E]:
    """Validate every row (numbered as in a spreadsheet: header is row 1; ``first``, the
    number of the first of ``rows``) before any send.

    All problems of all rows come in one InvalidInputError, so a file is refused whole.
    A row with every cell empty is skipped but counted, as a spreadsheet shows it.
    """
    now = now or datetime.now(UTC)
    _check_agency(desk, form, None)
    events: list[E] = []
    errors: list[FieldError] = []
    for number, row in enumerate(rows, start=first):
        if not any((value or "").strip() for value in row.values()):
            continue
        try:
            events.append(record(desk, form, row, row_number=number, now=now))
        except InvalidInputError as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInputError(errors)
    return events


# --- CSV files ---------------------------------------------------------------------------

# A file larger than this is refused before it is read: split it.
FILE_MAX_BYTES = 64 * 1024 * 1024
# A column name as the forms spell them (occurred_at, birth_date): never a value, so
# messages may show it. A header made of data (a NIK, a name) is refused without echo.
_COLUMN_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def read_csv(path: Path) -> list[dict[str, str | None]]:
    """Rows of a CSV file (UTF-8, with or without BOM), header names lower-cased.

    The header (row 1) decides the delimiter: ',' or, when it has semicolons and no
    commas (spreadsheets in an Indonesian locale save so), ';'. Every problem of the
    file is an :class:`InvalidInputError` naming row and field, never a traceback: not
    UTF-8, NUL bytes, no header, an empty, malformed or repeated column name, a cell
    longer than :data:`producers.fields.CELL_MAX`, more cells than the header. Rows
    keep their spreadsheet numbers: an empty line is returned as an empty row, which
    :func:`record_rows` skips and counts.
    """
    text = _read_text(path)
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in header_line and "," not in header_line else ","
    # A cell may be as long as the file; it is refused below, by name, if too long.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header:
            raise InvalidInputError([FieldError("file", "is empty: row 1 must be the header")])
        columns = _header(header)
        return _rows(reader, columns)
    except csv.Error:
        row = reader.line_num
        raise InvalidInputError([FieldError("file", f"is not valid CSV near line {row}")]) from None


def _read_text(path: Path) -> str:
    def refuse(message: str) -> InvalidInputError:
        return InvalidInputError([FieldError("file", message)])

    try:
        if path.stat().st_size > FILE_MAX_BYTES:
            raise refuse(f"is larger than {FILE_MAX_BYTES // (1024 * 1024)} MiB: split it")
        data = path.read_bytes()
    except OSError:
        raise refuse("cannot be read") from None
    if b"\x00" in data:
        raise refuse("holds NUL bytes: save it as CSV (UTF-8), not as a spreadsheet")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse("is not UTF-8 text: save it as CSV (UTF-8)") from None


def _header(cells: list[str]) -> list[str]:
    """The column names, lower-cased; refused whole if any is empty, malformed or repeated."""
    names = [cell.strip().lower() for cell in cells]
    errors: list[FieldError] = []
    first: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if not name:
            errors.append(FieldError(f"column {number}", "has no name in the header", 1))
        elif not _COLUMN_NAME.fullmatch(name):
            message = "is not a column name (letters, digits, _): is row 1 the header?"
            errors.append(FieldError(f"column {number}", message, 1))
        elif name in first:
            message = f"is in the header twice (columns {first[name]} and {number})"
            errors.append(FieldError(name, message, 1))
        else:
            first[name] = number
    if errors:
        raise InvalidInputError(errors)
    return names


def _rows(reader: Iterable[list[str]], columns: list[str]) -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = []
    errors: list[FieldError] = []
    for number, cells in enumerate(reader, start=2):
        extra = cells[len(columns) :]
        if any(cell.strip() for cell in extra):
            message = f"has {len(cells)} cells, the header {len(columns)}"
            errors.append(FieldError("", message, number))
        for name, cell in zip(columns, cells, strict=False):
            if len(cell) > CELL_MAX:
                errors.append(FieldError(name, f"is longer than {CELL_MAX} characters", number))
        rows.append(dict(zip(columns, cells, strict=False)))
    if errors:
        raise InvalidInputError(errors)
    return rows
