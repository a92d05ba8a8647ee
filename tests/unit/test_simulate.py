"""The simulator: every agency's rows, reproducible, valid for their forms, in the
proportions the module documents, and linked the way real cases are."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from producers.fields import parse_moment
from producers.forms import FORMS, desk_for, record_rows
from producers.pseudonym import Pseudonymiser
from producers.simulate import Simulator
from schemas.model import (
    WITA,
    Event,
    InterceptionRecorded,
    InvestigationOpened,
    LtsaRegistrationRecorded,
    PlacementRegistered,
    PreventionActivityHeld,
    Procedural,
    RepatriationKind,
    RepatriationRecorded,
    SuspectIdentified,
    TipReceived,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
P = Pseudonymiser(b"k" * 32)
HOTLINE_KEY = b"h" * 32

Rows = list[tuple[str, str, dict[str, str]]]


def record_all(rows: Rows) -> dict[str, list[Event]]:
    """Every row through its form at its desk, as the agencies would."""
    by_desk: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for form, place, row in rows:
        by_desk[(form, place)].append(row)
    events: dict[str, list[Event]] = defaultdict(list)
    for (name, place), desk_rows in by_desk.items():
        form = FORMS[name]
        key = HOTLINE_KEY if form.agency == "hotline" else None
        desk = desk_for(form.agency, place, P, reporter_key=key)
        events[name].extend(record_rows(desk, form, desk_rows, now=NOW))
    return events


@pytest.fixture(scope="module")
def half_year() -> tuple[Rows, dict[str, list[Event]]]:
    rows = list(Simulator(seed=2026, months=6).events_rows(P))
    return rows, record_all(rows)


def of(events: dict[str, list[Event]], name: str, cls: type) -> list:
    items = events[name]
    assert all(isinstance(e, cls) for e in items)
    return items


def test_the_same_seed_gives_the_same_rows_whatever_was_asked_before():
    first = list(Simulator(seed=11, months=3).events_rows(P))
    sim = Simulator(seed=11, months=3)
    list(sim.interceptions())
    assert list(sim.events_rows(P)) == first
    assert list(Simulator(seed=12, months=3).events_rows(P)) != first


def test_its_interceptions_are_those_of_the_posts_simulator():
    rows = list(Simulator(seed=5, months=3).events_rows(P))
    mixed = sorted(repr((place, row)) for form, place, row in rows if form == "interception")
    assert mixed == sorted(repr(item) for item in Simulator(seed=5, months=3).interceptions())


def test_three_months_of_every_agency_are_valid_input_in_time_order():
    sim = Simulator(seed=3, months=3)
    rows = list(sim.events_rows(P))
    events = record_all(rows)  # raises on any invalid row
    assert set(events) == set(FORMS) - {"acknowledgement"}
    moments = [parse_moment(row["occurred_at"], now=NOW) for _form, _place, row in rows]
    assert moments == sorted(moments)
    begin = datetime.combine(sim.start, datetime.min.time(), WITA)
    assert begin <= moments[0] and moments[-1] < begin + timedelta(days=90)
    ids = [e.event_id for items in events.values() for e in items]
    assert len(ids) == len(set(ids))


def test_six_months_are_a_demonstration_s_worth():
    rows = list(Simulator(seed=1, months=6).events_rows(P))
    assert len(rows) > 3000


def test_the_proportions_are_those_documented(half_year):
    rows, events = half_year
    count = Counter(form for form, _place, _row in rows)
    intercepted = count["interception"]
    assert 400 < intercepted < 700
    placements = of(events, "placement", PlacementRegistered)
    assert 2.8 < len(placements) / intercepted < 4.2
    assert 1.0 < count["ltsa"] / len(placements) < 1.4
    repatriations = of(events, "repatriation", RepatriationRecorded)
    deaths = [e for e in repatriations if e.kind is RepatriationKind.DECEASED]
    assert 0.75 < len(deaths) / intercepted < 1.25
    non_procedural = sum(e.procedural is Procedural.NON_PROCEDURAL for e in deaths)
    assert non_procedural / len(deaths) > 0.95
    assert sum(e.country == "MY" for e in deaths) / len(deaths) > 0.85
    assert 1.6 < (len(repatriations) - len(deaths)) / len(deaths) < 2.4
    assert {"MY", "TW", "HK", "SG"} <= {e.destination_country for e in placements}
    prevention = of(events, "prevention", PreventionActivityHeld)
    assert 0.1 < len(prevention) / intercepted < 0.3
    assert all(20 <= e.attendance <= 150 for e in prevention)
    assert 0.08 < count["tip"] / intercepted < 0.25
    interceptions = of(events, "interception", InterceptionRecorded)
    assert sum(e.destination_country == "MY" for e in interceptions) / intercepted > 0.8


def test_police_investigate_most_groups_handed_to_them(half_year):
    _rows, events = half_year
    occasions = list(Simulator(seed=2026, months=6).occasions())
    handed = [
        o for o in occasions if any(r["outcome"] == "HANDED_TO_POLICE" for _p, r in o.members)
    ]
    investigations = of(events, "investigation", InvestigationOpened)
    assert 0.5 < len(investigations) / len(handed) < 0.9
    assert 0.1 < len(events["prosecution"]) / len(investigations) < 0.6
    case_ids = {e.person.key for e in events["interception"]}  # type: ignore[attr-defined]
    recruiters = {e.recruiter_ref for e in events["interception"]}  # type: ignore[attr-defined]
    for investigation in investigations:
        assert investigation.case_ids and set(investigation.case_ids) <= case_ids
        assert set(investigation.recruiter_refs) <= recruiters
    suspects = of(events, "suspect", SuspectIdentified)
    assert suspects and all(s.recruiter_ref in recruiters for s in suspects)


def test_the_agencies_facts_link_up_as_in_real_cases(half_year):
    _rows, events = half_year
    interceptions = of(events, "interception", InterceptionRecorded)
    by_recruiter: dict[str, list[datetime]] = defaultdict(list)
    by_person: dict[str, list[datetime]] = defaultdict(list)
    for e in interceptions:
        if e.recruiter_ref:
            by_recruiter[e.recruiter_ref].append(e.occurred_at)
        by_person[str(e.person.key)].append(e.occurred_at)

    def later(moments: list[datetime], after: datetime, within: timedelta) -> bool:
        return any(after < m <= after + within for m in moments)

    tips = of(events, "tip", TipReceived)
    recruiter_tips = [
        t
        for t in tips
        if t.suspected_recruiter_ref
        and later(by_recruiter[t.suspected_recruiter_ref], t.occurred_at, timedelta(days=60))
    ]
    assert len(recruiter_tips) >= len(tips) * 0.4
    named = [
        t
        for t in tips
        if t.subject and later(by_person[str(t.subject.key)], t.occurred_at, timedelta(days=61))
    ]
    assert named

    deaths = [
        e
        for e in of(events, "repatriation", RepatriationRecorded)
        if e.kind is RepatriationKind.DECEASED
    ]
    died_after = [
        d for d in deaths if any(m < d.occurred_at for m in by_person.get(str(d.person.key), []))
    ]
    assert died_after
    assert len(died_after) < len(deaths) / 4  # most deceased were never registered

    ltsa: dict[str, date] = {
        str(e.person.key): e.occurred_at.date()
        for e in of(events, "ltsa", LtsaRegistrationRecorded)
    }
    gaps = [
        (p.occurred_at.date() - ltsa[str(p.person.key)]).days
        for p in of(events, "placement", PlacementRegistered)
        if str(p.person.key) in ltsa
    ]
    assert len(gaps) > 100
    assert all(29 <= gap <= 91 for gap in gaps)
