"""The Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary.

Serializers and deserializers are callables that raise :class:`SerializationError`
with a reason a person can act on; nothing here touches Kafka.
"""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from fastavro import schemaless_reader, schemaless_writer
from fastavro.validation import ValidationError, validate

from schemas import avro
from schemas.codec import from_dict, to_dict
from schemas.model import EVENT_TYPES, Event
from schemas.registry import GivenSchemas, RegistryError, RegistryUnavailableError, SchemaRegistry
from schemas.topics import subject_for

MAGIC = 0
_HEADER = struct.Struct(">bI")
# A registry's ids are Java ints (Confluent's and Apicurio's): 0 to 2**31 - 1. Four bytes
# can say more; such a message names no schema any registry gives.
SCHEMA_ID_MAX = 2**31 - 1


class SerializationError(ValueError):
    """An event could not be encoded, or a message could not be decoded."""


def frame(schema_id: int, body: bytes) -> bytes:
    return _HEADER.pack(MAGIC, schema_id) + body


def unframe(data: bytes | None) -> tuple[int, bytes]:
    if data is None:
        raise SerializationError("empty message (tombstone) where an event was expected")
    if len(data) < _HEADER.size:
        raise SerializationError(f"message of {len(data)} bytes is too short for the wire format")
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise SerializationError(f"unknown magic byte {magic} (expected 0, Confluent wire format)")
    if schema_id > SCHEMA_ID_MAX:
        raise SerializationError(
            f"schema id {schema_id} is beyond any registry's ids (at most {SCHEMA_ID_MAX})"
        )
    return schema_id, data[_HEADER.size :]


def describe_validation(exc: ValidationError) -> str:
    """fastavro's error list, as 'field: problem' without echoing the values."""
    reasons = []
    for err in exc.errors:
        text = str(err)
        # fastavro says "<path> is <value> of type <type> expected <schema>"; keep path + expected.
        path, _, rest = text.partition(" is ")
        expected = rest.rsplit(" expected ", 1)[-1] if " expected " in rest else "a valid value"
        reasons.append(f"{path}: expected {expected}")
    return "; ".join(reasons) or "does not match its schema"


class Decoded(NamedTuple):
    schema_id: int
    event: Event
    # The record as fastavro read it: kept so the store need not convert the event back.
    record: dict[str, Any]


class EventSerializer:
    """Encode an event for ``topic``: validate, find the schema's id once, frame.

    Publishers only look the schema up (reads); the hub's administrator registers
    schemas (``sinergi stack up``). ``register=True`` registers instead (tests, tools).
    """

    def __init__(self, registry: SchemaRegistry, *, register: bool = False) -> None:
        self.registry = registry
        self.register = register
        self._ids: dict[tuple[str, str], int] = {}

    def schema_id(self, topic: str, event_type: str) -> int:
        key = (topic, event_type)
        if key not in self._ids:
            schema = avro.load(event_type)
            subject = subject_for(topic, event_type)
            try:
                if self.register:
                    found: int | None = self.registry.register(subject, schema.text)
                else:
                    found = self.registry.lookup(subject, schema.text)
            except RegistryUnavailableError:
                raise  # a fault that passes (TransientError), not a bad event
            except RegistryError as exc:
                raise SerializationError(str(exc)) from exc
            if found is None:
                raise SerializationError(
                    f"{event_type} v{schema.version} is not registered under {subject}:"
                    " the hub's administrator registers schemas (sinergi stack up)"
                )
            self._ids[key] = found
        return self._ids[key]

    def given(self, pairs: Iterable[tuple[str, str]]) -> GivenSchemas:
        """The schema ids of these (topic, event type) pairs, looked up now, to encode the
        same events in another process (``EventSerializer(serializer.given(...))``)."""
        return GivenSchemas(
            {(subject_for(topic, name), avro.load(name).text): self.schema_id(topic, name)
             for topic, name in pairs}
        )  # fmt: skip

    def __call__(self, topic: str, event: Event) -> bytes:
        schema = avro.load(event.event_type)
        record = to_dict(event)
        out = io.BytesIO()
        try:
            # strict: a missing or unknown field is an error, not a default or a drop.
            schemaless_writer(out, schema.parsed, record, strict=True)
        except Exception:  # fastavro raises many kinds; validation says which field
            raise SerializationError(self._why(event, record, schema.parsed)) from None
        return frame(self.schema_id(topic, event.event_type), out.getvalue())

    @staticmethod
    def _why(event: Event, record: dict[str, Any], parsed: Any) -> str:
        """What does not match the schema (validating is slow: only once writing failed)."""
        try:
            validate(record, parsed, raise_errors=True)
        except ValidationError as exc:
            return f"{event.event_type} does not match its schema: {describe_validation(exc)}"
        return f"{event.event_type} does not match its schema"


class EventDeserializer:
    """Decode wire-format bytes into an event, with the writer's schema fetched by id.

    The writer's schema is resolved against this code's (reader) schema of the same
    event type, so data written with an older or newer version stays readable.
    """

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self._readers: dict[int, tuple[Any, Any, type[Event]]] = {}
        self._lock = threading.Lock()

    def _reader_for(self, schema_id: int) -> tuple[Any, Any, type[Event]]:
        with self._lock:
            found = self._readers.get(schema_id)
        if found is not None:
            return found
        try:
            text = self.registry.schema(schema_id)
        except RegistryUnavailableError:
            raise  # the message may be fine: try again when the registry answers
        except RegistryError:
            raise SerializationError(f"schema id {schema_id} is not in the registry") from None
        try:
            writer = avro.parse_text(text)
        except Exception as exc:
            raise SerializationError(f"schema id {schema_id} is not a valid Avro schema") from exc
        name = str(writer.get("name", "")) if isinstance(writer, dict) else ""
        event_type = name.rsplit(".", 1)[-1]
        cls = EVENT_TYPES.get(event_type)
        if cls is None:
            raise SerializationError(f"schema id {schema_id} is not a hub event type")
        ours = avro.load(event_type)
        reader = None if avro.parse_text(ours.text) == writer else ours.parsed
        found = (writer, reader, cls)
        with self._lock:
            self._readers[schema_id] = found
        return found

    def decode_dict(self, data: bytes | None) -> tuple[int, type[Event], dict[str, Any]]:
        schema_id, body = unframe(data)
        writer, reader, cls = self._reader_for(schema_id)
        try:
            record = schemaless_reader(io.BytesIO(body), writer, reader)
        except Exception as exc:  # fastavro raises many kinds on corrupt input
            raise SerializationError(
                f"body does not decode with schema id {schema_id}: {type(exc).__name__}"
            ) from None
        if not isinstance(record, dict):
            raise SerializationError(f"schema id {schema_id} did not decode to a record")
        return schema_id, cls, record

    def __call__(self, data: bytes | None) -> Decoded:
        """The writer's schema id, the event, and its Avro dict form."""
        schema_id, cls, record = self.decode_dict(data)
        try:
            return Decoded(schema_id, from_dict(cls, record), record)
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            # The exception's text may quote the value: name only its kind.
            raise SerializationError(
                f"{cls.event_type} record does not convert to the event ({type(exc).__name__})"
            ) from None


Serializer = Callable[[str, Event], bytes]
