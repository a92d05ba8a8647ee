"""deploy/compose.yaml, read as the apache/kafka image reads it.

No Docker engine runs where this project is tested. The image turns each ``KAFKA_``
variable into a server property (KafkaDockerWrapper.getServerConfigsFromEnv, Kafka
4.1.1): the name without ``KAFKA_``, lower case, ``_`` read as ``.``, then ``___`` as
``-`` and ``__`` as ``_``. ``KAFKA_LISTENER_NAME_SASL_PLAINTEXT_SCRAM-SHA-512_...`` had
become ``listener.name.sasl.plaintext.scram-sha-512...``, a listener that does not
exist, and the broker stopped at start: no login for SASL_PLAINTEXT. Its start script
also refused to run without ``KAFKA_OPTS`` once a listener is SASL_, the data went to
/tmp instead of the volume, and the format read a password the container did not have.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy.kafka import KafkaConfig, KafkaNode, KafkaService
from sinergi.config import REPO_ROOT

COMPOSE = REPO_ROOT / "deploy" / "compose.yaml"
# Not properties: the image leaves these out of server.properties.
NOT_PROPERTIES = {"KAFKA_OPTS", "KAFKA_HEAP_OPTS", "KAFKA_JMX_OPTS", "KAFKA_LOG4J_OPTS"}
# The cluster's containers talk on a listener of their own, which the local stack lacks.
CLUSTER_ONLY = {"listener.name.internal.scram-sha-512.sasl.jaas.config"}
# The local single node is a dynamic quorum of itself; the containers a static one.
LOCAL_ONLY = {"controller.quorum.bootstrap.servers"}


def property_name(variable: str) -> str:
    """The image's rule (KafkaDockerWrapper.getServerConfigsFromEnv in Kafka 4.1.1)."""
    key = variable.replace("KAFKA_", "", 1).lower().replace("_", ".")
    return key.replace("...", "-").replace("..", "_")


def kafka_variables() -> list[str]:
    """Every KAFKA_ variable the file sets, in any service."""
    return re.findall(r"^\s+(KAFKA_[A-Za-z0-9_-]+):", COMPOSE.read_text(), re.MULTILINE)


def block(anchor: str) -> str:
    """The lines of the mapping that ``anchor`` opens (``x-kafka-env: &kafka-env``)."""
    lines = COMPOSE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(anchor))
    indent = len(lines[start]) - len(lines[start].lstrip())
    body = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    return "\n".join(body)


def shared_environment() -> dict[str, str]:
    """The variables every Kafka container has (``x-kafka-env``), first lines of values."""
    found = re.findall(r"^  ([A-Z][A-Za-z0-9_-]*): ?(.*)$", block("&kafka-env"), re.MULTILINE)
    return dict(found)


def local_properties(tmp_path: Path, nodes: int) -> set[str]:
    voters = tuple(KafkaNode(n, 19090 + 2 * n, 19091 + 2 * n) for n in range(1, nodes + 1))
    node = KafkaService(
        KafkaConfig(
            home=tmp_path,
            host="127.0.0.1",
            port=19092,
            controller_port=19093,
            java_home=None,
            maven="mvn",
            voters=voters if nodes > 1 else (),
        )
    )
    return {line.split("=", 1)[0] for line in node.properties().splitlines() if line}


@pytest.mark.parametrize(
    ("variable", "name"),
    [  # the image's own examples (docker/examples/README.md), then ours
        ("KAFKA_ABC_DEF", "abc.def"),
        ("KAFKA_ABC__DEF", "abc_def"),
        ("KAFKA_ABC___DEF", "abc-def"),
        (
            "KAFKA_LISTENER_NAME_SASL__PLAINTEXT_SCRAM___SHA___512_SASL_JAAS_CONFIG",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config",
        ),
    ],
)
def test_the_images_rule(variable, name):
    assert property_name(variable) == name


def test_every_kafka_variable_becomes_a_property_the_local_broker_has(tmp_path):
    variables = [v for v in kafka_variables() if v not in NOT_PROPERTIES]
    assert len(variables) > 30  # the scan finds them
    known = local_properties(tmp_path, 1) | local_properties(tmp_path, 3) | CLUSTER_ONLY
    assert sorted({property_name(v) for v in variables} - known) == []


def test_the_containers_have_every_property_the_local_single_node_has(tmp_path):
    """Nothing of the local broker's security or durability is left out."""
    shared = {property_name(v) for v in shared_environment() if v.startswith("KAFKA_")}
    assert sorted(local_properties(tmp_path, 1) - LOCAL_ONLY - shared) == []


def test_the_images_start_script_finds_what_it_demands():
    """It exits unless KAFKA_OPTS is set when a listener is SASL_, and takes CLUSTER_ID."""
    env = shared_environment()
    assert "SASL_" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env.get("KAFKA_OPTS", "").strip() != ""
    assert env.get("CLUSTER_ID", "").strip() != ""


def test_each_kafka_container_keeps_its_data_in_its_volume_formatted_once():
    text = COMPOSE.read_text()
    log_dirs = shared_environment()["KAFKA_LOG_DIRS"]
    mounts = re.findall(r"volumes: \[(kafka[-\w]*):([^\]]+)\]", text)
    assert [m for _, m in mounts] == [log_dirs] * 4  # kafka, kafka-1, kafka-2, kafka-3
    start = block("command: &kafka-start")
    assert f"test -f {log_dirs}/meta.properties" in start
    assert '"log.dirs=$$KAFKA_LOG_DIRS"' in start and "exec /etc/kafka/docker/run" in start
    # Every Kafka service runs that start (no service formats the image's stock config).
    services = re.findall(r"^  (kafka[-\w]*):$", block("services:"), re.MULTILINE)
    assert services == ["kafka", "kafka-1", "kafka-2", "kafka-3"]
    assert text.count("command: *kafka-start") == 3
    assert "/opt/kafka/config/server.properties" not in text


def test_the_start_reads_only_variables_the_containers_have():
    """The format's password was read from a variable only the host had: empty inside, the
    format failed ("Empty key")."""
    read = set(re.findall(r"\$\$([A-Z_]+)", block("command: &kafka-start")))
    assert "SINERGI_KAFKA_ADMIN_PASSWORD" in read
    assert sorted(read - set(shared_environment())) == []
