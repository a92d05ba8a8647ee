"""Kafka as a sink: the dead-letter topic, and the relay of the outbox."""

from __future__ import annotations

import logging
from typing import Any

from kafka import KafkaProducer

from processors.ports import DeadLetter
from producers.publisher import Publisher
from schemas import crypto
from schemas.model import MessageDeadLettered, envelope_for, utcnow
from sinks.postgres import PostgresLedgerStore

log = logging.getLogger(__name__)


class KafkaDeadLetters:
    """Publishes :class:`MessageDeadLettered` events; ``flush`` waits for the broker."""

    def __init__(self, publisher: Publisher, unit: str) -> None:
        self.publisher = publisher
        self.unit = unit
        self.pending: list[MessageDeadLettered] = []

    def add(self, letter: DeadLetter) -> None:
        now = utcnow()
        self.pending.append(
            MessageDeadLettered(
                envelope=envelope_for(
                    MessageDeadLettered, unit=self.unit, occurred_at=now, recorded_at=now
                ),
                source_topic=letter.topic,
                source_partition=letter.partition,
                source_offset=letter.offset,
                reason=letter.reason,
                payload_sha256=letter.payload_sha256,
                payload_bytes=letter.payload_bytes,
                schema_id=letter.schema_id,
            )
        )

    def flush(self) -> None:
        if self.pending:
            self.publisher.publish(self.pending)
            self.pending.clear()


class OutboxRelay:
    """Sends the outbox's messages in order, then deletes them, in one transaction.

    A crash after sending and before deleting sends them again: consumers see the same
    ids again (an alert's id is stable, a case change's id names the case version).
    """

    def __init__(
        self, store: PostgresLedgerStore, producer: KafkaProducer, batch: int = 5000
    ) -> None:
        self.store = store
        self.producer = producer
        self.batch = batch

    def publish_pending(self) -> int:
        conn = self.store.connection()
        total = 0
        while True:
            with conn.transaction():
                rows: list[Any] = conn.execute(
                    "SELECT id, topic, key, value, headers FROM outbox ORDER BY id LIMIT %s"
                    " FOR UPDATE SKIP LOCKED",
                    (self.batch,),
                ).fetchall()
                if not rows:
                    return total
                futures = [
                    self.producer.send(
                        topic,
                        key=bytes(key),
                        value=bytes(value),
                        headers=[(name, crypto.unb64(b64)) for name, b64 in headers],
                    )
                    for _, topic, key, value, headers in rows
                ]
                self.producer.flush()
                for future in futures:
                    future.get(timeout=30)
                conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", ([r[0] for r in rows],))
            total += len(rows)
