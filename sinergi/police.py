"""What police do with the hub: follow the alerts as they are raised, and withdrawn."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias

import psycopg
from kafka import KafkaConsumer

from deploy.procs import StackError
from processors.vault import VaultError
from producers.posts import RECRUITER_CONTACT
from schemas import crypto
from schemas.model import AlertRaised, AlertWithdrawn, Event
from schemas.person_seal import contact_reference, referenced_carrier
from schemas.serde import EventDeserializer, SerializationError
from schemas.topics import ALERTS
from sinergi import bootstrap
from sinergi.config import Settings


@dataclass(frozen=True)
class Raised:
    """The hub raised an alert."""

    alert: AlertRaised
    kind: Literal["raised"] = "raised"

    @property
    def alert_id(self) -> str:
        return self.alert.alert_id


@dataclass(frozen=True)
class Withdrawn:
    """The hub withdrew an alert it had raised: a later fact ended the situation."""

    alert_id: str
    reason: str
    withdrawn_at: datetime
    rule: str | None = None
    summary: str = ""
    case_ids: tuple[str, ...] = ()
    kind: Literal["withdrawn"] = "withdrawn"


# What `follow` yields: one item per alert raised or withdrawn, in topic order.
Followed: TypeAlias = Raised | Withdrawn


def followed(event: Event) -> Followed | None:
    """What police see of an event on the alerts topic (None: nothing for them)."""
    if isinstance(event, AlertRaised):
        return Raised(event)
    if isinstance(event, AlertWithdrawn):
        return Withdrawn(
            alert_id=event.alert_id,
            reason=event.reason.value,
            withdrawn_at=event.withdrawn_at,
            rule=event.rule.value,
            summary=event.summary,
            case_ids=event.case_ids,
        )
    return None


def follow(
    settings: Settings,
    *,
    unit: str,
    from_beginning: bool = False,
    max_alerts: int | None = None,
    idle_timeout_s: float | None = None,
    on_skip: Callable[[str], None] | None = None,
) -> Iterator[Followed]:
    """Alerts raised and withdrawn, from the alerts topic, as they come (``max_alerts``
    counts both). The consumer group is the police unit's, so a unit resumes where it
    stopped; ``from_beginning`` replays them all."""
    topic = settings.topic(ALERTS.name)
    consumer = KafkaConsumer(
        group_id=settings.alerts_group(unit),
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        # Alerts again within seconds of a broker's return, not up to 30 s later.
        **bootstrap.kafka_client(settings, unit),
    )
    # The topic's partitions are known before the group is joined: joined first, the
    # group could be given no partition until the client's next metadata refresh.
    consumer.partitions_for_topic(topic)
    consumer.subscribe([topic])
    decode = EventDeserializer(bootstrap.registry_reader(settings))
    seen = 0
    last_message = time.monotonic()
    try:
        if from_beginning:
            _rewind(consumer, unit)
        while max_alerts is None or seen < max_alerts:
            polled = consumer.poll(timeout_ms=500)
            if not polled:
                if idle_timeout_s is not None and time.monotonic() - last_message > idle_timeout_s:
                    return
                continue
            last_message = time.monotonic()
            for records in polled.values():
                for message in records:
                    item = _item(decode, message, on_skip)
                    if item is None:
                        continue
                    seen += 1
                    yield item
                    if max_alerts is not None and seen >= max_alerts:
                        return
    finally:
        consumer.close()


ASSIGNMENT_WAIT_S = 60.0


def _rewind(consumer: Any, unit: str, wait_s: float = ASSIGNMENT_WAIT_S) -> None:
    """Join the unit's group, then go back to the start of the partitions it was given.
    Said in one sentence, rather than waited for ever, when the group gives none."""
    consumer.poll(timeout_ms=0)  # join the group, get partitions
    deadline = time.monotonic() + wait_s
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise StackError(
                f"the alerts topic gave {unit}'s consumer group no partition in"
                f" {wait_s:.0f}s: another `sinergi alerts follow --unit {unit}` may hold"
                " them all (one follower per unit), or the broker is not answering"
            )
        consumer.poll(timeout_ms=200)
    consumer.seek_to_beginning()


def _item(
    decode: EventDeserializer, message: Any, on_skip: Callable[[str], None] | None
) -> Followed | None:
    try:
        event = decode(message.value).event
    except SerializationError as exc:
        if on_skip is not None:
            on_skip(f"offset {message.offset}: {exc}")
        return None
    return followed(event)


def contact_opener(
    settings: Settings, fetch: Callable[[str], str | None] | None = None
) -> Callable[[str], str]:
    """Opens recruiter contacts for police. The ledger and the alerts hold a reference
    (``vault:<event id>``): the contact is fetched from the vault (``fetch``, by default
    the hub's vault as the analyst), where it is kept sealed for police under its
    person's data key, then opened with the police role's key. An erased person's
    contact opens to nothing."""
    key = crypto.sealing_private(settings.keys_dir / "role-police.sealing.key")
    from_vault = fetch if fetch is not None else _vault_contact(settings)

    def open_contact(value: str) -> str:
        carrier = referenced_carrier(value)
        if carrier is not None:
            try:
                sealed = from_vault(carrier)
            except VaultError:
                return "(unknown to the vault)"
            except SupersededError:
                return "(no longer the record's: corrected or retracted since)"
            if sealed is None:
                return "(erased, or none was reported)"
            value = sealed
        try:
            return crypto.open_sealed(key, value, RECRUITER_CONTACT).decode()
        except crypto.CryptoError:
            return "(cannot be opened with this key)"

    return open_contact


class SupersededError(LookupError):
    """The record that carried a contact no longer stands as it was (a correction took the
    contact out or changed it, or the record was retracted): the ledger holds no fact
    with that contact, and police are not given it (an alert sent before still names it)."""


def _vault_contact(settings: Settings) -> Callable[[str], str | None]:
    """One contact from the vault, on a connection of its own (a contact is opened by
    an officer's request, now and then; the browser asks from several threads), given
    only while a fact of its person's case still carries it (``v_case_facts``)."""

    def fetch(carrier_id: str) -> str | None:
        vault = bootstrap.vault(settings, "sinergi_analyst", create=False)
        try:
            subject, contact = vault.contact_of(carrier_id)
        finally:
            vault.close()
        if contact is not None and not _still_carried(settings, subject.case_id, carrier_id):
            raise SupersededError(carrier_id)
        return contact

    return fetch


def _still_carried(settings: Settings, case_id: str, carrier_id: str) -> bool:
    with psycopg.connect(bootstrap.conninfo(settings, "sinergi_analyst")) as conn:
        row = conn.execute(
            "SELECT 1 FROM v_case_facts WHERE case_id = %s AND detail ->> 'contact_sealed' = %s",
            (case_id, contact_reference(carrier_id)),
        ).fetchone()
    return row is not None


def as_json(item: Followed, contacts: list[str] | None = None) -> str:
    """One line of JSON: ``kind`` says raised or withdrawn; ids are whole."""
    if isinstance(item, Withdrawn):
        return json.dumps(
            {
                "kind": item.kind,
                "alert_id": item.alert_id,
                "rule": item.rule,
                "reason": item.reason,
                "summary": item.summary,
                "case_ids": list(item.case_ids),
                "withdrawn_at": item.withdrawn_at.isoformat(),
            },
            ensure_ascii=False,
        )
    alert = item.alert
    return json.dumps(
        {
            "kind": item.kind,
            "alert_id": alert.alert_id,
            "rule": alert.rule.value,
            "severity": alert.severity.value,
            "summary": alert.summary,
            "case_ids": list(alert.case_ids),
            "recruiter_ref": alert.recruiter_ref,
            "group_ref": alert.group_ref,
            "cause_event_ids": list(alert.cause_event_ids),
            "triggered_at": alert.triggered_at.isoformat(),
            "sealed_contacts": list(alert.sealed_contacts),
            **({"contacts": contacts} if contacts else {}),
        },
        ensure_ascii=False,
    )
