"""Who may do what: the roles of the hub's members and what each is entitled to.

Access is denied by default. A role writes only the topics of its own agency and
reads only what its work needs: police read alerts and case changes, never a raw
hotline tip; operations read the dead letters only (which carry no personal data).
The same table drives the Kafka ACLs (``sinergi agency add``) and the processor's
check that a signed event's signer may publish that event type.
"""

from __future__ import annotations

import functools
from enum import StrEnum

from schemas.model import Agency
from schemas.topics import ALL_TOPICS, TopicSpec


class Role(StrEnum):
    POST = "post"
    POLICE = "police"
    BP3MI = "bp3mi"
    DISTRICT = "district"
    HOTLINE = "hotline"
    PROCESSOR = "processor"  # the hub's own processors
    OPS = "ops"  # the operations team: dead letters and metrics, no personal data


# The agency whose events a role publishes (and signs).
PUBLISHES_AS: dict[Role, Agency] = {
    Role.POST: Agency.POST,
    Role.POLICE: Agency.POLICE,
    Role.BP3MI: Agency.BP3MI,
    Role.DISTRICT: Agency.DISTRICT,
    Role.HOTLINE: Agency.HOTLINE,
    Role.PROCESSOR: Agency.HUB,
}

# Topics (relative names) each role reads, besides none.
READS: dict[Role, frozenset[str]] = {
    Role.PROCESSOR: frozenset(t.name for t in ALL_TOPICS if t.writer is not Agency.HUB),
    Role.POLICE: frozenset({"hub.alerts", "hub.cases"}),
    Role.OPS: frozenset({"hub.dead-letter"}),
}


def writes(role: Role) -> list[TopicSpec]:
    agency = PUBLISHES_AS.get(role)
    return [t for t in ALL_TOPICS if agency is not None and t.writer is agency]


def reads(role: Role) -> list[TopicSpec]:
    names = READS.get(role, frozenset())
    return [t for t in ALL_TOPICS if t.name in names]


@functools.cache
def may_publish(role: Role, event_type: str) -> bool:
    """May a member of ``role`` sign and publish events of ``event_type``? (For an
    amendment, the processor also checks the amended record's type: see
    :func:`may_amend`.) Asked for every message: the answers are kept."""
    return any(event_type in t.event_types for t in writes(role))


def agency_admin(agency: Agency) -> str:
    """The member id of an agency's administrator, who may amend any of its units'
    records (a unit amends only its own)."""
    return f"{agency.value}-admin"


def may_amend(signer: str, role: Role, record_unit: str, record_type: str) -> bool:
    """May ``signer`` (of ``role``) correct or retract a ``record_type`` record that
    ``record_unit`` published? Its own records, or as its agency's administrator."""
    agency = PUBLISHES_AS.get(role)
    if agency is None or not may_publish(role, record_type):
        return False
    return signer == record_unit or signer == agency_admin(agency)


def role_of_unit(unit: str) -> Role | None:
    """The role a member id names: post-eltari -> post, hub-processor -> processor."""
    head = unit.split("-", 1)[0]
    if head == "hub":
        return Role.PROCESSOR
    try:
        return Role(head)
    except ValueError:
        return None
