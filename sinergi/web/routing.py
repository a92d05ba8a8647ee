"""Which police unit sees which alert: Polda NTT all of them, each Polres those about the
regencies in its jurisdiction (``schemas/reference/polres.csv``, sources cited there).

An alert is *about* the origin regencies of the people it concerns (where recruitment
happens and where a Polres can act) and, for interceptions, the regency of the post that
intercepted them (the Polres of the airport or port, e.g. Polresta Kupang Kota for El
Tari and Tenau). An alert about no regency (people of unknown origin and no post) is
seen by Polda NTT only.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas import reference

POLDA = "police-polda-ntt"


def regencies_of_unit(unit: str) -> frozenset[str] | None:
    """The regencies whose alerts ``unit`` sees; None: all of them (Polda NTT)."""
    if unit == POLDA:
        return None
    return frozenset(code for code, area in reference.polres().items() if area.unit == unit)


def units_for(regencies: Iterable[str]) -> frozenset[str]:
    """The police units that see an alert about ``regencies``: Polda and their Polres."""
    areas = reference.polres()
    return frozenset({POLDA, *(areas[c].unit for c in regencies if c in areas)})


def post_regencies() -> dict[str, str]:
    """Post id -> the Kemendagri code of the regency the post is in."""
    return {p.post_id: str(p.regency_kemendagri) for p in reference.posts().values()}


def regency_name(code: str) -> str:
    found = reference.regencies().get(code)
    return found.name if found is not None else code


def polres_name(unit: str) -> str:
    """How a police unit is called: Polda NTT, or its Polres's name."""
    if unit == POLDA:
        return "Polda NTT"
    for area in reference.polres().values():
        if area.unit == unit:
            return area.name
    return unit


def polres_of_regency(code: str) -> str:
    """The name of the Polres whose jurisdiction a regency is in."""
    area = reference.polres().get(code)
    return area.name if area is not None else "Polda NTT"
