"""Receiving messages: who sent each one (signature), what it is (decoded with its
writer's schema), and whether it keeps the contract; or why not.

Pure: no database, no Kafka. The :class:`~processors.pipeline.Pipeline` hands a batch
of raw messages to :class:`Intake` and gets back one :class:`Received` per message,
each either carrying a checked :class:`~processors.ports.StoredEvent` or refused with
a reason. A reason names rules and fields, never a value received (see
:func:`safe_reason`): it goes to logs, the dead-letter topic and the audit trail.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from processors import ledger
from processors.audit import AuditEntry
from processors.authenticity import AuthenticityError
from processors.ledger import Kind
from processors.ports import Amendment, RawMessage, StoredEvent
from schemas.access import may_amend, may_publish
from schemas.codec import content_sha256
from schemas.contract import ContractError, Violation, violations
from schemas.crypto import CryptoError
from schemas.directory import Member
from schemas.model import Event, RecordCorrected, RecordRetracted
from schemas.serde import Decoded, SerializationError
from schemas.topics import spec_for

# A recorded_at this far after the clock of the hub is a broken clock or a forgery.
MAX_CLOCK_SKEW = timedelta(minutes=10)
# A reason is at most this long: it is logged, published and audited.
MAX_REASON = 300

Position = tuple[str, int, int]  # topic, partition, offset


class Outcome(StrEnum):
    """What became of a message: the same names in the audit, the metrics and the logs."""

    STORED = "stored"  # a new event: in the event store and the ledger
    REDELIVERED = "redelivered"  # the same message again (same Kafka position): a no-op
    ALREADY_RECORDED = "already_recorded"  # an honest re-send: same id, unit and content
    DEAD_LETTERED = "dead_lettered"  # refused, with the reason, on the dead-letter topic


class Refusal(StrEnum):
    """Why a message was dead-lettered: the bounded ``rule`` of its dead letter and of
    ``sinergi_processor_dead_letters_total{rule}``. Every refusal names one of these, so
    the processor can show each rule at 0 from its start (see :data:`REFUSAL_RULES`)."""

    SIGNATURE = "signature"  # its signature does not verify
    UNDECODABLE = "undecodable"  # not an event of a schema the registry holds
    CONTRACT = "contract"  # breaks the data contract
    FUTURE = "future"  # recorded after the hub's clock (beyond the skew allowed)
    SIGNER = "signer"  # not the unit it names, not entitled to it, or revoked
    STALE = "stale"  # signed too long before it reached the broker: a replay
    REPLAYED = "replayed"  # its event id is in the ledger with another unit or content
    LEDGER = "ledger"  # the ledger cannot place it
    SEALED = "sealed"  # a sealed person the vault cannot open
    STORE = "store"  # PostgreSQL refused its data (isolated by bisecting)
    FOLD = "fold"  # the fold raised on it (isolated by bisecting)
    INVALID = "invalid"  # any other rule every event must keep


# Every rule a message can be refused for: the label values of the dead-letter counter,
# which the processor creates at 0 when it starts.
REFUSAL_RULES: tuple[str, ...] = tuple(rule.value for rule in Refusal)


class InvalidEventError(ValueError):
    """A decodable event that breaks a rule every event must keep.

    ``code`` is the rule (a metric label)."""

    def __init__(self, message: str, code: Refusal = Refusal.INVALID) -> None:
        super().__init__(message)
        self.code = code


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_reason(text: str) -> str:
    """A reason fit for logs, topics and the audit: no control characters, bounded."""
    cleaned = _CONTROL.sub("?", text)
    return cleaned if len(cleaned) <= MAX_REASON else cleaned[: MAX_REASON - 1] + "…"


def refusal_code(exc: BaseException) -> Refusal:
    """The bounded name of why a message was refused (the ``rule`` of the metrics)."""
    if isinstance(exc, InvalidEventError):
        return exc.code
    if isinstance(exc, AuthenticityError | CryptoError):
        return Refusal.SIGNATURE
    if isinstance(exc, SerializationError):
        return Refusal.UNDECODABLE
    if isinstance(exc, ContractError):
        return Refusal.CONTRACT
    if isinstance(exc, ledger.LedgerError):
        return Refusal.LEDGER
    return Refusal.INVALID


def check(event: Event, now_ms: float) -> None:
    """Rules every event must keep to enter the ledger: the contract (every field, see
    :mod:`schemas.contract`), and time (``now_ms``: when the broker took the message)."""
    found = violations(event)
    if found:
        raise ContractError(found)
    recorded = event.envelope.recorded_at.timestamp() * 1000
    if recorded > now_ms + MAX_CLOCK_SKEW.total_seconds() * 1000:
        raise InvalidEventError("envelope.recorded_at is in the future", Refusal.FUTURE)


def check_signer(event: Event, signer: Member) -> None:
    """The signer must be the unit the envelope names, entitled to this event type,
    and a member when the event was recorded. Only the signer's id (from the hub's own
    directory) is named, never what the message says."""
    if event.envelope.unit != signer.member_id:
        raise InvalidEventError(
            f"envelope.unit is not the signer {signer.member_id}", Refusal.SIGNER
        )
    if not may_publish(signer.role, event.event_type):
        raise InvalidEventError(
            f"{signer.member_id} ({signer.role.value}) may not publish {event.event_type}",
            Refusal.SIGNER,
        )
    if not signer.active_at(event.envelope.recorded_at):
        raise InvalidEventError(
            f"{signer.member_id} was revoked before this event was recorded", Refusal.SIGNER
        )


def topic_name(topic: str, prefix: str) -> str:
    """The hub's name of a deployment's topic (without its prefix)."""
    return topic.removeprefix(prefix)


@dataclass(frozen=True)
class Security:
    """How the processor knows who sent what: the signature check, when the signature
    was made (a desk that was offline signs again when it delivers), and how long after
    that a message may reach the broker before it counts as a replay."""

    authenticate: Callable[[RawMessage], Member]
    max_age: timedelta = timedelta(hours=24)
    signed_at: Callable[[RawMessage], datetime | None] = lambda msg: None


@dataclass
class Received:
    """One message's way through a batch."""

    msg: RawMessage
    payload_sha256: str
    stored: StoredEvent | None = None
    signer: str | None = None
    outcome: Outcome = Outcome.DEAD_LETTERED
    reason: str | None = None
    rule: str | None = None  # the refusal's bounded code

    @property
    def position(self) -> Position:
        return (self.msg.topic, self.msg.partition, self.msg.offset)

    def refuse(self, reason: str, rule: Refusal) -> None:
        self.outcome, self.reason, self.rule = Outcome.DEAD_LETTERED, safe_reason(reason), rule
        self.stored = None

    def audit(self) -> AuditEntry:
        event = self.stored.event if self.stored else None
        return AuditEntry(
            topic=self.msg.topic,
            partition=self.msg.partition,
            offset=self.msg.offset,
            outcome=self.outcome.value,
            payload_sha256=self.payload_sha256,
            event_id=event.event_id if event else None,
            event_type=event.event_type if event else None,
            signer=self.signer,
            recorded_at=event.envelope.recorded_at.isoformat() if event else None,
            reason=self.reason,
        )


# What a message can be refused for while receiving it (anything else is a bug or a
# fault that passes, and goes up to the caller).
REFUSALS = (
    SerializationError,
    InvalidEventError,
    ContractError,
    ledger.LedgerError,
    AuthenticityError,
    CryptoError,
)


def case_of(event: Event, amendment: Amendment | None) -> str | None:
    """The case a stored event joins (for an amendment: its record's)."""
    about = amendment.corrected if amendment and amendment.corrected else event
    case_ids = [r.key for r in ledger.refs(about) if r.kind is Kind.CASE]
    return ledger.case_key(about) or (case_ids[0] if len(case_ids) == 1 else None)


class Intake:
    def __init__(
        self,
        decode: Callable[[bytes | None], Decoded],
        security: Security | None = None,
        topic_prefix: str = "",
    ) -> None:
        self.decode = decode
        self.security = security
        self.topic_prefix = topic_prefix

    def receive(
        self,
        batch: Sequence[RawMessage],
        now_ms: float,
        refuse: Mapping[Position, tuple[str, Refusal]] | None = None,
    ) -> list[Received]:
        """One :class:`Received` per message, in order. ``refuse`` names messages to
        refuse outright (position -> (reason, rule)): a poison message found by
        bisecting a batch the store would not take."""
        received = []
        for msg in batch:
            item = Received(msg, hashlib.sha256(msg.value or b"").hexdigest())
            received.append(item)
            forced = refuse.get(item.position) if refuse else None
            if forced is not None:
                item.refuse(*forced)
                continue
            try:
                item.stored = self._receive(item, now_ms)
            except REFUSALS as exc:
                item.refuse(str(exc), refusal_code(exc))
                continue
            item.outcome = Outcome.STORED  # provisional: the store decides (see Pipeline)
        return received

    def _receive(self, item: Received, now_ms: float) -> StoredEvent:
        """The message as a checked event, or an exception saying why not. Its signer is
        kept on ``item`` as soon as the signature verifies: the audit of a message refused
        after that (a contract broken, say) names who sent it."""
        msg = item.msg
        signer = self.security.authenticate(msg) if self.security else None
        item.signer = signer.member_id if signer is not None else None
        schema_id, event, record = self.decode(msg.value)
        # The broker's clock (LogAppendTime) where there is one: a rebuild, later, then
        # judges each message as the live processor did.
        clock = msg.timestamp_ms if msg.timestamp_ms > 0 else now_ms
        check(event, clock)
        if self.security is not None and signer is not None:
            check_signer(event, signer)
            self._check_fresh(msg, event)
        amendment = None
        if isinstance(event, RecordCorrected | RecordRetracted):
            amendment, record = self._amendment(msg, event, record, clock, signer)
        stored = StoredEvent(
            event,
            case_of(event, amendment),
            msg.topic,
            msg.partition,
            msg.offset,
            schema_id,
            record,
            content_sha256(record),
            received_at=datetime.fromtimestamp(clock / 1000, UTC),
            amendment=amendment,
        )
        return stored

    def _amendment(
        self,
        msg: RawMessage,
        event: RecordCorrected | RecordRetracted,
        record: dict[str, Any],
        clock: float,
        signer: Member | None,
    ) -> tuple[Amendment, dict[str, Any]]:
        """An amendment's own checks: it travels on its record's topic, its signer's
        agency publishes such records, and a correction's record is a whole, valid record
        of that type, under the id it corrects, of a unit the signer may amend. (Whether
        the record's publisher matches is checked against the store: see Pipeline.)"""
        if topic_name(msg.topic, self.topic_prefix) != spec_for(event.record_type).name:
            raise InvalidEventError(
                f"{event.event_type} of a {event.record_type} on another record type's topic",
                Refusal.CONTRACT,
            )
        if signer is not None and not may_publish(signer.role, event.record_type):
            raise InvalidEventError(
                f"{signer.member_id} ({signer.role.value}) may not amend {event.record_type}",
                Refusal.SIGNER,
            )
        if isinstance(event, RecordRetracted):
            return Amendment(event.retracts_event_id, event.record_type), record
        try:
            _, corrected, nested = self.decode(event.record)
        except SerializationError as exc:
            raise InvalidEventError(f"record: {exc}", Refusal.UNDECODABLE) from None
        if corrected.event_type != event.record_type:
            raise InvalidEventError("record: is not of record_type", Refusal.CONTRACT)
        if corrected.event_id != event.corrects_event_id:
            raise InvalidEventError("record: envelope.event_id is not corrects_event_id",
                                    Refusal.CONTRACT)  # fmt: skip
        try:
            check(corrected, clock)
        except ContractError as exc:
            raise ContractError(
                [Violation(f"record.{v.field}", v.rule) for v in exc.violations]
            ) from None
        unit = corrected.envelope.unit
        if signer is not None and not may_amend(signer.member_id, signer.role, unit,
                                                event.record_type):  # fmt: skip
            raise InvalidEventError(
                f"{signer.member_id} may not correct a record of another unit", Refusal.SIGNER
            )
        # The event store keeps the corrected record itself, readable, not its bytes.
        return Amendment(event.corrects_event_id, event.record_type, corrected), {
            **record,
            "record": nested,
        }

    def _check_fresh(self, msg: RawMessage, event: Event) -> None:
        """A message must reach the broker (its LogAppendTime) within ``max_age`` of its
        signature (or, unsigned in time, of its recording): older is a replay."""
        assert self.security is not None
        if msg.timestamp_ms <= 0:
            return
        signed = self.security.signed_at(msg) or event.envelope.recorded_at
        age = msg.timestamp_ms / 1000 - signed.timestamp()
        limit = self.security.max_age.total_seconds()
        if age > limit:
            raise InvalidEventError(
                f"replayed: signed {age / 3600:.0f} h before it reached the hub"
                f" (at most {limit / 3600:.0f} h)",
                Refusal.STALE,
            )
