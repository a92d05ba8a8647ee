"""At intake, the people of a batch: each sealed person opened once, their personal fields
kept in the vault under their own key, and the fold given the vault's subject instead.

What reaches the ledger about a person is then only what needs nothing personal: the
subject (a random id), sex, origin regency, the NIK's status and the age on the fact's
day; and for the recruiter's contact the person reported (sealed for police, then to the
hub), the vault's reference to it (``vault:<message id>``). A message seen before (a
redelivery, a rebuild, another worker) finds its subject in the vault by its event id
without opening anything, so a rebuild is identical also after the intake key was
retired or the person erased.

A person sent in clear (pseudonyms on the wire, from a desk that does not seal), or a
contact sealed for police only, is refused: taking it would keep in the log what no
erasure can reach.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from processors.vault import Kept, Subject, Vault
from schemas.crypto import CryptoError
from schemas.model import Event, Person
from schemas.person_seal import (
    CONTACT_FIELD,
    Openers,
    contact_of,
    contact_reference,
    open_contact,
    open_person,
    person_fields,
)

PrivateFor = Callable[[str], X25519PrivateKey | None]


@dataclass(frozen=True)
class Carrier:
    """An event about people and the id of the message that carried it (for a corrected
    record: the correction's own id, since the record keeps the original's, which is
    ``root_id``)."""

    carrier_id: str
    event: Event
    root_id: str | None = None


# A correction names the person again; once the record's person was erased, that would
# tie the NIK back to the erased history under a new subject (docs/erasure.md: an erased
# person is found by no NIK, ever). The record can still be retracted, and a new one made.
ERASED_RECORD = (
    "the record's person was erased: a correction would name them again"
    " (retract the record, and record anew if need be)"
)


def in_clear(person: Person) -> bool:
    return person.sealed is None and bool(person.nik_pseudonym or person.weak_pseudonym)


class People:
    def __init__(self, vault: Vault, private_for: PrivateFor) -> None:
        self.vault = vault
        self.private_for = private_for

    def close(self) -> None:
        close = getattr(self.vault, "close", None)
        if close is not None:
            close()

    def resolve(self, carriers: Sequence[Carrier]) -> list[Event | str]:
        """Each carrier's event with its people resolved, or the reason it is refused, in
        the order given (one message may come twice in a batch, with other sealed
        values: each keeps its own). Raises what the vault raises when it cannot be
        reached (a fault that passes: the batch is tried again)."""
        # The people of each event, found once (a scan of the event's fields).
        people = [person_fields(c.event) for c in carriers]
        todo = [c.carrier_id for c, found in zip(carriers, people, strict=True) if found]
        if not todo:
            return [c.event for c in carriers]
        known = self.vault.carried(todo)
        erased = self._erased_roots(
            [c.root_id for c in carriers if c.root_id and c.carrier_id not in known]
        )
        refused: dict[int, str] = {}
        kept: list[Kept] = []
        for n, (c, found) in enumerate(zip(carriers, people, strict=True)):
            if not found or c.carrier_id in known:
                continue
            if c.root_id in erased:
                refused[n] = ERASED_RECORD
                continue
            try:
                kept.extend(self._opened(c, found))
            except CryptoError as exc:
                refused[n] = str(exc)
        known.update(self.vault.keep(kept))
        done: list[Event | str] = []
        for n, (c, found) in enumerate(zip(carriers, people, strict=True)):
            subject = known.get(c.carrier_id)
            if n in refused:
                done.append(refused[n])
            elif subject is None:
                done.append(c.event)
            else:
                done.append(_with_subject(c, found, subject))
        return done

    def _erased_roots(self, root_ids: Sequence[str]) -> set[str]:
        """The records among ``root_ids`` whose person the vault has erased."""
        if not root_ids:
            return set()
        of_root = self.vault.carried(sorted(set(root_ids)))
        gone = self.vault.erased(sorted(set(of_root.values()), key=lambda s: s.case_id))
        return {root for root, subject in of_root.items() if subject in gone}

    def _opened(self, c: Carrier, found: list[tuple[str, Person]]) -> list[Kept]:
        if len(found) != 1:
            raise CryptoError("a record names one person at most")
        (_, person) = found[0]
        if in_clear(person):
            raise CryptoError("person in clear: its pseudonyms must travel sealed to the hub")
        wrapped = contact_of(c.event)
        if person.sealed is None:
            if wrapped is not None:
                raise CryptoError("a recruiter's contact is kept under a person: name one")
            return []  # names nobody: the contract says whether that is allowed
        openers: Openers = {}  # the person and the contact: one X25519 exchange
        personal = open_person(person.sealed, c.event.event_id, self.private_for, openers)
        contact = None
        if wrapped is not None:
            contact = open_contact(wrapped, c.event.event_id, self.private_for, openers)
        return [
            Kept(
                carrier_id=c.carrier_id,
                strength=personal.strength,
                pseudonym=personal.pseudonym,
                fields=personal.as_json(),
                event_type=c.event.event_type,
                occurred_at=c.event.occurred_at,
                contact=contact,
            )
        ]


def _with_subject(c: Carrier, found: list[tuple[str, Person]], subject: Subject) -> Event:
    changes: dict[str, object] = {
        name: Person(
            nik_status=person.nik_status,
            sex=person.sex,
            origin_regency=person.origin_regency,
            # The age the desk computed for the fact's day: an estimate, never aged.
            estimated_age=person.age_at_fact,
            age_at_fact=person.age_at_fact,
            subject=subject.case_id,
        )
        for name, person in found
    }
    if contact_of(c.event) is not None:
        # Where the vault keeps it: also after an erasure, the same reference (a rebuild
        # stays identical), which then opens to nothing.
        changes[CONTACT_FIELD] = contact_reference(c.carrier_id)
    return replace(c.event, **changes)  # type: ignore[arg-type]
