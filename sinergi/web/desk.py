"""Recording from the browser: through the desks' own library, exactly as the command line.

A row typed in a form or read from a CSV file is validated, pseudonymised, sealed and
signed by the unit's desk (:func:`sinergi.bootstrap.desk`, :func:`producers.forms.record`),
kept in the desk's outbox and delivered (:func:`sinergi.bootstrap.desk_publisher`): the
same kind of event, byte for byte, as ``sinergi <agency> ...`` publishes. The officer
who is logged in is the ``officer`` of forms that have that column (their staff code,
a pseudonym, never their name).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from producers import forms
from producers.amend import as_recorded
from producers.outbox import Delivery
from producers.publisher import content_digest
from schemas.model import Agency, Event
from schemas.person_seal import person_fields
from sinergi import bootstrap
from sinergi.config import Settings

Row = Mapping[str, str | None]


@dataclass(frozen=True)
class Receipt:
    """What recording did: the events' ids (and each one's case, when the hub already
    knows the person), how many reached the hub, how many wait at the desk (the hub was
    out of reach), how many were recorded before (kept once)."""

    event_ids: list[str]
    case_ids: list[str | None]
    published: int
    pending: int
    again: int = 0
    error: str | None = None
    outcomes: dict[str, str] = field(default_factory=dict)  # event id -> published/waiting


def pseudonym_of(event: Event) -> tuple[str, str] | None:
    """The (strength, pseudonym) of the event's person, as the desk made it, or None."""
    found = person_fields(event)
    if not found:
        return None
    person = found[0][1]
    if person.nik_pseudonym:
        return "nik", person.nik_pseudonym
    return ("weak", person.weak_pseudonym) if person.weak_pseudonym else None


def with_officer(form: forms.Form[Event], row: Row, officer_code: str, *, force: bool) -> Row:
    """The row with the officer's staff code in its ``officer`` column, if the form has
    one: always from a form on screen (``force``), when empty from a file."""
    if "officer" not in form.columns:
        return row
    if force or not (row.get("officer") or "").strip():
        return {**row, "officer": officer_code}
    return row


def receipt(
    events: Sequence[Event], delivery: Delivery, case_ids: Sequence[str | None] = ()
) -> Receipt:
    mine = delivery.ids or frozenset(e.event_id for e in events)
    sent = {item.event_id for item in delivery.sent}
    outcomes = {e.event_id: "published" if e.event_id in sent else "waiting" for e in events}
    return Receipt(
        event_ids=[e.event_id for e in events],
        case_ids=list(case_ids) or [None] * len(events),
        published=sum(item.event_id in mine for item in delivery.sent),
        pending=delivery.pending,
        again=max(0, len(mine) - delivery.recorded),
        error=delivery.error,
        outcomes=outcomes,
    )


class Recorder:
    """The desks of this machine, for the officers logged in to the browser application."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # One writer per desk at a time: each desk's outbox is one SQLite file.
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

    def desk(self, agency: Agency, unit: str) -> forms.Desk:
        return bootstrap.desk(self.settings, agency, unit)

    def check(
        self, agency: Agency, unit: str, form_name: str, row: Row, *, now: datetime | None = None
    ) -> Event:
        """Validate one row (raises InvalidInputError, each problem by field)."""
        return forms.record(self.desk(agency, unit), forms.FORMS[form_name], row, now=now)

    def publish(self, unit: str, events: Sequence[Event], rows: Sequence[Row]) -> Receipt:
        """Keep ``events`` at the unit's desk, then deliver what waits there."""
        with self._locks[unit], bootstrap.desk_publisher(self.settings, unit) as pub:
            delivery = pub.record(as_recorded(events, rows))
        return receipt(events, delivery, self.known_cases(events) if len(events) == 1 else ())

    def recorded_before(self, unit: str, events: Sequence[Event]) -> list[str]:
        """The ids of ``events`` the unit's desk holds, or ``events`` holds twice, with
        other content: their publishing would be refused (a record is corrected, never
        edited)."""
        with self._locks[unit], bootstrap.desk_outbox(self.settings, unit) as outbox:
            return outbox.conflicts([(e.event_id, content_digest(e)) for e in events])

    def known_cases(self, events: Sequence[Event]) -> list[str | None]:
        """The hub's case of each event's person when the hub knows the person already
        (a person new to the hub gets a case when the hub takes the record in: the desk
        cannot know it); looked up in the vault as the analyst, who may only find."""
        wanted = [pseudonym_of(e) for e in events]
        if not any(wanted):
            return [None] * len(events)
        vault = bootstrap.vault(self.settings, "sinergi_analyst", create=False)
        try:
            subjects = [vault.find(*w) if w else None for w in wanted]
        finally:
            vault.close()
        return [s.case_id if s else None for s in subjects]

    def record(
        self, agency: Agency, unit: str, form_name: str, row: Row, officer_code: str
    ) -> tuple[Event, Receipt]:
        """One row typed in a form: validated, then published from the unit's desk."""
        form = forms.FORMS[form_name]
        row = with_officer(form, row, officer_code, force=True)
        event = self.check(agency, unit, form_name, row)
        return event, self.publish(unit, [event], [row])

    def acknowledge(self, unit: str, alert_id: str, officer_code: str, action: str) -> Receipt:
        """The police desk's acknowledgement form, as ``sinergi alerts ack`` fills it."""
        row = {
            "alert_id": alert_id,
            "officer": officer_code,
            "action": action,
            "occurred_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _, done = self.record(Agency.POLICE, unit, "acknowledgement", row, officer_code)
        return done
