"""Simulated police files cite victims by the cases the hub gave them (issue 11)."""

from __future__ import annotations

from datetime import UTC, datetime

from processors.vault import Kept, VaultKeys
from schemas import crypto
from sinergi import bootstrap, runtime
from sinergi.config import Settings
from sinks.memory import MemoryVault
from tests.factories import investigation, person


def test_a_cited_pseudonym_becomes_the_hubs_case_and_an_unknown_one_is_dropped(monkeypatch):
    vault = MemoryVault(VaultKeys(kek=crypto.data_key(), lookup_key=crypto.data_key()))
    known = person(1).nik_pseudonym or ""
    at = datetime(2026, 1, 5, tzinfo=UTC)
    [subject] = vault.keep([Kept("e-1", "nik", known, {}, "InterceptionRecorded", at)]).values()
    monkeypatch.setattr(bootstrap, "vault", lambda *args, **kwargs: vault)
    filed = investigation(case_ids=(f"nik:{known}", "nik:" + "f" * 32))
    [cited] = runtime.cite_hub_cases(Settings(), [filed])
    assert cited.case_ids == (subject.case_id,)  # type: ignore[attr-defined]
    assert cited.event_id == filed.event_id
