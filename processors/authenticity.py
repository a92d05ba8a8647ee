"""Who sent a message, proven: the signature check every message passes before decoding.

A message must carry its signer's member id and an Ed25519 signature over its topic,
key and value, and, when it says when it was signed (``sinergi-signed-at``), over that
time too (v2; without the header the signature is checked as v1). The signer must be a
member of the directory, not revoked, and the signature must verify with the member's
key. Anything else is refused with the reason.

Reasons name the rule that failed, never what the message carried: a refusal reaches
logs, the dead-letter topic and the audit view, and a header is whatever a sender put
there (a name, a NIK, 100 KB). Only a member id from our own directory may be named.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from processors.ports import RawMessage
from schemas import crypto
from schemas.crypto import PROOF_HEADER, SIGNATURE_HEADER, SIGNED_AT_HEADER, SIGNER_HEADER
from schemas.directory import Directory, Member

_SIGNATURE_HEADERS = (SIGNER_HEADER, SIGNATURE_HEADER, SIGNED_AT_HEADER, PROOF_HEADER)


class AuthenticityError(ValueError):
    """A message is unsigned, signed by a stranger, or its signature does not verify."""


def _headers(msg: RawMessage, name: str) -> list[bytes]:
    return [value for key, value in msg.headers if key == name]


def _header(msg: RawMessage, name: str) -> bytes | None:
    found = _headers(msg, name)
    return found[0] if found else None


def _signature_headers(msg: RawMessage) -> dict[str, bytes]:
    """The signature headers of ``msg`` by name, read in one pass over its headers."""
    found: dict[str, bytes] = {}
    for key, value in msg.headers:
        if key in _SIGNATURE_HEADERS:
            if key in found:
                # Two signers or two times: which one a reader takes would be a guess.
                raise AuthenticityError("a signature header appears more than once")
            found[key] = value
    return found


def _signed_at_ms(msg: RawMessage) -> int | None:
    return _parse_signed_at(_header(msg, SIGNED_AT_HEADER))


def _parse_signed_at(raw: bytes | None) -> int | None:
    if raw is None:
        return None
    try:
        return crypto.parse_signed_at(raw)
    except crypto.CryptoError:
        raise AuthenticityError(
            "malformed signed-at header: it must be milliseconds since the epoch in digits"
        ) from None


def signed_at(msg: RawMessage) -> datetime | None:
    """When the signer signed ``msg`` (UTC), or None for a v1 message without the header.

    Meaningful only once :class:`Authenticator` accepted ``msg``: the signature is what
    makes this time the member's word. Raises AuthenticityError for a malformed header.
    """
    ms = _signed_at_ms(msg)
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass
class Authenticator:
    """Checks who signed each message. A batch signature (v3) is verified once per batch:
    the roots already verified are remembered (per signer, root, time and signature)."""

    directory: Callable[[], Directory]
    topic_prefix: str = ""
    remember: int = 4096  # verified roots kept
    _roots: OrderedDict[tuple[str, bytes, int, bytes], None] = field(
        default_factory=OrderedDict, repr=False
    )
    _keys: dict[str, tuple[str, Ed25519PublicKey]] = field(default_factory=dict, repr=False)

    def __call__(self, msg: RawMessage) -> Member:
        found = _signature_headers(msg)
        signer_id = found.get(SIGNER_HEADER)
        signature = found.get(SIGNATURE_HEADER)
        if signer_id is None or signature is None:
            raise AuthenticityError("unsigned: the message carries no signer or no signature")
        member = self.directory().member(signer_id.decode(errors="replace"))
        if member is None:
            raise AuthenticityError("signed by a signer who is not a member of the hub")
        at = _parse_signed_at(found.get(SIGNED_AT_HEADER))
        topic = msg.topic.removeprefix(self.topic_prefix)
        proof = found.get(PROOF_HEADER)
        if proof is not None and at is not None:
            valid = self._verify_batch(member, signature, topic, msg, at, proof)
        elif proof is not None:
            raise AuthenticityError("a batch signature without its signed-at header")
        else:
            public = self._public(member)
            valid = crypto.verify(public, signature, topic, msg.key, msg.value, signed_at_ms=at)
        if not valid:
            raise AuthenticityError(
                f"the signature of {member.member_id} does not verify: the message was forged, "
                "altered, or moved from another topic"
            )
        return member

    def _public(self, member: Member) -> Ed25519PublicKey:
        """The member's key, parsed once (until the directory gives it another)."""
        cached = self._keys.get(member.member_id)
        if cached is None or cached[0] != member.signing_key:
            cached = (member.signing_key, crypto.signing_key_from(member.signing_key))
            self._keys[member.member_id] = cached
        return cached[1]

    def _verify_batch(
        self, member: Member, signature: bytes, topic: str, msg: RawMessage, at: int, proof: bytes
    ) -> bool:
        """v3: the message's proof leads to a root, and the root's signature verifies
        (checked once per root: the batch's other messages find it remembered)."""
        leaf = crypto.leaf_hash(topic, msg.key, msg.value, at)
        try:
            root = crypto.root_from(leaf, proof)
        except crypto.CryptoError:
            raise AuthenticityError("malformed proof header") from None
        seen = (member.member_id, root, at, signature)
        if seen in self._roots:
            self._roots.move_to_end(seen)
            return True
        if not crypto.verify_root(self._public(member), signature, root, at):
            return False
        self._roots[seen] = None
        if len(self._roots) > self.remember:
            self._roots.popitem(last=False)
        return True
