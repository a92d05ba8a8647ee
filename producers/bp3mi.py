"""BP3MI NTT's forms: procedural placements and repatriations (deported, sick, deceased
(*jenazah*), voluntary, trafficking victims), procedural or not.

The person is identified with the same columns and rules as at the posts, so a worker
intercepted once and later placed, or repatriated, meets their earlier case.
"""

from __future__ import annotations

from datetime import datetime

from producers.fields import RowReader, parse_code, parse_country, parse_enum
from producers.formkit import (
    COMMON_COLUMNS,
    SECTOR,
    Desk,
    Form,
    envelope,
    must,
    parse_exit_point,
    read_occurred,
)
from producers.person import PERSON_COLUMNS, read_person
from schemas.model import (
    Agency,
    PlacementRegistered,
    Procedural,
    RepatriationCause,
    RepatriationKind,
    RepatriationRecorded,
)

# BP3MI offices that record here: the NTT provincial service.
UNITS = ("ntt",)

KIND = parse_enum(
    RepatriationKind,
    {
        "deportasi": RepatriationKind.DEPORTED,
        "dideportasi": RepatriationKind.DEPORTED,
        "sakit": RepatriationKind.SICK,
        "jenazah": RepatriationKind.DECEASED,
        "meninggal": RepatriationKind.DECEASED,
        "meninggal_dunia": RepatriationKind.DECEASED,
        "sukarela": RepatriationKind.VOLUNTARY,
        "mandiri": RepatriationKind.VOLUNTARY,
        "korban_tppo": RepatriationKind.TRAFFICKING_VICTIM,
        "korban_perdagangan_orang": RepatriationKind.TRAFFICKING_VICTIM,
    },
)
PROCEDURAL = parse_enum(
    Procedural,
    {
        "yes": Procedural.PROCEDURAL,
        "ya": Procedural.PROCEDURAL,
        "prosedural": Procedural.PROCEDURAL,
        "no": Procedural.NON_PROCEDURAL,
        "tidak": Procedural.NON_PROCEDURAL,
        "non_prosedural": Procedural.NON_PROCEDURAL,
        "nonprosedural": Procedural.NON_PROCEDURAL,
        "ilegal": Procedural.NON_PROCEDURAL,
        "tidak_diketahui": Procedural.UNKNOWN,
    },
)
CAUSE = parse_enum(
    RepatriationCause,
    {
        "sakit": RepatriationCause.ILLNESS,
        "penyakit": RepatriationCause.ILLNESS,
        "kecelakaan": RepatriationCause.ACCIDENT,
        "kekerasan": RepatriationCause.VIOLENCE,
        "penganiayaan": RepatriationCause.VIOLENCE,
        "kecelakaan_kerja": RepatriationCause.WORK_RELATED,
        "lainnya": RepatriationCause.OTHER,
        "tidak_diketahui": RepatriationCause.UNKNOWN,
    },
)


def _placement(r: RowReader, desk: Desk, now: datetime) -> PlacementRegistered | None:
    occurred = read_occurred(r, now)
    person = read_person(r, desk.pseudonymiser, occurred=occurred, today=now.date())
    country = r.get("destination_country", parse_country)
    sector = r.get("sector", SECTOR)
    company = r.get("placement_company", parse_code)
    if r.errors:
        return None
    return PlacementRegistered(
        envelope=envelope(PlacementRegistered, r, desk, must(occurred), now),
        person=must(person),
        destination_country=must(country),
        sector=must(sector),
        placement_company=must(company),
    )


PLACEMENT = Form(
    agency=Agency.BP3MI,
    name="placement",
    event_type=PlacementRegistered,
    columns={
        **COMMON_COLUMNS,
        **PERSON_COLUMNS,
        "destination_country": "country of placement: ISO 3166-1 alpha-2 code or English name",
        "sector": "the job's sector: DOMESTIC_WORK (prt), PLANTATION, MANUFACTURING, ...",
        "placement_company": "licence code of the placement company (P3MI)",
    },
    required=frozenset({"occurred_at", "destination_country", "sector", "placement_company"}),
    build=_placement,
)


def _repatriation(r: RowReader, desk: Desk, now: datetime) -> RepatriationRecorded | None:
    occurred = read_occurred(r, now)
    person = read_person(r, desk.pseudonymiser, occurred=occurred, today=now.date())
    kind = r.get("kind", KIND)
    country = r.get("country", parse_country)
    procedural = r.get("procedural", PROCEDURAL) or Procedural.UNKNOWN
    cause = r.get("cause", CAUSE)
    arrival = r.get("arrival_point", parse_exit_point)
    if r.errors:
        return None
    return RepatriationRecorded(
        envelope=envelope(RepatriationRecorded, r, desk, must(occurred), now),
        person=must(person),
        kind=must(kind),
        country=must(country),
        procedural=procedural,
        cause=cause,
        arrival_point=arrival,
    )


REPATRIATION = Form(
    agency=Agency.BP3MI,
    name="repatriation",
    event_type=RepatriationRecorded,
    columns={
        **COMMON_COLUMNS,
        **PERSON_COLUMNS,
        "kind": "DEPORTED, SICK, DECEASED (jenazah), VOLUNTARY, TRAFFICKING_VICTIM",
        "country": "country returned from: ISO 3166-1 alpha-2 code or English name",
        "procedural": "had the person left procedurally: yes/ya, no/tidak, unknown",
        "cause": "cause of illness or death: ILLNESS, ACCIDENT, VIOLENCE, WORK_RELATED, ...",
        "arrival_point": "exit point id where the person (or body) arrived, e.g. eltari",
    },
    required=frozenset({"occurred_at", "kind", "country"}),
    build=_repatriation,
)
