"""The hub's topics: which event type lives where and who may write it.

One event type per topic, so the Confluent subject ``<topic>-value`` names one
schema. Names are relative: :meth:`sinergi.config.Settings.topic` adds the
deployment's prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.model import Agency


@dataclass(frozen=True)
class TopicSpec:
    name: str
    event_type: str
    writer: Agency
    compacted: bool = False
    doc: str = ""


# What agencies publish and the ledger consumes.
INPUT_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "posts.interception-recorded",
        "InterceptionRecorded",
        Agency.POST,
        doc="Interceptions recorded at the posts (El Tari, Tenau, ...).",
    ),
    TopicSpec(
        "police.investigation-opened",
        "InvestigationOpened",
        Agency.POLICE,
        doc="Investigations opened by Polda NTT and the Polres.",
    ),
    TopicSpec(
        "police.suspect-identified",
        "SuspectIdentified",
        Agency.POLICE,
        doc="Suspects identified in investigations (pseudonymous).",
    ),
    TopicSpec(
        "police.case-sent-to-prosecutor",
        "CaseSentToProsecutor",
        Agency.POLICE,
        doc="Investigation files sent to the prosecutor.",
    ),
    TopicSpec(
        "police.alert-acknowledged",
        "AlertAcknowledged",
        Agency.POLICE,
        doc="Police acknowledgements of hub alerts.",
    ),
    TopicSpec(
        "bp3mi.placement-registered",
        "PlacementRegistered",
        Agency.BP3MI,
        doc="Procedural placements registered by BP3MI NTT.",
    ),
    TopicSpec(
        "bp3mi.repatriation-recorded",
        "RepatriationRecorded",
        Agency.BP3MI,
        doc="Repatriations (deported, sick, deceased, voluntary) recorded by BP3MI NTT.",
    ),
    TopicSpec(
        "districts.ltsa-registration-recorded",
        "LtsaRegistrationRecorded",
        Agency.DISTRICT,
        doc="Candidates registered at the districts' LTSA offices.",
    ),
    TopicSpec(
        "districts.prevention-activity-held",
        "PreventionActivityHeld",
        Agency.DISTRICT,
        doc="Prevention activities of districts and village task forces.",
    ),
    TopicSpec(
        "hotline.tip-received",
        "TipReceived",
        Agency.HOTLINE,
        doc="SI-SAGA hotline tips (the reporter's identity stays at the hotline).",
    ),
)

# What the hub publishes.
ALERTS = TopicSpec(
    "hub.alerts",
    "AlertRaised",
    Agency.HUB,
    doc="Alerts for police, each citing the events that caused it.",
)
CASES = TopicSpec(
    "hub.cases",
    "CaseUpdated",
    Agency.HUB,
    compacted=True,
    doc="The ledger's change events: each case's latest state, keyed by case id.",
)
DEAD_LETTER = TopicSpec(
    "hub.dead-letter",
    "MessageDeadLettered",
    Agency.HUB,
    doc="Messages the hub could not use, with the reason (never the payload).",
)

OUTPUT_TOPICS: tuple[TopicSpec, ...] = (ALERTS, CASES, DEAD_LETTER)

ALL_TOPICS: tuple[TopicSpec, ...] = (*INPUT_TOPICS, *OUTPUT_TOPICS)

BY_EVENT_TYPE: dict[str, TopicSpec] = {t.event_type: t for t in ALL_TOPICS}


def spec_for(event_type: str) -> TopicSpec:
    try:
        return BY_EVENT_TYPE[event_type]
    except KeyError:
        raise KeyError(f"no topic carries {event_type}") from None


def subject_for(topic: str) -> str:
    """Confluent TopicNameStrategy: the value schema of ``topic``."""
    return f"{topic}-value"
