"""NTT reference data: regencies, interception posts, exit points, routes and countries.

The CSV files next to this module are the only source. Each loader reads its file once
(``functools.cache``) and returns a read-only mapping, because the cached object is
shared: a caller that changed it would change it for every other caller.

Two numbering schemes name NTT's 22 regencies, and they use the *same* 22 numbers for
different places: Kemendagri 5301 is Kupang, BPS 5301 is Sumba Barat. NIKs, events and
posts use Kemendagri codes. BPS codes are needed only to join BPS statistics. Since the
two sets of values are identical, checking whether a code exists cannot catch a mix-up.
So the codes this module hands out carry their scheme (:class:`KemendagriCode` and
:class:`BpsCode` are ``str`` subclasses that compare, hash and serialise as plain
strings), and the lookups refuse a code that carries the other scheme. A plain ``str``
(from a form, a CSV or a message) is taken to be in the scheme the function names.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import ClassVar, Final, Literal, TypeVar, cast

__all__ = [
    "BpsCode",
    "Country",
    "ExitKind",
    "ExitPoint",
    "KemendagriCode",
    "PolresArea",
    "Post",
    "ReferenceDataError",
    "Regency",
    "RegencyKind",
    "Route",
    "UnknownCodeError",
    "bps_to_kemendagri",
    "countries",
    "exit_points",
    "is_country",
    "kemendagri_to_bps",
    "polres",
    "posts",
    "regencies",
    "regency",
    "regency_by_bps",
    "routes",
]

RegencyKind = Literal["kabupaten", "kota"]
ExitKind = Literal["airport", "seaport", "land_border"]

_REGENCY_KINDS: Final = ("kabupaten", "kota")
_EXIT_KINDS: Final = ("airport", "seaport", "land_border")
_BOOLEANS: Final = {"true": True, "false": False}
_LONGEST_SHOWN_CODE: Final = 6

_T = TypeVar("_T")


class UnknownCodeError(LookupError):
    """A code is not in the reference data of the scheme it was looked up in."""


class ReferenceDataError(ValueError):
    """A reference CSV is malformed: a packaging or editing mistake, not bad user input."""


class _SchemeCode(str):
    """A regency code that remembers which numbering scheme it belongs to."""

    __slots__ = ()
    scheme: ClassVar[str] = ""


class KemendagriCode(_SchemeCode):
    """A regency code in the Ministry of Home Affairs scheme, the one inside a NIK."""

    __slots__ = ()
    scheme: ClassVar[str] = "Kemendagri"


class BpsCode(_SchemeCode):
    """A regency code in the BPS (Statistics Indonesia) scheme."""

    __slots__ = ()
    scheme: ClassVar[str] = "BPS"


@dataclass(frozen=True)
class Regency:
    kemendagri_code: KemendagriCode
    bps_code: BpsCode
    name: str
    kind: RegencyKind


@dataclass(frozen=True)
class ExitPoint:
    exit_point_id: str
    name: str
    kind: ExitKind
    regency_kemendagri: KemendagriCode


@dataclass(frozen=True)
class Post:
    post_id: str
    name: str
    kind: ExitKind
    regency_kemendagri: KemendagriCode
    exit_point_id: str
    active: bool


@dataclass(frozen=True)
class PolresArea:
    """One regency and the Polres (resort police) whose jurisdiction it is in."""

    regency_kemendagri: KemendagriCode
    unit: str  # the hub member of that Polres: police-polres-<code of its seat regency>
    name: str


@dataclass(frozen=True)
class Route:
    route_id: str
    description: str


@dataclass(frozen=True)
class Country:
    code: str
    name: str


# --- CSV reading -----------------------------------------------------------------------


def _rows(filename: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Read a reference CSV, insisting on the exact header and complete rows."""
    text = resources.files("schemas.reference").joinpath(filename).read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != columns:
        raise ReferenceDataError(f"{filename}: header {reader.fieldnames} != {list(columns)}")
    rows = list(reader)
    for number, row in enumerate(rows, start=2):
        if None in row or any(value is None or value == "" for value in row.values()):
            raise ReferenceDataError(f"{filename}: line {number} is incomplete or too long")
    return rows


def _one_of(value: str, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ReferenceDataError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _regency_kind(value: str, where: str) -> RegencyKind:
    return cast(RegencyKind, _one_of(value, _REGENCY_KINDS, where))


def _exit_kind(value: str, where: str) -> ExitKind:
    return cast(ExitKind, _one_of(value, _EXIT_KINDS, where))


def _boolean(value: str, where: str) -> bool:
    try:
        return _BOOLEANS[value]
    except KeyError:
        raise ReferenceDataError(f"{where}: {value!r} is not true or false") from None


def _index(items: Iterable[_T], key: Callable[[_T], str], where: str) -> Mapping[str, _T]:
    """Key the items, refusing duplicates, and freeze the result."""
    table: dict[str, _T] = {}
    for item in items:
        item_key = key(item)
        if item_key in table:
            raise ReferenceDataError(f"{where}: duplicate key {item_key}")
        table[item_key] = item
    return MappingProxyType(table)


def _known_regency(code: KemendagriCode, where: str) -> KemendagriCode:
    if code not in regencies():
        raise ReferenceDataError(f"{where}: {code} is not a Kemendagri regency code of NTT")
    return code


# --- regencies -------------------------------------------------------------------------


@cache
def regencies() -> Mapping[str, Regency]:
    """NTT's 22 regencies and cities, keyed by Kemendagri code."""
    where = "regencies.csv"
    rows = _rows(where, ("kemendagri_code", "bps_code", "name", "kind"))
    items = (
        Regency(
            kemendagri_code=KemendagriCode(row["kemendagri_code"]),
            bps_code=BpsCode(row["bps_code"]),
            name=row["name"],
            kind=_regency_kind(row["kind"], where),
        )
        for row in rows
    )
    return _index(items, lambda item: item.kemendagri_code, where)


@cache
def _regencies_by_bps() -> Mapping[str, Regency]:
    return _index(regencies().values(), lambda item: item.bps_code, "regencies.csv (BPS)")


def _shown(code: str) -> str:
    """The code as it may appear in a message: never a long value, which could be a NIK."""
    return code if len(code) <= _LONGEST_SHOWN_CODE else f"a {len(code)}-character value"


def _refuse_other_scheme(code: str, expected: type[_SchemeCode]) -> None:
    if isinstance(code, _SchemeCode) and not isinstance(code, expected):
        raise UnknownCodeError(
            f"{_shown(code)} is a {code.scheme} regency code, "
            f"but a {expected.scheme} code was expected"
        )


def regency(kemendagri_code: str) -> Regency:
    """The regency with this Kemendagri code, or :class:`UnknownCodeError`."""
    _refuse_other_scheme(kemendagri_code, KemendagriCode)
    try:
        return regencies()[kemendagri_code]
    except KeyError:
        message = f"{_shown(kemendagri_code)} is not a Kemendagri regency code of NTT"
        raise UnknownCodeError(message) from None


def regency_by_bps(bps_code: str) -> Regency:
    """The regency with this BPS code, or :class:`UnknownCodeError`."""
    _refuse_other_scheme(bps_code, BpsCode)
    try:
        return _regencies_by_bps()[bps_code]
    except KeyError:
        raise UnknownCodeError(f"{_shown(bps_code)} is not a BPS regency code of NTT") from None


def kemendagri_to_bps(code: str) -> BpsCode:
    """Translate a Kemendagri regency code to the BPS code of the same place."""
    return regency(code).bps_code


def bps_to_kemendagri(code: str) -> KemendagriCode:
    """Translate a BPS regency code to the Kemendagri code of the same place."""
    return regency_by_bps(code).kemendagri_code


# --- exit points, posts, routes --------------------------------------------------------


@cache
def exit_points() -> Mapping[str, ExitPoint]:
    """Airports, seaports and land borders through which people leave NTT."""
    where = "exit_points.csv"
    rows = _rows(where, ("exit_point_id", "name", "kind", "regency_kemendagri"))
    items = (
        ExitPoint(
            exit_point_id=row["exit_point_id"],
            name=row["name"],
            kind=_exit_kind(row["kind"], where),
            regency_kemendagri=_known_regency(KemendagriCode(row["regency_kemendagri"]), where),
        )
        for row in rows
    )
    return _index(items, lambda item: item.exit_point_id, where)


def _post(row: Mapping[str, str], where: str) -> Post:
    exit_point_id = row["exit_point_id"]
    if exit_point_id not in exit_points():
        raise ReferenceDataError(f"{where}: unknown exit point {exit_point_id}")
    return Post(
        post_id=row["post_id"],
        name=row["name"],
        kind=_exit_kind(row["kind"], where),
        regency_kemendagri=_known_regency(KemendagriCode(row["regency_kemendagri"]), where),
        exit_point_id=exit_point_id,
        active=_boolean(row["active"], where),
    )


@cache
def posts() -> Mapping[str, Post]:
    """Interception posts (*posko*), including those not yet active."""
    where = "posts.csv"
    columns = ("post_id", "name", "kind", "regency_kemendagri", "exit_point_id", "active")
    items = (_post(row, where) for row in _rows(where, columns))
    return _index(items, lambda item: item.post_id, where)


@cache
def routes() -> Mapping[str, Route]:
    """Onward routes a would-be migrant worker was taking, as recorded at interception."""
    where = "routes.csv"
    rows = _rows(where, ("route_id", "description"))
    items = (Route(route_id=row["route_id"], description=row["description"]) for row in rows)
    return _index(items, lambda item: item.route_id, where)


# --- countries -------------------------------------------------------------------------


@cache
def countries() -> Mapping[str, Country]:
    """ISO 3166-1 alpha-2 countries with English short names, keyed by upper-case code."""
    where = "countries.csv"
    rows = _rows(where, ("code", "name"))
    items = (Country(code=row["code"], name=row["name"]) for row in rows)
    return _index(items, lambda item: item.code, where)


def is_country(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 code, exactly (upper case, no spaces)."""
    return code in countries()


# --- police jurisdictions --------------------------------------------------------------


@cache
def polres() -> Mapping[str, PolresArea]:
    """Which Polres each NTT regency is in the jurisdiction of, keyed by Kemendagri code.

    Polda NTT has 21 Polres/Polresta for 22 regencies: Kota Kupang is Polresta Kupang
    Kota's, Kabupaten Kupang is Polres Kupang's; Polres Malaka, Manggarai Timur,
    Nagekeo, Sabu Raijua and Sumba Barat Daya were formed in 2019-2020 (letter of the
    Minister for Administrative Reform B/849/M.KT.01/2019 of 18 September 2019, reported
    by Beritasatu, 20 September 2019, "Polda NTT Dapat Tambahan 5 Polres Baru"); Sumba
    Tengah is in Polres Sumba Barat's jurisdiction until its own Polres, announced in
    August 2025, is formed (detikBali, 9 August 2025, "Polda NTT Akan Bangun Polres Baru
    di Sumba Tengah").
    """
    where = "polres.csv"
    rows = _rows(where, ("regency_kemendagri", "unit", "name"))
    items = (
        PolresArea(
            regency_kemendagri=_known_regency(KemendagriCode(row["regency_kemendagri"]), where),
            unit=row["unit"],
            name=row["name"],
        )
        for row in rows
    )
    table = _index(items, lambda item: item.regency_kemendagri, where)
    missing = set(regencies()) - set(table)
    if missing:
        raise ReferenceDataError(f"{where}: no Polres for {', '.join(sorted(missing))}")
    return table
