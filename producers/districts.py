"""The districts' (*kabupaten/kota*) forms: LTSA registrations of candidate migrant
workers, and prevention activities of the districts and village task forces.

A district desk belongs to one regency, which both forms take from the desk rather
than the row: a district records what happens in its own territory.
"""

from __future__ import annotations

from datetime import datetime

from producers.fields import RowReader, parse_country, parse_enum, parse_int, parse_text
from producers.formkit import COMMON_COLUMNS, SECTOR, Desk, Form, envelope, must, read_occurred
from producers.person import PERSON_COLUMNS, read_person
from schemas.contract import ATTENDANCE_MAX, VILLAGE_MAX, is_place_name
from schemas.model import (
    Agency,
    LtsaRegistrationRecorded,
    PreventionActivityHeld,
    PreventionKind,
    Sector,
)

ATTENDANCE = parse_int(0, ATTENDANCE_MAX)

PREVENTION_KIND = parse_enum(
    PreventionKind,
    {
        "sosialisasi": PreventionKind.VILLAGE_SOCIALISATION,
        "sosialisasi_desa": PreventionKind.VILLAGE_SOCIALISATION,
        "sekolah": PreventionKind.SCHOOL_SESSION,
        "sosialisasi_sekolah": PreventionKind.SCHOOL_SESSION,
        "ibadah": PreventionKind.RELIGIOUS_GATHERING,
        "gereja": PreventionKind.RELIGIOUS_GATHERING,
        "masjid": PreventionKind.RELIGIOUS_GATHERING,
        "radio": PreventionKind.RADIO_BROADCAST,
        "rapat_gugus_tugas": PreventionKind.TASK_FORCE_MEETING,
        "rapat_satgas": PreventionKind.TASK_FORCE_MEETING,
        "lainnya": PreventionKind.OTHER,
    },
)


# A village (desa/kelurahan) name: letters, spaces and ' . - only, at most VILLAGE_MAX
# (schemas.contract.is_place_name). A place, never a person: no digits or free text that
# could carry personal data.
parse_village = parse_text(
    VILLAGE_MAX,
    is_place_name,
    f"expected a village name of letters, spaces and ' . - (at most {VILLAGE_MAX})",
)


def _ltsa(r: RowReader, desk: Desk, now: datetime) -> LtsaRegistrationRecorded | None:
    occurred = read_occurred(r, now)
    person = read_person(r, desk.pseudonymiser, occurred=occurred, today=now.date())
    country = r.get("intended_country", parse_country)
    sector = r.get("intended_sector", SECTOR) or Sector.UNKNOWN
    if r.errors:
        return None
    return LtsaRegistrationRecorded(
        envelope=envelope(LtsaRegistrationRecorded, r, desk, must(occurred), now),
        person=must(person),
        ltsa_regency=must(desk.regency),
        intended_country=country,
        intended_sector=sector,
    )


LTSA = Form(
    agency=Agency.DISTRICT,
    name="ltsa",
    event_type=LtsaRegistrationRecorded,
    columns={
        **COMMON_COLUMNS,
        **PERSON_COLUMNS,
        "intended_country": "country the candidate means to work in: ISO code or English name",
        "intended_sector": "intended work: DOMESTIC_WORK (prt), PLANTATION, ...",
    },
    required=frozenset({"occurred_at"}),
    build=_ltsa,
)


def _prevention(r: RowReader, desk: Desk, now: datetime) -> PreventionActivityHeld | None:
    occurred = read_occurred(r, now)
    village = r.get("village", parse_village)
    kind = r.get("kind", PREVENTION_KIND)
    attendance = r.get("attendance", ATTENDANCE)
    women = r.get("attendance_women", ATTENDANCE)
    if women is not None and attendance is not None and women > attendance:
        r.fail("attendance_women", "cannot be more than attendance")
    if r.errors:
        return None
    return PreventionActivityHeld(
        envelope=envelope(PreventionActivityHeld, r, desk, must(occurred), now),
        regency=must(desk.regency),
        village=must(village),
        kind=must(kind),
        attendance=must(attendance),
        attendance_women=women,
    )


PREVENTION = Form(
    agency=Agency.DISTRICT,
    name="prevention",
    event_type=PreventionActivityHeld,
    columns={
        **COMMON_COLUMNS,
        "village": "village (desa/kelurahan) name: a place, not a person",
        "kind": "VILLAGE_SOCIALISATION (sosialisasi), SCHOOL_SESSION, RELIGIOUS_GATHERING, ...",
        "attendance": f"people who attended (0-{ATTENDANCE_MAX})",
        "attendance_women": "of whom women, when counted",
    },
    required=frozenset({"occurred_at", "village", "kind", "attendance"}),
    build=_prevention,
)
