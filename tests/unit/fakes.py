"""In-memory stand-ins for the registry (unit tests only; integration tests use the real one),
and a key that counts what it does."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey


class MemoryRegistry:
    """Ids are global and stable like Confluent's: the same schema text gets the same id."""

    def __init__(self) -> None:
        self.by_id: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}

    def register(self, subject: str, schema_text: str) -> int:
        known = {text: schema_id for schema_id, text in self.by_id.items()}
        schema_id = known.get(schema_text) or len(self.by_id) + 1
        self.by_id[schema_id] = schema_text
        versions = self.subjects.setdefault(subject, [])
        if schema_id not in versions:
            versions.append(schema_id)
        return schema_id

    def lookup(self, subject: str, schema_text: str) -> int | None:
        for schema_id in self.subjects.get(subject, []):
            if self.by_id[schema_id] == schema_text:
                return schema_id
        return None

    def schema(self, schema_id: int) -> str:
        from schemas.registry import RegistryError

        try:
            return self.by_id[schema_id]
        except KeyError:
            raise RegistryError(f"schema {schema_id} not found") from None


class CountingKey:
    """An X25519 private key that counts its exchanges (the costly part of opening)."""

    def __init__(self, key: X25519PrivateKey) -> None:
        self.key = key
        self.exchanges = 0

    def public_key(self) -> X25519PublicKey:
        return self.key.public_key()

    def exchange(self, peer: X25519PublicKey) -> bytes:
        self.exchanges += 1
        return self.key.exchange(peer)
