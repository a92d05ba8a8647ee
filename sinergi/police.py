"""What police do with the hub: follow the alerts as they are raised."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

from kafka import KafkaConsumer

from producers.posts import RECRUITER_CONTACT
from schemas import crypto
from schemas.model import AlertRaised
from schemas.serde import EventDeserializer, SerializationError
from schemas.topics import ALERTS
from sinergi import bootstrap
from sinergi.config import Settings


def follow(
    settings: Settings,
    *,
    unit: str,
    from_beginning: bool = False,
    max_alerts: int | None = None,
    idle_timeout_s: float | None = None,
    on_skip: Callable[[str], None] | None = None,
) -> Iterator[AlertRaised]:
    """Alerts from the alerts topic, as they come. The consumer group is the police
    unit's, so a unit resumes where it stopped; ``from_beginning`` replays them all."""
    consumer = KafkaConsumer(
        settings.topic(ALERTS.name),
        bootstrap_servers=settings.bootstrap_servers,
        group_id=f"alerts-{unit}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        **bootstrap.kafka_security(settings, unit),
    )
    decode = EventDeserializer(bootstrap.registry_reader(settings))
    seen = 0
    last_message = time.monotonic()
    try:
        if from_beginning:
            consumer.poll(timeout_ms=0)  # join the group, get partitions
            while not consumer.assignment():
                consumer.poll(timeout_ms=200)
            consumer.seek_to_beginning()
        while max_alerts is None or seen < max_alerts:
            polled = consumer.poll(timeout_ms=500)
            if not polled:
                if idle_timeout_s is not None and time.monotonic() - last_message > idle_timeout_s:
                    return
                continue
            last_message = time.monotonic()
            for records in polled.values():
                for message in records:
                    try:
                        event = decode(message.value).event
                    except SerializationError as exc:
                        if on_skip is not None:
                            on_skip(f"offset {message.offset}: {exc}")
                        continue
                    if isinstance(event, AlertRaised):
                        seen += 1
                        yield event
                        if max_alerts is not None and seen >= max_alerts:
                            return
    finally:
        consumer.close()


def contact_opener(settings: Settings) -> Callable[[str], str]:
    """Opens recruiter contacts sealed for police, with the police role's key."""
    key = crypto.sealing_private(settings.keys_dir / "role-police.sealing.key")

    def open_contact(sealed: str) -> str:
        try:
            return crypto.open_sealed(key, sealed, RECRUITER_CONTACT).decode()
        except crypto.CryptoError:
            return "(cannot be opened with this key)"

    return open_contact


def as_json(alert: AlertRaised, contacts: list[str] | None = None) -> str:
    return json.dumps(
        {
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
