"""Alert rules for police, on the pure fold: each rule, its threshold, its stable id."""

from __future__ import annotations

from datetime import date

import pytest

from processors import ledger
from processors.alerts import AlertRules, evaluate
from schemas.model import AlertRule, Person, Procedural, RepatriationKind, Severity
from tests.factories import (
    case_id,
    interception,
    investigation,
    ltsa,
    person,
    placement,
    recruiter,
    repatriation,
    tip,
)

DAY = 24 * 60
RULES = AlertRules()


def alerts_for(events, rules=RULES):
    found = {}
    for entity in ledger.fold(events).values():
        for alert in evaluate(entity, rules):
            found[alert.alert_id] = alert
    return list(found.values())


def by_rule(alerts, rule):
    return [a for a in alerts if a.rule is rule]


def test_a_recruiter_linked_to_three_people_within_thirty_days_raises_an_alert():
    events = [interception(n, minutes=n * 10 * DAY, recruiter_ref=recruiter(9)) for n in range(3)]
    [alert] = by_rule(alerts_for(events), AlertRule.RECRUITER_NETWORK)
    assert alert.recruiter_ref == recruiter(9)
    assert set(alert.case_ids) == {case_id(n) for n in range(3)}
    assert set(alert.cause_event_ids) == {e.event_id for e in events}
    assert alert.severity is Severity.HIGH
    assert "3 orang dalam 30 hari" in alert.summary


def test_three_people_spread_over_more_than_thirty_days_raise_nothing():
    events = [interception(n, minutes=n * 16 * DAY, recruiter_ref=recruiter(9)) for n in range(3)]
    assert by_rule(alerts_for(events), AlertRule.RECRUITER_NETWORK) == []


def test_the_recruiter_threshold_comes_from_configuration():
    events = [interception(n, minutes=n, recruiter_ref=recruiter(9)) for n in range(3)]
    assert (
        by_rule(alerts_for(events, AlertRules(recruiter_people=4)), AlertRule.RECRUITER_NETWORK)
        == []
    )
    assert by_rule(
        alerts_for(events[:2], AlertRules(recruiter_people=2)), AlertRule.RECRUITER_NETWORK
    )


def test_police_files_count_as_links_between_a_recruiter_and_people():
    events = [
        interception(1, recruiter_ref=recruiter(9)),
        investigation(case_ids=(case_id(2), case_id(3)), recruiter_refs=(recruiter(9),)),
    ]
    assert by_rule(alerts_for(events), AlertRule.RECRUITER_NETWORK)


def test_a_minor_intercepted_raises_a_high_alert_with_the_age():
    child = interception(2, person=person(2, birth_date=date(2010, 3, 1)))
    [alert] = by_rule(alerts_for([child]), AlertRule.MINOR_INTERCEPTED)
    assert alert.severity is Severity.HIGH
    assert alert.cause_event_ids == (child.event_id,)
    assert "berusia 15 tahun" in alert.summary


def test_an_adult_raises_no_minor_alert():
    assert by_rule(alerts_for([interception(3)]), AlertRule.MINOR_INTERCEPTED) == []


def test_the_same_person_intercepted_again_raises_one_alert_per_repeat():
    first = interception(4)
    again = interception(4, minutes=40 * DAY, post="tenau")
    third = interception(4, minutes=80 * DAY)
    alerts = by_rule(alerts_for([first, again, third]), AlertRule.REPEAT_INTERCEPTION)
    assert sorted(a.cause_event_ids[1] for a in alerts) == sorted([again.event_id, third.event_id])
    # A severity never changes once raised, whatever arrives later; the count is in the text.
    assert {a.severity for a in alerts} == {Severity.MEDIUM}
    assert sorted(a.summary for a in alerts)[1].startswith("Orang yang sama dicegah untuk ke-3")
    assert all(a.cause_event_ids[0] == first.event_id for a in alerts)


def test_a_tip_later_matched_by_an_interception_of_the_same_person_raises_an_alert():
    report = tip(subject_n=5, minutes=-10 * DAY)
    caught = interception(5)
    [alert] = by_rule(alerts_for([report, caught]), AlertRule.TIP_MATCHED)
    assert alert.cause_event_ids == (report.event_id, caught.event_id)
    assert "10 hari kemudian" in alert.summary


def test_a_tip_later_matched_by_the_same_recruiter_raises_an_alert():
    report = tip(recruiter_n=6, minutes=-20 * DAY)
    caught = interception(7, recruiter_ref=recruiter(6))
    [alert] = by_rule(alerts_for([report, caught]), AlertRule.TIP_MATCHED)
    assert alert.recruiter_ref == recruiter(6)
    assert alert.case_ids == (case_id(7),)


def test_an_interception_before_the_tip_or_too_late_does_not_match_it():
    early = interception(5, minutes=-DAY)
    late = interception(5, minutes=61 * DAY, recruiter_ref=None)
    report = tip(subject_n=5)
    assert by_rule(alerts_for([early, late, report]), AlertRule.TIP_MATCHED) == []


def test_a_deceased_repatriation_of_someone_intercepted_before_is_critical():
    caught = interception(8, minutes=-200 * DAY)
    dead = repatriation(8)
    alerts = alerts_for([caught, dead])
    [alert] = by_rule(alerts, AlertRule.DECEASED_AFTER_INTERCEPTION)
    assert alert.severity is Severity.CRITICAL
    assert alert.cause_event_ids == (caught.event_id, dead.event_id)


def test_a_deceased_repatriation_of_someone_never_registered_raises_an_alert():
    [alert] = by_rule(alerts_for([repatriation(9)]), AlertRule.DECEASED_UNREGISTERED)
    assert "tidak pernah terdaftar" in alert.summary and "(non-prosedural)" in alert.summary


def test_the_unregistered_death_alert_does_not_contradict_a_repatriation_said_procedural():
    said = repatriation(9, procedural=Procedural.PROCEDURAL)
    [alert] = by_rule(alerts_for([said]), AlertRule.DECEASED_UNREGISTERED)
    assert "tidak pernah terdaftar" in alert.summary  # still unseen in the hub: police look
    assert "non-prosedural" not in alert.summary and "BP3MI mencatatnya prosedural" in alert.summary


@pytest.mark.parametrize("registration", [ltsa, placement])
def test_a_registered_person_who_died_raises_no_unregistered_alert(registration):
    events = [registration(9, minutes=-100 * DAY), repatriation(9)]
    assert by_rule(alerts_for(events), AlertRule.DECEASED_UNREGISTERED) == []


def test_a_living_repatriation_raises_no_death_alert():
    events = [interception(9, minutes=-DAY), repatriation(9, kind=RepatriationKind.DEPORTED)]
    alerts = alerts_for(events)
    assert by_rule(alerts, AlertRule.DECEASED_AFTER_INTERCEPTION) == []
    assert by_rule(alerts, AlertRule.DECEASED_UNREGISTERED) == []


def test_a_group_of_five_intercepted_together_raises_an_alert_and_four_do_not():
    five = [interception(n, group_ref="TEN-1", post="tenau") for n in range(5)]
    [alert] = by_rule(alerts_for(five), AlertRule.GROUP_INTERCEPTED)
    assert alert.group_ref == "tenau/TEN-1"
    assert len(alert.case_ids) == 5
    assert by_rule(alerts_for(five[:4]), AlertRule.GROUP_INTERCEPTED) == []


def test_alert_ids_are_stable_whatever_the_order_and_repetition():
    events = [
        interception(n, minutes=n, recruiter_ref=recruiter(3), group_ref="G") for n in range(5)
    ] + [tip(subject_n=1, minutes=-DAY), repatriation(1, minutes=DAY)]
    first = {a.alert_id for a in alerts_for(events)}
    again = {a.alert_id for a in alerts_for(list(reversed(events)) + events[:2])}
    assert first == again
    assert len(first) >= 5


def test_a_rule_can_be_switched_off():
    child = interception(2, person=person(2, birth_date=date(2010, 3, 1)))
    rules = AlertRules(enabled=frozenset(set(AlertRule) - {AlertRule.MINOR_INTERCEPTED}))
    assert by_rule(alerts_for([child], rules), AlertRule.MINOR_INTERCEPTED) == []


def test_summaries_carry_no_personal_data():
    child = interception(2, person=Person(nik_pseudonym="a" * 32, birth_date=date(2010, 3, 1)))
    events = [child, interception(2, minutes=DAY), repatriation(2, minutes=2 * DAY)]
    alerts = alerts_for(events)
    assert {a.rule for a in alerts} == {
        AlertRule.MINOR_INTERCEPTED,
        AlertRule.DECEASED_AFTER_INTERCEPTION,
        AlertRule.DECEASED_UNREGISTERED,
    }
    for alert in alerts:
        assert "a" * 32 not in alert.summary
        assert "2010-03-01" not in alert.summary
