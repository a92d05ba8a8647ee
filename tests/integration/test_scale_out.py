"""Past one process and one broker: a three-broker cluster loses nothing when a broker is
killed, and two workers sharing six partitions in one consumer group build exactly the
ledger one worker builds from the same events (and a parallel rebuild agrees).

These tests run against a stack of their own (``cluster_settings``: three brokers,
replication 3, ``min.insync.replicas=2``, in ``.sinergi-test-cluster`` on ports moved by
6000), started once for the session.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from producers.amend import Correction, Retraction, amendment
from schemas.access import Role
from schemas.model import Event, InterceptionOutcome, InterceptionRecorded, RetractionReason
from sinergi import bootstrap, members, rebuild
from sinergi.config import Settings, from_env
from sinks.migrate import migrate
from tests.conftest import cluster_env
from tests.integration import faults
from tests.integration.hub import Hub, drop_hub, drop_slice_database, free_port, make_hub

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster_hub(cluster_settings: Settings) -> Iterator[Hub]:
    """A slice of the cluster's stack: its own topics (six partitions, three replicas),
    consumer group and database."""
    the_hub = make_hub(cluster_env(), SINERGI_TOPIC_PARTITIONS="6")
    yield the_hub
    drop_hub(the_hub)


def test_the_hubs_topics_have_three_replicas_and_need_two_in_sync(cluster_hub: Hub):
    from kafka.admin import ConfigResource, ConfigResourceType

    topic = cluster_hub.settings.topic("posts.interception-recorded")
    with bootstrap.kafka_admin(cluster_hub.settings) as admin:
        (described,) = admin.describe_topics([topic])
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        brokers = admin.describe_cluster()["brokers"]
    assert len(brokers) == 3
    assert len(described["partitions"]) == 6
    assert {len(p["replica_nodes"]) for p in described["partitions"]} == {3}
    assert configs["topic"][topic]["min.insync.replicas"]["value"] == "2"


def test_a_broker_killed_during_a_flow_in_a_three_broker_cluster_loses_nothing(
    cluster_hub: Hub,
):
    acc, victim = faults.cluster_broker_killed(cluster_hub, events=600, per_second=40)
    assert acc.problems == []
    assert (acc.lost, acc.duplicated) == (0, 0)
    assert acc.published == 600
    assert acc.published == acc.audited == acc.stored + acc.already_recorded + acc.dead_lettered
    assert acc.dead_lettered == 0
    # The killed broker is back and has caught up: every replica in sync again.
    cluster_hub.wait_for(lambda: not faults.under_replicated(cluster_hub), timeout=120,
                         what=f"broker {victim}'s replicas to be in sync again")  # fmt: skip


# --- two workers, one consumer group ----------------------------------------------------------


def amendments(hub: Hub, events: list[tuple[str, Event]]) -> list[tuple[str, Event]]:
    """Corrections (another outcome) of some interceptions and retractions of some other
    records, by the units that published them, keyed like their records."""
    out: list[tuple[str, Event]] = []
    interceptions = [(u, e) for u, e in events if isinstance(e, InterceptionRecorded)]
    for unit, event in interceptions[:15]:
        assert isinstance(event, InterceptionRecorded)
        outcome = (
            InterceptionOutcome.HANDED_TO_POLICE
            if event.outcome is not InterceptionOutcome.HANDED_TO_POLICE
            else InterceptionOutcome.SENT_HOME
        )
        pub = bootstrap.publisher(hub.settings, unit)
        try:
            out.append(
                (unit, pub.amendment(Correction(dataclasses.replace(event, outcome=outcome))))
            )
        finally:
            pub.close()
    others = [(u, e) for u, e in events if not isinstance(e, InterceptionRecorded)]
    for unit, event in others[:15]:
        retraction = Retraction(event.event_id, event.event_type, RetractionReason.ENTERED_IN_ERROR)
        keys = {event.event_id: event.partition_key()}
        out.append((unit, amendment(retraction, unit, lambda _: b"", keys.get)))
    return out


def start_workers(hub: Hub, count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` ledger workers in the hub's consumer group, each with its own log and
    metrics port."""
    procs = []
    for n in range(count):
        log = hub.settings.home / "logs" / f"worker-{hub.settings.processor_group}-{n}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "sinergi", "process"],
                    env=hub.env | {"SINERGI_METRICS_PORT": str(free_port())},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    hub.workers.extend(procs)
    return procs


def assignments(settings: Settings) -> list[int]:
    """How many partitions each member of the processor group holds."""
    group = settings.processor_group
    with bootstrap.kafka_admin(settings) as admin:
        described = admin.describe_groups([group])[group]
    if described["group_state"] != "Stable":
        return []
    return sorted(
        sum(
            len(a["partitions"])
            for a in (m["member_assignment"] or {}).get("assigned_partitions", [])
        )
        for m in described["members"]
    )


def same_topics_another_group(hub: Hub, name: str = "one") -> Hub:
    """Another processor on ``hub``'s topics: its own consumer group and database, the
    same vault of people (as every worker of a deployment: one subject per person)."""
    tag = hub.settings.processor_group + name
    env = hub.env | {
        "SINERGI_PROCESSOR_GROUP": tag,
        "SINERGI_DATABASE": tag,
        "SINERGI_VAULT_DATABASE": hub.settings.vault_database or hub.settings.database,
        "SINERGI_METRICS_PORT": str(free_port()),
    }
    settings = from_env(env)
    owner = bootstrap.conninfo(settings, "sinergi_owner", "sinergi")
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings.database)))
    migrate(bootstrap.conninfo(settings, "sinergi_owner"))
    members.ensure(settings, [(bootstrap.PROCESSOR_MEMBER, Role.PROCESSOR)])
    return Hub(settings, env)


def drop_database(hub: Hub) -> None:
    for proc in hub.workers:
        if proc.poll() is None:
            hub.stop_worker(proc, kill=True)
    drop_slice_database(hub.settings)


def test_two_workers_on_six_partitions_build_the_ledger_one_worker_builds(cluster_hub: Hub):
    hub = cluster_hub
    # One worker alone on the same topics, in a consumer group and database of its own.
    alone = same_topics_another_group(hub)
    try:
        start_workers(hub, 2)
        hub.wait_for(lambda: assignments(hub.settings) == [30, 30], timeout=120,
                     what="two workers sharing the 60 input partitions")  # fmt: skip
        alone.start_worker()
        events = faults.simulated_events(hub, 1500, seed=17)
        published = faults.publish_all(hub, events)
        published += faults.publish_all(hub, amendments(hub, events))
        faults.wait_processed(hub)
        faults.wait_processed(alone)
        time.sleep(hub.settings.batch_within_s + 1.5)  # the last batches' commits
        two = rebuild.snapshot(bootstrap.conninfo(hub.settings, "sinergi_owner"))
        one = rebuild.snapshot(bootstrap.conninfo(alone.settings, "sinergi_owner"))
    finally:
        drop_database(alone)

    # Both workers took part, nothing was lost or counted twice, every chain is whole.
    for n in range(2):
        log = hub.settings.home / "logs" / f"worker-{hub.settings.processor_group}-{n}.log"
        assert "batch:" in log.read_text(), f"worker {n} processed nothing"
    acc = faults.account(hub, "two workers", published)
    assert acc.problems == [] and (acc.lost, acc.duplicated) == (0, 0)
    assert acc.published == acc.stored + acc.already_recorded + acc.dead_lettered == 1530
    assert hub.cli("audit", "verify").returncode == 0
    # The same ledger: entities, holding alerts, daily metrics, events.
    assert len(two["events"]) == 1530 and len(two["cases"]) > 100
    found = rebuild.differences(two, one)
    assert found == {name: [] for name in rebuild.COMPARED}, {
        k: v[:5] for k, v in found.items() if v
    }


def test_a_rebuild_with_several_processes_equals_the_live_ledger_of_two_workers(
    cluster_hub: Hub,
):
    hub = cluster_hub
    start_workers(hub, 2)
    events = faults.simulated_events(hub, 1000, seed=29)
    faults.publish_all(hub, events)
    faults.publish_all(hub, amendments(hub, events))
    faults.wait_processed(hub)
    for workers in ("3", "1"):
        done = hub.cli("ledger", "rebuild", "--workers", workers, "--wait", "120")
        assert "identical" in done.stdout, done.stdout + done.stderr
        assert f"{workers} process(es) replayed them" in done.stdout
