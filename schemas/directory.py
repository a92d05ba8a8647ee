"""The member directory: who the hub's members are and their public keys.

Like X-Road's central configuration: a document listing every member (its id, role,
signing key, when it joined and, if so, when it was revoked) and the roles' sealing
keys, signed by the directory administrator. Every component loads it and checks that
signature against the trust anchor (the administrator's public key) before using it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas import crypto
from schemas.access import Role
from schemas.faults import TransientError


class DirectoryError(ValueError):
    """The directory is missing, unsigned, or its signature does not verify."""


class DirectoryUnavailableError(DirectoryError, TransientError):
    """The processor cannot read a trusted directory right now: no message can be judged,
    so none is refused; the worker waits until the directory is back."""

    cause = "directory"


@dataclass(frozen=True)
class Member:
    member_id: str
    role: Role
    signing_key: str  # base64 Ed25519 public key
    created_at: str
    revoked_at: str | None = None

    def active_at(self, moment: datetime) -> bool:
        if self.revoked_at is None:
            return True
        return moment < datetime.fromisoformat(self.revoked_at)


@dataclass(frozen=True)
class Directory:
    members: dict[str, Member] = field(default_factory=dict)
    sealing_keys: dict[str, str] = field(default_factory=dict)  # role -> base64 X25519
    version: int = 0
    issued_at: str = ""

    def member(self, member_id: str) -> Member | None:
        return self.members.get(member_id)

    def with_member(self, member: Member) -> Directory:
        return replace(self, members={**self.members, member.member_id: member})

    def body(self) -> dict[str, object]:
        return {
            "version": self.version,
            "issued_at": self.issued_at,
            "members": {k: asdict(v) for k, v in sorted(self.members.items())},
            "sealing_keys": dict(sorted(self.sealing_keys.items())),
        }


def _canonical(body: dict[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def save(directory: Directory, path: Path, admin: Ed25519PrivateKey) -> Directory:
    """Sign and write a new version of the directory."""
    issued = replace(
        directory,
        version=directory.version + 1,
        issued_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    body = issued.body()
    document = {"directory": body, "signature": crypto.b64(admin.sign(_canonical(body)))}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=1, sort_keys=True))
    tmp.replace(path)
    return issued


def load(path: Path, anchor: Ed25519PublicKey) -> Directory:
    """Read the directory and check its signature; raise DirectoryError otherwise."""
    try:
        document = json.loads(path.read_text())
        body = document["directory"]
        signature = crypto.unb64(document["signature"])
    except (OSError, ValueError, KeyError, TypeError):
        raise DirectoryError(f"no readable member directory at {path}") from None
    try:
        anchor.verify(signature, _canonical(body))
    except Exception:
        raise DirectoryError("the member directory's signature does not verify") from None
    members = {
        k: Member(
            member_id=v["member_id"],
            role=Role(v["role"]),
            signing_key=v["signing_key"],
            created_at=v["created_at"],
            revoked_at=v.get("revoked_at"),
        )
        for k, v in body["members"].items()
    }
    return Directory(members, dict(body["sealing_keys"]), body["version"], body["issued_at"])
