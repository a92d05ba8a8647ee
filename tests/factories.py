"""Event factories shared by unit and integration tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from schemas import crypto
from schemas.directory import Directory, Member
from schemas.model import (
    AlertAcknowledged,
    AlertAction,
    CaseSentToProsecutor,
    DocumentIssue,
    InterceptionOutcome,
    InterceptionRecorded,
    InvestigationOpened,
    LtsaRegistrationRecorded,
    NikStatus,
    Offence,
    PerpetratorRole,
    Person,
    PlacementRegistered,
    PreventionActivityHeld,
    PreventionKind,
    Procedural,
    RepatriationCause,
    RepatriationKind,
    RepatriationRecorded,
    Sector,
    Sex,
    SuspectIdentified,
    SuspectStatus,
    TipConcern,
    TipReceived,
    envelope_for,
)
from schemas.person_seal import INTAKE_ROLE

T0 = datetime(2026, 1, 20, 1, 30, tzinfo=UTC)


def person(n: int = 1, **overrides: Any) -> Person:
    values: dict[str, Any] = {
        "nik_pseudonym": f"{n:032x}",
        "nik_status": NikStatus.VALID,
        "sex": Sex.FEMALE,
        "birth_date": date(2000, 5, 17),
        "origin_regency": "5302",
    }
    values.update(overrides)
    return Person(**values)


def interception(
    n: int = 1,
    *,
    at: datetime | None = None,
    minutes: int = 0,
    post: str = "eltari",
    event_id: str | None = None,
    **overrides: Any,
) -> InterceptionRecorded:
    occurred = (at or T0) + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "envelope": envelope_for(
            InterceptionRecorded,
            unit=f"post-{post}",
            occurred_at=occurred,
            recorded_at=occurred + timedelta(minutes=5),
            event_id=event_id or str(uuid.uuid4()),
        ),
        "person": person(n),
        "post_id": post,
        "officer_ref": "ELT-07",
        "exit_point": post,
        "route": "direct-flight",
        "destination_country": "MY",
        "intended_sector": Sector.PLANTATION,
        "documents": (DocumentIssue.NO_WORK_VISA, DocumentIssue.NOT_REGISTERED),
        "recruiter_ref": recruiter(1),
        "group_ref": None,
        "outcome": InterceptionOutcome.SENT_HOME,
    }
    values.update(overrides)
    return InterceptionRecorded(**values)


def _envelope(cls: type, unit: str, at: datetime | None, minutes: int, event_id: str | None):
    occurred = (at or T0) + timedelta(minutes=minutes)
    return envelope_for(
        cls,
        unit=unit,
        occurred_at=occurred,
        recorded_at=occurred + timedelta(minutes=5),
        event_id=event_id or str(uuid.uuid4()),
    )


def case_id(n: int) -> str:
    return person(n).key or ""


def recruiter(n: int) -> str:
    return f"{n:030x}ca"  # hex, like every pseudonym; "ca" for calo


def placement(n: int = 1, *, at=None, minutes: int = 0, event_id=None, **overrides: Any):
    values: dict[str, Any] = {
        "envelope": _envelope(PlacementRegistered, "bp3mi-ntt", at, minutes, event_id),
        "person": person(n),
        "destination_country": "TW",
        "sector": Sector.MANUFACTURING,
        "placement_company": "P3MI-0042",
    }
    values.update(overrides)
    return PlacementRegistered(**values)


def repatriation(n: int = 1, *, at=None, minutes: int = 0, event_id=None, **overrides: Any):
    values: dict[str, Any] = {
        "envelope": _envelope(RepatriationRecorded, "bp3mi-ntt", at, minutes, event_id),
        "person": person(n),
        "kind": RepatriationKind.DECEASED,
        "country": "MY",
        "procedural": Procedural.NON_PROCEDURAL,
        "cause": RepatriationCause.ILLNESS,
        "arrival_point": "eltari",
    }
    values.update(overrides)
    return RepatriationRecorded(**values)


def ltsa(n: int = 1, *, at=None, minutes: int = 0, event_id=None, **overrides: Any):
    values: dict[str, Any] = {
        "envelope": _envelope(LtsaRegistrationRecorded, "district-5302", at, minutes, event_id),
        "person": person(n),
        "ltsa_regency": "5302",
        "intended_country": "TW",
        "intended_sector": Sector.MANUFACTURING,
    }
    values.update(overrides)
    return LtsaRegistrationRecorded(**values)


def prevention(*, at=None, minutes: int = 0, event_id=None, **overrides: Any):
    values: dict[str, Any] = {
        "envelope": _envelope(PreventionActivityHeld, "district-5302", at, minutes, event_id),
        "regency": "5302",
        "village": "Oinlasi",
        "kind": PreventionKind.VILLAGE_SOCIALISATION,
        "attendance": 80,
        "attendance_women": 45,
    }
    values.update(overrides)
    return PreventionActivityHeld(**values)


def tip(
    *,
    at=None,
    minutes: int = 0,
    event_id=None,
    subject_n: int | None = None,
    recruiter_n: int | None = None,
    **overrides: Any,
):
    values: dict[str, Any] = {
        "envelope": _envelope(TipReceived, "hotline-sisaga", at, minutes, event_id),
        "tip_ref": "SISAGA-2026-0042",
        "reporter_ref": "f" * 32,
        "concern": TipConcern.IMMINENT_DEPARTURE,
        "regency": "5302",
        "exit_point": "tenau",
        "suspected_recruiter_ref": recruiter(recruiter_n) if recruiter_n is not None else None,
        "subject": person(subject_n) if subject_n is not None else None,
        "expected_departure": None,
    }
    values.update(overrides)
    return TipReceived(**values)


def investigation(
    ref: str = "LP/B/45/I/2026", *, at=None, minutes: int = 0, event_id=None, **overrides: Any
):
    values: dict[str, Any] = {
        "envelope": _envelope(InvestigationOpened, "police-polda-ntt", at, minutes, event_id),
        "investigation_ref": ref,
        "offence": Offence.TPPO,
        "case_ids": (case_id(1),),
        "recruiter_refs": (recruiter(1),),
        "alert_id": None,
    }
    values.update(overrides)
    return InvestigationOpened(**values)


def suspect(
    ref: str = "LP/B/45/I/2026", *, at=None, minutes: int = 0, event_id=None, **overrides: Any
):
    values: dict[str, Any] = {
        "envelope": _envelope(SuspectIdentified, "police-polda-ntt", at, minutes, event_id),
        "investigation_ref": ref,
        "recruiter_ref": recruiter(1),
        "role": PerpetratorRole.RECRUITER,
        "suspect_status": SuspectStatus.ARRESTED,
    }
    values.update(overrides)
    return SuspectIdentified(**values)


def prosecution(
    ref: str = "LP/B/45/I/2026", *, at=None, minutes: int = 0, event_id=None, **overrides: Any
):
    values: dict[str, Any] = {
        "envelope": _envelope(CaseSentToProsecutor, "police-polda-ntt", at, minutes, event_id),
        "investigation_ref": ref,
        "prosecutor_office": "kejati-ntt",
        "case_ids": (case_id(1),),
        "recruiter_refs": (recruiter(1),),
    }
    values.update(overrides)
    return CaseSentToProsecutor(**values)


def acknowledgement(alert_id: str, *, at=None, minutes: int = 0, event_id=None, **overrides: Any):
    values: dict[str, Any] = {
        "envelope": _envelope(AlertAcknowledged, "police-polda-ntt", at, minutes, event_id),
        "alert_id": alert_id,
        "officer_ref": "POLDA-17",
        "action": AlertAction.INVESTIGATING,
    }
    values.update(overrides)
    return AlertAcknowledged(**values)


def desk_directory(*members: Member) -> Directory:
    """A member directory as a desk finds it: its members and the hub's intake key (a
    fresh one, whose private half nobody keeps) to seal people to."""
    intake = crypto.public_sealing(X25519PrivateKey.generate())
    directory = Directory(sealing_keys={INTAKE_ROLE: intake})
    for member in members:
        directory = directory.with_member(member)
    return directory
