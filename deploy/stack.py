"""The whole local stack: PostgreSQL, Kafka, the schema registry, in that order.

``up`` is harmless when things already run; every start waits until the service
really answers; state lives under one data folder (``SINERGI_HOME``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from deploy.kafka import KafkaConfig, KafkaService
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
        self.kafka = KafkaService(
            KafkaConfig(
                home=cfg.home,
                host=cfg.host,
                port=cfg.kafka_port,
                controller_port=cfg.kafka_controller_port,
                java_home=cfg.java_home,
                maven=cfg.maven,
            )
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
        for service in reversed(self.services):
            report(f"{service.name}: {service.stop()}")

    def status(self) -> dict[str, str]:
        return {service.name: service.status() for service in self.services}
