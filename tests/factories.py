"""Event factories shared by unit and integration tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.model import (
    DocumentIssue,
    InterceptionOutcome,
    InterceptionRecorded,
    NikStatus,
    Person,
    Sector,
    Sex,
    envelope_for,
)

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
        "recruiter_ref": "r" * 32,
        "group_ref": None,
        "outcome": InterceptionOutcome.SENT_HOME,
    }
    values.update(overrides)
    return InterceptionRecorded(**values)
