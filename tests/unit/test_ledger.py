"""The pure fold: one case per person across agencies, recruiters, groups and
investigations; independent of arrival order; idempotent."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import ledger
from processors.ledger import CaseStatus, InvestigationState, Kind, Ref
from processors.person_rules import PersonRules
from schemas.model import Person, RepatriationKind, Sex
from tests.factories import (
    case_id,
    interception,
    investigation,
    ltsa,
    person,
    placement,
    prevention,
    prosecution,
    recruiter,
    repatriation,
    suspect,
    tip,
)

DAY = 24 * 60


def case_of(events, n=1):
    return ledger.cases(ledger.fold(events))[case_id(n)]


def test_first_interception_opens_a_case_keyed_by_the_nik_pseudonym():
    event = interception(1)
    case = ledger.apply(None, Ref(Kind.CASE, case_id(1)), event)
    assert case.case_id == f"nik:{event.person.nik_pseudonym}"
    assert case.match == "strong"
    assert case.status == CaseStatus.INTERCEPTED
    assert case.interceptions == 1
    assert [f.event_id for f in case.facts] == [event.event_id]
    assert case.first_seen == event.occurred_at


def test_an_interception_names_the_case_the_recruiter_and_the_group():
    event = interception(1, group_ref="ELT-7")
    assert ledger.refs(event) == [
        Ref(Kind.CASE, case_id(1)),
        Ref(Kind.RECRUITER, recruiter(1)),
        Ref(Kind.GROUP, "eltari/ELT-7"),
    ]


def test_applying_the_same_event_twice_changes_nothing():
    event = interception(1)
    ref = Ref(Kind.CASE, case_id(1))
    once = ledger.apply(None, ref, event)
    assert ledger.apply(once, ref, event) == once


def test_an_event_is_refused_by_another_entity():
    case = ledger.apply(None, Ref(Kind.CASE, case_id(1)), interception(1))
    with pytest.raises(ledger.LedgerError, match="folded into case"):
        ledger.apply(case, Ref(Kind.CASE, case_id(2)), interception(2))


def test_facts_from_every_agency_meet_in_one_case():
    events = [
        tip(subject_n=1, minutes=-90 * DAY),
        ltsa(1, minutes=-60 * DAY),
        interception(1, minutes=-30 * DAY),
        investigation(minutes=-20 * DAY),
        placement(1, minutes=-10 * DAY),
        prosecution(minutes=-5 * DAY),
        repatriation(1, kind=RepatriationKind.SICK),
    ]
    case = case_of(events)
    assert [f.event_type for f in case.facts] == [e.event_type for e in events]
    assert (case.tips, case.registrations, case.interceptions, case.placements) == (1, 1, 1, 1)
    assert case.repatriations == 1
    assert case.status == CaseStatus.REPATRIATED
    assert case.investigation == InvestigationState.PROSECUTED


@pytest.mark.parametrize(
    ("events", "status"),
    [
        ([tip(subject_n=1)], CaseStatus.REPORTED),
        ([investigation()], CaseStatus.REPORTED),
        ([ltsa(1)], CaseStatus.REGISTERED),
        ([ltsa(1), placement(1, minutes=DAY)], CaseStatus.PLACED),
        ([interception(1), tip(subject_n=1, minutes=DAY)], CaseStatus.INTERCEPTED),
        ([placement(1), repatriation(1, minutes=DAY)], CaseStatus.DECEASED),
        ([repatriation(1), interception(1, minutes=DAY)], CaseStatus.DECEASED),
    ],
)
def test_the_status_follows_the_latest_lifecycle_fact_and_deceased_stays(events, status):
    assert case_of(events).status == status


def test_a_person_without_nik_gets_a_weak_case_never_merged_with_a_strong_one():
    strong = interception(1)
    weak = interception(
        1, person=Person(weak_pseudonym=strong.person.nik_pseudonym, origin_regency="5302")
    )
    cases = ledger.cases(ledger.fold([strong, weak]))
    assert set(cases) == {
        f"nik:{strong.person.nik_pseudonym}",
        f"weak:{strong.person.nik_pseudonym}",
    }
    assert cases[f"weak:{strong.person.nik_pseudonym}"].match == "weak"


def test_events_about_nobody_name_no_entity():
    assert ledger.refs(prevention()) == []
    assert ledger.refs(tip()) == []
    assert ledger.refs(interception(1, person=Person(), recruiter_ref=None)) == []


def test_a_minor_is_flagged_by_age_at_first_fact():
    child = interception(2, person=person(2, birth_date=date(2009, 6, 1)))
    adult = interception(3, person=person(3, birth_date=date(2007, 6, 1)))
    assert case_of([child], 2).minor_when_first_seen is True
    assert case_of([adult], 3).minor_when_first_seen is False


def test_estimated_age_counts_when_there_is_no_birth_date():
    event = interception(4, person=person(4, birth_date=None, estimated_age=16))
    assert case_of([event], 4).minor_when_first_seen is True


def test_the_earliest_fact_that_knows_a_value_gives_it():
    early = interception(9, person=person(9, origin_regency="5302"))
    late = interception(9, minutes=60, person=person(9, origin_regency="5303"))
    for order in ([early, late], [late, early]):
        assert case_of(order, 9).origin_regency == "5302"


def test_unknown_sex_never_erases_a_known_one():
    known = interception(5, person=person(5, sex=Sex.MALE))
    unknown = interception(5, minutes=10, person=person(5, sex=Sex.UNKNOWN))
    assert case_of([known, unknown], 5).sex == "MALE"
    assert case_of([unknown, known], 5).sex == "MALE"


def test_a_recruiter_links_the_cases_tips_and_police_files_it_appears_in():
    events = [
        interception(1, recruiter_ref=recruiter(7)),
        interception(2, minutes=DAY, recruiter_ref=recruiter(7), group_ref="T-1", post="tenau"),
        tip(recruiter_n=7, minutes=-DAY),
        investigation(recruiter_refs=(recruiter(7),), case_ids=(case_id(3),)),
        suspect(recruiter_ref=recruiter(7)),
    ]
    found = ledger.fold(events)[Ref(Kind.RECRUITER, recruiter(7))]
    assert isinstance(found, ledger.Recruiter)
    # Counts: the links themselves are stored apart (recruiter_members).
    assert {m for f in found.facts for m in ledger.recruiter_members(f)} == {
        ("case", case_id(1)), ("case", case_id(2)), ("case", case_id(3)),
        ("group", "tenau/T-1"), ("investigation", "LP/B/45/I/2026"),
    }  # fmt: skip
    assert (found.people, found.interceptions, found.tips) == (3, 2, 1)
    assert (found.groups, found.investigations) == (1, 1)
    assert found.roles == {"RECRUITER"} and found.suspect_status == "ARRESTED"


def test_a_group_collects_the_people_intercepted_together():
    events = [interception(n, group_ref="ELT-9") for n in range(4)]
    group = ledger.fold(events)[Ref(Kind.GROUP, "eltari/ELT-9")]
    assert isinstance(group, ledger.Group)
    assert group.case_ids == {case_id(n) for n in range(4)}


def test_an_investigation_moves_from_open_to_prosecuted():
    opened = investigation(case_ids=(case_id(1), case_id(2)))
    later = prosecution(minutes=30 * DAY, case_ids=(case_id(1),))
    ref = Ref(Kind.INVESTIGATION, "LP/B/45/I/2026")
    assert ledger.fold([opened])[ref].state == InvestigationState.OPEN  # type: ignore[union-attr]
    done = ledger.fold([later, opened])[ref]
    assert isinstance(done, ledger.Investigation)
    assert done.state == InvestigationState.PROSECUTED
    assert done.prosecutor_office == "kejati-ntt"
    assert done.case_ids == {case_id(1), case_id(2)}
    assert done.opened_at == opened.occurred_at


def test_json_form_round_trips_for_every_kind_of_entity():
    events = [
        interception(7, group_ref="G"),
        interception(7, minutes=3),
        investigation(),
        suspect(),
    ]
    for entity in ledger.fold(events).values():
        if isinstance(entity, ledger.Recruiter):
            # A recruiter's state is its counts; its facts are stored apart.
            entity = dataclasses.replace(entity, facts=())
        assert ledger.from_json(ledger.to_json(entity)) == entity


ALL_KINDS = st.sampled_from(
    [
        lambda n, m: interception(n % 3, minutes=m, group_ref="G" if n % 2 else None),
        lambda n, m: placement(n % 3, minutes=m),
        lambda n, m: repatriation(n % 3, minutes=m, kind=list(RepatriationKind)[n % 5]),
        lambda n, m: ltsa(n % 3, minutes=m),
        lambda n, m: tip(minutes=m, subject_n=n % 3, recruiter_n=1),
        lambda n, m: investigation(minutes=m, case_ids=(case_id(n % 3),)),
        lambda n, m: suspect(minutes=m),
        lambda n, m: prosecution(minutes=m),
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(ALL_KINDS, st.integers(0, 10), st.integers(-50, 50)), max_size=10),
    st.randoms(use_true_random=False),
    st.lists(st.sampled_from(["5302", "5303", None]), min_size=10, max_size=10),
)
def test_the_ledger_does_not_depend_on_arrival_order(specs, rng, origins):
    events = []
    for i, (make, n, days) in enumerate(specs):
        event = make(n, days * DAY + i)
        if hasattr(event, "person") and event.person.key:
            event = _with_origin(event, origins[i])
        events.append(event)
    shuffled = list(events)
    rng.shuffle(shuffled)
    in_order, other = ledger.fold(events), ledger.fold(shuffled)
    assert {k: ledger.canonical(v) for k, v in in_order.items()} == {
        k: ledger.canonical(v) for k, v in other.items()
    }


def _with_origin(event, origin):
    import dataclasses

    return dataclasses.replace(
        event, person=dataclasses.replace(event.person, origin_regency=origin)
    )


def test_replaying_a_ledger_over_itself_is_a_no_op():
    events = [interception(n % 2, minutes=n) for n in range(4)] + [investigation(), tip()]
    once = ledger.fold(events)
    assert ledger.fold(events, once) == once


def test_an_estimated_age_is_the_age_at_its_own_record_and_is_never_aged():
    first = interception(4, person=person(4, birth_date=None, estimated_age=17))
    later = interception(4, minutes=400 * DAY, person=person(4, birth_date=None, estimated_age=17))
    case = case_of([first, later], 4)
    assert [f.age() for f in case.facts] == [17, 17]
    assert case.minor_when_first_seen is True


def test_a_birth_date_gives_the_age_on_the_first_day_even_from_a_later_fact():
    # A police file names the case first, without an age; the interception a year later
    # tells the birth date: the person was 17 when first seen, 18 when intercepted.
    opened = investigation(case_ids=(case_id(4),), minutes=-365 * DAY)
    caught = interception(4, person=person(4, birth_date=date(2008, 1, 1)))
    case = case_of([opened, caught], 4)
    assert caught.occurred_at.date() == date(2026, 1, 20)
    assert case.minor_when_first_seen is True


def test_the_minor_threshold_is_the_configured_one_and_a_stored_case_keeps_it():
    event = interception(4, person=person(4, birth_date=None, estimated_age=17))
    ref = Ref(Kind.CASE, case_id(4))
    strict = ledger.apply(None, ref, event, PersonRules(minor_age=16))
    assert isinstance(strict, ledger.Case)
    assert (strict.minor_when_first_seen, strict.minor_age) == (False, 16)
    assert ledger.from_json(ledger.to_json(strict)) == strict
    assert ledger.apply(None, ref, event).minor_when_first_seen is True  # type: ignore[union-attr]
