"""Publishing events to Kafka: validated and encoded first, so nothing invalid is sent.

kafka-python with ``acks=all`` and idempotence: a retried send is written once.
The message key is the person's pseudonym (or the event id), so one person's
facts from one agency stay in order on one partition.

Two ways to publish:

- :meth:`Publisher.publish`, the hub's way (the processor, tools): send now, wait for
  the broker, raise if it cannot be reached. The processor keeps its own outbox in
  PostgreSQL.
- :meth:`Publisher.record` and :meth:`Publisher.sync`, a desk's way: keep each signed
  message in the desk's outbox (:mod:`producers.outbox`) first, then deliver what is
  pending, in order. A hub that cannot be reached is a result (so many wait at the
  desk), not an error: posts keep working offline.

The Kafka producer is made only when something is sent: kafka-python cannot even
construct one while no broker answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from kafka import KafkaProducer
from kafka.errors import KafkaError

from producers.amend import Recorded, amendment
from producers.fields import FieldError, InvalidInputError
from producers.outbox import (
    Delivery,
    DeliveryFailed,
    DeskMessage,
    DeskOutbox,
    RecordedBeforeError,
    Sent,
)
from producers.signing import Headers, Signer
from schemas.codec import content_sha256, to_dict
from schemas.crypto import now_ms
from schemas.model import (
    Event,
    RecordCorrected,
    RecordRetracted,
)
from schemas.serde import Serializer
from schemas.topics import topic_of

__all__ = [
    "RECONNECT_BACKOFF_MAX_MS",
    "Delivery",
    "Encoded",
    "Producer",
    "Publisher",
    "Sent",
    "kafka_producer",
]

log = logging.getLogger(__name__)

# What a failing transport raises: kafka-python's errors (KafkaTimeoutError "Unable to
# bootstrap" where 2.x raised NoBrokersAvailable, KafkaConnectionError, authorisation
# errors, ...) and the socket's.
TRANSPORT_ERRORS = (KafkaError, OSError)


# Why a record is refused whose id this desk, or the same file, holds with other content.
RECORDED_BEFORE = (
    "another record with this id and other content was recorded at this desk, or is in"
    " the same file: a record is corrected, never edited (the correct command, or its id"
    " in a corrects column)"
)


def content_digest(event: Event) -> str | None:
    """What a record says, as the hub digests it (:func:`schemas.codec.content_sha256`:
    without when the desk recorded it, nor its seals, which are new at each sealing): the
    same row imported again gives the same digest, the same id with an edited row another
    (kept in the desk's outbox only, to refuse that edit: :class:`RecordedBeforeError`).
    None for a correction or retraction, which say what to do to another record."""
    if isinstance(event, RecordCorrected | RecordRetracted):
        return None
    return content_sha256(to_dict(event))


@runtime_checkable
class Producer(Protocol):
    """What the publisher uses of a KafkaProducer (a fake in unit tests)."""

    def send(self, topic: str, *, key: bytes, value: bytes, headers: Headers) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


Connect = Callable[[], Producer]

# kafka-python waits longer and longer between attempts to reach a broker that went away,
# up to 30 s (its default): a broker back after an outage was used again up to half a
# minute later (a broker killed for 10 s once held the relay, and so the ledger, 30 s
# more). The hub's services try again within 5 s at most, as the worker does with every
# service it needs.
RECONNECT_BACKOFF_MAX_MS = 5_000


def kafka_producer(bootstrap_servers: str, **options: Any) -> KafkaProducer:
    """A producer that waits for every in-sync replica (``acks=all``), idempotent.
    ``options``: security, and timeouts (a desk gives up sooner than the hub)."""
    return KafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=10,
        batch_size=256 * 1024,
        max_in_flight_requests_per_connection=5,
        client_id="sinergi-publisher",
        reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
        **options,
    )


@dataclass(frozen=True)
class Encoded:
    """A message ready to send: topic, key, value and the signature headers."""

    topic: str
    key: bytes
    value: bytes
    headers: Headers


class Publisher:
    """Encodes, signs and sends one member's events; with a desk ``outbox``, keeps them
    there first.

    ``producer`` is a producer, or a function that connects one when first needed.
    ``replay_window``: the hub refuses a message reaching it later than this after it
    was signed; a desk signs again what waited longer than half of it, so what it sends
    has at least half the window left to arrive.
    """

    def __init__(
        self,
        producer: Producer | Connect,
        serialize: Serializer,
        topic_name: Callable[[str], str],
        signer: Signer,
        *,
        outbox: DeskOutbox | None = None,
        replay_window: timedelta = timedelta(hours=24),
        timeout: float = 60.0,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._producer = producer if isinstance(producer, Producer) else None
        self._connect = None if isinstance(producer, Producer) else producer
        self.serialize = serialize
        self.topic_name = topic_name
        self.signer = signer
        self.outbox = outbox
        self.resign_after_ms = int(replay_window.total_seconds() * 1000) // 2
        self.timeout = timeout
        self.clock = clock

    @property
    def producer(self) -> Producer:
        """The Kafka producer, connected on first use (raises KafkaError without a broker)."""
        if self._producer is None:
            assert self._connect is not None
            self._producer = self._connect()
        return self._producer

    # --- encoding ------------------------------------------------------------------------

    def encode(self, event: Event, *, signed_at_ms: int | None = None) -> Encoded:
        """The signed message of ``event``; raises SerializationError before any send."""
        relative = topic_of(event).name
        topic = self.topic_name(relative)
        key = event.partition_key().encode()
        value = self.serialize(topic, event)
        headers = self.signer.headers(relative, key, value, signed_at_ms=signed_at_ms)
        return Encoded(topic, key, value, headers)

    def encode_all(
        self, events: Sequence[Event], *, signed_at_ms: int | None = None
    ) -> list[Encoded]:
        """The signed messages of ``events``, signed once per batch (v3: a Merkle root,
        a proof per message); raises SerializationError before any send."""
        at = self.clock() if signed_at_ms is None else signed_at_ms
        parts = []
        for event in events:
            relative = topic_of(event).name
            topic = self.topic_name(relative)
            key = event.partition_key().encode()
            parts.append((relative, topic, key, self.serialize(topic, event)))
        headers = self.signer.batch_headers(
            [(relative, key, value) for relative, _, key, value in parts], signed_at_ms=at
        )
        return [
            Encoded(topic, key, value, h)
            for (_, topic, key, value), h in zip(parts, headers, strict=True)
        ]

    def amendment(self, item: Recorded) -> Event:
        """The event to publish for ``item``: itself, or the RecordCorrected or
        RecordRetracted that this member signs (see :func:`producers.amend.amendment`)."""
        return amendment(
            item,
            self.signer.member_id,
            lambda record: self.serialize(self.topic_name(topic_of(record).name), record),
            self.outbox.key_of if self.outbox is not None else lambda event_id: None,
        )

    def desk_messages(self, events: Sequence[Event]) -> list[DeskMessage]:
        """``events`` signed now (one signature per batch), as the desk's outbox keeps them."""
        at = self.clock()
        return [
            DeskMessage(
                event_id=event.event_id,
                event_type=event.event_type,
                topic=m.topic,
                signed_topic=topic_of(event).name,
                key=m.key,
                value=m.value,
                headers=tuple(m.headers),
                recorded_at=event.envelope.recorded_at,
                signed_at_ms=at,
                content_sha256=content_digest(event),
            )
            for event, m in zip(events, self.encode_all(events, signed_at_ms=at), strict=True)
        ]

    # --- the hub's way: send now ------------------------------------------------------------

    def publish(self, events: Iterable[Recorded], *, timeout: float = 60.0) -> list[Sent]:
        """Encode every event first, then send them all and wait until Kafka has them.
        Sends directly, never through a desk outbox; raises if Kafka cannot be reached."""
        amended = [self.amendment(event) for event in events]
        encoded = [(e.event_id, m) for e, m in zip(amended, self.encode_all(amended), strict=True)]
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

    # --- a desk's way: keep, then deliver -------------------------------------------------

    def record(self, events: Iterable[Recorded]) -> Delivery:
        """Encode and sign every event (all or nothing: an invalid one raises before any is
        kept), keep them in the desk's outbox, then deliver everything pending, in order.
        A correction or retraction is published as the RecordCorrected or RecordRetracted
        of this desk's member."""
        self._desk()
        return self.keep(self.desk_messages([self.amendment(event) for event in events]))

    def keep(self, messages: Sequence[DeskMessage]) -> Delivery:
        """Keep signed ``messages`` (:meth:`desk_messages`, made here or by a desk's helper
        processes) in the desk's outbox in one transaction, then deliver everything
        pending, in order."""
        try:
            recorded = self._desk().put(messages)
        except RecordedBeforeError as exc:
            raise InvalidInputError(
                [
                    FieldError("event_id", f"{event_id}: {RECORDED_BEFORE}")
                    for event_id in exc.event_ids
                ]
            ) from None
        ids = frozenset(m.event_id for m in messages)
        # All new: the outbox sends them as they are here, without reading them back.
        delivery = self.sync(kept=messages if recorded == len(ids) == len(messages) else ())
        return replace(delivery, recorded=recorded, ids=ids)

    def sync(self, *, kept: Sequence[DeskMessage] = ()) -> Delivery:
        """Deliver what waits at the desk, oldest first; stop at the first transport
        failure (what is left stays pending, with the failure's class name). ``kept``:
        messages just kept, all new (see :meth:`DeskOutbox.deliver`)."""
        return self._desk().deliver(self._send, resign=self._fresh, kept=kept)

    def _desk(self) -> DeskOutbox:
        if self.outbox is None:
            raise ValueError("this publisher has no desk outbox (the hub's own publishes)")
        return self.outbox

    def _fresh(self, message: DeskMessage) -> DeskMessage:
        """``message``, signed again with the time now if its signature is older than
        half the replay window. The value (and the payload's hash) never changes."""
        now = self.clock()
        signed = message.signed_at_ms
        if signed is not None and now - signed <= self.resign_after_ms:
            return message
        headers = self.signer.headers(
            message.signed_topic, message.key, message.value, signed_at_ms=now
        )
        return replace(message, headers=tuple(headers), signed_at_ms=now)

    def _send(self, messages: Sequence[DeskMessage]) -> list[Sent]:
        """Send ``messages`` and wait for the broker's acknowledgements, in order."""
        try:
            producer = self.producer
            futures = [
                producer.send(m.topic, key=m.key, value=m.value, headers=list(m.headers))
                for m in messages
            ]
            producer.flush(timeout=self.timeout)
        except TRANSPORT_ERRORS as exc:
            raise self._failed(exc, []) from exc
        sent: list[Sent] = []
        for m, future in zip(messages, futures, strict=True):
            try:
                meta = future.get(timeout=self.timeout)
            except TRANSPORT_ERRORS as exc:
                raise self._failed(exc, sent) from exc
            sent.append(Sent(m.event_id, meta.topic, meta.partition, meta.offset))
        return sent

    def _failed(self, exc: BaseException, sent: list[Sent]) -> DeliveryFailed:
        """The failure as the outbox records it (its class name only), after dropping a
        producer we connected ourselves: the next delivery starts with a fresh one."""
        log.info("delivery stopped after %d message(s): %s", len(sent), type(exc).__name__)
        if self._connect is not None and self._producer is not None:
            self._close_producer(timeout=0)
        return DeliveryFailed(type(exc).__name__, sent)

    # --- closing ------------------------------------------------------------------------------

    def _close_producer(self, timeout: float) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(timeout=timeout)
        except TRANSPORT_ERRORS as exc:
            log.info("closing the Kafka producer: %s", type(exc).__name__)

    def close(self, timeout: float = 30.0) -> None:
        """Close the producer (if one was made) and the desk's outbox."""
        self._close_producer(timeout)
        if self.outbox is not None:
            self.outbox.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
