"""A private PostgreSQL 15 cluster (initdb) on loopback, with one role per use.

Roles: ``postgres`` (superuser, only for set-up), ``sinergi_owner`` (owns the
schema, runs migrations), ``sinergi_processor`` (writes the ledger),
``sinergi_analyst`` (reads the views). Passwords are generated once into the
secrets folder.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from deploy.procs import (
    PidFile,
    PostmasterOf,
    StackError,
    ensure_port_free,
    external_state,
    port_open,
    wait_for_external,
    wait_until,
)
from deploy.secrets import ensure_password, read_password
from deploy.tools import find_pg_bindir

ROLES = ("sinergi_owner", "sinergi_processor", "sinergi_analyst")


@dataclass(frozen=True)
class PostgresConfig:
    home: Path
    host: str
    port: int
    bindir: Path | None
    database: str = "sinergi"


class PostgresService:
    name = "postgres"

    def __init__(self, cfg: PostgresConfig) -> None:
        self.cfg = cfg
        self.dir = cfg.home / "postgres"
        self.data = self.dir / "data"
        self.sockets = self.dir / "run"
        self.log = self.dir / "log" / "postgres.log"
        self.secrets = cfg.home / "secrets"
        # PostgreSQL's own file: a pid in it that another program now has (PostgreSQL
        # went down without removing it) is not signalled, nor taken for the server.
        self.pidfile = PidFile(
            self.data / "postmaster.pid", PostmasterOf(self.data), remove_stale=False
        )

    # PostgreSQL refuses to run as root: as root we run it as the postgres user.
    @property
    def run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise StackError(
                "running as root, and there is no 'postgres' user to run PostgreSQL as "
                "(PostgreSQL refuses to run as root). Install postgresql-15 with apt, which "
                "creates it, or run the stack as an ordinary user."
            ) from None
        return "postgres"

    def _cmd(self, *argv: str) -> list[str]:
        user = self.run_as
        return ["runuser", "-u", user, "--", *argv] if user else list(argv)

    def _bin(self, tool: str) -> str:
        return str(find_pg_bindir(self.cfg.bindir) / tool)

    def _own(self, *paths: Path) -> None:
        user = self.run_as
        if user is None:
            return
        entry = pwd.getpwnam(user)
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def prepare(self) -> None:
        """initdb once: scram passwords over TCP, loopback only."""
        if (self.data / "PG_VERSION").exists():
            return
        for path in (self.dir, self.sockets, self.log.parent):
            path.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(mode=0o700, exist_ok=True)
        self._own(self.dir, self.data, self.sockets, self.log.parent)
        superuser_password = ensure_password(self.secrets, "postgres")
        pwfile = self.dir / ".initdb-pw"
        pwfile.write_text(superuser_password + "\n")
        pwfile.chmod(0o600)
        self._own(pwfile)
        try:
            done = subprocess.run(
                self._cmd(
                    self._bin("initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=peer",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ),
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            shutil.rmtree(self.data, ignore_errors=True)
            raise StackError(f"initdb failed: {done.stdout}{done.stderr}")
        self._write_conf()

    def _write_conf(self) -> None:
        conf = self.data / "postgresql.auto.conf"
        settings = {
            "listen_addresses": f"'{self.cfg.host}'",
            "port": str(self.cfg.port),
            "unix_socket_directories": f"'{self.sockets}'",
            "shared_buffers": "'256MB'",
            "max_wal_size": "'2GB'",
            "checkpoint_timeout": "'15min'",
            # The outbox is a queue (migration 0019): look for tables to vacuum every 10 s,
            # not every minute, so its deleted rows do not pile up between vacuums.
            "autovacuum_naptime": "'10s'",
            "password_encryption": "'scram-sha-256'",
            # Statement texts could one day carry values: errors are logged without them.
            "log_min_error_statement": "'panic'",
            "log_connections": "off",
            "logging_collector": "off",
        }
        conf.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        self._own(conf)

    def running(self) -> int | None:
        return self.pidfile.running_pid()

    def ready(self) -> bool:
        if not port_open(self.cfg.host, self.cfg.port):
            return False
        with self.superuser() as conn:
            conn.execute("SELECT 1")
        return True

    def superuser(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.cfg.host,
            port=self.cfg.port,
            user="postgres",
            password=read_password(self.secrets, "postgres"),
            dbname=dbname,
            autocommit=True,
            connect_timeout=3,
        )

    def start(self) -> str:
        pid = self.running()
        if pid is not None:
            wait_until(self.ready, timeout=30, what="PostgreSQL", log_file=self.log)
            self._ensure_roles()
            return f"already running (pid {pid})"
        ensure_port_free(self.cfg.host, self.cfg.port, "PostgreSQL", "SINERGI_PG_PORT")
        self.prepare()
        self._write_conf()  # the port may have changed since initdb
        done = subprocess.run(
            self._cmd(
                self._bin("pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "start",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            tail = (
                self.log.read_text(errors="replace").splitlines()[-10:] if self.log.exists() else []
            )
            raise StackError(
                "PostgreSQL did not start: "
                + (done.stderr or done.stdout)
                + "\n  "
                + "\n  ".join(tail)
            )
        took = wait_until(self.ready, timeout=30, what="PostgreSQL", log_file=self.log)
        self._ensure_roles()
        return f"started (pid {self.running()}) in {took:.1f}s on {self.cfg.host}:{self.cfg.port}"

    def attach(self, timeout: float = 60) -> str:
        """A PostgreSQL started elsewhere (deploy/compose.yaml): once its superuser logs in
        with this home's password, the roles and the database, as ``start`` makes them."""
        where = f"{self.cfg.host}:{self.cfg.port}"
        took = wait_for_external(self.ready, timeout=timeout, what=f"PostgreSQL on {where}")
        self._ensure_roles()
        return f"external, ready on {where} after {took:.1f}s; roles and database ensured"

    def external_status(self) -> str:
        return external_state(self.ready, f"{self.cfg.host}:{self.cfg.port}")

    def _ensure_roles(self) -> None:
        """Create the per-use roles and databases (idempotent)."""
        with self.superuser() as conn:
            for role in ROLES:
                password = ensure_password(self.secrets, role)
                exists = conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
                ).fetchone()
                verb = "ALTER" if exists else "CREATE"
                conn.execute(
                    sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEROLE PASSWORD {}").format(
                        sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
                    )
                )
            # The owner creates one database per test run; nobody else can create any.
            conn.execute("ALTER ROLE sinergi_owner CREATEDB")
            db = self.cfg.database
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
            if not found.fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER sinergi_owner").format(sql.Identifier(db))
                )
            conn.execute("REVOKE ALL ON DATABASE postgres FROM PUBLIC")

    def stop(self, mode: str = "fast") -> str:
        """Stop the server: ``fast`` (roll back sessions, checkpoint) or ``immediate``
        (abort at once, recover at the next start: what a crash looks like)."""
        if self.running() is None:
            return "not running"
        done = subprocess.run(
            self._cmd(self._bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StackError(f"PostgreSQL did not stop: {done.stderr or done.stdout}")
        return "stopped"

    def status(self) -> str:
        pid, another = self.pidfile.check()
        if pid is None:
            return self.pidfile.stopped(another)
        return f"ready (pid {pid}) on {self.cfg.host}:{self.cfg.port}"
