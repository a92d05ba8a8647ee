"""The hub's topics: which event type lives where and who may write it.

One event type per topic, so the Confluent subject ``<topic>-value`` names one
schema. Names are relative: :meth:`sinergi.config.Settings.topic` adds the
deployment's prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from schemas.model import Agency, Event, RecordCorrected, RecordRetracted

# What every agency topic carries besides its own record type: the agency's amendments
# of those records (RecordCorrected, RecordRetracted), keyed like the record.
AMENDMENTS: tuple[str, ...] = ("RecordCorrected", "RecordRetracted")


@dataclass(frozen=True)
class TopicSpec:
    name: str
    event_type: str  # the topic's own type: subject <topic>-value (TopicNameStrategy)
    writer: Agency
    compacted: bool = False
    doc: str = ""
    # Further types on the topic, each under subject <topic>-<record full name>
    # (TopicRecordNameStrategy); a reader decodes by schema id whatever the subject.
    also: tuple[str, ...] = ()

    @property
    def event_types(self) -> tuple[str, ...]:
        return (self.event_type, *self.also)


# What agencies publish and the ledger consumes.
_INPUT_TOPICS: tuple[TopicSpec, ...] = (
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

INPUT_TOPICS: tuple[TopicSpec, ...] = tuple(replace(t, also=AMENDMENTS) for t in _INPUT_TOPICS)

# What the hub publishes.
ALERTS = TopicSpec(
    "hub.alerts",
    "AlertRaised",
    Agency.HUB,
    doc="Alerts for police, each citing the events that caused it; and their withdrawals.",
    also=("AlertWithdrawn",),
)
CASES = TopicSpec(
    "hub.cases",
    "CaseUpdated",
    Agency.HUB,
    compacted=True,
    doc="The ledger's change events: each case's latest state, keyed by case id; and the"
    " erasure of its person (PersonErased), the case's last word once compacted.",
    also=("PersonErased",),
)
DEAD_LETTER = TopicSpec(
    "hub.dead-letter",
    "MessageDeadLettered",
    Agency.HUB,
    doc="Messages the hub could not use, with the reason (never the payload).",
)

OUTPUT_TOPICS: tuple[TopicSpec, ...] = (ALERTS, CASES, DEAD_LETTER)

ALL_TOPICS: tuple[TopicSpec, ...] = (*INPUT_TOPICS, *OUTPUT_TOPICS)

# An event type's topic (amendments excepted: they go to their record's topic).
BY_EVENT_TYPE: dict[str, TopicSpec] = {
    event_type: t
    for t in ALL_TOPICS
    for event_type in t.event_types
    if event_type not in AMENDMENTS
}
BY_NAME: dict[str, TopicSpec] = {t.name: t for t in ALL_TOPICS}


def spec_for(event_type: str) -> TopicSpec:
    """The topic of an event type's own records (an amendment goes to its record's topic:
    see :func:`topic_of`)."""
    try:
        return BY_EVENT_TYPE[event_type]
    except KeyError:
        raise KeyError(f"no topic carries {event_type}") from None


def topic_of(event: Event) -> TopicSpec:
    """The topic an event is published on: its type's, or for an amendment
    (RecordCorrected, RecordRetracted) the topic of the record it amends."""
    if isinstance(event, RecordCorrected | RecordRetracted):
        return spec_for(event.record_type)
    return spec_for(event.event_type)


def subject_for(topic: str, event_type: str | None = None) -> str:
    """The value schema's subject: ``<topic>-value`` for the topic's own type (Confluent's
    TopicNameStrategy), ``<topic>-sinergi.events.<Type>`` for a further type on one of
    the hub's topics (TopicRecordNameStrategy)."""
    spec = BY_NAME.get(_relative(topic))
    if event_type is None or spec is None or event_type == spec.event_type:
        return f"{topic}-value"
    return f"{topic}-sinergi.events.{event_type}"


def _relative(topic: str) -> str:
    """The hub's name of a (possibly prefixed) topic."""
    for name in BY_NAME:
        if topic == name or topic.endswith(f".{name}"):
            return name
    return topic
