"""The ledger store's contract (tests/store_contract.py) kept by PostgreSQL: the same tests
as the in-memory store's, against this test's own database."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaConsumer

from processors.audit import AuditRow
from processors.ports import MetricKey
from producers.publisher import kafka_producer
from sinergi import bootstrap
from sinks.audit_trail import read_audit
from sinks.kafka import OutboxRelay
from sinks.postgres import PostgresLedgerStore, to_json
from tests.integration.hub import Hub
from tests.store_contract import *  # noqa: F403 - the shared tests run here

pytestmark = pytest.mark.integration


class PostgresProbe:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store = PostgresLedgerStore(bootstrap.conninfo(hub.settings, "sinergi_processor"))

    def audit_rows(self) -> list[AuditRow]:
        return read_audit(bootstrap.conninfo(self.hub.settings, "sinergi_owner"))

    def metric(self, key: MetricKey) -> int:
        rows = self.hub.query(
            "SELECT value FROM metrics_daily WHERE day = %s AND metric = %s AND labels = %s::jsonb",
            key.day,
            key.metric,
            to_json(dict(key.labels)),
        )
        return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]

    def alert(self, alert_id: str) -> str | None:
        rows = self.hub.query("SELECT withdrawn_at FROM alerts WHERE alert_id = %s", alert_id)
        if rows:
            return "withdrawn" if rows[0][0] is not None else "raised"
        held = self.hub.query("SELECT 1 FROM alerts_held WHERE alert_id = %s", alert_id)
        return "held" if held else None

    def ack_event(self, alert_id: str) -> str | None:
        rows = self.hub.query("SELECT event_id::text FROM alert_acks WHERE alert_id = %s", alert_id)
        return str(rows[0][0]) if rows else None

    def event_ids(self) -> set[str]:
        return {str(r[0]) for r in self.hub.query("SELECT event_id::text FROM events")}

    def outbox_size(self) -> int:
        return int(self.hub.query("SELECT count(*) FROM outbox")[0][0])  # type: ignore[call-overload]

    @functools.cached_property
    def topic(self) -> str:
        return self.hub.settings.topic("hub.cases")

    @functools.cached_property
    def relay(self) -> OutboxRelay:
        producer = kafka_producer(**self.hub.kafka())  # type: ignore[arg-type]
        return OutboxRelay(self.store, lambda: producer)

    def published(self, count: int) -> dict[bytes, list[bytes]]:
        """Read back from the broker."""
        consumer = KafkaConsumer(
            self.topic, **self.hub.kafka(), auto_offset_reset="earliest", consumer_timeout_ms=20000
        )
        by_key: dict[bytes, list[bytes]] = {}
        for n, m in enumerate(consumer, start=1):
            by_key.setdefault(m.key, []).append(m.value)
            if n == count:
                break
        consumer.close()
        return by_key


@pytest.fixture
def probe(hub: Hub) -> Iterator[PostgresProbe]:
    found = PostgresProbe(hub)
    yield found
    found.store.close()


def test_a_claim_and_the_ledger_raising_the_same_alert_at_once_raise_it_once(
    probe: PostgresProbe,
):
    """The sentinel's claim, not yet committed (it waits for Kafka), and the ledger's batch
    raising the same alert: the batch waits for the claim and does not raise it again."""
    alert = an_alert(13)  # noqa: F405
    other = PostgresLedgerStore(bootstrap.conninfo(probe.hub.settings, "sinergi_processor"))
    outcome: list[Any] = []
    try:
        with probe.store.unit_of_work() as claiming:
            assert claiming.claim_alerts([("case:13", alert)]) == [alert]

            def ledger() -> None:
                with other.unit_of_work() as uow:
                    outcome.append(uow.sync_alerts({"case:13": [alert]}, NOW))  # noqa: F405

            batch = threading.Thread(target=ledger)
            batch.start()
            batch.join(timeout=1.0)
            assert batch.is_alive()  # waiting for the claim's row
        batch.join(timeout=30)
    finally:
        other.close()
    [changes] = outcome
    assert (changes.raised, changes.withdrawn) == ([], [])
    assert probe.alert(alert.alert_id) == "raised"
