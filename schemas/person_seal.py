"""A person's personal fields sealed to the hub (issue 11: erasure by crypto-shredding).

A desk knows the person's pseudonyms (keyed with the key every member shares), birth
date and an officer's estimate of their age. Sent in clear, those would stay in Kafka for
ever, readable by every member, and no erasure could reach them. So a desk seals them to
the hub's current **intake key** (X25519 + HKDF + ChaCha20-Poly1305, an ephemeral key per
message, the event's id bound in: a sealed person cannot be moved to another fact), and
sends in clear only what is countable: sex, origin regency, the NIK's status and the
person's age on the day of the fact. The hub opens it once, at intake, and keeps the
fields under the person's own data key (:mod:`processors.vault`); once the intake key is
retired (its private half deleted, after the topics' retention has passed), the vault's
copy is the only readable one, and erasing the person makes it unreadable too.

A recruiter's contact as the person reported it (``recruiter_contact_sealed``) is the
person's too: the desk seals it for police (only police can read it) and then, like the
person, to the intake key; the hub keeps the police-sealed contact in the vault under
the person's data key and gives the ledger and the alerts only a reference to it
(``vault:<event id>``), which police open through the vault. Erasing the person makes
the contact unreadable with the rest.

The intake keys are in the member directory under :data:`INTAKE_ROLE`; a sealed value is
``<key id>.<base64>``, the key id naming which intake key opens it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import lru_cache
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from schemas import crypto
from schemas.contract import PSEUDONYM
from schemas.crypto import CryptoError
from schemas.model import WITA, Event, Person

INTAKE_ROLE = "hub-intake"  # the directory's sealing key desks seal people to
_CONTEXT = b"sinergi-person-v1:"
_CONTACT_CONTEXT = b"sinergi-contact-v1:"
# The event field holding a recruiter's contact sealed for police (InterceptionRecorded).
CONTACT_FIELD = "recruiter_contact_sealed"
# What the ledger and the alerts hold instead of a contact: where the vault keeps it.
CONTACT_REFERENCE = "vault:"


def key_id(public_text: str) -> str:
    """A short id of an intake public key (base64 X25519): 8 hex digits."""
    return hashlib.sha256(crypto.unb64(public_text)).hexdigest()[:8]


@dataclass(frozen=True)
class Personal:
    """What a desk seals of a person: the pseudonyms, the birth date and an estimate."""

    nik_pseudonym: str | None = None
    weak_pseudonym: str | None = None
    birth_date: date | None = None
    estimated_age: int | None = None

    @property
    def strength(self) -> str:
        return "nik" if self.nik_pseudonym else "weak"

    @property
    def pseudonym(self) -> str:
        return self.nik_pseudonym or self.weak_pseudonym or ""

    def as_json(self) -> dict[str, Any]:
        return {
            "nik_pseudonym": self.nik_pseudonym,
            "weak_pseudonym": self.weak_pseudonym,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "estimated_age": self.estimated_age,
        }

    @classmethod
    def from_json(cls, data: Any) -> Personal:
        if not isinstance(data, dict):
            raise CryptoError("sealed person: not an object")
        try:
            born = data.get("birth_date")
            found = cls(
                nik_pseudonym=_text(data.get("nik_pseudonym")),
                weak_pseudonym=_text(data.get("weak_pseudonym")),
                birth_date=date.fromisoformat(born) if born is not None else None,
                estimated_age=_age(data.get("estimated_age")),
            )
        except (TypeError, ValueError):
            raise CryptoError("sealed person: a field is malformed") from None
        if not found.pseudonym:
            raise CryptoError("sealed person: names no pseudonym")
        return found


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not PSEUDONYM.fullmatch(value):
        raise ValueError("not a pseudonym")
    return value


def _age(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 130:
        raise ValueError("not an age")
    return value


def _context(event_id: str) -> bytes:
    return _CONTEXT + event_id.encode()


def person_fields(event: Event) -> list[tuple[str, Person]]:
    """The event's fields holding a person (a tip's subject is optional)."""
    return [
        (f.name, value)
        for f in fields(event)
        if isinstance(value := getattr(event, f.name, None), Person)
    ]


def seal_person(
    person: Person, event_id: str, day: date, intake_public: str, desk_secret: bytes | None = None
) -> Person:
    """``person`` as a desk sends it: the personal fields sealed to the intake key, the
    rest in clear, with the age on ``day`` (the fact's).

    With ``desk_secret`` (the desk's own, :func:`desk_seal_secret`) the same person of
    the same fact seals to the same bytes, so that a file imported again is recognised
    at the hub as the same fact; only that desk could test a guess against it."""
    return _seal_person(person, event_id, day, intake_public, desk_secret)[0]


def _seal_person(
    person: Person, event_id: str, day: date, intake_public: str, desk_secret: bytes | None
) -> tuple[Person, crypto.Agreement]:
    """The sealed person and the agreement it was sealed with (which the event's contact
    may share: :func:`seal_people`)."""
    personal = Personal(
        person.nik_pseudonym, person.weak_pseudonym, person.birth_date, person.estimated_age
    )
    body = json.dumps(personal.as_json(), separators=(",", ":")).encode()
    context = _context(event_id)
    recipient, kid = _intake(intake_public)
    agreement = crypto.Agreement(recipient, seed=_seed(desk_secret, context, body))
    sealed = agreement.seal(body, context, nonce=agreement.nonce)
    wire = Person(
        nik_status=person.nik_status,
        sex=person.sex,
        origin_regency=person.origin_regency,
        sealed=f"{kid}.{sealed}",
        age_at_fact=person.age_on(day),
    )
    return wire, agreement


def _seed(desk_secret: bytes | None, context: bytes, body: bytes) -> bytes | None:
    """What a desk seals ``body`` in ``context`` from (None without its secret: random)."""
    if desk_secret is None:
        return None
    return hmac.new(desk_secret, context + b"\0" + body, hashlib.sha256).digest()


@lru_cache(maxsize=8)
def _intake(intake_public: str) -> tuple[X25519PublicKey, str]:
    """An intake key as the directory gives it, decoded once: the key and its id."""
    return crypto.sealing_key_from(intake_public), key_id(intake_public)


def desk_seal_secret(signing_key_raw: bytes) -> bytes:
    """A desk's secret for sealing people, derived from its own private signing key."""
    return hmac.new(signing_key_raw, b"sinergi-person-seal-v1", hashlib.sha256).digest()


def seal_people(event: Event, intake_public: str, desk_secret: bytes | None = None) -> Event:
    """``event`` with every person in it sealed (those already sealed, or naming no
    pseudonym, as they are), and the recruiter's contact they reported sealed to the
    hub around its police seal. The contact shares its person's agreement (one X25519
    agreement per message, not two; the hub opens both with one exchange): its own
    context and its own nonce keep the two values apart."""
    day = event.occurred_at.astimezone(WITA).date()  # the fact's day in Kupang, not in UTC
    changes: dict[str, Any] = {}
    agreement = None
    for name, p in person_fields(event):
        if p.sealed is None and (p.nik_pseudonym or p.weak_pseudonym):
            changes[name], made = _seal_person(p, event.event_id, day, intake_public, desk_secret)
            agreement = agreement or made
    contact = contact_of(event)
    if contact is not None and not is_wrapped(contact):
        changes[CONTACT_FIELD] = seal_contact(
            contact, event.event_id, intake_public, desk_secret, agreement
        )
    return replace(event, **changes) if changes else event


def contact_of(event: Event) -> str | None:
    """The event's recruiter contact as sent (police-sealed, wrapped for the hub, or the
    vault's reference), or None."""
    value = getattr(event, CONTACT_FIELD, None)
    return value if isinstance(value, str) and value else None


def is_wrapped(value: str) -> bool:
    """Whether ``value`` is sealed to an intake key (``<key id>.<base64>``)."""
    kid, dot, _ = value.partition(".")
    return bool(dot) and len(kid) == 8 and all(c in "0123456789abcdef" for c in kid)


def seal_contact(
    police_sealed: str,
    event_id: str,
    intake_public: str,
    desk_secret: bytes | None = None,
    agreement: crypto.Agreement | None = None,
) -> str:
    """A contact already sealed for police, sealed again to the hub's intake key (bound
    to the event): on the wire it is readable by nobody but the hub's intake, and the
    hub keeps it only under the person's data key. ``agreement``: the one its person was
    sealed with (to the same intake key), its nonce then from the contact's own seed, so
    that another contact of the same fact never reuses one; else one of its own."""
    context = _CONTACT_CONTEXT + event_id.encode()
    body = police_sealed.encode()
    seed = _seed(desk_secret, context, body)
    recipient, kid = _intake(intake_public)
    if agreement is None:
        sealed = crypto.seal(recipient, body, context, seed=seed)
    else:
        nonce = crypto.seed_nonce(seed) if seed is not None else None
        sealed = agreement.seal(body, context, nonce=nonce)
    return f"{kid}.{sealed}"


def open_contact(
    wrapped: str,
    event_id: str,
    private_for: Callable[[str], X25519PrivateKey | None],
    openers: Openers | None = None,
) -> str:
    """The police-sealed contact inside ``wrapped``; CryptoError saying why not."""
    kid, dot, body = wrapped.partition(".")
    if not dot or not is_wrapped(wrapped):
        raise CryptoError(
            "recruiter contact sealed for police only: it must travel sealed to the hub"
        )
    private = private_for(kid)
    if private is None:
        raise CryptoError(f"sealed contact: intake key {kid} is unknown or retired")
    opener = _opener(openers, kid, private)
    opened = opener.open(body, _CONTACT_CONTEXT + event_id.encode())
    try:
        return opened.decode("ascii")
    except UnicodeDecodeError:
        raise CryptoError("sealed contact: not a sealed value") from None


def contact_reference(carrier_id: str) -> str:
    """What the ledger and the alerts hold for the contact a message carried."""
    return CONTACT_REFERENCE + carrier_id


def referenced_carrier(reference: str) -> str | None:
    """The carrier id a contact reference names, or None if it is not one."""
    if not reference.startswith(CONTACT_REFERENCE):
        return None
    return reference[len(CONTACT_REFERENCE) :] or None


def open_person(
    sealed: str,
    event_id: str,
    private_for: Callable[[str], X25519PrivateKey | None],
    openers: Openers | None = None,
) -> Personal:
    """The personal fields of a sealed person; CryptoError saying why not (an unknown or
    retired intake key, another event's person, an altered value)."""
    kid, dot, body = sealed.partition(".")
    if not dot or len(kid) != 8 or any(c not in "0123456789abcdef" for c in kid):
        raise CryptoError("sealed person: not '<key id>.<sealed>'")
    private = private_for(kid)
    if private is None:
        raise CryptoError(f"sealed person: intake key {kid} is unknown or retired")
    opened = _opener(openers, kid, private).open(body, _context(event_id))
    try:
        data = orjson.loads(opened)
    except orjson.JSONDecodeError:
        raise CryptoError("sealed person: not JSON") from None
    return Personal.from_json(data)


# One message's openers by intake key id: its person and its contact, sealed with one
# agreement, open with one X25519 exchange (see :func:`seal_people`).
Openers = dict[str, crypto.Opener]


def _opener(openers: Openers | None, kid: str, private: X25519PrivateKey) -> crypto.Opener:
    if openers is None:
        return crypto.Opener(private)
    found = openers.get(kid)
    if found is None or found.private is not private:
        found = openers[kid] = crypto.Opener(private)
    return found
