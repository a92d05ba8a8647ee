"""One test's (or one chaos run's) private slice of the shared stack: its own topics,
consumer group and database, and helpers to drive the hub as a user would.

Used by the integration tests (the ``hub`` fixture in ``conftest.py``) and by
``make chaos`` (``bench/chaos.py``), which runs the same fault scenarios larger.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from deploy.procs import terminate
from schemas.nik import normalise_nik
from sinergi import bootstrap, members
from sinergi.config import Settings, from_env
from sinks.migrate import migrate

# Ports for what a test starts itself (a processor's metrics, a webhook, a mail server).
# A port the kernel picks (bind to 0) is free when asked, but it comes from the range the
# kernel also gives to outgoing connections, and one of those (to Kafka, PostgreSQL) may
# take it before the service binds it. So: ports below that range and above every
# stack's (15432 to 25100 with the offsets the tests, the bench and chaos use), each
# handed out once in a session, so two services started together never get the same.
_STACK_PORTS_END = 26_000
_handed: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def free_port() -> int:
    """A loopback port nothing listens on, not handed out before in this session."""
    spare = [p for p in range(_STACK_PORTS_END, _ephemeral_low()) if p not in _handed]
    random.shuffle(spare)
    for port in spare[:200]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed.add(port)
        return port
    # No room below the ephemeral range on this machine: the kernel's pick.
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed:
            _handed.add(port)
            return port


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (from /proc), its helper among them."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def phone_written(phone: str) -> list[str]:
    """The ways ``phone`` may be written out in a leak: as given, its last eleven digits
    run together, and its last eight in two fours (0812 9988 7766, 081299887766,
    +6281299887766 and +62 812-9988-7766 all hold one). Ids and sealed values are random
    hex: four digits turn up in them in a few runs out of a hundred, and eight run together
    now and then in the gigabytes a whole-stack scan reads; eleven, or a space or hyphen
    between two fours, do not.
    """
    digits = "".join(c for c in phone if c.isdigit())
    tail = digits[-8:]
    return [phone, digits[-11:], f"{tail[:4]} {tail[4:]}", f"{tail[:4]}-{tail[4:]}"]


def phone_in(phone: str, text: str | bytes) -> bool:
    """Whether ``text`` holds ``phone`` in any of the ways it may be written."""
    if isinstance(text, bytes):
        return any(form.encode() in text for form in phone_written(phone))
    return any(form in text for form in phone_written(phone))


def files_holding(paths: Iterable[Path], needles: Sequence[bytes]) -> list[str]:
    """``path: needle`` for each of ``needles`` each of the files ``paths`` holds. A path
    that is not a file, or goes while it is read, is passed over: the stack's folders
    change meanwhile (logs roll over, Kafka deletes other tests' topics)."""
    found = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        found += [f"{path}: {n!r}" for n in needles if n in data]
    return found


@dataclass
class Hub:
    """One test's private slice of the stack, and helpers to drive it as a user would."""

    settings: Settings
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(
        self, *args: str, check: bool = True, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``sinergi ARGS`` as a user runs it; ``env``: variables to change for this run."""
        done = subprocess.run(
            [sys.executable, "-m", "sinergi", *args],
            env=self.env | dict(env or {}),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"sinergi {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def run(
        self, *command: str, check: bool = True, **options: str
    ) -> subprocess.CompletedProcess[str]:
        """``sinergi COMMAND --option value ...``: options as keywords (occurred_at=...)."""
        args = [*command]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", value]
        return self.cli(*args, check=check)

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = self.settings.home / "logs" / f"worker-{self.settings.processor_group}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sinergi", "process"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers.append(proc)
        return proc

    def stop_worker(self, proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
        """Stop a worker (``kill``: -9); either way its helper process, which receives the
        next batch (processors/ahead.py), must not outlive it."""
        helpers = children(proc.pid)
        if kill:
            proc.kill()
        else:
            terminate(proc.pid, timeout=30)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [pid for pid in helpers if alive(pid)]
        assert not left, f"the worker's helper processes {left} outlived it"

    @property
    def worker_log(self) -> Path:
        return self.settings.home / "logs" / f"worker-{self.settings.processor_group}.log"

    def query(self, statement: str, *params: object) -> list[tuple[object, ...]]:
        with psycopg.connect(bootstrap.conninfo(self.settings, "sinergi_owner")) as conn:
            return conn.execute(statement.encode(), params).fetchall()

    def wait_for(
        self, condition: Callable[[], bool], *, timeout: float = 60, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            for proc in self.workers:
                if proc.poll() is not None and proc.returncode not in (0, -15, -9):
                    raise AssertionError(
                        f"worker exited {proc.returncode}:\n{self.worker_log.read_text()[-3000:]}"
                    )
            time.sleep(0.2)
        tail = self.worker_log.read_text()[-3000:] if self.worker_log.exists() else ""
        raise AssertionError(f"timed out waiting for {what}\n{tail}")

    def kafka(self, principal: str = "admin") -> dict[str, object]:
        """kafka-python options for a client of this stack, as ``principal``."""
        return {
            "bootstrap_servers": self.settings.bootstrap_servers,
            **bootstrap.kafka_security(self.settings, principal),
        }

    def case_of(self, nik: str, *, timeout: float = 60) -> str:
        """The hub's case id of a NIK, once the processor has taken in a fact about it: the
        ledger names people by a subject id only the vault links to the NIK (police learn
        it from an alert, the browser or ``ledger case``)."""
        names = bootstrap.pseudonymiser(self.settings)
        vault = bootstrap.vault(self.settings, "sinergi_owner")
        found: list[str] = []

        def known() -> bool:
            subject = vault.find("nik", names.nik(normalise_nik(nik)))
            found.extend([subject.case_id] if subject else [])
            return subject is not None

        try:
            self.wait_for(known, timeout=timeout, what="the hub's case of a NIK")
        finally:
            vault.close()
        return found[0]

    def event_count(self) -> int:
        return int(self.query("SELECT count(*) FROM events")[0][0])  # type: ignore[call-overload]


def make_hub(base: Mapping[str, str], **overrides: str) -> Hub:
    """A fresh slice of the stack: topics with a random prefix, a consumer group, a
    database with the migrations applied, and this deployment's ACLs."""
    tag = uuid.uuid4().hex[:10]
    env = (
        dict(base)
        | {
            "SINERGI_TOPIC_PREFIX": f"t{tag}.",
            "SINERGI_PROCESSOR_GROUP": f"g{tag}",
            "SINERGI_DATABASE": f"t{tag}",
            "SINERGI_METRICS_PORT": str(free_port()),
            "SINERGI_BATCH_WITHIN_MS": "100",
            "SINERGI_TOPIC_PARTITIONS": "3",
            # Alerts resting on an absence are raised at once here (their grace period and
            # its timer are tested in tests/unit/test_amendments.py).
            "SINERGI_ALERT_GRACE_HOURS": "0",
            "COLUMNS": "200",  # wide enough that tables are not cut
            # The English lines the tests read (the Bahasa ones: test_readme_commands.py and
            # tests/unit/test_cli_language.py).
            "SINERGI_LANG": "en",
        }
        | overrides
    )
    settings = from_env(env)
    owner = bootstrap.conninfo(settings, "sinergi_owner", "sinergi")
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings.database)))
    migrate(bootstrap.conninfo(settings, "sinergi_owner"))
    bootstrap.create_topics(settings)
    # Every unit's credential and key exist once per stack; the ACLs are per deployment
    # (this slice's topics and consumer group).
    members.ensure(settings, members.default_members())
    return Hub(settings, env)


def drop_hub(hub: Hub) -> None:
    """Stop the slice's workers and remove its topics, ACLs and database."""
    settings = hub.settings
    for proc in hub.workers:
        if proc.poll() is None:
            hub.stop_worker(proc, kill=True)
    delete_slice_topics(settings)
    members.forget_deployment(settings)
    drop_slice_database(settings)


def delete_slice_topics(settings: Settings) -> None:
    """The topics of the slice's deployment (its topic prefix)."""
    with bootstrap.kafka_admin(settings) as admin:
        mine = [t for t in admin.list_topics() if t.startswith(settings.topic_prefix)]
        if mine:
            admin.delete_topics(mine)


def drop_slice_database(settings: Settings) -> None:
    """The slice's database, as the superuser: FORCE must end every role's sessions (a
    killed worker's backend or an analyst's may still be closing), and it refuses the
    whole drop for an autovacuum worker busy there unless a superuser asks."""
    superuser = bootstrap.conninfo(settings, "postgres", "postgres")
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(settings.database)
            )
        )
