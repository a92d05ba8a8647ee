"""The ledger is a function of the facts, not of when they came: every agency's records
and their corrections and retractions, shuffled and cut into batches anyhow, leave the
same entities, the same alerts holding and the same metrics as the records in time order
with their amendments after them (found by such a search: an alert that moved with a
corrected record, a correction that came before its record)."""

from __future__ import annotations

import dataclasses
import itertools
import random
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from processors.alerts import AlertRules
from producers.amend import Correction, Retraction, amendment
from schemas.model import Event, Person, RepatriationKind, RetractionReason
from schemas.serde import EventSerializer
from schemas.topics import topic_of
from tests.factories import (
    case_id,
    interception,
    investigation,
    ltsa,
    person,
    recruiter,
    repatriation,
    tip,
)
from tests.unit.memory_hub import AMENDED_AT, MemoryHub, memory_hub

DAY = 24 * 60
RULES = {
    "default rules": AlertRules(),
    "tight rules": AlertRules(recruiter_people=2, group_size=2, tip_match_days=30),
}


def someone(n: int) -> Person:
    """A child by birth date, an adult, or a teenager by estimated age only."""
    if n % 3 == 0:
        return person(n, birth_date=date(2009, 1, 21))
    if n % 3 == 1:
        return person(n, birth_date=date(1995, 3, 3))
    return person(n, birth_date=None, estimated_age=16 + n % 4)


def a_record(rng: random.Random) -> Event:
    n, minutes = rng.randrange(6), rng.randrange(-80, 80) * DAY + rng.randrange(DAY)
    kind = rng.randrange(7)
    if kind <= 2:
        return interception(
            n, minutes=minutes, person=someone(n), recruiter_ref=recruiter(rng.randrange(3)),
            group_ref=rng.choice(["G", "H", None]), post=rng.choice(["eltari", "tenau"]),
        )  # fmt: skip
    if kind == 3:
        return repatriation(
            n, minutes=minutes, person=someone(n), kind=rng.choice(list(RepatriationKind))
        )
    if kind == 4:
        return ltsa(n, minutes=minutes, person=someone(n))
    if kind == 5:
        return tip(
            minutes=minutes,
            subject_n=rng.choice([None, n]),
            recruiter_n=rng.choice([None, rng.randrange(3)]),
        )
    return investigation(
        minutes=minutes, case_ids=(case_id(n),), recruiter_refs=(recruiter(rng.randrange(3)),)
    )


def amendments_of(rng: random.Random, hub: MemoryHub, records: list[Event]) -> list[Event]:
    encode = EventSerializer(hub.registry, register=True)

    def encoded(record: Event) -> bytes:
        return encode(topic_of(record).name, record)

    def keep(_: object) -> None:
        return None

    out: list[Event] = []
    for r in records:
        if rng.random() >= 0.35:
            continue
        at = AMENDED_AT + timedelta(minutes=rng.randrange(100))
        if rng.random() < 0.3:
            why = Retraction(r.event_id, r.event_type, RetractionReason.ENTERED_IN_ERROR)
            out.append(amendment(why, r.envelope.unit, lambda x: b"", keep, now=at))
            continue
        for _ in range(rng.choice([1, 1, 2])):
            changes: dict[str, Any] = {}
            if hasattr(r, "person") and rng.random() < 0.5:
                changes["person"] = someone(rng.randrange(6))  # moved to another person
            if hasattr(r, "recruiter_ref") and rng.random() < 0.5:
                changes["recruiter_ref"] = rng.choice([None, recruiter(rng.randrange(3))])
            if hasattr(r, "group_ref") and rng.random() < 0.3:
                changes["group_ref"] = rng.choice(["G", None])
            envelope = r.envelope
            if rng.random() < 0.5:
                occurred = envelope.occurred_at + timedelta(days=rng.randrange(-40, 40))
                envelope = dataclasses.replace(
                    envelope,
                    occurred_at=occurred,
                    recorded_at=max(envelope.recorded_at, occurred),
                )
            fixed = dataclasses.replace(r, envelope=envelope, **changes)
            later = at + timedelta(minutes=rng.randrange(100))
            correction = amendment(Correction(fixed), r.envelope.unit, encoded, keep, now=later)
            out.append(correction)
    return out


def state(hub: MemoryHub) -> dict[str, Any]:
    return {"ledger": hub.ledger(), "alerts": set(hub.holding()), "metrics": hub.metrics()}


@pytest.mark.parametrize("rules", RULES.values(), ids=RULES.keys())
@pytest.mark.parametrize("seed", range(40))
def test_any_order_and_any_batches_give_the_same_ledger_alerts_and_metrics(
    seed: int, rules: AlertRules, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = random.Random(seed)  # the factories' event ids too: a failure replays
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=ids.getrandbits(128), version=4))
    rng = random.Random(seed)
    records = [a_record(rng) for _ in range(rng.randrange(4, 25))]
    in_order = memory_hub(rules)
    amended = amendments_of(rng, in_order, records)
    in_order.send(*sorted(records, key=lambda e: (e.occurred_at, e.event_id)))
    if amended:
        in_order.send(*amended)
    messages = records + amended
    rng.shuffle(messages)
    anyhow = memory_hub(rules, registry=in_order.registry)
    cuts = sorted(rng.sample(range(1, len(messages)), min(len(messages) - 1, rng.randrange(6))))
    for start, end in itertools.pairwise([0, *cuts, len(messages)]):
        anyhow.send(*messages[start:end])
    assert state(anyhow) == state(in_order)
