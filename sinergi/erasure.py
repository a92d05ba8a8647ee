"""Erasing a person (issue 11, UU 27/2022 Pasal 43: the right to erasure, and erasure once
the purpose is served): the decision, the four eyes, the retention policy, and the
``PersonErased`` the hub publishes. The mechanism is the vault's (:mod:`processors.vault`):
erasing deletes the person's data key, so every copy of their personal fields (the vault,
its backups) becomes unreadable while their facts stay, counted under their case id.

Who decides:

- **a request** (``sinergi person erase``) names the person (by NIK, looked up in the
  vault, or by case id) and a reason *code* (:data:`REASONS`: never free text, which
  could hold anything), and is recorded with who asked;
- **a confirmation** (``sinergi person erase --confirm``) by *another* administrator
  carries it out (the database refuses the same one too: migration 0014);
- **the retention policy** (``deploy/retention.yaml``, ``sinergi person retention
  --apply``) erases, with reason ``RETENTION``, every person all of whose facts are past
  their type's period: the policy is the decision, so no second administrator; each
  erasure is recorded with the policy's digest.

Each erasure publishes a signed ``PersonErased`` on ``hub.cases`` (keyed by the case id:
compaction keeps it as the case's last word), through the hub's outbox in the erasure's
own transaction; the command then relays it at once (:func:`sinks.erasure.relay_own`),
and should Kafka be down, the processor's relay sends it on its next turn.

Nothing here holds a NIK or a pseudonym: requests name case ids (random subject ids),
the administrators' names are checked to hold no 16-digit number (as the database
checks too), and messages name case ids and request ids only.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from processors.ports import OutboxMessage
from schemas.model import AMENDABLE, EVENT_TYPES, PersonErased, envelope_for
from sinks.erasure import Announce, Request

# Why a person is erased, as the PersonErased schema's ErasureReason has them.
REASONS: Mapping[str, str] = {
    "SUBJECT_REQUEST": "the person asked to be erased (UU 27/2022 Pasal 8)",
    "CONSENT_WITHDRAWN": "the person withdrew their consent (Pasal 9)",
    "COURT_ORDER": "a court ordered it",
    "UNLAWFUL_PROCESSING": "the data was held without a lawful basis",
    "RETENTION": "every fact about them is past its retention period (deploy/retention.yaml)",
}
RETENTION = "RETENTION"
# An administrator asks with these; RETENTION is the policy's alone.
ASKED_REASONS = tuple(r for r in REASONS if r != RETENTION)

POLICY_FILE = Path(__file__).resolve().parent.parent / "deploy" / "retention.yaml"
FOREVER = "forever"
NO_PERSON = "no-person"
YEAR = timedelta(days=365)
_PERIOD = re.compile(r"([1-9][0-9]{0,3})([yd])")
_LINE = re.compile(r"([A-Za-z][A-Za-z0-9]*)\s*:\s*(\S.*)")


# Why a request is withdrawn before it is carried out (migration 0017).
WITHDRAWAL_REASONS: Mapping[str, str] = {
    "MISTAKEN": "the request named the wrong case or was made in error",
    "DUPLICATE": "another request for the same person stands",
    "SUBJECT_WITHDREW": "the person withdrew their request",
    "LEGAL_HOLD": "the data must be kept for now (evidence in an investigation or a"
    " prosecution, UU 27/2022 Pasal 15)",
}


class ErasureError(RuntimeError):
    """An erasure or a policy that cannot be used as given: one sentence, naming no one."""


def withdrawal_code(text: str) -> str:
    """A reason for withdrawing a request (its code, any case)."""
    code = text.strip().upper()
    if code not in WITHDRAWAL_REASONS:
        raise ErasureError(f"--reason is one of {', '.join(WITHDRAWAL_REASONS)}")
    return code


def reason_code(text: str) -> str:
    """A reason an administrator may give (its code, any case)."""
    code = text.strip().upper()
    if code == RETENTION:
        raise ErasureError(
            "RETENTION erasures are the policy's: `sinergi person retention --apply` makes them"
        )
    if code not in ASKED_REASONS:
        raise ErasureError(f"--reason is one of {', '.join(ASKED_REASONS)}")
    return code


# --- the retention policy --------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionPolicy:
    """How long the vault keeps a person's fields after a fact of each type (a type not
    in ``keep_for``: for ever), and the digest of the text that said so."""

    keep_for: Mapping[str, timedelta]
    digest: str
    forever: frozenset[str] = frozenset()
    no_person: frozenset[str] = frozenset()


def parse_policy(text: str, where: str = "deploy/retention.yaml") -> RetentionPolicy:
    """The policy a flat YAML mapping states (``EventType: 10y | 730d | forever |
    no-person``, comments and blank lines aside). Every type an agency records must be
    named: a type left out would be kept for ever by omission, not by decision."""
    keep_for: dict[str, timedelta] = {}
    forever: set[str] = set()
    no_person: set[str] = set()
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        found = _LINE.fullmatch(line)
        if found is None or raw[:1].isspace():
            raise ErasureError(f"{where}, line {number}: each line is `EventType: period`")
        kind, period = found.groups()
        if kind not in EVENT_TYPES:
            raise ErasureError(f"{where}, line {number}: {kind} is not an event type")
        if kind in seen:
            raise ErasureError(f"{where}, line {number}: {kind} is named twice")
        seen.add(kind)
        if period == FOREVER:
            forever.add(kind)
        elif period == NO_PERSON:
            no_person.add(kind)
        elif (length := _PERIOD.fullmatch(period)) is not None:
            count, unit = int(length[1]), length[2]
            keep_for[kind] = count * YEAR if unit == "y" else timedelta(days=count)
        else:
            raise ErasureError(
                f"{where}, line {number}: {kind}'s period is <n>y, <n>d, {FOREVER} or {NO_PERSON}"
            )
    missing = sorted(cls.event_type for cls in AMENDABLE if cls.event_type not in seen)
    if missing:
        raise ErasureError(f"{where} does not say how long to keep {', '.join(missing)}")
    digest = hashlib.sha256(text.encode()).hexdigest()
    return RetentionPolicy(keep_for, digest, frozenset(forever), frozenset(no_person))


def load_policy(path: Path = POLICY_FILE) -> RetentionPolicy:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ErasureError(f"the retention policy {path} cannot be read") from None
    return parse_policy(text, str(path))


def check_moment(at: datetime, now: datetime, *, applying: bool) -> None:
    """A later moment may be looked at (who will be due), never applied: it would erase
    people before their time."""
    if applying and at > now:
        raise ErasureError("--at later than now cannot be applied: it would erase people early")


# --- the announcement ----------------------------------------------------------------------


def erasure_event_id(request_id: str) -> str:
    """The PersonErased's id, derived from the request: a confirmation tried again after
    a crash announces the same event, which readers see as one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sinergi:PersonErased:{request_id}"))


def person_erased(
    asked: Request, confirmed_by: str, shredded: int, *, unit: str, now: datetime
) -> PersonErased:
    return PersonErased(
        envelope=envelope_for(
            PersonErased,
            unit=unit,
            occurred_at=now,
            recorded_at=now,
            event_id=erasure_event_id(asked.request_id),
        ),
        case_id=asked.case_id,
        reason_code=asked.reason_code,
        request_id=asked.request_id,
        requested_by=asked.requested_by,
        confirmed_by=confirmed_by,
        facts_shredded=shredded,
    )


def announcer(
    encode: Callable[[PersonErased], OutboxMessage], unit: str, clock: Callable[[], datetime]
) -> Announce:
    """What a confirmation calls, inside its transaction, to make its signed PersonErased."""

    def announce(asked: Request, confirmed_by: str, shredded: int) -> tuple[str, OutboxMessage]:
        event = person_erased(asked, confirmed_by, shredded, unit=unit, now=clock())
        return event.event_id, encode(event)

    return announce
