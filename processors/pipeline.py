"""One batch of messages: decode, check, fold into the ledger, store, all or nothing.

Used by the live faust worker and by ``sinergi ledger rebuild``; knows nothing of
faust. Decoding failures go to the dead-letter sink with the reason; they never
stop the batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from processors import ledger, metrics
from processors.ports import DeadLetter, DeadLetterSink, LedgerStore, StoredEvent
from schemas.model import Event
from schemas.serde import Decoded, SerializationError, unframe

log = logging.getLogger(__name__)

# A recorded_at this far after the clock of the hub is a broken clock or a forgery.
MAX_CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class BatchResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    cases_changed: int = 0
    seconds: float = 0.0
    # (topic, outcome) -> messages; outcome is stored, duplicate or dead_lettered.
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    stored_events: list[Event] = field(default_factory=list)


class InvalidEventError(ValueError):
    """A decodable event that breaks a rule every event must keep."""


def check(event: Event, now_ms: float) -> None:
    """Rules beyond the schema that every event must keep to enter the ledger."""
    env = event.envelope
    try:
        uuid.UUID(env.event_id)
    except ValueError:
        raise InvalidEventError("envelope.event_id is not a UUID") from None
    if env.occurred_at > env.recorded_at:
        raise InvalidEventError("envelope.occurred_at is after envelope.recorded_at")
    if env.recorded_at.timestamp() * 1000 > now_ms + MAX_CLOCK_SKEW.total_seconds() * 1000:
        raise InvalidEventError("envelope.recorded_at is in the future")
    if env.agency != event.agency.value:
        raise InvalidEventError(
            f"{event.event_type} must be published by a {event.agency.value}, not {env.agency}"
        )


class Pipeline:
    def __init__(
        self,
        decode: Callable[[bytes | None], Decoded],
        store: LedgerStore,
        dead_letters: DeadLetterSink,
        *,
        clock_ms: Callable[[], float] = lambda: time.time() * 1000,
    ) -> None:
        self.decode = decode
        self.store = store
        self.dead_letters = dead_letters
        self.clock_ms = clock_ms

    def _reject(self, msg: RawMessage, reason: str, result: BatchResult) -> None:
        payload = msg.value or b""
        schema_id = None
        with contextlib.suppress(SerializationError):
            schema_id, _ = unframe(msg.value)
        self.dead_letters.add(
            DeadLetter(
                topic=msg.topic,
                partition=msg.partition,
                offset=msg.offset,
                reason=reason,
                payload_sha256=hashlib.sha256(payload).hexdigest(),
                payload_bytes=len(payload),
                schema_id=schema_id,
            )
        )
        result.dead_lettered += 1
        result.outcomes[(msg.topic, "dead_lettered")] += 1
        # The reason names fields and rules, never values: safe to log.
        log.warning("dead-lettered %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, reason)

    def _decode_all(self, batch: Sequence[RawMessage], result: BatchResult) -> list[StoredEvent]:
        decoded: dict[str, StoredEvent] = {}
        now = self.clock_ms()
        for msg in batch:
            try:
                schema_id, event, record = self.decode(msg.value)
                check(event, now)
                case_id = ledger.case_key(event)
            except (SerializationError, InvalidEventError, ledger.LedgerError) as exc:
                self._reject(msg, str(exc), result)
                continue
            if event.event_id in decoded:
                result.duplicates += 1
                result.outcomes[(msg.topic, "duplicate")] += 1
                continue
            decoded[event.event_id] = StoredEvent(
                event, case_id, msg.topic, msg.partition, msg.offset, schema_id, record
            )
        return list(decoded.values())

    def process(self, batch: Sequence[RawMessage]) -> BatchResult:
        started = time.perf_counter()
        result = BatchResult(received=len(batch))
        stored = self._decode_all(batch, result)
        # Dead letters are out before the batch commits: a crash in between repeats them
        # (each names its source offset), it never loses them.
        self.dead_letters.flush()
        with self.store.unit_of_work() as uow:
            new_ids = uow.add_events(stored)
            fresh = [s for s in stored if s.event.event_id in new_ids]
            for item in stored:
                outcome = "stored" if item.event.event_id in new_ids else "duplicate"
                result.outcomes[(item.topic, outcome)] += 1
            result.duplicates += len(stored) - len(fresh)
            fresh.sort(key=lambda s: (s.event.occurred_at, s.event.event_id))
            case_ids = {s.case_id for s in fresh if s.case_id is not None}
            cases = uow.get_cases(case_ids)
            for item in fresh:
                assert item.case_id is not None
                cases[item.case_id] = ledger.apply(cases.get(item.case_id), item.event)
            uow.put_cases(cases[c] for c in sorted(case_ids))
            uow.add_metrics(metrics.tally(s.event for s in fresh))
        result.stored = len(fresh)
        result.cases_changed = len(case_ids)
        result.stored_events = [s.event for s in fresh]
        result.seconds = time.perf_counter() - started
        return result
