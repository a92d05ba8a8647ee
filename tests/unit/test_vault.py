"""The vault of people: its keys (wrapping a person's data key with the hub's KEK, the
fields under it, what refuses to open) and retention's rule, here; and the vault's
contract (tests/vault_contract.py) kept by the in-memory vault. PostgreSQL keeps the same
contract in tests/integration/test_vault_contract.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.vault import (
    Kept,
    Subject,
    VaultError,
    VaultKeys,
    _dek_context,
    past_retention,
)
from schemas import crypto
from schemas.crypto import CryptoError
from sinks.memory import MemoryVault
from tests.vault_contract import *  # noqa: F403 - the shared tests run here

KEYS = VaultKeys(kek=b"K" * 32, lookup_key=b"L" * 32)
NOW = datetime(2030, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


class MemoryProbe:
    def __init__(self) -> None:
        self.keys = VaultKeys(kek=crypto.data_key(), lookup_key=crypto.data_key())
        self.vault = MemoryVault(self.keys)

    def wrapped(self, subject: Subject) -> bytes | None:
        return self.vault.people[subject.subject_id].wrapped

    def blobs(self, subject: Subject) -> list[bytes | None]:
        return [
            blob
            for _, (s, _, _, blob) in sorted(self.vault.facts.items(), key=lambda i: i[1][2])
            if s == subject.subject_id
        ]

    def contact_blobs(self, subject: Subject) -> list[bytes]:
        return [
            blob
            for carrier, blob in self.vault.contacts.items()
            if self.vault.facts[carrier][0] == subject.subject_id
        ]


@pytest.fixture
def probe() -> MemoryProbe:
    return MemoryProbe()


# --- keys ------------------------------------------------------------------------------------

fields_st = st.dictionaries(
    st.text(min_size=1, max_size=12),
    st.one_of(st.none(), st.integers(), st.text(max_size=40), st.booleans()),
    max_size=6,
)


def _kept(fields: dict[str, object], carrier: str = "e-1") -> Kept:
    return Kept(carrier, "nik", "p" * 64, fields, "InterceptionRecorded", NOW)


@given(fields=fields_st)
def test_fields_sealed_under_a_wrapped_key_open_again(fields: dict[str, object]):
    subject, wrapped = KEYS.new_subject("nik")
    blob = KEYS.seal_fields(subject, wrapped, _kept(fields))
    assert KEYS.open_fields(subject, wrapped, "e-1", blob) == fields


def test_a_data_key_is_wrapped_not_kept_in_clear():
    subject, wrapped = KEYS.new_subject("weak")
    assert subject.strength == "weak" and len(subject.subject_id) == 32
    dek = crypto.decrypt(KEYS.kek, wrapped, _dek_context(subject))
    assert len(dek) == crypto.DATA_KEY_BYTES and dek not in wrapped
    # Two people never share a key, nor a subject id.
    other, other_wrapped = KEYS.new_subject("weak")
    assert other != subject
    assert crypto.decrypt(KEYS.kek, other_wrapped, _dek_context(other)) != dek


def test_a_wrong_kek_is_refused():
    subject, wrapped = KEYS.new_subject("nik")
    blob = KEYS.seal_fields(subject, wrapped, _kept({"a": 1}))
    thief = VaultKeys(kek=b"X" * 32, lookup_key=KEYS.lookup_key)
    with pytest.raises(CryptoError):
        thief.open_fields(subject, wrapped, "e-1", blob)


def test_a_wrapped_key_moved_to_another_subject_is_refused():
    subject, wrapped = KEYS.new_subject("nik")
    blob = KEYS.seal_fields(subject, wrapped, _kept({"a": 1}))
    # The key's context is its subject (case id): another subject, or the same id as
    # weak, cannot use it.
    for elsewhere in (KEYS.new_subject("nik")[0], Subject(subject.subject_id, "weak")):
        with pytest.raises(CryptoError):
            KEYS.open_fields(elsewhere, wrapped, "e-1", blob)


def test_fields_moved_to_another_message_are_refused():
    subject, wrapped = KEYS.new_subject("nik")
    blob = KEYS.seal_fields(subject, wrapped, _kept({"a": 1}, carrier="e-1"))
    with pytest.raises(CryptoError):
        KEYS.open_fields(subject, wrapped, "e-2", blob)


@given(at=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_an_altered_blob_or_wrapped_key_is_refused(at: int, flip: int):
    subject, wrapped = KEYS.new_subject("nik")
    blob = KEYS.seal_fields(subject, wrapped, _kept({"birth_date": "1988-03-12"}))

    def altered(value: bytes) -> bytes:
        target = bytearray(value)
        target[at % len(target)] ^= flip
        return bytes(target)

    with pytest.raises(CryptoError):
        KEYS.open_fields(subject, wrapped, "e-1", altered(blob))
    with pytest.raises(CryptoError):
        KEYS.open_fields(subject, altered(wrapped), "e-1", blob)
    with pytest.raises(CryptoError):
        KEYS.open_fields(subject, wrapped, "e-1", blob[:20])  # cut short


def test_without_the_wrapped_key_nothing_opens():
    subject, wrapped = KEYS.new_subject("nik")
    blob = KEYS.seal_fields(subject, wrapped, _kept({"a": 1}))
    assert KEYS.open_fields(subject, None, "e-1", blob) is None
    assert KEYS.open_fields(subject, wrapped, "e-1", None) is None


def test_the_lookup_is_keyed_and_separates_strengths():
    other = VaultKeys(kek=KEYS.kek, lookup_key=b"M" * 32)
    assert KEYS.lookup("nik", "abc") == KEYS.lookup("nik", "abc")
    assert KEYS.lookup("nik", "abc") != KEYS.lookup("weak", "abc")
    assert KEYS.lookup("nik", "abc") != other.lookup("nik", "abc")
    for strength, pseudonym in (("passport", "abc"), ("nik", "")):
        with pytest.raises(VaultError):
            KEYS.lookup(strength, pseudonym)


def test_the_keys_never_show_in_a_repr():
    assert "KKKK" not in repr(KEYS) and "LLLL" not in repr(KEYS)


@pytest.mark.parametrize(
    "case_id",
    ["nik:abc", "passport:" + "a" * 32, "nik:" + "g" * 32, "nik:" + "A" * 32, "a" * 32, ""],
)
def test_what_is_not_a_case_id_is_refused(case_id: str):
    with pytest.raises(VaultError):
        Subject.of_case(case_id)


# --- retention's rule -------------------------------------------------------------------------


def test_past_retention_needs_every_fact_past_its_types_rule():
    keep_for = {"TipReceived": 730 * DAY, "InterceptionRecorded": 3650 * DAY}
    old_tip = ("TipReceived", NOW - 731 * DAY)
    young_tip = ("TipReceived", NOW - 729 * DAY)
    assert past_retention([old_tip], keep_for, NOW)
    assert past_retention([("TipReceived", NOW - 730 * DAY)], keep_for, NOW)  # to the day
    assert not past_retention([young_tip], keep_for, NOW)
    assert not past_retention([old_tip, ("InterceptionRecorded", NOW - 731 * DAY)], keep_for, NOW)
    assert not past_retention([], keep_for, NOW)  # nothing held: nothing to erase


@given(
    ages=st.lists(st.integers(min_value=0, max_value=40_000), min_size=1, max_size=6),
    unruled=st.integers(min_value=0, max_value=5),
)
def test_a_type_without_a_rule_keeps_its_person_for_ever(ages: list[int], unruled: int):
    keep_for = {"TipReceived": 730 * DAY}
    facts = [("TipReceived", NOW - n * DAY) for n in ages]
    facts.insert(unruled % (len(facts) + 1), ("PreventionActivityHeld", NOW - 99_999 * DAY))
    assert not past_retention(facts, keep_for, NOW)
    assert past_retention(facts[:0] + [f for f in facts if f[0] == "TipReceived"], keep_for,
                          NOW) == all(n >= 730 for n in ages)  # fmt: skip
