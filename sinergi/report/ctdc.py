"""A CTDC-style case export: one row per case, in the variables of IOM's Counter
Trafficking Data Collaborative codebook that the hub has, k-anonymised
(:mod:`sinergi.report.kanon`). The mapping is documented in ``docs/ctdc.md``.

Which cases: those the hub knows as (potential) victims of trafficking or of
non-procedural migration, as CTDC records identified and reported victims: intercepted
at a post, named in a hotline tip or a police file, repatriated non-procedurally, or
repatriated as a trafficking victim. A person known only through the procedural path
(LTSA registration, placement, procedural repatriation) is not a case here.

Pure: the cases come from ``v_report_cases`` (:func:`sinergi.report.source.ctdc_cases`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from sinergi.report.kanon import Anonymised, Hierarchy, anonymise

CITIZENSHIP = "ID"  # Indonesian: the hub's people are NTT's migrant workers (NIK holders)

COLUMNS = (
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "majorityStatus",
    "citizenship",
    "meansOfControlConcatenated",
    "isForcedLabour",
    "typeOfExploitConcatenated",
    "typeOfLabourConcatenated",
    "CountryOfExploitation",
)

GENDER = {"FEMALE": "Female", "MALE": "Male"}
MINOR_BANDS = ("0--8", "9--17")
AGE_BANDS = (*MINOR_BANDS, "18--20", "21--23", "24--26", "27--29", "30--38", "39--47", "48+")
FORCED_LABOUR = "Forced labour"
# The hub's sectors (schemas.model.Sector) as CTDC's types of labour; CARE has no CTDC
# type of its own, UNKNOWN says nothing.
LABOUR = {
    "DOMESTIC_WORK": "Domestic work",
    "PLANTATION": "Agriculture",
    "CONSTRUCTION": "Construction",
    "FISHERIES": "Aquafarming",
    "MANUFACTURING": "Manufacturing",
    "HOSPITALITY": "Hospitality",
    "CARE": "Other",
    "OTHER": "Other",
}


@dataclass(frozen=True)
class CaseRow:
    """One case as ``v_report_cases`` gives it: no id, no date, an age band."""

    year: int
    sex: str
    age_band: str | None
    intercepted: bool = False
    tipped: bool = False
    investigated: bool = False
    repatriated_non_procedural: bool = False
    trafficking_victim: bool = False
    sector: str | None = None
    exploitation_country: str | None = None

    @property
    def is_case(self) -> bool:
        return (
            self.intercepted
            or self.tipped
            or self.investigated
            or self.repatriated_non_procedural
            or self.trafficking_victim
        )


# --- quasi-identifiers and their hierarchies ----------------------------------------------


def quasi_identifiers(case: CaseRow) -> tuple[str, str, str, str]:
    """gender, age band, type of labour exploitation, country of exploitation ("" where
    the hub does not know). Exploitation is known for trafficking victims only: labour
    exploitation in the sector they worked in (the hub records no other kind)."""
    exploited = case.trafficking_victim
    labour = LABOUR.get(case.sector or "", "") if exploited else ""
    return (
        GENDER.get(case.sex, ""),
        case.age_band if case.age_band in AGE_BANDS else "",
        f"{FORCED_LABOUR}|{labour}" if exploited else "",
        (case.exploitation_country or "") if exploited else "",
    )


def _majority(band: str, level: int) -> str:
    """Age: the CTDC band, then only minor or adult, then nothing."""
    if not band:
        return ""
    return "Minor" if band in MINOR_BANDS else "Adult"


def _exploitation(value: str, level: int) -> str:
    """Exploitation: forced labour and its type, then forced labour alone, then nothing."""
    return value.split("|", 1)[0]


HIERARCHIES = (
    Hierarchy("gender", 1, lambda v, level: ""),
    Hierarchy("age", 2, _majority),
    Hierarchy("exploitation", 2, _exploitation),
    Hierarchy("country", 1, lambda v, level: ""),
)


def anonymised(cases: Sequence[CaseRow], k: int) -> Anonymised:
    """The cases' quasi-identifiers k-anonymised (cases that are not cases left out)."""
    return anonymise([quasi_identifiers(c) for c in cases if c.is_case], HIERARCHIES, k)


def record(year: int, values: tuple[str, ...]) -> dict[str, str]:
    """One CSV row in the codebook's variables from a generalised record."""
    gender, age, exploitation, country = values
    band = age if age in AGE_BANDS else ""
    majority = age if age in ("Minor", "Adult") else _majority(band, 1)
    kind, _, labour = exploitation.partition("|")
    return {
        "yearOfRegistration": str(year),
        "gender": gender,
        "ageBroad": band,
        "majorityStatus": majority,
        "citizenship": CITIZENSHIP,
        "meansOfControlConcatenated": "",  # the hub records no means of control
        "isForcedLabour": "1" if kind == FORCED_LABOUR else "",
        "typeOfExploitConcatenated": kind,
        "typeOfLabourConcatenated": labour,
        "CountryOfExploitation": country,
    }


def export_csv(year: int, result: Anonymised) -> str:
    """The export as CSV text: a header, then one row per kept case."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for values in sorted(result.records):
        writer.writerow(record(year, values))
    return out.getvalue()
