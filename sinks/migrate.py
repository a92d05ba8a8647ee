"""PostgreSQL migrations: numbered SQL files in ``sinks/migrations``, applied once each,
in order, one transaction each, one migrator at a time."""

from __future__ import annotations

import logging
from importlib import resources

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

MIGRATIONS = resources.files("sinks") / "migrations"
_MIGRATION_LOCK = 0x53494E45  # "SINE": one migrator at a time


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped, in order."""
    found = []
    for entry in MIGRATIONS.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text()))
    return sorted(found)


def migrate(conninfo: str, *, schema: str | None = None) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction; return their names.

    ``schema``: apply them in that schema instead of ``public`` (the rebuild's projection).
    """
    applied: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if schema is not None:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, name, text in migrations():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(text.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                applied.append(name)
                log.info("applied migration %s", name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
    return applied
