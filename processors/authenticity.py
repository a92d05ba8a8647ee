"""Who sent a message, proven: the signature check every message passes before decoding.

A message must carry its signer's member id and an Ed25519 signature over its topic,
key and value; the signer must be a member of the directory, not revoked, and the
signature must verify with the member's key. Anything else is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from processors.ports import RawMessage
from schemas import crypto
from schemas.directory import Directory, Member

SIGNER_HEADER = "sinergi-signer"
SIGNATURE_HEADER = "sinergi-signature"


class AuthenticityError(ValueError):
    """A message is unsigned, signed by a stranger, or its signature does not verify."""


def _header(msg: RawMessage, name: str) -> bytes | None:
    for key, value in msg.headers:
        if key == name:
            return value
    return None


@dataclass
class Authenticator:
    directory: Callable[[], Directory]
    topic_prefix: str = ""

    def __call__(self, msg: RawMessage) -> Member:
        signer_id = _header(msg, SIGNER_HEADER)
        signature = _header(msg, SIGNATURE_HEADER)
        if signer_id is None or signature is None:
            raise AuthenticityError("unsigned: the message carries no signer or no signature")
        member_id = signer_id.decode(errors="replace")
        member = self.directory().member(member_id)
        if member is None:
            raise AuthenticityError(f"signed by {member_id!r}, who is not a member of the hub")
        topic = msg.topic.removeprefix(self.topic_prefix)
        public = crypto.signing_key_from(member.signing_key)
        if not crypto.verify(public, signature, topic, msg.key, msg.value):
            raise AuthenticityError(
                f"the signature of {member_id} does not verify: the message was forged, "
                "altered, or moved from another topic"
            )
        return member
