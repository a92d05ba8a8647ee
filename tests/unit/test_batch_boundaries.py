"""Batch boundaries never matter (issue 9): the same facts, split into batches of any
size and arriving in any order, through the real pipeline, leave the same ledger, the
same alerts holding and the same metrics as one batch in the order they happened."""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.alerts import AlertRules, alert_id
from processors.person_rules import PersonRules
from schemas.model import AlertRule, Event, Person, RepatriationKind
from tests.factories import (
    acknowledgement,
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
from tests.unit.memory_hub import MemoryHub, memory_hub

DAY = 24 * 60


def _who(n: int, age: int) -> Person:
    """Person n: an adult, a child by birth date, or someone whose age is estimated (a
    different estimate on each record, as officers' estimates are)."""
    if n % 3 == 0:
        return person(n, birth_date=date(1999, 4, 2))
    if n % 3 == 1:
        return person(n, birth_date=date(2009, 1, 21))  # turns 17 the day after T0
    return person(n, birth_date=None, estimated_age=age)


MAKERS = [
    lambda n, m, a: interception(
        n % 4,
        minutes=m,
        person=_who(n % 4, a),
        recruiter_ref=recruiter(n % 2),
        group_ref="G" if n % 2 else None,
        post="tenau" if n % 3 else "eltari",
        recruiter_contact_sealed=f"c2VhbGVk{n:04d}" if n % 3 == 2 else None,
    ),
    lambda n, m, a: placement(n % 4, minutes=m, person=_who(n % 4, a)),
    lambda n, m, a: ltsa(n % 4, minutes=m, person=_who(n % 4, a)),
    lambda n, m, a: repatriation(
        n % 4, minutes=m, person=_who(n % 4, a), kind=list(RepatriationKind)[n % 5]
    ),
    lambda n, m, a: tip(minutes=m, subject_n=n % 4, recruiter_n=n % 2),
    lambda n, m, a: investigation(
        minutes=m, case_ids=(case_id(n % 4),), recruiter_refs=(recruiter(n % 2),)
    ),
    lambda n, m, a: suspect(minutes=m, recruiter_ref=recruiter(n % 2)),
    lambda n, m, a: prosecution(minutes=m, case_ids=(case_id(n % 4),)),
    lambda n, m, a: prevention(minutes=m, attendance=50 + n),
    lambda n, m, a: acknowledgement(
        alert_id(AlertRule.DECEASED_UNREGISTERED, f"x{n % 2}"), minutes=m
    ),
]

FACTS = st.lists(
    st.tuples(
        st.sampled_from(MAKERS),
        st.integers(0, 9),  # who
        st.integers(-90, 90),  # when, in days around T0
        st.integers(14, 19),  # an estimated age
    ),
    min_size=1,
    max_size=30,
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Event], list[list[Event]]]:
    """Facts in the order they happened, and the same facts (some sent twice, as desks
    retry) in random batches in a random arrival order."""
    specs = draw(FACTS)
    events = [make(n, days * DAY + i, age) for i, (make, n, days, age) in enumerate(specs)]
    events.sort(key=lambda e: (e.occurred_at, e.event_id))
    resent = draw(st.lists(st.sampled_from(events), max_size=4))
    arrival = draw(st.permutations(events + resent))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(arrival) - 1)), max_size=6)))
    bounds = [0, *cuts, len(arrival)]
    batches = [arrival[a:b] for a, b in itertools.pairwise(bounds) if arrival[a:b]]
    return events, batches


RULES = st.builds(
    AlertRules,
    recruiter_people=st.integers(2, 3),
    group_size=st.integers(2, 4),
    tip_match_days=st.sampled_from([30, 60]),
    person=st.builds(PersonRules, minor_age=st.integers(16, 18)),
)


def _state(hub: MemoryHub) -> dict[str, object]:
    return {
        "acks": {a: k.event_id for a, k in hub.store.acks.items()},
        "ledger": hub.ledger(),
        "alerts": hub.holding(),
        "metrics": hub.metrics(),
        "events": set(hub.store.events),
    }


@settings(max_examples=60, deadline=None)
@given(histories(), RULES)
def test_any_batches_in_any_order_give_what_one_batch_gives(history, rules):
    events, batches = history
    whole = memory_hub(rules)
    assert whole.send(*events).stored == len(events)
    split = memory_hub(rules)
    for batch in batches:
        split.send(*batch)
    assert _state(split) == _state(whole)
    # Whatever holds was raised (published) exactly once, in either way of arriving.
    for hub in (whole, split):
        raised = [e.alert_id for e in hub.published("AlertRaised")]
        assert len(raised) == len(set(raised))
        assert set(hub.holding()) <= set(raised)


def test_the_earliest_acknowledgement_is_kept_whatever_the_batches():
    target = alert_id(AlertRule.DECEASED_UNREGISTERED, "x")
    late, early, middle = (acknowledgement(target, minutes=m) for m in (34, 32, 33))
    whole = memory_hub()
    whole.send(early, middle, late)
    split = memory_hub()
    split.send(late)
    split.send(early, middle)
    assert split.store.acks[target].event_id == whole.store.acks[target].event_id == early.event_id
