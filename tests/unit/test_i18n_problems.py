"""Every refusal a desk can give reads in Bahasa Indonesia, on the command line and in the
browser alike (one catalogue: :data:`sinergi.i18n.PROBLEMS`).

The refusals are not listed by hand: they are found by exercising every rule (each column
of each form with wrong values, each rule and relation of the contract, each check of a
NIK, of a CSV file and of a desk's place), and the source of the desks is read to be sure
that every message it can build was among them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from producers import formkit
from producers.fields import CELL_MAX, FieldError, InvalidInputError, RowReader
from producers.forms import FORMS, desk_for, read_csv, record
from producers.pseudonym import Pseudonymiser
from schemas import contract, nik, reference
from schemas.model import Agency, DocumentIssue
from sinergi import i18n
from tests.unit.test_forms import HOTLINE_KEY, KEY, PLACES, VALID

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 21, tzinfo=UTC)
PSEUDONYMISER = Pseudonymiser(KEY)

# --- exercising the rules --------------------------------------------------------------------

# Wrong values for any column: each parser refuses some of them, each in its own words.
CELLS = [
    "",
    "x" * (CELL_MAX + 1),
    "x" * 200,
    "a\u200bb",
    "!!!",
    "-",
    "abc",
    "12",
    "-5",
    "100001",
    "2026-13-45",
    "1899-12-31",
    "1999-12-31",
    "1999-12-31T23:00",
    "2099-01-01",
    "2099-01-01T08:00",
    "9999-12-31T23:59-12:00",
    "0812-3456-7890",
    "5302010000000000",
    "3171014101900001",
    ";".join(f"nik:{i:032x}" for i in range(contract.CASE_IDS_MAX + 1)),
    ";".join(f"Pak {chr(ord('a') + i)}" for i in range(contract.RECRUITERS_MAX + 1)),
]

# Rows wrong in more than one column at once (each applied to every form).
ROWS: list[dict[str, str]] = [
    {"nik": "", "name": ""},
    {"nik": "", "name": "Maria Nenobais"},
    {"nik": "", "name": "Maria Nenobais", "birth_date": "2026-03-01"},
    {"sex": "L"},
    {"nik": "5302010101900001", "sex": "P"},
    {"birth_date": "1991-01-01"},
    {
        "event_id": "3f1c0a52-6d1e-4b8e-9a55-0c4b2f1d7e11",
        "corrects": "0b7c2f4e-1111-4c2a-9d1f-000000000001",
    },
    {"colour": "red"},
    {"attendance": "5", "attendance_women": "10"},
]


def _desk(agency: Agency) -> formkit.Desk:
    key = HOTLINE_KEY if agency is Agency.HOTLINE else None
    return desk_for(agency, PLACES[agency], PSEUDONYMISER, reporter_key=key)


def _refused(make: Callable[..., object], *args: Any, **kwargs: Any) -> list[str]:
    """The messages of what ``make(*args, **kwargs)`` refused."""
    try:
        make(*args, **kwargs)
    except InvalidInputError as exc:
        return [error.message for error in exc.errors]
    except (FieldError, nik.NikError) as exc:
        return [exc.message if isinstance(exc, FieldError) else str(exc)]
    return []


def _from_forms() -> Iterator[str]:
    for form in FORMS.values():
        desk = _desk(form.agency)
        base = {"occurred_at": "2026-01-20T08:30", **VALID[form.name]}
        changes = [{column: cell} for column in form.columns for cell in CELLS] + ROWS
        for change in changes:
            row = {**base, **change}
            yield from _refused(record, desk, form, row, row_number=2, now=NOW)
        other = next(a for a in PLACES if a is not form.agency)
        yield from _refused(record, _desk(other), form, base, now=NOW)


# Values for any rule of the contract: each rule breaks on some of them.
VALUES: list[Any] = [
    None,
    "",
    "!!!",
    "zz",
    "x" * 5000,
    "a\x00",
    5,
    -1,
    2**64,
    True,
    object(),
    (),
    ("!!!",),
    tuple(range(5000)),
    ("a" * 32, "a" * 32),
    ("nik:" + "a" * 32, "nik:" + "a" * 32),
    ("3f1c0a52-6d1e-4b8e-9a55-0c4b2f1d7e11", "3f1c0a52-6d1e-4b8e-9a55-0c4b2f1d7e11"),
    (DocumentIssue.FORGED, DocumentIssue.FORGED),
    b"",
    b"\x01" * 10,
    b"\x00" * (contract.RECORD_BYTES_MAX + 1),
    datetime(2020, 1, 1),
    datetime(1990, 1, 1, tzinfo=UTC),
    date(1800, 1, 1),
    reference.BpsCode("5301"),
]


# The contract's tables are read whole (private as they are): every rule of every field,
# every relation, so that a rule added later is exercised here without being listed.
def _rules() -> Iterator[contract.Rule]:
    for fields in contract._FIELDS.values():
        for spec in fields:
            if isinstance(spec, contract._Record):
                yield from (rule for _, _, rule in spec.fields)
            else:
                yield spec[2]


def _records() -> Iterator[contract._Record]:
    for fields in contract._FIELDS.values():
        yield from (spec for spec in fields if isinstance(spec, contract._Record))


# An event breaking every relation between fields at once.
_LATER, _EARLIER = datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
_NOBODY = SimpleNamespace(nik_pseudonym=None, weak_pseudonym=None, sealed=None,
                          birth_date=date(2099, 1, 1))  # fmt: skip
WRONG_EVENT = SimpleNamespace(
    envelope=SimpleNamespace(occurred_at=_LATER, recorded_at=_EARLIER, agency="x", unit="x"),
    publishing_agency=lambda: Agency.POST,
    person=_NOBODY,
    subject=_NOBODY,
    post_id="elsewhere",
    ltsa_regency="elsewhere",
    regency="elsewhere",
    expected_departure=date(2099, 1, 1),
    attendance=1,
    attendance_women=2,
    first_seen=_LATER,
    last_seen=_EARLIER,
    case_id="nik:" + "a" * 32,
    match="weak",
)


def _from_contract() -> Iterator[str]:
    for rule in _rules():
        for value in VALUES:
            broken = rule(value)
            if broken is not None:
                yield broken
    for record_ in _records():
        for value in (None, "x"):
            found: list[contract.Violation] = []
            contract._check_record(record_, value, found)
            yield from (v.rule for v in found)
    for relations in contract._RELATIONS.values():
        for relation in relations:
            broken = relation.check(WRONG_EVENT)
            assert broken is not None, relation.path
            yield broken
    yield from (v.rule for v in contract.violations(object()))  # type: ignore[arg-type]


NIKS = [
    "",
    "53020141019000",
    "5302014101900A01",
    "53020141019000012",
    "9902014101900001",
    "3102014101900001",
    "5300014101900001",
    "5399014101900001",
    "5302004101900001",
    "5302013501900001",
    "5302010113900001",
    "5302013102900001",
    "5302012902010001",
    "5302014101900000",
]


def _from_niks() -> Iterator[str]:
    for raw in NIKS:
        for ntt in (False, True):
            yield from _refused(nik.parse_nik, raw, today=NOW.date(), require_ntt=ntt)
    # A birth year whose only dates in the last hundred years are in the future.
    yield from _refused(nik.parse_nik, "5302012902000001", today=date(2000, 1, 1))


FILES: list[bytes] = [
    b"",
    b"a\x00b\n",
    b"\xff\xfe\n",
    b",1a,x,x\n",
    b"a,b\n1,2,3\n",
    b"a\n" + b"x" * (CELL_MAX + 1) + b"\n",
]


def _from_files(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for number, data in enumerate(FILES):
        path = folder / f"{number}.csv"
        path.write_bytes(data)
        yield from _refused(read_csv, path)
    yield from _refused(read_csv, folder)  # a folder cannot be read
    with monkeypatch.context() as patched:
        patched.setattr(formkit, "FILE_MAX_BYTES", 1)
        yield from _refused(read_csv, folder / "4.csv")

    class Broken:  # a reader that meets a line the csv module cannot parse
        line_num = 2

        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __iter__(self) -> Broken:
            return self

        def __next__(self) -> list[str]:
            raise formkit.csv.Error("a broken line")

    with monkeypatch.context() as patched:
        patched.setattr(formkit.csv, "reader", Broken)
        yield from _refused(read_csv, folder / "4.csv")


DESKS: list[tuple[str, str, bytes | None]] = [
    ("nobody", "x", None),
    ("hub", "x", None),
    ("post", "dili", None),
    ("post", "eltari", HOTLINE_KEY),
    ("police", "polres-9999", None),
    ("bp3mi", "jakarta", None),
    ("district", "jakarta", None),
    ("hotline", "other", HOTLINE_KEY),
    ("hotline", "sisaga", None),
    ("hotline", "sisaga", b"short"),
    ("hotline", "sisaga", KEY),
]


def _from_reader() -> Iterator[str]:
    """A parser failing other than by its FieldError: the reader names no value."""

    def parse(text: str) -> str:
        raise ValueError(f"bad {text}")

    def read() -> None:
        reader = RowReader({"code": "x"})
        reader.get("code", parse)
        reader.done()

    yield from _refused(read)


def _from_desks() -> Iterator[str]:
    for agency, place, key in DESKS:
        yield from _refused(desk_for, agency, place, PSEUDONYMISER, reporter_key=key)


@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every message the desks gave while their rules were exercised."""
    found: set[str] = set()
    with pytest.MonkeyPatch.context() as monkeypatch:
        for source in (
            _from_forms(),
            _from_contract(),
            _from_niks(),
            _from_files(tmp_path_factory.mktemp("files"), monkeypatch),
            _from_reader(),
            _from_desks(),
        ):
            found.update(source)
    return found


# --- reading the source ----------------------------------------------------------------------

# The modules where the desks' refusals are written (the others of producers/ refuse
# nothing a person typed: keys, the outbox, the publisher), and the calls carrying them.
SOURCES = [
    "schemas/contract.py",
    "schemas/nik.py",
    "producers/bp3mi.py",
    "producers/districts.py",
    "producers/fields.py",
    "producers/formkit.py",
    "producers/forms.py",
    "producers/hotline.py",
    "producers/person.py",
    "producers/police.py",
    "producers/posts.py",
]
# Each call that carries a refusal, and the position of the message among its arguments
# (the others name a field or a bound).
CARRIERS = {
    "FieldError": 1,
    "Violation": 1,
    "fail": 1,
    "NikError": 0,
    "refuse": 0,
    "_unknown": 0,
    "parse_text": 2,
    "_one_of": 2,
    "_pattern": 2,
    "_reference": 2,
    "_string": 2,
}
# Where a module's rules return their sentence (the contract's rules).
RETURNING = {"schemas/contract.py"}

Texts = dict[str, list[ast.expr]]


def _template(node: ast.expr) -> str | None:
    """A message's pattern: its text, each value it formats any text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if isinstance(node, ast.JoinedStr):
        parts = [
            _template(part) if isinstance(part, ast.Constant) else ".+" for part in node.values
        ]
        return "".join(part or "" for part in parts)
    return None


def _assigned(body: list[ast.stmt], *, deep: bool) -> Texts:
    """The texts assigned to each name in ``body`` (``deep``: in nested blocks too)."""
    found: Texts = {}
    nodes = ast.walk(ast.Module(body=body, type_ignores=[])) if deep else iter(body)
    for node in nodes:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                found.setdefault(target.id, []).append(node.value)  # type: ignore[arg-type]
    return found


def _texts(node: ast.expr, names: Texts, seen: frozenset[str] = frozenset()) -> Iterator[str]:
    """The templates an expression may be: a text, the branches of ``a if c else b``,
    or the texts a name (or ``module.NAME``) was given."""
    if isinstance(node, ast.IfExp):
        yield from _texts(node.body, names, seen)
        yield from _texts(node.orelse, names, seen)
    elif isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else node.attr
        if name not in seen:
            for value in names.get(name, []):
                yield from _texts(value, names, seen | {name})
    else:
        template = _template(node)
        if template is not None:
            yield template


def _carried(scope: ast.AST, names: Texts, returning: bool) -> Iterator[str]:
    for node in ast.walk(scope):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in CARRIERS:
                position = CARRIERS[name]
                given = node.args[position : position + 1]
                given += [k.value for k in node.keywords if k.arg in ("message", "rule")]
                for arg in given:
                    yield from _texts(arg, names)
        elif returning and isinstance(node, ast.Return) and node.value is not None:
            yield from _texts(node.value, names)


@cache
def _source_templates() -> dict[str, str]:
    """Each message the desks' source can build, as a pattern, and where it is written.
    A sentence has a space: names of fields and codes, which are passed too, have none."""
    trees = {path: ast.parse((ROOT / path).read_text(encoding="utf-8")) for path in SOURCES}
    # Module-level names, of every module (``contract.PERSONAL_NUMBER_RULE``).
    shared: Texts = {}
    for tree in trees.values():
        for name, values in _assigned(tree.body, deep=False).items():
            shared.setdefault(name, []).extend(values)
    found: dict[str, str] = {}
    for path, tree in trees.items():
        functions = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name not in ("__str__", "__repr__")
        ]
        scopes: list[tuple[ast.AST, Texts]] = [
            (function, {**shared, **_assigned(function.body, deep=True)}) for function in functions
        ]
        top = [s for s in tree.body if not isinstance(s, ast.FunctionDef | ast.ClassDef)]
        scopes.append((ast.Module(body=top, type_ignores=[]), shared))
        for scope, names in scopes:
            for template in _carried(scope, names, path in RETURNING):
                if " " in template:
                    found.setdefault(template, path)
    return found


# --- the tests -------------------------------------------------------------------------------

# English words no Bahasa sentence holds (the values a message names are codes, numbers
# and column names, never these).
_WORDS = (
    "a an and are at be before after between by cannot characters does each empty expected"
    " for from holds in is it its leave long longer match more most must needs no not of one"
    " only or out range required than the to unknown valid value values when where which with"
)
ENGLISH = frozenset(_WORDS.split())


def _english(text: str) -> set[str]:
    return {word for word in re.findall(r"(?<![\w<.-])[a-z]+(?![\w>.-])", text) if word in ENGLISH}


def test_the_rules_were_exercised_enough_to_find_refusals(refusals: set[str]) -> None:
    assert len(refusals) > 100
    assert "must not be after the day the event occurred" in refusals
    assert "must be within a year before and two years after the tip" in refusals
    assert "NIK birth date 29/02 is not a date in a year ending in 01" in refusals
    assert any(m.endswith(" (accepted only with documents FORGED)") for m in refusals)
    assert any(m.startswith("each value ") for m in refusals)


def test_every_message_the_desks_can_build_was_found_by_exercising_their_rules(
    refusals: set[str],
) -> None:
    """A new refusal in the source fails here until a value above reaches it (and then
    the test below asks for its Bahasa sentence)."""
    templates = _source_templates()
    assert len(templates) > 80
    missed = {
        template: where
        for template, where in templates.items()
        if not any(re.search(template, message) for message in refusals)
    }
    assert not missed


def test_every_refusal_of_a_desk_reads_in_bahasa(refusals: set[str]) -> None:
    untranslated = {}
    for message in sorted(refusals):
        shown = i18n.problem_message(message, "id")
        if shown == message or _english(shown):
            untranslated[message] = shown
    assert not untranslated
    for message in sorted(refusals):
        assert i18n.problem_message(message, "en") == message


def test_a_refusal_with_its_row_and_column_reads_in_bahasa_from_any_rule(
    refusals: set[str],
) -> None:
    for message in sorted(refusals):
        shown = i18n.problem(FieldError("birth_date", message, 2), "id")
        assert shown == f"baris 2, kolom birth_date: {i18n.problem_message(message, 'id')}"


REPORTED = [
    (
        "bp3mi",
        "ntt",
        "repatriation",
        {"name": "Maria", "birth_date": "2026-03-01", "origin_regency": "5302",
         "kind": "jenazah", "country": "MY", "procedural": "tidak"},
        "baris 2, kolom birth_date: tidak boleh setelah hari kejadian",
    ),
    (
        "district",
        "5302",
        "ltsa",
        {"name": "Maria", "birth_date": "2026-02-01", "origin_regency": "5302",
         "intended_country": "TW"},
        "baris 2, kolom birth_date: tidak boleh setelah hari kejadian",
    ),
    (
        "hotline",
        "sisaga",
        "tip",
        {"tip_ref": "T-1", "reporter": "081311112222", "concern": "akan_berangkat",
         "expected_departure": "2030-01-01"},
        "baris 2, kolom expected_departure: harus antara setahun sebelum dan dua tahun setelah"
        " laporan",
    ),
    (
        "post",
        "eltari",
        "interception",
        {"nik": "5302012902010001", "outcome": "dipulangkan", "officer": "E-7"},
        "baris 2, kolom nik: tanggal lahir NIK 29/02 tidak ada pada tahun berakhiran 01"
        " (diterima hanya dengan dokumen FORGED)",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("agency", "place", "form", "row", "bahasa"), REPORTED)
def test_the_refusals_reported_in_english_read_in_bahasa(
    agency: str, place: str, form: str, row: dict[str, str], bahasa: str
) -> None:
    """What BP3MI, a district, the hotline and a post were shown in English."""
    key = HOTLINE_KEY if agency == "hotline" else None
    desk = desk_for(agency, place, PSEUDONYMISER, reporter_key=key)
    with pytest.raises(InvalidInputError) as refused:
        record(desk, FORMS[form], {"occurred_at": "2026-01-20T08:30", **row}, row_number=2,
               now=NOW)  # fmt: skip
    [error] = refused.value.errors
    before = i18n.language()
    i18n.set_language("id")  # as the command line shows it
    try:
        assert i18n.problem(error) == bahasa
    finally:
        i18n.set_language(before)
    assert i18n.problem(error, "id") == bahasa  # as the browser asks for it
