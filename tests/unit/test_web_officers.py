"""Officers: argon2 hashes, units that exist, lockout after repeated failures, and an
audit of every attempt that names no password."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sinergi.web.officers import (
    DEVICE_TRUSTED_FOR,
    LoginPolicy,
    LoginRefusedError,
    OfficerError,
    add_officer,
    hash_password,
    login,
    trust_device,
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


def fail(store: MemoryOfficers, times: int, device: str | None = None, at: datetime = NOW) -> None:
    for _ in range(times):
        with pytest.raises(LoginRefusedError):
            login(store, "eltari", "not the password", POLICY, at, device)


def test_failures_from_elsewhere_do_not_lock_the_officer_out_of_a_browser_they_logged_in_from() -> (
    None
):
    store = store_with_officer()
    login(store, "eltari", PASSWORD, POLICY, NOW)
    token = trust_device(store, "eltari", NOW, None)
    fail(store, POLICY.failures * 3)  # someone who knows the name, failing on purpose
    with pytest.raises(LoginRefusedError) as locked:
        login(store, "eltari", PASSWORD, POLICY, NOW)  # a browser never logged in from
    assert locked.value.reason == "locked"
    assert login(store, "eltari", PASSWORD, POLICY, NOW, token).username == "eltari"
    # A token is the officer's own: another officer's browser is a stranger's here.
    add_officer(store, "tenau", "post-tenau", "TEN-01", PASSWORD)
    with pytest.raises(LoginRefusedError):
        login(store, "eltari", PASSWORD, POLICY, NOW, trust_device(store, "tenau", NOW, None))


def test_a_browser_an_officer_logged_in_from_is_locked_out_on_its_own_after_repeated_failures() -> (
    None
):
    store = store_with_officer()
    token = trust_device(store, "eltari", NOW, None)
    fail(store, POLICY.failures, token)
    with pytest.raises(LoginRefusedError) as locked:
        login(store, "eltari", PASSWORD, POLICY, NOW, token)
    assert locked.value.reason == "locked"
    assert ("refused", "locked out (this browser)") in [
        (e.outcome, e.detail) for e in store.entries
    ]
    # ... and only that browser: the officer's own count was not touched.
    assert login(store, "eltari", PASSWORD, POLICY, NOW).username == "eltari"
    later = NOW + POLICY.lock_for + timedelta(seconds=1)
    assert login(store, "eltari", PASSWORD, POLICY, later, token).username == "eltari"


def test_a_browser_is_trusted_for_a_while_after_its_last_log_in_and_until_a_new_password() -> None:
    store = store_with_officer()
    token = trust_device(store, "eltari", NOW, None)
    later = NOW + timedelta(days=60)
    renewed = trust_device(store, "eltari", later, token)  # each log-in changes the token
    fail(store, POLICY.failures, at=later)  # the officer's own count: locked out
    with pytest.raises(LoginRefusedError):  # the token it replaced is no longer trusted
        login(store, "eltari", PASSWORD, POLICY, later, token)
    assert login(store, "eltari", PASSWORD, POLICY, later, renewed)
    forgotten = later + DEVICE_TRUSTED_FOR + timedelta(days=1)
    fail(store, POLICY.failures, at=forgotten)
    with pytest.raises(LoginRefusedError):  # unused for longer than DEVICE_TRUSTED_FOR
        login(store, "eltari", PASSWORD, POLICY, forgotten, renewed)
    again = trust_device(store, "eltari", NOW, None)
    store.set_password("eltari", hash_password("another long password"))
    fail(store, POLICY.failures)
    with pytest.raises(LoginRefusedError):  # a new password forgets every browser
        login(store, "eltari", "another long password", POLICY, NOW, again)
