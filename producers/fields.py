"""Parsing what people type (CLI options, CSV cells) into event values, with clear errors.

Every parser raises :class:`FieldError` naming the field; rows collect them into
:class:`InvalidInputError` so a whole file is refused before anything is sent,
with every problem listed by row and field. Messages name the rule broken and
never echo personal data (a NIK, a name, a phone number).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Generic, TypeVar

from schemas import contract, reference
from schemas.model import WITA

E = TypeVar("E", bound=Enum)
T = TypeVar("T")

# A time typed without a zone is WITA (schemas.model.WITA, Kupang's clock).
# The longest value a cell or option may hold; no field needs more (a NIK is 16).
CELL_MAX = 4096


class FieldError(ValueError):
    """One field's problem; ``field`` is filled in by the reader when a parser leaves it empty.

    A problem of a whole row (too many cells) has a row and no field.
    """

    def __init__(self, field: str, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.row = row

    def at_row(self, row: int) -> FieldError:
        return FieldError(self.field, self.message, row)

    def __str__(self) -> str:
        if not self.field:
            return f"row {self.row} {self.message}" if self.row is not None else self.message
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}field {self.field}: {self.message}"


class InvalidInputError(ValueError):
    """One or more fields are invalid; nothing was sent."""

    SHOWN = 20

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = list(errors)
        shown = "; ".join(str(e) for e in self.errors[: self.SHOWN])
        more = len(self.errors) - self.SHOWN
        super().__init__(shown + (f"; ... and {more} more" if more > 0 else ""))


class RowReader:
    """Reads one input row, collecting every field's error instead of stopping at the first."""

    def __init__(self, row: Mapping[str, str | None], row_number: int | None = None) -> None:
        self.row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        self.row_number = row_number
        self.errors: list[FieldError] = []

    def raw(self, name: str) -> str:
        return self.row.get(name, "")

    def get(self, name: str, parse: Callable[[str], T], *, required: bool = False) -> T | None:
        text = self.raw(name)
        if not text:
            if required:
                self.fail(name, "is required")
            return None
        if len(text) > CELL_MAX:
            self.fail(name, f"is longer than {CELL_MAX} characters")
            return None
        try:
            return parse(text)
        except FieldError as exc:
            self.fail(name, exc.message)
        except (ValueError, OverflowError):
            # Not a parser's own FieldError: its message might quote the value.
            self.fail(name, "is not a valid value")
        return None

    def fail(self, name: str, message: str) -> None:
        self.errors.append(FieldError(name, message, self.row_number))

    def done(self) -> None:
        if self.errors:
            raise InvalidInputError(self.errors)


def parse_moment(text: str, *, now: datetime | None = None) -> datetime:
    """ISO 8601 date-time; without a zone it is WITA. Never in the future, nor before
    :data:`schemas.contract.EARLIEST_MOMENT`."""
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        raise FieldError("", "expected a date and time like 2026-01-20T08:30 (WITA)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=WITA)
    earliest = "must not be before 2000-01-01"
    if moment.year < contract.EARLIEST_MOMENT.year:  # checked first: year 1 cannot move zones
        raise FieldError("", earliest)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # the last day of year 9999, behind UTC
        raise FieldError("", "is out of range") from None
    if moment < contract.EARLIEST_MOMENT:
        raise FieldError("", earliest)
    if moment > (now or datetime.now(UTC)) + timedelta(minutes=5):
        raise FieldError("", "is in the future")
    return moment


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError("", "expected a date like 2001-04-30") from None


def parse_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise FieldError("", "expected a whole number") from None
        if not low <= value <= high:
            raise FieldError("", f"must be between {low} and {high}")
        return value

    return parse


# Spaces and hyphens in an enum value typed as words (``sent home``, ``laki-laki``).
_WORD_BREAKS = re.compile(r"[\s-]+")
# What separates the values of a list cell.
_LIST_SEPARATORS = re.compile(r"[;|,]")


class EnumParser(Generic[E]):
    """An enum by symbol (any case) or by one of its Bahasa Indonesia aliases; what it
    accepts is readable (:meth:`aliases`), so help texts list exactly those values."""

    def __init__(self, enum: type[E], aliases: Mapping[str, E] | None = None) -> None:
        self.enum = enum
        self._aliases = {k.lower(): v for k, v in (aliases or {}).items()}
        self._table: dict[str, E] = {m.name.lower(): m for m in enum} | self._aliases

    def __call__(self, text: str) -> E:
        lowered = text.strip().lower()
        # An identifier (SENT_HOME, dipulangkan) has no space or hyphen to replace.
        key = lowered if lowered.isidentifier() else _WORD_BREAKS.sub("_", lowered)
        found = self._table.get(key) or self._table.get(lowered)
        if found is None:
            choices = ", ".join(m.name for m in self.enum)
            raise FieldError("", f"unknown value; expected one of {choices}")
        return found

    def aliases(self) -> dict[E, list[str]]:
        """Each member and the other words accepted for it, in declaration order."""
        found: dict[E, list[str]] = {m: [] for m in self.enum}
        for alias, member in self._aliases.items():
            if alias != member.name.lower():
                found[member].append(alias)
        return found


def parse_enum(enum: type[E], aliases: Mapping[str, E] | None = None) -> EnumParser[E]:
    """An enum by symbol (any case) or by one of its Bahasa Indonesia aliases."""
    return EnumParser(enum, aliases)


def parse_list(item: Callable[[str], T], most: int | None = None) -> Callable[[str], tuple[T, ...]]:
    """Values separated by ';', '|' or ','; duplicates dropped, order kept; at most
    ``most`` distinct values when given."""

    def parse(text: str) -> tuple[T, ...]:
        items: list[T] = []
        for part in _LIST_SEPARATORS.split(text):
            if part.strip():
                value = item(part)
                if value not in items:
                    items.append(value)
        if most is not None and len(items) > most:
            raise FieldError("", f"must hold at most {most} values")
        return tuple(items)

    return parse


# Names people use for the usual destinations where ISO's short name differs, in English
# and Bahasa Indonesia.
COUNTRY_ALIASES = {
    "taiwan": "TW", "brunei": "BN", "south korea": "KR", "korea selatan": "KR",
    "korsel": "KR", "hongkong": "HK", "singapura": "SG", "jepang": "JP",
    "arab saudi": "SA", "uni emirat arab": "AE", "timor leste": "TL",
}  # fmt: skip


def parse_country(text: str) -> str:
    """An ISO 3166-1 alpha-2 code, an ISO English name, or a common name of a destination."""
    code = text.strip().upper()
    if reference.is_country(code):
        return code
    by_name = {c.name.casefold(): c.code for c in reference.countries().values()}
    name = " ".join(text.split()).casefold()
    found = by_name.get(name) or COUNTRY_ALIASES.get(name)
    if found is None:
        raise FieldError("", "expected an ISO 3166-1 alpha-2 country code such as MY")
    return found


def parse_regency(text: str) -> str:
    """An NTT regency as a Kemendagri code, or its name. BPS codes are not accepted here."""
    code = text.strip()
    regencies = reference.regencies()
    if code in regencies:
        return code
    by_name = {r.name.casefold(): r.kemendagri_code for r in regencies.values()}
    found = by_name.get(code.casefold()) or by_name.get(f"kabupaten {code}".casefold())
    if found is None:
        raise FieldError(
            "", "expected an NTT regency's Kemendagri code (5301-5321, 5371) or its name"
        )
    return found


def parse_code(text: str) -> str:
    """A reference code (group, officer): letters, digits and . _ / - only, no free text
    (:data:`schemas.contract.CODE`), and no person's number in it
    (:data:`schemas.contract.PERSONAL_NUMBER`)."""
    if not contract.CODE.fullmatch(text):
        raise FieldError(
            "", f"expected a code of letters, digits and . _ / - (at most {contract.CODE_MAX})"
        )
    refuse_personal_number(text)
    return text


def refuse_personal_number(text: str) -> None:
    """Where a code or a reference goes, a NIK or a phone number is refused (the message
    names the rule, never the digits)."""
    if contract.PERSONAL_NUMBER.search(text):
        raise FieldError("", contract.PERSONAL_NUMBER_RULE)


def parse_text(most: int, valid: Callable[[str], bool], rule: str) -> Callable[[str], str]:
    """Free text of at most ``most`` characters, whitespace runs made single spaces and
    composed (NFC), without control or invisible characters, that ``valid`` accepts;
    ``rule`` says what ``valid`` wants. Messages never quote the text."""

    def parse(text: str) -> str:
        value = " ".join(unicodedata.normalize("NFC", text).split())
        if len(value) > most:
            raise FieldError("", f"must be at most {most} characters")
        if contract.has_invisible(value):
            raise FieldError("", "must not hold control or invisible formatting characters")
        if not valid(value):
            raise FieldError("", rule)
        return value

    return parse


def parse_choice(choices: Iterable[str], what: str) -> Callable[[str], str]:
    known = sorted(choices)
    members = frozenset(known)

    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in members:
            raise FieldError("", f"unknown {what}; expected one of {', '.join(known)}")
        return value

    return parse
