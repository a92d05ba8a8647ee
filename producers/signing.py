"""Signing what a member publishes (Ed25519, see schemas/crypto.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas import crypto

SIGNER_HEADER = "sinergi-signer"
SIGNATURE_HEADER = "sinergi-signature"

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Signer:
    """One member's signing key. The private key never leaves the member."""

    member_id: str
    key: Ed25519PrivateKey = field(repr=False)

    def headers(self, topic: str, key: bytes | None, value: bytes) -> Headers:
        """Kafka headers carrying who signed and the signature over topic, key and value."""
        signature = crypto.sign(self.key, topic, key, value)
        return [(SIGNER_HEADER, self.member_id.encode()), (SIGNATURE_HEADER, signature)]
