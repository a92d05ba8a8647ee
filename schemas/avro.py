"""Loading the ``.avsc`` contracts.

Layout of ``schemas/avro/``: shared named types as ``sinergi.common.<Name>.avsc``;
each event type as ``sinergi.events.<Name>.v<N>.avsc``, one file per published
version. The highest version is the one producers write; every older one stays so
that old data can be read (with writer and reader schema).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from fastavro import parse_schema

AVRO_DIR = resources.files("schemas") / "avro"
_EVENT_FILE = re.compile(r"^sinergi\.events\.(?P<name>\w+)\.v(?P<version>\d+)\.avsc$")


class SchemaNotFoundError(LookupError):
    """No ``.avsc`` contract of that name or version."""


@dataclass(frozen=True)
class EventSchema:
    """One published version of an event type's schema."""

    name: str
    version: int
    # Self-contained JSON (shared types expanded): what is registered in the registry.
    text: str
    # fastavro's parsed form, parsed once and reused (re-parsing halves decoding speed).
    parsed: Any

    @property
    def fullname(self) -> str:
        return f"sinergi.events.{self.name}"


@cache
def _common_named_types() -> dict[str, Any]:
    """Parse every shared type, in whatever order their references allow."""
    pending = {
        entry.name: json.loads(entry.read_text())
        for entry in AVRO_DIR.iterdir()
        if entry.name.startswith("sinergi.common.") and entry.name.endswith(".avsc")
    }
    named: dict[str, Any] = {}
    while pending:
        progressed = False
        for filename, schema in list(pending.items()):
            try:
                parse_schema(schema, named_schemas=named)
            except Exception:  # noqa: S112 - an unresolved reference: retry after the others
                continue
            del pending[filename]
            progressed = True
        if not progressed:
            raise SchemaNotFoundError(f"unresolvable shared Avro types: {sorted(pending)}")
    return named


@cache
def _event_files() -> dict[str, dict[int, str]]:
    found: dict[str, dict[int, str]] = {}
    for entry in AVRO_DIR.iterdir():
        match = _EVENT_FILE.match(entry.name)
        if match:
            found.setdefault(match["name"], {})[int(match["version"])] = entry.name
    return found


def event_names() -> list[str]:
    return sorted(_event_files())


def versions(name: str) -> list[int]:
    try:
        return sorted(_event_files()[name])
    except KeyError:
        raise SchemaNotFoundError(f"no schema for event type {name!r}") from None


@cache
def load(name: str, version: int | None = None) -> EventSchema:
    """The schema of event type ``name`` at ``version`` (default: the newest)."""
    known = versions(name)
    version = known[-1] if version is None else version
    if version not in known:
        raise SchemaNotFoundError(f"{name} has no version {version} (known: {known})")
    raw = json.loads((AVRO_DIR / _event_files()[name][version]).read_text())
    expanded = parse_schema(
        raw, named_schemas=dict(_common_named_types()), expand=True, _write_hint=False
    )
    text = json.dumps(expanded, separators=(",", ":"), sort_keys=True)
    parsed = parse_schema(json.loads(text))
    return EventSchema(name=name, version=version, text=text, parsed=parsed)


def parse_text(text: str) -> Any:
    """Parse a writer's schema as fetched from the registry."""
    return parse_schema(json.loads(text))
