"""Apache Kafka 4.1 in KRaft mode from Maven Central jars: one node (broker and controller
in one process), or a cluster of such nodes on loopback (``sinergi stack up --brokers 3``).

Every node of a cluster is both a broker and a controller: three voters keep a quorum
when one of them dies, with three processes rather than four (the machine has two
cores), and the node that is killed in the tests takes a broker and a voter down at
once. A single node uses a dynamic quorum of itself (``--standalone``); a cluster a
static one (``controller.quorum.voters``), formatted on every node with the same cluster
id and the administrator's SCRAM credential.

Node 1 keeps the single node's folders (``kafka/``, ``run/kafka.pid``, ``logs/kafka.log``);
node *n* has ``kafka-n/``, ``run/kafka-n.pid``, ``logs/kafka-n.log``.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kafka.admin import KafkaAdminClient

from deploy.procs import (
    HasArgument,
    PidFile,
    StackError,
    ensure_port_free,
    external_state,
    port_open,
    spawn,
    stop_process,
    wait_for_external,
    wait_until,
)
from deploy.secrets import ensure_password
from deploy.tools import DEPLOY_DIR, find_java, maven_classpath

POM = DEPLOY_DIR / "kafka" / "pom.xml"
ADMIN = "admin"  # the broker's own principal, and the hub administrator's
CONTROLLER = "controller"
SECURED_MARKER = "sinergi-secured"
# How many nodes the storage was formatted for (absent: one, as formatted before clusters).
QUORUM_MARKER = "sinergi-quorum"

# The authorizer's decisions have a file of their own (as in Kafka's own configuration):
# denials at INFO, with times in UTC (ISO 8601), read by `sinergi audit watch`
# (sinergi/breach.py): a denial is an access outside the ACL matrix, a suspected breach.
LOG4J2 = """\
Configuration:
  status: warn
  Appenders:
    RollingFile:
      - name: File
        fileName: "{log}"
        filePattern: "{log}.%i"
        PatternLayout: {{pattern: "[%d] %p %m (%c)%n"}}
        Policies: {{SizeBasedTriggeringPolicy: {{size: 50MB}}}}
        DefaultRolloverStrategy: {{max: 3}}
      - name: Authorizer
        fileName: "{authorizer_log}"
        filePattern: "{authorizer_log}.%i"
        PatternLayout: {{pattern: "[%d{{yyyy-MM-dd'T'HH:mm:ss.SSSXXX}}{{UTC}}] %p %m (%c)%n"}}
        Policies: {{SizeBasedTriggeringPolicy: {{size: 50MB}}}}
        DefaultRolloverStrategy: {{max: 3}}
  Loggers:
    Root: {{level: INFO, AppenderRef: [{{ref: File}}]}}
    Logger:
      - {{name: kafka.request.logger, level: WARN}}
      - {{name: org.apache.kafka.controller, level: INFO}}
      - {{name: kafka.authorizer.logger, level: INFO, additivity: false,
          AppenderRef: [{{ref: Authorizer}}]}}
"""


@dataclass(frozen=True)
class KafkaNode:
    """One node of the cluster: its id and its two loopback ports."""

    node_id: int
    port: int
    controller_port: int


@dataclass(frozen=True)
class KafkaConfig:
    home: Path
    host: str
    port: int
    controller_port: int
    java_home: Path | None
    maven: str
    node_id: int = 1
    # The whole cluster, this node included; empty: this node alone (a dynamic quorum).
    voters: tuple[KafkaNode, ...] = ()
    # Replication of the internal topics and new topics' defaults (the hub's topics are
    # created with the same figures: sinergi/bootstrap.py).
    replication: int = 1
    min_insync: int = 1

    @property
    def clustered(self) -> bool:
        return len(self.voters) > 1


def node_dir(home: Path, node_id: int) -> Path:
    return home / ("kafka" if node_id == 1 else f"kafka-{node_id}")


def main_log(home: Path, node_id: int) -> Path:
    return home / "logs" / ("kafka.log" if node_id == 1 else f"kafka-{node_id}.log")


def authorizer_log(home: Path, node_id: int) -> Path:
    """The node's authorizer decisions (denials), apart from its main log."""
    name = "kafka-authorizer.log" if node_id == 1 else f"kafka-{node_id}-authorizer.log"
    return home / "logs" / name


def node_ids_on_disk(home: Path) -> list[int]:
    """The nodes that have a folder or a pid file under ``home`` (made by an earlier
    ``stack up``, whatever the number of brokers configured now)."""
    found = {1} if (home / "kafka").exists() else set()
    for path in [*home.glob("kafka-*"), *(home / "run").glob("kafka-*.pid")]:
        match = re.fullmatch(r"kafka-(\d+)(\.pid)?", path.name)
        if match:
            found.add(int(match.group(1)))
    return sorted(found)


class KafkaService:
    """One Kafka node (broker and controller)."""

    def __init__(self, cfg: KafkaConfig) -> None:
        self.cfg = cfg
        n = cfg.node_id
        suffix = "" if n == 1 else f"-{n}"
        self.name = f"kafka-{n}" if cfg.clustered else "kafka"
        self.dir = node_dir(cfg.home, n)
        self.data = self.dir / "data"
        self.log = main_log(cfg.home, n)
        self.authorizer_log = authorizer_log(cfg.home, n)
        self.stdout = cfg.home / "logs" / f"kafka{suffix}.stdout.log"
        # Its own properties file names the node in its command line: a reused pid,
        # another node of the cluster or another home's Kafka is not taken for it.
        properties = HasArgument(str(self.dir / "server.properties"))
        self.pidfile = PidFile(cfg.home / "run" / f"kafka{suffix}.pid", properties)
        self.kafka_secrets = cfg.home / "secrets" / "kafka"

    # --- configuration ------------------------------------------------------
    def properties(self) -> str:
        """Every listener needs a login: SCRAM-SHA-512 for clients and the broker itself,
        PLAIN (a static user) on the controller listener, where KRaft cannot use SCRAM.
        The StandardAuthorizer denies whatever no ACL allows."""
        c = self.cfg
        admin = ensure_password(self.kafka_secrets, ADMIN)
        controller = ensure_password(self.kafka_secrets, CONTROLLER)
        return "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={c.node_id}",
                self._quorum(),
                f"listeners=SASL_PLAINTEXT://{c.host}:{c.port},"
                f"CONTROLLER://{c.host}:{c.controller_port}",
                f"advertised.listeners=SASL_PLAINTEXT://{c.host}:{c.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=SASL_PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,"
                "SASL_PLAINTEXT:SASL_PLAINTEXT",
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
                "sasl.mechanism.controller.protocol=PLAIN",
                "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
                "listener.name.controller.plain.sasl.jaas.config="
                "org.apache.kafka.common.security.plain.PlainLoginModule required"
                f' username="{CONTROLLER}" password="{controller}"'
                f' user_{CONTROLLER}="{controller}";',
                "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required"
                f' username="{ADMIN}" password="{admin}";',
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                f"super.users=User:{ADMIN};User:{CONTROLLER}",
                "allow.everyone.if.no.acl.found=false",
                f"log.dirs={self.data}",
                "num.partitions=6",
                *self._replication(),
                "group.initial.rebalance.delay.ms=0",
                # Topics are created explicitly (sinergi topics create), never by a typo.
                "auto.create.topics.enable=false",
                "log.retention.hours=-1",
                "",
            ]
        )

    def _quorum(self) -> str:
        c = self.cfg
        if not c.clustered:
            return f"controller.quorum.bootstrap.servers={c.host}:{c.controller_port}"
        voters = ",".join(f"{v.node_id}@{c.host}:{v.controller_port}" for v in c.voters)
        return f"controller.quorum.voters={voters}"

    def _replication(self) -> list[str]:
        """Internal topics (consumer offsets, transactions, share state) replicated like
        the hub's own; a write is acknowledged (acks=all) once ``min_insync`` replicas
        hold it, so one node may die without losing or refusing anything."""
        r, m = self.cfg.replication, self.cfg.min_insync
        lines = [
            f"offsets.topic.replication.factor={r}",
            f"share.coordinator.state.topic.replication.factor={r}",
            f"transaction.state.log.replication.factor={r}",
            f"transaction.state.log.min.isr={m}",
        ]
        if self.cfg.clustered:
            lines += [
                f"share.coordinator.state.topic.min.isr={m}",
                f"default.replication.factor={r}",
                f"min.insync.replicas={m}",
                # Only an in-sync replica may lead: an acknowledged write is never undone.
                "unclean.leader.election.enable=false",
            ]
        return lines

    def classpath(self) -> str:
        # One resolution for every node: the cache lives with node 1.
        shared = node_dir(self.cfg.home, 1) / "classpath.txt"
        return maven_classpath(self.cfg.maven, POM, shared, self.cfg.home / "logs" / "maven.log")

    def _java(self) -> Path:
        return find_java(self.cfg.java_home, min_major=17, what="Kafka")

    def _write_private(self, path: Path, text: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)

    def formatted(self) -> bool:
        return (self.data / "meta.properties").exists()

    def cluster_id(self) -> str | None:
        """The cluster id this node's storage was formatted with, if it was."""
        try:
            text = (self.data / "meta.properties").read_text()
        except OSError:
            return None
        found = re.search(r"^cluster\.id=(\S+)$", text, re.MULTILINE)
        return found.group(1) if found else None

    def prepare(self, cluster_id: str | None = None) -> None:
        """Resolve jars, write configuration, format storage once (with ``cluster_id``,
        the cluster's, or a new one for a single node)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        # It holds the broker's own passwords: readable by its owner only.
        self._write_private(self.dir / "server.properties", self.properties())
        (self.dir / "log4j2.yaml").write_text(
            LOG4J2.format(log=self.log, authorizer_log=self.authorizer_log)
        )
        classpath = self.classpath()
        if self.formatted():
            self._check_formatted()
            return
        self._format(classpath, cluster_id or _kafka_uuid(str(uuid.uuid4())))

    def _check_formatted(self) -> None:
        if not (self.data / SECURED_MARKER).exists():
            raise StackError(
                f"the Kafka data in {self.data} was created without authentication (an"
                " older version of this stack). Remove that folder (its topics are lost)"
                " or use another SINERGI_HOME, then start again."
            )
        marker = self.data / QUORUM_MARKER
        nodes = int(marker.read_text().split("=")[1]) if marker.exists() else 1
        wanted = max(1, len(self.cfg.voters))
        if nodes != wanted:
            raise StackError(
                f"the Kafka data in {self.data} belongs to a cluster of {nodes} node(s), not"
                f" {wanted}. Start it as it was (sinergi stack up --brokers {nodes}, or"
                f" SINERGI_KAFKA_BROKERS={nodes}), or remove the kafka folders of"
                f" {self.cfg.home} (their topics are lost), or use another SINERGI_HOME."
            )

    def _format(self, classpath: str, cluster_id: str) -> None:
        admin_password = ensure_password(self.kafka_secrets, ADMIN)
        # A single node is a quorum of itself; a cluster's voters are in its properties.
        quorum = [] if self.cfg.clustered else ["--standalone"]
        done = subprocess.run(
            [
                str(self._java()),
                "-cp",
                classpath,
                f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}",
                "kafka.tools.StorageTool",
                "format",
                *quorum,
                # One argument: a random id may begin with "-", which would read as an option.
                f"--cluster-id={cluster_id}",
                "--config",
                str(self.dir / "server.properties"),
                # The broker's own SCRAM user must exist before it can log in to itself.
                "--add-scram",
                f"SCRAM-SHA-512=[name={ADMIN},password={admin_password}]",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StackError(f"Kafka storage format failed: {done.stdout}{done.stderr}")
        (self.data / SECURED_MARKER).write_text("SASL/SCRAM-SHA-512 and ACLs since format\n")
        (self.data / QUORUM_MARKER).write_text(f"nodes={max(1, len(self.cfg.voters))}\n")

    # --- lifecycle ------------------------------------------------------------
    def running(self) -> int | None:
        return self.pidfile.running_pid()

    def admin(self, timeout_ms: int = 3000) -> KafkaAdminClient:
        """The administrator's client, bootstrapped from this node alone."""
        return KafkaAdminClient(
            bootstrap_servers=f"{self.cfg.host}:{self.cfg.port}",
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username=ADMIN,
            sasl_plain_password=ensure_password(self.kafka_secrets, ADMIN),
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
        )

    def ready(self) -> bool:
        """The broker answers an authenticated client: the administrator lists topics."""
        if not port_open(self.cfg.host, self.cfg.port):
            return False
        admin = self.admin()
        try:
            admin.list_topics()
        finally:
            admin.close()
        return True

    def check_ports(self) -> None:
        """Both ports free, or a StackError naming who holds one and what to change."""
        n = self.cfg.node_id
        moved = "" if n == 1 else f": {2 * (n - 1)} above node 1's"
        for port, what, variable in (
            (self.cfg.port, "Kafka", "SINERGI_KAFKA_PORT"),
            (self.cfg.controller_port, "Kafka controller", "SINERGI_KAFKA_CONTROLLER_PORT"),
        ):
            node = what if n == 1 else f"{what} of node {n}{moved}"
            ensure_port_free(self.cfg.host, port, node, variable)

    def launch(self, cluster_id: str | None = None) -> subprocess.Popen[bytes]:
        """Check its ports, prepare its storage and start the process (not waiting)."""
        self.check_ports()
        self.prepare(cluster_id)
        heap = ["-Xms256m", "-Xmx768m"] if self.cfg.clustered else ["-Xms512m", "-Xmx1g"]
        proc = spawn(
            [
                str(self._java()),
                *heap,
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}",
                "-cp",
                self.classpath(),
                "kafka.Kafka",
                str(self.dir / "server.properties"),
            ],
            self.stdout,
        )
        self.pidfile.write(proc.pid)
        return proc

    def wait_ready(self, proc: subprocess.Popen[bytes], timeout: float = 90) -> float:
        return wait_until(
            self.ready,
            timeout=timeout,
            what=self.name,
            alive=lambda: proc.poll() is None,
            log_file=self.stdout if not self.log.exists() else self.log,
        )

    def start(self) -> str:
        """Start this node (and wait until it answers). A node of a cluster answers only
        while a majority of the voters runs: start a whole cluster with KafkaCluster."""
        pid = self.running()
        if pid is not None:
            wait_until(self.ready, timeout=60, what=self.name, log_file=self.log)
            return f"already running (pid {pid})"
        cluster_id = self._cluster_id_of_peers() if self.cfg.clustered else None
        proc = self.launch(cluster_id)
        took = self.wait_ready(proc)
        return f"started (pid {proc.pid}) in {took:.1f}s on {self.cfg.host}:{self.cfg.port}"

    def _cluster_id_of_peers(self) -> str | None:
        for peer in self.cfg.voters:
            found = KafkaService(_node_config(self.cfg, peer)).cluster_id()
            if found is not None:
                return found
        return None

    def attach(self, timeout: float = 90) -> str:
        """A node started elsewhere (deploy/compose.yaml): wait until the administrator
        logs in to it with this home's password."""
        where = f"{self.cfg.host}:{self.cfg.port}"
        took = wait_for_external(self.ready, timeout=timeout, what=f"{self.name} on {where}")
        return f"external, ready on {where} after {took:.1f}s"

    def external_status(self) -> str:
        return external_state(self.ready, f"{self.cfg.host}:{self.cfg.port}")

    def stop(self) -> str:
        return stop_process(self.pidfile, timeout=90)

    def status(self) -> str:
        pid, another = self.pidfile.check()
        if pid is None:
            return self.pidfile.stopped(another)
        state = "ready" if self.ready() else "starting"
        return f"{state} (pid {pid}) on {self.cfg.host}:{self.cfg.port}"


def _node_config(cfg: KafkaConfig, node: KafkaNode) -> KafkaConfig:
    return KafkaConfig(
        home=cfg.home,
        host=cfg.host,
        port=node.port,
        controller_port=node.controller_port,
        java_home=cfg.java_home,
        maven=cfg.maven,
        node_id=node.node_id,
        voters=cfg.voters,
        replication=cfg.replication,
        min_insync=cfg.min_insync,
    )


class KafkaCluster:
    """Every Kafka node of the stack, started and stopped together. With one node it is
    exactly that node (``start``, ``stop`` and ``status`` say what it says)."""

    name = "kafka"

    def __init__(self, cfg: KafkaConfig, nodes: tuple[KafkaNode, ...]) -> None:
        self.cfg = cfg
        voters = nodes if len(nodes) > 1 else ()
        base = KafkaConfig(
            home=cfg.home,
            host=cfg.host,
            port=cfg.port,
            controller_port=cfg.controller_port,
            java_home=cfg.java_home,
            maven=cfg.maven,
            voters=voters,
            replication=cfg.replication,
            min_insync=cfg.min_insync,
        )
        self.nodes = [KafkaService(_node_config(base, node)) for node in nodes]

    def node(self, node_id: int) -> KafkaService:
        return next(n for n in self.nodes if n.cfg.node_id == node_id)

    def running(self) -> int | None:
        """Node 1's pid (what the single-node tools and tests ask for)."""
        return self.nodes[0].running()

    def classpath(self) -> str:
        """Kafka's jars (for its own tools: GetOffsetShell, ...)."""
        return self.nodes[0].classpath()

    def _java(self) -> Path:
        return self.nodes[0]._java()

    def start(self) -> str:
        if len(self.nodes) == 1:
            return self.nodes[0].start()
        ids = {n.cluster_id() for n in self.nodes} - {None}
        if len(ids) > 1:
            raise StackError(
                f"the Kafka nodes under {self.cfg.home} were formatted for different clusters"
                " (ids " + ", ".join(sorted(i for i in ids if i)) + "): remove their kafka"
                " folders (their topics are lost) or use another SINERGI_HOME"
            )
        cluster_id = ids.pop() if ids else _kafka_uuid(str(uuid.uuid4()))
        stopped = [n for n in self.nodes if n.running() is None]
        for node in stopped:  # every port checked before any node starts
            node.check_ports()
        # Every node first, then wait: a node answers only once a majority of voters runs.
        launched = {n.name: n.launch(cluster_id) for n in stopped}
        for node in self.nodes:
            if node.name in launched:
                node.wait_ready(launched[node.name])
            else:
                wait_until(node.ready, timeout=60, what=node.name, log_file=node.log)
        took = wait_until(self.complete, timeout=90, what="the Kafka cluster")
        states = ", ".join(
            f"{n.name} {'started' if n.name in launched else 'already running'}"
            f" (pid {n.running()}) on {n.cfg.host}:{n.cfg.port}"
            for n in self.nodes
        )
        return f"{states}; all {len(self.nodes)} brokers registered after {took:.1f}s"

    def complete(self) -> bool:
        """Every node is a registered broker of the cluster."""
        admin = self.nodes[0].admin()
        try:
            brokers = admin.describe_cluster()["brokers"]
        finally:
            admin.close()
        return len(brokers) >= len(self.nodes)

    def attach(self) -> str:
        """Nodes started elsewhere (deploy/compose.yaml): each answers the administrator,
        and, for a cluster, every one is a registered broker."""
        if len(self.nodes) == 1:
            return self.nodes[0].attach()
        states = ", ".join(f"{n.name} {n.attach()}" for n in self.nodes)
        took = wait_for_external(self.complete, timeout=90, what="the Kafka cluster")
        return f"{states}; all {len(self.nodes)} brokers registered after {took:.1f}s"

    def external_statuses(self) -> dict[str, str]:
        if len(self.nodes) == 1:
            return {self.name: self.nodes[0].external_status()}
        return {n.name: n.external_status() for n in self.nodes}

    def stop(self) -> str:
        """Stop every node at once (one after the other, the last ones would wait for a
        quorum that is already gone)."""
        if len(self.nodes) == 1:
            return self.nodes[0].stop()
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            done = list(pool.map(lambda n: f"{n.name} {n.stop()}", self.nodes))
        return ", ".join(done)

    def status(self) -> str:
        return "; ".join(f"{name} {state}" for name, state in self.statuses().items())

    def statuses(self) -> dict[str, str]:
        if len(self.nodes) == 1:
            return {self.name: self.nodes[0].status()}
        return {n.name: n.status() for n in self.nodes}


def _kafka_uuid(value: str) -> str:
    """Kafka cluster ids are 22-character url-safe base64 UUIDs."""
    import base64

    raw = uuid.UUID(value).bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
