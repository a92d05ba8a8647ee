"""The post's producer: every row checked, every problem named by row and field,
and nothing personal leaves the post."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from producers import posts
from producers.fields import InvalidInputError
from producers.forms import FORMS, Desk, desk_for, read_csv, record, record_rows
from producers.pseudonym import Pseudonymiser
from producers.simulate import Simulator
from schemas import crypto
from schemas.codec import to_dict
from schemas.model import DocumentIssue, InterceptionOutcome, NikStatus, Sector, Sex

INTERCEPTION = FORMS["interception"]
COLUMNS = tuple(INTERCEPTION.columns)


def intercept(desk: Desk, row: dict, **kwargs):
    return record(desk, INTERCEPTION, row, **kwargs)


NOW = datetime(2026, 1, 21, 0, 0, tzinfo=UTC)
KEY = b"k" * 32
NIK = "5302014101900001"  # TTS, female, born 1 January 1990


@pytest.fixture
def desk():
    return desk_for("post", "eltari", Pseudonymiser(KEY))


def row(**overrides):
    base = {
        "occurred_at": "2026-01-20T08:30",
        "nik": NIK,
        "sex": "P",
        "origin_regency": "5302",
        "destination_country": "MY",
        "sector": "prt",
        "documents": "TOURIST_VISA; not_registered",
        "recruiter": "0812-3456-7890",
        "group_ref": "ELT-20260120-01",
        "outcome": "dipulangkan",
        "officer": "ELT-07",
    }
    base.update(overrides)
    return base


def test_a_valid_row_becomes_an_interception_without_personal_data(desk):
    event = intercept(desk, row(), now=NOW)
    assert event.person.nik_status is NikStatus.VALID
    assert event.person.sex is Sex.FEMALE
    assert event.person.birth_date == date(1990, 1, 1)
    assert event.intended_sector is Sector.DOMESTIC_WORK
    assert event.documents == (DocumentIssue.TOURIST_VISA, DocumentIssue.NOT_REGISTERED)
    assert event.outcome is InterceptionOutcome.SENT_HOME
    assert event.exit_point == "eltari"
    assert event.envelope.unit == "post-eltari" and event.envelope.agency == "post"
    # WITA is UTC+8: 08:30 in Kupang is 00:30 UTC.
    assert event.occurred_at == datetime(2026, 1, 20, 0, 30, tzinfo=UTC)
    flat = repr(to_dict(event))
    assert NIK not in flat and "3456" not in flat


def test_the_same_nik_and_recruiter_give_the_same_pseudonyms_at_every_post(desk):
    other = desk_for("post", "tenau", Pseudonymiser(KEY))
    a = intercept(desk, row(), now=NOW)
    b = intercept(other, row(recruiter="+62 812 3456 7890"), now=NOW)
    assert a.person.nik_pseudonym == b.person.nik_pseudonym
    assert a.recruiter_ref == b.recruiter_ref


def test_every_problem_in_a_row_is_reported_by_field(desk):
    bad = row(
        nik="53020141019000",
        destination_country="Malaysiaa",
        outcome="",
        officer="Budi Santoso!",
        exit_point="dili",
    )
    with pytest.raises(InvalidInputError) as info:
        intercept(desk, bad, row_number=7, now=NOW)
    fields = {e.field for e in info.value.errors}
    assert fields == {"nik", "destination_country", "outcome", "officer", "exit_point"}
    assert all(e.row == 7 for e in info.value.errors)
    assert "row 7, field nik: NIK must be 16 digits" in str(info.value)
    assert "53020141019000" not in str(info.value)


def test_the_sex_must_agree_with_the_nik(desk):
    with pytest.raises(InvalidInputError, match="field sex: does not match the NIK"):
        intercept(desk, row(sex="L"), now=NOW)


def test_a_failing_nik_is_accepted_only_as_evidence_of_forged_documents(desk):
    impossible = "5302013102900001"  # 31 February
    with pytest.raises(InvalidInputError, match="accepted only with documents FORGED"):
        intercept(desk, row(nik=impossible), now=NOW)
    event = intercept(desk, row(nik=impossible, documents="FORGED"), now=NOW)
    assert event.person.nik_status is NikStatus.INVALID
    assert event.person.nik_pseudonym


def test_without_nik_a_weak_match_needs_name_birth_and_origin(desk):
    with pytest.raises(InvalidInputError, match="matching by name needs"):
        intercept(desk, row(nik="", name="Maria Nenobais", origin_regency=""), now=NOW)
    event = intercept(desk, row(nik="", name="Maria Nenobais", estimated_age="24"), now=NOW)
    assert event.person.nik_pseudonym is None
    assert event.person.weak_pseudonym
    assert event.person.key and event.person.key.startswith("weak:")


def test_a_bps_code_is_not_silently_taken_for_a_kemendagri_code(desk):
    # 5371 is Kota Kupang in both schemes, but 5372 is in neither; names are accepted.
    with pytest.raises(InvalidInputError, match="Kemendagri"):
        intercept(desk, row(origin_regency="5372"), now=NOW)
    assert (
        intercept(desk, row(origin_regency="Timor Tengah Selatan"), now=NOW).person.origin_regency
        == "5302"
    )


def test_a_future_interception_is_refused(desk):
    with pytest.raises(InvalidInputError, match="field occurred_at: is in the future"):
        intercept(desk, row(occurred_at="2027-01-01T00:00"), now=NOW)


def test_unknown_columns_are_refused_so_typos_do_not_drop_data(desk):
    with pytest.raises(InvalidInputError, match="field destinaton: unknown column"):
        intercept(desk, row(destinaton="MY"), now=NOW)


def test_a_file_is_refused_whole_listing_each_bad_row(desk, tmp_path):
    path = tmp_path / "posko.csv"
    lines = [",".join(COLUMNS)]
    good = row()
    for n in range(3):
        cells = dict(good, occurred_at=f"2026-01-20T0{n}:00", officer="ELT-07")
        if n == 1:
            cells["sex"] = "X"
        lines.append(",".join(cells.get(c, "") for c in COLUMNS))
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidInputError) as info:
        record_rows(desk, INTERCEPTION, read_csv(path), now=NOW)
    assert [(e.row, e.field) for e in info.value.errors] == [(3, "sex")]


def test_importing_the_same_row_twice_gives_the_same_event_id(desk):
    assert intercept(desk, row(), now=NOW).event_id == intercept(desk, row(), now=NOW).event_id
    assert (
        intercept(desk, row(), now=NOW).event_id
        != intercept(desk, row(officer="ELT-08"), now=NOW).event_id
    )


def test_the_simulated_months_are_all_valid_input_and_reproducible():
    first = list(Simulator(seed=7, months=2).interceptions())
    again = list(Simulator(seed=7, months=2).interceptions())
    assert first == again and len(first) > 100
    desks = {p: desk_for("post", p, Pseudonymiser(KEY)) for p in ("eltari", "tenau")}
    events = [intercept(desks[post], r, now=NOW) for post, r in first]
    destinations = [e.destination_country for e in events]
    assert destinations.count("MY") / len(destinations) > 0.75
    assert len({e.person.key for e in events}) < len(events)  # some people come back


def test_contacts_are_sealed_for_the_desks_police_key_a_thousand_to_an_ephemeral_key(
    desk, monkeypatch
):
    """The police key is decoded once per key text, and an ephemeral key seals up to
    CONTACTS_PER_KEY contacts (an import seals a contact per row), each with its own
    nonce: a desk given another key seals for that one, with a new ephemeral key."""
    monkeypatch.setattr(posts, "CONTACTS_PER_KEY", 3)
    first, second = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    old = replace(desk, police_sealing_key=crypto.public_sealing(first))
    new = replace(desk, police_sealing_key=crypto.public_sealing(second))
    desks = [old] * 4 + [new, old]
    sealed = [intercept(d, row(), now=NOW).recruiter_contact_sealed for d in desks]
    assert all(sealed)
    for value, d in zip(sealed, desks, strict=True):
        police = first if d is old else second
        assert crypto.open_sealed(police, value, b"recruiter_contact") == b"0812-3456-7890"
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(first, sealed[4], b"recruiter_contact")
    raw = [crypto.unb64(s) for s in sealed if s]
    ephemeral = [value[:32] for value in raw]
    assert ephemeral[0] == ephemeral[1] == ephemeral[2]  # three to a key here
    assert len(set(ephemeral[2:])) == 4  # then a new one, another key's, and a new one
    assert len({value[32:44] for value in raw}) == 6  # every nonce its own
