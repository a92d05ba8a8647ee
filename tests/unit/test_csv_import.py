"""Importing a CSV file: every problem is named by row and field, never a traceback, and
nothing is sent unless the whole file is valid."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers import formkit
from producers.fields import CELL_MAX, InvalidInputError
from producers.forms import FORMS, desk_for, read_csv, record_rows
from producers.pseudonym import Pseudonymiser
from schemas.contract import violations
from schemas.model import InterceptionRecorded

NOW = datetime(2026, 6, 1, tzinfo=UTC)
NIK = "5302014101900001"
INTERCEPTION = FORMS["interception"]
DESK = desk_for("post", "eltari", Pseudonymiser(b"k" * 32))
HEADER = ["occurred_at", "nik", "sex", "origin_regency", "documents", "outcome", "officer"]
GOOD = ["2026-01-20T08:30", NIK, "P", "5302", "TOURIST_VISA;NOT_REGISTERED", "dipulangkan", "E-7"]


def write(tmp_path: Path, content: str | bytes, name: str = "rows.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def csv_text(*rows: list[str], delimiter: str = ",") -> str:
    return "".join(delimiter.join(row) + "\r\n" for row in rows)


def problems(path: Path) -> list[tuple[int | None, str]]:
    """(row, field) of every problem reading and recording the file, which must fail."""
    with pytest.raises(InvalidInputError) as info:
        record_rows(DESK, INTERCEPTION, read_csv(path), now=NOW)
    return [(e.row, e.field) for e in info.value.errors]


def refusal(path: Path) -> str:
    with pytest.raises(InvalidInputError) as info:
        record_rows(DESK, INTERCEPTION, read_csv(path), now=NOW)
    return str(info.value)


def test_a_valid_file_becomes_its_events(tmp_path):
    path = write(tmp_path, csv_text(HEADER, GOOD, [*GOOD[:6], "E-8"]))
    events = record_rows(DESK, INTERCEPTION, read_csv(path), now=NOW)
    assert len(events) == 2 and all(isinstance(e, InterceptionRecorded) for e in events)


def test_a_huge_cell_is_refused_by_row_and_field_without_a_traceback(tmp_path):
    huge = "7" * 1_000_000
    path = write(tmp_path, csv_text(HEADER, GOOD, [GOOD[0], huge, *GOOD[2:]]))
    with pytest.raises(InvalidInputError) as info:
        read_csv(path)
    assert [(e.row, e.field, e.message) for e in info.value.errors] == [
        (3, "nik", f"is longer than {CELL_MAX} characters")
    ]
    assert "7777777" not in str(info.value)


def test_a_cell_of_exactly_the_limit_is_read(tmp_path):
    path = write(tmp_path, csv_text(HEADER, [*GOOD[:6], "E" * CELL_MAX]))
    assert read_csv(path)[0]["officer"] == "E" * CELL_MAX
    assert problems(path) == [(2, "officer")]  # not a staff code: refused by its parser


@pytest.mark.parametrize(
    ("occurred_at", "message"),
    [
        ("0001-01-01T00:00", "must not be before 2000-01-01"),
        ("0001-01-01", "must not be before 2000-01-01"),
        ("1999-12-31T23:59+00:00", "must not be before 2000-01-01"),
        ("9999-12-31T23:59-12:00", "is out of range"),
        ("9999-12-31T23:59", "is in the future"),
        ("2026-02-30T08:00", "expected a date and time"),
    ],
)
def test_a_time_out_of_range_is_a_field_error(tmp_path, occurred_at, message):
    path = write(tmp_path, csv_text(HEADER, [occurred_at, *GOOD[1:]]))
    assert problems(path)[0] == (2, "occurred_at")
    assert f"row 2, field occurred_at: {message}" in refusal(path)


def test_a_row_with_more_cells_than_the_header_is_refused(tmp_path):
    rows = [HEADER, GOOD, GOOD, GOOD, GOOD, GOOD, [*GOOD, "x", "y", "z", "w", "v"]]
    path = write(tmp_path, csv_text(*rows))
    with pytest.raises(InvalidInputError) as info:
        read_csv(path)
    assert str(info.value) == "row 7 has 12 cells, the header 7"


def test_empty_cells_after_the_last_column_are_no_data_and_are_ignored(tmp_path):
    path = write(tmp_path, csv_text([*HEADER, ""][:-1], [*GOOD, "", " "]))
    assert len(record_rows(DESK, INTERCEPTION, read_csv(path), now=NOW)) == 1


def test_duplicate_header_names_are_refused_even_in_another_case(tmp_path):
    path = write(tmp_path, csv_text([*HEADER, " Sex "], [*GOOD, "L"]))
    with pytest.raises(InvalidInputError) as info:
        read_csv(path)
    assert str(info.value) == "row 1, field sex: is in the header twice (columns 3 and 8)"


def test_empty_header_names_are_refused(tmp_path):
    path = write(tmp_path, csv_text(["occurred_at", "", "sex", " "], ["2026-01-20", "x", "P", ""]))
    with pytest.raises(InvalidInputError) as info:
        read_csv(path)
    assert [(e.row, e.field) for e in info.value.errors] == [(1, "column 2"), (1, "column 4")]


def test_a_file_without_its_header_is_refused_without_echoing_the_data(tmp_path):
    path = write(tmp_path, csv_text(GOOD, GOOD))
    with pytest.raises(InvalidInputError) as info:
        read_csv(path)
    assert {e.row for e in info.value.errors} == {1}
    assert NIK not in str(info.value) and "is row 1 the header?" in str(info.value)


@pytest.mark.parametrize("content", ["", "\ufeff", "\r\n", "\n\n\n"])
def test_an_empty_file_is_refused(tmp_path, content):
    path = write(tmp_path, content)
    with pytest.raises(InvalidInputError, match="field file: is empty"):
        read_csv(path)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    content = csv_text(HEADER, [*GOOD[:6], "Petugas Ñoño"]).encode("latin-1")
    with pytest.raises(InvalidInputError, match="field file: is not UTF-8 text"):
        read_csv(write(tmp_path, content))


@pytest.mark.parametrize(
    "content",
    [
        csv_text(HEADER, [GOOD[0], NIK + "\x00", *GOOD[2:]]).encode(),
        csv_text(HEADER, GOOD).encode("utf-16"),
    ],
    ids=["nul", "utf-16"],
)
def test_nul_bytes_are_refused(tmp_path, content):
    with pytest.raises(InvalidInputError, match="field file: holds NUL bytes") as info:
        read_csv(write(tmp_path, content))
    assert NIK not in str(info.value)


def test_a_bom_is_not_part_of_the_first_column_name(tmp_path):
    path = write(tmp_path, "\ufeff" + csv_text(HEADER, GOOD))
    assert next(iter(read_csv(path)[0])) == "occurred_at"


def test_a_semicolon_separated_file_is_read_by_its_header(tmp_path):
    rows = [HEADER, [*GOOD[:4], "TOURIST_VISA,NOT_REGISTERED", *GOOD[5:]]]
    path = write(tmp_path, csv_text(*rows, delimiter=";"))
    [event] = record_rows(DESK, INTERCEPTION, read_csv(path), now=NOW)
    assert [d.value for d in event.documents] == ["TOURIST_VISA", "NOT_REGISTERED"]


def test_a_comma_separated_file_may_hold_semicolons_inside_cells(tmp_path):
    path = write(tmp_path, csv_text(HEADER, GOOD))
    assert read_csv(path)[0]["documents"] == "TOURIST_VISA;NOT_REGISTERED"
    [event] = record_rows(DESK, INTERCEPTION, read_csv(path), now=NOW)
    assert len(event.documents) == 2


def test_rows_keep_their_spreadsheet_numbers_across_empty_lines_and_quoted_newlines(tmp_path):
    bad = [*GOOD[:2], "X", *GOOD[3:]]
    text = csv_text(HEADER, GOOD) + "\r\n" + ",,,,,,\r\n" + csv_text(bad)
    text += '2026-01-20T09:00,,P,5302,"TOURIST_VISA;\r\nNOT_REGISTERED",dipulangkan,E-7\r\n'
    text += csv_text(bad)
    path = write(tmp_path, text)
    assert problems(path) == [(5, "sex"), (6, "nik"), (7, "sex")]


def test_an_extra_column_with_data_and_no_header_is_named_and_nothing_is_sent(tmp_path):
    path = write(tmp_path, csv_text(HEADER, GOOD, [*GOOD, "Maria Nenobais"]))
    assert problems(path) == [(3, "")]
    assert "Maria" not in refusal(path)


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(formkit, "FILE_MAX_BYTES", 100)
    path = write(tmp_path, csv_text(HEADER, GOOD, GOOD))
    with pytest.raises(InvalidInputError, match="field file: is larger than"):
        read_csv(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="field file: cannot be read"):
        read_csv(tmp_path / "nothing.csv")


# --- fuzzing: events or InvalidInputError, nothing else ----------------------------------------

UUID = "3f1c0a52-6d1e-4b8e-9a55-0c4b2f1d7e11"
CELLS = {
    "occurred_at": [
        "2026-01-20T08:30",
        "2026-01-20 08:30",
        "0001-01-01",
        "9999-12-31T23:59-12:00",
        "1999-12-31",
        "2026-13-45",
        "2026-01-20T08:30+14:00",
    ],
    "nik": [NIK, "5302013102900001", "123", "５３０２０１４１０１９００００１"],
    "name": ["Maria Nenobais", "-", "Ibu"],
    "sex": ["P", "L", "X", "perempuan"],
    "birth_date": ["1990-01-01", "1899-01-01", "2030-01-01", "0001-01-01", "1990-02-30"],
    "estimated_age": ["30", "-1", "101", "9" * 5000, "1e3"],
    "origin_regency": ["5302", "Kupang", "5372", "timor tengah selatan"],
    "destination_country": ["MY", "Malaysia", "XX", "korsel"],
    "sector": ["prt", "PLANTATION", "astronaut"],
    "exit_point": ["eltari", "tenau", "dili"],
    "route": ["batam-johor", "walking"],
    "documents": ["TOURIST_VISA;NOT_REGISTERED", "FORGED", "palsu|visa_turis", "x;;y"],
    "recruiter": ["0812-3456-7890", "?", "Pak Budi", "0812" * 30],
    "group_ref": ["ELT-1", "ELT 1", "a/b.c_d"],
    "outcome": ["dipulangkan", "SENT_HOME", "lost"],
    "officer": ["ELT-07", "Budi!", "E" * 65],
    "event_id": ["", UUID, "7", "{" + UUID.upper() + "}"],
}  # fmt: skip
ODD_CELLS = st.sampled_from(
    ["", " ", '"', '""', '"a""b"', "\x00", "\ufeff", "x" * (CELL_MAX + 1), "a\nb", "\r", "é"]
)


@st.composite
def csvish(draw: st.DrawFn) -> bytes:
    """CSV-like files: real and odd column names, real and odd cells, odd delimiters.

    Half of them are nearly valid (the form's required columns, mostly good cells), so
    that rows get as far as their events and the contract.
    """
    nearly_valid = draw(st.booleans())
    real = st.sampled_from(sorted(CELLS))
    odd_name = st.sampled_from(["", "Sex", "x y", "?", NIK])
    names = draw(st.lists(real if nearly_valid else st.one_of(real, odd_name), max_size=8))
    if nearly_valid:
        names = list(dict.fromkeys(["occurred_at", "nik", "outcome", "officer", *names]))
    delimiter = draw(st.sampled_from([",", ";"] if nearly_valid else [",", ";", "\t", "|"]))
    ending = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    rows = [delimiter.join(names)]
    for _ in range(draw(st.integers(0, 4))):
        width = len(names) + (0 if nearly_valid else draw(st.integers(-1, 2)))
        cells = [
            _cell(draw, names[i] if i < len(names) else "", nearly_valid) for i in range(width)
        ]
        rows.append(delimiter.join(cells))
    text = ending.join(rows) + draw(st.sampled_from(["", ending]))
    bom = draw(st.sampled_from(["", "", "\ufeff"]))
    encoding = "utf-8" if nearly_valid else draw(st.sampled_from(["utf-8", "utf-16-le", "latin-1"]))
    return (bom + text).encode(encoding, "replace")


def _cell(draw: st.DrawFn, column: str, nearly_valid: bool) -> str:
    pool = CELLS.get(column)
    if nearly_valid and pool and draw(st.integers(0, 9)):
        cell = pool[0]  # the good value, nine times in ten
    else:
        choices = [ODD_CELLS, st.text(max_size=30)]
        cell = draw(st.one_of(st.sampled_from(pool) if pool else st.text(max_size=20), *choices))
    if draw(st.booleans()):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _import(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes(content)
        try:
            events = record_rows(DESK, INTERCEPTION, read_csv(path), now=NOW)
        except InvalidInputError as exc:
            refused: InvalidInputError | None = exc
        else:
            refused = None
    if refused is not None:
        assert refused.errors and str(refused)
    else:
        assert all(violations(event) == [] for event in events)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes_give_events_or_invalid_input_never_a_traceback(content):
    _import(content)


@FUZZ
@given(csvish())
def test_csv_like_files_give_events_or_invalid_input_never_a_traceback(content):
    _import(content)
