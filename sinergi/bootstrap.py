"""The composition root: turns :class:`~sinergi.config.Settings` into wired objects.

Nothing else builds clients or reads secrets; commands and tests ask for what
they need here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from deploy.registry import REGISTRY_USER
from deploy.secrets import read_password
from processors.alerts import AlertRules
from processors.pipeline import Outputs, Pipeline
from processors.ports import OutboxMessage
from producers.forms import Desk, desk_for
from producers.pseudonym import Pseudonymiser, load_or_create_key
from producers.publisher import Publisher, kafka_producer
from schemas import avro
from schemas.model import Agency, Event
from schemas.registry import RegistryClient
from schemas.serde import EventDeserializer, EventSerializer
from schemas.topics import ALL_TOPICS, INPUT_TOPICS, subject_for
from sinergi.config import Settings
from sinks.kafka import KafkaDeadLetters, OutboxRelay
from sinks.postgres import PostgresLedgerStore

log = logging.getLogger(__name__)


def conninfo(settings: Settings, role: str, database: str | None = None) -> str:
    """libpq connection string for one of the stack's PostgreSQL roles."""
    password = read_password(settings.secrets_dir, role)
    return (
        f"host={settings.host} port={settings.ports.postgres} "
        f"dbname={database or settings.database} user={role} password={password} "
        "connect_timeout=5 application_name=sinergi"
    )


def registry(settings: Settings) -> RegistryClient:
    """The registry client; writes (and POST lookups) need the hub's registry user."""
    return RegistryClient(
        settings.registry_url,
        auth=(REGISTRY_USER, read_password(settings.secrets_dir, "registry")),
    )


def kafka_security(settings: Settings) -> dict[str, Any]:
    """kafka-python security options (none on the plaintext local stack)."""
    return {}


def publisher(settings: Settings, client: RegistryClient | None = None) -> Publisher:
    return Publisher(
        kafka_producer(settings.bootstrap_servers, **kafka_security(settings)),
        EventSerializer(client or registry(settings)),
        settings.topic,
    )


def pseudonymiser(settings: Settings, *, create: bool = False) -> Pseudonymiser:
    return Pseudonymiser(load_or_create_key(settings.pseudonym_key_file, create=create))


def hotline_key(settings: Settings, *, create: bool = False) -> bytes:
    """The hotline's own key for reporter references: only the hotline holds it."""
    return load_or_create_key(settings.hotline_key_file, create=create)


def desk(settings: Settings, agency: Agency, place: str) -> Desk:
    """The desk of a member of the hub (see producers.forms.desk_for for places)."""
    key = hotline_key(settings) if agency is Agency.HOTLINE else None
    return desk_for(agency, place, pseudonymiser(settings), reporter_key=key)


def alert_rules(settings: Settings) -> AlertRules:
    return AlertRules(
        recruiter_people=settings.alert_recruiter_people,
        recruiter_window_days=settings.alert_recruiter_window_days,
        minor_age=settings.alert_minor_age,
        group_size=settings.alert_group_size,
        tip_match_days=settings.alert_tip_match_days,
    )


def hub_unit(settings: Settings) -> str:
    """The member id the hub's processor publishes under."""
    return "hub-processor"


@dataclass
class ProcessorParts:
    pipeline: Pipeline
    store: PostgresLedgerStore
    publisher: Publisher

    def close(self) -> None:
        self.store.close()
        self.publisher.close()


def processor_parts(settings: Settings, *, database: str | None = None) -> ProcessorParts:
    client = registry(settings)
    pub = publisher(settings, client)
    store = PostgresLedgerStore(conninfo(settings, "sinergi_processor", database))

    def encode(event: Event) -> OutboxMessage:
        return OutboxMessage(*pub.encode(event))

    pipeline = Pipeline(
        EventDeserializer(client),
        store,
        KafkaDeadLetters(pub, unit=hub_unit(settings)),
        rules=alert_rules(settings),
        outputs=Outputs(encode, OutboxRelay(store, pub.producer), hub_unit(settings)),
    )
    return ProcessorParts(pipeline, store, pub)


def input_topics(settings: Settings) -> list[str]:
    return [settings.topic(t.name) for t in INPUT_TOPICS]


@contextmanager
def kafka_admin(settings: Settings) -> Iterator[KafkaAdminClient]:
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="sinergi-admin",
        **kafka_security(settings),
    )
    try:
        yield admin
    finally:
        admin.close()


def create_topics(settings: Settings) -> list[str]:
    """Create the hub's topics (idempotent) and register their value schemas."""
    created: list[str] = []
    with kafka_admin(settings) as admin:
        existing = set(admin.list_topics())
        for spec in ALL_TOPICS:
            name = settings.topic(spec.name)
            if name in existing:
                continue
            configs = {"cleanup.policy": "compact"} if spec.compacted else {}
            try:
                admin.create_topics(
                    [NewTopic(name, settings.topic_partitions, 1, topic_configs=configs)]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass
    client = registry(settings)
    try:
        for spec in ALL_TOPICS:
            subject = subject_for(settings.topic(spec.name))
            client.register(subject, avro.load(spec.event_type).text)
            client.set_compatibility(subject, "BACKWARD")
    finally:
        client.close()
    return created
