"""The ledger store's contract (tests/store_contract.py) kept by the in-memory store."""

from __future__ import annotations

import functools

import pytest

from processors.audit import AuditRow
from processors.ports import MetricKey
from sinks.memory import MemoryLedgerStore, MemoryRelay
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

    topic = "hub.cases"

    @functools.cached_property
    def relay(self) -> MemoryRelay:
        return MemoryRelay(self.store)

    def published(self, count: int) -> dict[bytes, list[bytes]]:
        by_key: dict[bytes, list[bytes]] = {}
        for m in self.relay.published[:count]:
            by_key.setdefault(m.key, []).append(m.value)
        return by_key


@pytest.fixture
def probe() -> MemoryProbe:
    return MemoryProbe()
