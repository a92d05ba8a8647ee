"""The Kafka cluster's layout, configuration and bookkeeping, without starting Kafka: one
node as always, or three voters with replicated topics; the ports each node takes; data
formatted for another number of nodes refused with what to do; partitions dealt out to
parallel rebuild processes."""

from __future__ import annotations

import pytest
from kafka import TopicPartition

from deploy.kafka import (
    QUORUM_MARKER,
    SECURED_MARKER,
    KafkaCluster,
    KafkaConfig,
    KafkaNode,
    node_ids_on_disk,
)
from deploy.procs import StackError
from sinergi.config import ConfigError, from_env
from sinergi.rebuild import shares


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def cluster(tmp_path, count: int) -> KafkaCluster:
    cfg = KafkaConfig(tmp_path, "127.0.0.1", 19092, 19093, None, "mvn",
                      replication=min(3, count), min_insync=2 if count >= 3 else 1)  # fmt: skip
    nodes = tuple(KafkaNode(n + 1, 19092 + 2 * n, 19093 + 2 * n) for n in range(count))
    return KafkaCluster(cfg, nodes)


def test_one_node_keeps_its_own_quorum_folders_and_single_replicas(tmp_path):
    [node] = cluster(tmp_path, 1).nodes
    p = props(node.properties())
    assert p["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert "controller.quorum.voters" not in p and "min.insync.replicas" not in p
    assert p["offsets.topic.replication.factor"] == "1"
    assert (node.name, node.dir, node.pidfile.path) == (
        "kafka",
        tmp_path / "kafka",
        tmp_path / "run" / "kafka.pid",
    )


def test_three_nodes_are_voters_with_their_own_ports_folders_and_replicated_topics(tmp_path):
    nodes = cluster(tmp_path, 3).nodes
    assert [n.name for n in nodes] == ["kafka-1", "kafka-2", "kafka-3"]
    assert [n.dir.name for n in nodes] == ["kafka", "kafka-2", "kafka-3"]
    p = props(nodes[1].properties())
    assert p["node.id"] == "2"
    voters = "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    assert p["controller.quorum.voters"] == voters
    assert p["listeners"] == "SASL_PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095"
    assert p["log.dirs"] == str(tmp_path / "kafka-2" / "data")
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "default.replication.factor"):  # fmt: skip
        assert p[key] == "3", key
    assert p["min.insync.replicas"] == p["transaction.state.log.min.isr"] == "2"
    assert p["unclean.leader.election.enable"] == "false"
    # The same security on every node: SCRAM for clients and brokers, PLAIN for controllers.
    assert p["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert p["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert p["allow.everyone.if.no.acl.found"] == "false"


def test_data_formatted_for_another_number_of_nodes_is_refused_with_what_to_do(tmp_path):
    data = tmp_path / "kafka" / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("cluster.id=abc\n")
    (data / SECURED_MARKER).write_text("yes\n")  # formatted by a single node: no quorum marker
    node = cluster(tmp_path, 3).nodes[0]
    with pytest.raises(StackError, match=r"cluster of 1 node.*--brokers 1"):
        node._check_formatted()
    (data / QUORUM_MARKER).write_text("nodes=3\n")
    node._check_formatted()
    assert node.cluster_id() == "abc"
    with pytest.raises(StackError, match="cluster of 3 node"):
        cluster(tmp_path, 1).nodes[0]._check_formatted()


def test_down_and_status_find_every_node_a_home_has(tmp_path):
    assert node_ids_on_disk(tmp_path) == []
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka-3").mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "kafka-2.pid").write_text("1\n")
    assert node_ids_on_disk(tmp_path) == [1, 2, 3]


def test_clients_bootstrap_from_every_broker_and_topics_follow_the_cluster_size():
    one = from_env({"SINERGI_PORT_OFFSET": "6000"})
    assert one.bootstrap_servers == "127.0.0.1:25092"
    assert (one.kafka_replication, one.kafka_min_insync) == (1, 1)
    three = from_env({"SINERGI_PORT_OFFSET": "6000", "SINERGI_KAFKA_BROKERS": "3"})
    assert three.bootstrap_servers == "127.0.0.1:25092,127.0.0.1:25094,127.0.0.1:25096"
    assert three.kafka_nodes == [(1, 25092, 25093), (2, 25094, 25095), (3, 25096, 25097)]
    assert (three.kafka_replication, three.kafka_min_insync) == (3, 2)
    assert one.with_kafka_brokers(3).bootstrap_servers == three.bootstrap_servers


def test_a_cluster_size_out_of_range_or_with_overlapping_ports_is_refused():
    with pytest.raises(ConfigError, match="between 1 and"):
        from_env({"SINERGI_KAFKA_BROKERS": "0"})
    with pytest.raises(ConfigError, match="overlap"):
        from_env({"SINERGI_KAFKA_BROKERS": "3", "SINERGI_KAFKA_CONTROLLER_PORT": "19094"})


def test_partitions_are_dealt_out_to_rebuild_processes_about_evenly():
    until = {TopicPartition("t", p): n for p, n in enumerate([900, 500, 400, 100, 100])}
    dealt = shares(until, 2)
    assert sorted(sum(s.values()) for s in dealt) == [1000, 1000]
    assert {tp for s in dealt for tp in s} == set(until)
    assert shares(until, 1) == [until]
    assert len(shares(until, 10)) == 5  # never more processes than partitions
