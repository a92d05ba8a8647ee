"""Signing what a member publishes (Ed25519, see schemas/crypto.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas import crypto
from schemas.crypto import (
    MAX_BATCH,
    PROOF_HEADER,
    SIGNATURE_HEADER,
    SIGNED_AT_HEADER,
    SIGNER_HEADER,
)

__all__ = ["SIGNATURE_HEADER", "SIGNED_AT_HEADER", "SIGNER_HEADER", "Headers", "Signer"]

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Signer:
    """One member's signing key. The private key never leaves the member."""

    member_id: str
    key: Ed25519PrivateKey = field(repr=False)

    def headers(
        self, topic: str, key: bytes | None, value: bytes, *, signed_at_ms: int | None = None
    ) -> Headers:
        """Kafka headers carrying who signed, when (``signed_at_ms``, default now) and the
        signature (v2) over that time, the topic, the key and the value.

        The order is fixed (signer, signature, signed-at): callers may rely on it.
        """
        at = crypto.now_ms() if signed_at_ms is None else signed_at_ms
        signature = crypto.sign(self.key, topic, key, value, signed_at_ms=at)
        return [
            (SIGNER_HEADER, self.member_id.encode()),
            (SIGNATURE_HEADER, signature),
            (SIGNED_AT_HEADER, crypto.signed_at_header(at)),
        ]

    def batch_headers(
        self,
        messages: list[tuple[str, bytes | None, bytes]],
        *,
        signed_at_ms: int | None = None,
    ) -> list[Headers]:
        """Headers for many messages (topic, key, value), signed once per MAX_BATCH (v3):
        the root of a Merkle tree over them is signed, and each message carries the root's
        signature and its own proof, so each stays verifiable on its own."""
        at = crypto.now_ms() if signed_at_ms is None else signed_at_ms
        out: list[Headers] = []
        for start in range(0, len(messages), MAX_BATCH):
            part = messages[start : start + MAX_BATCH]
            leaves = [crypto.leaf_hash(topic, key, value, at) for topic, key, value in part]
            root, proofs = crypto.merkle(leaves)
            signature = crypto.sign_root(self.key, root, at)
            out += [
                [
                    (SIGNER_HEADER, self.member_id.encode()),
                    (SIGNATURE_HEADER, signature),
                    (SIGNED_AT_HEADER, crypto.signed_at_header(at)),
                    (PROOF_HEADER, proof),
                ]
                for proof in proofs
            ]
        return out
