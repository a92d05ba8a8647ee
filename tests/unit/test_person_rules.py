"""One age rule and one minor threshold from configuration, used by the ledger, the
metrics and the alerts alike (issue 9, point 4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import ledger, metrics
from processors.alerts import AlertRules, evaluate
from processors.ledger import Case
from processors.person_rules import PersonRules, age_at, below_migrant_work_age, is_minor
from schemas.model import AlertRule, Event, InterceptionRecorded
from sinergi import bootstrap
from sinergi.config import Settings, from_env
from tests.factories import case_id, interception, investigation, ltsa, person, placement
from tests.unit.memory_hub import memory_hub

DAY = 24 * 60


# --- the rule ------------------------------------------------------------------------------


def test_a_birth_date_gives_the_years_completed_on_the_day():
    born = date(2008, 3, 1)
    assert age_at(datetime(2026, 2, 28, 12, tzinfo=UTC), born, None) == 17
    assert age_at(datetime(2026, 3, 1, 12, tzinfo=UTC), born, None) == 18


def test_the_day_is_kupangs_not_utcs():
    # 07:00 WITA on the eighteenth birthday is still the day before in UTC.
    moment = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert age_at(moment, date(2008, 3, 1), None) == 18


def test_a_birth_date_outweighs_an_estimate_on_the_same_record():
    assert age_at(datetime(2026, 1, 20, tzinfo=UTC), date(2000, 5, 17), 16) == 25


def test_an_estimate_is_the_age_at_its_record_and_is_not_aged():
    assert age_at(datetime(2030, 1, 1, tzinfo=UTC), None, 17) == 17
    assert age_at(datetime(2030, 1, 1, tzinfo=UTC), None, None) is None


def test_an_unknown_age_is_neither_a_minor_nor_below_the_working_age():
    assert not is_minor(None, PersonRules())
    assert not below_migrant_work_age(None, PersonRules())
    assert is_minor(17, PersonRules()) and not is_minor(18, PersonRules())
    assert not is_minor(17, PersonRules(minor_age=16))


# --- where the thresholds come from ---------------------------------------------------------


def test_the_thresholds_come_from_configuration_and_are_separate_settings():
    assert bootstrap.alert_rules(Settings()).person == PersonRules(18, 18)
    env = {"SINERGI_ALERT_MINOR_AGE": "16", "SINERGI_MIN_MIGRANT_WORK_AGE": "21"}
    rules = bootstrap.alert_rules(from_env(env)).person
    assert (rules.minor_age, rules.min_migrant_work_age) == (16, 21)


# --- the example, through the real pipeline -----------------------------------------


@pytest.mark.parametrize(("minor_age", "minors"), [("18", 2), ("16", 0)])
def test_two_interceptions_400_days_apart_of_an_estimated_17_year_old(minor_age, minors):
    """Issue 9: one alert but a metric of 2 at 18; no alert but still 2 at 16. The ledger,
    the alerts and the metrics now say the same, whatever the threshold."""
    settings = from_env({"SINERGI_ALERT_MINOR_AGE": minor_age})
    hub = memory_hub(bootstrap.alert_rules(settings))
    estimated_17 = person(4, birth_date=None, estimated_age=17)
    hub.send(interception(4, minutes=-400 * DAY, person=estimated_17))
    hub.send(interception(4, post="tenau", person=estimated_17))
    assert len(hub.holding(AlertRule.MINOR_INTERCEPTED)) == minors
    assert hub.count(metrics.MINORS_INTERCEPTED) == minors
    case = hub.store.cases[case_id(4)]
    assert isinstance(case, Case)
    assert case.minor_when_first_seen is (minors > 0)
    assert [f.age() for f in case.facts] == [17, 17]


# --- the same answer everywhere: a property --------------------------------------------------

BIRTHS = st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2024, 12, 31)))
ESTIMATES = st.one_of(st.none(), st.integers(0, 40))
MOMENTS = st.datetimes(datetime(2020, 1, 1), datetime(2026, 1, 1), timezones=st.just(UTC))
RECORDS = st.lists(st.tuples(BIRTHS, ESTIMATES, MOMENTS), min_size=1, max_size=4)


def _expected_age(moment: datetime, born: date | None, estimate: int | None) -> int | None:
    """The rule spelled out another way: birthdays passed by the day in Kupang (UTC+8)."""
    if born is None:
        return estimate
    day = (moment.astimezone(UTC) + timedelta(hours=8)).date()
    return day.year - born.year - int(day < _birthday(born, day.year))


def _birthday(born: date, year: int) -> date:
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February in a common year: the day after 28 February
        return date(year, 3, 1)


def _records(records: list[tuple[date | None, int | None, datetime]]) -> list[Event]:
    """The same person intercepted (even records) or registered (odd records)."""
    events: list[Event] = []
    for i, (born, estimate, moment) in enumerate(records):
        who = person(4, birth_date=born, estimated_age=estimate)
        make = interception if i % 2 == 0 else (ltsa if i % 4 == 1 else placement)
        events.append(make(4, at=moment, person=who))
    return events


@settings(max_examples=150, deadline=None)
@given(RECORDS, st.integers(10, 21), st.integers(15, 21))
def test_ledger_metrics_and_alerts_agree_on_every_record(records, minor_age, work_age):
    rules = PersonRules(minor_age=minor_age, min_migrant_work_age=work_age)
    events = _records(records)
    [case] = [e for e in ledger.fold(events, rules=rules).values() if isinstance(e, Case)]
    alerts = evaluate(case, AlertRules(person=rules))
    minor_alerts = {a.cause_event_ids[0] for a in alerts if a.rule is AlertRule.MINOR_INTERCEPTED}
    underage = {a.cause_event_ids[0] for a in alerts if a.rule is AlertRule.UNDERAGE_REGISTRATION}
    facts = {f.event_id: f for f in case.facts}
    for event, (born, estimate, _) in zip(events, records, strict=True):
        age = _expected_age(event.occurred_at, born, estimate)
        assert facts[event.event_id].age() == age  # the ledger
        if isinstance(event, InterceptionRecorded):
            counted = any(
                m == metrics.MINORS_INTERCEPTED for m, _, _ in metrics.increments(event, rules)
            )
            minor = age is not None and age < minor_age
            assert counted is minor  # the metrics
            assert (event.event_id in minor_alerts) is minor  # the alerts
        else:
            assert (event.event_id in underage) is (age is not None and age < work_age)
    first = case.facts[0]
    if first.age() is not None:
        # When first seen: the first record's own answer, the one metrics and alerts gave.
        assert case.minor_when_first_seen is is_minor(first.age(), rules)


def test_a_police_file_first_is_judged_by_the_first_record_that_tells_an_age():
    opened = investigation(case_ids=(case_id(4),), minutes=-30 * DAY)
    caught = interception(4, person=person(4, birth_date=None, estimated_age=17))
    [case] = [e for e in ledger.fold([opened, caught]).values() if isinstance(e, Case)]
    assert case.minor_when_first_seen is True
