"""Every agency's forms, and recording rows with them: the one way input enters the hub.

A member records through a :class:`Desk` (who: agency, unit, keys) and a
:class:`Form` (what: one kind of row and the event it becomes). Every row is
checked whole, each problem named by row and field, and pseudonymised before
anything is sent; a form refuses a desk of another agency. A row without an
``event_id`` gets one derived from its content, so importing a file twice
gives the same events.

=================  ==========  ===================================
form               agency      event
=================  ==========  ===================================
interception       post        InterceptionRecorded
investigation      police      InvestigationOpened
suspect            police      SuspectIdentified
prosecution        police      CaseSentToProsecutor
acknowledgement    police      AlertAcknowledged
placement          bp3mi       PlacementRegistered
repatriation       bp3mi       RepatriationRecorded
ltsa               district    LtsaRegistrationRecorded
prevention         district    PreventionActivityHeld
tip                hotline     TipReceived
=================  ==========  ===================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from producers import bp3mi, districts, hotline, police, posts
from producers.fields import FieldError, InvalidInputError, parse_regency
from producers.formkit import (
    Desk,
    Form,
    FormReader,
    read_csv,
    record,
    record_rows,
    row_event_id,
)
from producers.pseudonym import Pseudonymiser
from schemas import reference
from schemas.model import Agency, Event

__all__ = [
    "FORMS",
    "Desk",
    "Form",
    "FormReader",
    "desk_for",
    "forms_of",
    "read_csv",
    "record",
    "record_rows",
    "row_event_id",
]

_ALL: tuple[Form[Event], ...] = (
    posts.INTERCEPTION,
    police.INVESTIGATION,
    police.SUSPECT,
    police.PROSECUTION,
    police.ACKNOWLEDGEMENT,
    bp3mi.PLACEMENT,
    bp3mi.REPATRIATION,
    districts.LTSA,
    districts.PREVENTION,
    hotline.TIP,
)

FORMS: Mapping[str, Form[Event]] = MappingProxyType({form.name: form for form in _ALL})


def forms_of(agency: Agency) -> list[Form[Event]]:
    """The forms an agency records, in the order of :data:`FORMS`."""
    return [form for form in FORMS.values() if form.agency is agency]


def desk_for(
    agency: Agency | str,
    unit_or_place: str,
    pseudonymiser: Pseudonymiser,
    *,
    reporter_key: bytes | None = None,
) -> Desk:
    """The desk of a known member, by its place or its full unit id.

    A post by post id (``eltari`` or ``post-eltari``); police by ``polda-ntt`` or
    ``polres-<Kemendagri code>``; BP3MI by ``ntt``; a district by its regency's
    Kemendagri code or name (``5301``, ``district-5301``, ``Kupang``); the hotline by
    ``sisaga``, with ``reporter_key``, its own secret (never the shared key).
    Raises InvalidInputError (field ``unit``) for an unknown member.
    """
    try:
        kind = Agency(agency)
    except ValueError:
        message = f"unknown agency; expected one of {', '.join(_DESKS)}"
        raise InvalidInputError([_unknown(message)]) from None
    make = _DESKS.get(kind.value)
    if make is None:
        raise InvalidInputError([_unknown(f"the {kind.value} records no forms")])
    place = unit_or_place.strip()
    prefix = f"{kind.value}-"
    if place.lower().startswith(prefix):
        place = place[len(prefix) :]
    try:
        return make(place, pseudonymiser, reporter_key)
    except FieldError as exc:
        raise InvalidInputError([exc]) from None


def _unknown(message: str) -> FieldError:
    return FieldError("unit", message)


def _no_reporter_key(agency: Agency, reporter_key: bytes | None) -> None:
    if reporter_key is not None:
        raise _unknown(f"only the hotline holds a reporter key, not the {agency.value}")


def _post_desk(place: str, pseudonymiser: Pseudonymiser, reporter_key: bytes | None) -> Desk:
    _no_reporter_key(Agency.POST, reporter_key)
    known = reference.posts()
    post = known.get(place.lower())
    if post is None:
        raise _unknown(f"unknown post; known: {', '.join(sorted(known))}")
    return Desk(Agency.POST, f"post-{post.post_id}", pseudonymiser, post=post)


def _police_desk(place: str, pseudonymiser: Pseudonymiser, reporter_key: bytes | None) -> Desk:
    _no_reporter_key(Agency.POLICE, reporter_key)
    unit = police.police_unit(place)
    return Desk(Agency.POLICE, f"police-{unit}", pseudonymiser)


def _bp3mi_desk(place: str, pseudonymiser: Pseudonymiser, reporter_key: bytes | None) -> Desk:
    _no_reporter_key(Agency.BP3MI, reporter_key)
    if place.lower() not in bp3mi.UNITS:
        raise _unknown(f"unknown BP3MI office; known: {', '.join(bp3mi.UNITS)}")
    return Desk(Agency.BP3MI, f"bp3mi-{place.lower()}", pseudonymiser)


def _district_desk(place: str, pseudonymiser: Pseudonymiser, reporter_key: bytes | None) -> Desk:
    _no_reporter_key(Agency.DISTRICT, reporter_key)
    try:
        code = parse_regency(place)
    except FieldError as exc:
        raise _unknown(exc.message) from None
    return Desk(Agency.DISTRICT, f"district-{code}", pseudonymiser, regency=code)


def _hotline_desk(place: str, pseudonymiser: Pseudonymiser, reporter_key: bytes | None) -> Desk:
    if place.lower() not in hotline.UNITS:
        raise _unknown(f"unknown hotline; known: {', '.join(hotline.UNITS)}")
    if reporter_key is None:
        raise _unknown("the hotline needs its own reporter key")
    hotline.check_reporter_key(reporter_key, pseudonymiser)
    return Desk(
        Agency.HOTLINE, f"hotline-{place.lower()}", pseudonymiser, reporter_key=reporter_key
    )


_DESKS: Mapping[str, Callable[[str, Pseudonymiser, bytes | None], Desk]] = {
    Agency.POST.value: _post_desk,
    Agency.POLICE.value: _police_desk,
    Agency.BP3MI.value: _bp3mi_desk,
    Agency.DISTRICT.value: _district_desk,
    Agency.HOTLINE.value: _hotline_desk,
}
