"""Apache Kafka 4.1 in KRaft mode (one node: broker + controller) from Maven Central jars."""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from kafka.admin import KafkaAdminClient

from deploy.procs import (
    PidFile,
    StackError,
    ensure_port_free,
    port_open,
    spawn,
    stop_process,
    wait_until,
)
from deploy.secrets import ensure_password
from deploy.tools import DEPLOY_DIR, find_java, maven_classpath

POM = DEPLOY_DIR / "kafka" / "pom.xml"
ADMIN = "admin"  # the broker's own principal, and the hub administrator's
CONTROLLER = "controller"
SECURED_MARKER = "sinergi-secured"

LOG4J2 = """\
Configuration:
  status: warn
  Appenders:
    RollingFile:
      name: File
      fileName: "{log}"
      filePattern: "{log}.%i"
      PatternLayout: {{pattern: "[%d] %p %m (%c)%n"}}
      Policies: {{SizeBasedTriggeringPolicy: {{size: 50MB}}}}
      DefaultRolloverStrategy: {{max: 3}}
  Loggers:
    Root: {{level: INFO, AppenderRef: [{{ref: File}}]}}
    Logger:
      - {{name: kafka.request.logger, level: WARN}}
      - {{name: org.apache.kafka.controller, level: INFO}}
"""


@dataclass(frozen=True)
class KafkaConfig:
    home: Path
    host: str
    port: int
    controller_port: int
    java_home: Path | None
    maven: str


class KafkaService:
    name = "kafka"

    def __init__(self, cfg: KafkaConfig) -> None:
        self.cfg = cfg
        self.dir = cfg.home / "kafka"
        self.data = self.dir / "data"
        self.log = cfg.home / "logs" / "kafka.log"
        self.stdout = cfg.home / "logs" / "kafka.stdout.log"
        self.pidfile = PidFile(cfg.home / "run" / "kafka.pid", marker="kafka.Kafka")
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
                "node.id=1",
                f"controller.quorum.bootstrap.servers={c.host}:{c.controller_port}",
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
                "offsets.topic.replication.factor=1",
                "share.coordinator.state.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                # Topics are created explicitly (sinergi topics create), never by a typo.
                "auto.create.topics.enable=false",
                "log.retention.hours=-1",
                "",
            ]
        )

    def classpath(self) -> str:
        return maven_classpath(
            self.cfg.maven, POM, self.dir / "classpath.txt", self.cfg.home / "logs" / "maven.log"
        )

    def _java(self) -> Path:
        return find_java(self.cfg.java_home, min_major=17, what="Kafka")

    def _write_private(self, path: Path, text: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)

    def prepare(self) -> None:
        """Resolve jars, write configuration, format storage once."""
        self.dir.mkdir(parents=True, exist_ok=True)
        # It holds the broker's own passwords: readable by its owner only.
        self._write_private(self.dir / "server.properties", self.properties())
        (self.dir / "log4j2.yaml").write_text(LOG4J2.format(log=self.log))
        classpath = self.classpath()
        if (self.data / "meta.properties").exists():
            if not (self.data / SECURED_MARKER).exists():
                raise StackError(
                    f"the Kafka data in {self.data} was created without authentication (an"
                    " older version of this stack). Remove that folder (its topics are lost)"
                    " or use another SINERGI_HOME, then start again."
                )
            return
        cluster_id = str(uuid.uuid4())
        admin_password = ensure_password(self.kafka_secrets, ADMIN)
        done = subprocess.run(
            [
                str(self._java()),
                "-cp",
                classpath,
                f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}",
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                # One argument: a random id may begin with "-", which would read as an option.
                f"--cluster-id={_kafka_uuid(cluster_id)}",
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

    # --- lifecycle ------------------------------------------------------------
    def running(self) -> int | None:
        return self.pidfile.running_pid()

    def ready(self) -> bool:
        """The broker answers an authenticated client: the administrator lists topics."""
        if not port_open(self.cfg.host, self.cfg.port):
            return False
        admin = KafkaAdminClient(
            bootstrap_servers=f"{self.cfg.host}:{self.cfg.port}",
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username=ADMIN,
            sasl_plain_password=ensure_password(self.kafka_secrets, ADMIN),
            bootstrap_timeout_ms=3000,
            request_timeout_ms=3000,
        )
        try:
            admin.list_topics()
        finally:
            admin.close()
        return True

    def start(self) -> str:
        pid = self.running()
        if pid is not None:
            wait_until(self.ready, timeout=60, what="Kafka", log_file=self.log)
            return f"already running (pid {pid})"
        ensure_port_free(self.cfg.host, self.cfg.port, "Kafka", "SINERGI_KAFKA_PORT")
        ensure_port_free(
            self.cfg.host,
            self.cfg.controller_port,
            "Kafka controller",
            "SINERGI_KAFKA_CONTROLLER_PORT",
        )
        self.prepare()
        proc = spawn(
            [
                str(self._java()),
                "-Xms512m",
                "-Xmx1g",
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
        took = wait_until(
            self.ready,
            timeout=90,
            what="Kafka",
            alive=lambda: proc.poll() is None,
            log_file=self.stdout if not self.log.exists() else self.log,
        )
        return f"started (pid {proc.pid}) in {took:.1f}s on {self.cfg.host}:{self.cfg.port}"

    def stop(self) -> str:
        return stop_process(self.pidfile, timeout=90)

    def status(self) -> str:
        pid = self.running()
        if pid is None:
            return "stopped"
        state = "ready" if self.ready() else "starting"
        return f"{state} (pid {pid}) on {self.cfg.host}:{self.cfg.port}"


def _kafka_uuid(value: str) -> str:
    """Kafka cluster ids are 22-character url-safe base64 UUIDs."""
    import base64

    raw = uuid.UUID(value).bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
