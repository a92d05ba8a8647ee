"""What an officer may use in the browser, from the role of the unit they are bound to.

Denied by default: a page or API names the one capability it needs, and an officer has
a capability only when the unit's role is entitled to it by :mod:`schemas.access` (the
same table that drives the Kafka ACLs): recording the forms of the agency the role
publishes as, reading alerts and cases where the role reads ``hub.alerts`` and
``hub.cases`` (police), the operations dashboard where it reads the hub's dead letters
(operations). The hub's administrator (``admin``) sees the dashboard and the audit of the
browser application; it records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from producers import forms
from producers.fields import InvalidInputError
from producers.pseudonym import Pseudonymiser
from schemas.access import PUBLISHES_AS, READS, Role, role_of_unit
from schemas.model import Agency, Event

ADMIN = "admin"
OPS = "ops"


class Capability(StrEnum):
    RECORD = "record"  # the forms of the unit's own agency, one by one or a CSV file
    ALERTS = "alerts"  # the alert inbox (routed to the unit), live
    ACKNOWLEDGE = "acknowledge"  # acknowledge an alert (the police desk's form)
    CASES = "cases"  # case, recruiter and group pages
    OPEN_CONTACTS = "open_contacts"  # open recruiter contacts sealed for police
    DASHBOARD = "dashboard"  # operations: counts, lag, dead letters, health
    AUDIT = "audit"  # the browser application's audit log


class UnitError(ValueError):
    """An officer cannot be bound to this unit."""


@dataclass(frozen=True)
class UnitRole:
    """An officer's unit, the role it has, and the agency it records for (if any)."""

    unit: str
    role: Role | None  # None: the hub's administrator
    agency: Agency | None

    @property
    def is_admin(self) -> bool:
        return self.role is None


def _capabilities(role: Role | None) -> frozenset[Capability]:
    if role is None:
        return frozenset({Capability.DASHBOARD, Capability.AUDIT})
    granted: set[Capability] = set()
    agency = PUBLISHES_AS.get(role)
    if agency is not None and recordable_forms(agency):
        granted.add(Capability.RECORD)
    reads = READS.get(role, frozenset())
    if "hub.alerts" in reads:
        granted |= {Capability.ALERTS, Capability.ACKNOWLEDGE, Capability.OPEN_CONTACTS}
    if "hub.cases" in reads:
        granted.add(Capability.CASES)
    if "hub.dead-letter" in reads:
        granted.add(Capability.DASHBOARD)
    return frozenset(granted)


def capabilities(unit: UnitRole) -> frozenset[Capability]:
    return _capabilities(unit.role)


def may(unit: UnitRole, capability: Capability) -> bool:
    return capability in capabilities(unit)


def recordable_forms(agency: Agency) -> list[forms.Form[Event]]:
    """The forms an agency fills in the browser: all of its own, except the police's
    acknowledgement, which is a button on the alert itself."""
    return [f for f in forms.forms_of(agency) if f.name != "acknowledgement"]


_NO_KEY = Pseudonymiser(b"\0" * 32)


def unit_role(unit: str) -> UnitRole:
    """The role of a unit an officer may be bound to: a post, a police unit, BP3MI, a
    district, the hotline (each a desk of :mod:`producers.forms`), ``ops`` or ``admin``.
    Raises UnitError for anything else (the processor, an agency's administrator)."""
    name = unit.strip().lower()
    if name == ADMIN:
        return UnitRole(ADMIN, None, None)
    if name == OPS:
        return UnitRole(OPS, Role.OPS, None)
    role = role_of_unit(name)
    agency = PUBLISHES_AS.get(role) if role is not None else None
    if role is None or agency is None or agency is Agency.HUB:
        raise UnitError(f"{unit!r} is not a unit officers work for")
    try:
        desk = forms.desk_for(agency, name, _NO_KEY, reporter_key=_hotline_probe(agency))
    except InvalidInputError:
        raise UnitError(f"{unit!r} is not a unit of the hub's reference data") from None
    if desk.unit != name:
        raise UnitError(f"{unit!r}: the unit is called {desk.unit}")
    return UnitRole(name, role, agency)


def _hotline_probe(agency: Agency) -> bytes | None:
    """desk_for wants the hotline's own key; any key other than the shared one will do to
    check that the unit exists."""
    return b"\1" * 32 if agency is Agency.HOTLINE else None
