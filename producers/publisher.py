"""Publishing events to Kafka: validated and encoded first, so nothing invalid is sent.

kafka-python with ``acks=all`` and idempotence: a retried send is written once.
The message key is the person's pseudonym (or the event id), so one person's
facts from one agency stay in order on one partition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer

from producers.signing import Headers, Signer
from schemas.model import Event
from schemas.serde import Serializer
from schemas.topics import spec_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    event_id: str
    topic: str
    partition: int
    offset: int


def kafka_producer(bootstrap_servers: str, **security: Any) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=10,
        batch_size=256 * 1024,
        max_in_flight_requests_per_connection=5,
        client_id="sinergi-publisher",
        **security,
    )


@dataclass(frozen=True)
class Encoded:
    """A message ready to send: topic, key, value and the signature headers."""

    topic: str
    key: bytes
    value: bytes
    headers: Headers


class Publisher:
    """Encodes, signs and sends one member's events."""

    def __init__(
        self,
        producer: KafkaProducer,
        serialize: Serializer,
        topic_name: Callable[[str], str],
        signer: Signer,
    ) -> None:
        self.producer = producer
        self.serialize = serialize
        self.topic_name = topic_name
        self.signer = signer

    def encode(self, event: Event) -> Encoded:
        """The signed message of ``event``; raises SerializationError before any send."""
        relative = spec_for(event.event_type).name
        topic = self.topic_name(relative)
        key = event.partition_key().encode()
        value = self.serialize(topic, event)
        return Encoded(topic, key, value, self.signer.headers(relative, key, value))

    def publish(self, events: Iterable[Event], *, timeout: float = 60.0) -> list[Sent]:
        """Encode every event first, then send them all and wait until Kafka has them."""
        encoded = [(event.event_id, self.encode(event)) for event in events]
        futures = [
            (event_id, self.producer.send(m.topic, key=m.key, value=m.value, headers=m.headers))
            for event_id, m in encoded
        ]
        self.producer.flush(timeout=timeout)
        sent = []
        for event_id, future in futures:
            meta = future.get(timeout=timeout)
            sent.append(Sent(event_id, meta.topic, meta.partition, meta.offset))
        return sent

    def close(self, timeout: float = 30.0) -> None:
        self.producer.close(timeout=timeout)
