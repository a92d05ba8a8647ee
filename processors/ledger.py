"""The joint case ledger as a pure fold: ``apply(entity, ref, event) -> entity``.

No Kafka, faust or database here: the same fold serves the live worker, the
rebuild from the topics, and the unit tests.

The ledger holds four kinds of entity, each a timeline of facts:

- a **case** per person (``nik:<pseudonym>``, or ``weak:<pseudonym>`` when only
  name, birth and origin are known: a weaker match, never merged with a strong one);
- a **recruiter** per recruiter pseudonym, linking the cases it appears in;
- a **group** per post and group reference (people intercepted travelling together);
- an **investigation** per police report number.

An event becomes one :class:`Fact` on every entity it names (see :func:`refs`).
Everything else in an entity is derived from its timeline sorted by
``(occurred_at, event_id)`` (and, for a case's minor flag, the configured age
threshold: :mod:`processors.person_rules`, the one age rule): the result does not
depend on the order events arrive in, and applying an event twice changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import singledispatch
from typing import Any

import orjson

from processors.person_rules import PersonRules, age_at, is_minor
from schemas.model import (
    CaseSentToProsecutor,
    Event,
    InterceptionRecorded,
    InvestigationOpened,
    LtsaRegistrationRecorded,
    Person,
    PlacementRegistered,
    RepatriationKind,
    RepatriationRecorded,
    Sex,
    SuspectIdentified,
    TipReceived,
)

_DEFAULT_RULES = PersonRules()


class Kind(StrEnum):
    CASE = "case"
    RECRUITER = "recruiter"
    GROUP = "group"
    INVESTIGATION = "investigation"


class CaseStatus(StrEnum):
    """Where a person stands, from the most recent lifecycle fact (DECEASED stays)."""

    REPORTED = "REPORTED"  # known only from a tip or a police file
    REGISTERED = "REGISTERED"  # registered at an LTSA office: the procedural path
    INTERCEPTED = "INTERCEPTED"
    PLACED = "PLACED"  # a procedural placement registered by BP3MI
    REPATRIATED = "REPATRIATED"
    DECEASED = "DECEASED"


class InvestigationState(StrEnum):
    NONE = "NONE"
    OPEN = "OPEN"
    PROSECUTED = "PROSECUTED"


class LedgerError(ValueError):
    """An event cannot be placed in the ledger."""


@dataclass(frozen=True, order=True)
class Ref:
    kind: Kind
    key: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.key}"


@dataclass(frozen=True)
class Fact:
    """One entry on a timeline: what happened, when, who said so (codes, no personal data)."""

    event_id: str
    event_type: str
    occurred_at: datetime
    unit: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    person: Mapping[str, Any] = field(default_factory=dict)
    # When the hub received it (the broker's LogAppendTime): the hub's clock, for rules
    # that wait a grace period for late facts. None for facts stored before it was kept.
    received_at: datetime | None = None

    def sort_key(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.event_id)

    def age(self, moment: datetime | None = None) -> int | None:
        """The age of the fact's person when it happened (or at ``moment``), from this
        fact alone by the one age rule (:func:`processors.person_rules.age_at`); None
        when the fact tells no age."""
        born = self.person.get("birth_date")
        return age_at(
            moment or self.occurred_at,
            date.fromisoformat(born) if born else None,
            self.person.get("estimated_age"),
        )


# --- which entities an event names -------------------------------------------------------


def _case(person: Person | None) -> list[Ref]:
    key = person.key if person is not None else None
    return [Ref(Kind.CASE, key)] if key else []


def _recruiters(*refs_: str | None) -> list[Ref]:
    return [Ref(Kind.RECRUITER, r) for r in refs_ if r]


@singledispatch
def refs(event: Event) -> list[Ref]:
    """The entities an event is a fact of (none: it only counts in the metrics)."""
    return []


@refs.register
def _(event: InterceptionRecorded) -> list[Ref]:
    out = _case(event.person) + _recruiters(event.recruiter_ref)
    if event.group_ref:
        out.append(Ref(Kind.GROUP, f"{event.post_id}/{event.group_ref}"))
    return out


@refs.register
def _(event: PlacementRegistered | RepatriationRecorded | LtsaRegistrationRecorded) -> list[Ref]:
    return _case(event.person)


@refs.register
def _(event: TipReceived) -> list[Ref]:
    return _case(event.subject) + _recruiters(event.suspected_recruiter_ref)


@refs.register
def _(event: InvestigationOpened | CaseSentToProsecutor) -> list[Ref]:
    cases = [Ref(Kind.CASE, c) for c in event.case_ids]
    return [
        Ref(Kind.INVESTIGATION, event.investigation_ref),
        *cases,
        *_recruiters(*event.recruiter_refs),
    ]


@refs.register
def _(event: SuspectIdentified) -> list[Ref]:
    return [Ref(Kind.INVESTIGATION, event.investigation_ref), *_recruiters(event.recruiter_ref)]


def case_key(event: Event) -> str | None:
    """The case of the person an event is about, if it is about one person."""
    person = person_of(event)
    return person.key if person is not None else None


@singledispatch
def person_of(event: Event) -> Person | None:
    return None


@person_of.register
def _(
    event: InterceptionRecorded
    | PlacementRegistered
    | RepatriationRecorded
    | LtsaRegistrationRecorded,
) -> Person | None:
    return event.person


@person_of.register
def _(event: TipReceived) -> Person | None:
    return event.subject


# --- the fact an event becomes -----------------------------------------------------------


@singledispatch
def detail_of(event: Event) -> dict[str, Any]:
    raise LedgerError(f"the ledger does not know {event.event_type}")


@detail_of.register
def _(event: InterceptionRecorded) -> dict[str, Any]:
    return {
        "case_id": event.person.key,
        "post": event.post_id,
        "exit_point": event.exit_point,
        "route": event.route,
        "destination": event.destination_country,
        "sector": event.intended_sector.value,
        "documents": [d.value for d in event.documents],
        "recruiter": event.recruiter_ref,
        "group": event.group_ref,
        "outcome": event.outcome.value,
        "contact_sealed": event.recruiter_contact_sealed,
    }


@detail_of.register
def _(event: PlacementRegistered) -> dict[str, Any]:
    return {
        "case_id": event.person.key,
        "destination": event.destination_country,
        "sector": event.sector.value,
        "company": event.placement_company,
    }


@detail_of.register
def _(event: RepatriationRecorded) -> dict[str, Any]:
    return {
        "case_id": event.person.key,
        "kind": event.kind.value,
        "country": event.country,
        "procedural": event.procedural.value,
        "cause": event.cause.value if event.cause else None,
        "arrival_point": event.arrival_point,
    }


@detail_of.register
def _(event: LtsaRegistrationRecorded) -> dict[str, Any]:
    return {
        "case_id": event.person.key,
        "ltsa_regency": event.ltsa_regency,
        "destination": event.intended_country,
        "sector": event.intended_sector.value,
    }


@detail_of.register
def _(event: TipReceived) -> dict[str, Any]:
    # The reporter reference stays in the event store; the ledger does not need it.
    return {
        "case_id": event.subject.key if event.subject else None,
        "tip": event.tip_ref,
        "concern": event.concern.value,
        "regency": event.regency,
        "exit_point": event.exit_point,
        "recruiter": event.suspected_recruiter_ref,
        "expected_departure": (
            event.expected_departure.isoformat() if event.expected_departure else None
        ),
    }


@detail_of.register
def _(event: InvestigationOpened) -> dict[str, Any]:
    return {
        "investigation": event.investigation_ref,
        "offence": event.offence.value,
        "case_ids": list(event.case_ids),
        "recruiters": list(event.recruiter_refs),
        "alert_id": event.alert_id,
    }


@detail_of.register
def _(event: SuspectIdentified) -> dict[str, Any]:
    return {
        "investigation": event.investigation_ref,
        "recruiter": event.recruiter_ref,
        "role": event.role.value,
        "suspect_status": event.suspect_status.value,
    }


@detail_of.register
def _(event: CaseSentToProsecutor) -> dict[str, Any]:
    return {
        "investigation": event.investigation_ref,
        "prosecutor": event.prosecutor_office,
        "case_ids": list(event.case_ids),
        "recruiters": list(event.recruiter_refs),
    }


def _person_facts(person: Person | None) -> dict[str, Any]:
    """What a fact says about its person (pseudonymous attributes only)."""
    if person is None:
        return {}
    return {
        "sex": person.sex.value,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "estimated_age": person.estimated_age,
        "origin_regency": person.origin_regency,
    }


def fact_of(event: Event, received_at: datetime | None = None) -> Fact:
    return Fact(
        event_id=event.event_id,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        unit=event.envelope.unit,
        detail=detail_of(event),
        person=_person_facts(person_of(event)),
        received_at=received_at,
    )


# What a recruiter's or a group's timeline keeps of a fact: the links, not the details
# (these timelines grow long; a case's timeline keeps everything).
_LINK_DETAIL = (
    "case_id", "case_ids", "post", "group", "tip", "investigation", "role", "suspect_status",
    "recruiter", "recruiters", "contact_sealed",
)  # fmt: skip


def fact_for(kind: Kind, event: Event, received_at: datetime | None = None) -> Fact:
    """The fact ``event`` becomes on an entity of ``kind``."""
    fact = fact_of(event, received_at)
    if kind in (Kind.RECRUITER, Kind.GROUP):
        detail = {k: v for k, v in fact.detail.items() if k in _LINK_DETAIL and v}
        return Fact(fact.event_id, fact.event_type, fact.occurred_at, fact.unit, detail,
                    received_at=received_at)  # fmt: skip
    return fact


# --- the entities ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Everything the hub knows about one person, merged across agencies."""

    case_id: str
    match: str  # "strong" (NIK pseudonym) or "weak" (name, birth, origin pseudonym)
    facts: tuple[Fact, ...] = ()
    status: str = CaseStatus.REPORTED
    sex: str = Sex.UNKNOWN.value
    birth_date: date | None = None
    estimated_age: int | None = None
    origin_regency: str | None = None
    # A child at the first fact that tells the person's age, by the threshold below
    # (configuration, kept in the state so that a stored case reads back as it was judged).
    minor_when_first_seen: bool = False
    minor_age: int = _DEFAULT_RULES.minor_age
    interceptions: int = 0
    placements: int = 0
    registrations: int = 0
    repatriations: int = 0
    tips: int = 0
    investigation: str = InvestigationState.NONE
    recruiters: frozenset[str] = frozenset()
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    kind = Kind.CASE

    @property
    def key(self) -> str:
        return self.case_id


@dataclass(frozen=True)
class Recruiter:
    """A recruiter (calo) pseudonym: how many people, groups and police files it is linked
    to, counted as its facts arrive.

    A busy recruiter is linked to thousands of facts over the years, so its timeline is
    not kept in its state (that made every batch's cost grow with history, issue 8): its
    facts are stored on their own (``recruiter_facts``), its distinct people, groups and
    files too (``recruiter_members``), and the processor loads only the facts within the
    rules' reach of a batch's new ones. ``facts`` holds those loaded; ``changed`` is the
    span of the batch's new facts (None: ``facts`` is the whole timeline, e.g. a fold in
    memory, or a recount after a correction or retraction).
    """

    recruiter_ref: str
    facts: tuple[Fact, ...] = ()
    people: int = 0
    interceptions: int = 0
    tips: int = 0
    groups: int = 0
    investigations: int = 0
    roles: frozenset[str] = frozenset()
    suspect_status: str | None = None
    suspect_at: tuple[datetime, str] | None = None  # the fact that gave the status
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    changed: tuple[datetime, datetime] | None = None

    kind = Kind.RECRUITER

    @property
    def key(self) -> str:
        return self.recruiter_ref


@dataclass(frozen=True)
class Group:
    """People intercepted together at one post under one group reference."""

    group_key: str  # <post>/<group_ref>
    facts: tuple[Fact, ...] = ()
    case_ids: frozenset[str] = frozenset()
    recruiters: frozenset[str] = frozenset()
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    kind = Kind.GROUP

    @property
    def key(self) -> str:
        return self.group_key


@dataclass(frozen=True)
class Investigation:
    investigation_ref: str
    facts: tuple[Fact, ...] = ()
    state: str = InvestigationState.NONE
    offence: str | None = None
    case_ids: frozenset[str] = frozenset()
    recruiters: frozenset[str] = frozenset()
    opened_at: datetime | None = None
    prosecuted_at: datetime | None = None
    prosecutor_office: str | None = None

    kind = Kind.INVESTIGATION

    @property
    def key(self) -> str:
        return self.investigation_ref


Entity = Case | Recruiter | Group | Investigation


# --- the fold ----------------------------------------------------------------------------


def apply(
    entity: Entity | None, ref: Ref, event: Event, rules: PersonRules = _DEFAULT_RULES
) -> Entity:
    """Fold one event into the entity ``ref`` (``None`` when not seen before)."""
    return apply_many(entity, ref, [event], rules)


def apply_many(
    entity: Entity | None,
    ref: Ref,
    events: Iterable[Event],
    rules: PersonRules = _DEFAULT_RULES,
) -> Entity:
    """Fold several events into one entity, deriving it once (a batch's worth).
    ``rules``: the configured age thresholds (a case's minor flag depends on them)."""
    revised = revise(entity, ref, events, (), rules)
    if revised is None:
        raise LedgerError(f"nothing to fold into {ref}")
    return revised


def revise(
    entity: Entity | None,
    ref: Ref,
    add: Iterable[Event],
    remove: Collection[str],
    rules: PersonRules = _DEFAULT_RULES,
    received: Mapping[str, datetime] | None = None,
) -> Entity | None:
    """The entity with the facts ``remove`` (event ids) taken out and ``add`` folded in,
    derived once; None when no fact is left. A correction is both: its record's old
    version removed, the corrected one added under the same id. ``received``: when the
    hub received each added event (event id -> time)."""
    if entity is not None and (entity.kind, entity.key) != (ref.kind, ref.key):
        raise LedgerError(f"events for {ref} folded into {entity.kind}:{entity.key}")
    kept = tuple(f for f in entity.facts if f.event_id not in remove) if entity else ()
    known = {f.event_id for f in kept}
    new = []
    for event in add:
        if event.event_id not in known:
            known.add(event.event_id)
            at = received.get(event.event_id) if received else None
            new.append(fact_for(ref.kind, event, at))
    if not new and entity is not None and len(kept) == len(entity.facts):
        return entity
    if not new and not kept:
        return None
    timeline = tuple(sorted((*kept, *new), key=Fact.sort_key))
    return derive(ref, timeline, rules)


def derive(ref: Ref, facts: tuple[Fact, ...], rules: PersonRules = _DEFAULT_RULES) -> Entity:
    """An entity computed from its timeline and the age thresholds alone."""
    if ref.kind is Kind.CASE:
        return derive_case(ref.key, facts, rules)
    if ref.kind is Kind.RECRUITER:
        return derive_recruiter(ref.key, facts)
    if ref.kind is Kind.GROUP:
        return derive_group(ref.key, facts)
    return derive_investigation(ref.key, facts)


_LIFECYCLE = {
    LtsaRegistrationRecorded.event_type: CaseStatus.REGISTERED,
    InterceptionRecorded.event_type: CaseStatus.INTERCEPTED,
    PlacementRegistered.event_type: CaseStatus.PLACED,
    RepatriationRecorded.event_type: CaseStatus.REPATRIATED,
}
_COUNTED = {
    InterceptionRecorded.event_type: "interceptions",
    PlacementRegistered.event_type: "placements",
    LtsaRegistrationRecorded.event_type: "registrations",
    RepatriationRecorded.event_type: "repatriations",
    TipReceived.event_type: "tips",
}


def derive_case(case_id: str, facts: tuple[Fact, ...], rules: PersonRules = _DEFAULT_RULES) -> Case:
    """Person data: the earliest fact that knows a value gives it. Status: the latest
    lifecycle fact, except that DECEASED stays. A minor when first seen: by the age on
    the first fact's day that the earliest fact telling an age gives (police files name
    a case without telling an age; an estimate is taken as it was made, never aged)."""
    person: dict[str, Any] = {}
    counts = dict.fromkeys(_COUNTED.values(), 0)
    recruiters: set[str] = set()
    status: CaseStatus | None = None
    investigation = InvestigationState.NONE
    for fact in facts:
        for name, value in fact.person.items():
            if value is not None and value != Sex.UNKNOWN.value:
                person.setdefault(name, value)
        if fact.event_type in _COUNTED:
            counts[_COUNTED[fact.event_type]] += 1
        recruiters.update(_recruiters_in(fact))
        if status is not CaseStatus.DECEASED and fact.event_type in _LIFECYCLE:
            status = _LIFECYCLE[fact.event_type]
            if fact.detail.get("kind") == RepatriationKind.DECEASED.value:
                status = CaseStatus.DECEASED
        if fact.event_type == InvestigationOpened.event_type:
            if investigation is InvestigationState.NONE:
                investigation = InvestigationState.OPEN
        elif fact.event_type == CaseSentToProsecutor.event_type:
            investigation = InvestigationState.PROSECUTED
    birth = person.get("birth_date")
    first = facts[0].occurred_at if facts else None
    return Case(
        case_id=case_id,
        match="strong" if case_id.startswith("nik:") else "weak",
        facts=facts,
        status=status or CaseStatus.REPORTED,
        sex=person.get("sex", Sex.UNKNOWN.value),
        birth_date=date.fromisoformat(birth) if birth else None,
        estimated_age=person.get("estimated_age"),
        origin_regency=person.get("origin_regency"),
        minor_when_first_seen=is_minor(_age_when_first_seen(facts), rules),
        minor_age=rules.minor_age,
        investigation=investigation,
        recruiters=frozenset(recruiters),
        first_seen=first,
        last_seen=facts[-1].occurred_at if facts else None,
        **counts,
    )


def _age_when_first_seen(facts: tuple[Fact, ...]) -> int | None:
    """The age on the first fact's day, from the earliest fact that tells an age."""
    for fact in facts:
        if fact.age() is not None:
            return fact.age(facts[0].occurred_at)
    return None


def _recruiters_in(fact: Fact) -> list[str]:
    found = [fact.detail["recruiter"]] if fact.detail.get("recruiter") else []
    return found + list(fact.detail.get("recruiters") or ())


def _cases_in(fact: Fact) -> list[str]:
    found = [fact.detail["case_id"]] if fact.detail.get("case_id") else []
    return found + list(fact.detail.get("case_ids") or ())


def recruiter_members(fact: Fact) -> set[tuple[str, str]]:
    """What a recruiter's fact links it to: (kind, value) of cases, groups, police files."""
    found = {("case", c) for c in _cases_in(fact)}
    if fact.detail.get("group"):
        found.add(("group", f"{fact.detail['post']}/{fact.detail['group']}"))
    if fact.detail.get("investigation"):
        found.add(("investigation", fact.detail["investigation"]))
    return found


def derive_recruiter(recruiter_ref: str, facts: tuple[Fact, ...]) -> Recruiter:
    """A recruiter from its whole timeline."""
    members = {m for f in facts for m in recruiter_members(f)}
    kinds = Counter(kind for kind, _ in members)
    return advance_recruiter(Recruiter(recruiter_ref), facts, facts, kinds, complete=True)


def advance_recruiter(
    before: Recruiter,
    loaded: tuple[Fact, ...],
    new: Iterable[Fact],
    fresh_members: Mapping[str, int],
    *,
    complete: bool = False,
) -> Recruiter:
    """``before`` with the ``new`` facts counted in. ``loaded``: the facts within the
    rules' reach, new ones included (sorted); ``fresh_members``: how many of the new
    facts' cases, groups and police files were not linked before, by kind."""
    new = list(new)
    if not new and not complete:
        return before
    roles = set(before.roles)
    status, status_at = before.suspect_status, before.suspect_at
    for fact in new:
        if fact.event_type == SuspectIdentified.event_type:
            roles.add(fact.detail["role"])
            if status_at is None or fact.sort_key() > status_at:
                status, status_at = fact.detail["suspect_status"], fact.sort_key()
    times = [f.occurred_at for f in new]
    first = min([t for t in (before.first_seen, *times) if t is not None], default=None)
    last = max([t for t in (before.last_seen, *times) if t is not None], default=None)
    return Recruiter(
        recruiter_ref=before.recruiter_ref,
        facts=loaded,
        people=before.people + fresh_members.get("case", 0),
        interceptions=before.interceptions
        + sum(f.event_type == InterceptionRecorded.event_type for f in new),
        tips=before.tips + sum(f.event_type == TipReceived.event_type for f in new),
        groups=before.groups + fresh_members.get("group", 0),
        investigations=before.investigations + fresh_members.get("investigation", 0),
        roles=frozenset(roles),
        suspect_status=status,
        suspect_at=status_at,
        first_seen=first,
        last_seen=last,
        changed=None if complete else (min(times), max(times)),
    )


def derive_group(group_key: str, facts: tuple[Fact, ...]) -> Group:
    return Group(
        group_key=group_key,
        facts=facts,
        case_ids=frozenset(c for f in facts for c in _cases_in(f)),
        recruiters=frozenset(r for f in facts for r in _recruiters_in(f)),
        first_seen=facts[0].occurred_at if facts else None,
        last_seen=facts[-1].occurred_at if facts else None,
    )


def derive_investigation(ref: str, facts: tuple[Fact, ...]) -> Investigation:
    state = InvestigationState.NONE
    offence = opened = prosecuted = office = None
    for fact in facts:
        if fact.event_type == InvestigationOpened.event_type:
            offence = offence or fact.detail["offence"]
            opened = opened or fact.occurred_at
            if state is InvestigationState.NONE:
                state = InvestigationState.OPEN
        elif fact.event_type == CaseSentToProsecutor.event_type:
            state = InvestigationState.PROSECUTED
            prosecuted = prosecuted or fact.occurred_at
            office = office or fact.detail["prosecutor"]
    return Investigation(
        investigation_ref=ref,
        facts=facts,
        state=state,
        offence=offence,
        case_ids=frozenset(c for f in facts for c in _cases_in(f)),
        recruiters=frozenset(r for f in facts for r in _recruiters_in(f)),
        opened_at=opened,
        prosecuted_at=prosecuted,
        prosecutor_office=office,
    )


def by_ref(events: Iterable[Event]) -> dict[Ref, list[Event]]:
    """The events grouped by each entity they name, in arrival order."""
    grouped: dict[Ref, list[Event]] = {}
    for event in events:
        for ref in refs(event):
            grouped.setdefault(ref, []).append(event)
    return grouped


def fold(
    events: Iterable[Event],
    ledger: Mapping[Ref, Entity] | None = None,
    rules: PersonRules = _DEFAULT_RULES,
) -> dict[Ref, Entity]:
    """Fold many events into a ledger (a mapping of entity ref to entity)."""
    out = dict(ledger or {})
    for ref, ref_events in by_ref(events).items():
        out[ref] = apply_many(out.get(ref), ref, ref_events, rules)
    return out


def cases(ledger: Mapping[Ref, Entity]) -> dict[str, Case]:
    return {e.case_id: e for e in ledger.values() if isinstance(e, Case)}


# --- a stable representation: stored as JSONB, compared on rebuild -----------------------


def to_json(entity: Entity) -> dict[str, Any]:
    """The entity's JSON form: its timeline and derived values (derived again on load).
    A recruiter keeps only its counts (its facts are stored on their own).
    Times stay datetimes here; the JSON encoder (orjson) writes them as ISO 8601."""
    derived: dict[str, Any] = {}
    for name, value in vars(entity).items():
        if name not in ("facts", "changed"):
            derived[name] = sorted(value) if isinstance(value, frozenset) else value
    if isinstance(entity, Recruiter):
        return {"kind": entity.kind.value, "key": entity.key, "derived": derived, "facts": []}
    return {
        "kind": entity.kind.value,
        "key": entity.key,
        "derived": derived,
        "facts": [fact_to_json(f) for f in entity.facts],
    }


def fact_to_json(f: Fact) -> dict[str, Any]:
    return {
        "event_id": f.event_id,
        "event_type": f.event_type,
        "occurred_at": f.occurred_at,
        "unit": f.unit,
        "detail": f.detail,
        "person": f.person,
        "received_at": f.received_at,
    }


def fact_from_json(f: Mapping[str, Any]) -> Fact:
    return Fact(
        event_id=f["event_id"],
        event_type=f["event_type"],
        occurred_at=_moment(f["occurred_at"]),
        unit=f["unit"],
        detail=f["detail"],
        person=f.get("person", {}),
        received_at=_moment(f["received_at"]) if f.get("received_at") else None,
    )


def _moment(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def from_json(data: Mapping[str, Any]) -> Entity:
    """An entity from its JSON form, derived again from its timeline with the thresholds
    it was derived with (states stored before they were kept: the defaults of then)."""
    facts = tuple(fact_from_json(f) for f in data["facts"])
    if data["kind"] == Kind.RECRUITER.value:
        return _recruiter_from(data["key"], data.get("derived", {}))
    minor_age = data.get("derived", {}).get("minor_age", _DEFAULT_RULES.minor_age)
    rules = PersonRules(minor_age=minor_age)
    return derive(Ref(Kind(data["kind"]), data["key"]), facts, rules)


def _count(value: Any) -> int:
    """A count, also from a state written before counts replaced sets (a list)."""
    return len(value) if isinstance(value, list) else int(value)


def _recruiter_from(key: str, derived: Mapping[str, Any]) -> Recruiter:
    """A recruiter's counts as stored (no facts: those are loaded apart)."""
    at = derived.get("suspect_at")
    return Recruiter(
        recruiter_ref=key,
        people=_count(derived.get("people", derived.get("case_ids", 0))),
        interceptions=_count(derived.get("interceptions", 0)),
        tips=_count(derived.get("tips", 0)),
        groups=_count(derived.get("groups", 0)),
        investigations=_count(derived.get("investigations", 0)),
        roles=frozenset(derived.get("roles", ())),
        suspect_status=derived.get("suspect_status"),
        suspect_at=(_moment(at[0]), str(at[1])) if at else None,
        first_seen=_moment(derived["first_seen"]) if derived.get("first_seen") else None,
        last_seen=_moment(derived["last_seen"]) if derived.get("last_seen") else None,
    )


def canonical(entity: Entity) -> str:
    """One string per entity state: equal strings, equal entities."""
    return orjson.dumps(to_json(entity), option=orjson.OPT_SORT_KEYS).decode()
