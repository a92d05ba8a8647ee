"""At intake, the people of a batch: each sealed person opened once, their personal fields
kept in the vault under their own key, and the fold given the vault's subject instead.

What reaches the ledger about a person is then only what needs nothing personal: the
subject (a random id), sex, origin regency, the NIK's status and the age on the fact's
day. A message seen before (a redelivery, a rebuild, another worker) finds its subject
in the vault by its event id without opening anything, so a rebuild is identical also
after the intake key was retired or the person erased.

A person sent in clear (pseudonyms on the wire, from a desk that does not seal) is
refused: taking it would keep in the log what no erasure can reach.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from processors.vault import Kept, Subject, Vault
from schemas.crypto import CryptoError
from schemas.model import Event, Person
from schemas.person_seal import open_person, person_fields

PrivateFor = Callable[[str], X25519PrivateKey | None]


@dataclass(frozen=True)
class Carrier:
    """An event about people and the id of the message that carried it (for a corrected
    record: the correction's own id, since the record keeps the original's)."""

    carrier_id: str
    event: Event


def _needs(event: Event) -> bool:
    return bool(person_fields(event))


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
        todo = [c for c in carriers if _needs(c.event)]
        if not todo:
            return [c.event for c in carriers]
        known = self.vault.carried([c.carrier_id for c in todo])
        refused: dict[int, str] = {}
        kept: list[Kept] = []
        for n, c in enumerate(carriers):
            if not _needs(c.event) or c.carrier_id in known:
                continue
            try:
                kept.extend(self._opened(c))
            except CryptoError as exc:
                refused[n] = str(exc)
        known.update(self.vault.keep(kept))
        done: list[Event | str] = []
        for n, c in enumerate(carriers):
            subject = known.get(c.carrier_id)
            if n in refused:
                done.append(refused[n])
            else:
                done.append(c.event if subject is None else _with_subject(c.event, subject))
        return done

    def _opened(self, c: Carrier) -> list[Kept]:
        found = person_fields(c.event)
        if len(found) != 1:
            raise CryptoError("a record names one person at most")
        (_, person) = found[0]
        if in_clear(person):
            raise CryptoError("person in clear: its pseudonyms must travel sealed to the hub")
        if person.sealed is None:
            return []  # names nobody: the contract says whether that is allowed
        personal = open_person(person.sealed, c.event.event_id, self.private_for)
        return [
            Kept(
                carrier_id=c.carrier_id,
                strength=personal.strength,
                pseudonym=personal.pseudonym,
                fields=personal.as_json(),
                event_type=c.event.event_type,
                occurred_at=c.event.occurred_at,
            )
        ]


def _with_subject(event: Event, subject: Subject) -> Event:
    changes: Mapping[str, Person] = {
        name: Person(
            nik_status=person.nik_status,
            sex=person.sex,
            origin_regency=person.origin_regency,
            # The age the desk computed for the fact's day: an estimate, never aged.
            estimated_age=person.age_at_fact,
            age_at_fact=person.age_at_fact,
            subject=subject.case_id,
        )
        for name, person in person_fields(event)
    }
    return replace(event, **changes)  # type: ignore[arg-type]
