"""The command line speaks Bahasa Indonesia by default and English on request, from one
catalogue; one option name for a desk's place; `--occurred-at` is now unless given; CSV
templates; `--version`; a refusal is one sentence, never a traceback."""

from __future__ import annotations

import csv
import io
import json
import re
import string
import subprocess
import sys
from datetime import UTC, datetime

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka.errors import TopicAuthorizationFailedError
from rich.console import Console
from typer.testing import CliRunner

from producers import forms
from producers.fields import FieldError
from producers.forms import desk_for
from producers.pseudonym import Pseudonymiser, load_or_create_key
from schemas import crypto
from schemas.access import Role
from schemas.directory import Member, save
from sinergi import bootstrap, buildinfo, cli, cli_desk, config, i18n, members, police, views
from sinergi.config import ConfigError, from_env
from tests.factories import desk_directory
from tests.unit.fake_kafka import FakeBroker

NIK = "5302014101900001"


@pytest.fixture(autouse=True)
def _language_restored():
    before = i18n.language()
    yield
    i18n.set_language(before)


# --- the catalogue ------------------------------------------------------------------------------


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("table", [i18n.MESSAGES, i18n.COLUMNS], ids=["messages", "columns"])
def test_every_text_has_both_languages_with_the_same_blanks(table):
    for key, texts in table.items():
        assert set(texts) == set(i18n.LANGUAGES), key
        assert all(texts[lang].strip() for lang in i18n.LANGUAGES), key
        assert _fields(texts["id"]) == _fields(texts["en"]), key


def test_every_column_of_every_form_has_help_in_both_languages():
    for form in forms.FORMS.values():
        for column in form.columns:
            for lang in i18n.LANGUAGES:
                i18n.set_language(lang)
                assert i18n.column_help(form.name, column), (form.name, column, lang)


def test_every_choice_column_is_a_column_and_lists_every_bahasa_word_it_accepts():
    columns = {c for form in forms.FORMS.values() for c in form.columns}
    qualified = {f"{form.name}.{c}" for form in forms.FORMS.values() for c in form.columns}
    for key, parser in i18n.CHOICES.items():
        assert key in columns | qualified, key
        listed = i18n.choices(parser)
        for member, aliases in parser.aliases().items():
            assert member.name in listed
            for alias in aliases:
                # Each word is accepted and shown (one spelling of laki-laki / laki_laki).
                assert parser(alias) is member
                assert (
                    alias in listed
                    or alias.replace("_", "-") in listed
                    or (alias.replace("-", "_") in listed)
                ), (key, alias)


def test_the_ledger_and_the_alerts_are_shown_in_bahasa_and_in_english():
    summary = views.LedgerSummary(
        cases=3, strong=2, weak=1, repeat=0, minors=1, by_status={"INTERCEPTED": 3},
        interceptions=3, by_post={"eltari": 3}, recruiters=1, alerts=2, alerts_open=1,
        alerts_acknowledged=1, alerts_withdrawn=0,
    )  # fmt: skip
    alert = {
        "triggered_at": datetime(2026, 1, 20, tzinfo=UTC), "status": views.WITHDRAWN,
        "severity": "HIGH", "rule": "MINOR_INTERCEPTED", "summary": "Anak dicegah",
        "acknowledged_at": None, "withdrawn_at": datetime(2026, 1, 21, tzinfo=UTC),
        "alert_id": "0b7c2f4e-1111-4c2a-9d1f-000000000001",
    }  # fmt: skip

    def shown(lang: str, width: int) -> str:
        i18n.set_language(lang)
        console = Console(width=width, record=True, file=io.StringIO())
        console.print(views.render_summary(summary))
        console.print(views.render_alerts([alert], width=width))
        return " ".join(console.export_text().split())

    for width in (200, 60):  # the table, and the blocks of a narrow console
        bahasa, english = shown("id", width), shown("en", width)
        assert "peringatan untuk polisi" in bahasa and "dicabut" in bahasa
        assert "alerts for police" not in bahasa and "withdrawn" not in bahasa
        assert "alerts for police" in english and "withdrawn" in english


def test_the_help_of_a_column_lists_the_values_and_their_bahasa_words():
    i18n.set_language("id")
    shown = i18n.column_help("interception", "outcome")
    assert "SENT_HOME (dipulangkan)" in shown and "HANDED_TO_POLICE (diserahkan_ke_polisi" in shown
    assert shown.startswith("tindak lanjut. Nilai:")
    assert "DECEASED (jenazah, meninggal" in i18n.column_help("repatriation", "kind")
    assert "VILLAGE_SOCIALISATION (sosialisasi" in i18n.column_help("prevention", "kind")
    i18n.set_language("en")
    assert i18n.column_help("interception", "outcome").startswith("outcome. Values: SENT_HOME")


@pytest.mark.parametrize(
    "patterns",
    [i18n.PROBLEMS, i18n.SENTENCES, i18n.USAGE_ERRORS],
    ids=["problems", "sentences", "usage"],
)
def test_every_pattern_fills_its_template_from_its_own_groups(patterns):
    for pattern, template in patterns:
        groups = re.compile(pattern).groups
        used = {int(name) for name in _fields(template)}
        assert used == set(range(groups)), pattern


def test_a_field_problem_reads_in_bahasa_with_its_row_and_column():
    i18n.set_language("id")
    error = FieldError("nik", "NIK must be 16 digits, got 14", 7)
    assert i18n.problem(error) == "baris 7, kolom nik: NIK harus 16 digit, tertulis 14"
    forged = FieldError(
        "nik", "NIK province 31 is not NTT (53) (accepted only with documents FORGED)"
    )
    assert i18n.problem(forged) == (
        "kolom nik: provinsi NIK 31 bukan NTT (53) (diterima hanya dengan dokumen FORGED)"
    )
    assert i18n.problem(FieldError("", "has 9 cells, the header 8", 4)) == (
        "baris 4 memuat 9 sel, baris judul 8"
    )
    i18n.set_language("en")
    assert i18n.problem(error) == "row 7, field nik: NIK must be 16 digits, got 14"


BAD_ROWS = [
    {"occurred_at": "kemarin", "nik": "53020141019000", "sex": "X", "outcome": "pergi",
     "officer": "ELT 07", "destination_country": "Narnia", "estimated_age": "dua"},
    {"occurred_at": "2099-01-01T08:00", "nik": "3171014101900001", "outcome": "SENT_HOME",
     "officer": "ELT-07", "origin_regency": "Jakarta", "documents": "X;Y", "route": "laut"},
    {"occurred_at": "2026-01-20T08:30", "name": "Maria", "outcome": "SENT_HOME",
     "officer": "ELT-07", "birth_date": "1990-13-01", "recruiter": "-", "colour": "red"},
    {"occurred_at": "2026-01-20T08:30", "nik": "5302014101900001", "sex": "L",
     "outcome": "SENT_HOME", "officer": "ELT-07", "birth_date": "1991-01-01",
     "event_id": "not-a-uuid"},
]  # fmt: skip


def test_what_an_officer_typically_gets_wrong_is_told_in_bahasa():
    """Every problem of typical mistaken rows has its Bahasa sentence (none left in English)."""
    desk = desk_for("post", "eltari", Pseudonymiser(b"k" * 32))
    with pytest.raises(forms.InvalidInputError) as refused:
        forms.record_rows(desk, forms.FORMS["interception"], BAD_ROWS)
    i18n.set_language("id")
    assert len(refused.value.errors) >= 12
    for error in refused.value.errors:
        shown = i18n.problem(error)
        assert shown.startswith(f"baris {error.row}"), shown
        assert error.message not in shown, shown  # translated, not left in English


def test_library_sentences_are_translated_line_by_line():
    i18n.set_language("id")
    ambiguous = "2 alert ids begin with 0b7c2f4e; give more of the id:\n  0b7c2f4e-1\n  0b7c2f4e-2"
    assert i18n.sentence(ambiguous).splitlines() == [
        "2 id alert diawali 0b7c2f4e; berikan lebih banyak digit id-nya:",
        "  0b7c2f4e-1",
        "  0b7c2f4e-2",
    ]
    assert i18n.sentence("no case for this NIK") == "tidak ada kasus untuk NIK ini"
    assert i18n.sentence("something new") == "something new"


# --- choosing the language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "id"),
        ({"LANG": "C.UTF-8"}, "id"),
        ({"LANG": "id_ID.UTF-8"}, "id"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "id_ID.UTF-8"}, "id"),
        ({"LC_MESSAGES": "en_GB.UTF-8", "LANG": "id_ID.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "SINERGI_LANG": "id"}, "id"),
        ({"SINERGI_LANG": "EN"}, "en"),
    ],
)
def test_the_language_comes_from_sinergi_lang_else_the_locale(env, expected):
    assert config.language(env) == expected
    assert from_env(env).lang == expected


def test_another_sinergi_lang_is_refused():
    with pytest.raises(ConfigError, match="SINERGI_LANG"):
        config.language({"SINERGI_LANG": "fr"})


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--lang", "en", "post", "record"], "en"),
        (["--lang=id", "ledger", "summary"], "id"),
        (["post", "record", "--lang", "en"], None),  # a command's own option, not ours
        (["--lang", "fr"], None),
        ([], None),
    ],
)
def test_the_lang_option_is_read_before_the_help_texts_are_made(argv, expected):
    assert i18n.argv_language(argv) == expected


def _sinergi(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "sinergi", *args],
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_is_in_bahasa_by_default_and_in_english_with_lang_en():
    """Help texts are made at start-up, so each language is a process of its own (the
    locale's part is config.language's, tested above)."""
    bahasa = _sinergi("post", "record", "--help")
    assert bahasa.returncode == 0, bahasa.stderr
    assert "Catat satu intersepsi" in bahasa.stdout
    assert "bawaan: sekarang, WITA" in bahasa.stdout
    assert "SENT_HOME (dipulangkan)" in bahasa.stdout
    assert "Opsi" in bahasa.stdout
    english = _sinergi("--lang", "en", "alerts", "ack", "--help")
    assert "Acknowledge an alert" in english.stdout
    assert "INVESTIGATING (diselidiki, penyelidikan)" in english.stdout


# Walks the whole command tree of ``sinergi`` (every group, command, argument and option)
# and prints each help text, keyed by command path and parameter name.
_HELP_TREE = """
import json
import typer
from sinergi.cli import app

texts = {}

def walk(command, path):
    texts[path + "#help"] = (command.help or "").strip()
    for param in command.params:
        if getattr(param, "help", None):
            texts[f"{path}#{param.name}"] = param.help.strip()
    if hasattr(command, "list_commands"):
        ctx = type(command).context_class(command)
        for name in command.list_commands(ctx):
            walk(command.get_command(ctx, name), f"{path} {name}")

walk(typer.main.get_command(app), "sinergi")
print(json.dumps(texts))
"""
# Options Typer itself adds (shell completion): its own words, not ours.
_TYPERS_OWN = {"install_completion", "show_completion"}


def _help_texts(lang: str) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", _HELP_TREE],
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "SINERGI_LANG": lang},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_every_command_and_option_of_every_module_has_help_in_both_languages():
    """Also the commands other modules add (web, officer, notify, report, ...): a help
    text that reads the same in both languages was written in one of them only."""
    bahasa, english = _help_texts("id"), _help_texts("en")
    assert bahasa.keys() == english.keys()
    assert {"sinergi notify add#webhook", "sinergi report monthly#k"} <= bahasa.keys()
    assert len(bahasa) > 400  # the walk reached every command
    untranslated = [
        key
        for key, text in bahasa.items()
        if text and text == english[key] and key.rpartition("#")[2] not in _TYPERS_OWN
    ]
    assert untranslated == []
    assert bahasa["sinergi officer#help"] == "Petugas yang masuk ke aplikasi peramban."


def test_a_usage_error_is_in_bahasa():
    missing = _sinergi("alerts", "ack", "0b7c2f4e")
    assert missing.returncode == 2
    assert "Opsi wajib tidak diberikan: '--officer'." in missing.stderr
    i18n.set_language("en")
    assert i18n.usage_error("Missing option '--officer'.") == "Missing option '--officer'."


def test_version_names_the_package_version_and_the_commit():
    shown = _sinergi("--version")
    assert shown.returncode == 0
    assert shown.stdout.startswith(f"sinergi {buildinfo.version()}")
    commit = buildinfo.commit()
    assert commit == buildinfo.UNKNOWN or f"(commit {commit})" in shown.stdout


# --- a post's desk, through the command line ------------------------------------------------------


@pytest.fixture
def desk_machine(tmp_path, monkeypatch):
    """The El Tari post's machine (keys, directory, credential), the hub reachable."""
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SINERGI_TOPIC_PREFIX", "t.")
    monkeypatch.delenv("SINERGI_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    settings = from_env()
    load_or_create_key(settings.pseudonym_key_file, create=True)
    post = crypto.signing_private(settings.keys_dir / "post-eltari.signing.key", create=True)
    admin = Ed25519PrivateKey.generate()
    member = Member("post-eltari", Role.POST, crypto.public_signing(post), "2026-01-01T00:00:00")
    save(desk_directory(member), settings.directory_file, admin)
    settings.directory_anchor_file.write_text(crypto.public_signing(admin))
    settings.kafka_credentials_dir.mkdir(parents=True)
    (settings.kafka_credentials_dir / "post-eltari.password").write_text("secret")
    for module in (cli, cli_desk):  # the desk's commands print with cli_desk's consoles
        monkeypatch.setattr(module, "out", Console(width=200))
        monkeypatch.setattr(module, "err", Console(width=200, stderr=True))
    return settings


class Ran:
    def __init__(self, *args: str) -> None:
        result = CliRunner().invoke(cli.app, list(args))
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.output = " ".join((result.stdout + result.stderr).split())


RECORD = ["post", "record", "--nik", NIK, "--outcome", "dipulangkan", "--officer", "ELT-07"]


def test_occurred_at_is_now_unless_given_and_the_place_is_at_everywhere(desk_machine):
    checked = Ran(*RECORD, "--at", "eltari", "--dry-run", "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout) | {"event_ids": []} == {
        "form": "interception",
        "valid": 1,
        "sent": 0,
        "event_ids": [],
    }
    bahasa = Ran(*RECORD, "--at", "eltari", "--dry-run")
    assert bahasa.output == "sah: 1 baris intersepsi; tidak ada yang dikirim"


def test_post_is_the_hidden_former_name_of_at(desk_machine):
    former = Ran(*RECORD, "--post", "eltari", "--dry-run", "--json")
    assert former.exit_code == 0, former.output
    assert json.loads(former.stdout)["valid"] == 1
    both = Ran(*RECORD, "--post", "eltari", "--at", "tenau", "--dry-run")
    assert both.exit_code == 2
    assert "--post adalah nama lama dari --at" in both.output
    neither = Ran(*RECORD, "--dry-run")
    assert neither.exit_code == 2
    assert "opsi --at wajib diisi" in neither.output
    assert "--post" not in Ran("post", "record", "--help").stdout


def test_a_refused_row_is_told_in_bahasa_and_never_echoes_the_nik(desk_machine):
    refused = Ran("post", "record", "--at", "eltari", "--nik", "53020141019000", "--outcome",
                  "pergi", "--officer", "ELT-07", "--occurred-at", "kemarin")  # fmt: skip
    assert refused.exit_code == 2
    assert "ditolak, tidak ada yang dikirim: 3 masalah" in refused.output
    assert "kolom nik: NIK harus 16 digit, tertulis 14" in refused.output
    assert "kolom outcome: nilai tidak dikenal; pilih salah satu:" in refused.output
    assert "kolom occurred_at: harus tanggal dan jam seperti 2026-01-20T08:30" in refused.output
    assert "53020141019000" not in refused.output and "Traceback" not in refused.output


def test_recording_prints_json_when_asked(desk_machine, monkeypatch):
    broker = FakeBroker(up=True)
    monkeypatch.setattr(bootstrap, "kafka_producer", lambda servers, **o: broker.connect())
    from schemas import avro
    from schemas.topics import subject_for

    with bootstrap.desk_outbox(desk_machine, "post-eltari") as outbox:
        subject = subject_for(desk_machine.topic("posts.interception-recorded"))
        outbox.remember_schema(subject, avro.load("InterceptionRecorded").text, 7)
    done = Ran(*RECORD, "--at", "eltari", "--json")
    assert done.exit_code == 0, done.output
    record = json.loads(done.stdout)
    assert (record["unit"], record["form"], record["published"]) == (
        "post-eltari",
        "interception",
        1,
    )
    assert record["sent"][0]["topic"] == "t.posts.interception-recorded"
    assert record["sent"][0]["event_id"] == record["event_ids"][0]
    listed = Ran("forms", "--json")
    assert {json.loads(line)["form"] for line in listed.stdout.splitlines()} == set(forms.FORMS)


def test_a_template_is_an_empty_csv_with_the_forms_header(desk_machine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = Ran("forms", "template", "repatriation")
    assert written.exit_code == 0, written.output
    with (tmp_path / "repatriation.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [list(forms.FORMS["repatriation"].columns)]
    assert "sinergi bp3mi import repatriation repatriation.csv" in written.output
    again = Ran("forms", "template", "repatriation")
    assert again.exit_code == 2 and "--force" in again.output
    assert Ran("forms", "template", "repatriation", "--force").exit_code == 0
    shown = Ran("forms", "template", "tip", "-")
    assert shown.stdout.splitlines() == [",".join(forms.FORMS["tip"].columns)]
    unknown = Ran("forms", "template", "visa")
    assert unknown.exit_code == 2 and "formulir tidak dikenal" in unknown.output


# --- refusals: one sentence ---------------------------------------------------------------------


def test_a_permission_refused_by_postgresql_is_one_sentence(desk_machine, monkeypatch):
    def refused(settings):
        raise psycopg.errors.InsufficientPrivilege("permission denied for table metrics_daily")

    monkeypatch.setattr(views, "ledger_summary", refused)
    shown = Ran("ledger", "summary")
    assert shown.exit_code == 2
    assert shown.stderr.strip() == (
        "kesalahan: PostgreSQL menolak: peran ini tidak berhak (permission denied for table"
        " metrics_daily); analis hanya membaca view v_*"
    )


def test_a_kafka_authorisation_error_is_one_sentence(desk_machine, monkeypatch):
    def refused(settings, **options):
        raise TopicAuthorizationFailedError("Topic authorization failed")
        yield  # a generator, like police.follow

    monkeypatch.setattr(police, "follow", refused)
    shown = Ran("--lang", "en", "alerts", "follow")
    assert shown.exit_code == 2
    assert shown.stderr.strip().startswith(
        "error: Kafka refused: this member may not use this topic"
    )
    assert "Traceback" not in shown.output


def test_a_missing_analyst_password_is_one_sentence(desk_machine):
    shown = Ran("ledger", "recruiters")
    assert shown.exit_code == 2
    assert shown.stderr.strip().startswith("kesalahan: tidak ada rahasia sinergi_analyst.password")
    assert "Traceback" not in shown.output


def test_a_file_without_permission_is_one_sentence(desk_machine, monkeypatch):
    def refused(settings, limit):
        raise PermissionError(13, "Permission denied", "/srv/secrets/sinergi_analyst.password")

    monkeypatch.setattr(views, "recruiters", refused)
    shown = Ran("ledger", "recruiters")
    assert shown.stderr.strip() == (
        "kesalahan: tidak ada izin untuk membuka /srv/secrets/sinergi_analyst.password"
    )


def test_agency_add_refuses_a_unit_the_reference_data_does_not_know(desk_machine):
    shown = Ran("agency", "add", "post-eltary", "--role", "post")
    assert shown.exit_code == 2
    assert "post-eltary bukan satuan dalam data rujukan" in shown.output
    assert "post-eltari" in shown.output  # the known ones are named
    with pytest.raises(members.MemberError, match="not a unit of the reference data"):
        members.check_member_id("district-9999", Role.DISTRICT)
    with pytest.raises(members.MemberError, match="names a post, not a police"):
        members.check_member_id("post-tenau", Role.POLICE)
    for unit, role in [("post-atapupu", Role.POST), ("police-polres-5304", Role.POLICE),
                       ("district-5371", Role.DISTRICT), ("ops", Role.OPS),
                       ("post-admin", Role.POST), ("hub-processor", Role.PROCESSOR)]:  # fmt: skip
        members.check_member_id(unit, role)


def test_a_case_whose_person_was_erased_says_so_in_the_chosen_language():
    head = {"case_id": "nik:" + "a" * 32, "match_kind": "strong", "status": "INTERCEPTED",
            "sex": "P", "origin_regency": "5302", "minor": False, "interceptions": 1,
            "registrations": 0, "placements": 0, "repatriations": 0, "tips": 0,
            "investigation": "OPEN", "recruiters": [], "erased_at": None}  # fmt: skip

    def shown(case: dict[str, object]) -> str:
        console = Console(width=200, record=True)
        console.print(views.render_case(case, []))
        return console.export_text()

    i18n.set_language("en")
    assert "erased" not in shown(head)
    erased = head | {"erased_at": datetime(2026, 3, 1, 20, 0, tzinfo=UTC)}
    assert "erased on 2026-03-02" in shown(erased)  # the day in WITA
    i18n.set_language("id")
    assert "dihapus pada 2026-03-02" in shown(erased)


def test_a_restore_that_failed_and_left_its_database_tells_both_in_bahasa(
    desk_machine, monkeypatch
):
    from sinergi import backup

    def refused(settings, data, keys, database):
        exc = backup.BackupError(
            "the keys backup lacks 2 person(s) the data backup's facts name: it is another"
            " hub's, or older than the data backup"
        )
        exc.add_note(
            f"the database {database} it began is left, because:\n{database} is in use by"
            " sessions this role may not end: close them"
        )
        raise exc

    monkeypatch.setattr(backup, "restore", refused)
    shown = Ran("backup", "restore", "--data", "d.dump", "--keys", "k.dump", "--database", "r1")
    assert shown.exit_code == 2
    assert shown.stderr.splitlines() == [
        "kesalahan: cadangan kunci tidak memuat 2 orang yang disebut fakta di cadangan data:"
        " cadangan itu milik hub lain, atau lebih tua daripada cadangan data",
        "  basis data r1 yang sudah dimulainya tertinggal, sebab:",
        "  r1 sedang dipakai sesi yang tidak boleh diakhiri peran ini: tutup sesi itu",
    ]
