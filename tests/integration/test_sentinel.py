"""The sentinel on the real stack (processors/sentinel.py): a child intercepted at El Tari
reaches police while the ledger has not read the record yet, and police hear of it once,
also after the ledger has read it."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer

from processors.sentinel import SentinelThread
from schemas.model import AlertRaised, AlertRule, Event
from schemas.serde import EventDeserializer
from schemas.topics import ALERTS
from sinergi import bootstrap
from sinks.prometheus import WorkerMetrics
from tests.integration.hub import Hub

pytestmark = pytest.mark.integration

CHILD_NIK = "5302014106100001"  # TTS, female, born 1 June 2010
ADULTS = [f"53710155059500{n + 10}" for n in range(10)]  # Kota Kupang, born 1995


def intercept(hub: Hub, nik: str) -> None:
    hub.cli("post", "record", "--at", "eltari", "--nik", nik, "--outcome", "SENT_HOME",
            "--officer", "ELT-07")  # fmt: skip


def on_alerts_topic(hub: Hub, *, until: int, wait_s: float) -> list[Event]:
    """What is on the deployment's alerts topic, as police read it: once ``until`` events
    are there, or ``wait_s`` has passed."""
    consumer = KafkaConsumer(
        hub.settings.topic(ALERTS.name), **hub.kafka("police-polda-ntt"),
        auto_offset_reset="earliest",
    )  # fmt: skip
    decode = EventDeserializer(bootstrap.registry_reader(hub.settings))
    found: list[Event] = []
    deadline = time.monotonic() + wait_s
    while len(found) < until and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            found += [decode(r.value).event for r in records]
    consumer.close()
    return found


def test_a_child_intercepted_reaches_police_before_the_ledger_reads_it_and_once(hub: Hub):
    metrics = WorkerMetrics()

    def seen(outcome: str) -> float:
        sample = metrics.registry.get_sample_value(
            "sinergi_sentinel_records_total", {"outcome": outcome}
        )
        return sample or 0.0

    sentinel = SentinelThread(lambda: bootstrap.sentinel_parts(hub.settings), metrics)
    sentinel.start()
    try:
        # The sentinel reads from the topics' end once it has joined its group: an adult
        # interception at a time until it has read one (and let it pass).
        adults = 0
        while seen("passed") == 0:
            assert adults < len(ADULTS), "the sentinel never read a record"
            intercept(hub, ADULTS[adults])
            adults += 1
            deadline = time.monotonic() + 5
            while seen("passed") == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
        intercept(hub, CHILD_NIK)
        [raised] = on_alerts_topic(hub, until=1, wait_s=30)
    finally:
        sentinel.stop()
    assert isinstance(raised, AlertRaised) and raised.rule is AlertRule.MINOR_INTERCEPTED
    assert hub.event_count() == 0  # no worker runs: the ledger has read nothing yet
    [(rule, withdrawn)] = hub.query("SELECT rule, withdrawn_at FROM alerts")
    assert (rule, withdrawn) == (AlertRule.MINOR_INTERCEPTED.value, None)
    assert metrics.registry.get_sample_value(
        "sinergi_sentinel_alerts_total", {"rule": AlertRule.MINOR_INTERCEPTED.value}
    )

    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == adults + 1, what="the ledger reading them")
    hub.wait_for(lambda: hub.query("SELECT count(*) FROM outbox")[0][0] == 0, what="the relay")
    [(rule, withdrawn, cases)] = hub.query("SELECT rule, withdrawn_at, case_ids FROM alerts")
    assert (rule, withdrawn) == (AlertRule.MINOR_INTERCEPTED.value, None)
    assert cases == list(raised.case_ids)
    told = on_alerts_topic(hub, until=2, wait_s=5)
    assert [e.event_id for e in told] == [raised.event_id]
