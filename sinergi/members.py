"""The hub's members: one Kafka principal, one signing key and one set of ACLs each.

``sinergi agency add NAME --role ROLE`` creates (or completes) a member: its SCRAM
credential on the broker, its Ed25519 signing key, its ACLs for this deployment's
topics, and its entry in the signed member directory. ``revoke`` removes the
credential and the ACLs and marks the member revoked in the directory (its public
key stays, so what it signed before stays verifiable). Credentials are written to
files readable only by their owner and are never printed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka.admin._acls import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.admin._users import UserScramCredentialDeletion, UserScramCredentialUpsertion

from deploy.secrets import ensure_password, password_file
from schemas import crypto, reference
from schemas.access import PUBLISHES_AS, Role, agency_admin, reads, role_of_unit, writes
from schemas.directory import Directory, DirectoryError, Member
from schemas.directory import save as save_directory
from schemas.person_seal import INTAKE_ROLE, key_id
from sinergi import bootstrap
from sinergi.config import Settings

ADMIN = "admin"
MECHANISM = "SCRAM-SHA-512"
_MEMBER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class MemberError(ValueError):
    """A member cannot be added, revoked or found."""


@dataclass(frozen=True)
class MemberRow:
    member: Member
    acls: int


def default_members() -> list[tuple[str, Role]]:
    """Every unit the hub knows from its reference data, and its own services."""
    codes = sorted(reference.regencies())
    members = [(f"post-{p.post_id}", Role.POST) for p in reference.posts().values() if p.active]
    members += [("police-polda-ntt", Role.POLICE)]
    members += [(f"police-polres-{c}", Role.POLICE) for c in codes]
    members += [("bp3mi-ntt", Role.BP3MI), ("hotline-sisaga", Role.HOTLINE)]
    members += [(f"district-{c}", Role.DISTRICT) for c in codes]
    members += [(bootstrap.PROCESSOR_MEMBER, Role.PROCESSOR), ("ops", Role.OPS)]
    # Each agency's administrator may amend any of its units' records (schemas.access).
    members += [
        (agency_admin(agency), role)
        for role, agency in PUBLISHES_AS.items()
        if role is not Role.PROCESSOR
    ]
    return members


def _principal(member_id: str) -> str:
    return f"User:{member_id}"


def acls_for(settings: Settings, member_id: str, role: Role) -> list[ACL]:
    """Least privilege for ``role`` on this deployment's topics; nothing else is allowed."""
    principal = _principal(member_id)

    def allow(op: ACLOperation, kind: ResourceType, name: str, pattern: ACLResourcePatternType
              = ACLResourcePatternType.LITERAL) -> ACL:  # fmt: skip
        return ACL(
            principal, "*", op, ACLPermissionType.ALLOW, ResourcePattern(kind, name, pattern)
        )

    acls = []
    for spec in writes(role):
        acls.append(allow(ACLOperation.WRITE, ResourceType.TOPIC, settings.topic(spec.name)))
        acls.append(allow(ACLOperation.DESCRIBE, ResourceType.TOPIC, settings.topic(spec.name)))
    for spec in reads(role):
        acls.append(allow(ACLOperation.READ, ResourceType.TOPIC, settings.topic(spec.name)))
        acls.append(allow(ACLOperation.DESCRIBE, ResourceType.TOPIC, settings.topic(spec.name)))
    if role is Role.PROCESSOR:
        acls.append(allow(ACLOperation.READ, ResourceType.GROUP, settings.processor_group))
        acls.append(allow(ACLOperation.READ, ResourceType.GROUP, settings.sentinel_group))
    elif role is Role.POLICE:
        acls.append(allow(ACLOperation.READ, ResourceType.GROUP, settings.alerts_group(member_id)))
    elif role is Role.OPS:
        acls.append(
            allow(ACLOperation.READ, ResourceType.GROUP, "ops-", ACLResourcePatternType.PREFIXED)
        )
    return acls


# --- the directory ------------------------------------------------------------------------


def _anchor(settings: Settings) -> Ed25519PrivateKey:
    key = crypto.signing_private(settings.keys_dir / "directory-admin.signing.key", create=True)
    anchor = settings.directory_anchor_file
    if not anchor.exists():
        anchor.parent.mkdir(parents=True, exist_ok=True)
        anchor.write_text(crypto.public_signing(key) + "\n")
    return key


def read_directory(settings: Settings) -> Directory:
    if not settings.directory_file.exists():
        return Directory()
    return bootstrap.directory(settings)


def _write_directory(settings: Settings, directory: Directory) -> Directory:
    return save_directory(directory, settings.directory_file, _anchor(settings))


# --- adding, listing, revoking ---------------------------------------------------------------


def known_units() -> dict[str, Role]:
    """Every unit the reference data names, and its role: the default members and every
    post, open or not yet (``agency add post-atapupu`` opens one)."""
    units = dict(default_members())
    units |= {f"post-{post_id}": Role.POST for post_id in reference.posts()}
    return units


def check_member_id(member_id: str, role: Role) -> None:
    """A member is a unit of the reference data, with its own role: a typo (``post-eltary``)
    would otherwise become a member with credentials and a signing key."""
    if not _MEMBER_ID.match(member_id):
        raise MemberError(
            f"member id {member_id!r}: lower-case letters, digits and '-' only (2-63)"
        )
    if member_id == ADMIN:
        raise MemberError("'admin' is the hub's administrator, not a member")
    implied = role_of_unit(member_id)
    if implied is not None and implied is not role and member_id != "ops":
        raise MemberError(f"member id {member_id} names a {implied.value}, not a {role.value}")
    units = known_units()
    if member_id not in units:
        same = sorted(unit for unit, its in units.items() if its is role)
        shown = ", ".join(same[:12]) + (", ..." if len(same) > 12 else "")
        raise MemberError(
            f"{member_id} is not a unit of the reference data; known {role.value} units: {shown}"
        )
    if units[member_id] is not role:
        its = units[member_id].value
        raise MemberError(f"member id {member_id} names a {its}, not a {role.value}")


def add(settings: Settings, member_id: str, role: Role) -> Member:
    """Create or complete one member (idempotent): credential, keys, ACLs, directory entry."""
    return add_many(settings, [(member_id, role)])[0]


def add_many(settings: Settings, wanted: list[tuple[str, Role]]) -> list[Member]:
    """Create or complete members in one go: one call to the broker for credentials, one
    for ACLs, one new version of the directory."""
    for member_id, role in wanted:
        check_member_id(member_id, role)
    upserts = [
        UserScramCredentialUpsertion(
            member_id, MECHANISM, ensure_password(settings.kafka_credentials_dir, member_id)
        )
        for member_id, _ in wanted
    ]
    with bootstrap.kafka_admin(settings) as admin:
        errors = {k: v for k, v in admin.alter_user_scram_credentials(upserts).items() if v}
        if errors:
            raise MemberError(f"the broker refused credentials: {errors}")
        acls = [acl for member_id, role in wanted for acl in acls_for(settings, member_id, role)]
        result = admin.create_acls(acls)
        if result.get("failed"):
            raise MemberError(f"the broker refused ACLs: {result['failed'][:3]}")
    directory = read_directory(settings)
    added = []
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for member_id, role in wanted:
        path = settings.keys_dir / f"{member_id}.signing.key"
        signing = crypto.signing_private(path, create=True)
        existing = directory.member(member_id)
        keep = existing is not None and existing.revoked_at is None
        member = Member(
            member_id=member_id,
            role=role,
            signing_key=crypto.public_signing(signing),
            created_at=existing.created_at if existing and keep else now,
        )
        directory = directory.with_member(member)
        added.append(member)
    if any(role is Role.POLICE for _, role in wanted):
        path = settings.keys_dir / "role-police.sealing.key"
        sealing = crypto.sealing_private(path, create=True)
        keys = {**directory.sealing_keys, Role.POLICE.value: crypto.public_sealing(sealing)}
        directory = replace(directory, sealing_keys=keys)
    directory = _with_intake_key(settings, directory)
    bootstrap.vault_keys(settings, create=True)  # the hub's vault secrets, made once
    if directory.body() != read_directory(settings).body():
        _write_directory(settings, directory)
    return added


# --- the hub's intake keys (schemas/person_seal.py) ------------------------------------------


def _intake_file(settings: Settings, kid: str) -> Path:
    return settings.intake_keys_dir / f"{kid}.key"


def _new_intake_key(settings: Settings, directory: Directory) -> Directory:
    made = settings.intake_keys_dir / f".new-{os.getpid()}.key"
    made.unlink(missing_ok=True)
    public = crypto.public_sealing(crypto.sealing_private(made, create=True))
    made.rename(_intake_file(settings, key_id(public)))
    return replace(directory, sealing_keys={**directory.sealing_keys, INTAKE_ROLE: public})


def _with_intake_key(settings: Settings, directory: Directory) -> Directory:
    """The directory with a current intake key whose private half the hub holds."""
    current = directory.sealing_keys.get(INTAKE_ROLE)
    if current is not None and _intake_file(settings, key_id(current)).exists():
        return directory
    return _new_intake_key(settings, directory)


def intake_keys(settings: Settings) -> list[tuple[str, bool]]:
    """The intake keys the hub can still open (key id, whether desks seal to it now)."""
    current = read_directory(settings).sealing_keys.get(INTAKE_ROLE)
    now = key_id(current) if current else None
    folder = settings.intake_keys_dir
    found = sorted(p.stem for p in folder.glob("*.key")) if folder.exists() else []
    return [(kid, kid == now) for kid in found]


def rotate_intake_key(settings: Settings) -> str:
    """A new intake key for desks to seal people to (they read it from the directory);
    the previous one still opens what was sealed to it until it is retired."""
    directory = _write_directory(settings, _new_intake_key(settings, read_directory(settings)))
    return key_id(directory.sealing_keys[INTAKE_ROLE])


def current_intake_since(settings: Settings) -> datetime | None:
    """When the current intake key was made (it replaced every other then, or later)."""
    current = read_directory(settings).sealing_keys.get(INTAKE_ROLE)
    path = _intake_file(settings, key_id(current)) if current else None
    if path is None or not path.exists():
        return None
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def retirement_refusal(
    kid: str, replaced_since: datetime | None, now: datetime, grace: timedelta, waiting: int
) -> str | None:
    """Why intake key ``kid`` may not be retired yet (None: it may). Messages sealed to it
    that the hub has not taken in would be refused once it is gone: those on the agency
    topics the processor has not consumed (``waiting``), and those a desk recorded while
    offline, still in its outbox, sealed before it read the new key (``grace`` after the
    rotation)."""
    if waiting:
        return (
            f"the processor has not yet taken in {waiting} message(s) of the agency topics;"
            f" those sealed to intake key {kid} would be refused once it is retired: retire"
            " it when the processor has caught up"
        )
    if replaced_since is not None and now - replaced_since < grace:
        days = grace.total_seconds() / 86400
        return (
            f"intake key {kid} was rotated out less than {days:g} day(s) ago: a desk offline"
            " since may still hold records sealed to it (--grace-days)"
        )
    return None


def retire_intake_key(settings: Settings, kid: str) -> None:
    """Delete an intake key's private half: what was sealed to it can then be read only
    from the vault, under each person's own key. Not the current one (rotate first)."""
    if (kid, True) in intake_keys(settings):
        raise MemberError(f"intake key {kid} is the current one: rotate it first")
    path = _intake_file(settings, kid)
    if not re.fullmatch(r"[0-9a-f]{8}", kid) or not path.exists():
        raise MemberError(f"no intake key {kid} (see the list of intake keys)")
    with path.open("r+b") as out:  # overwrite before unlinking
        out.write(os.urandom(32))
        out.flush()
        os.fsync(out.fileno())
    path.unlink()


def ensure(settings: Settings, members: list[tuple[str, Role]]) -> int:
    """Add every listed member (idempotent); return how many there are."""
    add_many(settings, members)
    return len(members)


def revoke(settings: Settings, member_id: str) -> Member:
    directory = read_directory(settings)
    member = directory.member(member_id)
    if member is None:
        raise MemberError(f"no member {member_id}")
    with bootstrap.kafka_admin(settings) as admin:
        admin.alter_user_scram_credentials([UserScramCredentialDeletion(member_id, MECHANISM)])
        admin.delete_acls([_filter(member_id)])
    password_file(settings.kafka_credentials_dir, member_id).unlink(missing_ok=True)
    revoked = replace(member, revoked_at=datetime.now(UTC).isoformat(timespec="seconds"))
    _write_directory(settings, directory.with_member(revoked))
    return revoked


def _filter(member_id: str) -> ACLFilter:
    return ACLFilter(
        _principal(member_id),
        None,
        ACLOperation.ANY,
        ACLPermissionType.ANY,
        ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )


def forget_deployment(settings: Settings) -> int:
    """Remove every ACL naming this deployment's topics or processor group (a test's, or a
    deployment taken down); return how many."""
    with bootstrap.kafka_admin(settings) as admin:
        acls, _ = admin.describe_acls(_everything())
        mine = [
            acl
            for acl in acls
            if acl.resource_pattern.resource_name.startswith(settings.topic_prefix or "\0")
            or acl.resource_pattern.resource_name == settings.processor_group
        ]
        if mine:
            admin.delete_acls(mine)
    return len(mine)


def _everything() -> ACLFilter:
    return ACLFilter(
        None,
        None,
        ACLOperation.ANY,
        ACLPermissionType.ANY,
        ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )


def list_members(settings: Settings) -> list[MemberRow]:
    try:
        directory = read_directory(settings)
    except DirectoryError as exc:
        raise MemberError(str(exc)) from None
    with bootstrap.kafka_admin(settings) as admin:
        acls, _ = admin.describe_acls(_everything())
    counts: dict[str, int] = {}
    for acl in acls:
        counts[acl.principal] = counts.get(acl.principal, 0) + 1
    return [
        MemberRow(m, counts.get(_principal(m.member_id), 0))
        for _, m in sorted(directory.members.items())
    ]
