"""The posts' (posko) producer: interceptions from the CLI or a CSV file.

A row holds what the officer knows, raw: NIK, name, the recruiter's phone. It is
validated and pseudonymised here, and only the :class:`InterceptionRecorded`
event leaves the post: no NIK, no name, no phone number.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from producers.fields import (
    FieldError,
    InvalidInputError,
    RowReader,
    parse_choice,
    parse_code,
    parse_country,
    parse_date,
    parse_enum,
    parse_int,
    parse_list,
    parse_moment,
    parse_regency,
)
from producers.pseudonym import Pseudonymiser
from schemas import nik as niks
from schemas import reference
from schemas.model import (
    DocumentIssue,
    InterceptionOutcome,
    InterceptionRecorded,
    NikStatus,
    Person,
    Sector,
    Sex,
    envelope_for,
)

SEX = parse_enum(
    Sex,
    {
        "f": Sex.FEMALE,
        "p": Sex.FEMALE,
        "perempuan": Sex.FEMALE,
        "m": Sex.MALE,
        "l": Sex.MALE,
        "laki-laki": Sex.MALE,
        "laki_laki": Sex.MALE,
    },
)
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
DOCUMENTS = parse_list(
    parse_enum(
        DocumentIssue,
        {
            "tanpa_dokumen": DocumentIssue.NONE_HELD,
            "visa_turis": DocumentIssue.TOURIST_VISA,
            "visa_kunjungan": DocumentIssue.VISIT_VISA,
            "palsu": DocumentIssue.FORGED,
            "di_bawah_umur": DocumentIssue.UNDER_AGE,
            "tanpa_visa_kerja": DocumentIssue.NO_WORK_VISA,
            "tanpa_bpjs": DocumentIssue.NO_INSURANCE,
            "tidak_terdaftar": DocumentIssue.NOT_REGISTERED,
            "tanpa_pelatihan": DocumentIssue.NO_TRAINING,
        },
    )
)
OUTCOME = parse_enum(
    InterceptionOutcome,
    {
        "dipulangkan": InterceptionOutcome.SENT_HOME,
        "diserahkan_ke_polisi": InterceptionOutcome.HANDED_TO_POLICE,
        "polisi": InterceptionOutcome.HANDED_TO_POLICE,
        "shelter": InterceptionOutcome.SHELTERED,
        "dilepas": InterceptionOutcome.RELEASED,
    },
)

# The columns of an interception CSV (and the options of `sinergi post record`).
COLUMNS = (
    "event_id", "occurred_at", "nik", "name", "sex", "birth_date", "estimated_age",
    "origin_regency", "destination_country", "sector", "exit_point", "route", "documents",
    "recruiter", "group_ref", "outcome", "officer",
)  # fmt: skip


@dataclass(frozen=True)
class PostDesk:
    """One post's producer: who publishes, with which key."""

    post: reference.Post
    pseudonymiser: Pseudonymiser

    @property
    def unit(self) -> str:
        return f"post-{self.post.post_id}"

    def interception(
        self,
        row: Mapping[str, str | None],
        *,
        row_number: int | None = None,
        now: datetime | None = None,
    ) -> InterceptionRecorded:
        """Validate one row and build its event; raises InvalidInputError naming each field."""
        now = now or datetime.now(UTC)
        r = RowReader(row, row_number)
        unknown = sorted(set(r.row) - set(COLUMNS))
        for column in unknown:
            r.fail(column, f"unknown column; expected {', '.join(COLUMNS)}")
        occurred = r.get("occurred_at", lambda t: parse_moment(t, now=now), required=True)
        documents = r.get("documents", DOCUMENTS) or ()
        sex = r.get("sex", SEX) or Sex.UNKNOWN
        birth_date = r.get("birth_date", parse_date)
        estimated_age = r.get("estimated_age", parse_int(0, 100))
        origin = r.get("origin_regency", parse_regency)
        person = self._person(
            r, documents, sex, birth_date, estimated_age, origin, occurred, now.date()
        )
        exit_points = reference.exit_points()
        exit_point = r.get("exit_point", parse_choice(exit_points, "exit point"))
        route = r.get("route", parse_choice(reference.routes(), "route"))
        country = r.get("destination_country", parse_country)
        sector = r.get("sector", SECTOR) or Sector.UNKNOWN
        recruiter = r.get("recruiter", self.pseudonymiser.recruiter)
        group = r.get("group_ref", parse_code)
        outcome = r.get("outcome", OUTCOME, required=True)
        officer = r.get("officer", parse_code, required=True)
        event_id = r.get("event_id", parse_uuid) or row_event_id(self.unit, r.row)
        r.done()
        assert occurred is not None and outcome is not None and officer is not None
        assert person is not None
        return InterceptionRecorded(
            envelope=envelope_for(
                InterceptionRecorded,
                unit=self.unit,
                occurred_at=occurred,
                recorded_at=now,
                event_id=event_id,
            ),
            person=person,
            post_id=self.post.post_id,
            officer_ref=officer,
            exit_point=exit_point or self.post.exit_point_id,
            route=route,
            destination_country=country,
            intended_sector=sector,
            documents=documents,
            recruiter_ref=recruiter,
            group_ref=group,
            outcome=outcome,
        )

    def _person(
        self,
        r: RowReader,
        documents: tuple[DocumentIssue, ...],
        sex: Sex,
        born: date | None,
        estimated_age: int | None,
        origin: str | None,
        occurred: datetime | None,
        today: date,
    ) -> Person | None:
        """Check the NIK against what else the row says, then pseudonymise."""
        if r.raw("nik"):
            return self._person_by_nik(r, documents, sex, born, estimated_age, origin, today)
        name = r.raw("name")
        if not name:
            r.fail("nik", "a NIK is required, or else a name with birth date or age and origin")
            return None
        birth: date | int | None = born
        if birth is None and estimated_age is not None and occurred is not None:
            birth = occurred.year - estimated_age
        if birth is None or origin is None:
            r.fail(
                "name", "matching by name needs birth_date (or estimated_age) and origin_regency"
            )
            return None
        return Person(
            weak_pseudonym=self.pseudonymiser.weak(name, birth, origin),
            nik_status=NikStatus.ABSENT,
            sex=sex,
            birth_date=born,
            estimated_age=estimated_age,
            origin_regency=origin,
        )

    def _person_by_nik(
        self,
        r: RowReader,
        documents: tuple[DocumentIssue, ...],
        sex: Sex,
        born: date | None,
        estimated_age: int | None,
        origin: str | None,
        today: date,
    ) -> Person | None:
        digits = niks.normalise_nik(r.raw("nik"))
        try:
            parsed = niks.parse_nik(digits, today=today)
        except niks.NikError as exc:
            # A well-formed NIK that fails the checks is evidence when documents are forged.
            if DocumentIssue.FORGED in documents and len(digits) == 16 and digits.isdigit():
                return Person(
                    nik_pseudonym=self.pseudonymiser.nik(digits),
                    nik_status=NikStatus.INVALID,
                    sex=sex,
                    birth_date=born,
                    estimated_age=estimated_age,
                    origin_regency=origin,
                )
            hint = " (accepted only with documents FORGED)" if len(digits) == 16 else ""
            r.fail("nik", f"{exc}{hint}")
            return None
        nik_sex = Sex(parsed.sex)
        if sex is not Sex.UNKNOWN and sex is not nik_sex:
            r.fail("sex", f"does not match the NIK, which is of a {nik_sex.value.lower()}")
        if born is not None and born != parsed.birth_date:
            r.fail("birth_date", "does not match the birth date in the NIK")
        return Person(
            nik_pseudonym=self.pseudonymiser.nik(parsed.nik),
            nik_status=NikStatus.VALID,
            sex=nik_sex,
            birth_date=parsed.birth_date,
            origin_regency=origin,
        )


# Ids of rows without one are derived from the row, so importing a file twice stores it once.
_ROW_NAMESPACE = uuid.UUID("5b1e4c2a-9d1f-4e0b-8c55-3a1f6d2b7e90")


def row_event_id(unit: str, row: Mapping[str, str]) -> str:
    content = "\x1f".join(f"{k}={row[k]}" for k in sorted(row) if row[k])
    return str(uuid.uuid5(_ROW_NAMESPACE, f"{unit}\x1e{content}"))


def parse_uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise FieldError("", "expected a UUID") from None


def read_csv(path: Path) -> list[dict[str, str | None]]:
    """Rows of a CSV file (UTF-8, with or without BOM), header names lower-cased."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [dict(row) for row in csv.DictReader(handle)]
    except UnicodeDecodeError:
        raise InvalidInputError([FieldError("file", "is not UTF-8 text")]) from None


def interceptions_from_rows(
    desk: PostDesk, rows: Iterable[Mapping[str, str | None]], *, now: datetime | None = None
) -> list[InterceptionRecorded]:
    """Validate every row (numbered as in a spreadsheet: header is row 1) before any send."""
    events: list[InterceptionRecorded] = []
    errors: list[FieldError] = []
    for number, row in enumerate(rows, start=2):
        try:
            events.append(desk.interception(row, row_number=number, now=now))
        except InvalidInputError as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInputError(errors)
    return events
