"""Kafka as a sink: the dead-letter topic."""

from __future__ import annotations

from processors.ports import DeadLetter
from producers.publisher import Publisher
from schemas.model import MessageDeadLettered, envelope_for, utcnow


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
