"""The batch pipeline against the in-memory store: decode, check, fold, alert, count,
dead-letter, and what it leaves to publish."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from processors import metrics
from processors.audit import verify_chains
from processors.ledger import CaseStatus
from processors.pipeline import Outputs, Pipeline
from processors.ports import OutboxMessage, RawMessage
from schemas import crypto
from schemas.model import AlertRule, Person
from schemas.serde import EventDeserializer, EventSerializer, frame, unframe
from sinks.memory import MemoryLedgerStore, MemoryRelay
from tests.factories import (
    acknowledgement,
    case_id,
    interception,
    investigation,
    ltsa,
    person,
    placement,
    prevention,
    repatriation,
    tip,
)
from tests.unit.fakes import MemoryRegistry

TOPIC = "t.any"
DAY = 24 * 60


@dataclasses.dataclass
class Hub:
    pipeline: Pipeline
    store: MemoryLedgerStore
    relay: MemoryRelay
    registry: MemoryRegistry
    offset: int = 0

    def message(self, value):
        self.offset += 1
        return RawMessage(TOPIC, 0, self.offset, None, value)

    def send(self, *events):
        encode = EventSerializer(self.registry, register=True)
        return self.process([self.message(encode(TOPIC, e)) for e in events])

    def process(self, batch):
        result = self.pipeline.process(batch)
        self.pipeline.publish_pending()
        return result

    def count(self, metric, **labels):
        return sum(
            v
            for k, v in self.store.metrics.items()
            if k.metric == metric and all(dict(k.labels).get(n) == x for n, x in labels.items())
        )

    @property
    def dead(self):
        """The dead letters the hub published (relayed from its outbox)."""
        return self.published("MessageDeadLettered")

    def published(self, event_type):
        decode = EventDeserializer(self.registry)
        return [
            e
            for e in (decode(m.value).event for m in self.relay.published)
            if e.event_type == event_type
        ]


@pytest.fixture
def hub():
    registry = MemoryRegistry()
    store = MemoryLedgerStore()
    relay = MemoryRelay(store)
    encode_value = EventSerializer(registry, register=True)

    def encode(event):
        return OutboxMessage(
            f"out.{event.event_type}", event.partition_key().encode(), encode_value("out", event)
        )

    pipeline = Pipeline(
        EventDeserializer(registry), store, outputs=Outputs(encode, relay, "hub-test")
    )
    return Hub(pipeline, store, relay, registry)


def test_a_batch_from_every_agency_is_stored_folded_and_counted(hub):
    result = hub.send(
        interception(1),
        interception(2, post="tenau"),
        interception(1, minutes=9),
        placement(3),
        repatriation(4),
        prevention(attendance=120),
        tip(subject_n=5),
        investigation(),
    )
    assert (result.stored, result.redelivered, result.dead_lettered) == (8, 0, 0)
    assert set(hub.store.cases) == {case_id(n) for n in range(1, 6)}
    assert hub.count(metrics.INTERCEPTIONS, post="eltari") == 2
    assert hub.count(metrics.INTERCEPTIONS, post="tenau") == 1
    assert hub.count(metrics.PLACEMENTS, country="TW") == 1
    assert hub.count(metrics.DEATHS, procedural="non_procedural") == 1
    assert hub.count(metrics.PREVENTION_ATTENDANCE) == 120
    assert hub.count(metrics.TIPS) == 1
    assert hub.count(metrics.INVESTIGATIONS, offence="tppo") == 1


def test_an_event_sent_twice_is_stored_counted_and_alerted_once(hub):
    event = interception(1, person=person(1, birth_date=date(2010, 1, 1)))
    first = hub.send(event)
    again = hub.send(event, event)
    # Sent again, same payload, from another place in Kafka: an honest re-send (a desk
    # retrying), recorded as such, neither stored again nor dead-lettered.
    assert (again.stored, again.already_recorded, again.dead_lettered) == (0, 2, 0)
    assert [e.outcome for e, _, _ in hub.store.audit[-2:]] == ["already_recorded"] * 2
    assert hub.dead == []
    assert hub.count(metrics.INTERCEPTIONS) == 1
    assert hub.store.cases[case_id(1)].interceptions == 1
    assert [a.rule for a in first.alerts_raised] == [AlertRule.MINOR_INTERCEPTED]
    assert again.alerts_raised == []
    assert len(hub.published("AlertRaised")) == 1


def test_the_same_fact_recorded_again_later_is_already_recorded_and_other_content_a_replay(hub):
    event = interception(1)
    hub.send(event)
    # The same file imported again tomorrow: the desk encodes it anew (a new recorded_at).
    later = _replace_envelope(event, recorded_at=event.envelope.recorded_at + timedelta(days=1))
    again = hub.send(later)
    assert (again.stored, again.already_recorded, again.dead_lettered) == (0, 1, 0)
    # Encoded anew, its recruiter's contact is sealed anew for police (another random
    # key, other bytes): still the same fact, in the same batch as the first or later.
    police = X25519PrivateKey.generate().public_key()
    sealed = [
        dataclasses.replace(event, recruiter_contact_sealed=crypto.seal(police, b"0812", b"c"))
        for _ in range(2)
    ]
    assert sealed[0].recruiter_contact_sealed != sealed[1].recruiter_contact_sealed
    twice = hub.send(*sealed)
    assert (twice.stored, twice.already_recorded, twice.dead_lettered) == (0, 2, 0)
    # The same id saying something else is not the same fact: a replay, refused.
    changed = dataclasses.replace(event, officer_ref="ELT-99")
    refused = hub.send(changed)
    assert (refused.stored, refused.dead_lettered) == (0, 1)
    assert hub.dead[0].reason.startswith("replayed: the event id is already in the ledger")
    assert hub.store.cases[case_id(1)].interceptions == 1


def test_an_alert_is_raised_once_however_many_batches_keep_it_true(hub):
    members = [interception(n, group_ref="G1", post="tenau") for n in range(7)]
    hub.send(*members[:5])
    hub.send(*members[5:])
    group_alerts = [a for a in hub.store.alerts.values() if a.rule is AlertRule.GROUP_INTERCEPTED]
    assert len(group_alerts) == 1
    assert len(group_alerts[0].case_ids) == 7  # the stored alert follows the group as it grows
    [raised] = [e for e in hub.published("AlertRaised") if e.rule is AlertRule.GROUP_INTERCEPTED]
    assert raised.event_id == raised.alert_id == group_alerts[0].alert_id


def test_a_batch_redelivered_after_a_crash_is_a_silent_no_op(hub):
    encode = EventSerializer(hub.registry, register=True)
    batch = [hub.message(encode(TOPIC, interception(n))) for n in range(3)]
    hub.pipeline.process(batch)
    again = hub.pipeline.process(batch)  # the same offsets: Kafka redelivered them
    assert (again.stored, again.redelivered, again.dead_lettered) == (0, 3, 0)
    assert [e.outcome for e, _, _ in hub.store.audit[-3:]] == ["redelivered"] * 3


def test_every_message_leaves_a_hash_chained_audit_entry(hub):
    hub.send(interception(1), interception(2))
    hub.pipeline.process([hub.message(b"garbage")])
    outcomes = [entry.outcome for entry, _, _ in hub.store.audit]
    assert outcomes == ["stored", "stored", "dead_lettered"]
    rows = [(n, e.chain, e, prev, h) for n, (e, prev, h) in enumerate(hub.store.audit)]
    assert verify_chains(rows).intact
    tampered = list(rows)
    n, chain, entry, prev, h = tampered[1]
    tampered[1] = (n, chain, dataclasses.replace(entry, signer="post-tenau"), prev, h)
    check = verify_chains(tampered)
    assert check.broken_at == 1 and "does not match" in check.reason
    # An entry written twice (the same hash twice: a fork of the chain) is reported too;
    # the audit log does not index its hashes (migration 0018), the check finds it.
    forked = [*rows[:2], (2, *rows[1][1:]), *((n + 1, *rest) for n, *rest in rows[2:])]
    check = verify_chains(forked)
    assert check.broken_at == 2 and "does not follow" in check.reason


def test_each_partition_has_its_own_audit_chain(hub):
    encode = EventSerializer(hub.registry, register=True)
    for partition in (0, 1, 0, 2):
        value = encode(TOPIC, interception(partition + 10 * hub.offset))
        hub.offset += 1
        hub.pipeline.process([RawMessage(TOPIC, partition, hub.offset, None, value)])
    rows = [(n, e.chain, e, prev, h) for n, (e, prev, h) in enumerate(hub.store.audit)]
    check = verify_chains(rows)
    assert check.intact and check.chains == 3
    # The second entry of partition 0 follows the first entry of partition 0, not entry 1.
    assert rows[2][3] == rows[0][4]
    moved = list(rows)
    moved[1] = (1, f"{TOPIC}/0", *rows[1][2:])  # filed under another partition's chain
    assert not verify_chains(moved).intact


def test_the_earliest_acknowledgement_of_an_alert_is_kept_whatever_the_arrival_order(hub):
    result = hub.send(repatriation(6))
    [alert] = result.alerts_raised
    later = acknowledgement(alert.alert_id, minutes=60)
    earlier = acknowledgement(alert.alert_id, minutes=30)
    hub.send(later)
    hub.send(earlier)
    assert hub.store.acks[alert.alert_id].event_id == earlier.event_id


def test_a_late_fact_that_ends_a_situation_withdraws_its_alert_and_it_is_published_once(hub):
    death = repatriation(7)
    first = hub.send(death)
    [alert] = first.alerts_raised
    assert alert.rule is AlertRule.DECEASED_UNREGISTERED
    late_registration = ltsa(7, minutes=-400 * DAY)  # recorded late, happened long before
    second = hub.send(late_registration)
    assert second.alerts_withdrawn == [alert.alert_id]
    assert alert.alert_id in hub.store.withdrawn
    assert [a.alert_id for a in hub.published("AlertRaised")] == [alert.alert_id]


def test_an_acknowledgement_arriving_before_its_alert_is_kept(hub):
    early_ack = acknowledgement("7b7a3d4e-0000-4000-8000-000000000001")
    hub.send(early_ack)
    assert hub.store.acks[early_ack.alert_id].event_id == early_ack.event_id


def test_every_changed_case_is_published_as_a_case_change(hub):
    hub.send(interception(1), interception(2), interception(1, minutes=1))
    changes = hub.published("CaseUpdated")
    assert {c.case_id for c in changes} == {case_id(1), case_id(2)}
    [one] = [c for c in changes if c.case_id == case_id(1)]
    assert one.fact_count == 2 and one.status == CaseStatus.INTERCEPTED


def test_nothing_is_published_before_the_batch_commits():
    class Boom(MemoryLedgerStore):
        @contextmanager
        def unit_of_work(self):
            with super().unit_of_work() as uow:
                yield uow
                raise RuntimeError("disk full")

    registry = MemoryRegistry()
    store = Boom()
    relay = MemoryRelay(store)
    pipeline = Pipeline(
        EventDeserializer(registry),
        store,
        outputs=Outputs(lambda e: OutboxMessage("o", b"", b""), relay, "hub-test"),
    )
    value = EventSerializer(registry, register=True)(TOPIC, repatriation(1))
    with pytest.raises(RuntimeError, match="disk full"):
        pipeline.process([RawMessage(TOPIC, 0, 0, None, value)])
    assert relay.published == [] and store.outbox == []
    assert store.events == {} and store.entities == {} and not store.metrics


def test_undecodable_messages_go_to_dead_letters_and_the_rest_is_stored(hub):
    # A well-formed body under a schema id this hub's registry never issued:
    _, body = unframe(EventSerializer(MemoryRegistry(), register=True)(TOPIC, interception(3)))
    result = hub.process(
        [
            hub.message(b"garbage"),
            hub.message(frame(987654, body)),
            hub.message(None),
            # Four bytes of schema id beyond an Avro int: the dead letter, which names the
            # id it read, must still be written (it once failed to encode, for ever).
            hub.message(b"\x00\x80\x00\x00\x01" + body),
            hub.message(EventSerializer(hub.registry, register=True)(TOPIC, interception(4))),
        ]
    )
    assert (result.stored, result.dead_lettered) == (1, 4)
    assert any("schema id 2147483649 is beyond" in d.reason for d in hub.dead)
    reasons = [d.reason for d in hub.dead]
    assert any("magic byte" in r for r in reasons)
    assert any("schema id 987654" in r for r in reasons)
    assert any("tombstone" in r for r in reasons)
    assert all(d.payload_sha256 and d.source_topic == TOPIC for d in hub.dead)


def _replace_envelope(event, **changes):
    return dataclasses.replace(event, envelope=dataclasses.replace(event.envelope, **changes))


def test_events_breaking_the_rules_are_dead_lettered_with_the_rule(hub):
    base = interception(4)
    bad = [
        _replace_envelope(base, recorded_at=base.envelope.occurred_at - timedelta(hours=1)),
        _replace_envelope(base, event_id="row-17"),
        _replace_envelope(base, agency="bp3mi"),
        interception(5, person=Person()),
        interception(6, person=Person(nik_pseudonym="5302014101900001")),
        interception(7, recruiter_ref="0812 3456 7890"),
        investigation(case_ids=("5302014101900001",)),
    ]
    result = hub.send(*bad)
    assert result.stored == 0 and result.dead_lettered == len(bad)
    reasons = " | ".join(sorted(d.reason for d in hub.dead))
    # Each names the field and the contract's rule (schemas/contract.py).
    for expected in (
        "envelope.occurred_at: must not be after envelope.recorded_at",
        "envelope.event_id: must be a UUID",
        "envelope.agency: must be the agency",
        "person: must name a person",
        "person.nik_pseudonym: must be a pseudonym",
        "recruiter_ref: must be a pseudonym",
        "case_ids: each value must be a hub case id",
    ):
        assert expected in reasons
    assert "5302014101900001" not in reasons and "3456" not in reasons


def test_a_future_recorded_at_is_refused(hub):
    future = interception(6).envelope.occurred_at + timedelta(days=3650)
    hub.send(_replace_envelope(interception(6), occurred_at=future, recorded_at=future))
    assert "in the future" in hub.dead[0].reason


def test_dead_letter_reasons_never_carry_the_payload(hub):
    secret = b"\x00\x00\x00\x00\x01" + b"5302014101900001 Maria Nenobais"
    hub.process([hub.message(secret)])
    letter = hub.dead[0]
    assert "5302014101900001" not in repr(letter) and "Maria" not in repr(letter)
    assert letter.payload_bytes == len(secret)


def test_a_full_batch_of_many_people_is_folded_into_one_case_each(hub):
    events = [interception(n % 700, minutes=n) for n in range(2000)]
    result = hub.send(*events)
    assert result.stored == 2000 and len(hub.store.cases) == 700
    assert sum(c.interceptions for c in hub.store.cases.values()) == 2000


def test_without_outputs_a_rebuild_publishes_nothing():
    registry = MemoryRegistry()
    store = MemoryLedgerStore()
    pipeline = Pipeline(EventDeserializer(registry), store)
    value = EventSerializer(registry, register=True)(TOPIC, repatriation(1))
    result = pipeline.process([RawMessage(TOPIC, 0, 0, None, value)])
    assert result.alerts_raised and store.outbox == []
