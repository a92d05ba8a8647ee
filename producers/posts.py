"""The posts' (posko) form: interceptions, from the CLI or a CSV file.

A row holds what the officer knows, raw: NIK, name, the recruiter's phone. It is
validated and pseudonymised here, and only the :class:`InterceptionRecorded`
event leaves the post: no NIK, no name, no phone number.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from functools import cache, lru_cache

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from producers.fields import (
    RowReader,
    parse_choice,
    parse_code,
    parse_country,
    parse_enum,
    parse_list,
)
from producers.formkit import (
    COMMON_COLUMNS,
    SECTOR,
    Desk,
    Form,
    envelope,
    must,
    parse_exit_point,
    read_occurred,
    recruiter_parser,
)
from producers.person import PERSON_COLUMNS, read_person
from schemas import contract, crypto, reference
from schemas.model import (
    Agency,
    DocumentIssue,
    InterceptionOutcome,
    InterceptionRecorded,
    Sector,
)

__all__ = ["INTERCEPTION"]

DOCUMENT = parse_enum(
    DocumentIssue,
    {
        "tanpa_dokumen": DocumentIssue.NONE_HELD,
        "visa_turis": DocumentIssue.TOURIST_VISA,
        "visa_kunjungan": DocumentIssue.VISIT_VISA,
        "palsu": DocumentIssue.FORGED,
        "di_bawah_umur": DocumentIssue.UNDER_AGE,
        "tanpa_visa_kerja": DocumentIssue.NO_WORK_VISA,
        "tanpa_bpjs": DocumentIssue.NO_INSURANCE,
        "tidak_terdaftar": DocumentIssue.NOT_REGISTERED,
        "tanpa_pelatihan": DocumentIssue.NO_TRAINING,
    },
)
DOCUMENTS = parse_list(DOCUMENT, contract.DOCUMENTS_MAX)
OUTCOME = parse_enum(
    InterceptionOutcome,
    {
        "dipulangkan": InterceptionOutcome.SENT_HOME,
        "diserahkan_ke_polisi": InterceptionOutcome.HANDED_TO_POLICE,
        "polisi": InterceptionOutcome.HANDED_TO_POLICE,
        "shelter": InterceptionOutcome.SHELTERED,
        "dilepas": InterceptionOutcome.RELEASED,
    },
)


def _interception(r: RowReader, desk: Desk, now: datetime) -> InterceptionRecorded | None:
    post = must(desk.post)
    occurred = read_occurred(r, now)
    documents = r.get("documents", DOCUMENTS) or ()
    person = read_person(
        r,
        desk.pseudonymiser,
        occurred=occurred,
        today=now.date(),
        forged=DocumentIssue.FORGED in documents,
    )
    exit_point = r.get("exit_point", parse_exit_point)
    route = r.get("route", _route_parser())
    country = r.get("destination_country", parse_country)
    sector = r.get("sector", SECTOR) or Sector.UNKNOWN
    recruiter = r.get("recruiter", recruiter_parser(desk.pseudonymiser))
    sealed = seal_for_police(desk, r.raw("recruiter")) if recruiter else None
    group = r.get("group_ref", parse_code)
    outcome = r.get("outcome", OUTCOME)
    officer = r.get("officer", parse_code)
    if r.errors:
        return None
    return InterceptionRecorded(
        envelope=envelope(InterceptionRecorded, r, desk, must(occurred), now),
        person=must(person),
        post_id=post.post_id,
        officer_ref=must(officer),
        exit_point=exit_point or post.exit_point_id,
        route=route,
        destination_country=country,
        intended_sector=sector,
        documents=documents,
        recruiter_ref=recruiter,
        group_ref=group,
        outcome=must(outcome),
        recruiter_contact_sealed=sealed,
    )


@cache
def _route_parser() -> Callable[[str], str]:
    """The route column's parser, made once (the reference list does not change)."""
    return parse_choice(reference.routes(), "route")


RECRUITER_CONTACT = b"recruiter_contact"


# Contacts sealed for police with one ephemeral key before a new one is made.
CONTACTS_PER_KEY = 1000
_agreement: tuple[str, crypto.Agreement, int] | None = None  # police key text, agreement, uses
_agreement_lock = threading.Lock()


def seal_for_police(desk: Desk, contact: str) -> str | None:
    """The recruiter's contact as written, sealed so that only police can read it.

    Up to :data:`CONTACTS_PER_KEY` contacts share one ephemeral key (an X25519 agreement
    with the police key), each with its own random nonce: a file of a thousand rows costs
    one key agreement for its contacts instead of a thousand (two X25519 multiplications,
    about 70 µs, each). A police-sealed contact never travels alone: it is sealed again
    to the hub's intake key with its person (:mod:`schemas.person_seal`, one ephemeral
    key per message), and the hub keeps it under that person's data key; only police and
    the hub ever see the shared ephemeral key, and only police can open what it seals."""
    if desk.police_sealing_key is None:
        return None
    agreement = _police_agreement(desk.police_sealing_key)
    return agreement.seal(contact.strip().encode(), RECRUITER_CONTACT)


def _police_agreement(text: str) -> crypto.Agreement:
    """The agreement with the police key ``text`` to seal the next contact with: the
    current one, or a new one after CONTACTS_PER_KEY contacts or for another key."""
    global _agreement
    with _agreement_lock:
        if _agreement is None or _agreement[0] != text or _agreement[2] >= CONTACTS_PER_KEY:
            _agreement = (text, crypto.Agreement(_police_key(text)), 0)
        current, agreement, uses = _agreement
        _agreement = (current, agreement, uses + 1)
        return agreement


@lru_cache(maxsize=16)
def _police_key(text: str) -> X25519PublicKey:
    """The police role's public key, decoded once per key text (an import seals one
    contact per row); a new or changed key is another text, decoded anew."""
    return crypto.sealing_key_from(text)


INTERCEPTION = Form(
    agency=Agency.POST,
    name="interception",
    event_type=InterceptionRecorded,
    columns={
        **COMMON_COLUMNS,
        **PERSON_COLUMNS,
        "destination_country": "ISO 3166-1 alpha-2 code or English name, e.g. MY",
        "sector": "intended work: DOMESTIC_WORK (prt), PLANTATION (sawit), ...",
        "exit_point": "exit point id (default: the post's own)",
        "route": "route id, e.g. larantuka-nunukan-tawau",
        "documents": "problems, ';'-separated: NO_WORK_VISA;NOT_REGISTERED;FORGED ...",
        "recruiter": "recruiter's phone or name (pseudonymised; sent only sealed for police)",
        "group_ref": "code shared by the people travelling together",
        "outcome": "SENT_HOME (dipulangkan), HANDED_TO_POLICE, SHELTERED, RELEASED",
        "officer": "recording officer's staff code",
    },
    required=frozenset({"occurred_at", "outcome", "officer"}),
    build=_interception,
)

# The columns of an interception CSV (and the options of `sinergi post record`).
