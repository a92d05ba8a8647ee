"""Backups that erasure reaches (docs/erasure.md, step 7).

A person's fields are kept in the vault only under their own data key (DEK), and the DEK
only wrapped by the hub's key-encryption key (KEK) in ``person_keys``. A backup holding
``person_keys`` would keep every DEK, and with it every erased person's fields, for as long
as the backup is kept. So a backup is two files, kept apart:

- the **data** backup: ``pg_dump`` (custom format) of the hub's database, every table
  but ``person_keys``'s rows (its definition is in it): personal fields only under DEKs
  nobody can unwrap from this file alone; kept ``SINERGI_BACKUP_DATA_DAYS`` (400);
- the **keys** backup: ``person_keys``'s rows only; kept ``SINERGI_BACKUP_KEYS_DAYS``
  (35). An erasure deletes the wrapped DEK, so once every keys backup taken before it has
  expired, no backup can open the person's fields again.

Both come from one snapshot of the database (``pg_export_snapshot``): restored together
they are one moment of the hub. Each file has a manifest beside it (``.json``: what, when,
sha256); both files are mode 0600 in folders of mode 0700. The KEK is in neither: it is a
file under the hub's home (``SINERGI_HOME/secrets/hub/kek.key``), to be kept offline and
apart from both, or in an HSM; without it neither backup opens a person's fields.

:func:`expired` decides what ``backup prune`` deletes: a pure function of the backups, the
retention and the moment. :func:`restore` puts a data and a keys backup into a new
database, never an existing one, so that an operator can prove a backup works.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from deploy.secrets import read_password
from deploy.tools import find_pg_bindir
from processors.vault import Subject, VaultKeys
from schemas.crypto import CryptoError
from sinergi import bootstrap
from sinergi.config import Settings

OWNER = "sinergi_owner"  # owns every table: the only role that can dump them all
KEYS_TABLE = "person_keys"
DATA, KEYS = "data", "keys"
KINDS = (DATA, KEYS)
STAMP = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^(data|keys)-(.+)-(\d{8}T\d{6}Z)\.dump$")
_DATABASE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_CHUNK = 1 << 20


class BackupError(ValueError):
    """A backup cannot be taken, pruned or restored: one sentence why."""


@dataclass(frozen=True)
class Retention:
    """How long each kind of backup is kept."""

    keys: timedelta
    data: timedelta

    @classmethod
    def of(cls, s: Settings) -> Retention:
        return cls(keys=timedelta(days=s.backup_keys_days), data=timedelta(days=s.backup_data_days))

    def of_kind(self, kind: str) -> timedelta:
        return self.keys if kind == KEYS else self.data


@dataclass(frozen=True)
class Backup:
    """One backup file, as its name tells it."""

    kind: str
    database: str
    taken_at: datetime
    path: Path

    @property
    def manifest(self) -> Path:
        return manifest_of(self.path)


def file_name(kind: str, database: str, taken_at: datetime) -> str:
    """``keys-sinergi-20261202T215300Z.dump``: the kind, the database, the UTC moment."""
    return f"{kind}-{database}-{taken_at.astimezone(UTC).strftime(STAMP)}.dump"


def parse(path: Path) -> Backup | None:
    """The backup a file's name describes; None for any other file (manifests, partial
    dumps, an operator's notes)."""
    found = _NAME.match(path.name)
    if found is None:
        return None
    kind, database, stamp = found.groups()
    taken_at = datetime.strptime(stamp, STAMP).replace(tzinfo=UTC)
    return Backup(kind, database, taken_at, path)


def manifest_of(dump: Path) -> Path:
    return dump.with_suffix(".json")


def expired(backups: Iterable[Backup], retention: Retention, now: datetime) -> list[Backup]:
    """The backups older than their kind's retention at ``now``, oldest first. A keys
    backup is never kept longer, even the last one: keeping it would keep erased people's
    keys (the data backups then wait for the next keys backup to be opened)."""
    return sorted(
        (b for b in backups if now - b.taken_at > retention.of_kind(b.kind)),
        key=lambda b: (b.taken_at, b.kind, b.database),
    )


def check_moment(at: datetime, now: datetime, *, applying: bool) -> None:
    """A later moment may be looked at (what would go), never applied."""
    if applying and at > now:
        raise BackupError("--at later than now cannot be applied: it would delete backups early")


def found(root: Path) -> list[Backup]:
    """Every backup under ``root`` (``data/`` and ``keys/``), oldest first."""
    backups = [
        b
        for kind in KINDS
        if (root / kind).is_dir()
        for b in (parse(p) for p in (root / kind).iterdir())
        if b is not None and b.kind == kind
    ]
    return sorted(backups, key=lambda b: (b.taken_at, b.kind, b.database))


def delete(backup: Backup) -> None:
    """The dump and its manifest."""
    backup.path.unlink(missing_ok=True)
    backup.manifest.unlink(missing_ok=True)


# --- files -------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def read_manifest(dump: Path) -> dict[str, Any]:
    """The manifest beside ``dump``, its checksum checked against the file."""
    where = manifest_of(dump)
    try:
        manifest: dict[str, Any] = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"no manifest beside {dump} ({where.name}): it cannot be checked"
        ) from None
    except (OSError, ValueError):
        raise BackupError(f"the manifest {where} cannot be read") from None
    if not dump.is_file():
        raise BackupError(f"no backup file {dump}")
    if sha256_of(dump) != manifest.get("sha256"):
        raise BackupError(f"{dump} does not match its manifest's sha256: it is damaged")
    return manifest


# --- taking a backup ---------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """One file a backup run wrote, with its manifest."""

    backup: Backup
    sha256: str
    size: int
    manifest: dict[str, Any]


class PgTools:
    """PostgreSQL 15's client programs (the server's own, as ``deploy/postgres.py`` finds
    them), run as the owner role over TCP; the password goes in the environment, never on
    the command line."""

    def __init__(self, s: Settings) -> None:
        self.settings = s
        self.bindir = find_pg_bindir(s.pg_bindir)

    def _env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PGPASSWORD": read_password(self.settings.secrets_dir, OWNER),
            "PGCONNECT_TIMEOUT": "10",
        }

    def _where(self, database: str) -> list[str]:
        s = self.settings
        return ["-h", s.host, "-p", str(s.ports.postgres), "-U", OWNER, "-d", database, "-w"]

    def run(self, tool: str, *args: str, database: str, into: Path | None = None) -> str:
        argv = [str(self.bindir / tool), *self._where(database), *args]
        if into is None:
            done = subprocess.run(argv, env=self._env(), capture_output=True, check=False)
        else:
            with into.open("wb") as out:
                done = subprocess.run(
                    argv, env=self._env(), stdout=out, stderr=subprocess.PIPE, check=False
                )
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip().splitlines()
            raise BackupError(f"{tool} failed: {' / '.join(said[-3:]) or done.returncode}")
        return done.stdout.decode(errors="replace") if done.stdout else ""

    def version(self) -> str:
        done = subprocess.run(
            [str(self.bindir / "pg_dump"), "--version"], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    def conninfo(self, database: str) -> str:
        s = self.settings
        password = read_password(s.secrets_dir, OWNER)
        return (
            f"host={s.host} port={s.ports.postgres} dbname={database} user={OWNER}"
            f" password={password} connect_timeout=10 application_name=sinergi-backup"
        )


@contextmanager
def snapshot(tools: PgTools, database: str) -> Iterator[tuple[str, int, int]]:
    """One moment of ``database``, exported for ``pg_dump --snapshot`` and held open while
    the dumps run; with the count of people and of live keys in ``person_keys`` then
    (0, 0 where the database has no vault)."""
    with psycopg.connect(tools.conninfo(database)) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            name = conn.execute("SELECT pg_export_snapshot()").fetchone()
            has_vault = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (KEYS_TABLE,))
            people = keys = 0
            if (has_vault.fetchone() or (False,))[0]:
                row = conn.execute(
                    sql.SQL("SELECT count(*), count(wrapped_dek) FROM {}").format(
                        sql.Identifier(KEYS_TABLE)
                    )
                ).fetchone()
                people, keys = (int(row[0]), int(row[1])) if row else (0, 0)
            yield str(name[0] if name else ""), people, keys


def _dump(
    tools: PgTools,
    kind: str,
    database: str,
    taken_at: datetime,
    folder: Path,
    args: Sequence[str],
    facts: dict[str, Any],
) -> Written:
    final = folder / file_name(kind, database, taken_at)
    if final.exists():
        raise BackupError(f"{final} exists already: one backup per second")
    partial = final.with_name(final.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        tools.run("pg_dump", "--format=custom", *args, database=database, into=partial)
        partial.chmod(0o600)
        digest, size = sha256_of(partial), partial.stat().st_size
        partial.rename(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    manifest = {
        "kind": kind,
        "database": database,
        "taken_at": taken_at.isoformat(),
        "file": final.name,
        "sha256": digest,
        "size": size,
        "pg_dump": tools.version(),
        **facts,
        "kek": "not in this backup: keep SINERGI_HOME/secrets/hub/kek.key offline, apart",
    }
    write_private(manifest_of(final), json.dumps(manifest, indent=2) + "\n")
    return Written(Backup(kind, database, taken_at, final), digest, size, manifest)


def databases(s: Settings) -> list[str]:
    """The ledger's database, and the vault's when it is another (SINERGI_VAULT_DATABASE)."""
    vault = s.vault_database or s.database
    return [s.database] if vault == s.database else [s.database, vault]


def run(s: Settings, root: Path, now: datetime) -> list[Written]:
    """A data backup of each of the hub's databases (``person_keys`` without its rows) and
    a keys backup of the vault's (those rows only), each pair from one snapshot. If any
    dump fails, the files this run wrote are removed: a backup is the whole set or none."""
    tools = PgTools(s)
    data_dir, keys_dir = private_dir(root / DATA), private_dir(root / KEYS)
    private_dir(root)
    vault = s.vault_database or s.database
    written: list[Written] = []
    try:
        for database in databases(s):
            with snapshot(tools, database) as (name, people, keys):
                at = f"--snapshot={name}"
                written.append(
                    _dump(tools, DATA, database, now, data_dir,
                          [at, f"--exclude-table-data={KEYS_TABLE}"],
                          {"excluded_rows": [KEYS_TABLE]})
                )  # fmt: skip
                if database == vault:
                    written.append(
                        _dump(tools, KEYS, database, now, keys_dir,
                              [at, "--data-only", f"--table={KEYS_TABLE}"],
                              {"people": people, "keys": keys})
                    )  # fmt: skip
    except BaseException:
        for one in written:
            delete(one.backup)
        raise
    return written


# --- restoring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    database: str
    people: int
    keys: int  # people whose data key is in the keys backup (their fields can be opened)
    facts: int
    readable_facts: int  # facts with fields under a key the backup holds
    # Of a sample of those (at most SAMPLE), how many this hub's KEK opened; None when
    # there was nothing to try or no KEK here. Fewer than tried: not this backup's KEK.
    opened: int | None = None
    tried: int = 0


SAMPLE = 100
# The comment ``restore`` puts on the database it makes: ``drop`` removes no other.
RESTORED_MARK = "sinergi backup restore:"


def restore(s: Settings, data: Path, keys: Path, database: str) -> Restored:
    """``data`` and ``keys`` into a new database ``database`` (refused if it exists):
    the schema, the data, the keys, then the indexes, constraints and triggers, so that a
    keys backup taken later than the data backup fits it. A failed restore drops the
    database it made."""
    if not _DATABASE.match(database):
        raise BackupError(f"{database!r} is not a database name (a-z, 0-9, _; 63 at most)")
    told = read_manifest(data), read_manifest(keys)
    if (told[0].get("kind"), told[1].get("kind")) != (DATA, KEYS):
        raise BackupError("--data takes a data backup and --keys a keys backup")
    if told[1]["taken_at"] < told[0]["taken_at"]:
        raise BackupError(
            f"the keys backup ({told[1]['taken_at']}) is older than the data backup"
            f" ({told[0]['taken_at']}): people kept in between have no key in it"
        )
    tools = PgTools(s)
    with psycopg.connect(tools.conninfo(s.database), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if exists.fetchone():
            raise BackupError(f"the database {database} exists: restore into a new one")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        mark = f"{RESTORED_MARK} {data.name} + {keys.name}"
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(database), sql.Literal(mark)
            )
        )
    try:
        pg_restore = ("pg_restore", "--exit-on-error", "--no-owner")
        for args in (["--section=pre-data"], ["--section=data"]):
            tools.run(*pg_restore, *args, str(data), database=database)
        tools.run(*pg_restore, "--data-only", str(keys), database=database)
        _check_keys_fit(tools, database)
        tools.run(*pg_restore, "--section=post-data", str(data), database=database)
        counted = _count(tools, database)
    except BaseException as exc:
        try:
            drop(s, database)
        except (BackupError, psycopg.Error) as failed:  # the first reason is the one to tell
            exc.add_note(f"the database {database} it began is left, because:\n{failed}")
        raise
    try:
        kek = bootstrap.vault_keys(s, create=False)
    except (CryptoError, OSError):
        return counted  # no KEK on this machine: the sample is not tried
    opened, tried = _open_sample(tools, database, kek)
    return replace(counted, opened=opened if tried else None, tried=tried)


def _open_sample(tools: PgTools, database: str, kek: VaultKeys) -> tuple[int, int]:
    """Open up to SAMPLE facts under a key of the restored database with ``kek``."""
    with psycopg.connect(tools.conninfo(database)) as conn:
        rows = conn.execute(
            "SELECT k.subject_id, k.strength, k.wrapped_dek, f.carrier_id, f.fields"
            " FROM person_facts f JOIN person_keys k USING (subject_id)"
            " WHERE k.wrapped_dek IS NOT NULL AND f.fields IS NOT NULL"
            " ORDER BY random() LIMIT %s",
            (SAMPLE,),
        ).fetchall()
    opened = 0
    for subject_id, strength, wrapped, carrier, blob in rows:
        try:
            kek.open_fields(Subject(subject_id, strength), bytes(wrapped), carrier, bytes(blob))
        except (CryptoError, ValueError):
            continue
        opened += 1
    return opened, len(rows)


def _check_keys_fit(tools: PgTools, database: str) -> None:
    """Every person the data backup's facts name has a row in the keys backup (the
    foreign key that post-data adds would refuse it less clearly)."""
    with psycopg.connect(tools.conninfo(database)) as conn:
        row = conn.execute(
            "SELECT count(DISTINCT f.subject_id) FROM person_facts f"
            " WHERE NOT EXISTS (SELECT 1 FROM person_keys k WHERE k.subject_id = f.subject_id)"
        ).fetchone()
    missing = int(row[0]) if row else 0
    if missing:
        raise BackupError(
            f"the keys backup lacks {missing} person(s) the data backup's facts name:"
            " it is another hub's, or older than the data backup"
        )


def _count(tools: PgTools, database: str) -> Restored:
    with psycopg.connect(tools.conninfo(database)) as conn:
        people = conn.execute("SELECT count(*), count(wrapped_dek) FROM person_keys").fetchone()
        facts = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE k.wrapped_dek IS NOT NULL"
            " AND f.fields IS NOT NULL) FROM person_facts f JOIN person_keys k USING (subject_id)"
        ).fetchone()
    assert people is not None and facts is not None
    return Restored(database, int(people[0]), int(people[1]), int(facts[0]), int(facts[1]))


def drop(s: Settings, database: str) -> None:
    """Remove a database ``restore`` made (marked by its comment); any other is refused,
    the hub's own first of all. Nothing to do if it is not there."""
    if database in databases(s):
        raise BackupError(f"{database} is the hub's own database: it is not dropped here")
    tools = PgTools(s)
    with psycopg.connect(tools.conninfo(s.database), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (database,),
        ).fetchone()
        if row is None:
            return
        if not str(row[0] or "").startswith(RESTORED_MARK):
            raise BackupError(f"{database} was not made by `sinergi backup restore`: not dropped")
        _drop_database(conn, database)


DROP_ATTEMPTS = 3


def _drop_database(conn: psycopg.Connection[Any], database: str) -> None:
    """``DROP DATABASE``, ending the sessions still in it (``FORCE``: those of the hub's
    role) only when there are any. ``FORCE`` first checks that it may end every backend
    there, and an autovacuum worker (a fresh restore draws one at once) only a superuser
    may signal: it would refuse the whole drop. The plain form ends an autovacuum worker
    itself, but waits 5 s on a session before it refuses."""
    plain = sql.SQL("DROP DATABASE {}").format(sql.Identifier(database))
    forced = sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database))
    for attempt in range(DROP_ATTEMPTS):
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend'",
            (database,),
        ).fetchone()
        try:
            conn.execute(forced if row and row[0] else plain)
            return
        except (psycopg.errors.ObjectInUse, psycopg.errors.InsufficientPrivilege) as exc:
            if attempt == DROP_ATTEMPTS - 1:
                raise BackupError(
                    f"{database} is in use by sessions this role may not end: close them"
                ) from exc
            time.sleep(1)
