"""``sinergi audit verify``: is the audit trail intact, complete, and does it agree with
the dead-letter topic?

1. **Intact**: every partition's hash chain recomputes (:func:`verify_chains`).
2. **Complete**: for every partition of every input topic, each offset from the start
   of the log up to the offset the processor group committed has an audit entry. An
   offset committed past messages that left no trace is how acknowledged events were
   lost before; it shows here as the missing offsets.
3. **Dead letters agree**: every message the audit says was dead-lettered is on the
   dead-letter topic (or still in the outbox, committed and about to be relayed), and
   every dead letter on the topic is in the audit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition

from processors.audit import ChainCheck, Coverage, verify_chains
from schemas.model import MessageDeadLettered
from schemas.serde import EventDeserializer, SerializationError
from schemas.topics import DEAD_LETTER
from sinergi import bootstrap
from sinergi.config import Settings
from sinks import audit_trail

Position = tuple[str, int, int]


@dataclass
class AuditReport:
    chains: ChainCheck
    coverage: list[Coverage] = field(default_factory=list)
    dead_lettered: int = 0  # positions the audit says were dead-lettered
    on_topic: int = 0  # positions with a dead letter on the topic or in the outbox
    not_published: list[Position] = field(default_factory=list)  # audited, no dead letter
    not_audited: list[Position] = field(default_factory=list)  # a dead letter, no entry

    @property
    def complete(self) -> bool:
        return all(c.complete for c in self.coverage)

    @property
    def dead_letters_agree(self) -> bool:
        return not self.not_published and not self.not_audited

    @property
    def ok(self) -> bool:
        return self.chains.intact and self.complete and self.dead_letters_agree


def verify(settings: Settings) -> AuditReport:
    owner = bootstrap.conninfo(settings, "sinergi_owner")
    report = AuditReport(verify_chains(audit_trail.read_audit(owner)))
    report.coverage = audit_trail.partition_coverage(owner, claimed_ranges(settings))
    audited = audit_trail.dead_lettered(owner)
    published = set(dead_letters_on_topic(settings))
    decode = EventDeserializer(bootstrap.registry_reader(settings))
    for value in audit_trail.outbox_values(owner, settings.topic(DEAD_LETTER.name)):
        published |= _positions([value], decode)
    report.dead_lettered = len(audited)
    report.on_topic = len(published)
    report.not_published = sorted(audited - published)
    report.not_audited = sorted(published - audited)
    return report


def claimed_ranges(settings: Settings) -> dict[tuple[str, int], tuple[int, int]]:
    """Per input partition: (first offset still in the log, offset the processor group
    committed). Partitions the group never committed claim nothing."""
    group = settings.processor_group
    with bootstrap.kafka_admin(settings) as admin:
        committed = admin.list_group_offsets([group]).get(group, {})
    consumer = _consumer(settings)
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in bootstrap.input_topics(settings)
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        starts = consumer.beginning_offsets(partitions)
    finally:
        consumer.close()
    ranges = {}
    for tp in partitions:
        meta = committed.get(tp)
        if meta is not None and meta.offset > 0:
            ranges[(tp.topic, tp.partition)] = (starts.get(tp, 0), meta.offset)
    return ranges


def dead_letters_on_topic(settings: Settings) -> Iterator[Position]:
    """The source position of every dead letter on the dead-letter topic."""
    decode = EventDeserializer(bootstrap.registry_reader(settings))
    consumer = _consumer(settings)
    try:
        topic = settings.topic(DEAD_LETTER.name)
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return
        ends = consumer.end_offsets(partitions)
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        remaining = {tp for tp in partitions if ends.get(tp, 0) > 0}
        while remaining:
            polled = consumer.poll(timeout_ms=1000, max_records=5000)
            for records in polled.values():
                yield from _positions([r.value for r in records], decode)
            remaining = {tp for tp in remaining if consumer.position(tp) < ends[tp]}
    finally:
        consumer.close()


def _positions(values: list[bytes | None], decode: EventDeserializer) -> set[Position]:
    found = set()
    for value in values:
        try:
            event = decode(value).event
        except SerializationError:
            continue  # not a dead letter of ours: nothing to compare
        if isinstance(event, MessageDeadLettered):
            found.add((event.source_topic, event.source_partition, event.source_offset))
    return found


def _consumer(settings: Settings) -> KafkaConsumer:
    return KafkaConsumer(
        enable_auto_commit=False, group_id=None, **bootstrap.kafka_client(settings, bootstrap.ADMIN)
    )
