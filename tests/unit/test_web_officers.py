"""Officers: argon2 hashes, units that exist, lockout after repeated failures, and an
audit of every attempt that names no password."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sinergi.web.officers import (
    LoginPolicy,
    LoginRefusedError,
    OfficerError,
    add_officer,
    login,
)
from tests.unit.web_fakes import NOW, PASSWORD, MemoryOfficers

POLICY = LoginPolicy(failures=3, lock_for=timedelta(minutes=15))


def store_with_officer() -> MemoryOfficers:
    store = MemoryOfficers()
    add_officer(store, "eltari", "post-eltari", "ELT-07", PASSWORD)
    return store


def test_a_password_is_kept_only_as_an_argon2id_hash() -> None:
    store = store_with_officer()
    officer = store.get("eltari")
    assert officer is not None
    assert officer.password_hash.startswith("$argon2id$") and PASSWORD not in officer.password_hash


@pytest.mark.parametrize(
    ("unit", "code"),
    [("hub-processor", "X-1"), ("post-admin", "X-1"), ("police-polres-9999", "X-1"),
     ("post-eltari", "Budi Santoso")],
)  # fmt: skip
def test_officers_are_bound_to_units_of_the_reference_data_with_a_staff_code(
    unit: str, code: str
) -> None:
    with pytest.raises(OfficerError):
        add_officer(MemoryOfficers(), "someone", unit, code, PASSWORD)


def test_right_password_logs_in_wrong_one_does_not_and_both_are_audited() -> None:
    store = store_with_officer()
    assert login(store, "eltari", PASSWORD, POLICY, NOW).unit == "post-eltari"
    with pytest.raises(LoginRefusedError) as refused:
        login(store, "eltari", "wrong password!", POLICY, NOW)
    assert refused.value.reason == "invalid"
    outcomes = [(e.action, e.outcome) for e in store.entries]
    assert ("login", "ok") in outcomes and ("login", "refused") in outcomes
    assert all(PASSWORD not in repr(e) and "wrong password!" not in repr(e) for e in store.entries)


def test_an_unknown_name_is_refused_like_a_wrong_password() -> None:
    with pytest.raises(LoginRefusedError) as refused:
        login(store_with_officer(), "nobody", PASSWORD, POLICY, NOW)
    assert refused.value.reason == "invalid"


def test_repeated_failures_lock_the_officer_out_even_with_the_right_password() -> None:
    store = store_with_officer()
    for _ in range(POLICY.failures):
        with pytest.raises(LoginRefusedError):
            login(store, "eltari", "not the password", POLICY, NOW)
    with pytest.raises(LoginRefusedError) as locked:
        login(store, "eltari", PASSWORD, POLICY, NOW + timedelta(minutes=1))
    assert locked.value.reason == "locked"
    later = NOW + POLICY.lock_for + timedelta(seconds=1)
    assert login(store, "eltari", PASSWORD, POLICY, later).username == "eltari"


def test_a_disabled_officer_cannot_log_in() -> None:
    store = store_with_officer()
    store.set_disabled("eltari", NOW)
    with pytest.raises(LoginRefusedError) as refused:
        login(store, "eltari", PASSWORD, POLICY, NOW)
    assert refused.value.reason == "disabled"
