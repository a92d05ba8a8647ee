"""A client for the Confluent Schema Registry REST API (served here by Apicurio's ccompat API).

Only what the hub uses: register a schema under a subject, fetch a schema by
its global id, check compatibility, set a subject's compatibility level.
Schemas fetched by id never change, so they are cached for the process' life.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from schemas.faults import TransientError

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(RuntimeError):
    """The schema registry refused a request (e.g. no schema has that id)."""


class RegistryUnavailableError(RegistryError, TransientError):
    """The schema registry could not be reached or failed (5xx): try again later."""

    cause = "registry"


class SchemaRegistry(Protocol):
    """What serializers need from a registry (the HTTP client, or a fake in unit tests)."""

    def register(self, subject: str, schema_text: str) -> int: ...

    def lookup(self, subject: str, schema_text: str) -> int | None: ...

    def schema(self, schema_id: int) -> str: ...


class GivenSchemas:
    """The schema ids another process looked up, handed to this one: a desk's helper
    processes encode a large file with the ids the command looked up (in its outbox or
    at the registry), and reach nothing themselves. Lookups only."""

    def __init__(self, ids: Mapping[tuple[str, str], int]) -> None:
        self.ids = dict(ids)  # (subject, schema text) -> id

    def register(self, subject: str, schema_text: str) -> int:
        raise RegistryError(f"{subject}: this process only encodes with the ids it was given")

    def lookup(self, subject: str, schema_text: str) -> int | None:
        found = self.ids.get((subject, schema_text))
        if found is None:
            raise RegistryError(f"{subject}: not among the schema ids this process was given")
        return found

    def schema(self, schema_id: int) -> str:
        raise RegistryError(f"schema {schema_id}: this process only encodes")


class RegistryClient:
    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            auth=auth,
            timeout=timeout,
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
        )
        self._by_id: dict[int, str] = {}
        self._ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(
                method, path, content=None if body is None else json.dumps(body)
            )
        except httpx.HTTPError as exc:
            raise RegistryUnavailableError(
                f"schema registry at {self.url} unreachable ({type(exc).__name__})"
            ) from exc
        if response.status_code >= 500:
            raise RegistryUnavailableError(
                f"schema registry failed {method} {path}: {response.status_code}"
            )
        if response.status_code >= 400:
            raise RegistryError(
                f"schema registry refused {method} {path}: {response.status_code} "
                f"{response.text[:300]}"
            )
        return response.json()

    def register(self, subject: str, schema_text: str) -> int:
        """Register (or find) ``schema_text`` under ``subject``; return its global id."""
        key = (subject, schema_text)
        with self._lock:
            if key in self._ids:
                return self._ids[key]
        reply = self._call(
            "POST", f"/subjects/{subject}/versions", {"schema": schema_text, "schemaType": "AVRO"}
        )
        schema_id = int(reply["id"])
        with self._lock:
            self._ids[key] = schema_id
            self._by_id.setdefault(schema_id, schema_text)
        return schema_id

    def lookup(self, subject: str, schema_text: str) -> int | None:
        """The id of ``schema_text`` among the subject's versions, newest first, by reads
        only (GET): publishers need no right to write to the registry."""
        key = (subject, schema_text)
        with self._lock:
            if key in self._ids:
                return self._ids[key]
        try:
            versions = self._call("GET", f"/subjects/{subject}/versions")
        except RegistryUnavailableError:
            raise
        except RegistryError:
            return None
        for version in sorted((int(v) for v in versions), reverse=True):
            reply = self._call("GET", f"/subjects/{subject}/versions/{version}")
            if reply.get("schema") == schema_text:
                schema_id = int(reply["id"])
                with self._lock:
                    self._ids[key] = schema_id
                    self._by_id.setdefault(schema_id, schema_text)
                return schema_id
        return None

    def schema(self, schema_id: int) -> str:
        """The schema text registered with global id ``schema_id``."""
        with self._lock:
            if schema_id in self._by_id:
                return self._by_id[schema_id]
        reply = self._call("GET", f"/schemas/ids/{schema_id}")
        text = str(reply["schema"])
        with self._lock:
            self._by_id[schema_id] = text
        return text

    def is_compatible(self, subject: str, schema_text: str) -> bool:
        reply = self._call(
            "POST",
            f"/compatibility/subjects/{subject}/versions/latest",
            {"schema": schema_text, "schemaType": "AVRO"},
        )
        return bool(reply.get("is_compatible"))

    def set_compatibility(self, subject: str, level: str) -> None:
        self._call("PUT", f"/config/{subject}", {"compatibility": level})
