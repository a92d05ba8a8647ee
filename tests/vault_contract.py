"""The behaviour every vault of people keeps (:class:`processors.vault.Vault`), written once
and run against each: memory (tests/unit/test_vault.py) and PostgreSQL
(tests/integration/test_vault_contract.py). A module that imports these tests provides a
``probe`` fixture: a :class:`VaultProbe` over a fresh vault.

What erasure must guarantee is said here once for both: after ``erase`` nothing personal
opens (every fact's fields None, the wrapped data key gone), the person is no longer
found by pseudonym, the facts stay countable under the subject, and the same pseudonym
seen again is a new person.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.vault import Kept, Subject, Vault, VaultError, VaultKeys

T0 = datetime(2026, 1, 20, 8, 30, tzinfo=UTC)
YEAR = timedelta(days=365)


class VaultProbe(Protocol):
    """A vault under test, and how to look inside it."""

    vault: Vault
    keys: VaultKeys

    def wrapped(self, subject: Subject) -> bytes | None:
        """The subject's wrapped data key as stored (None once erased)."""
        ...

    def blobs(self, subject: Subject) -> list[bytes | None]:
        """The stored (encrypted) fields of each of the subject's facts."""
        ...

    def contact_blobs(self, subject: Subject) -> list[bytes]:
        """The stored (encrypted) recruiter contacts of the subject's facts."""
        ...


def kept(
    pseudonym: str,
    *,
    strength: str = "nik",
    carrier: str | None = None,
    event_type: str = "InterceptionRecorded",
    at: datetime = T0,
    contact: str | None = None,
    **fields: Any,
) -> Kept:
    """One message's personal fields (a fresh carrier id unless given)."""
    return Kept(
        carrier_id=carrier or str(uuid.uuid4()),
        strength=strength,
        pseudonym=pseudonym,
        fields=fields or {f"{strength}_pseudonym": pseudonym, "birth_date": "1988-03-12"},
        event_type=event_type,
        occurred_at=at,
        contact=contact,
    )


def a_pseudonym() -> str:
    """A pseudonym no other test (nor another hypothesis example) uses."""
    return uuid.uuid4().hex + uuid.uuid4().hex


# --- keeping -----------------------------------------------------------------------------------


def test_a_message_gets_a_subject_and_its_fields_open_again(probe: VaultProbe):
    one = kept(a_pseudonym(), recruiter_contact="081234567890")
    [(carrier, subject)] = probe.vault.keep([one]).items()
    assert carrier == one.carrier_id and subject.strength == "nik"
    assert Subject.of_case(subject.case_id) == subject
    assert probe.vault.find("nik", one.pseudonym) == subject
    [fact] = probe.vault.disclose(subject).facts
    assert fact.fields == {"recruiter_contact": "081234567890"}
    assert (fact.carrier_id, fact.event_type, fact.occurred_at) == (
        one.carrier_id,
        "InterceptionRecorded",
        T0,
    )
    # What is stored is not the fields: they are under the subject's data key.
    [blob] = probe.blobs(subject)
    assert blob is not None and b"081234567890" not in blob


def test_keep_is_idempotent_per_carrier_id(probe: VaultProbe):
    one = kept(a_pseudonym())
    first = probe.vault.keep([one])
    # Redelivered, or kept by a second worker: the same subject, the fact kept once.
    again = probe.vault.keep([one, one])
    assert again == first
    # Even when the redelivery names someone else, the carrier keeps its first subject.
    moved = Kept(one.carrier_id, "nik", a_pseudonym(), {"x": 1}, one.event_type, T0)
    assert probe.vault.keep([moved]) == first
    subject = first[one.carrier_id]
    assert len(probe.vault.disclose(subject).facts) == 1
    assert probe.vault.find("nik", moved.pseudonym) is None
    assert probe.vault.carried([one.carrier_id, "unknown"]) == first


def test_a_message_given_twice_in_one_batch_keeps_its_first(probe: VaultProbe):
    one = kept(a_pseudonym())
    other = Kept(one.carrier_id, "nik", a_pseudonym(), {"x": 1}, one.event_type, T0)
    found = probe.vault.keep([one, other])
    subject = found[one.carrier_id]
    assert probe.vault.find("nik", one.pseudonym) == subject
    # The second names nobody the vault keeps: no subject was made for it.
    assert probe.vault.find("nik", other.pseudonym) is None
    assert probe.vault.carried([one.carrier_id]) == found
    assert len(probe.vault.disclose(subject).facts) == 1


def test_one_pseudonym_is_one_subject_across_messages_and_batches(probe: VaultProbe):
    name = a_pseudonym()
    a, b, c = kept(name), kept(name, event_type="RepatriationRecorded"), kept(name)
    first = probe.vault.keep([a, b])
    later = probe.vault.keep([c])
    assert first[a.carrier_id] == first[b.carrier_id] == later[c.carrier_id]
    assert len(probe.vault.disclose(first[a.carrier_id]).facts) == 3


def test_two_pseudonyms_of_one_strength_are_two_subjects(probe: VaultProbe):
    a, b = kept(a_pseudonym()), kept(a_pseudonym())
    found = probe.vault.keep([a, b])
    assert found[a.carrier_id] != found[b.carrier_id]
    assert found[a.carrier_id].subject_id != found[b.carrier_id].subject_id


def test_the_same_pseudonym_as_nik_and_as_weak_is_two_subjects(probe: VaultProbe):
    name = a_pseudonym()
    strong, weak = kept(name), kept(name, strength="weak")
    found = probe.vault.keep([strong, weak])
    assert found[strong.carrier_id].strength == "nik"
    assert found[weak.carrier_id].strength == "weak"
    assert found[strong.carrier_id].subject_id != found[weak.carrier_id].subject_id
    assert probe.vault.find("nik", name) == found[strong.carrier_id]
    assert probe.vault.find("weak", name) == found[weak.carrier_id]


def test_what_the_vault_does_not_know(probe: VaultProbe):
    assert probe.vault.keep([]) == {} and probe.vault.carried([]) == {}
    assert probe.vault.find("nik", a_pseudonym()) is None
    stranger = Subject(uuid.uuid4().hex, "nik")
    with pytest.raises(VaultError):
        probe.vault.disclose(stranger)
    with pytest.raises(VaultError):
        probe.vault.erase(stranger, "ER-1")
    with pytest.raises(VaultError):
        probe.vault.find("passport", a_pseudonym())
    with pytest.raises(VaultError):
        probe.vault.find("nik", "")


def test_a_subject_is_known_only_with_its_strength(probe: VaultProbe):
    subject = probe.vault.keep([one := kept(a_pseudonym())])[one.carrier_id]
    other_kind = Subject(subject.subject_id, "weak")
    with pytest.raises(VaultError):
        probe.vault.disclose(other_kind)
    with pytest.raises(VaultError):
        probe.vault.erase(other_kind, "ER-1")
    assert probe.vault.disclose(subject).erased_at is None


# --- erasure -------------------------------------------------------------------------------------


def test_erasure_shreds_every_field_and_keeps_the_facts(probe: VaultProbe):
    name, other = a_pseudonym(), a_pseudonym()
    hers = [kept(name, at=T0 + timedelta(days=n)) for n in range(3)]
    his = kept(other)
    found = probe.vault.keep([*hers, his])
    subject = found[hers[0].carrier_id]
    assert probe.vault.erase(subject, "ER-7") == 3

    told = probe.vault.disclose(subject)
    assert told.erased_at is not None and told.erasure_ref == "ER-7"
    assert [f.carrier_id for f in told.facts] == [k.carrier_id for k in hers]
    assert all(f.fields is None for f in told.facts)
    assert [f.occurred_at for f in told.facts] == [k.occurred_at for k in hers]
    assert probe.wrapped(subject) is None
    assert probe.blobs(subject) == [None, None, None]
    # No longer found by pseudonym, still the subject of the messages that carried her.
    assert probe.vault.find("nik", name) is None
    assert probe.vault.carried([k.carrier_id for k in hers]) == {
        k.carrier_id: subject for k in hers
    }
    # And only her: his fields still open.
    [his_fact] = probe.vault.disclose(found[his.carrier_id]).facts
    assert his_fact.fields == dict(his.fields)


def test_a_recruiter_contact_is_kept_under_the_persons_key_given_alone_and_erased_with_her(
    probe: VaultProbe,
):
    name = a_pseudonym()
    reported = kept(name, contact="c2VhbGVkIGZvciBwb2xpY2U=")
    plain = kept(name, at=T0 + timedelta(days=1))
    his = kept(a_pseudonym(), contact="aGlzIGNvbnRhY3Q=")
    found = probe.vault.keep([reported, plain, his])
    subject = found[reported.carrier_id]
    # Given alone, still sealed for police (the hub never reads it).
    assert probe.vault.contact(reported.carrier_id) == "c2VhbGVkIGZvciBwb2xpY2U="
    assert probe.vault.contact(plain.carrier_id) is None  # carried none
    [blob] = probe.contact_blobs(subject)
    assert b"c2VhbGVk" not in blob  # stored under her data key
    assert [f.contact for f in probe.vault.disclose(subject).facts] == [
        "c2VhbGVkIGZvciBwb2xpY2U=",
        None,
    ]
    probe.vault.erase(subject, "ER-3")
    assert probe.vault.contact(reported.carrier_id) is None
    assert probe.contact_blobs(subject) == []
    assert all(f.contact is None for f in probe.vault.disclose(subject).facts)
    assert probe.vault.contact(his.carrier_id) == "aGlzIGNvbnRhY3Q="  # only hers went
    with pytest.raises(VaultError):
        probe.vault.contact(str(uuid.uuid4()))  # a message the vault never saw


def test_an_erased_subject_cannot_be_erased_again(probe: VaultProbe):
    subject = probe.vault.keep([one := kept(a_pseudonym())])[one.carrier_id]
    probe.vault.erase(subject, "ER-1")
    with pytest.raises(VaultError):
        probe.vault.erase(subject, "ER-2")
    assert probe.vault.disclose(subject).erasure_ref == "ER-1"


def test_the_same_person_seen_after_erasure_is_a_new_subject(probe: VaultProbe):
    name = a_pseudonym()
    before = probe.vault.keep([old := kept(name)])[old.carrier_id]
    probe.vault.erase(before, "ER-1")
    # A redelivery of a message of before the erasure keeps its (erased) subject...
    assert probe.vault.keep([old]) == {old.carrier_id: before}
    assert probe.vault.disclose(before).facts[0].fields is None
    # ...a new message about the same person starts a new subject, with a new key.
    after = probe.vault.keep([new := kept(name)])[new.carrier_id]
    assert after != before and after.strength == "nik"
    assert probe.vault.find("nik", name) == after
    [fact] = probe.vault.disclose(after).facts
    assert fact.carrier_id == new.carrier_id and fact.fields == dict(new.fields)
    assert probe.vault.disclose(before).erased_at is not None


def test_erased_says_when_each_erased_subject_was_and_nothing_of_the_others(probe: VaultProbe):
    found = probe.vault.keep([hers := kept(a_pseudonym()), his := kept(a_pseudonym())])
    her, him = found[hers.carrier_id], found[his.carrier_id]
    assert probe.vault.erased([her, him]) == {} and probe.vault.erased([]) == {}
    probe.vault.erase(her, "ER-3")
    told = probe.vault.erased([her, him, Subject(uuid.uuid4().hex, "nik")])
    assert told == {her: probe.vault.disclose(her).erased_at}
    # A subject is known only with its strength: the same id as weak is no one.
    assert probe.vault.erased([Subject(her.subject_id, "weak")]) == {}


# --- retention ---------------------------------------------------------------------------------


def test_due_are_the_subjects_all_of_whose_facts_are_past_retention(probe: VaultProbe):
    keep_for = {"TipReceived": 2 * YEAR, "InterceptionRecorded": 10 * YEAR}
    now = T0 + 3 * YEAR
    old_tip = kept(a_pseudonym(), event_type="TipReceived", at=T0)
    young_tip = kept(a_pseudonym(), event_type="TipReceived", at=now - YEAR)
    tip_then_interception = [
        kept(mixed := a_pseudonym(), event_type="TipReceived", at=T0),
        kept(mixed, event_type="InterceptionRecorded", at=T0),
    ]
    no_rule = kept(a_pseudonym(), event_type="SomethingNew", at=T0 - 20 * YEAR)
    found = probe.vault.keep([old_tip, young_tip, *tip_then_interception, no_rule])
    due = probe.vault.due(keep_for, now)
    assert found[old_tip.carrier_id] in due
    assert found[young_tip.carrier_id] not in due
    assert found[tip_then_interception[0].carrier_id] not in due  # the interception holds
    assert found[no_rule.carrier_id] not in due  # a type without a rule: kept for ever
    assert due == sorted(due, key=lambda s: s.subject_id)
    # Ten years after the interception, both facts are past.
    later = probe.vault.due(keep_for, T0 + 10 * YEAR)
    assert found[tip_then_interception[0].carrier_id] in later
    # An erased subject is never due again.
    probe.vault.erase(found[old_tip.carrier_id], "RETENTION-1")
    assert found[old_tip.carrier_id] not in probe.vault.due(keep_for, now)


# --- a model of the whole contract, on random histories -----------------------------------------

_step = st.tuples(
    st.sampled_from(["keep", "keep", "keep", "erase"]),
    st.integers(min_value=0, max_value=3),  # which person
    st.sampled_from(["nik", "weak"]),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(_step, min_size=1, max_size=12))
def test_random_histories_keep_the_contract(probe: VaultProbe, steps: list[tuple[str, int, str]]):
    """Keeps and erasures in any order: each pseudonym's live subject is found, an erased
    one never again; every fact of an erased subject is shut, every other one opens."""
    people = [a_pseudonym() for _ in range(4)]
    live: dict[tuple[str, str], Subject] = {}
    erased: set[Subject] = set()
    facts: dict[Subject, int] = {}
    for action, who, strength in steps:
        name = people[who]
        if action == "keep":
            one = kept(name, strength=strength)
            subject = probe.vault.keep([one])[one.carrier_id]
            expected = live.setdefault((strength, name), subject)
            assert subject == expected and subject not in erased
            facts[subject] = facts.get(subject, 0) + 1
        elif (strength, name) in live:
            subject = live.pop((strength, name))
            assert probe.vault.erase(subject, "ER-H") == facts[subject]
            erased.add(subject)
    for (strength, name), subject in live.items():
        assert probe.vault.find(strength, name) == subject
        told = probe.vault.disclose(subject)
        assert len(told.facts) == facts[subject] and all(f.fields for f in told.facts)
    for subject in erased:
        told = probe.vault.disclose(subject)
        assert told.erased_at is not None and all(f.fields is None for f in told.facts)
        assert probe.wrapped(subject) is None
    assert set(probe.vault.erased([*live.values(), *erased])) == erased
