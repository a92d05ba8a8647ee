"""k-anonymity: every combination of quasi-identifiers in the export occurs at least k
times, by generalising as little as the lattice allows and leaving few cases out; the
CTDC export maps the hub's cases to the codebook's variables and carries nothing else."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinergi.report import ctdc
from sinergi.report.kanon import AnonymityError, Hierarchy, anonymise, is_k_anonymous

DIGIT = Hierarchy("digit", 2, lambda v, level: "even" if int(v) % 2 == 0 else "odd")
LETTER = Hierarchy("letter", 1, lambda v, level: "")


def generalises(value: str, original: str, hierarchy: Hierarchy) -> bool:
    return any(hierarchy.at(original, level) == value for level in range(hierarchy.height + 1))


records = st.lists(
    st.tuples(st.sampled_from("0123456789"), st.sampled_from("ab")), min_size=0, max_size=60
)


@settings(max_examples=120)
@given(records, st.integers(min_value=2, max_value=12))
def test_every_combination_occurs_at_least_k_times_and_generalises_a_record(rows, k):
    result = anonymise(rows, (DIGIT, LETTER), k)
    assert is_k_anonymous(result.records, k)
    assert len(result.records) + result.suppressed == len(rows)
    # Each kept record generalises an input record, and no input is used twice.
    left = Counter(rows)
    for kept in result.records:
        match = next(
            r
            for r in left
            if left[r]
            and all(generalises(v, o, h) for v, o, h in zip(kept, r, (DIGIT, LETTER), strict=True))
        )
        left[match] -= 1


def test_data_already_k_anonymous_is_left_as_it_is():
    rows = [("1", "a")] * 5 + [("2", "b")] * 6
    result = anonymise(rows, (DIGIT, LETTER), 5)
    assert result.levels == (0, 0)
    assert sorted(result.records) == sorted(rows)


def test_the_least_generalisation_within_the_suppression_budget_is_chosen():
    rows = [("1", "a")] * 3 + [("3", "a")] * 3 + [("2", "b")] * 6
    result = anonymise(rows, (DIGIT, LETTER), 5, max_suppressed=0)
    assert result.levels == (1, 0)  # 1 and 3 become "odd"; the letters stay
    assert Counter(result.records) == {("odd", "a"): 6, ("even", "b"): 6}


def test_a_few_outliers_are_left_out_rather_than_everything_generalised():
    rows = [("1", "a")] * 20 + [("2", "a")] * 20 + [("7", "b")]
    result = anonymise(rows, (DIGIT, LETTER), 5, max_suppressed=2)
    assert result.levels == (0, 0)
    assert result.suppressed == 1


def test_fewer_records_than_k_export_nothing():
    result = anonymise([("1", "a")] * 3, (DIGIT, LETTER), 11)
    assert result.records == ()
    assert result.suppressed == 3


def test_k_below_two_is_refused():
    with pytest.raises(AnonymityError):
        anonymise([("1", "a")], (DIGIT, LETTER), 1)


# --- the CTDC export ------------------------------------------------------------------------


def victim(**changes: object) -> ctdc.CaseRow:
    base: dict[str, object] = {
        "year": 2026,
        "sex": "FEMALE",
        "age_band": "21--23",
        "trafficking_victim": True,
        "repatriated_non_procedural": True,
        "sector": "DOMESTIC_WORK",
        "exploitation_country": "MY",
    }
    return ctdc.CaseRow(**(base | changes))  # type: ignore[arg-type]


def test_a_trafficking_victim_maps_to_the_codebook():
    result = ctdc.anonymised([victim()] * 11, 11)
    [row] = list(csv.DictReader(io.StringIO(ctdc.export_csv(2026, result))))[:1]
    assert row == {
        "yearOfRegistration": "2026",
        "gender": "Female",
        "ageBroad": "21--23",
        "majorityStatus": "Adult",
        "citizenship": "ID",
        "meansOfControlConcatenated": "",
        "isForcedLabour": "1",
        "typeOfExploitConcatenated": "Forced labour",
        "typeOfLabourConcatenated": "Domestic work",
        "CountryOfExploitation": "MY",
    }


def test_someone_intercepted_before_leaving_has_no_exploitation_or_country():
    person = ctdc.CaseRow(2026, "MALE", "9--17", intercepted=True, sector="PLANTATION")
    assert ctdc.quasi_identifiers(person) == ("Male", "9--17", "", "")


def test_people_known_only_on_the_procedural_path_are_not_cases():
    registered = ctdc.CaseRow(2026, "FEMALE", "24--26", sector="CARE")
    assert not registered.is_case
    assert ctdc.anonymised([registered] * 20, 11).records == ()


def test_the_export_is_k_anonymous_and_has_only_codebook_columns():
    cases = (
        [victim()] * 12
        + [victim(age_band="9--17", exploitation_country="SA", sector="FISHERIES")] * 2
        + [ctdc.CaseRow(2026, "MALE", band, intercepted=True) for band in ("18--20",) * 15]
        + [ctdc.CaseRow(2026, "UNKNOWN", None, tipped=True)] * 3
    )
    result = ctdc.anonymised(cases, 11)
    text = ctdc.export_csv(2026, result)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == ctdc.COLUMNS
    quasi = [
        (
            r["gender"],
            r["ageBroad"],
            r["majorityStatus"],
            r["typeOfLabourConcatenated"],
            r["isForcedLabour"],
            r["CountryOfExploitation"],
        )
        for r in rows
    ]
    assert is_k_anonymous(quasi, 11)
    assert len(rows) + result.suppressed == 32
    assert "nik:" not in text and "weak:" not in text
