"""The vault's contract (tests/vault_contract.py) kept by PostgreSQL: the same tests as the
in-memory vault's, against this test's own database, as the processor keeps people and the
administrator erases them (sinergi_owner)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from processors.vault import Subject, VaultKeys
from schemas import crypto
from sinergi import bootstrap
from sinks.vault import PostgresVault
from tests.integration.hub import Hub
from tests.vault_contract import *  # noqa: F403 - the shared tests run here

pytestmark = pytest.mark.integration


class PostgresProbe:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.keys = VaultKeys(kek=crypto.data_key(), lookup_key=crypto.data_key())
        # Erasure is the administrator's; the processor may keep, not erase (below).
        self.vault = PostgresVault(bootstrap.conninfo(hub.settings, "sinergi_owner"), self.keys)

    def wrapped(self, subject: Subject) -> bytes | None:
        [(wrapped,)] = self.hub.query(
            "SELECT wrapped_dek FROM person_keys WHERE subject_id = %s", subject.subject_id
        )
        return bytes(wrapped) if wrapped is not None else None  # type: ignore[arg-type]

    def blobs(self, subject: Subject) -> list[bytes | None]:
        rows = self.hub.query(
            "SELECT fields FROM person_facts WHERE subject_id = %s ORDER BY occurred_at, kept_at",
            subject.subject_id,
        )
        return [bytes(b) if b is not None else None for (b,) in rows]  # type: ignore[arg-type]

    def contact_blobs(self, subject: Subject) -> list[bytes]:
        rows = self.hub.query(
            "SELECT contact FROM person_facts WHERE subject_id = %s AND contact IS NOT NULL"
            " ORDER BY occurred_at, kept_at",
            subject.subject_id,
        )
        return [bytes(b) for (b,) in rows]  # type: ignore[arg-type]


@pytest.fixture
def probe(hub: Hub) -> Iterator[PostgresProbe]:
    found = PostgresProbe(hub)
    yield found
    found.vault.close()


def test_the_processor_keeps_and_finds_but_cannot_erase_or_alter(hub: Hub):
    keys = VaultKeys(kek=crypto.data_key(), lookup_key=crypto.data_key())
    processor = PostgresVault(bootstrap.conninfo(hub.settings, "sinergi_processor"), keys)
    analyst = PostgresVault(bootstrap.conninfo(hub.settings, "sinergi_analyst"), keys)
    try:
        one = kept(a_pseudonym())  # noqa: F405
        subject = processor.keep([one])[one.carrier_id]
        assert processor.find("nik", one.pseudonym) == subject
        # The analyst finds the person by pseudonym, and reads nothing else of the vault.
        assert analyst.find("nik", one.pseudonym) == subject
        with pytest.raises(Exception, match="InsufficientPrivilege"):
            analyst.disclose(subject)
        with pytest.raises(Exception, match="InsufficientPrivilege"):
            processor.erase(subject, "ER-1")
    finally:
        processor.close()
        analyst.close()
    # Not even the owner deletes a person's row or a fact, or gives a fact new fields.
    with pytest.raises(psycopg.errors.RaiseException, match="kept"):
        hub.query("DELETE FROM person_facts")
    with pytest.raises(psycopg.errors.RaiseException, match="losing its fields"):
        hub.query("UPDATE person_facts SET fields = '\\x00'::bytea")


def test_no_fact_is_kept_for_an_erased_person(hub: Hub, probe: PostgresProbe):
    one = kept(a_pseudonym())  # noqa: F405
    subject = probe.vault.keep([one])[one.carrier_id]
    probe.vault.erase(subject, "ER-1")
    # An intake that found her before the erasure committed tries to add a fact: refused.
    with pytest.raises(psycopg.errors.RaiseException, match="is erased"):
        hub.query(
            "INSERT INTO person_facts (carrier_id, subject_id, event_type, occurred_at, fields)"
            " VALUES ('late', %s, 'TipReceived', now(), '\\x00'::bytea)",
            subject.subject_id,
        )


def test_a_batch_the_database_refuses_leaves_the_next_one_kept(hub: Hub):
    """What a batch keeps is copied into the connection's temporary tables: a batch the
    database refuses, the connection's first, is rolled back and does not take them
    away from the next."""
    keys = VaultKeys(kek=crypto.data_key(), lookup_key=crypto.data_key())
    vault = PostgresVault(bootstrap.conninfo(hub.settings, "sinergi_processor"), keys)
    try:
        refused = kept(a_pseudonym(), event_type=None)  # type: ignore[arg-type]  # noqa: F405
        with pytest.raises(Exception, match="NotNullViolation"):
            vault.keep([refused])
        one = kept(a_pseudonym())  # noqa: F405
        subject = vault.keep([one])[one.carrier_id]
        assert vault.carried([one.carrier_id, refused.carrier_id]) == {one.carrier_id: subject}
    finally:
        vault.close()
