"""Suggestions for a form's fields (a ``datalist`` in the page): the codes each column
takes, so an officer picks instead of remembering. The desks still check every value;
a suggestion only saves typing."""

from __future__ import annotations

from enum import StrEnum

from schemas import reference
from schemas.model import (
    AlertAction,
    DocumentIssue,
    InterceptionOutcome,
    Offence,
    PerpetratorRole,
    PreventionKind,
    Procedural,
    RepatriationCause,
    RepatriationKind,
    Sector,
    SuspectStatus,
    TipConcern,
)

# Where NTT's migrant workers go, most often first (the seeds' field reports).
DESTINATIONS = ("MY", "SG", "HK", "TW", "BN", "SA", "AE", "KR", "JP")


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


_BY_COLUMN: dict[str, list[str]] = {
    "sex": ["P", "L"],
    "destination_country": list(DESTINATIONS),
    "country": list(DESTINATIONS),
    "intended_country": list(DESTINATIONS),
    "sector": _values(Sector),
    "outcome": _values(InterceptionOutcome),
    "documents": _values(DocumentIssue),
    "procedural": _values(Procedural),
    "cause": _values(RepatriationCause),
    "concern": _values(TipConcern),
    "offence": _values(Offence),
    "role": _values(PerpetratorRole),
    "suspect_status": _values(SuspectStatus),
    "action": _values(AlertAction),
}
_KIND = {"repatriation": _values(RepatriationKind), "prevention": _values(PreventionKind)}


def choices(form_name: str, column: str) -> list[str]:
    """The suggested values of ``column`` in ``form_name`` (empty: free input)."""
    if column in ("origin_regency", "ltsa_regency", "regency"):
        return [r.name for r in reference.regencies().values()]
    if column in ("exit_point", "arrival_point"):
        return sorted(reference.exit_points())
    if column == "route":
        return sorted(reference.routes())
    if column == "kind":
        return _KIND.get(form_name, [])
    return _BY_COLUMN.get(column, [])
