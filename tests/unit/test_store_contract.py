"""The ledger store's contract (tests/store_contract.py) kept by the in-memory store."""

from __future__ import annotations

import pytest

from processors.audit import AuditRow
from processors.ports import MetricKey
from sinks.memory import MemoryLedgerStore
from tests.store_contract import *  # noqa: F403 - the shared tests run here


class MemoryProbe:
    def __init__(self) -> None:
        self.store = MemoryLedgerStore()

    def audit_rows(self) -> list[AuditRow]:
        return [(n, e.chain, e, prev, h) for n, (e, prev, h) in enumerate(self.store.audit)]

    def metric(self, key: MetricKey) -> int:
        return self.store.metrics.get(key, 0)

    def alert(self, alert_id: str) -> str | None:
        row = self.store.tables.alerts.get(alert_id)
        if row is None:
            return None
        return "withdrawn" if row.withdrawn else "raised" if row.raised else "held"

    def ack_event(self, alert_id: str) -> str | None:
        found = self.store.acks.get(alert_id)
        return found.event_id if found else None

    def event_ids(self) -> set[str]:
        return set(self.store.events)

    def outbox_size(self) -> int:
        return len(self.store.outbox)


@pytest.fixture
def probe() -> MemoryProbe:
    return MemoryProbe()
