"""Corrections and retractions through the real pipeline over the in-memory store: a
corrected record is replaced, a retracted one is absent, in the ledger, the metrics and
the alerts; only the record's unit (or its agency's administrator) may amend it; and the
order amendments arrive in never matters."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, timedelta

import pytest

from processors import metrics
from processors.alerts import AlertRules
from producers.amend import Correction, Retraction, amendment
from schemas.model import (
    AlertRule,
    InterceptionOutcome,
    RepatriationKind,
    RetractionReason,
    WithdrawalReason,
)
from schemas.serde import EventSerializer
from schemas.topics import topic_of
from tests.factories import acknowledgement, case_id, interception, ltsa, person, repatriation
from tests.unit.memory_hub import AMENDED_AT, NOW_MS, memory_hub

DAY = 24 * 60


def corrected(hub, record, *, at=AMENDED_AT, by=None):
    """The RecordCorrected of ``record`` (its corrected whole), made at ``at``."""
    encode = EventSerializer(hub.registry, register=True)
    return amendment(
        Correction(record), by or record.envelope.unit,
        lambda r: encode(topic_of(r).name, r), lambda i: None, now=at,
    )  # fmt: skip


def retracted(hub, record, *, reason=RetractionReason.ENTERED_IN_ERROR, by=None, at=AMENDED_AT):
    return amendment(
        Retraction(record.event_id, record.event_type, reason), by or record.envelope.unit,
        lambda r: b"", lambda i: None, now=at,
    )  # fmt: skip


def test_a_corrected_interception_is_replaced_not_added_and_raises_no_repeat_alert():
    hub = memory_hub()
    first = interception(1)
    hub.send(first)
    fixed = dataclasses.replace(first, outcome=InterceptionOutcome.HANDED_TO_POLICE)
    result = hub.send(corrected(hub, fixed))
    assert result.stored == 1 and result.dead_lettered == 0
    case = hub.store.cases[case_id(1)]
    assert case.interceptions == 1
    [fact] = case.facts
    assert fact.event_id == first.event_id and fact.detail["outcome"] == "HANDED_TO_POLICE"
    assert hub.count(metrics.INTERCEPTIONS) == 1
    assert not hub.holding(AlertRule.REPEAT_INTERCEPTION)


def test_a_correction_can_move_a_record_to_the_right_person():
    hub = memory_hub()
    wrong = interception(1)
    hub.send(wrong)
    right = dataclasses.replace(wrong, person=person(2))
    hub.send(corrected(hub, right))
    assert case_id(1) not in hub.store.cases  # left without any fact: gone
    assert hub.store.cases[case_id(2)].interceptions == 1
    assert hub.count(metrics.INTERCEPTIONS) == 1


@pytest.mark.parametrize(("wrong", "right"), [(9, 1), (1, 9)])
def test_a_childs_alert_follows_the_record_a_correction_moves_to_the_right_person(wrong, right):
    """Whichever of the two cases sorts first, and also when the wrongly named person's
    case is evaluated again later: the alert holds, as if the record had been right."""
    child = date(2010, 6, 1)
    hub = memory_hub()
    hub.send(ltsa(wrong, person=person(wrong, birth_date=child), minutes=-5 * DAY))
    record = interception(1, person=person(wrong, birth_date=child))
    [alert] = hub.send(record).alerts_raised
    fixed = dataclasses.replace(record, person=person(right, birth_date=child))
    moved = hub.send(corrected(hub, fixed))
    # The same alert, raised again naming the right person's case: police who read the
    # first one are told which case it is now (it is not withdrawn: it still holds).
    assert [(a.alert_id, a.case_ids) for a in moved.alerts_raised] == [
        (alert.alert_id, (case_id(right),))
    ]
    assert moved.alerts_withdrawn == []
    later = hub.send(ltsa(wrong, person=person(wrong, birth_date=child), minutes=3 * DAY))
    assert later.alerts_withdrawn == []
    assert alert.alert_id in hub.holding(AlertRule.MINOR_INTERCEPTED)
    truth = memory_hub()  # the same facts, the record right from the start
    truth.send(ltsa(wrong, person=person(wrong, birth_date=child), minutes=-5 * DAY))
    truth.send(fixed)
    truth.send(ltsa(wrong, person=person(wrong, birth_date=child), minutes=3 * DAY))
    assert {(a.rule, a.case_ids) for a in truth.holding().values()} == {
        (a.rule, a.case_ids) for a in hub.holding().values()
    }


@pytest.mark.parametrize(
    "correction_first", [False, True], ids=["record first", "correction first"]
)
def test_a_childs_alert_holds_whether_its_correction_comes_before_or_after_the_record(
    correction_first,
):
    hub = memory_hub()
    record = interception(1, person=person(1, birth_date=date(2010, 6, 1)))  # a 15-year-old
    fixed = dataclasses.replace(record, outcome=InterceptionOutcome.HANDED_TO_POLICE)
    batches = [[record], [corrected(hub, fixed)]]
    for batch in reversed(batches) if correction_first else batches:
        hub.send(*batch)
    [alert] = hub.holding(AlertRule.MINOR_INTERCEPTED).values()
    assert hub.store.cases[case_id(1)].facts[0].detail["outcome"] == "HANDED_TO_POLICE"
    assert [e.alert_id for e in hub.published("AlertRaised")] == [alert.alert_id]  # type: ignore[attr-defined]
    assert hub.published("AlertWithdrawn") == []


@pytest.mark.parametrize("retraction_first", [False, True], ids=["ack first", "retraction first"])
def test_a_retracted_acknowledgement_leaves_the_alert_open_in_either_order(retraction_first):
    hub = memory_hub()
    [alert] = hub.send(repatriation(7)).alerts_raised
    mistaken = acknowledgement(alert.alert_id, minutes=60)
    second = acknowledgement(alert.alert_id, minutes=90)  # another officer's, later
    batches = [[mistaken], [retracted(hub, mistaken)]]
    for batch in reversed(batches) if retraction_first else batches:
        hub.send(*batch)
    assert alert.alert_id not in hub.store.acks  # open again: police act on it
    hub.send(second)
    assert hub.store.acks[alert.alert_id].event_id == second.event_id


def test_an_acknowledgement_corrected_to_name_another_alert_moves_to_it():
    hub = memory_hub()
    [first] = hub.send(repatriation(7)).alerts_raised
    [meant] = hub.send(repatriation(8)).alerts_raised
    mistaken = acknowledgement(first.alert_id, minutes=60)
    hub.send(mistaken)
    hub.send(corrected(hub, dataclasses.replace(mistaken, alert_id=meant.alert_id)))
    assert first.alert_id not in hub.store.acks
    assert hub.store.acks[meant.alert_id].event_id == mistaken.event_id


def test_a_retracted_death_withdraws_its_alert_on_the_wire_with_the_reason():
    hub = memory_hub()
    death = repatriation(7)
    [alert] = hub.send(death).alerts_raised
    assert alert.rule is AlertRule.DECEASED_UNREGISTERED
    retraction = retracted(hub, death)
    result = hub.send(retraction)
    assert result.alerts_withdrawn == [alert.alert_id]
    [withdrawn] = hub.published("AlertWithdrawn")
    assert withdrawn.alert_id == alert.alert_id
    assert withdrawn.reason is WithdrawalReason.RECORD_RETRACTED
    assert withdrawn.ended_by_event_ids == (retraction.event_id,)
    assert hub.count(metrics.DEATHS) == 0 and hub.count(metrics.REPATRIATIONS) == 0
    assert not hub.holding()


def test_a_late_fact_withdraws_an_alert_on_the_wire_as_a_late_fact():
    hub = memory_hub()
    [alert] = hub.send(repatriation(7)).alerts_raised
    registration = ltsa(7, minutes=-400 * DAY)
    hub.send(registration)
    [withdrawn] = hub.published("AlertWithdrawn")
    assert (withdrawn.alert_id, withdrawn.reason) == (alert.alert_id, WithdrawalReason.LATE_FACT)
    assert withdrawn.ended_by_event_ids == (registration.event_id,)
    assert "ditarik" in withdrawn.summary


def test_only_the_records_unit_or_its_agencys_administrator_may_amend_it():
    hub = memory_hub()
    record = interception(1, post="tenau")
    hub.send(record)
    fixed = dataclasses.replace(record, outcome=InterceptionOutcome.SHELTERED)
    other = corrected(hub, fixed, by="post-eltari")
    result = hub.send(other, retracted(hub, record, by="post-eltari"))
    assert result.dead_lettered == 2
    reasons = [e.reason for e, _, _ in hub.store.audit[-2:]]
    assert all("post-eltari may not" in r for r in reasons)
    assert hub.store.cases[case_id(1)].facts[0].detail["outcome"] == "SENT_HOME"
    by_admin = corrected(hub, fixed, by="post-admin", at=AMENDED_AT + timedelta(days=1))
    assert hub.send(by_admin).stored == 1
    assert hub.store.cases[case_id(1)].facts[0].detail["outcome"] == "SHELTERED"


def test_the_latest_correction_holds_and_a_retraction_is_final_in_any_order():
    record = interception(3)
    outcomes = [InterceptionOutcome.SHELTERED, InterceptionOutcome.HANDED_TO_POLICE]

    def amendments(hub):
        early = corrected(hub, dataclasses.replace(record, outcome=outcomes[0]))
        late = corrected(
            hub, dataclasses.replace(record, outcome=outcomes[1]), at=AMENDED_AT + timedelta(1)
        )
        return early, late

    reference = memory_hub()
    reference.send(record)
    early, late = amendments(reference)
    reference.send(early)
    reference.send(late)
    assert reference.store.cases[case_id(3)].facts[0].detail["outcome"] == "HANDED_TO_POLICE"
    for order in itertools.permutations(range(3)):
        hub = memory_hub()
        items = [record, *amendments(hub)]
        for i in order:
            hub.send(items[i])
        assert hub.ledger().keys() == reference.ledger().keys()
        case = hub.store.cases[case_id(3)]
        assert case.facts[0].detail["outcome"] == "HANDED_TO_POLICE", order
        assert hub.metrics() == reference.metrics(), order
    # With a retraction too, in any order: the record is gone.
    for order in itertools.permutations(range(3)):
        hub = memory_hub()
        early, _ = amendments(hub)
        items = [record, early, retracted(hub, record)]
        for i in order:
            hub.send(items[i])
        assert case_id(3) not in hub.store.cases, order
        assert hub.metrics() == {}, order


def test_an_amendment_from_another_unit_arriving_before_its_record_is_dropped_then():
    hub = memory_hub()
    record = interception(4, post="tenau")
    fixed = dataclasses.replace(record, envelope=dataclasses.replace(
        record.envelope, unit="post-eltari"), post_id="eltari", exit_point="eltari")  # fmt: skip
    hub.send(corrected(hub, fixed))  # claims the record is eltari's; it is tenau's
    hub.send(record)
    [fact] = hub.store.cases[case_id(4)].facts
    assert fact.unit == "post-tenau" and fact.detail["post"] == "tenau"
    assert hub.count(metrics.INTERCEPTIONS) == 1


def test_an_alert_resting_on_an_absence_waits_its_grace_period_then_is_raised_by_the_timer():
    hub = memory_hub(AlertRules(grace=timedelta(hours=24)))
    death = repatriation(8)
    received = NOW_MS  # the hub receives it now (no broker time in these messages)
    result = hub.send(death)
    assert result.alerts_raised == [] and not hub.holding()
    [held] = hub.store.held_back.values()
    assert held.rule is AlertRule.DECEASED_UNREGISTERED
    assert hub.raise_due(received + 23 * 3600_000) == []
    [due] = hub.raise_due(received + 25 * 3600_000)
    assert due.alert_id == held.alert_id
    assert [a.alert_id for a in hub.published("AlertRaised")] == [held.alert_id]


def test_a_late_fact_within_the_grace_period_ends_the_alert_before_police_hear_of_it():
    hub = memory_hub(AlertRules(grace=timedelta(hours=24)))
    hub.send(repatriation(9))
    hub.send(ltsa(9, minutes=-300 * DAY))  # the registration arrives an hour later
    assert hub.store.held_back == {}
    assert hub.raise_due(NOW_MS + 48 * 3600_000) == []
    assert hub.published("AlertRaised") == [] and hub.published("AlertWithdrawn") == []


def test_a_corrected_kind_moves_the_counts():
    hub = memory_hub()
    record = repatriation(5, kind=RepatriationKind.DECEASED)
    hub.send(record)
    assert hub.count(metrics.DEATHS) == 1
    hub.send(corrected(hub, dataclasses.replace(record, kind=RepatriationKind.SICK)))
    assert hub.count(metrics.DEATHS) == 0 and hub.count(metrics.REPATRIATIONS) == 1


def _batchings(items):
    """Every order of ``items`` cut into consecutive batches in every way."""
    for order in itertools.permutations(items):
        for cuts in itertools.product((False, True), repeat=len(order) - 1):
            batches, batch = [], [order[0]]
            for item, cut in zip(order[1:], cuts, strict=True):
                if cut:
                    batches.append(batch)
                    batch = []
                batch.append(item)
            yield [*batches, batch]


def test_a_record_and_its_amendments_in_one_batch_end_as_in_separate_batches():
    """A rebuild reads a record and its amendments in one batch where the live hub read
    them in several: the ledger, the metrics and the alerts must not depend on it."""
    death = repatriation(8)
    fixed = dataclasses.replace(death, kind=RepatriationKind.SICK)

    def items(hub):
        return [death, corrected(hub, fixed), retracted(hub, death, at=AMENDED_AT + timedelta(1))]

    for chosen in ([0, 1], [0, 2], [0, 1, 2]):
        reference = memory_hub()
        for i in chosen:
            reference.send(items(reference)[i])
        for batches in _batchings(chosen):
            hub = memory_hub()
            made = items(hub)
            for batch in batches:
                hub.send(*(made[i] for i in batch))
            where = (chosen, batches)
            assert hub.ledger() == reference.ledger(), where
            assert hub.metrics() == reference.metrics(), where
            assert hub.holding() == reference.holding(), where
