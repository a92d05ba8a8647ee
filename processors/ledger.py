"""The joint case ledger as a pure fold: ``apply(case, event) -> case``.

No Kafka, faust or database here: the same fold serves the live worker, the
rebuild from the topics, and the unit tests.

A case keeps every fact about one person (its timeline) sorted by
``(occurred_at, event_id)``; everything else in it is derived from that
timeline. So the result does not depend on the order events arrive in (the
topics of different agencies interleave differently in a live run and in a
rebuild), and applying an event twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import singledispatch
from typing import Any

from schemas.model import Event, InterceptionRecorded, Person, Sex

MINOR_AGE = 18


class CaseStatus:
    """Derived case status, from the most advanced fact on the timeline."""

    INTERCEPTED = "INTERCEPTED"


@dataclass(frozen=True)
class Fact:
    """One entry on a case's timeline: what happened, when, who said so."""

    event_id: str
    event_type: str
    occurred_at: datetime
    unit: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    person: Mapping[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.event_id)


@dataclass(frozen=True)
class Case:
    """Everything the hub knows about one person, merged across agencies."""

    case_id: str
    match: str  # "strong" (NIK pseudonym) or "weak" (name/birth/origin pseudonym)
    facts: tuple[Fact, ...] = ()
    status: str = CaseStatus.INTERCEPTED
    sex: str = Sex.UNKNOWN.value
    birth_date: date | None = None
    estimated_age: int | None = None
    origin_regency: str | None = None
    minor_when_first_seen: bool = False
    interceptions: int = 0
    recruiters: frozenset[str] = frozenset()
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def event_ids(self) -> frozenset[str]:
        return frozenset(f.event_id for f in self.facts)


class LedgerError(ValueError):
    """An event cannot be placed in the ledger (for example it names no person)."""


def case_key(event: Event) -> str:
    """The case an event belongs to."""
    person = person_of(event)
    key = person.key if person is not None else None
    if key is None:
        raise LedgerError(f"{event.event_type} {event.event_id} names no person")
    return key


@singledispatch
def person_of(event: Event) -> Person | None:
    """The person an event is about, if any."""
    return None


@person_of.register
def _(event: InterceptionRecorded) -> Person | None:
    return event.person


@singledispatch
def fact_of(event: Event) -> Fact:
    raise LedgerError(f"the ledger does not know {event.event_type}")


@fact_of.register
def _(event: InterceptionRecorded) -> Fact:
    return Fact(
        event_id=event.event_id,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        unit=event.envelope.unit,
        detail={
            "post": event.post_id,
            "exit_point": event.exit_point,
            "destination": event.destination_country,
            "sector": event.intended_sector.value,
            "documents": [d.value for d in event.documents],
            "recruiter": event.recruiter_ref,
            "group": event.group_ref,
            "outcome": event.outcome.value,
        },
        person=_person_facts(event.person),
    )


def apply(case: Case | None, event: Event) -> Case:
    """Fold one event into its case (``None`` for a person not seen before)."""
    key = case_key(event)
    if case is None:
        case = Case(case_id=key, match="strong" if key.startswith("nik:") else "weak")
    elif case.case_id != key:
        raise LedgerError(f"event {event.event_id} belongs to {key}, not {case.case_id}")
    if event.event_id in case.event_ids:
        return case
    facts = tuple(sorted((*case.facts, fact_of(event)), key=Fact.sort_key))
    return derive(case.case_id, case.match, facts)


def derive(case_id: str, match: str, facts: tuple[Fact, ...]) -> Case:
    """Everything about a case, computed from its timeline alone (so arrival order never
    matters). Person data: the earliest fact that knows a value gives it."""
    person: dict[str, Any] = {}
    recruiters: set[str] = set()
    interceptions = 0
    for fact in facts:
        for name, value in fact.person.items():
            if value is not None and value != Sex.UNKNOWN.value:
                person.setdefault(name, value)
        if fact.event_type == InterceptionRecorded.event_type:
            interceptions += 1
        recruiter = fact.detail.get("recruiter")
        if recruiter:
            recruiters.add(str(recruiter))
    birth = person.get("birth_date")
    birth_date = date.fromisoformat(birth) if isinstance(birth, str) else birth
    first = facts[0].occurred_at if facts else None
    age = _age(birth_date, person.get("estimated_age"), first.date()) if first else None
    return Case(
        case_id=case_id,
        match=match,
        facts=facts,
        status=CaseStatus.INTERCEPTED,
        sex=person.get("sex", Sex.UNKNOWN.value),
        birth_date=birth_date,
        estimated_age=person.get("estimated_age"),
        origin_regency=person.get("origin_regency"),
        minor_when_first_seen=age is not None and age < MINOR_AGE,
        interceptions=interceptions,
        recruiters=frozenset(recruiters),
        first_seen=first,
        last_seen=facts[-1].occurred_at if facts else None,
    )


def _person_facts(person: Person) -> dict[str, Any]:
    """What a fact says about its person (pseudonymous attributes only)."""
    return {
        "sex": person.sex.value,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "estimated_age": person.estimated_age,
        "origin_regency": person.origin_regency,
    }


def _age(born: date | None, estimated_age: int | None, day: date) -> int | None:
    if born is not None:
        return day.year - born.year - int((day.month, day.day) < (born.month, born.day))
    return estimated_age


def fold(events: Iterable[Event], cases: Mapping[str, Case] | None = None) -> dict[str, Case]:
    """Fold many events into a ledger (a mapping of case id to case)."""
    ledger = dict(cases or {})
    for event in events:
        key = case_key(event)
        ledger[key] = apply(ledger.get(key), event)
    return ledger


# --- a stable, comparable representation (stored as JSONB, compared on rebuild) ---


def case_to_json(case: Case) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "match": case.match,
        "status": case.status,
        "sex": case.sex,
        "birth_date": case.birth_date.isoformat() if case.birth_date else None,
        "estimated_age": case.estimated_age,
        "origin_regency": case.origin_regency,
        "minor_when_first_seen": case.minor_when_first_seen,
        "interceptions": case.interceptions,
        "recruiters": sorted(case.recruiters),
        "first_seen": _iso(case.first_seen),
        "last_seen": _iso(case.last_seen),
        "facts": [
            {
                "event_id": f.event_id,
                "event_type": f.event_type,
                "occurred_at": _iso(f.occurred_at),
                "unit": f.unit,
                "detail": dict(f.detail),
                "person": dict(f.person),
            }
            for f in case.facts
        ],
    }


def case_from_json(data: Mapping[str, Any]) -> Case:
    return Case(
        case_id=data["case_id"],
        match=data["match"],
        status=data["status"],
        sex=data["sex"],
        birth_date=date.fromisoformat(data["birth_date"]) if data["birth_date"] else None,
        estimated_age=data["estimated_age"],
        origin_regency=data["origin_regency"],
        minor_when_first_seen=data["minor_when_first_seen"],
        interceptions=data["interceptions"],
        recruiters=frozenset(data["recruiters"]),
        first_seen=_from_iso(data["first_seen"]),
        last_seen=_from_iso(data["last_seen"]),
        facts=tuple(
            Fact(
                event_id=f["event_id"],
                event_type=f["event_type"],
                occurred_at=datetime.fromisoformat(f["occurred_at"]),
                unit=f["unit"],
                detail=f["detail"],
                person=f.get("person", {}),
            )
            for f in data["facts"]
        ),
    )


def canonical(case: Case) -> str:
    """One string per case state: equal strings, equal cases."""
    return json.dumps(case_to_json(case), sort_keys=True, separators=(",", ":"))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
