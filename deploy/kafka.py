"""Apache Kafka 4.1 in KRaft mode (one node: broker + controller) from Maven Central jars."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from deploy.procs import (
    PidFile,
    StackError,
    ensure_port_free,
    pid_alive,
    port_open,
    spawn,
    terminate,
    wait_until,
)
from deploy.tools import DEPLOY_DIR, find_java, maven_classpath

POM = DEPLOY_DIR / "kafka" / "pom.xml"

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

    # --- configuration ------------------------------------------------------
    def properties(self) -> str:
        c = self.cfg
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers={c.host}:{c.controller_port}",
                f"listeners=PLAINTEXT://{c.host}:{c.port},CONTROLLER://{c.host}:{c.controller_port}",
                f"advertised.listeners=PLAINTEXT://{c.host}:{c.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
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

    def prepare(self) -> None:
        """Resolve jars, write configuration, format storage once."""
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "server.properties").write_text(self.properties())
        (self.dir / "log4j2.yaml").write_text(LOG4J2.format(log=self.log))
        classpath = self.classpath()
        if (self.data / "meta.properties").exists():
            return
        cluster_id = str(uuid.uuid4())
        done = subprocess.run(
            [
                str(self._java()),
                "-cp",
                classpath,
                f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}",
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "--cluster-id",
                _kafka_uuid(cluster_id),
                "--config",
                str(self.dir / "server.properties"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StackError(f"Kafka storage format failed: {done.stdout}{done.stderr}")

    # --- lifecycle ------------------------------------------------------------
    def running(self) -> int | None:
        return self.pidfile.running_pid()

    def ready(self) -> bool:
        """The port answers and this run's log says the server started (near its top)."""
        if not (port_open(self.cfg.host, self.cfg.port) and self.log.exists()):
            return False
        with self.log.open("rb") as head:
            return b"Kafka Server started" in head.read(8 << 20)

    def start(self) -> str:
        pid = self.running()
        if pid is not None:
            # Ours and alive: its port answering is enough (the log may have rolled over).
            wait_until(
                lambda: port_open(self.cfg.host, self.cfg.port),
                timeout=60,
                what="Kafka",
                log_file=self.log,
            )
            return f"already running (pid {pid})"
        ensure_port_free(self.cfg.host, self.cfg.port, "Kafka", "SINERGI_KAFKA_PORT")
        ensure_port_free(
            self.cfg.host,
            self.cfg.controller_port,
            "Kafka controller",
            "SINERGI_KAFKA_CONTROLLER_PORT",
        )
        self.prepare()
        # A fresh log per start, so readiness is judged on this run only.
        if self.log.exists():
            self.log.rename(self.log.with_suffix(".log.prev"))
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
        pid = self.running()
        if pid is None:
            return "not running"
        killed = terminate(pid, timeout=45)
        self.pidfile.remove()
        return "killed after timeout" if killed else "stopped"

    def status(self) -> str:
        pid = self.running()
        if pid is None:
            return "stopped"
        state = "ready" if self.ready() else "starting"
        return f"{state} (pid {pid}) on {self.cfg.host}:{self.cfg.port}"

    def alive(self) -> bool:
        pid = self.running()
        return pid is not None and pid_alive(pid)


def _kafka_uuid(value: str) -> str:
    """Kafka cluster ids are 22-character url-safe base64 UUIDs."""
    import base64

    raw = uuid.UUID(value).bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
