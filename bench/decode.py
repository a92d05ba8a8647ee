"""The drain's limit: fastavro decoding the same events, and nothing else.

Each spooled value's writer schema is fetched from the registry and parsed once
(``fastavro.parse_schema``, as the processor's deserializer does); then only
``schemaless_reader`` over each body is timed, in this one process (one core). No
signature, no checks, no database: a processor that does all of that cannot drain
faster than this.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader

from bench.publish import spooled_values
from schemas import avro
from schemas.registry import SchemaRegistry
from schemas.serde import unframe


@dataclass
class DecodeRate:
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def decode_rate(spool: Path, registry: SchemaRegistry) -> DecodeRate:
    schemas: dict[int, Any] = {}
    events, seconds = 0, 0.0
    for values in spooled_values(spool):
        prepared = []
        for value in values:
            schema_id, body = unframe(value)
            if schema_id not in schemas:
                schemas[schema_id] = avro.parse_text(registry.schema(schema_id))
            prepared.append((schemas[schema_id], body))
        began = time.perf_counter()
        for schema, body in prepared:
            schemaless_reader(io.BytesIO(body), schema)
        seconds += time.perf_counter() - began
        events += len(prepared)
    return DecodeRate(events, seconds)
