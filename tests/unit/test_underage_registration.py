"""UNDERAGE_REGISTRATION (issue 9): a placement or an LTSA registration of someone below
the legal minimum age for migrant work (UU 18/2017 Pasal 5: 18) alerts BP3MI and police;
age falsification in documents is a known trafficking method in NTT."""

from __future__ import annotations

import json
from datetime import date

import pytest

from processors import ledger
from processors.alerts import AlertRules, alert_id, evaluate
from processors.person_rules import PersonRules
from schemas import avro
from schemas.model import AlertRule, Severity
from tests.factories import T0, case_id, interception, ltsa, person, placement
from tests.unit.memory_hub import memory_hub

DAY = 24 * 60
RULE = AlertRule.UNDERAGE_REGISTRATION
# T0 is 2026-01-20 09:30 in Kupang: born on 2008-01-20, a person is 18 that day.
EIGHTEEN_AT_T0 = date(2008, 1, 20)


def underage(events, rules=None):
    rules = rules or AlertRules()
    found = {}
    for entity in ledger.fold(events, rules=rules.person).values():
        for alert in evaluate(entity, rules):
            if alert.rule is RULE:
                found[alert.alert_id] = alert
    return list(found.values())


@pytest.mark.parametrize("registration", [ltsa, placement])
def test_a_registration_of_someone_under_18_by_birth_date_raises_a_high_alert(registration):
    event = registration(3, person=person(3, birth_date=date(2010, 3, 1)))
    [alert] = underage([event])
    assert alert.alert_id == alert_id(RULE, event.event_id)
    assert alert.severity is Severity.HIGH
    assert alert.case_ids == (case_id(3),)
    assert alert.cause_event_ids == (event.event_id,)
    assert alert.triggered_at == event.occurred_at
    assert "berusia 15 tahun" in alert.summary
    assert "di bawah usia minimum 18 tahun" in alert.summary


def test_a_registration_of_someone_estimated_under_18_raises_an_alert():
    event = placement(3, person=person(3, birth_date=None, estimated_age=17))
    [alert] = underage([event])
    assert alert.summary.startswith("Penempatan BP3MI ke TW (perusahaan P3MI-0042)")
    assert "berusia 17 tahun" in alert.summary


def test_exactly_18_on_the_day_raises_nothing_and_the_day_before_does():
    assert underage([ltsa(3, person=person(3, birth_date=EIGHTEEN_AT_T0))]) == []
    [alert] = underage([ltsa(3, minutes=-DAY, person=person(3, birth_date=EIGHTEEN_AT_T0))])
    assert alert.summary.startswith("Pendaftaran LTSA di kabupaten 5302 (tujuan TW)")
    assert "berusia 17 tahun" in alert.summary


def test_an_adult_or_an_unknown_age_raises_nothing():
    assert underage([placement(3)]) == []
    unknown = ltsa(3, person=person(3, birth_date=None, estimated_age=None))
    assert underage([unknown]) == []


def test_one_alert_per_registration_of_an_under_age_person():
    child = person(3, birth_date=date(2010, 3, 1))
    events = [
        ltsa(3, minutes=-60 * DAY, person=child),
        placement(3, person=child),
        interception(3, minutes=30 * DAY, person=child),  # a minor alert, not this one
    ]
    alerts = underage(events)
    assert sorted(a.cause_event_ids for a in alerts) == sorted(
        [(events[0].event_id,), (events[1].event_id,)]
    )
    assert {a.alert_id for a in underage(list(reversed(events)))} == {a.alert_id for a in alerts}


def test_the_working_age_is_its_own_setting_not_the_minor_threshold():
    event = ltsa(3, person=person(3, birth_date=None, estimated_age=17))
    assert underage([event], AlertRules(person=PersonRules(minor_age=16)))
    assert underage([event], AlertRules(person=PersonRules(min_migrant_work_age=17))) == []


def test_the_rule_can_be_switched_off():
    event = ltsa(3, person=person(3, birth_date=None, estimated_age=15))
    assert underage([event], AlertRules(enabled=frozenset(set(AlertRule) - {RULE}))) == []


def test_the_summary_carries_codes_and_counts_only():
    child = person(3, birth_date=date(2010, 3, 1))
    alerts = underage([ltsa(3, person=child), placement(3, person=child)])
    assert len(alerts) == 2
    for alert in alerts:
        assert child.nik_pseudonym not in alert.summary
        assert "2010" not in alert.summary


def test_every_rule_can_be_published_in_the_newest_alert_schema():
    """An alert the AlertRaised contract cannot carry would fail its whole batch."""
    schema = json.loads(avro.load("AlertRaised").text)
    [rule_field] = [f for f in schema["fields"] if f["name"] == "rule"]
    assert {r.value for r in AlertRule} <= set(rule_field["type"]["symbols"])


def test_through_the_pipeline_the_alert_is_raised_once_and_published():
    hub = memory_hub()
    event = placement(3, at=T0, person=person(3, birth_date=None, estimated_age=16))
    first = hub.send(event)
    hub.send(event)  # sent again: already recorded
    [alert] = [a for a in first.alerts_raised if a.rule is RULE]
    assert list(hub.holding(RULE)) == [alert.alert_id]
    [published] = [e for e in hub.published("AlertRaised") if e.rule is RULE]
    assert published.alert_id == alert.alert_id
    assert published.cause_event_ids == (event.event_id,)
