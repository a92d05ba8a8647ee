"""The Confluent wire format and schema evolution, with an in-memory registry."""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import uuid

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from hypothesis import given
from hypothesis import strategies as st

from schemas import avro, codec
from schemas.codec import field_names, from_dict, to_dict
from schemas.ids import name_uuid
from schemas.model import EVENT_TYPES, InterceptionRecorded, Person, Sex
from schemas.serde import EventDeserializer, EventSerializer, SerializationError, frame, unframe
from tests.factories import interception, person
from tests.unit.fakes import MemoryRegistry


def test_message_starts_with_magic_byte_and_the_registered_schema_id():
    registry = MemoryRegistry()
    encode = EventSerializer(registry, register=True)
    value = encode("t.posts.interception-recorded", interception())
    magic, schema_id = struct.unpack(">bI", value[:5])
    assert magic == 0
    assert registry.by_id[schema_id] == avro.load("InterceptionRecorded").text
    assert "t.posts.interception-recorded-value" in registry.subjects


def test_an_event_round_trips_through_the_wire_format():
    registry = MemoryRegistry()
    event = interception()
    value = EventSerializer(registry, register=True)("t", event)
    schema_id, decoded, _ = EventDeserializer(registry)(value)
    assert decoded == event
    assert schema_id in registry.by_id


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "tombstone"),
        (b"\x00\x00", "too short"),
        (b"\x07\x00\x00\x00\x01abc", "magic byte 7"),
        (b"\x00\x80\x00\x00\x01abc", "schema id 2147483649 is beyond"),
    ],
)
def test_undecodable_bytes_are_refused_with_the_reason(data, reason):
    with pytest.raises(SerializationError, match=reason):
        EventDeserializer(MemoryRegistry())(data)


def test_an_unknown_schema_id_is_refused():
    with pytest.raises(SerializationError, match="schema id 99"):
        EventDeserializer(MemoryRegistry())(frame(99, b"\x00"))


def test_a_corrupt_body_is_refused_without_echoing_it():
    registry = MemoryRegistry()
    good = EventSerializer(registry, register=True)("t", interception())
    schema_id, body = unframe(good)
    with pytest.raises(SerializationError, match="does not decode") as info:
        EventDeserializer(registry)(frame(schema_id, body[:20]))
    assert "eltari" not in str(info.value)


def test_a_schema_that_is_not_a_hub_event_is_refused():
    registry = MemoryRegistry()
    other = json.dumps({"type": "record", "name": "x.Other", "fields": []})
    schema_id = registry.register("t-value", other)
    with pytest.raises(SerializationError, match="not a hub event type"):
        EventDeserializer(registry)(frame(schema_id, b""))


def test_an_invalid_event_is_refused_before_encoding_naming_the_field():
    bad = interception(officer_ref=None)  # type: ignore[arg-type]
    with pytest.raises(SerializationError, match="officer_ref"):
        EventSerializer(MemoryRegistry(), register=True)("t", bad)


def test_data_written_by_an_older_writer_is_read_with_reader_defaults():
    """A v1 writer without a field the reader added (with a default) stays readable."""
    registry = MemoryRegistry()
    current = json.loads(avro.load("InterceptionRecorded").text)
    older = dict(current)
    older["fields"] = [f for f in current["fields"] if f["name"] != "group_ref"]
    record = to_dict(interception(group_ref="G-1"))
    record.pop("group_ref")
    out = io.BytesIO()
    schemaless_writer(out, parse_schema(older), record)
    schema_id = registry.register("t-value", json.dumps(older))
    _, event, _ = EventDeserializer(registry)(frame(schema_id, out.getvalue()))
    assert event.group_ref is None  # type: ignore[attr-defined]
    assert event.post_id == "eltari"  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_every_event_class_matches_its_avro_record_field_for_field(name):
    schema = json.loads(avro.load(name).text)
    assert schema["name"] == f"sinergi.events.{name}"
    assert [f["name"] for f in schema["fields"]] == field_names(EVENT_TYPES[name])


@pytest.mark.parametrize("name", avro.event_names())
def test_every_published_version_is_readable_by_the_current_schema(name):
    """Evolution rule: the newest schema reads data written with every published version."""
    newest = avro.load(name)
    for version in avro.versions(name):
        old = avro.load(name, version)
        out = io.BytesIO()
        schemaless_writer(out, old.parsed, _minimal_record(json.loads(old.text)))
        out.seek(0)
        # fastavro raises SchemaResolutionError when the reader cannot read the writer.
        assert isinstance(schemaless_reader(out, old.parsed, newest.parsed), dict)


def _minimal_record(schema):
    """A smallest valid record for a schema (first enum symbol, empty arrays, nulls)."""
    if isinstance(schema, list):
        return None if "null" in schema else _minimal_record(schema[0])
    kind = schema if isinstance(schema, str) else schema["type"]
    if kind == "record":
        return {f["name"]: _minimal_record(f["type"]) for f in schema["fields"]}
    if kind == "enum":
        return schema["symbols"][0]
    if kind == "array":
        return []
    if isinstance(kind, dict | list):
        return _minimal_record(kind)
    return {"string": "", "bytes": b"", "int": 0, "long": 0, "boolean": False, "null": None}[kind]


def test_a_publisher_only_looks_schemas_up_and_names_what_is_not_registered():
    registry = MemoryRegistry()
    with pytest.raises(SerializationError, match="is not registered under t-value"):
        EventSerializer(registry)("t", interception())
    schema_id = registry.register("t-value", avro.load("InterceptionRecorded").text)
    value = EventSerializer(registry)("t", interception())
    assert struct.unpack(">bI", value[:5])[1] == schema_id


@given(namespace=st.uuids(), name=st.text(max_size=300))
def test_a_named_id_is_the_standard_librarys_uuid5(namespace: uuid.UUID, name: str) -> None:
    """Ids that name versions, alerts and rows are made without uuid.UUID (faster): they
    must stay exactly uuid5's, or a batch applied again after a crash would name anew."""
    assert name_uuid(namespace, name) == str(uuid.uuid5(namespace, name))


def test_a_record_converts_the_same_compiled_and_field_by_field_and_a_missing_field_defaults():
    """to_dict and from_dict run code compiled per class (faster): the same values as the
    generic conversion, nested records and enums included; a record lacking a field (an
    older writer's, read without a reader schema) still gives the field's default."""
    event = interception(7, person=person(7))
    record = to_dict(event)
    assert record["person"]["sex"] == "FEMALE" and record["envelope"]["event_id"]
    assert from_dict(InterceptionRecorded, record) == event
    assert codec._generic_from(InterceptionRecorded, record) == event
    older = {k: v for k, v in to_dict(person(7)).items() if k != "sex"}
    assert from_dict(Person, older) == dataclasses.replace(person(7), sex=Sex.UNKNOWN)
