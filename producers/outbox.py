"""A desk's outbox: every signed message is kept on the desk's own disk before it is sent.

A post at a border crossing records whether or not the hub can be reached (issue 7,
"posts keep working offline"). So a desk does not send to Kafka directly: it writes
each signed message to this outbox (SQLite, WAL, ``synchronous=FULL``: on disk when
:meth:`DeskOutbox.put` returns), then delivers what is pending, oldest first, whenever
it runs (``sinergi <agency> sync``, or any command that records). A message leaves the
pending set only once the broker acknowledged it (``acks=all``).

Exactly once in the ledger, not on the wire: a crash between the broker's ack and
marking it sent sends the message again on the next delivery, with the
same event id and the same value bytes, and the processor stores an event id once.
A put of an event id the outbox already holds (pending or sent) changes nothing: a
row recorded twice gets the same derived id, so a file imported twice is sent once.

The outbox holds what the desk sends and nothing more: events are pseudonymised and
the recruiter's contact sealed before they are encoded, so no personal data is here.
The file is the member's alone (0600, in a 0700 folder). The same library serves the
command line and, later, a web form; neither needs to know SQLite or Kafka.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from schemas.crypto import now_ms
from schemas.registry import RegistryError, SchemaRegistry

Headers = tuple[tuple[str, bytes], ...]

SUFFIX = ".outbox.sqlite"
_UNIT = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_ERROR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
SCHEMA_VERSION = 3

# A message is written once; how its delivery goes is a narrow row of its own: marking a
# thousand messages sent rewrites a few pages of ``desk_delivery``, not the pages of their
# values (about 1.3 KB each). Version 1 kept both in one table (see _FROM_VERSION_1).
_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS desk_outbox (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,  -- delivery order, never reused
        event_id       TEXT    NOT NULL UNIQUE,
        event_type     TEXT    NOT NULL,
        topic          TEXT    NOT NULL,  -- where it is sent (full name, with any prefix)
        signed_topic   TEXT    NOT NULL,  -- what the signature covers (the hub's name)
        msg_key        BLOB    NOT NULL,
        msg_value      BLOB    NOT NULL,
        headers        TEXT    NOT NULL,  -- JSON [[name, base64 value], ...]
        recorded_at_ms INTEGER NOT NULL,
        signed_at_ms   INTEGER,
        content_sha256 TEXT     -- a record's content (not when it was recorded): see put
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS desk_delivery (
        seq            INTEGER PRIMARY KEY REFERENCES desk_outbox (seq),
        sent_at_ms     INTEGER,
        kafka_partition INTEGER,
        kafka_offset   INTEGER,
        attempts       INTEGER NOT NULL DEFAULT 0,
        last_error     TEXT               -- a transport error's class name, never content
    )
    """,
    "CREATE INDEX IF NOT EXISTS desk_delivery_pending ON desk_delivery (seq)"
    " WHERE sent_at_ms IS NULL",
    """
    CREATE TABLE IF NOT EXISTS schema_ids (
        subject       TEXT    NOT NULL,
        schema_sha256 TEXT    NOT NULL,
        schema_id     INTEGER NOT NULL,
        PRIMARY KEY (subject, schema_sha256)
    )
    """,
)
# Version 1 to 2: the delivery columns move out of desk_outbox into desk_delivery.
_FROM_VERSION_1 = (
    "INSERT INTO desk_delivery (seq, sent_at_ms, kafka_partition, kafka_offset, attempts,"
    " last_error) SELECT seq, sent_at_ms, kafka_partition, kafka_offset, attempts, last_error"
    " FROM desk_outbox",
    "DROP INDEX IF EXISTS desk_outbox_pending",
    *(
        f"ALTER TABLE desk_outbox DROP COLUMN {column}"
        for column in ("sent_at_ms", "kafka_partition", "kafka_offset", "attempts", "last_error")
    ),
)
# Version 2 to 3: a record's content digest, to tell a record kept again from another
# record under the same id (messages kept before it have none: never compared).
_FROM_VERSION_2 = ("ALTER TABLE desk_outbox ADD COLUMN content_sha256 TEXT",)
_SELECT_PENDING = (
    "SELECT m.seq, event_id, event_type, topic, signed_topic, msg_key, msg_value, headers,"
    " recorded_at_ms, signed_at_ms, content_sha256, attempts, last_error"
    " FROM desk_delivery d JOIN desk_outbox m ON m.seq = d.seq"
    " WHERE d.sent_at_ms IS NULL ORDER BY d.seq LIMIT ?"
)
_SELECT_PENDING_IDS = (
    "SELECT m.seq, event_id, attempts, last_error"
    " FROM desk_delivery d JOIN desk_outbox m ON m.seq = d.seq"
    " WHERE d.sent_at_ms IS NULL ORDER BY d.seq LIMIT ?"
)


class OutboxError(RuntimeError):
    """The desk's outbox cannot be opened or used (a disk or file problem)."""


@dataclass(frozen=True)
class DeskMessage:
    """A signed message as the desk keeps it until the hub has it."""

    event_id: str
    event_type: str
    topic: str
    signed_topic: str
    key: bytes
    value: bytes
    headers: Headers
    recorded_at: datetime
    signed_at_ms: int | None
    # A record's content, without the moment it was recorded (:func:`content_digest`):
    # the same record kept again has the same; None for corrections and retractions.
    content_sha256: str | None = None


class RecordedBeforeError(ValueError):
    """Records whose event ids this desk holds already, or that one batch holds twice,
    with other content: keeping them would keep only the first, silently."""

    def __init__(self, event_ids: Sequence[str]) -> None:
        super().__init__(", ".join(event_ids))
        self.event_ids = list(event_ids)


@dataclass(frozen=True)
class Pending:
    """A message not yet acknowledged by the hub, with how delivery went so far."""

    seq: int
    message: DeskMessage
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class Sent:
    """Where the broker put a message (it acknowledged it: ``acks=all``)."""

    event_id: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Delivery:
    """What one delivery did: sent in order, how many still wait, and why it stopped."""

    sent: list[Sent]
    pending: int
    error: str | None = None
    # New messages the call put in the outbox first (0 for a delivery alone).
    recorded: int = 0
    # The event ids the call recorded (a correction's or retraction's own id, not the
    # record's): which of ``sent`` are this call's.
    ids: frozenset[str] = frozenset()


class DeliveryFailed(Exception):
    """Raised by a sender when the transport fails: ``error`` is the failure's class name
    (never its text, which may quote a message), ``sent`` what was acknowledged before."""

    def __init__(self, error: str, sent: Sequence[Sent] = ()) -> None:
        super().__init__(error)
        self.error = error
        self.sent = list(sent)


# Sends messages in order and returns one Sent per message, or raises DeliveryFailed.
Send = Callable[[Sequence[DeskMessage]], list[Sent]]
# The message to send, signed again if its signature is too old (only headers change).
Resign = Callable[[DeskMessage], DeskMessage]


def _error_name(error: str) -> str:
    return error if _ERROR_NAME.fullmatch(error) else "TransportError"


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _headers_text(headers: Headers) -> str:
    return json.dumps([[name, base64.b64encode(value).decode()] for name, value in headers])


def _headers_from(text: str) -> Headers:
    return tuple((str(name), base64.b64decode(value)) for name, value in json.loads(text))


def _private_dir(folder: Path) -> None:
    """``folder`` and any missing parent, each readable by this user only."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)
        path.chmod(0o700)


def _private_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    path.chmod(0o600)


class DeskOutbox:
    """One member unit's outbox (one SQLite file). Use one instance per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            _private_file(path)
            # isolation_level=None: transactions are begun and ended here, explicitly.
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"cannot open the desk's outbox {path}: {exc}") from exc
        try:
            self._prepare()
        except BaseException:
            self._db.close()
            raise

    def _prepare(self) -> None:
        """Write-ahead log, a sync at every commit, and the tables (an outbox of an
        earlier version brought up to this one, in the same transaction)."""
        [(mode,)] = self._query("PRAGMA journal_mode=WAL")
        if mode != "wal":
            raise OutboxError(f"the desk's outbox {self.path} cannot use a write-ahead log")
        self._query("PRAGMA synchronous=FULL")
        with self._transaction() as db:
            [(version,)] = db.execute("PRAGMA user_version").fetchall()
            if version > SCHEMA_VERSION:
                raise OutboxError(
                    f"the desk's outbox {self.path} was written by a newer Sinergi"
                    f" (version {version}; this one reads {SCHEMA_VERSION}): upgrade it"
                )
            for statement in _SCHEMA:
                db.execute(statement)
            if version == 1:
                for statement in _FROM_VERSION_1:
                    db.execute(statement)
            if version in (1, 2):
                for statement in _FROM_VERSION_2:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @classmethod
    def for_unit(cls, folder: Path, unit: str) -> DeskOutbox:
        """The outbox of ``unit`` in ``folder`` (made 0700), created on first use (0600)."""
        if not _UNIT.fullmatch(unit):
            raise OutboxError(f"not a member id: {unit[:40]!r}")
        try:
            _private_dir(folder)
        except OSError as exc:
            raise OutboxError(f"cannot make the desk folder {folder}: {exc}") from exc
        return cls(folder / f"{unit}{SUFFIX}")

    @staticmethod
    def units(folder: Path) -> list[str]:
        """The member units that have an outbox in ``folder``."""
        if not folder.is_dir():
            return []
        names = (p.name.removesuffix(SUFFIX) for p in folder.glob(f"*{SUFFIX}"))
        return sorted(n for n in names if _UNIT.fullmatch(n))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DeskOutbox:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, on disk once it commits (WAL, synchronous=FULL)."""
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back already
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """A disk full, a locked or damaged file: the desk's problem, said as such."""
        try:
            yield
        except sqlite3.Error as exc:
            raise OutboxError(f"the desk's outbox {self.path}: {exc}") from exc

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        with self._errors():
            return self._db.execute(sql, params).fetchall()

    # --- recording ---------------------------------------------------------------------

    def put(self, messages: Sequence[DeskMessage]) -> int:
        """Keep ``messages`` (one transaction, on disk when this returns); an event id
        already held, pending or sent, with the same content is left as it is (the same
        record kept again). Returns how many were new. Raises RecordedBeforeError, keeping
        nothing, for records held already, or twice among ``messages``, with other content."""
        rows = [
            (
                m.event_id,
                m.event_type,
                m.topic,
                m.signed_topic,
                m.key,
                m.value,
                _headers_text(m.headers),
                _ms(m.recorded_at),
                m.signed_at_ms,
                m.content_sha256,
            )
            for m in messages
        ]
        with self._transaction() as db:
            conflicting = _conflicting(db, [(m.event_id, m.content_sha256) for m in messages])
            if conflicting:
                raise RecordedBeforeError(conflicting)
            [(last,)] = db.execute("SELECT coalesce(max(seq), 0) FROM desk_outbox").fetchall()
            before = db.total_changes
            db.executemany(
                "INSERT INTO desk_outbox (event_id, event_type, topic, signed_topic, msg_key,"
                " msg_value, headers, recorded_at_ms, signed_at_ms, content_sha256)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                rows,
            )
            new = db.total_changes - before
            # The new messages are those after the last one (seq only grows), all pending.
            db.execute(
                "INSERT INTO desk_delivery (seq) SELECT seq FROM desk_outbox WHERE seq > ?", (last,)
            )
            return new

    def conflicts(self, records: Sequence[tuple[str, str | None]]) -> list[str]:
        """Of ``records`` (event id, content digest: :func:`producers.publisher.
        content_digest`), the ids this desk holds, or ``records`` holds twice, with other
        content: what :meth:`put` would refuse."""
        with self._errors():
            return _conflicting(self._db, records)

    # --- reading -----------------------------------------------------------------------

    def pending(self, limit: int | None = None) -> list[Pending]:
        """Messages the hub has not acknowledged, in the order they were recorded."""
        # LIMIT -1: no limit, in SQLite's words.
        rows = self._query(_SELECT_PENDING, (-1 if limit is None else limit,))
        return [_pending(row) for row in rows]

    def _pending(self, limit: int, known: Mapping[str, DeskMessage]) -> list[Pending]:
        """The first ``limit`` pending messages, those in ``known`` (just kept, as they
        are in the file) without reading their content back."""
        if not known:
            return self.pending(limit)
        rows = self._query(_SELECT_PENDING_IDS, (limit,))
        if not all(event_id in known for _, event_id, _, _ in rows):
            return self.pending(limit)  # older messages first: read as they are kept
        return [
            Pending(seq, known[event_id], attempts, error)
            for seq, event_id, attempts, error in rows
        ]

    def count_pending(self) -> int:
        [(count,)] = self._query("SELECT count(*) FROM desk_delivery WHERE sent_at_ms IS NULL")
        return int(count)

    def record_of(self, event_id: str) -> tuple[str, bytes] | None:
        """The type and Kafka key of a record this desk kept (to amend it), or None."""
        rows = self._query(
            "SELECT event_type, msg_key FROM desk_outbox WHERE event_id = ?", (event_id,)
        )
        return (str(rows[0][0]), bytes(rows[0][1])) if rows else None

    def key_of(self, event_id: str) -> str | None:
        """The Kafka key this desk sent ``event_id`` under (an amendment goes beside it)."""
        found = self.record_of(event_id)
        return found[1].decode() if found else None

    def sent(self, event_id: str) -> Sent | None:
        """Where the hub put ``event_id``, once it acknowledged it."""
        rows = self._query(
            "SELECT topic, kafka_partition, kafka_offset"
            " FROM desk_outbox m JOIN desk_delivery d ON d.seq = m.seq"
            " WHERE event_id = ? AND sent_at_ms IS NOT NULL",
            (event_id,),
        )
        return Sent(event_id, *rows[0]) if rows else None

    # --- delivering --------------------------------------------------------------------

    def _mark_sent(self, batch: Sequence[Pending], sent: Sequence[Sent]) -> None:
        """Record the broker's acknowledgements of the first ``len(sent)`` messages of
        ``batch`` (in its order): these are no longer pending."""
        at = now_ms()
        with self._transaction() as db:
            db.executemany(
                "UPDATE desk_delivery SET sent_at_ms = ?, kafka_partition = ?, kafka_offset = ?"
                " WHERE seq = ? AND sent_at_ms IS NULL",
                [(at, s.partition, s.offset, p.seq) for p, s in zip(batch, sent, strict=False)],
            )

    def deliver(
        self,
        send: Send,
        *,
        resign: Resign | None = None,
        chunk: int = 1000,
        kept: Sequence[DeskMessage] = (),
    ) -> Delivery:
        """Send what is pending, in order, ``chunk`` messages at a time, marking each
        acknowledged one sent; stop at the first transport failure, the rest waits.
        ``kept``: messages this process has just kept (:meth:`put`, every one new), which
        are then not read back from the file."""
        known = {m.event_id: m for m in kept}
        delivered: list[Sent] = []
        while batch := self._pending(chunk, known):
            messages = self._attempt(batch, resign)
            acked, error = _send_chunk(send, messages)
            self._mark_sent(batch, acked)
            delivered += acked
            if error is not None:
                self._failed(batch[len(acked) :], error)
                return Delivery(delivered, self.count_pending(), error)
        return Delivery(delivered, 0)

    def _attempt(self, batch: Sequence[Pending], resign: Resign | None) -> list[DeskMessage]:
        """Count an attempt for each message and keep any new signature before sending,
        so what the outbox holds is what went on the wire."""
        messages = [_resigned(p.message, resign) for p in batch]
        resigned = [m for p, m in zip(batch, messages, strict=True) if m is not p.message]
        with self._transaction() as db:
            # The batch is the first pending messages in order: every pending one between
            # its first and its last.
            db.execute(
                "UPDATE desk_delivery SET attempts = attempts + 1"
                " WHERE sent_at_ms IS NULL AND seq BETWEEN ? AND ?",
                (batch[0].seq, batch[-1].seq),
            )
            db.executemany(
                "UPDATE desk_outbox SET headers = ?, signed_at_ms = ? WHERE event_id = ?",
                [(_headers_text(m.headers), m.signed_at_ms, m.event_id) for m in resigned],
            )
        return messages

    def _failed(self, unsent: Sequence[Pending], error: str) -> None:
        with self._transaction() as db:
            db.executemany(
                "UPDATE desk_delivery SET last_error = ? WHERE seq = ? AND sent_at_ms IS NULL",
                [(error, p.seq) for p in unsent],
            )

    # --- schema ids, for framing while the registry cannot be reached ------------------

    def schema_id(self, subject: str, schema_text: str) -> int | None:
        rows = self._query(
            "SELECT schema_id FROM schema_ids WHERE subject = ? AND schema_sha256 = ?",
            (subject, _sha256(schema_text)),
        )
        return int(rows[0][0]) if rows else None

    def remember_schema(self, subject: str, schema_text: str, schema_id: int) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO schema_ids (subject, schema_sha256, schema_id) VALUES (?, ?, ?)"
                " ON CONFLICT (subject, schema_sha256)"
                " DO UPDATE SET schema_id = excluded.schema_id",
                (subject, _sha256(schema_text), schema_id),
            )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def repeated(records: Sequence[tuple[str, str | None]]) -> tuple[dict[str, str], set[str]]:
    """Of ``records`` (event id, content digest), the first digest of each id, and the
    ids given twice with another digest (records without one are never compared)."""
    digests: dict[str, str] = {}
    found: set[str] = set()
    for event_id, digest in records:
        if digest is None:
            continue
        if digests.setdefault(event_id, digest) != digest:
            found.add(event_id)
    return digests, found


def _conflicting(db: sqlite3.Connection, records: Sequence[tuple[str, str | None]]) -> list[str]:
    """The event ids of ``records`` (id, content digest) held already, or twice among
    them, with another digest (records without one are never compared)."""
    digests, found = repeated(records)
    ids = sorted(digests)
    for start in range(0, len(ids), 500):  # SQLite's limit on parameters
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for event_id, held in db.execute(
            "SELECT event_id, content_sha256 FROM desk_outbox"  # noqa: S608 (only ?s)
            f" WHERE content_sha256 IS NOT NULL AND event_id IN ({marks})",
            chunk,
        ):
            if held != digests[event_id]:
                found.add(event_id)
    return sorted(found)


def _pending(row: Any) -> Pending:
    """A row of :data:`_SELECT_PENDING`."""
    (seq, event_id, event_type, topic, signed_topic, key, value, headers) = row[:8]
    recorded_at_ms, signed_at_ms, content_sha256, attempts, last_error = row[8:]
    message = DeskMessage(
        event_id=event_id,
        event_type=event_type,
        topic=topic,
        signed_topic=signed_topic,
        key=bytes(key),
        value=bytes(value),
        headers=_headers_from(headers),
        recorded_at=datetime.fromtimestamp(recorded_at_ms / 1000, tz=UTC),
        signed_at_ms=signed_at_ms,
        content_sha256=content_sha256,
    )
    return Pending(seq, message, attempts, last_error)


def _resigned(message: DeskMessage, resign: Resign | None) -> DeskMessage:
    if resign is None:
        return message
    fresh = resign(message)
    same = (fresh.event_id, fresh.topic, fresh.signed_topic, fresh.key, fresh.value)
    if same != (message.event_id, message.topic, message.signed_topic, message.key, message.value):
        raise ValueError("signing again may change a message's headers only")
    return fresh


def _send_chunk(send: Send, messages: Sequence[DeskMessage]) -> tuple[list[Sent], str | None]:
    """The acknowledgements that match ``messages`` from the first one on, and why the
    rest were not (None: all were). Only that prefix may be marked sent."""
    try:
        sent, error = send(messages), None
    except DeliveryFailed as failure:
        sent, error = failure.sent, _error_name(failure.error)
    acked = _acked_prefix(messages, sent)
    if error is None and len(acked) < len(messages):
        error = "IncompleteDelivery"
    return acked, error


def _acked_prefix(messages: Sequence[DeskMessage], sent: Sequence[Sent]) -> list[Sent]:
    """The acknowledgements that match the messages from the start, in order."""
    prefix: list[Sent] = []
    for message, ack in zip(messages, sent, strict=False):
        if ack.event_id != message.event_id:
            break
        prefix.append(ack)
    return prefix


class RememberedSchemas:
    """The registry as a desk sees it: a schema id looked up once is kept in the desk's
    outbox file, so the desk still frames events (the wire format needs the id) while
    the hub, and its registry, cannot be reached. Ids of a registered schema never change.

    ``every``: the (subject, schema) pairs the desk may ever need (each record of its
    agency, and its corrections and retractions). The first time the registry answers,
    all of them are looked up and kept: a form the desk had not used yet, or a
    correction, is then recorded offline too.
    """

    def __init__(
        self,
        outbox: DeskOutbox,
        registry: SchemaRegistry,
        every: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.outbox = outbox
        self.registry = registry
        self.every = every
        self._learnt = not every

    def lookup(self, subject: str, schema_text: str) -> int | None:
        known = self.outbox.schema_id(subject, schema_text)
        if known is not None:
            return known
        found = self.registry.lookup(subject, schema_text)
        if found is not None:
            self.outbox.remember_schema(subject, schema_text, found)
        self._learn_every()
        return found

    def _learn_every(self) -> None:
        """Look up and keep each of ``every`` not kept yet, once the registry answered."""
        if self._learnt:
            return
        self._learnt = True
        try:
            for subject, text in self.every:
                if self.outbox.schema_id(subject, text) is None:
                    found = self.registry.lookup(subject, text)
                    if found is not None:
                        self.outbox.remember_schema(subject, text, found)
        except RegistryError:
            self._learnt = False  # gone again meanwhile: the next answer tries the rest

    def register(self, subject: str, schema_text: str) -> int:
        found = self.registry.register(subject, schema_text)
        self.outbox.remember_schema(subject, schema_text, found)
        return found

    def schema(self, schema_id: int) -> str:
        return self.registry.schema(schema_id)
