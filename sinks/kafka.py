"""Kafka as a sink: the relay of the outbox (alerts, case changes, dead letters)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kafka.errors import KafkaError

from producers.publisher import Producer
from schemas import crypto
from schemas.faults import TransientError
from sinks.postgres import PostgresLedgerStore

log = logging.getLogger(__name__)


class BrokerUnavailableError(TransientError):
    """Kafka did not acknowledge in time: the messages stay in the outbox."""

    cause = "kafka"


class OutboxRelay:
    """Sends the outbox's messages in order, then deletes them, in one transaction.

    A crash after sending and before deleting sends them again: consumers see the same
    ids again (an alert's id is stable, a case change's id names the case version, a
    dead letter's id names the refused message's position and payload).
    """

    def __init__(
        self, store: PostgresLedgerStore, producer: Callable[[], Producer], batch: int = 5000
    ) -> None:
        self.store = store
        self.producer = producer  # connected on first use: Kafka may be down at start
        self.batch = batch

    def publish_pending(self) -> int:
        total = 0
        while True:
            with self.store.transaction() as conn:
                rows: list[Any] = conn.execute(
                    "SELECT id, topic, key, value, headers FROM outbox ORDER BY id LIMIT %s"
                    " FOR UPDATE SKIP LOCKED",
                    (self.batch,),
                ).fetchall()
                if not rows:
                    return total
                self._send(rows)
                conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", ([r[0] for r in rows],))
            total += len(rows)

    def _send(self, rows: list[Any]) -> None:
        try:
            producer = self.producer()
            futures = [
                producer.send(
                    topic,
                    key=bytes(key),
                    value=bytes(value),
                    headers=[(name, crypto.unb64(b64)) for name, b64 in headers],
                )
                for _, topic, key, value, headers in rows
            ]
            producer.flush(timeout=30)
            for future in futures:
                future.get(timeout=30)
        except KafkaError as exc:
            raise BrokerUnavailableError(f"Kafka: {type(exc).__name__}") from exc
