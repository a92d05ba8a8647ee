"""Backups that erasure reaches, on the real stack (docs/erasure.md, step 7): ``sinergi
backup run`` writes a data backup without ``person_keys``' rows and, apart, a keys backup;
a person erased after a backup can no longer be read from that backup once it is restored
with a keys backup taken after the erasure, while another person still can; ``backup
prune`` lets the keys backups from before the erasure go after 35 days; a restore goes
into a new database only. (The pruning decisions: tests/unit/test_backup.py.)"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from deploy.tools import find_pg_bindir
from processors.vault import Kept, Subject
from sinergi import backup, bootstrap
from sinks.vault import PostgresVault
from tests.conftest import base_env
from tests.integration.hub import Hub, drop_hub, make_hub

pytestmark = pytest.mark.integration

HERS = "5304015203880917"  # Belu, a woman born 12 March 1988: she asks to be erased
HIS = "5304010101900003"  # Belu, a man born 1 January 1990: he stays
WITA = timezone(timedelta(hours=8))


def keep(hub: Hub, nik: str, birth_date: str) -> Subject:
    """The person of ``nik`` kept in the vault with one interception, as the intake keeps
    people (the fields the desk sealed, under the person's own key)."""
    pseudonym = bootstrap.pseudonymiser(hub.settings).nik(nik)
    vault = bootstrap.vault(hub.settings, "sinergi_processor")
    try:
        fields = {"nik_pseudonym": pseudonym, "weak_pseudonym": None,
                  "birth_date": birth_date, "estimated_age": None}  # fmt: skip
        at = datetime.now(UTC) - timedelta(days=30)
        kept = Kept(str(uuid.uuid4()), "nik", pseudonym, fields, "InterceptionRecorded", at)
        [subject] = vault.keep([kept]).values()
    finally:
        vault.close()
    return subject


def backup_run(hub: Hub, root: Path) -> dict[str, Path]:
    """``sinergi backup run --to ROOT``: the data and the keys file it wrote."""
    done = hub.cli("backup", "run", "--to", str(root), "--json")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert "is in neither backup: keep a copy offline" in " ".join(done.stderr.split())
    return {line["kind"]: Path(line["path"]) for line in lines}


def listed(dump: Path) -> str:
    pg_restore = find_pg_bindir(None) / "pg_restore"
    return subprocess.run(
        [str(pg_restore), "--list", str(dump)], capture_output=True, text=True, check=True
    ).stdout


def opened(hub: Hub, database: str, subject: Subject) -> list[object]:
    """The fields of each of ``subject``'s facts, opened in ``database`` with the hub's KEK."""
    where = bootstrap.conninfo(hub.settings, "sinergi_owner", database)
    vault = PostgresVault(where, bootstrap.vault_keys(hub.settings, create=False))
    try:
        return [fact.fields for fact in vault.disclose(subject).facts]
    finally:
        vault.close()


def restored(hub: Hub, database: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    where = bootstrap.conninfo(hub.settings, "sinergi_owner", database)
    with psycopg.connect(where) as conn:
        return conn.execute(statement.encode(), params).fetchall()


@pytest.fixture
def new_databases(hub: Hub) -> Iterator[list[str]]:
    """Names for restores, dropped afterwards whatever happened."""
    names: list[str] = []
    yield names
    for name in names:
        backup.drop(hub.settings, name)


def test_an_erasure_reaches_a_backup_taken_before_it(
    hub: Hub, tmp_path: Path, new_databases: list[str]
):
    hers, his = keep(hub, HERS, "1988-03-12"), keep(hub, HIS, "1990-01-01")
    root = tmp_path / "backups"
    first = backup_run(hub, root)

    # Apart: the data backup holds the vault's facts but no person_keys row; the keys
    # backup holds only those rows. Both files readable by their owner only.
    data_items, keys_items = listed(first["data"]), listed(first["keys"])
    assert "TABLE DATA public person_facts" in data_items
    assert "TABLE DATA public events" in data_items
    assert "TABLE public person_keys" in data_items  # its definition, not its rows
    assert "TABLE DATA public person_keys" not in data_items
    [only] = [line for line in keys_items.splitlines() if line and not line.startswith(";")]
    assert "TABLE DATA public person_keys" in only
    for path in (*first.values(), *(backup.manifest_of(p) for p in first.values())):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert first["data"].parent == root / "data" and first["keys"].parent == root / "keys"
    manifest = json.loads(backup.manifest_of(first["keys"]).read_text())
    assert (manifest["people"], manifest["keys"]) == (2, 2)
    assert manifest["sha256"] == backup.sha256_of(first["keys"])

    # She is erased (two administrators); then the next backup.
    asked = hub.cli("person", "erase", HERS, "--reason", "subject_request", "--by", "admin-a")
    [request] = re.findall(r"erasure requested: ([0-9a-f-]{36}) ", " ".join(asked.stdout.split()))
    hub.cli("person", "erase", "--confirm", request, "--by", "admin-b")
    time.sleep(1.1)  # backups are named by the second
    second = backup_run(hub, root)
    manifest = json.loads(backup.manifest_of(second["keys"]).read_text())
    assert (manifest["people"], manifest["keys"]) == (2, 1)

    # 35 days after the second backup, only the keys backup from before the erasure has
    # expired; both data backups are kept (400 days).
    taken = backup.parse(second["keys"])
    assert taken is not None
    at = (taken.taken_at + timedelta(days=35)).astimezone(WITA).strftime("%Y-%m-%dT%H:%M:%S")
    pruned = hub.cli("backup", "prune", "--to", str(root), "--at", at, "--json")
    going = [json.loads(line) for line in pruned.stdout.splitlines()]
    assert [(g["kind"], g["path"], g["deleted"]) for g in going] == [
        ("keys", str(first["keys"]), False)
    ]
    # A later moment is only looked at: nothing is deleted.
    later = hub.cli("backup", "prune", "--to", str(root), "--at", at, "--apply", check=False)
    assert later.returncode == 2 and first["keys"].exists()

    # The data backup from BEFORE the erasure, with the keys backup from after it: her
    # fields are in it (under her data key) but her key is not; his open.
    after = f"r{uuid.uuid4().hex[:10]}"
    new_databases.append(after)
    done = hub.cli("backup", "restore", "--data", str(first["data"]),
                   "--keys", str(second["keys"]), "--database", after, "--json")  # fmt: skip
    counts = json.loads(done.stdout)
    assert (counts["people"], counts["keys"], counts["facts"], counts["readable_facts"]) == (
        2, 1, 2, 1,
    )  # fmt: skip
    assert (counts["sample_tried"], counts["sample_opened"]) == (1, 1)  # his, with the KEK
    assert restored(
        hub, after, "SELECT k.wrapped_dek IS NULL, k.erased_at IS NOT NULL, f.fields IS NOT NULL"
        " FROM person_keys k JOIN person_facts f USING (subject_id) WHERE subject_id = %s",
        hers.subject_id,
    ) == [(True, True, True)]  # fmt: skip
    assert opened(hub, after, hers) == [None]
    [his_fields] = opened(hub, after, his)
    assert isinstance(his_fields, dict) and his_fields["birth_date"] == "1990-01-01"
    # The restored database is a whole hub: its events and migrations came along.
    migrations = "SELECT version FROM schema_migrations ORDER BY version"
    assert restored(hub, after, migrations) == hub.query(migrations)

    # What the first keys backup still allows until it expires: both open. (This is why
    # the keys backups are kept apart, for 35 days only.)
    before = f"r{uuid.uuid4().hex[:10]}"
    new_databases.append(before)
    hub.cli("backup", "restore", "--data", str(first["data"]),
            "--keys", str(first["keys"]), "--database", before)  # fmt: skip
    assert opened(hub, before, hers)[0] is not None

    # Never into an existing database, nor with the backups swapped or out of order.
    def refused(data: Path, keys: Path, database: str) -> str:
        done = hub.cli("backup", "restore", "--data", str(data), "--keys", str(keys),
                       "--database", database, check=False)  # fmt: skip
        assert done.returncode == 2, done.stdout
        return " ".join(done.stderr.split())

    assert f"the database {after} exists" in refused(first["data"], second["keys"], after)
    own = refused(first["data"], second["keys"], hub.settings.database)
    assert "exists: restore into a new one" in own
    swapped = refused(second["keys"], second["data"], "r_never")
    assert "--data takes a data backup and --keys a keys backup" in swapped
    assert "is older than the data backup" in refused(second["data"], first["keys"], "r_never")
    # Keys from another hub (a fresh one, nobody in it), though taken later: refused, and
    # the database it had begun is gone.
    time.sleep(1.1)
    elsewhere = make_hub(base_env())
    try:
        theirs = {"SINERGI_DATABASE": elsewhere.settings.database}
        other = hub.cli("backup", "run", "--to", str(tmp_path / "other"), "--json", env=theirs)
        [others_keys] = [Path(json.loads(x)["path"]) for x in other.stdout.splitlines()
                         if json.loads(x)["kind"] == "keys"]  # fmt: skip
        lacking = refused(second["data"], others_keys, "r_never")
        assert "the keys backup lacks 2 person(s) the data backup's facts name" in lacking
        never = "SELECT count(*) FROM pg_database WHERE datname = 'r_never'"
        assert restored(hub, hub.settings.database, never) == [(0,)]

        # `backup drop` removes what a restore made, and nothing else; a session of the
        # hub's role still open in it (someone reading the restore) is ended.
        reader = psycopg.connect(bootstrap.conninfo(hub.settings, "sinergi_owner", before))
        hub.cli("backup", "drop", "--database", before)
        gone = "SELECT count(*) FROM pg_database WHERE datname = %s"
        assert restored(hub, hub.settings.database, gone, before) == [(0,)]
        with pytest.raises(psycopg.OperationalError):
            reader.execute("SELECT 1")
        reader.close()
        mine = hub.cli("backup", "drop", "--database", hub.settings.database, check=False)
        assert mine.returncode == 2 and "is the hub's own database" in mine.stderr
        not_ours = hub.cli("backup", "drop", "--database", elsewhere.settings.database,
                           check=False)  # fmt: skip
        assert not_ours.returncode == 2
        assert "was not made by `sinergi backup restore`" in not_ours.stderr
    finally:
        drop_hub(elsewhere)
