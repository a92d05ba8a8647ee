"""Ordinary faults lose nothing: the database, the registry, the broker and the worker
fail while agencies publish, and every published message is accounted for afterwards
(published = stored + dead-lettered = audited, no duplicates, the ledger's figures equal
to a count of the published facts, ``sinergi audit verify`` agrees). Heavier variants:
``make chaos``."""

from __future__ import annotations

import json

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from schemas.topics import INPUT_TOPICS
from tests.integration import faults
from tests.integration.faults import assert_nothing_lost
from tests.integration.hub import Hub

pytestmark = pytest.mark.integration


def test_a_database_outage_during_a_flow_loses_no_acknowledged_event(hub: Hub):
    acc = faults.postgres_outage(hub, events=600, per_second=40, outage_s=20)
    assert_nothing_lost(acc)
    assert acc.stored == 600 and acc.dead_lettered == 0
    log = hub.worker_log.read_text()
    assert "not ready (postgres" in log  # it waited, it did not skip


def test_poison_messages_are_dead_lettered_alone_with_reasons_that_echo_nothing(hub: Hub):
    acc, reasons = faults.poison_between_valid(hub, events=60)
    assert_nothing_lost(acc)
    assert acc.dead_lettered == 5 and acc.stored == acc.published - 5
    text = " | ".join(reasons)
    for field in ("officer_ref", "exit_point", "destination_country", "recruiter_refs"):
        assert field in text
    assert faults.PLANTED_NIK not in text and faults.PLANTED_NAME not in text
    assert "\x00" not in text and "x" * 100 not in text
    assert all(len(r) <= 300 for r in reasons)
    # What an engineer reads of them (`sinergi audit dead-letters`), as the analyst: where
    # each one is, who signed it, why; nothing of the content.
    listed = [
        json.loads(line) for line in hub.cli("audit", "dead-letters", "--json").stdout.splitlines()
    ]
    assert sorted(d["reason"] for d in listed) == sorted(reasons)
    assert {d["signer"] for d in listed} == {"post-eltari", "police-polda-ntt"}
    assert all(d["topic"] and d["offset"] >= 0 for d in listed)
    table = hub.cli("audit", "dead-letters", "--limit", "2", env={"SINERGI_LANG": "en"}).stdout
    assert "the newest 2 of 5 shown" in table and faults.PLANTED_NIK not in table


def test_a_registry_down_while_the_worker_restarts_with_a_backlog_dead_letters_nothing(hub: Hub):
    acc = faults.registry_down_at_restart(hub, events=300, outage_s=8)
    assert_nothing_lost(acc)
    assert (acc.stored, acc.dead_lettered) == (300, 0)
    assert "not ready (registry" in hub.worker_log.read_text()


def test_a_broker_killed_during_a_flow_and_an_import_loses_nothing(hub: Hub):
    acc = faults.kafka_killed(hub, events=300, per_second=40, down_s=8)
    assert_nothing_lost(acc)
    assert acc.published == 340 and acc.dead_lettered == 0


def test_a_post_offline_keeps_recording_and_delivers_everything_once_reconnected(hub: Hub):
    acc = faults.post_offline(hub, events=1000)
    assert_nothing_lost(acc)
    assert acc.stored == 1000 and acc.dead_lettered == 0


def test_a_worker_killed_repeatedly_mid_batch_loses_and_doubles_nothing(hub: Hub):
    acc = faults.worker_killed(hub, events=3000, kills=3)
    assert_nothing_lost(acc)
    assert acc.stored == 3000


def test_audit_verify_finds_offsets_committed_past_unaudited_messages(hub: Hub):
    # Ten interceptions, never processed; then the processor group's offset is moved past
    # them: exactly what faust did when a batch failed (issue 7).
    events = [
        (u, e) for u, e in faults.simulated_events(hub, 200) if u.startswith("post-")
    ][:10]  # fmt: skip
    published = faults.publish_all(hub, events)
    topic = hub.settings.topic(INPUT_TOPICS[0].name)
    consumer = KafkaConsumer(
        group_id=hub.settings.processor_group, enable_auto_commit=False, **hub.kafka("admin")
    )
    try:
        ends: dict[TopicPartition, int] = {}
        for p in published:
            tp = TopicPartition(topic, p.partition)
            ends[tp] = max(ends.get(tp, 0), p.offset + 1)
        consumer.assign(list(ends))
        consumer.commit({tp: OffsetAndMetadata(end, "", -1) for tp, end in ends.items()})
    finally:
        consumer.close()
    done = hub.cli("audit", "verify", check=False)
    assert done.returncode != 0
    assert "incomplete" in done.stderr and "have no audit entry" in done.stderr
    for tp, end in ends.items():  # fresh topics: every offset from 0 is missing
        assert f"{tp.topic}[{tp.partition}]: {end} offset(s) below the committed offset" in (
            " ".join(done.stderr.split())
        )
