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
)

DEAD_LETTER = TopicSpec(
    "hub.dead-letter",
    "MessageDeadLettered",
    Agency.HUB,
    doc="Messages the hub could not use, with the reason (never the payload).",
)

ALL_TOPICS: tuple[TopicSpec, ...] = (*INPUT_TOPICS, DEAD_LETTER)

BY_EVENT_TYPE: dict[str, TopicSpec] = {t.event_type: t for t in ALL_TOPICS}


def spec_for(event_type: str) -> TopicSpec:
    try:
        return BY_EVENT_TYPE[event_type]
    except KeyError:
        raise KeyError(f"no topic carries {event_type}") from None


def subject_for(topic: str) -> str:
    """Confluent TopicNameStrategy: the value schema of ``topic``."""
    return f"{topic}-value"
