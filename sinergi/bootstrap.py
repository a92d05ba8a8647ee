"""The composition root: turns :class:`~sinergi.config.Settings` into wired objects.

Nothing else builds clients or reads secrets; commands and tests ask for what
they need here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from kafka import KafkaConsumer
from kafka import errors as kafka_errors
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from psycopg import sql
from psycopg.types.json import Jsonb

from deploy.procs import StackError
from deploy.registry import REGISTRY_USER
from deploy.secrets import ensure_password, read_password
from processors.ahead import Helper
from processors.alerts import RECORD_ALERTING, AlertRules
from processors.authenticity import Authenticator, signed_at
from processors.people import People
from processors.person_rules import PersonRules
from processors.pipeline import Outputs, Pipeline, Security
from processors.ports import LedgerStore, OutboxMessage, outbox_message
from processors.sentinel import Sentinel
from processors.vault import VaultKeys
from processors.worker import WorkerConfig
from producers.forms import Desk, desk_for
from producers.outbox import DeskOutbox, RememberedSchemas
from producers.pseudonym import Pseudonymiser, load_or_create_key
from producers.publisher import RECONNECT_BACKOFF_MAX_MS, Producer, Publisher, kafka_producer
from producers.sealing import PersonSealer, SealingSerializer
from producers.signing import Signer
from schemas import avro, crypto
from schemas.access import Role, role_of_unit, writes
from schemas.crypto import CryptoError, signing_private
from schemas.directory import Directory, DirectoryError, DirectoryUnavailableError
from schemas.directory import load as load_directory
from schemas.model import Agency, Event
from schemas.person_seal import INTAKE_ROLE, desk_seal_secret
from schemas.registry import GivenSchemas, RegistryClient, SchemaRegistry
from schemas.serde import EventDeserializer, EventSerializer, Serializer
from schemas.topics import ALL_TOPICS, BY_EVENT_TYPE, INPUT_TOPICS, subject_for
from sinergi.config import Settings
from sinks.kafka import OutboxRelay, send_all
from sinks.postgres import PostgresLedgerStore
from sinks.vault import PostgresVault

if TYPE_CHECKING:  # the browser application's parts, imported where they are wired
    from sinergi.web.ledger import LedgerReader
    from sinergi.web.notifier import NotificationStore, Notifier, NotifierLoop
    from sinergi.web.officers import PostgresOfficerStore
    from sinergi.web.services import WebServices

log = logging.getLogger(__name__)


def conninfo(settings: Settings, role: str, database: str | None = None) -> str:
    """libpq connection string for one of the stack's PostgreSQL roles."""
    password = read_password(settings.secrets_dir, role)
    return (
        f"host={settings.host} port={settings.ports.postgres} "
        f"dbname={database or settings.database} user={role} password={password} "
        "connect_timeout=5 application_name=sinergi"
    )


PROCESSOR_MEMBER = "hub-processor"
ADMIN = "admin"


def registry(settings: Settings) -> RegistryClient:
    """The registry client of the hub's administrator (may register schemas)."""
    return RegistryClient(
        settings.registry_url,
        auth=(REGISTRY_USER, read_password(settings.secrets_dir, "registry")),
    )


def registry_reader(settings: Settings) -> RegistryClient:
    """A registry client that only reads: what every member and processor uses."""
    return RegistryClient(settings.registry_url)


def kafka_password(settings: Settings, principal: str) -> str:
    return read_password(settings.kafka_credentials_dir, principal)


def kafka_security(settings: Settings, principal: str) -> dict[str, Any]:
    """kafka-python options to authenticate as ``principal`` (SASL/SCRAM-SHA-512)."""
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": principal,
        "sasl_plain_password": kafka_password(settings, principal),
    }


def kafka_client(settings: Settings, principal: str) -> dict[str, Any]:
    """kafka-python options of a consumer or admin client of the hub's: authenticated as
    ``principal``, and back within 5 s of a broker's return (kafka-python waits up to 30 s
    between attempts to reach one; its producers get the same from ``kafka_producer``)."""
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
        **kafka_security(settings, principal),
    }


def signer(settings: Settings, member_id: str) -> Signer:
    """A member's signer; its private key lives with the member (here: the secrets folder)."""
    path = settings.keys_dir / f"{member_id}.signing.key"
    try:
        return Signer(member_id, signing_private(path))
    except CryptoError:
        raise StackError(
            f"no signing key for {member_id}: add the member first"
            f" (sinergi agency add {member_id} --role ...)"
        ) from None


def publisher(
    settings: Settings, member_id: str, client: RegistryClient | None = None
) -> Publisher:
    """A publisher that authenticates and signs as ``member_id`` and sends directly (the
    hub's own, tools and tests; desks use :func:`desk_publisher`). It connects to Kafka
    when it first sends."""
    security = kafka_security(settings, member_id)
    return Publisher(
        lambda: kafka_producer(settings.bootstrap_servers, **security),
        sealing(settings, EventSerializer(client or registry_reader(settings)), member_id),
        settings.topic,
        signer(settings, member_id),
    )


def person_sealer(settings: Settings, member_id: str) -> PersonSealer:
    """A member's sealing of people to the hub's current intake key (read from the member
    directory, at most once a second), the same fact always to the same bytes (a secret
    derived from the member's own signing key)."""
    cache = DirectoryCache(settings)
    raw = signing_private(settings.keys_dir / f"{member_id}.signing.key").private_bytes_raw()
    return PersonSealer(lambda: cache().sealing_keys.get(INTAKE_ROLE), desk_seal_secret(raw))


def sealing(settings: Settings, inner: Serializer, member_id: str) -> SealingSerializer:
    """A member's serializer, sealing every person (:func:`person_sealer`) before encoding."""
    return SealingSerializer(inner, person_sealer(settings, member_id))


class IntakeKeys:
    """The hub's private intake keys by key id, read once; a retired key (its file
    deleted: ``sinergi agency retire-intake``) stops opening within a second."""

    def __init__(self, settings: Settings, *, recheck_s: float = 1.0) -> None:
        self.folder = settings.intake_keys_dir
        self.recheck_s = recheck_s
        self._keys: dict[str, tuple[X25519PrivateKey, float]] = {}

    def __call__(self, kid: str) -> X25519PrivateKey | None:
        now = time.monotonic()
        found = self._keys.get(kid)
        if found is not None and now - found[1] < self.recheck_s:
            return found[0]
        path = self.folder / f"{kid}.key"
        if not path.exists():
            self._keys.pop(kid, None)
            return None
        key = found[0] if found is not None else crypto.sealing_private(path)
        self._keys[kid] = (key, now)
        return key


def desk_outbox(settings: Settings, unit: str) -> DeskOutbox:
    """The outbox of a member's desk on this machine (made on first use)."""
    return DeskOutbox.for_unit(settings.desk_dir, unit)


def desk_units(settings: Settings, agency: Agency) -> list[str]:
    """The units of ``agency`` that have an outbox on this machine."""
    return [u for u in DeskOutbox.units(settings.desk_dir) if u.startswith(f"{agency.value}-")]


def desk_publisher(settings: Settings, unit: str) -> Publisher:
    """The publisher of a member's desk: what it records is kept in the desk's outbox
    first, then delivered; the schema ids it looked up are remembered there too, so the
    desk records while the hub cannot be reached. What waited longer than half the
    replay window is signed again before it is sent."""
    security = kafka_security(settings, unit)
    sign = signer(settings, unit)
    connect_ms = settings.desk_connect_timeout_s * 1000
    # A desk gives up on an unreachable hub sooner than kafka-python's 30 s and 60 s.
    options = {"bootstrap_timeout_ms": connect_ms, "max_block_ms": connect_ms, **security}
    outbox = desk_outbox(settings, unit)
    return Publisher(
        lambda: kafka_producer(settings.bootstrap_servers, **options),
        sealing(settings, desk_schemas(settings, outbox, unit), unit),
        settings.topic,
        sign,
        outbox=outbox,
        replay_window=timedelta(hours=settings.replay_window_hours),
    )


def desk_schemas(settings: Settings, outbox: DeskOutbox, unit: str) -> EventSerializer:
    """A desk's encoding (before sealing): the schema ids it looked up are kept in its
    outbox, so that it still frames events while the hub cannot be reached; the first
    time the registry answers, the ids of everything ``unit`` may publish are kept."""
    role = role_of_unit(unit)
    every = [
        (subject_for(settings.topic(spec.name), name), avro.load(name).text)
        for spec in (writes(role) if role is not None else [])
        for name in spec.event_types
    ]
    return EventSerializer(RememberedSchemas(outbox, registry_reader(settings), every))


def desk_encoder(settings: Settings, unit: str, schemas: GivenSchemas) -> Publisher:
    """A desk's publisher in one of its helper processes (:mod:`sinergi.desk_pool`): it
    seals, encodes and signs as :func:`desk_publisher` does, with the schema ids the
    command looked up (``schemas``), and never sends: the command keeps and delivers."""

    def no_producer() -> Producer:
        raise RuntimeError("a desk's helper process encodes and signs; it never sends")

    return Publisher(
        no_producer,
        sealing(settings, EventSerializer(schemas), unit),
        settings.topic,
        signer(settings, unit),
        replay_window=timedelta(hours=settings.replay_window_hours),
    )


class DirectoryCache:
    """The member directory, read again whenever its file changes (members added or
    revoked while the processor runs). A directory that cannot be read or trusted is a
    fault of the hub, not of the message being checked: DirectoryUnavailableError."""

    def __init__(self, settings: Settings, *, recheck_s: float = 1.0) -> None:
        self.settings = settings
        self.recheck_s = recheck_s
        self._stamp: float | None = None
        self._checked = 0.0
        self._directory: Directory | None = None

    def __call__(self) -> Directory:
        # A look at the file at most once a second, not once per message.
        now = time.monotonic()
        if self._directory is not None and now - self._checked < self.recheck_s:
            return self._directory
        self._checked = now
        path = self.settings.directory_file
        try:
            stamp = path.stat().st_mtime
        except OSError:
            raise DirectoryUnavailableError(f"no member directory at {path}") from None
        if self._directory is None or stamp != self._stamp:
            try:
                self._directory = directory(self.settings)
            except DirectoryError as exc:
                raise DirectoryUnavailableError(str(exc)) from exc
            self._stamp = stamp
        return self._directory


def directory(settings: Settings) -> Directory:
    """The member directory, its signature checked against the trust anchor."""
    try:
        anchor = crypto.signing_key_from(settings.directory_anchor_file.read_text().strip())
    except (OSError, CryptoError):
        raise DirectoryError(
            f"no trust anchor at {settings.directory_anchor_file}: run `sinergi stack up`"
        ) from None
    return load_directory(settings.directory_file, anchor)


def pseudonymiser(settings: Settings, *, create: bool = False) -> Pseudonymiser:
    return Pseudonymiser(load_or_create_key(settings.pseudonym_key_file, create=create))


def vault_keys(settings: Settings, *, create: bool = True) -> VaultKeys:
    """The hub's vault secrets (made on first use: a fresh deployment's first intake)."""
    return VaultKeys(
        kek=crypto.secret_key(settings.vault_dir / "kek.key", create=create),
        lookup_key=crypto.secret_key(settings.vault_dir / "lookup.key", create=create),
    )


def vault(
    settings: Settings, role: str = "sinergi_processor", *, create: bool = True
) -> PostgresVault:
    """The vault of people (subject ids, data keys, sealed fields) as ``role``: the
    processor keeps, an administrator (``sinergi_owner``) erases, the analyst only finds.
    ``create``: make the vault's secrets if missing (the hub's setup and processor only)."""
    where = conninfo(settings, role, settings.vault_database)
    return PostgresVault(where, vault_keys(settings, create=create))


def hotline_key(settings: Settings, *, create: bool = False) -> bytes:
    """The hotline's own key for reporter references: only the hotline holds it."""
    return load_or_create_key(settings.hotline_key_file, create=create)


def desk(settings: Settings, agency: Agency, place: str) -> Desk:
    """The desk of a member of the hub (see producers.forms.desk_for for places)."""
    key = hotline_key(settings) if agency is Agency.HOTLINE else None
    found = desk_for(agency, place, pseudonymiser(settings), reporter_key=key)
    police = directory(settings).sealing_keys.get(Role.POLICE.value)
    return replace(found, police_sealing_key=police)


def alert_rules(settings: Settings) -> AlertRules:
    """The rules' thresholds; ``person`` (the age thresholds) is also what the ledger's
    fold and the metrics use, through the pipeline: one source for all three."""
    return AlertRules(
        recruiter_people=settings.alert_recruiter_people,
        recruiter_window_days=settings.alert_recruiter_window_days,
        group_size=settings.alert_group_size,
        tip_match_days=settings.alert_tip_match_days,
        person=PersonRules(
            minor_age=settings.alert_minor_age,
            min_migrant_work_age=settings.min_migrant_work_age,
        ),
        grace=timedelta(hours=settings.alert_grace_hours),
    )


# The settings the ledger is derived with: a rebuild must use the live processor's.
RULE_SETTINGS = (
    "alert_recruiter_people",
    "alert_recruiter_window_days",
    "alert_group_size",
    "alert_tip_match_days",
    "alert_minor_age",
    "min_migrant_work_age",
    "alert_grace_hours",
)


def record_rules(settings: Settings, database: str | None = None) -> None:
    """Write the rules' settings this processor derives the ledger with (table
    ledger_rules), for a rebuild to derive with the same ones. Best effort: a database
    out of reach now is logged, the processor's own retries deal with the outage."""
    value = {name: getattr(settings, name) for name in RULE_SETTINGS}
    try:
        with psycopg.connect(conninfo(settings, "sinergi_processor", database)) as conn:
            conn.execute(
                "INSERT INTO ledger_rules (name, value) VALUES ('alert_rules', %s)"
                " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                (Jsonb(value),),
            )
    except psycopg.Error as exc:
        log.warning("could not record the rules' settings: %s", type(exc).__name__)


def with_live_rules(settings: Settings) -> tuple[Settings, list[str]]:
    """``settings`` with the rules' settings the live processor recorded, and each one
    that differs from ``settings`` as "name: ours -> live's" (none recorded: unchanged)."""
    with psycopg.connect(conninfo(settings, "sinergi_owner")) as conn:
        row = conn.execute("SELECT value FROM ledger_rules WHERE name = 'alert_rules'").fetchone()
    if row is None:
        return settings, []
    live = {k: int(v) for k, v in row[0].items() if k in RULE_SETTINGS}
    changed = [
        f"{k}: {getattr(settings, k)} -> {v}" for k, v in live.items() if getattr(settings, k) != v
    ]
    return settings.with_overrides(**live), changed


@dataclass
class ProcessorParts:
    pipeline: Pipeline
    store: PostgresLedgerStore
    publisher: Publisher

    def close(self) -> None:
        self.store.close()
        self.publisher.close()
        self.pipeline.close()


def ledger_pipeline(
    settings: Settings,
    store: LedgerStore,
    client: SchemaRegistry,
    outputs: Outputs | None = None,
    *,
    database: str | None = None,
) -> Pipeline:
    """The one way the ledger's pipeline is built: live, rebuild and tests trust exactly
    the same things (signatures, signers, freshness, the contract, the rules). A rebuild
    differs only in publishing nothing (``outputs`` None). People are resolved through
    the vault (``SINERGI_VAULT_DATABASE``, else the ledger's ``database``) as the
    processor role."""
    where = conninfo(settings, "sinergi_processor", settings.vault_database or database)
    people = People(PostgresVault(where, vault_keys(settings)), IntakeKeys(settings))
    return Pipeline(
        EventDeserializer(client),
        store,
        rules=alert_rules(settings),
        outputs=outputs,
        security=security(settings),
        topic_prefix=settings.topic_prefix,
        people=people,
    )


def helper_pipeline(settings: Settings, database: str | None = None) -> Pipeline:
    """The live pipeline as the worker's helper process builds it (:mod:`processors.ahead`):
    the same trust and the same relay, for :meth:`Pipeline.prepare` and
    :meth:`Pipeline.publish_pending` only."""
    return processor_parts(settings, database=database, record=False).pipeline


def helper(settings: Settings, database: str | None = None) -> Helper | None:
    """The live worker's helper process, unless ``SINERGI_HELPER=0``."""
    return Helper(helper_pipeline, settings, database) if settings.helper > 0 else None


def sentinel_parts(settings: Settings) -> tuple[Sentinel, KafkaConsumer, Callable[[], None]]:
    """The processor's sentinel (:mod:`processors.sentinel`): a pipeline built like the
    worker's, so it trusts exactly what the ledger will; its consumer on the topics of
    records that alert on their own, in its own group, from their end; and how to let go
    of both."""
    parts = processor_parts(settings, record=False)
    producer = parts.publisher

    def send(events: Sequence[Event]) -> None:
        send_all(producer.producer, [outbox_message(m) for m in producer.encode_all(events)])

    found = Sentinel(
        parts.pipeline,
        parts.store,
        send,
        EventDeserializer(registry_reader(settings)).decode_dict,
        rules=alert_rules(settings),
        unit=PROCESSOR_MEMBER,
        max_age_s=settings.sentinel_max_age_s,
    )
    topics = sorted({settings.topic(BY_EVENT_TYPE[t].name) for t in RECORD_ALERTING})
    consumer = KafkaConsumer(
        *topics,
        group_id=settings.sentinel_group,
        client_id=settings.sentinel_group,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        # Partition by partition across the topics: several workers' sentinels each
        # hold some as long as there are no more of them than partitions.
        partition_assignment_strategy=(RoundRobinPartitionAssignor,),
        **kafka_client(settings, PROCESSOR_MEMBER),
    )
    return found, consumer, parts.close


def hub_publisher(settings: Settings, client: RegistryClient | None = None) -> Publisher:
    """The hub's own publisher, as the processor publishes its outputs: its member
    (:data:`PROCESSOR_MEMBER`), Kafka credential and signing key, events encoded as they
    are (not sealed). It connects to Kafka when it first sends."""
    options = {
        # The relay gives up on an unreachable broker after 10 s (the outbox keeps it).
        "max_block_ms": 10_000,
        **kafka_security(settings, PROCESSOR_MEMBER),
    }
    return Publisher(
        lambda: kafka_producer(settings.bootstrap_servers, **options),
        EventSerializer(client or registry_reader(settings)),
        settings.topic,
        signer(settings, PROCESSOR_MEMBER),
    )


def processor_parts(
    settings: Settings, *, database: str | None = None, record: bool = True
) -> ProcessorParts:
    """The live processor's pipeline: PostgreSQL as the processor role, its outputs
    relayed to Kafka from the outbox after each commit. ``record``: write down the rules
    it derives with (the worker does; its helper process need not again)."""
    client = registry_reader(settings)
    pub = hub_publisher(settings, client)
    store = PostgresLedgerStore(conninfo(settings, "sinergi_processor", database))
    if record:
        record_rules(settings, database)

    def encode(event: Event) -> OutboxMessage:
        return outbox_message(pub.encode(event))

    def encode_all(events: Sequence[Event]) -> list[OutboxMessage]:
        return [outbox_message(m) for m in pub.encode_all(events)]

    relay = OutboxRelay(store, lambda: pub.producer)
    outputs = Outputs(encode, relay, PROCESSOR_MEMBER, encode_all)
    pipeline = ledger_pipeline(settings, store, client, outputs, database=database)
    return ProcessorParts(pipeline, store, pub)


def security(settings: Settings) -> Security:
    return Security(
        authenticate=Authenticator(DirectoryCache(settings), settings.topic_prefix),
        max_age=timedelta(hours=settings.replay_window_hours),
        signed_at=signed_at,
    )


def worker_config(settings: Settings) -> WorkerConfig:
    """The live worker's consumer: its group, topics, batches and credentials."""
    return WorkerConfig(
        group=settings.processor_group,
        bootstrap_servers=settings.bootstrap_servers,
        topics=input_topics(settings),
        batch_max=settings.batch_max,
        batch_within_s=settings.batch_within_s,
        security=kafka_security(settings, PROCESSOR_MEMBER),
        lookahead=settings.lookahead,
        timer_s=settings.timer_s,
    )


def input_topics(settings: Settings) -> list[str]:
    return [settings.topic(t.name) for t in INPUT_TOPICS]


@contextmanager
def kafka_admin(settings: Settings) -> Iterator[KafkaAdminClient]:
    admin = KafkaAdminClient(client_id="sinergi-admin", **kafka_client(settings, ADMIN))
    try:
        yield admin
    finally:
        admin.close()


def create_topics(settings: Settings) -> list[str]:
    """Create the hub's topics (idempotent) and register their value schemas."""
    created: list[str] = []
    with kafka_admin(settings) as admin:
        existing = set(admin.list_topics())
        missing = []
        for spec in ALL_TOPICS:
            name = settings.topic(spec.name)
            if name in existing:
                continue
            # The broker stamps each message with its own clock (a producer cannot
            # backdate one): what the processor's replay check relies on.
            configs = {"message.timestamp.type": "LogAppendTime"}
            if spec.compacted:
                configs["cleanup.policy"] = "compact"
            if settings.kafka_replication > 1:
                # acks=all then waits for this many replicas: one broker may die.
                configs["min.insync.replicas"] = str(settings.kafka_min_insync)
            missing.append(
                NewTopic(
                    name,
                    settings.topic_partitions,
                    settings.kafka_replication,
                    topic_configs=configs,
                )
            )
        if missing:
            # One request for them all: a request per topic waited on the controller for
            # each (0.7 s against 0.07 s for the hub's 13 topics, on every test's hub).
            reply = admin.create_topics(missing, raise_errors=False)
            for topic in reply["topics"]:
                error = kafka_errors.for_code(topic["error_code"])
                if error is kafka_errors.NoError:
                    created.append(topic["name"])
                elif error is not kafka_errors.TopicAlreadyExistsError:  # made meanwhile
                    raise error(f"creating topic {topic['name']}: {topic['error_message']}")
    client = registry(settings)
    try:
        for spec in ALL_TOPICS:
            for event_type in spec.event_types:
                subject = subject_for(settings.topic(spec.name), event_type)
                client.register(subject, avro.load(event_type).text)
                client.set_compatibility(subject, "BACKWARD")
    finally:
        client.close()
    return created


# --- the browser application (sinergi/web) ---------------------------------------------------

WEB_ROLE = "sinergi_web"


def ensure_web_role(settings: Settings) -> None:
    """The PostgreSQL role of the browser application (made once, as the superuser at
    set-up: sinergi_owner may not create roles), and its rights in this database once
    migration 0009 is applied (sinergi_web_grants())."""
    password = ensure_password(settings.secrets_dir, WEB_ROLE)
    superuser = conninfo(settings, "postgres", "postgres")
    with psycopg.connect(superuser, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (WEB_ROLE,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEROLE PASSWORD {}").format(
                sql.SQL(verb), sql.Identifier(WEB_ROLE), sql.Literal(password)
            )
        )
    with psycopg.connect(conninfo(settings, "postgres"), autocommit=True) as conn:
        found = conn.execute("SELECT to_regproc('sinergi_web_grants') IS NOT NULL").fetchone()
        if found and found[0]:
            conn.execute("SELECT sinergi_web_grants()")


def web_conninfo(settings: Settings) -> str:
    return conninfo(settings, WEB_ROLE)


def officer_store(settings: Settings) -> PostgresOfficerStore:
    from sinergi.web.officers import PostgresOfficerStore

    return PostgresOfficerStore(web_conninfo(settings))


def notification_store(settings: Settings) -> NotificationStore:
    from sinergi.web.notifier import NotificationStore

    return NotificationStore(web_conninfo(settings))


def ledger_reader(settings: Settings) -> LedgerReader:
    """The ledger as the analyst reads it; a NIK typed in a case search is found the one
    way (:func:`sinergi.views.case_of_nik`: pseudonymised with the members' shared key,
    looked up in the vault, of which the analyst may read nothing else)."""
    from sinergi import views
    from sinergi.web.ledger import LedgerReader

    names = pseudonymiser(settings)

    def case_of_nik(nik: str) -> str:
        return views.case_of_nik(settings, nik, names)

    return LedgerReader(conninfo(settings, "sinergi_analyst"), case_of_nik)


def web_services(settings: Settings) -> WebServices:
    """Everything the browser application's pages use, on the real stack."""
    from sinergi.web import dashboard as web_dashboard
    from sinergi.web.desk import Recorder
    from sinergi.web.officers import LoginPolicy
    from sinergi.web.services import WebServices
    from sinergi.web.sessions import SessionStore
    from sinergi.web.uploads import Uploads

    reader = ledger_reader(settings)
    recorder = Recorder(settings)
    analyst = conninfo(settings, "sinergi_analyst")
    return WebServices(
        settings=settings,
        officers=officer_store(settings),
        sessions=SessionStore(settings.web_session_minutes),
        policy=LoginPolicy(
            failures=settings.web_lockout_failures,
            lock_for=timedelta(minutes=settings.web_lockout_minutes),
        ),
        ledger=reader,
        recorder=recorder,
        uploads=Uploads(recorder, settings.home / "web" / "uploads"),
        read_dashboard=lambda: web_dashboard.read(analyst),
        checks=lambda: web_dashboard.health(settings, reader.ping),
        lag=lambda: web_dashboard.lag(settings),
        opener=police_contact_opener(settings),
    )


def police_contact_opener(settings: Settings) -> Callable[[str], str]:
    """Opens recruiter contacts sealed for police (sinergi.police.contact_opener), made
    when first used, so that a web app without the police key still serves the others."""
    from sinergi import police

    opener: list[Callable[[str], str]] = []

    def open_contact(sealed: str) -> str:
        if not opener:
            opener.append(police.contact_opener(settings))
        return opener[0](sealed)

    return open_contact


def notifier(settings: Settings) -> Notifier:
    """The notifier of new alerts: reads them as the analyst, records deliveries as
    sinergi_web, sends signed webhooks and e-mail over SMTP."""
    from sinergi.web.notifier import Notifier, email_sender, webhook_sender

    reader = ledger_reader(settings)
    base = settings.web_url.rstrip("/")
    return Notifier(
        notification_store(settings),
        reader.raised_since,
        lambda alert_id: reader.alert(alert_id, None),
        {
            "webhook": webhook_sender(settings.secrets_dir),
            "email": email_sender(settings.smtp_host, settings.smtp_port, settings.smtp_from),
        },
        lambda alert_id: f"{base}/alerts/{alert_id}",
        retry_base_s=settings.notify_retry_base_s,
        retry_max_s=settings.notify_retry_max_s,
        changed_since=reader.changed_since,
    )


def notifier_loop(settings: Settings) -> NotifierLoop:
    from sinergi.web.notifier import NotifierLoop

    return NotifierLoop(notifier(settings), web_conninfo(settings), settings.notify_poll_s)
