"""The whole local stack: PostgreSQL, Kafka (one node or a cluster), the schema registry,
in that order.

``up`` is harmless when things already run; every start waits until the service
really answers; state lives under one data folder (``SINERGI_HOME``). ``down`` and
``status`` handle every Kafka node the folder has, whatever number is configured now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from deploy.kafka import KafkaCluster, KafkaConfig, KafkaNode
from deploy.postgres import PostgresConfig, PostgresService
from deploy.registry import RegistryConfig, RegistryService


class Service(Protocol):
    name: str

    def start(self) -> str: ...

    def stop(self) -> str: ...

    def status(self) -> str: ...


@dataclass(frozen=True)
class StackConfig:
    home: Path
    host: str
    kafka_port: int
    kafka_controller_port: int
    postgres_port: int
    registry_port: int
    database: str
    java_home: Path | None
    registry_java_home: Path | None
    maven: str
    pg_bindir: Path | None
    # The Kafka nodes to start (empty: one node on kafka_port and kafka_controller_port),
    # and the nodes found under ``home`` (stopped and shown too).
    kafka_nodes: tuple[KafkaNode, ...] = ()
    kafka_nodes_on_disk: tuple[KafkaNode, ...] = ()
    kafka_replication: int = 1
    kafka_min_insync: int = 1


class Stack:
    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.postgres = PostgresService(
            PostgresConfig(
                home=cfg.home,
                host=cfg.host,
                port=cfg.postgres_port,
                bindir=cfg.pg_bindir,
                database=cfg.database,
            )
        )
        kafka = KafkaConfig(
            home=cfg.home,
            host=cfg.host,
            port=cfg.kafka_port,
            controller_port=cfg.kafka_controller_port,
            java_home=cfg.java_home,
            maven=cfg.maven,
            replication=cfg.kafka_replication,
            min_insync=cfg.kafka_min_insync,
        )
        nodes = cfg.kafka_nodes or (KafkaNode(1, cfg.kafka_port, cfg.kafka_controller_port),)
        self.kafka = KafkaCluster(kafka, nodes)
        every = {n.node_id: n for n in (*cfg.kafka_nodes_on_disk, *nodes)}
        # What down and status see: the configured nodes and any other this home has.
        self.kafka_every = (
            KafkaCluster(kafka, tuple(every[i] for i in sorted(every)))
            if len(every) > len(nodes)
            else self.kafka
        )
        self.registry = RegistryService(
            RegistryConfig(
                home=cfg.home,
                host=cfg.host,
                port=cfg.registry_port,
                java_home=cfg.registry_java_home or cfg.java_home,
                maven=cfg.maven,
            )
        )

    @property
    def services(self) -> list[Service]:
        return [self.postgres, self.kafka, self.registry]

    def up(self, report: Callable[[str], None] = print) -> None:
        self.cfg.home.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            report(f"{service.name}: starting ...")
            report(f"{service.name}: {service.start()}")

    def down(self, report: Callable[[str], None] = print) -> None:
        stopping: list[Service] = [self.registry, self.kafka_every, self.postgres]
        for service in stopping:
            report(f"{service.name}: {service.stop()}")

    def status(self) -> dict[str, str]:
        return {
            self.postgres.name: self.postgres.status(),
            **self.kafka_every.statuses(),
            self.registry.name: self.registry.status(),
        }
