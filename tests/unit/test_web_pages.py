"""The pieces pages are drawn with: charts that escape what they show, both languages for
every word, validation messages in Bahasa Indonesia, suggestions for coded fields."""

from __future__ import annotations

from producers import forms
from producers.pseudonym import Pseudonymiser
from sinergi.web import charts, i18n
from sinergi.web.choices import choices
from sinergi.web.dashboard import duration


def test_every_word_has_bahasa_indonesia_and_english() -> None:
    assert all(len(pair) == 2 and all(pair) for pair in i18n.WORDS.values())
    t_id, t_en = i18n.translator("id"), i18n.translator("en")
    assert t_id("login") == "Masuk" and t_en("login") == "Log in"
    assert i18n.language("fr") == "id"  # the default for anything unknown


def test_a_desks_validation_message_is_shown_in_bahasa_indonesia() -> None:
    assert i18n.problem("NIK must be 16 digits, got 14", "id") == "NIK harus 16 digit, terisi 14"
    assert i18n.problem("is required", "id") == "wajib diisi"
    assert i18n.problem("is required", "en") == "is required"
    assert i18n.problem("a message no pattern knows", "id") == "a message no pattern knows"


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
