"""The batch pipeline against the in-memory store: decode, check, fold, dead-letter."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from datetime import timedelta

import pytest

from processors.metrics import INTERCEPTIONS
from processors.pipeline import Pipeline, RawMessage
from schemas.model import Person
from schemas.serde import EventDeserializer, EventSerializer
from sinks.memory import MemoryDeadLetters, MemoryLedgerStore
from tests.factories import interception
from tests.unit.fakes import MemoryRegistry

TOPIC = "t.posts.interception-recorded"


@pytest.fixture
def hub():
    registry = MemoryRegistry()
    store, dead = MemoryLedgerStore(), MemoryDeadLetters()
    pipeline = Pipeline(EventDeserializer(registry), store, dead)
    encode = EventSerializer(registry)
    offsets = iter(range(1_000_000))

    def message(value):
        return RawMessage(TOPIC, 0, next(offsets), None, value)

    def send(*events):
        return pipeline.process([message(encode(TOPIC, e)) for e in events])

    return dataclasses.make_dataclass("Hub", ["pipeline", "store", "dead", "send", "message"])(
        pipeline, store, dead, send, message
    )


def test_a_batch_is_stored_folded_and_counted(hub):
    result = hub.send(interception(1), interception(2, post="tenau"), interception(1, minutes=9))
    assert (result.stored, result.duplicates, result.dead_lettered) == (3, 0, 0)
    assert len(hub.store.cases) == 2
    counts = {dict(k.labels)["post"]: v for k, v in hub.store.metrics.items()}
    assert counts == {"eltari": 2, "tenau": 1}
    assert {k.metric for k in hub.store.metrics} == {INTERCEPTIONS}


def test_an_event_sent_twice_is_stored_and_counted_once(hub):
    event = interception(1)
    hub.send(event)
    again = hub.send(event, event)
    assert (again.stored, again.duplicates) == (0, 2)
    assert sum(hub.store.metrics.values()) == 1
    assert next(iter(hub.store.cases.values())).interceptions == 1


def test_undecodable_messages_go_to_dead_letters_and_the_rest_is_stored(hub):
    good = EventSerializer(MemoryRegistry())  # a schema id this hub's registry never issued
    result = hub.pipeline.process(
        [
            hub.message(b"garbage"),
            hub.message(good(TOPIC, interception(3))),
            hub.message(None),
        ]
    )
    assert result.dead_lettered == 3 - result.stored
    reasons = [d.reason for d in hub.dead.sent]
    assert any("magic byte" in r for r in reasons)
    assert any("tombstone" in r for r in reasons)
    assert all(d.payload_sha256 and d.topic == TOPIC for d in hub.dead.sent)


def test_an_event_breaking_envelope_rules_is_dead_lettered_with_the_rule(hub):
    base = interception(4)
    late = dataclasses.replace(
        base,
        envelope=dataclasses.replace(
            base.envelope, recorded_at=base.envelope.occurred_at - timedelta(hours=1)
        ),
    )
    not_uuid = dataclasses.replace(
        base, envelope=dataclasses.replace(base.envelope, event_id="row-17")
    )
    nobody = interception(5, person=Person())
    result = hub.send(late, not_uuid, nobody)
    assert result.stored == 0 and result.dead_lettered == 3
    reasons = sorted(d.reason for d in hub.dead.sent)
    assert any("occurred_at is after" in r for r in reasons)
    assert any("not a UUID" in r for r in reasons)
    assert any("names no person" in r for r in reasons)


def test_a_future_recorded_at_is_refused(hub):
    base = interception(6)
    future = base.envelope.occurred_at + timedelta(days=3650)
    event = dataclasses.replace(
        base, envelope=dataclasses.replace(base.envelope, occurred_at=future, recorded_at=future)
    )
    result = hub.send(event)
    assert result.dead_lettered == 1
    assert "in the future" in hub.dead.sent[0].reason


def test_an_event_published_by_the_wrong_kind_of_agency_is_refused(hub):
    base = interception(7)
    forged = dataclasses.replace(base, envelope=dataclasses.replace(base.envelope, agency="bp3mi"))
    hub.send(forged)
    assert "must be published by a post" in hub.dead.sent[0].reason


class FailingStore(MemoryLedgerStore):
    """Fails after the events were added, before the cases are written."""

    @contextmanager
    def unit_of_work(self):
        with super().unit_of_work() as uow:
            uow.put_cases = lambda cases: (_ for _ in ()).throw(RuntimeError("disk full"))
            yield uow


def test_a_failing_store_commits_nothing():
    registry = MemoryRegistry()
    store = FailingStore()
    pipeline = Pipeline(EventDeserializer(registry), store, MemoryDeadLetters())
    value = EventSerializer(registry)(TOPIC, interception(8))
    with pytest.raises(RuntimeError, match="disk full"):
        pipeline.process([RawMessage(TOPIC, 0, 0, None, value)])
    assert store.events == {} and store.cases == {} and not store.metrics


def test_dead_letter_reasons_never_carry_the_payload(hub):
    secret = b"\x00\x00\x00\x00\x01" + b"5302014101900001 Maria Nenobais"
    hub.pipeline.process([hub.message(secret)])
    letter = hub.dead.sent[0]
    assert "5302014101900001" not in repr(letter) and "Maria" not in repr(letter)
    assert letter.payload_bytes == len(secret)


def test_a_full_batch_of_many_people_is_folded_into_one_case_each(hub):
    events = [interception(n % 700, minutes=n) for n in range(2000)]
    result = hub.send(*events)
    assert result.stored == 2000 and len(hub.store.cases) == 700
    assert sum(c.interceptions for c in hub.store.cases.values()) == 2000
