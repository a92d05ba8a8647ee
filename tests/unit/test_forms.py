"""Every agency's forms: each row checked and named by row and field, nothing personal
sent, recruiters matching across agencies, and the hotline's reporter kept secret."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from producers.fields import InvalidInputError
from producers.forms import FORMS, Desk, desk_for, forms_of, record, record_rows
from producers.pseudonym import Pseudonymiser, reporter_reference
from schemas import avro
from schemas.codec import to_dict
from schemas.model import (
    Agency,
    AlertAction,
    CaseSentToProsecutor,
    InterceptionRecorded,
    InvestigationOpened,
    LtsaRegistrationRecorded,
    NikStatus,
    Offence,
    PerpetratorRole,
    PlacementRegistered,
    PreventionActivityHeld,
    PreventionKind,
    Procedural,
    RepatriationCause,
    RepatriationKind,
    RepatriationRecorded,
    Sector,
    Sex,
    SuspectIdentified,
    SuspectStatus,
    TipConcern,
    TipReceived,
)
from schemas.serde import EventDeserializer, EventSerializer
from tests.unit.fakes import MemoryRegistry

NOW = datetime(2026, 1, 21, 0, 0, tzinfo=UTC)
KEY = b"k" * 32
HOTLINE_KEY = b"h" * 32
NIK = "5302014101900001"  # TTS, female, born 1 January 1990
NAME = "Maria Nenobais"
RECRUITER = "0812-3456-7890"
REPORTER = "0813-9876-5432"
CASE_A = "nik:" + "a" * 32
CASE_B = "weak:" + "b" * 32
ALERT = "3f1c0a52-6d1e-4b8e-9a55-0c4b2f1d7e11"
PLACES = {
    Agency.POST: "eltari",
    Agency.POLICE: "polda-ntt",
    Agency.BP3MI: "ntt",
    Agency.DISTRICT: "5302",
    Agency.HOTLINE: "sisaga",
}
PERSON = {"nik": NIK, "sex": "P", "origin_regency": "5302"}

VALID: dict[str, dict[str, str]] = {
    "interception": {
        **PERSON,
        "destination_country": "MY",
        "sector": "prt",
        "documents": "TOURIST_VISA;NOT_REGISTERED",
        "recruiter": RECRUITER,
        "group_ref": "ELT-20260120-01",
        "outcome": "dipulangkan",
        "officer": "ELT-07",
    },
    "investigation": {
        "investigation_ref": "LP/B/45/I/2026/SPKT/POLDA NTT",
        "offence": "penempatan ilegal",
        "case_ids": f"{CASE_A}; {CASE_B}",
        "recruiters": f"{RECRUITER}; Pak Budi Santoso",
        "alert_id": ALERT,
    },
    "suspect": {
        "investigation_ref": "lp/b/45/i/2026/spkt/polda  ntt",
        "recruiter": "+62 812 3456 7890",
        "role": "calo",
        "suspect_status": "dpo",
    },
    "prosecution": {
        "investigation_ref": "LP/B/45/I/2026/SPKT/POLDA NTT",
        "prosecutor_office": "kejati-ntt",
        "case_ids": CASE_A,
        "recruiters": RECRUITER,
    },
    "acknowledgement": {"alert_id": ALERT, "officer": "POLDA-12", "action": "diselidiki"},
    "placement": {
        **PERSON,
        "destination_country": "Taiwan",
        "sector": "perawat",
        "placement_company": "P3MI-017",
    },
    "repatriation": {
        **PERSON,
        "kind": "jenazah",
        "country": "MY",
        "procedural": "tidak",
        "cause": "sakit",
        "arrival_point": "eltari",
    },
    "ltsa": {**PERSON, "intended_country": "HK", "intended_sector": "prt"},
    "prevention": {
        "village": "Oelnasi",
        "kind": "sosialisasi",
        "attendance": "85",
        "attendance_women": "40",
    },
    "tip": {
        "tip_ref": "SISAGA-202601-0001",
        "reporter": REPORTER,
        "concern": "akan berangkat",
        "regency": "Timor Tengah Selatan",
        "exit_point": "tenau",
        "recruiter": "62 812 3456 7890",
        **PERSON,
        "expected_departure": "2026-01-25",
    },
}


@pytest.fixture
def pseudonymiser():
    return Pseudonymiser(KEY)


def desk(agency: Agency, pseudonymiser: Pseudonymiser) -> Desk:
    key = HOTLINE_KEY if agency is Agency.HOTLINE else None
    return desk_for(agency, PLACES[agency], pseudonymiser, reporter_key=key)


def row(form: str, **overrides: str) -> dict[str, str]:
    return {"occurred_at": "2026-01-20T08:30", **VALID[form], **overrides}


def rec(form: str, pseudonymiser: Pseudonymiser, **overrides: str):
    f = FORMS[form]
    return record(desk(f.agency, pseudonymiser), f, row(form, **overrides), now=NOW)


def test_every_agency_has_its_forms():
    names = {agency: [f.name for f in forms_of(agency)] for agency in PLACES}
    assert names == {
        Agency.POST: ["interception"],
        Agency.POLICE: ["investigation", "suspect", "prosecution", "acknowledgement"],
        Agency.BP3MI: ["placement", "repatriation"],
        Agency.DISTRICT: ["ltsa", "prevention"],
        Agency.HOTLINE: ["tip"],
    }
    assert set(VALID) == set(FORMS)
    for form in FORMS.values():
        assert list(form.columns)[:2] == ["event_id", "occurred_at"]
        assert "occurred_at" in form.required <= set(form.columns)


@pytest.mark.parametrize("name", sorted(VALID))
def test_a_valid_row_becomes_its_event_without_personal_data(name, pseudonymiser):
    form = FORMS[name]
    event = rec(name, pseudonymiser)
    assert type(event) is form.event_type
    assert event.envelope.agency == form.agency.value
    assert event.envelope.unit == desk(form.agency, pseudonymiser).unit
    assert event.envelope.schema_version == avro.load(form.event_type.event_type).version
    assert event.occurred_at == datetime(2026, 1, 20, 0, 30, tzinfo=UTC)  # 08:30 WITA
    uuid.UUID(event.event_id)
    flat = repr(to_dict(event))
    for secret in (NIK, "Nenobais", "Budi", "3456", "7890", "9876", "5432"):
        assert secret not in flat
    # and it is a valid Avro record of its schema, round-tripping through the wire format
    registry = MemoryRegistry()
    data = EventSerializer(registry, register=True)("t", event)
    assert EventDeserializer(registry)(data).event == event


def test_the_events_carry_what_the_rows_say(pseudonymiser):
    recruiter = pseudonymiser.recruiter(RECRUITER)
    inv = rec("investigation", pseudonymiser)
    assert isinstance(inv, InvestigationOpened)
    assert inv.offence is Offence.ILLEGAL_PLACEMENT
    assert inv.case_ids == (CASE_A, CASE_B)
    assert inv.recruiter_refs == (recruiter, pseudonymiser.recruiter("Budi Santoso"))
    assert inv.alert_id == ALERT
    suspect = rec("suspect", pseudonymiser)
    assert isinstance(suspect, SuspectIdentified)
    # the same report typed differently is the same investigation
    assert suspect.investigation_ref == inv.investigation_ref
    assert suspect.role is PerpetratorRole.RECRUITER
    assert suspect.suspect_status is SuspectStatus.WANTED
    sent = rec("prosecution", pseudonymiser)
    assert isinstance(sent, CaseSentToProsecutor)
    assert (sent.prosecutor_office, sent.case_ids) == ("kejati-ntt", (CASE_A,))
    ack = rec("acknowledgement", pseudonymiser)
    assert (ack.alert_id, ack.officer_ref, ack.action) == (
        ALERT,
        "POLDA-12",
        AlertAction.INVESTIGATING,
    )
    placed = rec("placement", pseudonymiser)
    assert isinstance(placed, PlacementRegistered)
    assert (placed.destination_country, placed.sector) == ("TW", Sector.CARE)
    assert placed.person.nik_pseudonym == pseudonymiser.nik(NIK)
    back = rec("repatriation", pseudonymiser)
    assert isinstance(back, RepatriationRecorded)
    assert back.kind is RepatriationKind.DECEASED
    assert back.procedural is Procedural.NON_PROCEDURAL
    assert (back.cause, back.arrival_point) == (RepatriationCause.ILLNESS, "eltari")
    ltsa = rec("ltsa", pseudonymiser)
    assert isinstance(ltsa, LtsaRegistrationRecorded)
    assert (ltsa.ltsa_regency, ltsa.intended_country) == ("5302", "HK")
    held = rec("prevention", pseudonymiser)
    assert isinstance(held, PreventionActivityHeld)
    assert (held.regency, held.kind) == ("5302", PreventionKind.VILLAGE_SOCIALISATION)
    assert (held.attendance, held.attendance_women) == (85, 40)
    tip = rec("tip", pseudonymiser)
    assert isinstance(tip, TipReceived)
    assert tip.concern is TipConcern.IMMINENT_DEPARTURE
    assert (tip.regency, tip.exit_point) == ("5302", "tenau")
    assert tip.subject is not None and tip.subject.key == placed.person.key
    assert tip.expected_departure == date(2026, 1, 25)


ERRORS = [
    (
        "interception",
        {"recruiter": "-", "outcome": "", "destination_country": "Malaysiaa"},
        {"recruiter", "outcome", "destination_country"},
    ),
    (
        "investigation",
        {"investigation_ref": "LP#45", "offence": "theft", "case_ids": "nik:xyz", "alert_id": "7"},
        {"investigation_ref", "offence", "case_ids", "alert_id"},
    ),
    ("suspect", {"recruiter": "", "role": "boss"}, {"recruiter", "role"}),
    (
        "prosecution",
        {"investigation_ref": "", "prosecutor_office": "Kejati NTT!"},
        {"investigation_ref", "prosecutor_office"},
    ),
    ("acknowledgement", {"alert_id": "", "officer": "Budi Santoso!"}, {"alert_id", "officer"}),
    (
        "placement",
        {"nik": "53020141019000", "destination_country": "", "placement_company": ""},
        {"nik", "destination_country", "placement_company"},
    ),
    (
        "repatriation",
        {"kind": "lost", "country": "Atlantis", "procedural": "maybe", "arrival_point": "dili"},
        {"kind", "country", "procedural", "arrival_point"},
    ),
    ("ltsa", {"nik": "", "intended_country": "XX", "sex": "X"}, {"nik", "intended_country", "sex"}),
    (
        "prevention",
        {"village": "Jl. Sudirman 12", "kind": "", "attendance": "lots"},
        {"village", "kind", "attendance"},
    ),
    (
        "tip",
        {"reporter": "", "concern": "gossip", "regency": "5372", "expected_departure": "soon"},
        {"reporter", "concern", "regency", "expected_departure"},
    ),
]


@pytest.mark.parametrize(("name", "overrides", "fields"), ERRORS, ids=[e[0] for e in ERRORS])
def test_each_forms_problems_are_named_by_row_and_field(name, overrides, fields, pseudonymiser):
    form = FORMS[name]
    with pytest.raises(InvalidInputError) as info:
        record(
            desk(form.agency, pseudonymiser), form, row(name, **overrides), row_number=4, now=NOW
        )
    assert {e.field for e in info.value.errors} == fields
    assert all(e.row == 4 for e in info.value.errors)
    assert str(info.value).startswith("row 4, field ")
    for secret in ("53020141019000", NIK, "Budi", "Sudirman"):
        assert secret not in str(info.value)


@pytest.mark.parametrize("name", sorted(VALID))
def test_every_form_refuses_the_future_unknown_columns_and_a_bad_event_id(name, pseudonymiser):
    with pytest.raises(InvalidInputError) as info:
        rec(name, pseudonymiser, occurred_at="2027-01-01T00:00", colour="red", event_id="x")
    messages = {e.field: e.message for e in info.value.errors}
    assert messages["occurred_at"] == "is in the future"
    assert messages["colour"].startswith("unknown column")
    assert messages["event_id"] == "expected a UUID"


@pytest.mark.parametrize("name", sorted(VALID))
def test_a_form_refuses_a_desk_of_another_agency(name, pseudonymiser):
    form = FORMS[name]
    other = Agency.BP3MI if form.agency is not Agency.BP3MI else Agency.POST
    wrong = desk(other, pseudonymiser)
    with pytest.raises(InvalidInputError, match=f"field form: a {other.value} desk cannot record"):
        record(wrong, form, row(name), now=NOW)
    with pytest.raises(InvalidInputError, match="cannot record"):
        record_rows(wrong, form, [row(name)], now=NOW)


def test_the_same_recruiter_phone_gives_the_same_ref_at_post_police_and_hotline(pseudonymiser):
    at_post = rec("interception", pseudonymiser)
    suspect = rec("suspect", pseudonymiser)
    investigation = rec("investigation", pseudonymiser)
    tip = rec("tip", pseudonymiser)
    assert isinstance(at_post, InterceptionRecorded)
    ref = at_post.recruiter_ref
    assert ref is not None
    assert suspect.recruiter_ref == ref
    assert tip.suspected_recruiter_ref == ref
    assert ref in investigation.recruiter_refs


def test_the_hotline_reporter_is_known_only_to_the_hotline(pseudonymiser):
    # The reporter happens to use the phone the posts know as a recruiter's.
    tip = rec("tip", pseudonymiser, reporter=RECRUITER)
    assert tip.reporter_ref == reporter_reference(HOTLINE_KEY, RECRUITER)
    shared = {
        pseudonymiser.recruiter(RECRUITER),
        pseudonymiser.nik("081234567890"),
        reporter_reference(KEY, RECRUITER),
    }
    assert tip.reporter_ref not in shared
    flat = repr(to_dict(tip))
    assert "081234567890" not in flat and "3456" not in flat
    # the derived event id is keyed with the hotline's key too, not the shared one
    other = desk_for(Agency.HOTLINE, "sisaga", pseudonymiser, reporter_key=b"o" * 32)
    again = record(other, FORMS["tip"], row("tip", reporter=RECRUITER), now=NOW)
    assert again.event_id != tip.event_id


def test_a_tip_names_a_person_only_when_the_row_does(pseudonymiser):
    person_columns = {c: "" for c in ("nik", "name", "sex", "birth_date", "estimated_age")}
    anonymous = rec("tip", pseudonymiser, **person_columns, origin_regency="")
    assert anonymous.subject is None
    by_name = rec("tip", pseudonymiser, **dict(person_columns, name=NAME, estimated_age="19"))
    assert by_name.subject is not None and by_name.subject.nik_status is NikStatus.ABSENT
    with pytest.raises(InvalidInputError, match="field nik: a NIK is required"):
        rec("tip", pseudonymiser, **dict(person_columns, sex="P"))


def test_only_interceptions_accept_a_failing_nik_with_forged_documents(pseudonymiser):
    impossible = "5302013102900001"  # 31 February
    forged = rec("interception", pseudonymiser, nik=impossible, documents="FORGED")
    assert forged.person.nik_status is NikStatus.INVALID
    with pytest.raises(InvalidInputError) as info:
        rec("repatriation", pseudonymiser, nik=impossible)
    assert "FORGED" not in str(info.value)
    assert {e.field for e in info.value.errors} == {"nik"}


def test_a_person_without_nik_is_matched_weakly_with_the_same_rules_everywhere(pseudonymiser):
    by_name = {"nik": "", "name": NAME, "sex": "P", "birth_date": "1990-01-01"}
    keys = {rec(form, pseudonymiser, **by_name).person.key for form in ("placement", "ltsa")}
    keys.add(rec("interception", pseudonymiser, **by_name).person.key)
    assert len(keys) == 1 and next(iter(keys)).startswith("weak:")
    with pytest.raises(InvalidInputError, match="field sex: does not match the NIK"):
        rec("placement", pseudonymiser, sex="L")


def test_attendance_of_women_cannot_exceed_attendance(pseudonymiser):
    with pytest.raises(InvalidInputError, match="field attendance_women: cannot be more"):
        rec("prevention", pseudonymiser, attendance="10", attendance_women="11")


@pytest.mark.parametrize("name", sorted(VALID))
def test_importing_the_same_rows_twice_gives_the_same_event_ids(name, pseudonymiser):
    form = FORMS[name]
    d = desk(form.agency, pseudonymiser)
    rows = [row(name), row(name, occurred_at="2026-01-19T10:00")]
    first = [e.event_id for e in record_rows(d, form, rows, now=NOW)]
    again = [e.event_id for e in record_rows(d, form, [dict(r) for r in rows], now=NOW)]
    assert first == again and len(set(first)) == 2
    own = str(uuid.uuid4())
    assert record(d, form, row(name, event_id=own), now=NOW).event_id == own


def test_a_file_is_refused_whole_with_spreadsheet_row_numbers(pseudonymiser):
    form = FORMS["placement"]
    rows = [row("placement"), row("placement", sector=""), row("placement", nik="123")]
    with pytest.raises(InvalidInputError) as info:
        record_rows(desk(Agency.BP3MI, pseudonymiser), form, rows, now=NOW)
    assert [(e.row, e.field) for e in info.value.errors] == [(3, "sector"), (4, "nik")]


@pytest.mark.parametrize(
    ("agency", "place", "unit"),
    [
        (Agency.POST, "tenau", "post-tenau"),
        (Agency.POST, "post-eltari", "post-eltari"),
        (Agency.POLICE, "polda-ntt", "police-polda-ntt"),
        (Agency.POLICE, "police-polres-5302", "police-polres-5302"),
        (Agency.BP3MI, "bp3mi-ntt", "bp3mi-ntt"),
        (Agency.DISTRICT, "Kupang", "district-5301"),
        (Agency.DISTRICT, "district-5371", "district-5371"),
        ("hotline", "hotline-sisaga", "hotline-sisaga"),
    ],
)
def test_desks_are_found_by_place_or_unit(agency, place, unit, pseudonymiser):
    key = HOTLINE_KEY if agency == "hotline" else None
    found = desk_for(agency, place, pseudonymiser, reporter_key=key)
    assert found.unit == unit


@pytest.mark.parametrize(
    ("agency", "place", "key", "message"),
    [
        (Agency.POST, "dili", None, "unknown post"),
        (Agency.POLICE, "polres-9999", None, "unknown police unit"),
        (Agency.BP3MI, "kepri", None, "unknown BP3MI office"),
        (Agency.DISTRICT, "5372", None, "Kemendagri"),
        (Agency.HOTLINE, "sisaga", None, "needs its own reporter key"),
        (Agency.HOTLINE, "sisaga", KEY, "not the key the members share"),
        (Agency.POST, "eltari", HOTLINE_KEY, "only the hotline holds a reporter key"),
        (Agency.HUB, "hub", None, "records no forms"),
        ("customs", "x", None, "unknown agency"),
    ],
)
def test_unknown_desks_are_refused(agency, place, key, message, pseudonymiser):
    with pytest.raises(InvalidInputError, match=message) as info:
        desk_for(agency, place, pseudonymiser, reporter_key=key)
    assert info.value.errors[0].field in {"unit", "reporter_key"}


def test_the_hotline_key_is_never_shown(pseudonymiser):
    assert repr(HOTLINE_KEY) not in repr(desk(Agency.HOTLINE, pseudonymiser))


def test_sex_aliases_and_nik_agree(pseudonymiser):
    assert rec("ltsa", pseudonymiser, sex="perempuan").person.sex is Sex.FEMALE
