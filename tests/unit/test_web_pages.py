"""The pieces pages are drawn with: charts that escape what they show, both languages for
every word, validation messages in Bahasa Indonesia, suggestions for coded fields."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from producers import forms
from producers.fields import FieldError
from producers.pseudonym import Pseudonymiser
from sinergi import i18n as cli_i18n
from sinergi.web import charts, dashboard, i18n
from sinergi.web.choices import choices
from sinergi.web.dashboard import duration
from tests.unit import web_fakes


def test_every_word_has_bahasa_indonesia_and_english() -> None:
    assert all(len(pair) == 2 and all(pair) for pair in i18n.WORDS.values())
    t_id, t_en = i18n.translator("id"), i18n.translator("en")
    assert t_id("login") == "Masuk" and t_en("login") == "Log in"
    assert i18n.language("fr") == "id"  # the default for anything unknown


# What post officers were shown in English in the browser (and the command line in Bahasa).
REPORTED = [
    "must not hold a NIK or a phone number (personal data)",
    "expected a whole number",
    "has 8 cells, the header 7",
    "does not match the NIK, which is of a female",
    "NIK must be 16 digits, got 14 (accepted only with documents FORGED)",
    "NIK serial 0000 is never issued (accepted only with documents FORGED)",
    "unknown value; expected one of SENT_HOME, HANDED_TO_POLICE, SHELTERED, RELEASED",
    "a NIK is required, or else a name with birth date or age and origin",
    "is not UTF-8 text: save it as CSV (UTF-8)",
    "expected the reporter's phone number or name",
]


def test_a_desks_validation_message_is_shown_in_bahasa_indonesia() -> None:
    assert i18n.problem("NIK must be 16 digits, got 14", "id") == "NIK harus 16 digit, tertulis 14"
    assert i18n.problem("is required", "id") == "wajib diisi"
    assert i18n.problem("is required", "en") == "is required"
    assert i18n.problem("a message no pattern knows", "id") == "a message no pattern knows"
    assert i18n.problem(REPORTED[-3], "id") == (
        "NIK wajib diisi, atau nama dengan tanggal lahir atau umur dan daerah asal"
    )
    assert i18n.problem(REPORTED[4], "id") == (
        "NIK harus 16 digit, tertulis 14 (diterima hanya dengan dokumen FORGED)"
    )


def test_the_browser_and_the_command_line_say_a_refusal_in_the_same_words() -> None:
    """One catalogue (sinergi.i18n): whatever the command line's own language is."""
    for lang in cli_i18n.LANGUAGES:
        cli_i18n.set_language(lang)
        for message in REPORTED:
            shown = i18n.problem(message, "id")
            assert shown == cli_i18n.problem_message(message, "id") != message
            assert i18n.problem(message, "en") == message
    cli_i18n.set_language(cli_i18n.DEFAULT)
    error = FieldError("", "has 8 cells, the header 7", 3)
    assert i18n.field_problem(error, "id") == "baris 3 memuat 8 sel, baris judul 7"
    assert i18n.field_problem(error, "en") == "row 3 has 8 cells, the header 7"


class DeskRecorder(web_fakes.FakeRecorder):
    """Checks the row as the post's desk does."""

    def record(self, agency: Any, unit: str, form_name: str, row: Any, officer: str) -> Any:
        desk = forms.desk_for("post", "eltari", Pseudonymiser(b"k" * 32))
        forms.record(desk, forms.FORMS[form_name], {**row, "officer": officer})
        raise AssertionError("the row should have been refused")


def test_a_refused_form_names_each_problem_next_to_its_field_in_bahasa() -> None:
    c = web_fakes.client(replace(web_fakes.services(), recorder=DeskRecorder()))
    token = web_fakes.log_in(c, "eltari")
    answer = c.post(
        "/record/interception",
        data={"csrf_token": token, "occurred_at": "2026-01-20T08:30", "nik": "5302014101900001",
              "sex": "L", "outcome": "SENT_HOME", "group_ref": "081234567890",
              "estimated_age": "dua"},
    )  # fmt: skip
    assert answer.status_code == 422
    page = answer.text
    assert 'id="e-sex" class="field-error" aria-live="polite">tidak cocok dengan NIK, milik' in page
    assert "tidak boleh memuat NIK atau nomor telepon (data pribadi)" in page
    assert ">harus bilangan bulat<" in page
    assert "does not match" not in page and "must not hold" not in page


def test_charts_escape_their_labels_and_show_their_numbers() -> None:
    bars = str(charts.bars([("<script>x</script>", 3.0), ("Kupang", 1.0)]))
    assert "<script>" not in bars and "&lt;script&gt;" in bars and ">3<" in bars
    lines = str(charts.lines(["2026-01", "2026-02"], {"<b>eltari</b>": [1.0, 2.0]}))
    assert "<b>" not in lines and "(3)" in lines
    assert str(charts.bars([])) == "" and str(charts.lines([], {})) == ""


def test_coded_fields_suggest_their_codes_and_free_fields_nothing() -> None:
    assert "SENT_HOME" in choices("interception", "outcome")
    assert "Timor Tengah Selatan" in choices("interception", "origin_regency")
    assert "DECEASED" in choices("repatriation", "kind")
    assert choices("interception", "nik") == [] and choices("interception", "name") == []


def test_every_suggestion_of_the_interception_form_is_accepted_by_the_desk() -> None:
    desk = forms.desk_for("post", "eltari", Pseudonymiser(b"k" * 32))
    base = {"occurred_at": "2026-01-20T08:30", "name": "Maria", "birth_date": "1990-01-01",
            "origin_regency": "5302", "sex": "P",
            "outcome": "SENT_HOME", "officer": "ELT-07"}  # fmt: skip
    for column in ("sex", "origin_regency", "destination_country", "sector", "exit_point",
                   "route", "documents", "outcome"):  # fmt: skip
        for value in choices("interception", column):
            forms.record(desk, forms.FORMS["interception"], {**base, column: value})


def test_time_to_acknowledge_reads_in_the_right_unit() -> None:
    assert [duration(s) for s in (None, 40, 600, 3 * 3600, 3 * 86400)] == [
        "-", "40 s", "10.0 min", "3.0 h", "3.0 d",
    ]  # fmt: skip


def test_the_dashboard_groups_dead_letters_by_their_reason_not_their_position() -> None:
    """A replay's reason names the position of the first copy, a reason quotes numbers:
    refused for the same reason, they make one bar, the most frequent first."""
    rows = [
        {"k": "replayed: the event id is already in the ledger (first at posts[0]@17)", "n": 2},
        {"k": "replayed: the event id is already in the ledger (first at posts[3]@904)", "n": 1},
        {"k": "schema id 987654 is unknown to the registry", "n": 1},
        {"k": "schema id 12 is unknown to the registry", "n": 1},
        {"k": "envelope.unit is not the signer", "n": 1},
    ]
    assert dashboard.dead_letter_kinds(rows) == [
        ("replayed: the event id is already in the ledger", 3.0),
        ("schema id N is unknown to the registry", 2.0),
        ("envelope.unit is not the signer", 1.0),
    ]
