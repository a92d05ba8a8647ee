"""People sealed at the desk and resolved at the hub (issue 11): nothing personal on the
wire, one subject per person across agencies, the same ledger again after the intake key
is retired and after the person is erased."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import cast

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from processors import metrics
from processors.people import Carrier, People
from processors.ports import RawMessage
from processors.vault import Subject, VaultError, VaultKeys
from producers.amend import Correction, Retraction
from producers.sealing import PersonSealer, SealingSerializer
from schemas import crypto
from schemas.crypto import CryptoError
from schemas.model import WITA, AlertRule, InterceptionOutcome, RetractionReason, TipReceived
from schemas.person_seal import (
    desk_seal_secret,
    key_id,
    open_contact,
    open_person,
    person_fields,
    seal_people,
)
from schemas.serde import EventDeserializer, EventSerializer, SerializationError
from schemas.topics import topic_of
from sinks.memory import MemoryVault
from tests.factories import interception, investigation, person, placement, repatriation, tip
from tests.unit.fakes import CountingKey, MemoryRegistry
from tests.unit.memory_hub import MemoryHub, memory_hub

INTAKE = X25519PrivateKey.generate()
PUBLIC = crypto.public_sealing(INTAKE)
KID = key_id(PUBLIC)


def private_for(kid: str) -> X25519PrivateKey | None:
    return INTAKE if kid == KID else None


def test_a_sealed_person_carries_nothing_personal_in_clear_and_opens_only_for_its_event():
    p = person(1, birth_date=date(2009, 3, 2))
    event = interception(1, person=p)
    sealed = seal_people(event, PUBLIC).person
    assert (sealed.nik_pseudonym, sealed.weak_pseudonym, sealed.birth_date) == (None, None, None)
    assert sealed.estimated_age is None
    assert sealed.age_at_fact == p.age_on(event.occurred_at.astimezone(WITA).date()) == 16
    assert (sealed.sex, sealed.origin_regency, sealed.nik_status) == (
        p.sex,
        p.origin_regency,
        p.nik_status,
    )
    assert p.nik_pseudonym not in json.dumps(dataclasses.asdict(sealed))
    opened = open_person(sealed.sealed or "", event.event_id, private_for)
    assert (opened.nik_pseudonym, opened.birth_date) == (p.nik_pseudonym, p.birth_date)
    with pytest.raises(CryptoError):  # moved onto another fact
        open_person(sealed.sealed or "", interception(2).event_id, private_for)
    with pytest.raises(CryptoError, match="unknown or retired"):
        open_person(sealed.sealed or "", event.event_id, lambda kid: None)


@pytest.mark.parametrize(
    ("at", "minor"),
    [
        (datetime(2026, 1, 20, 7, 0, tzinfo=WITA), False),  # 2026-01-19 23:00 UTC: 18 in Kupang
        (datetime(2026, 1, 19, 23, 30, tzinfo=WITA), True),  # the evening before: still 17
    ],
)
def test_a_sealed_persons_age_is_told_on_the_facts_day_in_kupang_not_in_utc(at, minor):
    p = person(1, birth_date=date(2008, 1, 20))
    event = interception(1, at=at, person=p)
    assert seal_people(event, PUBLIC).person.age_at_fact == (17 if minor else 18)
    hub = memory_hub(people=People(vault(), private_for), intake=PUBLIC)
    hub.send(event)
    [case] = hub.store.cases.values()
    assert case.minor_when_first_seen is minor
    assert bool(hub.holding(AlertRule.MINOR_INTERCEPTED)) is minor
    assert hub.count(metrics.MINORS_INTERCEPTED) == int(minor)


@pytest.mark.parametrize("text", ["", "nodot", "ABCDEFGH.xyz", "0123456.abc", "01234567.!!"])
def test_a_malformed_sealed_person_is_refused_with_a_reason(text):
    with pytest.raises(CryptoError):
        open_person(text, "e", private_for)


def test_the_kafka_key_is_a_bucket_not_the_pseudonym():
    event = interception(1)
    key = event.partition_key()
    assert key.startswith("p") and len(key) == 5
    assert event.person.nik_pseudonym not in key
    assert key == interception(1, minutes=60).partition_key()  # one person, one partition


def test_the_desk_serializer_seals_every_person_and_refuses_without_an_intake_key():
    registry = MemoryRegistry()
    inner = EventSerializer(registry, register=True)
    decode = EventDeserializer(registry)
    sealing = SealingSerializer(inner, PersonSealer(lambda: PUBLIC))
    for event in (interception(1), placement(2), repatriation(3), tip(subject_n=4)):
        wire = decode(sealing("t.x", event)).event
        ((_, sent),) = person_fields(wire)
        assert sent.sealed and not sent.nik_pseudonym and not sent.birth_date
    with pytest.raises(SerializationError, match="intake key"):
        SealingSerializer(inner, PersonSealer(lambda: None))("t.x", interception(1))


def test_a_tip_without_a_subject_needs_no_key():
    registry = MemoryRegistry()
    event = tip(subject_n=None)
    assert isinstance(event, TipReceived) and event.subject is None
    SealingSerializer(EventSerializer(registry, register=True), PersonSealer(lambda: None))(
        "t.x", event
    )


def vault() -> MemoryVault:
    return MemoryVault(VaultKeys(kek=crypto.data_key(), lookup_key=crypto.data_key()))


def test_people_resolve_one_subject_per_person_across_agencies_and_keep_the_fields():
    people = People(vault(), private_for)
    a = seal_people(interception(1), PUBLIC)
    b = seal_people(placement(1), PUBLIC)
    c = seal_people(interception(2), PUBLIC)
    done = people.resolve([Carrier(e.event_id, e) for e in (a, b, c)])
    assert not any(isinstance(e, str) for e in done)
    keys = [person_fields(e)[0][1].key for e in done if not isinstance(e, str)]
    assert keys[0] == keys[1] != keys[2]
    assert all(k and k.startswith("nik:") and person(1).nik_pseudonym not in k for k in keys)
    subject = Subject.of_case(keys[0] or "")
    facts = people.vault.disclose(subject).facts
    assert {f.carrier_id for f in facts} == {a.event_id, b.event_id}
    assert all(f.fields and f.fields["nik_pseudonym"] == person(1).nik_pseudonym for f in facts)


def test_a_person_in_clear_or_sealed_to_a_retired_key_is_refused_and_nothing_kept():
    people = People(vault(), private_for)
    clear = interception(1)
    elsewhere = X25519PrivateKey.generate()
    retired = seal_people(interception(2), crypto.public_sealing(elsewhere))
    refused_clear, refused_retired = people.resolve(
        [Carrier(e.event_id, e) for e in (clear, retired)]
    )
    assert "in clear" in str(refused_clear)
    assert "retired" in str(refused_retired)
    assert people.vault.carried([clear.event_id, retired.event_id]) == {}


def test_a_message_seen_before_finds_its_subject_without_the_intake_key_also_after_erasure():
    store = vault()
    event = seal_people(interception(1), PUBLIC)
    [first] = People(store, private_for).resolve([Carrier(event.event_id, event)])
    case = first.person.key  # type: ignore[union-attr]
    store.erase(Subject.of_case(case), "req-1")
    [again] = People(store, lambda kid: None).resolve([Carrier(event.event_id, event)])
    assert again.person.key == case  # type: ignore[union-attr]


def test_one_message_twice_in_a_batch_names_one_contact_the_first_copys():
    """A re-send with its recruiter contact sealed anew (other bytes): both copies name the
    contact by the message's reference, and the vault keeps the first copy's."""
    event = interception(1, recruiter_contact_sealed="A" * 80)
    original = seal_people(event, PUBLIC)
    resent = seal_people(dataclasses.replace(event, recruiter_contact_sealed="B" * 80), PUBLIC)
    assert original.recruiter_contact_sealed != resent.recruiter_contact_sealed
    people = People(vault(), private_for)
    done = people.resolve([Carrier(original.event_id, original), Carrier(resent.event_id, resent)])
    contacts = [e.recruiter_contact_sealed for e in done]  # type: ignore[union-attr]
    assert contacts == [f"vault:{original.event_id}"] * 2
    assert len({e.person.key for e in done}) == 1  # type: ignore[union-attr]
    assert people.vault.contact(original.event_id) == "A" * 80


POLICE = X25519PrivateKey.generate()


def test_a_recruiter_contact_travels_to_the_hub_under_the_persons_key_and_goes_with_erasure():
    police_sealed = crypto.seal(POLICE.public_key(), b"0812 3456 7890", b"recruiter_contact")
    event = interception(1, recruiter_contact_sealed=police_sealed)
    wire_event = seal_people(event, PUBLIC)
    # On the wire: sealed to the hub's intake key around the police seal, bound to the event.
    on_wire = wire_event.recruiter_contact_sealed or ""
    assert on_wire.startswith(f"{KID}.") and police_sealed not in on_wire
    assert seal_people(wire_event, PUBLIC) == wire_event  # sealed once, not twice
    with pytest.raises(CryptoError):
        open_contact(on_wire, interception(2).event_id, private_for)  # moved onto another fact
    store = vault()
    [resolved] = People(store, private_for).resolve([Carrier(event.event_id, wire_event)])
    assert not isinstance(resolved, str)
    # The ledger (and so the alerts) hold where the vault keeps it, not the contact.
    assert resolved.recruiter_contact_sealed == f"vault:{event.event_id}"  # type: ignore[union-attr]
    assert store.contact(event.event_id) == police_sealed
    subject = Subject.of_case(resolved.person.key or "")  # type: ignore[union-attr]
    [fact] = store.disclose(subject).facts
    assert fact.contact == police_sealed and fact.fields is not None
    store.erase(subject, "req-1")
    assert store.contact(event.event_id) is None
    assert store.disclose(subject).facts[0].contact is None
    # Later, the intake key retired: the same reference, which opens to nothing.
    [again] = People(store, lambda kid: None).resolve([Carrier(event.event_id, wire_event)])
    assert again.recruiter_contact_sealed == f"vault:{event.event_id}"  # type: ignore[union-attr]
    with pytest.raises(VaultError):
        store.contact(interception(3).event_id)


def test_a_contact_sealed_for_police_only_is_refused_and_nothing_kept():
    police_sealed = crypto.seal(POLICE.public_key(), b"0812", b"recruiter_contact")
    event = seal_people(interception(1), PUBLIC)
    bare = dataclasses.replace(event, recruiter_contact_sealed=police_sealed)
    people = People(vault(), private_for)
    [refused] = people.resolve([Carrier(bare.event_id, bare)])
    assert refused == "recruiter contact sealed for police only: it must travel sealed to the hub"
    assert people.vault.carried([bare.event_id]) == {}


def wire(hub: MemoryHub, events) -> list[RawMessage]:
    """The messages a desk sends for ``events`` (people sealed), at offsets 1, 2, ..."""
    encode = hub.serializer()
    return [
        RawMessage(topic_of(e).name, 0, n, e.partition_key().encode(),
                   encode(topic_of(e).name, e))
        for n, e in enumerate(events, start=1)
    ]  # fmt: skip


def test_the_ledger_names_subjects_and_a_replay_after_erasure_and_key_retirement_is_identical():
    store = vault()
    minor = person(1, birth_date=date(2010, 6, 1))
    events = [
        interception(1, person=minor),
        placement(1, person=minor, minutes=60),
        interception(2, minutes=5),
        repatriation(3),
    ]
    live = memory_hub(people=People(store, private_for), intake=PUBLIC)
    batch = wire(live, events)
    result = live.pipeline.process(batch)
    assert (result.stored, result.dead_lettered) == (4, 0)
    cases = live.store.cases
    assert len(cases) == 3
    assert not any(minor.nik_pseudonym in k for k in cases)
    (case,) = [c for c in cases.values() if c.placements == 1]
    assert case.interceptions == 1 and case.minor_when_first_seen
    assert case.birth_date is None and case.estimated_age == 15
    kept = json.dumps([s.record for s in live.store.events.values()], default=str)
    assert minor.nik_pseudonym not in kept and "2010-06-01" not in kept
    assert minor.nik_pseudonym not in json.dumps(live.ledger())

    store.erase(Subject.of_case(case.case_id), "req-1")
    assert all(f.fields is None for f in store.disclose(Subject.of_case(case.case_id)).facts)
    # A rebuild: the same messages into a fresh ledger, the intake key retired since.
    rebuilt = memory_hub(people=People(store, lambda kid: None), registry=live.registry)
    assert rebuilt.pipeline.process(batch).stored == 4
    assert rebuilt.ledger() == live.ledger()
    assert rebuilt.metrics() == live.metrics()


def test_a_correction_of_the_person_moves_the_record_to_the_corrected_persons_subject():
    store = vault()
    hub = memory_hub(people=People(store, private_for), intake=PUBLIC)
    wrong = interception(1)
    hub.send(wrong)
    (before,) = hub.store.cases
    right = dataclasses.replace(wrong, person=person(2))
    result = hub.send(Correction(right))
    assert (result.stored, result.dead_lettered) == (1, 0)
    (after,) = hub.store.cases
    assert after != before and hub.store.cases[after].interceptions == 1
    assert hub.count(metrics.INTERCEPTIONS) == 1
    # The corrected record's person is kept under the correction's own id.
    found = store.find("nik", person(2).nik_pseudonym or "")
    assert found is not None and found.case_id == after


def test_a_correction_of_an_erased_persons_record_is_refused_and_a_retraction_is_not():
    """A correction names the person again: after an erasure it would tie their NIK back
    to the erased history under a new subject. It is dead-lettered with the reason; the
    record stays counted under the erased case; a retraction still takes it out."""
    store = vault()
    hub = memory_hub(people=People(store, private_for), intake=PUBLIC)
    record = interception(1)
    hub.send(record)
    erased = store.find("nik", person(1).nik_pseudonym or "")
    assert erased is not None
    store.erase(erased, "req-1")
    fixed = dataclasses.replace(record, outcome=InterceptionOutcome.HANDED_TO_POLICE)
    result = hub.send(Correction(fixed))
    assert (result.stored, result.dead_lettered) == (0, 1)
    [letter] = hub.published("MessageDeadLettered")
    assert "person was erased" in letter.reason  # type: ignore[attr-defined]
    assert store.find("nik", person(1).nik_pseudonym or "") is None  # found by no NIK
    assert list(hub.store.cases) == [erased.case_id]
    assert hub.store.cases[erased.case_id].facts[0].detail["outcome"] == record.outcome.value
    retraction = Retraction(record.event_id, record.event_type, RetractionReason.DUPLICATE)
    assert hub.send(retraction).stored == 1
    assert hub.store.cases == {} and hub.count(metrics.INTERCEPTIONS) == 0


def test_an_erased_case_gets_no_case_update_after_its_erasure_yet_is_still_folded():
    """PersonErased stays the erased case's last word on hub.cases: a police file citing
    the case is folded into the ledger as any fact (a rebuild is identical) but publishes
    no CaseUpdated for it; the other cases of the batch are published as ever."""
    store = vault()
    live = memory_hub(people=People(store, private_for), intake=PUBLIC)
    first = wire(live, [interception(1), interception(2, minutes=5)])
    live.pipeline.process(first)
    live.pipeline.publish_pending()
    gone, kept = (store.find("nik", person(n).nik_pseudonym or "") for n in (1, 2))
    assert gone is not None and kept is not None
    assert {c.case_id for c in live.published("CaseUpdated")} == {gone.case_id, kept.case_id}
    store.erase(gone, "req-1")
    before = len(live.published("CaseUpdated"))

    police = investigation(case_ids=(gone.case_id, kept.case_id), minutes=60)
    later = [dataclasses.replace(m, offset=m.offset + 10)
             for m in wire(live, [police, placement(2, minutes=90)])]  # fmt: skip
    result = live.pipeline.process(later)
    live.pipeline.publish_pending()
    assert (result.stored, result.dead_lettered) == (2, 0)
    cases = live.store.cases
    assert cases[gone.case_id].investigation is not None  # folded all the same
    assert cases[gone.case_id].investigation == cases[kept.case_id].investigation
    after = live.published("CaseUpdated")[before:]
    assert [c.case_id for c in after] == [kept.case_id]
    assert after[0].investigation is not None and after[0].placements == 1

    # A rebuild of the same messages, the intake key retired since: the same ledger.
    rebuilt = memory_hub(people=People(store, lambda kid: None), registry=live.registry)
    assert rebuilt.pipeline.process(first).stored == 2
    assert rebuilt.pipeline.process(later).stored == 2
    assert rebuilt.ledger() == live.ledger()


def test_a_desk_seals_the_same_fact_to_the_same_bytes_and_another_desk_cannot_tell():
    event = interception(1)
    mine, theirs = desk_seal_secret(b"a" * 32), desk_seal_secret(b"b" * 32)
    once = seal_people(event, PUBLIC, mine).person.sealed
    assert once == seal_people(event, PUBLIC, mine).person.sealed  # a file imported again
    assert once != seal_people(event, PUBLIC, theirs).person.sealed
    assert seal_people(event, PUBLIC).person.sealed != seal_people(event, PUBLIC).person.sealed
    other = dataclasses.replace(event, person=person(2))
    assert seal_people(other, PUBLIC, mine).person.sealed != once
    assert open_person(once or "", event.event_id, private_for).nik_pseudonym


def test_a_person_and_their_contact_share_one_agreement_and_the_person_stays_the_same_bytes():
    """One X25519 agreement per message: the contact is sealed with its person's, under
    its own context and nonce. The person's bytes depend on the person alone, so a file
    imported again is recognised even though its contacts are sealed for police anew."""
    mine = desk_seal_secret(b"a" * 32)
    event = interception(1, recruiter_contact_sealed="A" * 80)
    first = seal_people(event, PUBLIC, mine)
    again = seal_people(dataclasses.replace(event, recruiter_contact_sealed="B" * 80), PUBLIC, mine)
    person_raw = crypto.unb64((first.person.sealed or "").partition(".")[2])
    contact_raw = crypto.unb64((first.recruiter_contact_sealed or "").partition(".")[2])
    other_raw = crypto.unb64((again.recruiter_contact_sealed or "").partition(".")[2])
    assert person_raw[:32] == contact_raw[:32] == other_raw[:32]  # one agreement
    assert len({person_raw[32:44], contact_raw[32:44], other_raw[32:44]}) == 3  # nonces
    assert again.person == first.person  # the same person, the same bytes
    # Sealed alone (as before this agreement was shared), the person is the same bytes too.
    assert seal_people(dataclasses.replace(event, recruiter_contact_sealed=None), PUBLIC,
                       mine).person == first.person  # fmt: skip
    assert open_contact(first.recruiter_contact_sealed or "", event.event_id, private_for) == (
        "A" * 80
    )
    counting = CountingKey(INTAKE)
    people = People(vault(), lambda kid: cast(X25519PrivateKey, counting) if kid == KID else None)
    [resolved] = people.resolve([Carrier(event.event_id, first)])
    assert not isinstance(resolved, str)
    assert resolved.recruiter_contact_sealed == f"vault:{event.event_id}"  # type: ignore[union-attr]
    assert counting.exchanges == 1  # the person and the contact opened with one exchange
    assert people.vault.contact(event.event_id) == "A" * 80


def test_a_person_sealed_with_a_low_order_key_is_refused_and_the_rest_of_the_batch_kept():
    good = seal_people(interception(1), PUBLIC)
    forged_value = f"{KID}.{crypto.b64(bytes(32) + bytes(12) + bytes(60))}"
    sealed = seal_people(interception(2), PUBLIC)
    forged = dataclasses.replace(
        sealed, person=dataclasses.replace(sealed.person, sealed=forged_value)
    )
    people = People(vault(), private_for)
    kept, refused = people.resolve([Carrier(e.event_id, e) for e in (good, forged)])
    assert refused == "sealed value does not open with this key"
    assert not isinstance(kept, str) and kept.person.key  # type: ignore[union-attr]
    assert set(people.vault.carried([good.event_id, forged.event_id])) == {good.event_id}


# A person sealed by a desk before its contact shared the person's agreement (commit
# 72f154f's schemas/person_seal.py, run once with the keys below): the same bytes now.
_KNOWN_SEALED = (
    "eedd883d.6ye/krQjVvpKEExzuCW6meX5kufYm1ChQO/Vt7Rrsy8cF1OV4WO0gndU5sGy95CB7QO7/1chlKhIgqPd"
    "YeABZZ/3Y43DcrYSUQjYaDWbm8qPglOQLWLtjM1TEE8ngPDc03m/wMaajHTW06L3wJXYmjGPYljTDWPXLGMrm/UMl2d"
    "7ME1EQJ6bKfVyiZokD0SnQe72OZl3rDu+NJvxSAlGueMInyMAf8QSqKkzBwj3HWX0OC4OkA=="
)


def test_a_file_imported_before_the_shared_agreement_is_recognised_after_it():
    intake = X25519PrivateKey.from_private_bytes(bytes(range(32)))
    event = interception(
        1, event_id="00000000-0000-4000-8000-000000000001", recruiter_contact_sealed="A" * 80
    )
    sealed = seal_people(event, crypto.public_sealing(intake), desk_seal_secret(b"k" * 32))
    assert sealed.person.sealed == _KNOWN_SEALED
