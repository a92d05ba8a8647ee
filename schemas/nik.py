"""NIK (*Nomor Induk Kependudukan*, the 16-digit national ID number): validation and parsing.

Layout: ``PP KK SS DDMMYY NNNN``, i.e. province, regency, district (*kecamatan*), birth
date (women's day of birth + 40) and a serial number.

Two things every caller must keep in mind:

* A NIK is a claim to validate, not a fact. Forged and borrowed identity documents are
  common in trafficking (a broker makes a minor "adult", a person from one regency
  "from" another), so a NIK that parses is only well-formed. It does not prove who the
  person is. Checks against Dukcapil (the civil registry) are a separate step.
* The region in a NIK is where the number was *first issued*, not where the person lives
  now. Do not use it as a home address or as the person's current regency.

A NIK is personal data (UU 27/2022). :class:`NikError` messages name the faulty part,
never the whole number, because such messages end up on screens and in logs. For the
same reason :class:`ParsedNik` leaves the number out of its ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal

from schemas.reference import KemendagriCode, regencies

__all__ = [
    "NIK_LENGTH",
    "NTT_PROVINCE",
    "PROVINCE_CODES",
    "NikError",
    "ParsedNik",
    "Sex",
    "age_on",
    "normalise_nik",
    "parse_nik",
]

Sex = Literal["FEMALE", "MALE"]

NIK_LENGTH: Final = 16
NTT_PROVINCE: Final = "53"
PROVINCE_CODES: Final = frozenset(
    {
        *("11", "12", "13", "14", "15", "16", "17", "18", "19", "21"),
        *("31", "32", "33", "34", "35", "36"),
        *("51", "52", "53"),
        *("61", "62", "63", "64", "65"),
        *("71", "72", "73", "74", "75", "76"),
        *("81", "82"),
        *("91", "92", "93", "94", "95", "96", "97"),
    }
)

_DIGITS: Final = frozenset("0123456789")
# What people type between digit groups: dots, hyphen and dash variants (spaces are
# removed separately, any kind of whitespace).
_SEPARATORS: Final = frozenset(".-\u2010\u2011\u2012\u2013\u2014")
_FEMALE_DAY_OFFSET: Final = 40
_MAX_AGE: Final = 100
_NO_SERIAL: Final = "0000"
_LEAP_YEAR: Final = 2000


class NikError(ValueError):
    """A NIK is malformed. The message says which part is wrong and never holds the NIK."""


@dataclass(frozen=True)
class ParsedNik:
    """A well-formed NIK, split into its parts.

    ``regency_code`` is a Kemendagri code (it is a :class:`KemendagriCode`), so passing it
    to a BPS lookup fails loudly instead of naming the wrong place.
    """

    nik: str = field(repr=False)
    province: str
    regency_code: str
    district_code: str
    birth_date: date
    sex: Sex
    serial: str


def normalise_nik(raw: str) -> str:
    """Remove the spaces, dots and dashes people type in a NIK; validate nothing."""
    if raw.isalnum():  # nothing to remove (the usual case: digits only)
        return raw
    return "".join(ch for ch in raw if not ch.isspace() and ch not in _SEPARATORS)


def parse_nik(raw: str, *, today: date | None = None, require_ntt: bool = False) -> ParsedNik:
    """Validate ``raw`` as a NIK and split it into parts, or raise :class:`NikError`.

    ``today`` anchors the two-digit birth year (default: the local date). The year is put
    in the century that gives an age from 0 to 100 on ``today``. If both centuries fit
    (a 100th birthday that falls this year), the younger age is chosen.
    ``require_ntt`` refuses NIKs first issued outside NTT (province 53).
    """
    nik = normalise_nik(raw)
    _check_shape(nik)
    province, regency_code, district_code = nik[:2], nik[:4], nik[:6]
    _check_region(province, regency_code, district_code, require_ntt=require_ntt)
    sex, day, month = _decode_day_and_month(nik[6:8], nik[8:10])
    birth_date = _resolve_birth_date(day, month, int(nik[10:12]), today or date.today())
    serial = nik[12:]
    if serial == _NO_SERIAL:
        raise NikError(f"NIK serial {_NO_SERIAL} is never issued")
    return ParsedNik(
        nik=nik,
        province=province,
        regency_code=KemendagriCode(regency_code),
        district_code=district_code,
        birth_date=birth_date,
        sex=sex,
        serial=serial,
    )


def age_on(parsed: ParsedNik, day: date) -> int:
    """Age in completed years on ``day``, going by the birth date the NIK claims."""
    if day < parsed.birth_date:
        raise ValueError("the day is before the birth date in the NIK")
    return _age(parsed.birth_date, day)


# --- the checks, in the order parse_nik applies them ------------------------------------


def _check_shape(nik: str) -> None:
    if not nik:
        raise NikError("NIK is empty")
    if nik.isascii() and nik.isdigit():  # every character is one of _DIGITS
        if len(nik) != NIK_LENGTH:
            raise NikError(f"NIK must be {NIK_LENGTH} digits, got {len(nik)}")
        return
    for position, ch in enumerate(nik, start=1):
        if ch not in _DIGITS:
            raise NikError(f"NIK must contain only digits 0-9; position {position} is not one")
    if len(nik) != NIK_LENGTH:
        raise NikError(f"NIK must be {NIK_LENGTH} digits, got {len(nik)}")


def _check_region(
    province: str, regency_code: str, district_code: str, *, require_ntt: bool
) -> None:
    if province not in PROVINCE_CODES:
        raise NikError(f"NIK province {province} is not an Indonesian province code")
    if require_ntt and province != NTT_PROVINCE:
        raise NikError(f"NIK province {province} is not NTT ({NTT_PROVINCE})")
    if regency_code.endswith("00"):
        raise NikError(f"NIK regency {regency_code} is not a regency code")
    if province == NTT_PROVINCE and regency_code not in regencies():
        raise NikError(f"NIK regency {regency_code} is not an NTT regency (Kemendagri code)")
    if district_code.endswith("00"):
        raise NikError(f"NIK district {district_code} is not a district code")


def _decode_day_and_month(day_digits: str, month_digits: str) -> tuple[Sex, int, int]:
    """Sex and calendar day from the day field (women: day + 40), then the month."""
    day, month = int(day_digits), int(month_digits)
    sex: Sex
    if 1 + _FEMALE_DAY_OFFSET <= day <= 31 + _FEMALE_DAY_OFFSET:
        sex, day = "FEMALE", day - _FEMALE_DAY_OFFSET
    elif 1 <= day <= 31:
        sex = "MALE"
    else:
        raise NikError(f"NIK birth day {day_digits} is neither 01-31 (male) nor 41-71 (female)")
    if not 1 <= month <= 12:
        raise NikError(f"NIK birth month {month_digits} is not a month")
    if _date_or_none(_LEAP_YEAR, month, day) is None:
        raise NikError(f"NIK birth date {day:02d}/{month:02d} is not a date")
    return sex, day, month


def _resolve_birth_date(day: int, month: int, two_digit_year: int, today: date) -> date:
    """The birth date in the century that gives an age from 0 to 100 on ``today``."""
    # The years from today.year - _MAX_AGE - 1 to today.year that end in two_digit_year.
    earliest = today.year - _MAX_AGE - 1
    first = earliest + (two_digit_year - earliest) % 100
    years = [year for year in (first, first + 100) if year <= today.year]
    if not 0 <= two_digit_year <= 99:
        years = []
    dates = [d for d in (_date_or_none(year, month, day) for year in years) if d is not None]
    if not dates:  # only 29/02 gets here: valid in some years, not in these
        raise NikError(
            f"NIK birth date 29/02 is not a date in a year ending in {two_digit_year:02d}"
        )
    plausible = [d for d in dates if d <= today and _age(d, today) <= _MAX_AGE]
    if not plausible:
        raise NikError(
            f"NIK birth year {two_digit_year:02d} gives no age from 0 to {_MAX_AGE} "
            f"on {today.isoformat()}"
        )
    return max(plausible)


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _age(birth: date, day: date) -> int:
    had_birthday = (day.month, day.day) >= (birth.month, birth.day)
    return day.year - birth.year - (0 if had_birthday else 1)
