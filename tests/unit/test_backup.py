"""Backups' decisions without a database (sinergi/backup.py): what a file's name says,
which backups ``backup prune`` deletes at a moment (keys after 35 days, the last one too;
data after 400), that a later moment is never applied, that a damaged or unmanifested
backup is refused, and the settings. (The dumps and restores on the real stack:
tests/integration/test_backup.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sinergi import backup
from sinergi.backup import Backup, BackupError, Retention
from sinergi.config import ConfigError, from_env

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
RETENTION = Retention(keys=35 * DAY, data=400 * DAY)


def made(kind: str, age: timedelta, root: Path | None = None) -> Backup:
    at = NOW - age
    folder = (root or Path("/backups")) / kind
    return Backup(kind, "sinergi", at, folder / backup.file_name(kind, "sinergi", at))


def write(root: Path, kind: str, age: timedelta) -> Backup:
    """A backup file and its manifest, as ``backup run`` leaves them."""
    one = made(kind, age, root)
    one.path.parent.mkdir(parents=True, exist_ok=True)
    one.path.write_bytes(f"{kind} {age}".encode())
    manifest = {"kind": kind, "taken_at": one.taken_at.isoformat(),
                "sha256": backup.sha256_of(one.path)}  # fmt: skip
    one.manifest.write_text(json.dumps(manifest))
    return one


def test_a_backup_file_is_named_by_kind_database_and_utc_second():
    at = datetime(2026, 12, 3, 5, 30, 7, tzinfo=UTC)
    name = backup.file_name("keys", "t1a2b", at)
    assert name == "keys-t1a2b-20261203T053007Z.dump"
    assert backup.parse(Path("/x") / name) == Backup("keys", "t1a2b", at, Path("/x") / name)
    # A database name with dashes still parses; manifests and partial dumps are no backups.
    assert backup.parse(Path("data-my-hub-20261203T053007Z.dump")).database == "my-hub"
    for other in ("keys-t1-20261203T053007Z.json", "keys-t1-20261203T053007Z.dump.partial",
                  "notes.txt", "keys-20261203T053007Z.dump"):  # fmt: skip
        assert backup.parse(Path(other)) is None


def test_keys_backups_go_after_35_days_and_data_backups_after_400():
    keys_young, keys_old = made("keys", 35 * DAY), made("keys", 35 * DAY + timedelta(seconds=1))
    data_young, data_old = made("data", 400 * DAY), made("data", 401 * DAY)
    going = backup.expired([keys_young, keys_old, data_young, data_old], RETENTION, NOW)
    assert going == [data_old, keys_old]  # oldest first


def test_the_last_keys_backup_expires_too_so_an_erasure_reaches_every_backup():
    only = made("keys", 36 * DAY)
    assert backup.expired([only], RETENTION, NOW) == [only]


def test_a_keys_backup_taken_after_an_erasure_is_what_stays():
    before = made("keys", 2 * DAY)  # held the erased person's key
    after = made("keys", 1 * DAY)
    later = NOW - DAY + 35 * DAY - timedelta(hours=1)  # the later one still within 35 days
    assert backup.expired([before, after], RETENTION, later) == [before]


def test_retention_comes_from_the_settings(tmp_path):
    s = from_env({"SINERGI_HOME": str(tmp_path), "SINERGI_BACKUP_KEYS_DAYS": "7",
                  "SINERGI_BACKUP_DATA_DAYS": "90"})  # fmt: skip
    assert Retention.of(s) == Retention(keys=7 * DAY, data=90 * DAY)
    assert s.backups_dir == tmp_path / "backups"
    elsewhere = from_env({"SINERGI_HOME": str(tmp_path), "SINERGI_BACKUP_DIR": "/srv/b"})
    assert elsewhere.backups_dir == Path("/srv/b")
    assert Retention.of(elsewhere) == RETENTION
    with pytest.raises(ConfigError, match="SINERGI_BACKUP_KEYS_DAYS must be at least 1"):
        from_env({"SINERGI_BACKUP_KEYS_DAYS": "0"})


def test_a_later_moment_may_be_looked_at_never_applied():
    backup.check_moment(NOW + DAY, NOW, applying=False)
    backup.check_moment(NOW - DAY, NOW, applying=True)
    with pytest.raises(BackupError, match="would delete backups early"):
        backup.check_moment(NOW + DAY, NOW, applying=True)


def test_found_lists_the_backups_of_each_folder_oldest_first(tmp_path):
    newer = write(tmp_path, "keys", DAY)
    older = write(tmp_path, "data", 2 * DAY)
    (tmp_path / "keys" / "README").write_text("not a backup")
    misplaced = tmp_path / "data" / newer.path.name  # a keys backup in data/ is not counted
    misplaced.write_bytes(b"x")
    assert backup.found(tmp_path) == [older, newer]
    assert backup.found(tmp_path / "nothing-here") == []


def test_a_damaged_or_unmanifested_backup_is_refused(tmp_path):
    one = write(tmp_path, "data", DAY)
    assert backup.read_manifest(one.path)["kind"] == "data"
    one.path.write_bytes(b"changed")
    with pytest.raises(BackupError, match="does not match its manifest's sha256"):
        backup.read_manifest(one.path)
    one.manifest.unlink()
    with pytest.raises(BackupError, match="no manifest beside"):
        backup.read_manifest(one.path)


def test_prune_lists_first_and_deletes_with_apply(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sinergi import cli

    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SINERGI_BACKUP_DIR", str(tmp_path / "b"))
    old_keys = write(tmp_path / "b", "keys", 500 * DAY)
    old_data = write(tmp_path / "b", "data", 500 * DAY)
    keys = write(tmp_path / "b", "keys", 0 * DAY)
    data = write(tmp_path / "b", "data", 0 * DAY)
    # Judged as of NOW: the backups "of today" are NOW's, so the moment is given.
    at = ["--at", "2026-03-01T16:00"]  # NOW, in WITA
    listed = CliRunner().invoke(cli.app, ["--lang", "en", "backup", "prune", *at])
    assert listed.exit_code == 0, listed.output
    assert "2 backup(s) past their retention" in listed.output
    assert old_keys.path.exists() and old_data.path.exists()
    applied = CliRunner().invoke(cli.app, ["--lang", "en", "backup", "prune", "--apply", *at])
    assert applied.exit_code == 0, applied.output
    assert "2 backup(s) deleted" in applied.output
    assert not old_keys.path.exists() and not old_keys.manifest.exists()
    assert not old_data.path.exists() and not old_data.manifest.exists()
    assert keys.path.exists() and data.path.exists()
    later = CliRunner().invoke(
        cli.app, ["--lang", "en", "backup", "prune", "--apply", "--at", "2099-01-01"]
    )
    assert later.exit_code == 2 and "would delete backups early" in later.output
    assert keys.path.exists()


def test_a_vault_in_its_own_database_is_backed_up_too_and_holds_the_keys(tmp_path):
    alone = from_env({"SINERGI_HOME": str(tmp_path)})
    assert backup.databases(alone) == ["sinergi"]
    apart = from_env({"SINERGI_HOME": str(tmp_path), "SINERGI_VAULT_DATABASE": "vault"})
    assert backup.databases(apart) == ["sinergi", "vault"]
