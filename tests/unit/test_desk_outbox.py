"""A desk keeps what it records in its own outbox and delivers it when the hub can be
reached: nothing lost, nothing sent twice to the ledger, old signatures renewed."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from producers.fields import InvalidInputError
from producers.outbox import (
    SCHEMA_VERSION,
    DeliveryFailed,
    DeskMessage,
    DeskOutbox,
    OutboxError,
    RememberedSchemas,
    Sent,
)
from producers.publisher import Publisher
from producers.signing import Signer
from schemas import avro, crypto
from schemas.model import InterceptionOutcome as Outcome
from schemas.registry import RegistryError
from schemas.serde import EventSerializer
from schemas.topics import subject_for
from sinergi import i18n
from tests.factories import interception
from tests.unit.fake_kafka import FakeBroker
from tests.unit.fakes import MemoryRegistry

UNIT = "post-eltari"
T0_MS = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)
HOUR_MS = 3600 * 1000


class Clock:
    def __init__(self) -> None:
        self.ms = T0_MS

    def __call__(self) -> int:
        return self.ms

    def advance(self, hours: float) -> None:
        self.ms += int(hours * HOUR_MS)


class Desk:
    """A post's desk: its outbox in a folder, its key, a broker that may be down."""

    def __init__(self, folder) -> None:
        self.folder = folder
        self.key = Ed25519PrivateKey.generate()
        self.registry = MemoryRegistry()
        self.broker = FakeBroker()
        self.clock = Clock()
        self.publisher = self.open()

    def open(self) -> Publisher:
        return Publisher(
            self.broker.connect,
            EventSerializer(self.registry, register=True),
            lambda name: f"t.{name}",
            Signer(UNIT, self.key),
            outbox=DeskOutbox.for_unit(self.folder, UNIT),
            replay_window=timedelta(hours=24),
            clock=self.clock,
        )

    def reopen(self) -> Publisher:
        self.publisher.close()
        self.publisher = self.open()
        return self.publisher

    @property
    def outbox(self) -> DeskOutbox:
        assert self.publisher.outbox is not None
        return self.publisher.outbox


@pytest.fixture
def desk(tmp_path):
    made = Desk(tmp_path / "desk")
    yield made
    made.publisher.close()


def events(n: int, start: int = 1):
    return [interception(i) for i in range(start, start + n)]


def verifies(desk: Desk, topic: str, key: bytes, value: bytes, headers) -> bool:
    found = dict(headers)
    at = crypto.parse_signed_at(found[crypto.SIGNED_AT_HEADER])
    return crypto.verify(
        desk.key.public_key(), found[crypto.SIGNATURE_HEADER], topic, key, value, signed_at_ms=at
    )


# --- durable: nothing recorded is lost --------------------------------------------------------


def test_what_a_desk_records_offline_is_still_pending_after_reopening(desk):
    desk.broker.up = False
    recorded = events(3)
    delivery = desk.publisher.record(recorded)
    assert (delivery.sent, delivery.pending, delivery.recorded) == ([], 3, 3)
    assert delivery.error == "KafkaTimeoutError"
    before = [p.message for p in desk.outbox.pending()]

    desk.reopen()
    after = desk.outbox.pending()
    assert [p.message for p in after] == before
    assert [p.message.event_id for p in after] == [e.event_id for e in recorded]
    assert all((p.attempts, p.last_error) == (1, "KafkaTimeoutError") for p in after)
    assert desk.outbox.count_pending() == 3


def test_a_failing_sender_leaves_everything_pending_with_its_attempts_and_error(desk):
    desk.broker.up = False
    desk.publisher.record(events(2))

    def down(messages):
        raise DeliveryFailed("KafkaConnectionError")

    delivery = desk.outbox.deliver(down)
    assert (delivery.sent, delivery.pending) == ([], 2)
    assert delivery.error == "KafkaConnectionError"
    assert [(p.attempts, p.last_error) for p in desk.outbox.pending()] == [
        (2, "KafkaConnectionError"),
        (2, "KafkaConnectionError"),
    ]


def test_a_last_error_is_a_class_name_never_the_text_of_a_failure(desk):
    desk.broker.up = False
    desk.publisher.record(events(1))

    def leaky(messages):
        raise DeliveryFailed("refused: NIK 5302014101900001 for Maria")

    assert desk.outbox.deliver(leaky).error == "TransportError"
    assert desk.outbox.pending()[0].last_error == "TransportError"


def test_after_reconnecting_every_pending_message_is_sent_once_in_the_order_recorded(desk):
    desk.broker.up = False
    first, second = events(2), events(3, start=3)
    desk.publisher.record(first)
    desk.publisher.record(second)
    kept = [p.message for p in desk.outbox.pending()]

    desk.broker.up = True
    desk.reopen()
    delivery = desk.publisher.sync()
    assert delivery.pending == 0 and delivery.error is None
    assert [s.event_id for s in delivery.sent] == [e.event_id for e in first + second]
    assert [r.value for r in desk.broker.records] == [m.value for m in kept]
    assert desk.outbox.count_pending() == 0
    for sent in delivery.sent:
        assert desk.outbox.sent(sent.event_id) == sent

    assert desk.publisher.sync().sent == []  # nothing is sent twice
    assert len(desk.broker.records) == 5


def test_recording_delivers_what_waited_before_what_is_new(desk):
    desk.broker.up = False
    old = events(2)
    desk.publisher.record(old)
    desk.broker.up = True
    new = events(1, start=9)
    delivery = desk.publisher.record(new)
    assert [s.event_id for s in delivery.sent] == [e.event_id for e in old + new]
    assert (delivery.recorded, delivery.pending) == (1, 0)


def test_messages_just_kept_are_sent_as_kept_after_what_waited_chunk_by_chunk(desk):
    """What a desk has just kept is sent from memory (not read back), and only after
    the messages that waited before it, in order, each attempt counted once."""
    desk.broker.up = False
    old = events(3)
    desk.publisher.record(old)
    new = desk.publisher.desk_messages(events(3, start=9))
    assert desk.outbox.put(new) == 3
    sent: list[DeskMessage] = []

    def send(messages):
        sent.extend(messages)
        return [Sent(m.event_id, m.topic, 0, len(sent) - len(messages) + n)
                for n, m in enumerate(messages)]  # fmt: skip

    delivery = desk.outbox.deliver(send, chunk=2, kept=new)
    assert [m.event_id for m in sent] == [e.event_id for e in old] + [m.event_id for m in new]
    assert sent[3:] == new and (delivery.pending, delivery.error) == (0, None)
    attempts = desk.outbox._query("SELECT attempts FROM desk_delivery ORDER BY seq")
    assert [a for (a,) in attempts] == [2, 2, 2, 1, 1, 1]
    assert desk.outbox.deliver(send, kept=new).sent == [] and len(sent) == 6


def test_recording_the_same_event_again_is_a_no_op_pending_or_sent(desk):
    desk.broker.up = False
    recorded = events(2)
    assert desk.publisher.record(recorded).recorded == 2
    assert desk.publisher.record(recorded).recorded == 0
    assert desk.outbox.count_pending() == 2
    desk.broker.up = True
    assert len(desk.publisher.sync().sent) == 2
    again = desk.publisher.record(recorded)
    assert (again.recorded, again.sent, again.pending) == (0, [], 0)
    assert len(desk.broker.records) == 2


def test_a_record_under_an_id_kept_before_with_other_content_is_refused_not_dropped(desk):
    """An edited row imported again under its id, or two rows of one file with one id:
    only the first would be kept (the outbox keeps an id once), while the officer was
    told all went. Refused instead, nothing of the batch kept; the same record again
    (recorded at another moment) is still kept once."""
    desk.broker.up = False
    [first] = events(1)
    assert desk.publisher.record([first]).recorded == 1
    later = first.envelope.recorded_at + timedelta(hours=2)
    same = dataclasses.replace(
        first, envelope=dataclasses.replace(first.envelope, recorded_at=later)
    )
    assert desk.publisher.record([same]).recorded == 0  # the same record: kept once
    # Imported again, a recruiter's contact is sealed for police anew (a new random key),
    # and it is still the same record (as the hub judges it: its seals are left out).
    sealed = dataclasses.replace(first, recruiter_contact_sealed="police-k1.c2VhbGVkIGFnYWlu")
    assert desk.publisher.record([sealed]).recorded == 0
    edited = dataclasses.replace(first, outcome=Outcome.HANDED_TO_POLICE)
    other = interception(7)
    with pytest.raises(InvalidInputError) as refused:
        desk.publisher.record([other, edited])
    [problem] = refused.value.errors
    assert problem.field == "event_id" and problem.message.startswith(first.event_id)
    assert "corrected, never edited" in problem.message
    assert "dikoreksi, tidak pernah diubah" in i18n.problem(problem, "id")
    assert desk.outbox.count_pending() == 1  # nothing of that batch kept
    twice = dataclasses.replace(other, outcome=Outcome.HANDED_TO_POLICE)
    with pytest.raises(InvalidInputError) as in_one_file:
        desk.publisher.record([other, twice])
    assert [e.message.split(":")[0] for e in in_one_file.value.errors] == [other.event_id]
    assert desk.outbox.count_pending() == 1


def test_a_connection_dropping_midway_keeps_the_rest_for_later_in_order(desk):
    desk.broker.up = False
    recorded = events(5)
    desk.publisher.record(recorded)
    desk.broker.up, desk.broker.takes = True, 2
    delivery = desk.publisher.sync()
    assert [s.event_id for s in delivery.sent] == [e.event_id for e in recorded[:2]]
    assert (delivery.pending, delivery.error) == (3, "KafkaTimeoutError")
    assert [p.message.event_id for p in desk.outbox.pending()] == [e.event_id for e in recorded[2:]]
    desk.broker.takes = None
    assert [s.event_id for s in desk.publisher.sync().sent] == [e.event_id for e in recorded[2:]]
    assert desk.broker.connections == 2  # the broken producer was dropped, a new one made


def test_delivery_goes_in_chunks_and_stops_at_the_first_failing_one(desk):
    desk.broker.up = False
    recorded = events(5)
    desk.publisher.record(recorded)
    calls = []

    def second_chunk_fails(messages):
        calls.append([m.event_id for m in messages])
        if len(calls) == 2:
            raise DeliveryFailed("KafkaConnectionError", [Sent(messages[0].event_id, "t", 0, 9)])
        return [Sent(m.event_id, m.topic, 0, i) for i, m in enumerate(messages)]

    delivery = desk.outbox.deliver(second_chunk_fails, chunk=2)
    ids = [e.event_id for e in recorded]
    assert calls == [ids[0:2], ids[2:4]]
    assert [s.event_id for s in delivery.sent] == ids[:3]
    assert [(p.message.event_id, p.attempts, p.last_error) for p in desk.outbox.pending()] == [
        (ids[3], 2, "KafkaConnectionError"),
        (ids[4], 1, "KafkaTimeoutError"),  # not tried again: delivery stopped before it
    ]


class Crash(BaseException):
    """The desk's machine losing power."""


def test_a_crash_between_sending_and_marking_sent_sends_the_same_message_again(desk):
    desk.broker.up = False
    [event] = events(1)
    desk.publisher.record([event])
    desk.broker.up = True

    def send_then_crash(messages):
        desk.publisher._send(messages)
        raise Crash

    with pytest.raises(Crash):
        desk.outbox.deliver(send_then_crash)
    desk.reopen()
    assert [p.message.event_id for p in desk.outbox.pending()] == [event.event_id]
    [sent] = desk.publisher.sync().sent
    assert sent.event_id == event.event_id
    first, again = desk.broker.records
    assert (again.topic, again.key, again.value) == (first.topic, first.key, first.value)
    assert desk.outbox.count_pending() == 0


# --- files: the member's alone ----------------------------------------------------------------


def test_the_outbox_file_is_readable_by_its_member_only(desk):
    desk.broker.up = False
    desk.publisher.record(events(1))
    path = desk.folder / f"{UNIT}.outbox.sqlite"
    assert path.stat().st_mode & 0o777 == 0o600
    assert desk.folder.stat().st_mode & 0o777 == 0o700
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and wal.stat().st_mode & 0o777 == 0o600
    assert DeskOutbox.units(desk.folder) == [UNIT]


def test_the_outbox_writes_ahead_and_syncs_every_commit(desk):
    db = desk.outbox._db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_an_outbox_is_named_only_by_a_member_id(tmp_path):
    with pytest.raises(OutboxError):
        DeskOutbox.for_unit(tmp_path, "../post-eltari")


# The first version of the file, as desks in the field hold it: one table for a message
# and how its delivery went.
VERSION_1 = """
    CREATE TABLE desk_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL, topic TEXT NOT NULL, signed_topic TEXT NOT NULL,
        msg_key BLOB NOT NULL, msg_value BLOB NOT NULL, headers TEXT NOT NULL,
        recorded_at_ms INTEGER NOT NULL, signed_at_ms INTEGER, sent_at_ms INTEGER,
        kafka_partition INTEGER, kafka_offset INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT);
    CREATE INDEX desk_outbox_pending ON desk_outbox (seq) WHERE sent_at_ms IS NULL;
    CREATE TABLE schema_ids (subject TEXT NOT NULL, schema_sha256 TEXT NOT NULL,
        schema_id INTEGER NOT NULL, PRIMARY KEY (subject, schema_sha256));
    PRAGMA user_version=1;
"""


def test_an_outbox_of_the_first_version_keeps_every_message_and_its_delivery(tmp_path):
    path = tmp_path / f"{UNIT}.outbox.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(VERSION_1)
        db.executemany(
            "INSERT INTO desk_outbox (event_id, event_type, topic, signed_topic, msg_key,"
            " msg_value, headers, recorded_at_ms, signed_at_ms, sent_at_ms, kafka_partition,"
            " kafka_offset, attempts, last_error) VALUES (?, 'InterceptionRecorded',"
            " 't.posts', 'posts', ?, ?, '[[\"h\", \"AQI=\"]]', ?, ?, ?, ?, ?, ?, ?)",
            [
                ("e-1", b"k1", b"v1", T0_MS, T0_MS, T0_MS + 5, 2, 7, 1, None),
                ("e-2", b"k2", b"v2", T0_MS, T0_MS, None, None, None, 2, "KafkaTimeoutError"),
                ("e-3", b"k3", b"v3", T0_MS, None, None, None, None, 0, None),
            ],
        )
        db.execute("INSERT INTO schema_ids VALUES ('posts-value', 'abc', 4)")
    with DeskOutbox(path) as outbox:
        assert outbox.sent("e-1") == Sent("e-1", "t.posts", 2, 7)
        pending = outbox.pending()
        assert [(p.message.event_id, p.attempts, p.last_error) for p in pending] == [
            ("e-2", 2, "KafkaTimeoutError"),
            ("e-3", 0, None),
        ]
        assert (pending[0].message.key, pending[0].message.value) == (b"k2", b"v2")
        assert pending[0].message.headers == (("h", b"\x01\x02"),)
        assert outbox.count_pending() == 2
        assert outbox._query("SELECT schema_id FROM schema_ids") == [(4,)]
        assert outbox._query("PRAGMA user_version") == [(SCHEMA_VERSION,)]
        columns = {row[1] for row in outbox._query("PRAGMA table_info(desk_outbox)")}
        assert not columns & {"sent_at_ms", "attempts", "last_error", "kafka_offset"}
        assert "content_sha256" in columns  # none for what was kept before: never compared
        delivery = outbox.deliver(lambda ms: [Sent(m.event_id, m.topic, 0, 9) for m in ms])
        assert (len(delivery.sent), delivery.pending) == (2, 0)
        assert outbox.sent("e-3") == Sent("e-3", "t.posts", 0, 9)
        assert outbox.put([dataclasses.replace(pending[0].message, event_id="e-4")]) == 1
        assert [p.message.event_id for p in outbox.pending()] == ["e-4"]


def test_an_outbox_written_by_a_newer_sinergi_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / f"{UNIT}.outbox.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(OutboxError, match="newer Sinergi"):
        DeskOutbox(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == []


# --- signatures renewed after half the replay window ----------------------------------------


def test_a_message_signed_less_than_half_a_window_ago_is_sent_as_it_was_signed(desk):
    desk.broker.up = False
    desk.publisher.record(events(1))
    [kept] = [p.message for p in desk.outbox.pending()]
    desk.clock.advance(11.9)
    desk.broker.up = True
    desk.publisher.sync()
    [record] = desk.broker.records
    assert record.headers == kept.headers and record.value == kept.value


def test_a_message_older_than_half_the_window_is_signed_again_its_value_unchanged(desk):
    desk.broker.up = False
    desk.publisher.record(events(1))
    [kept] = [p.message for p in desk.outbox.pending()]
    desk.clock.advance(48)  # two days offline
    desk.broker.up = True
    desk.publisher.sync()

    [record] = desk.broker.records
    headers = dict(record.headers)
    assert record.value == kept.value and record.key == kept.key
    assert headers[crypto.SIGNED_AT_HEADER] == str(desk.clock.ms).encode()
    assert headers[crypto.SIGNATURE_HEADER] != dict(kept.headers)[crypto.SIGNATURE_HEADER]
    assert headers[crypto.SIGNER_HEADER] == UNIT.encode()
    assert verifies(desk, kept.signed_topic, record.key, record.value, record.headers)
    assert kept.signed_topic == "posts.interception-recorded"
    assert record.topic == "t.posts.interception-recorded"


def test_the_outbox_keeps_the_renewed_signature_it_sent(desk):
    desk.broker.up = False
    desk.publisher.record(events(1))
    desk.clock.advance(13)
    desk.publisher.sync()  # still offline: signed again, then kept as signed
    [pending] = desk.outbox.pending()
    assert pending.message.signed_at_ms == desk.clock.ms
    assert verifies(
        desk,
        pending.message.signed_topic,
        pending.message.key,
        pending.message.value,
        pending.message.headers,
    )


def test_signing_again_may_change_nothing_but_the_headers(desk):
    desk.broker.up = False
    desk.publisher.record(events(1))

    def tamper(message):
        return dataclasses.replace(message, value=message.value + b"!")

    with pytest.raises(ValueError, match="headers only"):
        desk.outbox.deliver(lambda ms: [], resign=tamper)


# --- the hub's publisher: no desk outbox --------------------------------------------------


def test_the_hubs_publisher_sends_directly_and_has_no_desk_outbox():
    broker = FakeBroker()
    key = Ed25519PrivateKey.generate()
    pub = Publisher(
        broker.connect,
        EventSerializer(MemoryRegistry(), register=True),
        lambda name: name,
        Signer("hub-processor", key),
    )
    assert broker.connections == 0  # connected only when it sends
    [sent] = pub.publish(events(1))
    assert (sent.topic, sent.offset) == ("posts.interception-recorded", 0)
    with pytest.raises(ValueError, match="no desk outbox"):
        pub.record(events(1))
    pub.close()


def test_a_publisher_takes_a_ready_producer_too():
    broker = FakeBroker()
    pub = Publisher(
        broker.connect(),
        EventSerializer(MemoryRegistry(), register=True),
        lambda name: name,
        Signer("hub-processor", Ed25519PrivateKey.generate()),
    )
    assert len(pub.publish(events(2))) == 2


# --- schema ids, for a desk that cannot reach the registry -----------------------------------


class DownRegistry:
    def lookup(self, subject, schema_text):
        raise RegistryError("schema registry unreachable")

    def register(self, subject, schema_text):
        raise RegistryError("schema registry unreachable")

    def schema(self, schema_id):
        raise RegistryError("schema registry unreachable")


def test_a_desk_frames_events_with_remembered_schema_ids_while_the_registry_is_down(tmp_path):
    registry = MemoryRegistry()
    subject = subject_for("t.posts.interception-recorded")
    text = avro.load("InterceptionRecorded").text
    schema_id = registry.register(subject, text)
    with DeskOutbox.for_unit(tmp_path, UNIT) as outbox:
        assert RememberedSchemas(outbox, registry).lookup(subject, text) == schema_id
    with DeskOutbox.for_unit(tmp_path, UNIT) as outbox:
        remembered = RememberedSchemas(outbox, DownRegistry())
        assert remembered.lookup(subject, text) == schema_id
        value = EventSerializer(remembered)("t.posts.interception-recorded", interception(1))
        assert value[1:5] == schema_id.to_bytes(4, "big")


def test_the_first_answer_of_the_registry_keeps_every_id_the_desk_may_need(tmp_path):
    """A desk that has used one form online corrects a record, or uses another form,
    offline: the ids of all it may publish were kept when the registry first answered."""
    registry = MemoryRegistry()
    topic = "t.posts.interception-recorded"
    every = [
        (subject_for(topic, name), avro.load(name).text)
        for name in ("InterceptionRecorded", "RecordCorrected", "RecordRetracted")
    ]
    ids = {subject: registry.register(subject, text) for subject, text in every}
    (first_subject, first_text), *others = every
    with DeskOutbox.for_unit(tmp_path, UNIT) as outbox:
        online = RememberedSchemas(outbox, registry, every)
        assert online.lookup(first_subject, first_text) == ids[first_subject]
    with DeskOutbox.for_unit(tmp_path, UNIT) as outbox:
        offline = RememberedSchemas(outbox, DownRegistry(), every)
        for subject, text in others:
            assert offline.lookup(subject, text) == ids[subject]


def test_a_sender_acknowledging_fewer_than_it_was_given_leaves_the_rest_pending(desk):
    desk.broker.up = False
    recorded = events(3)
    desk.publisher.record(recorded)

    def forgetful(messages):
        return [Sent(messages[0].event_id, messages[0].topic, 0, 0)]

    delivery = desk.outbox.deliver(forgetful)
    assert [s.event_id for s in delivery.sent] == [recorded[0].event_id]
    assert (delivery.pending, delivery.error) == (2, "IncompleteDelivery")


def test_a_damaged_outbox_file_is_said_to_be_so(tmp_path):
    (tmp_path / f"{UNIT}.outbox.sqlite").write_bytes(b"not a database, " * 100)
    with pytest.raises(OutboxError, match="outbox"):
        DeskOutbox.for_unit(tmp_path, UNIT)


def test_a_producer_tries_a_broker_back_from_an_outage_within_five_seconds():
    """kafka-python's own ceiling between reconnection attempts is 30 s: a desk or the
    hub's relay would wait up to that long after a broker came back."""
    from producers.publisher import RECONNECT_BACKOFF_MAX_MS, kafka_producer

    producer = kafka_producer("127.0.0.1:1", api_version=(4, 0))  # nothing listens there
    try:
        assert producer.config["reconnect_backoff_max_ms"] == RECONNECT_BACKOFF_MAX_MS <= 5_000
        assert (producer.config["acks"], producer.config["enable_idempotence"]) == (-1, True)
    finally:
        producer.close(timeout=1)
