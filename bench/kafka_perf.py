"""The broker's own limit: Kafka's ProducerPerformance and ConsumerPerformance.

Kafka's own tools (``org.apache.kafka.tools`` in the kafka-tools jar, from the Maven
classpath in ``deploy/kafka``) on a topic of the bench's deployment with the hub's
partition count, records of the hub's mean message size (key, value and signature
headers), the producer settings of the hub's publishers (``acks=all``, idempotent,
``linger.ms=10``, 256 KB batches), logged in as the administrator (SCRAM, from a client
configuration file under the bench's home, removed afterwards). Nothing Python does
with the same broker can be faster.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kafka.admin import NewTopic

from deploy.kafka import POM
from deploy.tools import find_java, maven_classpath
from sinergi import bootstrap
from sinergi.config import Settings

PRODUCER_PROPS = {
    "acks": "all",
    "enable.idempotence": "true",
    "linger.ms": "10",
    "batch.size": str(256 * 1024),
    "max.in.flight.requests.per.connection": "5",
}


@dataclass
class Perf:
    records: int
    record_size: int
    produced_per_s: float
    produced_mb_per_s: float
    produce_latency_avg_ms: float
    consumed_per_s: float
    consumed_mb_per_s: float


def client_config(settings: Settings, folder: Path) -> Path:
    """The administrator's SCRAM login for Kafka's tools (mode 0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "admin-client.properties"
    password = bootstrap.kafka_password(settings, bootstrap.ADMIN)
    text = (
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required"
        f' username="{bootstrap.ADMIN}" password="{password}";\n'
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return path


def measure(settings: Settings, folder: Path, *, records: int, record_size: int) -> Perf:
    topic = settings.topic("bench.perf")
    with bootstrap.kafka_admin(settings) as admin:
        replicas = getattr(settings, "kafka_replication", 1)  # as the hub's topics
        admin.create_topics([NewTopic(topic, settings.topic_partitions, replicas)])
    config = client_config(settings, folder)
    try:
        produced = _tool(
            settings,
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            str(record_size),
            "--throughput",
            "-1",
            "--producer.config",
            str(config),
            "--producer-props",
            f"bootstrap.servers={settings.bootstrap_servers}",
            *(f"{k}={v}" for k, v in PRODUCER_PROPS.items()),
        )
        consumed = _tool(
            settings,
            "org.apache.kafka.tools.ConsumerPerformance",
            "--bootstrap-server",
            settings.bootstrap_servers,
            "--topic",
            topic,
            "--messages",
            str(records),
            "--consumer.config",
            str(config),
            "--group",
            f"{settings.processor_group}-perf",
            "--timeout",
            "60000",
        )
    finally:
        config.unlink(missing_ok=True)
    sent, sent_mb, latency = parse_producer(produced)
    read, read_mb = parse_consumer(consumed)
    return Perf(records, record_size, sent, sent_mb, latency, read, read_mb)


def _tool(settings: Settings, main: str, *args: str) -> str:
    java = find_java(settings.java_home, min_major=17, what="Kafka's tools")
    classpath = maven_classpath(
        settings.maven,
        POM,
        settings.home / "bench" / "kafka-classpath.txt",
        settings.home / "logs" / "maven.log",
    )
    done = subprocess.run(
        [str(java), "-Xmx512m", "-cp", classpath, main, *args],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{main} failed ({done.returncode}): {done.stderr[-1500:]}")
    return done.stdout


def parse_producer(output: str) -> tuple[float, float, float]:
    """(records/s, MB/s, average latency ms) from ProducerPerformance's last summary."""
    found = re.findall(
        r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency",
        output,
    )
    if not found:
        raise RuntimeError(f"no summary in ProducerPerformance's output: {output[-500:]}")
    _n, rate, mb, latency = found[-1]
    return float(rate), float(mb), float(latency)


def parse_consumer(output: str) -> tuple[float, float]:
    """(records/s, MB/s) of fetching, from ConsumerPerformance's CSV line (its header names
    the columns; the fetch columns leave the group's join out)."""
    lines = [line for line in output.splitlines() if line.strip()]
    header_at = next(i for i, line in enumerate(lines) if "fetch.nMsg.sec" in line)
    names = [n.strip() for n in lines[header_at].split(",")]
    values = [v.strip() for v in lines[header_at + 1].split(",")]
    row = dict(zip(names, values, strict=False))
    return float(row["fetch.nMsg.sec"]), float(row["fetch.MB.sec"])
