"""A person's export, without a database: the NIK finds, through the vault, the person the
desks named (and no one once erased), the vault's account opens their fields and after
erasure says so, other people's data is left out, sealed contacts are counted and stay
sealed, the export's own record never takes a NIK, and the document holds the NIK only
where the subject is named.
(Reading it from PostgreSQL: tests/integration/test_person.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from processors.vault import Kept, VaultKeys
from producers.forms import FORMS, desk_for, record
from producers.pseudonym import Pseudonymiser
from schemas.model import Agency
from sinergi import person
from sinergi.person import Holdings, PersonExportError
from sinks.memory import MemoryVault

NIK = "5304015203880917"
KEY = b"k" * 32
MINE = "nik:" + "a" * 32
OTHER = "nik:" + "b" * 32


def test_the_nik_names_the_person_the_vault_kept_from_the_desks_record():
    names = Pseudonymiser(KEY)
    desk = desk_for(Agency.POST, "eltari", names)
    row = {"occurred_at": "2026-01-20T08:30", "nik": NIK, "outcome": "SENT_HOME",
           "officer": "ELT-07"}  # fmt: skip
    event = record(desk, FORMS["interception"], row)
    # The intake keeps the person the desk named (its NIK pseudonym) in the vault.
    vault = MemoryVault(VaultKeys(kek=b"K" * 32, lookup_key=b"L" * 32))
    kept = Kept(event.event_id, "nik", names.nik(NIK), {"nik_pseudonym": names.nik(NIK)},
                event.event_type, event.occurred_at)  # fmt: skip
    subject = vault.keep([kept])[event.event_id]
    assert person.subject_of_nik(names, vault, NIK) == subject
    assert person.subject_of_nik(names, vault, "5304-0152 0388.0917") == subject
    assert person.subject_of_nik(names, vault, "5304010101900003") is None  # never recorded
    vault.erase(subject, "ER-1")
    assert person.subject_of_nik(names, vault, NIK) is None  # erased: found by no NIK


@pytest.mark.parametrize("typed", ["5304015203", "53040152038809171", "530401520388091x", ""])
def test_what_is_not_sixteen_digits_is_refused_without_being_echoed(typed):
    with pytest.raises(PersonExportError) as refused:
        person.nik_digits(typed)
    assert typed not in str(refused.value) or not typed


@pytest.mark.parametrize("typed", ["nik:abc", "5304015203880917", "nik:5304015203880917"])
def test_what_is_not_a_case_id_is_refused_without_being_echoed(typed):
    with pytest.raises(PersonExportError) as refused:
        person.subject_of_case(typed)
    assert typed not in str(refused.value)


def test_the_vaults_account_opens_the_fields_and_after_erasure_says_so():
    vault = MemoryVault(VaultKeys(kek=b"K" * 32, lookup_key=b"L" * 32))
    kept = Kept("e-1", "nik", "a" * 64, {"nik_pseudonym": "a" * 64, "birth_date": "1988-03-12"},
                "InterceptionRecorded", datetime(2026, 1, 20, tzinfo=UTC))  # fmt: skip
    subject = vault.keep([kept])["e-1"]
    told = vault.disclose(subject)
    account = person.vault_account(told, None)
    assert account["erased"] is False and "erasure" not in account
    assert account["facts"][0]["fields"]["birth_date"] == "1988-03-12"
    assert person.own_names(told) == {"nik:" + "a" * 64}
    vault.erase(subject, "9f1c2d3e-0000-4000-8000-000000000000")
    erased = person.vault_account(vault.disclose(subject), None)
    assert erased["erased"] is True and erased["facts"][0]["fields"] is None
    assert erased["erasure"]["request_id"] == "9f1c2d3e-0000-4000-8000-000000000000"
    assert erased["erasure"]["fields_readable"] is False
    assert set(erased["note"]) == {"id", "en"}


def test_a_record_the_vault_says_is_someone_elses_shows_them_withheld():
    payload = {"record": {"person": {"sealed": "k.AAAA", "sex": "MALE"}}, "post_id": "eltari"}
    assert person.withhold_people(payload) == {
        "record": {"person": person.WITHHELD_PERSON}, "post_id": "eltari",
    }  # fmt: skip


@pytest.mark.parametrize(
    "text",
    ["5304015203880917", "req 5304 0152 0388 0917", "5304.0152.0388.0917", "x5304015203880917"],
)
def test_a_free_text_that_holds_a_nik_is_never_recorded(text):
    with pytest.raises(PersonExportError, match="looks like a NIK") as refused:
        person.checked_text("--request", text)
    assert NIK not in str(refused.value)


def test_a_request_reference_is_kept_as_typed():
    assert person.checked_text("--request", " PDP/2026/0007 ") == "PDP/2026/0007"
    assert person.checked_text("--request", "  ") is None
    with pytest.raises(PersonExportError):
        person.checked_text("--by", "x" * 201)
    with pytest.raises(PersonExportError):
        person.checked_text("--by", "ops\n1")


def test_other_peoples_data_is_left_out():
    police_file = {"case_ids": [MINE, OTHER, "weak:" + "c" * 32], "investigation_ref": "LP/1"}
    tip = {"reporter_ref": "r" * 32, "subject": {"nik_pseudonym": "a" * 32, "sex": "FEMALE"}}
    moved = {"record": {"person": {"nik_pseudonym": "b" * 32, "birth_date": "1990-01-01"}}}
    version = {"refs": [f"case:{MINE}", f"case:{OTHER}", "recruiter:r1", "group:eltari/G"]}
    fact = {"detail": {"case_id": MINE}, "person": {"sex": "FEMALE", "birth_date": "1988-03-12"}}
    redacted = person.redact([police_file, tip, moved, version, fact], MINE)
    assert redacted[0] == {"case_ids": [MINE], "case_ids_withheld": 2, "investigation_ref": "LP/1"}
    assert redacted[1]["reporter_ref"] == person.WITHHELD_REPORTER
    assert redacted[1]["subject"] == tip["subject"]  # her own
    assert redacted[2] == {"record": {"person": person.WITHHELD_PERSON}}
    assert redacted[3] == {"refs": [f"case:{MINE}", "recruiter:r1", "group:eltari/G"],
                           "case_refs_withheld": 1}  # fmt: skip
    assert redacted[4] == fact  # a fact of her case names no one else


def test_sealed_values_are_counted_where_they_are():
    found = [{"recruiter_contact_sealed": "AAAA"}, {"sealed_contacts": ["B", "C"]},
             {"detail": {"contact_sealed": None}}]  # fmt: skip
    assert person.sealed_values(found) == 3


def test_the_document_names_the_nik_once_and_counts_what_it_holds():
    found = Holdings(
        case={"case_id": MINE, "state": {"facts": [
            {"event_id": "e1", "detail": {"recruiter": "r1", "post": "eltari", "group": "G"}}]}},
        events=[{"event_id": "e1", "payload": {"recruiter_contact_sealed": "AAAA",
                                               "person": {"nik_pseudonym": "a" * 32}}}],
        alerts=[{"alert_id": "x", "status": "open", "case_ids": [MINE, OTHER],
                 "sealed_contacts": ["S"]}],
        recruiters=["r1"],
    )  # fmt: skip
    doc = person.document(NIK, MINE, found, exported_at=datetime(2026, 3, 1, tzinfo=UTC),
                          exported_by="dpo-1", request_ref="PDP-1", export_seq=4)  # fmt: skip
    text = json.dumps(doc, default=str)
    assert text.count(NIK) == 1 and doc["subject"]["nik"] == NIK
    assert OTHER not in text
    assert doc["counts"] == {"events": 1, "alerts": 1, "alerts_held": 0, "fact_versions": 0,
                             "audit_entries": 0, "sealed_values": 2,
                             "vault_facts": 0}  # fmt: skip
    assert doc["subject"] == {"nik": NIK, "case_id": MINE, "held": True, "erased": False}
    assert doc["links"]["recruiters"] == [{"recruiter_ref": "r1", "in_facts": ["e1"]}]
    assert doc["alerts"][0]["case_ids_withheld"] == 1
    assert all(set(note) == {"id", "en"} for note in doc["notes"])
    assert doc["format"] == person.FORMAT and doc["export_seq"] == 4
