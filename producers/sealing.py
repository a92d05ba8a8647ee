"""A desk's serializer that seals every person to the hub before encoding
(:mod:`schemas.person_seal`): the pseudonyms and birth date never reach Kafka in clear.

It wraps the serializer everything a desk sends goes through, so a corrected record
inside a RecordCorrected is sealed exactly as the record itself was. The sealing alone
(:class:`PersonSealer`) is what a desk's helper processes do ahead of the encoding on a
large file (:mod:`sinergi.desk_pool`): an event already sealed passes through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas.model import Event
from schemas.person_seal import person_fields, seal_people
from schemas.serde import SerializationError, Serializer


class PersonSealer:
    """Every person of an event sealed to the hub's current intake key (``intake_key``:
    its base64 public key from the member directory, or None), the same fact always to
    the same bytes when the desk's ``desk_secret`` is given."""

    def __init__(
        self, intake_key: Callable[[], str | None], desk_secret: bytes | None = None
    ) -> None:
        self.intake_key = intake_key
        self.desk_secret = desk_secret

    def __call__(self, event: Event) -> Event:
        if not person_fields(event):
            return event
        key = self.intake_key()
        if key is None:
            raise SerializationError(
                "the member directory names no hub intake key to seal people to:"
                " run `sinergi stack up` (or `sinergi agency add`) on the hub"
            )
        return seal_people(event, key, self.desk_secret)


class SealingSerializer:
    """``inner`` with every person of an event sealed first by ``seal``."""

    def __init__(self, inner: Serializer, seal: PersonSealer) -> None:
        self.inner = inner
        self.seal = seal

    def __call__(self, topic: str, event: Event) -> bytes:
        return self.inner(topic, self.seal(event))
