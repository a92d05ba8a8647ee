"""The person columns every form about a person shares, and how they become a :class:`Person`.

A NIK is validated (structure, province and NTT regency codes, birth date with women's
day + 40) and must agree with the sex and birth date the row gives. A NIK failing the
checks is accepted only when the form says the documents are forged (only the posts'
interceptions record documents), as evidence. Without a NIK, a weaker pseudonym comes
from the name, the birth date (or the year from an estimated age) and the origin
regency; the ledger never merges it with a NIK case. Nothing raw leaves this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from producers.fields import (
    FieldError,
    RowReader,
    parse_date,
    parse_enum,
    parse_int,
    parse_regency,
)
from producers.pseudonym import Pseudonymiser
from schemas import contract
from schemas import nik as niks
from schemas.model import NikStatus, Person, Sex

PERSON_COLUMNS: Mapping[str, str] = {
    "nik": "16-digit NIK (pseudonymised at the desk, never sent)",
    "name": "name, used only when there is no NIK (pseudonymised, never sent)",
    "sex": "F/P (perempuan) or M/L (laki-laki)",
    "birth_date": "birth date, YYYY-MM-DD",
    "estimated_age": "age in years, when the birth date is unknown",
    "origin_regency": "regency the person comes from: Kemendagri code or name",
}

SEX = parse_enum(
    Sex,
    {
        "f": Sex.FEMALE,
        "p": Sex.FEMALE,
        "perempuan": Sex.FEMALE,
        "wanita": Sex.FEMALE,
        "m": Sex.MALE,
        "l": Sex.MALE,
        "laki-laki": Sex.MALE,
        "laki_laki": Sex.MALE,
        "pria": Sex.MALE,
    },
)


AGE = parse_int(contract.AGE_MIN, contract.AGE_MAX)


def parse_birth_date(text: str) -> date:
    """A birth date, not before :data:`schemas.contract.EARLIEST_BIRTH`."""
    born = parse_date(text)
    if born < contract.EARLIEST_BIRTH:
        raise FieldError("", f"must not be before {contract.EARLIEST_BIRTH.isoformat()}")
    return born


@dataclass(frozen=True)
class _Claims:
    """What the row says about the person besides the NIK and name."""

    sex: Sex
    born: date | None
    estimated_age: int | None
    origin: str | None


def has_person(r: RowReader) -> bool:
    """Whether any person column of the row is filled."""
    return any(r.raw(column) for column in PERSON_COLUMNS)


def read_person(
    r: RowReader,
    pseudonymiser: Pseudonymiser,
    *,
    occurred: datetime | None,
    today: date,
    forged: bool | None = None,
) -> Person | None:
    """Check the person columns, then pseudonymise; None (with errors in ``r``) if invalid.

    ``occurred`` turns an estimated age into a birth year. ``forged`` says whether the
    row records forged documents, which makes a NIK that fails the checks acceptable;
    None when the form records no documents at all.
    """
    claims = _Claims(
        sex=r.get("sex", SEX) or Sex.UNKNOWN,
        born=r.get("birth_date", parse_birth_date),
        estimated_age=r.get("estimated_age", AGE),
        origin=r.get("origin_regency", parse_regency),
    )
    if r.raw("nik"):
        return _person_by_nik(r, pseudonymiser, claims, forged=forged, today=today)
    return _person_by_name(r, pseudonymiser, claims, occurred)


def _person_by_name(
    r: RowReader, pseudonymiser: Pseudonymiser, claims: _Claims, occurred: datetime | None
) -> Person | None:
    name = r.raw("name")
    if not name:
        r.fail("nik", "a NIK is required, or else a name with birth date or age and origin")
        return None
    birth: date | int | None = claims.born
    if birth is None and claims.estimated_age is not None and occurred is not None:
        birth = occurred.year - claims.estimated_age
    if birth is None or claims.origin is None:
        r.fail("name", "matching by name needs birth_date (or estimated_age) and origin_regency")
        return None
    return Person(
        weak_pseudonym=pseudonymiser.weak(name, birth, claims.origin),
        nik_status=NikStatus.ABSENT,
        sex=claims.sex,
        birth_date=claims.born,
        estimated_age=claims.estimated_age,
        origin_regency=claims.origin,
    )


def _person_by_nik(
    r: RowReader,
    pseudonymiser: Pseudonymiser,
    claims: _Claims,
    *,
    forged: bool | None,
    today: date,
) -> Person | None:
    digits = niks.normalise_nik(r.raw("nik"))
    try:
        parsed = niks.parse_nik(digits, today=today)
    except niks.NikError as exc:
        # A well-formed NIK that fails the checks is evidence when documents are forged.
        if forged and len(digits) == niks.NIK_LENGTH and digits.isdigit():
            return Person(
                nik_pseudonym=pseudonymiser.nik(digits),
                nik_status=NikStatus.INVALID,
                sex=claims.sex,
                birth_date=claims.born,
                estimated_age=claims.estimated_age,
                origin_regency=claims.origin,
            )
        well_formed = len(digits) == niks.NIK_LENGTH
        hint = (
            " (accepted only with documents FORGED)" if well_formed and forged is not None else ""
        )
        r.fail("nik", f"{exc}{hint}")
        return None
    nik_sex = Sex(parsed.sex)
    if claims.sex is not Sex.UNKNOWN and claims.sex is not nik_sex:
        r.fail("sex", f"does not match the NIK, which is of a {nik_sex.value.lower()}")
    if claims.born is not None and claims.born != parsed.birth_date:
        r.fail("birth_date", "does not match the birth date in the NIK")
    return Person(
        nik_pseudonym=pseudonymiser.nik(parsed.nik),
        nik_status=NikStatus.VALID,
        sex=nik_sex,
        birth_date=parsed.birth_date,
        origin_regency=claims.origin,
    )
