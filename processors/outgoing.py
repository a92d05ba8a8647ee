"""What the hub itself publishes about a batch: the events its outbox relays.

A refused message's :class:`MessageDeadLettered`, an alert raised (:class:`AlertRaised`)
or withdrawn (:class:`AlertWithdrawn`), and a case's new version (:class:`CaseUpdated`).
Each is made from what the batch decided (:mod:`processors.pipeline`), never from a
message's payload, and its event id names what it says, so that the same statement made
twice (a batch repeated after a crash, a relay sent again) is recognisably one.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import datetime

from processors.alerts import Alert
from processors.intake import Received
from processors.ledger import Case
from schemas.ids import name_uuid
from schemas.model import (
    AlertRaised,
    AlertWithdrawn,
    CaseUpdated,
    MessageDeadLettered,
    Sex,
    WithdrawalReason,
    envelope_for,
)
from schemas.serde import SerializationError, unframe

_CASE_VERSION = uuid.UUID("6c1f0a3e-2b7d-4f59-8e41-9d2a7c5b3e18")
_DEAD_LETTER = uuid.UUID("2f0c7d1e-8a4b-4e6f-9b3a-5c1d7e9f0a2b")


def dead_letter_event(item: Received, unit: str, now: datetime) -> MessageDeadLettered:
    """Where a refused message is and why; never its payload. Its id names the position
    and the payload, so a relayed copy sent twice is recognisably the same."""
    msg = item.msg
    schema_id = None
    with contextlib.suppress(SerializationError):
        schema_id, _ = unframe(msg.value)
    name = f"{msg.topic}/{msg.partition}/{msg.offset}/{item.payload_sha256}"
    return MessageDeadLettered(
        envelope=envelope_for(
            MessageDeadLettered,
            unit=unit,
            occurred_at=now,
            recorded_at=now,
            event_id=name_uuid(_DEAD_LETTER, name),
        ),
        source_topic=msg.topic,
        source_partition=msg.partition,
        source_offset=msg.offset,
        reason=item.reason or "refused",
        payload_sha256=item.payload_sha256,
        payload_bytes=len(msg.value or b""),
        schema_id=schema_id,
    )


def alert_event(alert: Alert, unit: str, now: datetime) -> AlertRaised:
    return AlertRaised(
        envelope=envelope_for(
            AlertRaised,
            unit=unit,
            occurred_at=alert.triggered_at,
            recorded_at=max(now, alert.triggered_at),
            event_id=alert.alert_id,
        ),
        alert_id=alert.alert_id,
        rule=alert.rule,
        severity=alert.severity,
        case_ids=alert.case_ids,
        recruiter_ref=alert.recruiter_ref,
        group_ref=alert.group_ref,
        cause_event_ids=alert.cause_event_ids,
        summary=alert.summary,
        triggered_at=alert.triggered_at,
        sealed_contacts=alert.sealed_contacts,
    )


_WITHDRAWN = uuid.UUID("a3c52f0e-7d61-4b9a-8e2f-1c4d6b8a0e37")
_SAYS_WHY = {
    WithdrawalReason.LATE_FACT: "fakta yang dicatat kemudian mengakhiri keadaannya",
    WithdrawalReason.RECORD_CORRECTED: "catatan yang menjadi dasarnya telah dikoreksi",
    WithdrawalReason.RECORD_RETRACTED: "catatan yang menjadi dasarnya telah ditarik",
}


def withdrawal_event(
    alert: Alert, ended: Sequence[tuple[str, WithdrawalReason]], unit: str, now: datetime
) -> AlertWithdrawn:
    """An alert that stopped holding, with what ended it: the batch's facts, corrections
    and retractions on the entity whose rules raised it (``ended``: event id, how)."""
    reasons = {why for _, why in ended}
    reason = next(
        (r for r in (WithdrawalReason.RECORD_RETRACTED, WithdrawalReason.RECORD_CORRECTED)
         if r in reasons),
        WithdrawalReason.LATE_FACT,
    )  # fmt: skip
    return AlertWithdrawn(
        envelope=envelope_for(
            AlertWithdrawn,
            unit=unit,
            occurred_at=now,
            recorded_at=now,
            event_id=name_uuid(_WITHDRAWN, f"{alert.alert_id}/{now.isoformat()}"),
        ),
        alert_id=alert.alert_id,
        rule=alert.rule,
        severity=alert.severity,
        case_ids=alert.case_ids,
        reason=reason,
        ended_by_event_ids=tuple(sorted({event_id for event_id, _ in ended}))[:1000],
        summary=f"Peringatan {alert.rule.value} ditarik: {_SAYS_WHY[reason]}",
        withdrawn_at=now,
    )


def case_event(case: Case, unit: str, now: datetime) -> CaseUpdated:
    """The case's change event; its id names this version of the case."""
    assert case.first_seen is not None and case.last_seen is not None
    version = f"{case.case_id}/{len(case.facts)}/{case.facts[-1].event_id}"
    return CaseUpdated(
        envelope=envelope_for(
            CaseUpdated,
            unit=unit,
            occurred_at=case.last_seen,
            recorded_at=max(now, case.last_seen),
            event_id=name_uuid(_CASE_VERSION, version),
        ),
        case_id=case.case_id,
        match=case.match,
        status=case.status,
        sex=Sex(case.sex),
        origin_regency=case.origin_regency,
        minor_when_first_seen=case.minor_when_first_seen,
        interceptions=case.interceptions,
        repatriations=case.repatriations,
        placements=case.placements,
        investigation=case.investigation,
        recruiters=tuple(sorted(case.recruiters)),
        first_seen=case.first_seen,
        last_seen=case.last_seen,
        fact_count=len(case.facts),
    )
