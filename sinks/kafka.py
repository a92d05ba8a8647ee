"""Kafka as a sink: the relay of the outbox (alerts, case changes, dead letters)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from kafka.errors import KafkaError

from processors.ports import OutboxMessage, Written
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

    Two ways, the same rows: :meth:`publish` sends the rows a batch has just committed
    from the batch's own copy of them (what the live processor does after each batch),
    :meth:`publish_pending` reads whatever waits (at start, after a relay that failed, on
    the timer: another writer's rows, a batch's rows left behind).

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
                self._send([
                    OutboxMessage(topic, bytes(key), bytes(value),
                                  tuple((name, crypto.unb64(b64)) for name, b64 in headers))
                    for _, topic, key, value, headers in rows
                ])  # fmt: skip
                conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", ([r[0] for r in rows],))
            total += len(rows)

    def publish(self, written: Sequence[Written]) -> int:
        if not written:
            return 0
        mine = dict(written)
        ids = sorted(mine)
        with self.store.transaction() as conn:
            # Older rows of other batches or writers, by topic and key (usually none: the
            # relay before went through, and the batch's ids are one run of the sequence).
            # Looked up by the primary key alone: the outbox is a queue, its statistics are
            # stale, and joins on it are planned as if it were empty.
            waiting: dict[tuple[str, bytes], int] = {}
            oldest = conn.execute("SELECT min(id) FROM outbox").fetchone()
            run = ids[-1] - ids[0] + 1 == len(ids)
            if oldest is not None and oldest[0] is not None and (oldest[0] < ids[0] or not run):
                for row_id, topic, key in conn.execute(
                    "SELECT id, topic, key FROM outbox WHERE id < %s", (ids[-1],), prepare=False
                ):
                    if row_id not in mine:
                        other = (topic, bytes(key))
                        waiting[other] = min(waiting.get(other, row_id), row_id)
            ready = [
                row_id
                for row_id in ids
                if waiting.get((mine[row_id].topic, mine[row_id].key), row_id) >= row_id
            ]
            # Taken out, then sent (a failure to send rolls the deletion back); a row
            # another relay holds is waited for, and is gone by then (it sent it).
            taken = sorted(
                row[0]
                for row in conn.execute(
                    "DELETE FROM outbox WHERE id = ANY(%s) RETURNING id", (ready,)
                )
            )
            self._send([mine[row_id] for row_id in taken])
        return len(ids) - len(ready)

    def _send(self, messages: Sequence[OutboxMessage]) -> None:
        if messages:
            send_all(self.producer(), messages)


def send_all(producer: Producer, messages: Sequence[OutboxMessage]) -> None:
    """Send the messages and return once Kafka acknowledged every one of them."""
    try:
        futures = [
            producer.send(m.topic, key=m.key, value=m.value, headers=list(m.headers))
            for m in messages
        ]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
    except KafkaError as exc:
        raise BrokerUnavailableError(f"Kafka: {type(exc).__name__}") from exc
