"""A post records while the hub cannot be reached, sees what waits, and syncs later: the
command line over the desk's outbox, with Kafka and the registry standing in."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from typer.testing import CliRunner

from producers.outbox import DeskOutbox
from producers.pseudonym import load_or_create_key
from schemas import avro, crypto
from schemas.access import Role
from schemas.directory import Member, save
from schemas.topics import subject_for
from sinergi import bootstrap, cli, cli_desk
from sinergi.config import from_env
from tests.factories import desk_directory
from tests.unit.fake_kafka import FakeBroker

NIK = "5302014101900001"
RECORD = ["post", "record", "--at", "eltari", "--occurred-at", "2026-01-20T08:30",
          "--nik", NIK, "--outcome", "SENT_HOME", "--officer", "ELT-07"]  # fmt: skip


@pytest.fixture
def post_desk(tmp_path, monkeypatch):
    """A machine at the El Tari post: its keys and the directory, as `agency add` left
    them; the schema id looked up once, while the hub could be reached."""
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SINERGI_TOPIC_PREFIX", "t.")
    monkeypatch.setenv("SINERGI_LANG", "en")  # the English lines (Bahasa: test_cli_language)
    settings = from_env()
    load_or_create_key(settings.pseudonym_key_file, create=True)
    post = crypto.signing_private(settings.keys_dir / "post-eltari.signing.key", create=True)
    admin = Ed25519PrivateKey.generate()
    member = Member("post-eltari", Role.POST, crypto.public_signing(post), "2026-01-01T00:00:00")
    save(desk_directory(member), settings.directory_file, admin)
    settings.directory_anchor_file.write_text(crypto.public_signing(admin))
    settings.kafka_credentials_dir.mkdir(parents=True)
    (settings.kafka_credentials_dir / "post-eltari.password").write_text("secret")
    with bootstrap.desk_outbox(settings, "post-eltari") as outbox:
        subject = subject_for(settings.topic("posts.interception-recorded"))
        outbox.remember_schema(subject, avro.load("InterceptionRecorded").text, 7)
    for module in (cli, cli_desk):  # the desk's commands print with cli_desk's console
        monkeypatch.setattr(module, "out", Console(width=160))
    broker = FakeBroker(up=False)
    monkeypatch.setattr(bootstrap, "kafka_producer", lambda servers, **options: broker.connect())
    return settings, broker


class Ran:
    """A command's exit code and output, its lines unwrapped (rich wraps at 80 columns)."""

    def __init__(self, *args: str) -> None:
        result = CliRunner().invoke(cli.app, list(args))
        self.exit_code = result.exit_code
        self.lines = result.output.splitlines()
        self.output = " ".join(result.output.split())


run = Ran


def test_a_post_records_offline_sees_what_waits_and_syncs_when_the_hub_is_back(
    post_desk, monkeypatch
):
    _, broker = post_desk
    recorded = run(*RECORD)
    assert recorded.exit_code == 0, recorded.output
    assert "kept at the desk" in recorded.output
    assert "1 record(s) of post-eltari wait" in recorded.output
    assert "sinergi post sync --at eltari" in recorded.output
    assert "Traceback" not in recorded.output and "published" not in recorded.output

    listed = run("post", "pending", "--json")
    assert listed.exit_code == 0, listed.output
    [line] = listed.lines
    waiting = json.loads(line)
    assert (waiting["unit"], waiting["event_type"]) == ("post-eltari", "InterceptionRecorded")
    assert (waiting["attempts"], waiting["last_error"]) == (1, "KafkaTimeoutError")
    assert NIK not in listed.output
    table = run("post", "pending", "--at", "eltari")
    assert "1 record(s) wait for the hub" in table.output
    assert waiting["event_id"] in table.output
    # At 80 columns the table's columns would squeeze the attempts and the error to
    # nothing: each record on two lines instead, everything readable, the id whole.
    monkeypatch.setattr(cli_desk, "out", Console(width=80))
    narrow = Ran("post", "pending", "--at", "eltari")
    assert "attempts: 1" in narrow.output and "KafkaTimeoutError" in narrow.output
    assert f"  {waiting['event_id']}" in narrow.lines
    monkeypatch.setattr(cli_desk, "out", Console(width=160))
    assert f"{waiting['event_id']} (waiting at the desk)" in recorded.output  # to correct it

    still_down = run("post", "sync")
    assert still_down.exit_code == 1
    assert "kept at the desk" in still_down.output

    broker.up = True
    synced = run("post", "sync", "--at", "eltari")
    assert synced.exit_code == 0, synced.output
    assert "delivered 1 record(s) from post-eltari" in synced.output
    assert f"{waiting['event_id']} -> t.posts.interception-recorded[" in synced.output
    assert len(broker.records) == 1
    assert "nothing waits at the desk" in run("post", "pending").output


def test_a_post_online_publishes_as_before_and_the_same_row_again_is_kept_once(post_desk):
    _, broker = post_desk
    broker.up = True
    first = run(*RECORD)
    assert first.exit_code == 0, first.output
    assert "published 1 interception(s) from post-eltari" in first.output
    assert "-> t.posts.interception-recorded[" in first.output
    again = run(*RECORD)
    assert "published 0 interception(s)" in again.output
    assert "recorded at this desk before" in again.output
    assert len(broker.records) == 1


def test_every_agency_has_sync_and_pending(post_desk):
    for agency in ("post", "police", "bp3mi", "district", "hotline"):
        for command in ("sync", "pending"):
            shown = run(agency, command, "--help")
            assert shown.exit_code == 0, (agency, command, shown.output)
            assert "--at" in shown.output
    nothing = run("police", "pending")
    assert "no police desk on this machine has kept anything" in nothing.output


def test_outboxes_of_different_deployments_never_mix(post_desk):
    settings, _ = post_desk
    other = settings.with_overrides(topic_prefix="u.")
    assert settings.desk_dir != other.desk_dir
    assert DeskOutbox.units(other.desk_dir) == []
    assert settings.with_overrides(topic_prefix="").desk_dir == settings.home / "desk"


def test_an_edited_row_under_its_id_is_refused_by_row_also_in_a_dry_run(post_desk, tmp_path):
    """The file imported again with one row's outcome changed under its own id: refused
    with the row's number, by the import and by its dry run (which keeps nothing), and
    so are two rows of one file under one id with other content."""
    header = "event_id,occurred_at,nik,sex,outcome,officer\n"
    first_id, other_id = (
        "0b3c2f4e-1111-4222-8333-444455556666",
        "0b3c2f4e-1111-4222-8333-777777777777",
    )
    line = "{},2026-01-20T08:30,{},P,{},ELT-07\n"
    kept = tmp_path / "kept.csv"
    kept.write_text(header + line.format(first_id, NIK, "SENT_HOME"))
    assert run("post", "import", "interception", str(kept), "--at", "eltari").exit_code == 0
    edited = tmp_path / "edited.csv"
    edited.write_text(
        header + line.format(other_id, "5302015203850002", "SENT_HOME")
        + line.format(first_id, NIK, "HANDED_TO_POLICE")
    )  # fmt: skip
    for dry in ([], ["--dry-run"]):
        refused = run("post", "import", "interception", str(edited), "--at", "eltari", *dry)
        assert refused.exit_code == 2, refused.output
        assert f"row 3, field event_id: {first_id}: another record with this id" in refused.output
    twice = tmp_path / "twice.csv"
    twice.write_text(
        header + line.format(other_id, NIK, "SENT_HOME") + line.format(other_id, NIK, "SHELTERED")
    )
    refused = run("post", "import", "interception", str(twice), "--at", "eltari", "--dry-run")
    assert refused.exit_code == 2 and "row 2, field event_id" in refused.output
    assert "row 3, field event_id" in refused.output
    again = run("post", "import", "interception", str(kept), "--at", "eltari", "--dry-run")
    assert again.exit_code == 0, again.output  # the same record again: valid
