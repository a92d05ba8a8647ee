"""Configuration: the one place that reads the environment.

Every setting has a default that works for the local stack started by
``sinergi stack up``; each can be overridden by a ``SINERGI_*`` variable.
Other modules receive a :class:`Settings` (or a part of it); none of them
read ``os.environ`` themselves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Ports:
    """Loopback ports of the local stack; chosen not to clash with system servers."""

    kafka: int = 19092
    kafka_controller: int = 19093
    postgres: int = 15432
    registry: int = 18081
    metrics: int = 19100
    web: int = 18080  # the browser application (sinergi web)

    def shifted(self, offset: int) -> Ports:
        """The same layout moved by ``offset`` (the test stack runs beside the demo one)."""
        return Ports(
            kafka=self.kafka + offset,
            kafka_controller=self.kafka_controller + offset,
            postgres=self.postgres + offset,
            registry=self.registry + offset,
            metrics=self.metrics + offset,
            web=self.web + offset,
        )

    def kafka_nodes(self, count: int) -> list[tuple[int, int, int]]:
        """(node id, client port, controller port) of each of ``count`` Kafka nodes: node 1
        on ``kafka`` and ``kafka_controller``, node n on both moved by 2(n-1) (19092/19093,
        19094/19095, 19096/19097)."""
        step = KAFKA_NODE_PORT_STEP
        return [
            (n + 1, self.kafka + step * n, self.kafka_controller + step * n) for n in range(count)
        ]


# How far each further Kafka node's two ports are moved from the previous node's.
KAFKA_NODE_PORT_STEP = 2
MAX_KAFKA_BROKERS = 5


@dataclass(frozen=True)
class Settings:
    """Everything a Sinergi process needs to know about its surroundings."""

    home: Path = REPO_ROOT / ".sinergi"
    host: str = "127.0.0.1"
    ports: Ports = field(default_factory=Ports)
    # Topic names are prefixed, so that tests (and parallel deployments) get their own.
    topic_prefix: str = ""
    processor_group: str = "sinergi-ledger"
    database: str = "sinergi"
    # The vault of people (processors/vault.py) lives in the ledger's database unless named
    # here: a deployment may keep it in a database of its own, on a more tightly held server.
    vault_database: str | None = None
    # 1,000 drains as fast as 2,000 here and holds about 30 MB less in the processor's
    # processes (docs/performance.md, issue 8's history).
    batch_max: int = 1000
    batch_within_s: float = 0.25
    # ``sinergi ledger rebuild`` replays in batches of its own: a one-off job whose memory
    # is not the live processor's, 25 % faster with 2,000 than with 1,000 here.
    rebuild_batch_max: int = 2000
    # A helper process receives the next batch (decoded, verified, its people opened)
    # while the processor applies this one, and relays the outbox (processors/ahead.py);
    # 0: the processor does both itself.
    helper: int = 1
    # How many batches the helper is given ahead of the one being applied (at least 1):
    # with one, the worker waited for the helper whenever a batch took it longer than the
    # batch before took to apply (a batch of new people, a slow relay).
    lookahead: int = 2
    # How often an idle processor raises the held-back alerts whose grace period passed
    # and relays what waits in the outbox (another writer's rows, a relay that failed).
    timer_s: float = 30.0
    # The sentinel raises the alerts a record raises on its own as the record arrives,
    # ahead of the ledger (processors/sentinel.py); 0: the ledger raises them when it
    # reaches them. Records older than sentinel_max_age_s when it reads them (it fell
    # behind) are left to the ledger.
    sentinel: int = 1
    sentinel_max_age_s: float = 60.0
    # Processes that record a large file's rows at a desk (sinergi/desk_pool.py); 0: one
    # per core, 1: in the command's own process.
    desk_workers: int = 0
    topic_partitions: int = 6
    # Kafka nodes (broker and controller each): 1, or 3 for a replicated cluster in which
    # topics have 3 replicas and a write needs 2 of them (min.insync.replicas).
    kafka_brokers: int = 1
    # Who runs PostgreSQL, Kafka and the registry: "local", `stack up` starts and `stack
    # down` stops them under the home; "external", they run already on their ports
    # (deploy/compose.yaml): `stack up` only sets the hub up on them, `stack down` leaves them.
    services: str = "local"
    # Alert rule thresholds (see processors/alerts.py).
    alert_recruiter_people: int = 3
    alert_recruiter_window_days: int = 30
    # Under this age a person is a minor for the ledger, the metrics and the alerts alike
    # (processors/person_rules.py).
    alert_minor_age: int = 18
    # The legal minimum age for migrant work (UU 18/2017 Pasal 5: at least 18): below it a
    # placement or LTSA registration is UNDERAGE_REGISTRATION. Set apart from the minor
    # age, a protection policy the hub may tune; this one follows the law.
    min_migrant_work_age: int = 18
    alert_group_size: int = 5
    alert_tip_match_days: int = 60
    # Rules resting on an absent fact (never registered) wait this long on the hub's
    # clock for late facts before police are told (0: at once).
    alert_grace_hours: int = 24
    # A message reaching the hub longer than this after it was recorded is a replay.
    replay_window_hours: int = 24
    # How long a desk tries to reach the hub before keeping what it records for later.
    desk_connect_timeout_s: int = 10
    # The command line's language: "id" (Bahasa Indonesia) or "en" (see language()).
    lang: str = "id"
    # The processor's /readyz answers 503 while its lag is above this many messages.
    ready_max_lag: int = 10_000
    # The processor serves the ledger's counts and the breach clock (read from PostgreSQL,
    # the whole hub's) on its /metrics; 0 on every worker but one, so none is counted twice.
    ledger_metrics: int = 1
    # The browser application (sinergi/web): loopback unless told otherwise.
    web_host: str = "127.0.0.1"
    # The address people open, for links in notifications (default: http://host:port).
    web_public_url: str = ""
    web_session_minutes: int = 480
    # Failed log-ins in a row before an officer is locked out, and for how long.
    web_lockout_failures: int = 5
    web_lockout_minutes: int = 15
    # /readyz answers 503 while the processor's lag is above this many messages.
    web_ready_max_lag: int = 10_000
    # Push notifications of alerts (sinergi/web/notifier.py): SMTP relay for e-mail, how
    # often new alerts are looked for, and the capped backoff between retries.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "sinergi@localhost"
    notify_poll_s: float = 1.0
    notify_retry_base_s: float = 2.0
    notify_retry_max_s: float = 300.0
    # The public report and the CTDC export (sinergi/report): counts below this are
    # suppressed, and every combination of the export's quasi-identifiers occurs at least
    # this often (IOM's CTDC: 11).
    report_k: int = 11
    # Backups (sinergi/backup.py): the data (every table, person_keys without its rows) and,
    # apart, the person keys; each kept this many days. The keys' retention is how long an
    # erasure takes to reach every backup (docs/erasure.md, step 7). Default root: home.
    backup_dir: Path | None = None
    backup_keys_days: int = 35
    backup_data_days: int = 400
    java_home: Path | None = None
    registry_java_home: Path | None = None
    maven: str = "mvn"
    pg_bindir: Path | None = None

    # --- derived locations -------------------------------------------------
    @property
    def bootstrap_servers(self) -> str:
        """Every broker: a client still finds the cluster while one of them is down."""
        return ",".join(f"{self.host}:{port}" for _, port, _ in self.kafka_nodes)

    @property
    def kafka_nodes(self) -> list[tuple[int, int, int]]:
        """(node id, client port, controller port) of each Kafka node."""
        return self.ports.kafka_nodes(self.kafka_brokers)

    @property
    def kafka_replication(self) -> int:
        """Replicas of every topic, the hub's and Kafka's own: one per broker, at most 3."""
        return min(3, self.kafka_brokers)

    @property
    def kafka_min_insync(self) -> int:
        """Replicas that must hold a write before it is acknowledged (producers use
        acks=all): 2 of 3, so one broker may be lost without losing or refusing a write."""
        return 2 if self.kafka_replication >= 3 else 1

    def with_kafka_brokers(self, count: int) -> Settings:
        """These settings with ``count`` Kafka nodes (``stack up --brokers``)."""
        return replace(self, kafka_brokers=_brokers(count, self.ports))

    @property
    def registry_url(self) -> str:
        return f"http://{self.host}:{self.ports.registry}/apis/ccompat/v7"

    @property
    def web_url(self) -> str:
        """Where people open the browser application (links in notifications)."""
        return self.web_public_url or f"http://{self.web_host}:{self.ports.web}"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def pseudonym_key_file(self) -> Path:
        """The key every member shares for pseudonyms (NIK, names, recruiters)."""
        return self.secrets_dir / "pseudonym.key"

    @property
    def kafka_credentials_dir(self) -> Path:
        """One SCRAM password per Kafka principal (member), mode 0600."""
        return self.secrets_dir / "kafka"

    @property
    def keys_dir(self) -> Path:
        """Members' private signing keys and the roles' private sealing keys."""
        return self.secrets_dir / "keys"

    @property
    def directory_file(self) -> Path:
        """The signed member directory (public: ids, roles, public keys)."""
        return self.home / "directory" / "members.json"

    @property
    def directory_anchor_file(self) -> Path:
        """The directory administrator's public key: the trust anchor."""
        return self.home / "directory" / "anchor.pub"

    @property
    def desk_dir(self) -> Path:
        """The desks' outboxes on this machine (one file per member unit, mode 0600).

        One folder per deployment (topic prefix): an event id already sent to one hub's
        topics is still to be sent to another's, so their outboxes must not mix.
        """
        if not self.topic_prefix:
            return self.home / "desk"
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", self.topic_prefix)
        return self.home / "desk" / f"prefix-{safe}"

    @property
    def vault_dir(self) -> Path:
        """The hub's vault secrets (processors/vault.py): the key-encryption key that wraps
        every person's data key, the lookup key, and the intake keys desks seal people to.
        The hub's alone; no member holds them."""
        return self.secrets_dir / "hub"

    @property
    def intake_keys_dir(self) -> Path:
        """The hub's private intake keys, one file per key id; a retired key's file is
        deleted (what was sealed to it can then be read only from the vault)."""
        return self.vault_dir / "intake"

    @property
    def backups_dir(self) -> Path:
        """Where ``sinergi backup run`` writes: ``data/`` and ``keys/`` beneath it."""
        return self.backup_dir or self.home / "backups"

    @property
    def hotline_key_file(self) -> Path:
        """The hotline's own key for reporter references; no other member holds it."""
        return self.secrets_dir / "hotline-reporter.key"

    def topic(self, name: str) -> str:
        """The full name of one of the hub's topics (see :mod:`schemas.topics`)."""
        return f"{self.topic_prefix}{name}"

    def alerts_group(self, unit: str) -> str:
        """A police unit's consumer group on the alerts topic (its place in the stream),
        named within the deployment like its topics: deployments sharing a broker never
        share a unit's group. The unit's ACL allows this group and no other."""
        return self.topic(f"alerts-{unit}")

    @property
    def sentinel_group(self) -> str:
        """The sentinel's consumer group (the processor's ACL allows it too)."""
        return f"{self.processor_group}-sentinel"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {raw!r}") from None


def _days(env: Mapping[str, str], key: str, default: int) -> int:
    days = _int(env, key, default)
    if days < 1:
        raise ConfigError(f"{key} must be at least 1 (days), got {days}")
    return days


def _brokers(count: int, ports: Ports) -> int:
    if not 1 <= count <= MAX_KAFKA_BROKERS:
        raise ConfigError(
            f"SINERGI_KAFKA_BROKERS must be between 1 and {MAX_KAFKA_BROKERS}, got {count}"
        )
    used = [p for _, port, controller in ports.kafka_nodes(count) for p in (port, controller)]
    if len(set(used)) < len(used):
        raise ConfigError(
            f"{count} Kafka nodes need ports {min(used)}-{max(used)} for themselves:"
            " SINERGI_KAFKA_PORT and SINERGI_KAFKA_CONTROLLER_PORT overlap"
        )
    return count


SERVICES = ("local", "external")


def _services(value: str) -> str:
    if value not in SERVICES:
        raise ConfigError(f"SINERGI_SERVICES must be one of {', '.join(SERVICES)}, got {value!r}")
    return value


def _path(env: Mapping[str, str], key: str) -> Path | None:
    raw = env.get(key)
    return Path(raw).expanduser() if raw else None


LANGUAGES = ("id", "en")


def language(env: Mapping[str, str] | None = None) -> str:
    """The users' language: ``SINERGI_LANG`` (id or en), else the locale (``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``, in POSIX order): English when it starts with "en",
    Bahasa Indonesia otherwise. Raises ConfigError for another ``SINERGI_LANG``."""
    env = os.environ if env is None else env
    chosen = env.get("SINERGI_LANG", "").strip().lower()
    if chosen:
        if chosen[:2] not in LANGUAGES:
            raise ConfigError(f"SINERGI_LANG must be one of {', '.join(LANGUAGES)}")
        return chosen[:2]
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        locale = env.get(key, "")
        if locale:
            return "en" if locale.lower().startswith("en") else "id"
    return "id"


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``SINERGI_*`` variables (see README, Configuration)."""
    env = os.environ if env is None else env
    base = Settings()
    home = _path(env, "SINERGI_HOME") or base.home
    defaults = Ports()
    offset = _int(env, "SINERGI_PORT_OFFSET", 0)
    shifted = defaults.shifted(offset)
    ports = Ports(
        kafka=_int(env, "SINERGI_KAFKA_PORT", shifted.kafka),
        kafka_controller=_int(env, "SINERGI_KAFKA_CONTROLLER_PORT", shifted.kafka_controller),
        postgres=_int(env, "SINERGI_PG_PORT", shifted.postgres),
        registry=_int(env, "SINERGI_REGISTRY_PORT", shifted.registry),
        metrics=_int(env, "SINERGI_METRICS_PORT", shifted.metrics),
        web=_int(env, "SINERGI_WEB_PORT", shifted.web),
    )
    batch_within_ms = _int(env, "SINERGI_BATCH_WITHIN_MS", int(base.batch_within_s * 1000))
    return Settings(
        home=home.resolve(),
        host=env.get("SINERGI_HOST", base.host),
        ports=ports,
        topic_prefix=env.get("SINERGI_TOPIC_PREFIX", base.topic_prefix),
        processor_group=env.get("SINERGI_PROCESSOR_GROUP", base.processor_group),
        database=env.get("SINERGI_DATABASE", base.database),
        vault_database=env.get("SINERGI_VAULT_DATABASE") or base.vault_database,
        batch_max=_int(env, "SINERGI_BATCH_MAX", base.batch_max),
        rebuild_batch_max=_int(env, "SINERGI_REBUILD_BATCH_MAX", base.rebuild_batch_max),
        batch_within_s=batch_within_ms / 1000,
        helper=min(_int(env, "SINERGI_HELPER", base.helper), 1),
        lookahead=max(_int(env, "SINERGI_LOOKAHEAD", base.lookahead), 1),
        timer_s=max(_int(env, "SINERGI_TIMER_S", int(base.timer_s)), 1),
        sentinel=min(_int(env, "SINERGI_SENTINEL", base.sentinel), 1),
        sentinel_max_age_s=float(
            _int(env, "SINERGI_SENTINEL_MAX_AGE_S", int(base.sentinel_max_age_s))
        ),
        desk_workers=max(_int(env, "SINERGI_DESK_WORKERS", base.desk_workers), 0),
        topic_partitions=_int(env, "SINERGI_TOPIC_PARTITIONS", base.topic_partitions),
        kafka_brokers=_brokers(_int(env, "SINERGI_KAFKA_BROKERS", base.kafka_brokers), ports),
        services=_services(env.get("SINERGI_SERVICES") or base.services),
        alert_recruiter_people=_int(
            env, "SINERGI_ALERT_RECRUITER_PEOPLE", base.alert_recruiter_people
        ),
        alert_recruiter_window_days=_int(
            env, "SINERGI_ALERT_RECRUITER_WINDOW_DAYS", base.alert_recruiter_window_days
        ),
        alert_minor_age=_int(env, "SINERGI_ALERT_MINOR_AGE", base.alert_minor_age),
        min_migrant_work_age=_int(env, "SINERGI_MIN_MIGRANT_WORK_AGE", base.min_migrant_work_age),
        alert_group_size=_int(env, "SINERGI_ALERT_GROUP_SIZE", base.alert_group_size),
        alert_tip_match_days=_int(env, "SINERGI_ALERT_TIP_MATCH_DAYS", base.alert_tip_match_days),
        alert_grace_hours=_int(env, "SINERGI_ALERT_GRACE_HOURS", base.alert_grace_hours),
        replay_window_hours=_int(env, "SINERGI_REPLAY_WINDOW_HOURS", base.replay_window_hours),
        desk_connect_timeout_s=_int(
            env, "SINERGI_DESK_CONNECT_TIMEOUT_S", base.desk_connect_timeout_s
        ),
        web_host=env.get("SINERGI_WEB_HOST", base.web_host),
        web_public_url=env.get("SINERGI_WEB_PUBLIC_URL", base.web_public_url),
        web_session_minutes=_int(env, "SINERGI_WEB_SESSION_MINUTES", base.web_session_minutes),
        web_lockout_failures=_int(env, "SINERGI_WEB_LOCKOUT_FAILURES", base.web_lockout_failures),
        web_lockout_minutes=_int(env, "SINERGI_WEB_LOCKOUT_MINUTES", base.web_lockout_minutes),
        web_ready_max_lag=_int(env, "SINERGI_WEB_READY_MAX_LAG", base.web_ready_max_lag),
        smtp_host=env.get("SINERGI_SMTP_HOST", base.smtp_host),
        smtp_port=_int(env, "SINERGI_SMTP_PORT", base.smtp_port),
        smtp_from=env.get("SINERGI_SMTP_FROM", base.smtp_from),
        notify_poll_s=_int(env, "SINERGI_NOTIFY_POLL_MS", int(base.notify_poll_s * 1000)) / 1000,
        notify_retry_base_s=_int(
            env, "SINERGI_NOTIFY_RETRY_BASE_MS", int(base.notify_retry_base_s * 1000)
        )
        / 1000,
        notify_retry_max_s=_int(
            env, "SINERGI_NOTIFY_RETRY_MAX_MS", int(base.notify_retry_max_s * 1000)
        )
        / 1000,
        report_k=_int(env, "SINERGI_REPORT_K", base.report_k),
        backup_dir=_path(env, "SINERGI_BACKUP_DIR"),
        backup_keys_days=_days(env, "SINERGI_BACKUP_KEYS_DAYS", base.backup_keys_days),
        backup_data_days=_days(env, "SINERGI_BACKUP_DATA_DAYS", base.backup_data_days),
        lang=language(env),
        ready_max_lag=_int(env, "SINERGI_READY_MAX_LAG", base.ready_max_lag),
        ledger_metrics=max(0, min(_int(env, "SINERGI_LEDGER_METRICS", base.ledger_metrics), 1)),
        java_home=_path(env, "SINERGI_JAVA_HOME") or _path(env, "JAVA_HOME"),
        registry_java_home=_path(env, "SINERGI_REGISTRY_JAVA_HOME"),
        maven=env.get("SINERGI_MAVEN", base.maven),
        pg_bindir=_path(env, "SINERGI_PG_BINDIR"),
    )
