"""The pure fold: one case per person, order-independent, idempotent."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import ledger
from schemas.model import Person, Sex
from tests.factories import interception, person


def test_first_interception_opens_a_case_keyed_by_the_nik_pseudonym():
    event = interception(1)
    case = ledger.apply(None, event)
    assert case.case_id == f"nik:{event.person.nik_pseudonym}"
    assert case.match == "strong"
    assert case.status == ledger.CaseStatus.INTERCEPTED
    assert case.interceptions == 1
    assert [f.event_id for f in case.facts] == [event.event_id]
    assert case.first_seen == event.occurred_at


def test_applying_the_same_event_twice_changes_nothing():
    event = interception(1)
    once = ledger.apply(None, event)
    assert ledger.apply(once, event) == once


def test_a_second_interception_of_the_same_person_joins_the_same_case():
    first, second = interception(1), interception(1, minutes=60 * 24 * 30, post="tenau")
    case = ledger.fold([first, second])[f"nik:{first.person.nik_pseudonym}"]
    assert case.interceptions == 2
    assert case.last_seen == second.occurred_at
    assert [f.detail["post"] for f in case.facts] == ["eltari", "tenau"]


def test_a_person_without_nik_gets_a_weak_case_never_merged_with_a_strong_one():
    strong = interception(1)
    weak = interception(
        1, person=Person(weak_pseudonym=strong.person.nik_pseudonym, origin_regency="5302")
    )
    cases = ledger.fold([strong, weak])
    assert set(cases) == {
        f"nik:{strong.person.nik_pseudonym}",
        f"weak:{strong.person.nik_pseudonym}",
    }
    assert cases[f"weak:{strong.person.nik_pseudonym}"].match == "weak"


def test_an_event_naming_no_person_is_refused_with_a_reason():
    with pytest.raises(ledger.LedgerError, match="names no person"):
        ledger.apply(None, interception(1, person=Person()))


def test_a_minor_is_flagged_by_age_at_first_interception():
    child = interception(2, person=person(2, birth_date=date(2009, 6, 1)))
    adult = interception(3, person=person(3, birth_date=date(2007, 6, 1)))
    assert ledger.apply(None, child).minor_when_first_seen is True
    assert ledger.apply(None, adult).minor_when_first_seen is False


def test_estimated_age_counts_when_there_is_no_birth_date():
    event = interception(4, person=person(4, birth_date=None, estimated_age=16))
    assert ledger.apply(None, event).minor_when_first_seen is True


def test_the_earliest_fact_that_knows_a_value_gives_it():
    early = interception(9, person=person(9, origin_regency="5302"))
    late = interception(9, minutes=60, person=person(9, origin_regency="5303"))
    for order in ([early, late], [late, early]):
        assert ledger.fold(order)[early.person.key or ""].origin_regency == "5302"


def test_unknown_sex_never_erases_a_known_one():
    known = interception(5, person=person(5, sex=Sex.MALE))
    unknown = interception(5, minutes=10, person=person(5, sex=Sex.UNKNOWN))
    assert ledger.fold([known, unknown])[known.person.key or ""].sex == "MALE"
    assert ledger.fold([unknown, known])[known.person.key or ""].sex == "MALE"


def test_recruiters_are_collected_on_the_case():
    a = interception(6, recruiter_ref="a" * 32)
    b = interception(6, minutes=5, recruiter_ref="b" * 32)
    assert ledger.fold([a, b])[a.person.key or ""].recruiters == {"a" * 32, "b" * 32}


def test_json_form_round_trips():
    case = ledger.fold([interception(7), interception(7, minutes=3)])[person(7).key or ""]
    assert ledger.case_from_json(ledger.case_to_json(case)) == case


@settings(max_examples=60, deadline=None)
@given(
    st.permutations(range(6)),
    st.lists(st.sampled_from(["5302", "5303", None]), min_size=6, max_size=6),
    st.lists(st.sampled_from(list(Sex)), min_size=6, max_size=6),
)
def test_the_ledger_does_not_depend_on_arrival_order(order, origins, sexes):
    events = [
        interception(
            n % 3,
            minutes=n * 7,
            recruiter_ref=f"{n:032x}",
            person=person(n % 3, origin_regency=origins[n], sex=sexes[n]),
        )
        for n in range(6)
    ]
    in_order = ledger.fold(events)
    shuffled = ledger.fold(events[i] for i in order)
    assert {k: ledger.canonical(v) for k, v in in_order.items()} == {
        k: ledger.canonical(v) for k, v in shuffled.items()
    }


def test_replaying_a_ledger_over_itself_is_a_no_op():
    events = [interception(n % 2, minutes=n) for n in range(4)]
    once = ledger.fold(events)
    assert ledger.fold(events, once) == once
    assert list(itertools.chain.from_iterable(c.facts for c in once.values()))
