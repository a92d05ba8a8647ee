"""The hub's vault of people: who a pseudonym is, and their personal fields under their
own data key (crypto-shredding; the design is docs/erasure.md).

A desk seals a person's personal fields (the pseudonyms, the birth date, a recruiter's
contact) to the hub; at intake the hub opens them and keeps them here, and from then on
the ledger, the alerts and the hub's topics name the person by a random **subject id**
that says nothing about them. The fields are kept only under the subject's data key
(DEK), itself kept only wrapped by the hub's key-encryption key (KEK). Erasing a person
deletes their wrapped DEK: every copy of their fields (the vault, its backups) becomes
unreadable, while every fact stays countable under the subject id, so the ledger, the
metrics and a rebuild do not change.

Which message carried which subject is kept for ever (its *carrier id*, the message's
event id): a rebuild, a redelivery after a crash or a second worker finds the same
subject without opening anything, also after the person is erased.

PostgreSQL implements :class:`Vault` in :mod:`sinks.vault`, memory in
:class:`sinks.memory.MemoryVault`; both share :class:`VaultKeys`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from schemas import crypto

STRENGTHS = ("nik", "weak")
# A subject id as made (32 lowercase hex digits), as migration 0013 checks it.
_SUBJECT_ID = re.compile(r"[0-9a-f]{32}")


class VaultError(ValueError):
    """A vault request that cannot be met (an unknown subject, a malformed pseudonym)."""


@dataclass(frozen=True)
class Subject:
    """A person as the ledger knows them: a random id, and whether it stands for a NIK
    (strong) or a name, birth date and origin (weak; never merged with a strong one)."""

    subject_id: str
    strength: str

    @property
    def case_id(self) -> str:
        return f"{self.strength}:{self.subject_id}"

    @classmethod
    def of_case(cls, case_id: str) -> Subject:
        strength, _, subject_id = case_id.partition(":")
        if strength not in STRENGTHS or not _SUBJECT_ID.fullmatch(subject_id):
            raise VaultError("not a case id (nik:<32 hex> or weak:<32 hex>)")
        return cls(subject_id, strength)


@dataclass(frozen=True)
class Kept:
    """One message's personal fields for the vault: which message carried them (its
    event id), whom they are about (a pseudonym, strong or weak), the fields (a JSON
    object), and what retention needs (the fact's type and day)."""

    carrier_id: str
    strength: str
    pseudonym: str
    fields: Mapping[str, Any]
    event_type: str
    occurred_at: datetime
    # The recruiter's contact the person reported, sealed for police (the hub cannot
    # read it); kept apart from the fields so that police can be given it alone.
    contact: str | None = None


@dataclass(frozen=True)
class Fact:
    """One fact the vault holds about a subject; ``fields`` is None once erased, and so
    is ``contact`` (the recruiter's contact sealed for police, when one was reported)."""

    carrier_id: str
    event_type: str
    occurred_at: datetime
    fields: Mapping[str, Any] | None
    contact: str | None = None


@dataclass(frozen=True)
class Disclosure:
    """Everything the vault holds about one subject."""

    subject: Subject
    created_at: datetime
    erased_at: datetime | None
    erasure_ref: str | None
    facts: list[Fact] = field(default_factory=list)


@dataclass(frozen=True)
class VaultKeys:
    """The hub's two vault secrets: the KEK that wraps every data key, and the key of the
    lookup HMAC (pseudonym -> row), so that the vault's tables alone name nobody."""

    kek: bytes = field(repr=False)
    lookup_key: bytes = field(repr=False)

    def lookup(self, strength: str, pseudonym: str) -> bytes:
        if strength not in STRENGTHS or not pseudonym:
            raise VaultError("a pseudonym is strong (nik) or weak, and not empty")
        message = f"{strength}:{pseudonym}".encode()
        return hmac.new(self.lookup_key, message, hashlib.sha256).digest()

    def new_subject(self, strength: str) -> tuple[Subject, bytes]:
        """A fresh subject and its data key, wrapped."""
        subject = Subject(secrets.token_hex(16), strength)
        return subject, crypto.encrypt(self.kek, crypto.data_key(), _dek_context(subject))

    def seal_fields(self, subject: Subject, wrapped: bytes, kept: Kept) -> bytes:
        dek = crypto.decrypt(self.kek, wrapped, _dek_context(subject))
        body = json.dumps(dict(kept.fields), sort_keys=True, separators=(",", ":"))
        return crypto.encrypt(dek, body.encode(), _fields_context(kept.carrier_id))

    def open_fields(
        self, subject: Subject, wrapped: bytes | None, carrier_id: str, blob: bytes | None
    ) -> dict[str, Any] | None:
        """The fields, or None when the subject's key or the fields are gone (erased)."""
        if wrapped is None or blob is None:
            return None
        dek = crypto.decrypt(self.kek, wrapped, _dek_context(subject))
        opened: dict[str, Any] = json.loads(crypto.decrypt(dek, blob, _fields_context(carrier_id)))
        return opened

    def seal_contact(
        self, subject: Subject, wrapped: bytes, carrier_id: str, contact: str
    ) -> bytes:
        dek = crypto.decrypt(self.kek, wrapped, _dek_context(subject))
        return crypto.encrypt(dek, contact.encode(), _contact_context(carrier_id))

    def open_contact(
        self, subject: Subject, wrapped: bytes | None, carrier_id: str, blob: bytes | None
    ) -> str | None:
        """The contact sealed for police, or None when none was kept or it is erased."""
        if wrapped is None or blob is None:
            return None
        dek = crypto.decrypt(self.kek, wrapped, _dek_context(subject))
        return crypto.decrypt(dek, blob, _contact_context(carrier_id)).decode()


def _dek_context(subject: Subject) -> bytes:
    return f"sinergi-dek-v1:{subject.case_id}".encode()


def _fields_context(carrier_id: str) -> bytes:
    return f"sinergi-person-fields-v1:{carrier_id}".encode()


def _contact_context(carrier_id: str) -> bytes:
    return f"sinergi-recruiter-contact-v1:{carrier_id}".encode()


class Vault(Protocol):
    def keep(self, kept: Sequence[Kept]) -> dict[str, Subject]:
        """Each message's subject (carrier id -> subject), making subjects and keeping
        the fields of messages not seen before; a message seen before keeps its subject."""
        ...

    def carried(self, carrier_ids: Sequence[str]) -> dict[str, Subject]:
        """The subjects of messages seen before (erased or not), by carrier id."""
        ...

    def find(self, strength: str, pseudonym: str) -> Subject | None:
        """The subject of a pseudonym; None when unknown or erased."""
        ...

    def disclose(self, subject: Subject) -> Disclosure:
        """Everything held about ``subject``, fields opened (None once erased)."""
        ...

    def contact(self, carrier_id: str) -> str | None:
        """The recruiter's contact a message carried, still sealed for police (what a
        police officer opens); None when it carried none or its person is erased.
        VaultError when the vault never saw the message."""
        ...

    def erase(self, subject: Subject, reference: str) -> int:
        """Delete the subject's data key and lookup, and their fields: nothing personal
        can be read any more; returns how many facts were made unreadable."""
        ...

    def due(self, keep_for: Mapping[str, timedelta], now: datetime) -> list[Subject]:
        """Subjects (not erased) all of whose facts are past their type's retention."""
        ...

    def erased(self, subjects: Sequence[Subject]) -> dict[Subject, datetime]:
        """When each of these subjects was erased (absent: not erased, or unknown)."""
        ...


def subjects_of(case_ids: Iterable[str]) -> dict[str, Subject]:
    """The subjects these case ids name (case id -> subject); an id that names no subject
    (a pseudonymous case of before the vault) is left out."""
    found = {}
    for case_id in case_ids:
        try:
            found[case_id] = Subject.of_case(case_id)
        except VaultError:
            continue
    return found


def past_retention(
    facts: Sequence[tuple[str, datetime]], keep_for: Mapping[str, timedelta], now: datetime
) -> bool:
    """Whether every fact (type, day) is past its type's retention; a type without a
    rule is kept for ever, and so is everyone it is about."""
    return bool(facts) and all(
        kind in keep_for and at + keep_for[kind] <= now for kind, at in facts
    )
