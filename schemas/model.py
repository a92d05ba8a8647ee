"""The events as Python values: one dataclass per ``.avsc`` record, same names.

Events are facts in the past tense. Field names and order match the Avro
records exactly (a unit test holds them together); conversion to and from the
Avro dict form is explicit, in :mod:`schemas.codec`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import ClassVar

# Kupang keeps Central Indonesian Time (WITA, UTC+8): the clock of NTT's posts, offices and
# districts, and the day a person's age is told on.
WITA = timezone(timedelta(hours=8), "WITA")


class Agency(StrEnum):
    """The kinds of member that publish to the hub."""

    POST = "post"
    POLICE = "police"
    BP3MI = "bp3mi"
    DISTRICT = "district"
    HOTLINE = "hotline"
    HUB = "hub"


class NikStatus(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"
    ABSENT = "ABSENT"


class Sex(StrEnum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    UNKNOWN = "UNKNOWN"


class Sector(StrEnum):
    DOMESTIC_WORK = "DOMESTIC_WORK"
    PLANTATION = "PLANTATION"
    CONSTRUCTION = "CONSTRUCTION"
    FISHERIES = "FISHERIES"
    MANUFACTURING = "MANUFACTURING"
    CARE = "CARE"
    HOSPITALITY = "HOSPITALITY"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class DocumentIssue(StrEnum):
    NONE_HELD = "NONE_HELD"
    TOURIST_VISA = "TOURIST_VISA"
    VISIT_VISA = "VISIT_VISA"
    FORGED = "FORGED"
    UNDER_AGE = "UNDER_AGE"
    NO_WORK_VISA = "NO_WORK_VISA"
    NO_INSURANCE = "NO_INSURANCE"
    NOT_REGISTERED = "NOT_REGISTERED"
    NO_TRAINING = "NO_TRAINING"
    OTHER = "OTHER"


class InterceptionOutcome(StrEnum):
    SENT_HOME = "SENT_HOME"
    HANDED_TO_POLICE = "HANDED_TO_POLICE"
    SHELTERED = "SHELTERED"
    RELEASED = "RELEASED"


class Procedural(StrEnum):
    PROCEDURAL = "PROCEDURAL"
    NON_PROCEDURAL = "NON_PROCEDURAL"
    UNKNOWN = "UNKNOWN"


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class Offence(StrEnum):
    TPPO = "TPPO"
    ILLEGAL_PLACEMENT = "ILLEGAL_PLACEMENT"
    DOCUMENT_FORGERY = "DOCUMENT_FORGERY"
    OTHER = "OTHER"


class PerpetratorRole(StrEnum):
    RECRUITER = "RECRUITER"
    TRANSPORTER = "TRANSPORTER"
    BROKER = "BROKER"
    DOCUMENT_FORGER = "DOCUMENT_FORGER"
    EMPLOYER = "EMPLOYER"
    OTHER = "OTHER"


class SuspectStatus(StrEnum):
    IDENTIFIED = "IDENTIFIED"
    WANTED = "WANTED"
    ARRESTED = "ARRESTED"


class AlertAction(StrEnum):
    NOTED = "NOTED"
    INVESTIGATING = "INVESTIGATING"
    REFERRED = "REFERRED"
    NO_ACTION = "NO_ACTION"


class RepatriationKind(StrEnum):
    DEPORTED = "DEPORTED"
    SICK = "SICK"
    DECEASED = "DECEASED"
    VOLUNTARY = "VOLUNTARY"
    TRAFFICKING_VICTIM = "TRAFFICKING_VICTIM"


class RepatriationCause(StrEnum):
    ILLNESS = "ILLNESS"
    ACCIDENT = "ACCIDENT"
    VIOLENCE = "VIOLENCE"
    WORK_RELATED = "WORK_RELATED"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class PreventionKind(StrEnum):
    VILLAGE_SOCIALISATION = "VILLAGE_SOCIALISATION"
    SCHOOL_SESSION = "SCHOOL_SESSION"
    RELIGIOUS_GATHERING = "RELIGIOUS_GATHERING"
    RADIO_BROADCAST = "RADIO_BROADCAST"
    TASK_FORCE_MEETING = "TASK_FORCE_MEETING"
    OTHER = "OTHER"


class TipConcern(StrEnum):
    RECRUITMENT = "RECRUITMENT"
    IMMINENT_DEPARTURE = "IMMINENT_DEPARTURE"
    PERSON_MISSING = "PERSON_MISSING"
    DOCUMENT_FORGERY = "DOCUMENT_FORGERY"
    OTHER = "OTHER"


class AlertRule(StrEnum):
    RECRUITER_NETWORK = "RECRUITER_NETWORK"
    MINOR_INTERCEPTED = "MINOR_INTERCEPTED"
    REPEAT_INTERCEPTION = "REPEAT_INTERCEPTION"
    TIP_MATCHED = "TIP_MATCHED"
    DECEASED_AFTER_INTERCEPTION = "DECEASED_AFTER_INTERCEPTION"
    DECEASED_UNREGISTERED = "DECEASED_UNREGISTERED"
    GROUP_INTERCEPTED = "GROUP_INTERCEPTED"
    UNDERAGE_REGISTRATION = "UNDERAGE_REGISTRATION"


class WithdrawalReason(StrEnum):
    """Why an alert stopped holding."""

    LATE_FACT = "LATE_FACT"
    RECORD_CORRECTED = "RECORD_CORRECTED"
    RECORD_RETRACTED = "RECORD_RETRACTED"


class RetractionReason(StrEnum):
    ENTERED_IN_ERROR = "ENTERED_IN_ERROR"
    DUPLICATE = "DUPLICATE"
    WRONG_PERSON = "WRONG_PERSON"
    NOT_AN_EVENT = "NOT_AN_EVENT"
    OTHER = "OTHER"


def utcnow() -> datetime:
    """Now, in UTC, at the millisecond precision Avro keeps."""
    return _millis(datetime.now(UTC))


@dataclass(frozen=True)
class Envelope:
    event_id: str
    occurred_at: datetime
    recorded_at: datetime
    agency: str
    unit: str
    schema_version: int

    @classmethod
    def new(
        cls,
        *,
        agency: Agency,
        unit: str,
        occurred_at: datetime,
        schema_version: int,
        recorded_at: datetime | None = None,
        event_id: str | None = None,
    ) -> Envelope:
        return cls(
            event_id=event_id or str(uuid.uuid4()),
            occurred_at=_millis(occurred_at),
            recorded_at=_millis(recorded_at or utcnow()),
            agency=agency.value,
            unit=unit,
            schema_version=schema_version,
        )


def _millis(moment: datetime) -> datetime:
    """Avro timestamp-millis keeps milliseconds: truncate so values round-trip exactly."""
    if moment.tzinfo is UTC and not moment.microsecond % 1000:
        return moment  # already so (what the ledger and the decoder hold): as it is
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Person:
    nik_pseudonym: str | None = None
    nik_status: NikStatus = NikStatus.ABSENT
    weak_pseudonym: str | None = None
    sex: Sex = Sex.UNKNOWN
    birth_date: date | None = None
    estimated_age: int | None = None
    origin_regency: str | None = None
    # v2 (issue 11): what a desk sends. The pseudonyms, birth date and estimate travel
    # sealed to the hub (producers/sealing.py); in clear only the age on the fact's day.
    sealed: str | None = None
    age_at_fact: int | None = None
    # The hub's only: the case the vault found for the person (processors/people.py).
    subject: str | None = field(default=None, metadata={"avro": False})

    @property
    def key(self) -> str | None:
        """The ledger's case key: the vault's subject at the hub; at a desk, strong (NIK)
        when there is one, else weak, else none."""
        if self.subject:
            return self.subject
        if self.nik_pseudonym:
            return f"nik:{self.nik_pseudonym}"
        if self.weak_pseudonym:
            return f"weak:{self.weak_pseudonym}"
        return None

    @property
    def partition(self) -> str | None:
        """The Kafka key of a fact about this person: one of 65,536 buckets of the case
        key, so that one person's facts stay in order in one partition while the key
        names nobody (a bucket holds thousands of people)."""
        key = self.key
        if key is None:
            return None
        return "p" + hashlib.sha256(key.encode()).hexdigest()[:4]

    def age_on(self, day: date) -> int | None:
        """The age on ``day``, a day of Kupang's calendar (:data:`WITA`): a fact's is
        ``occurred_at.astimezone(WITA).date()``, never the UTC date."""
        if self.birth_date is not None:
            before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
            return day.year - self.birth_date.year - int(before_birthday)
        return self.estimated_age


@dataclass(frozen=True)
class Event:
    """Base of every event; subclasses name their Avro record in ``event_type``."""

    event_type: ClassVar[str]
    agency: ClassVar[Agency]
    envelope: Envelope

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def occurred_at(self) -> datetime:
        return self.envelope.occurred_at

    def partition_key(self) -> str:
        """Kafka message key: events about one person go to one partition, in order."""
        return self.event_id

    def publishing_agency(self) -> Agency:
        """The agency that publishes this event (the record's, for an amendment)."""
        return self.agency


@dataclass(frozen=True)
class InterceptionRecorded(Event):
    event_type: ClassVar[str] = "InterceptionRecorded"
    agency: ClassVar[Agency] = Agency.POST

    person: Person
    post_id: str
    officer_ref: str
    exit_point: str
    route: str | None = None
    destination_country: str | None = None
    intended_sector: Sector = Sector.UNKNOWN
    documents: tuple[DocumentIssue, ...] = field(default_factory=tuple)
    recruiter_ref: str | None = None
    group_ref: str | None = None
    outcome: InterceptionOutcome = InterceptionOutcome.SENT_HOME
    # v2: sealed for police, and on the wire to the hub (schemas/person_seal.py); the
    # ledger's copy is the vault's reference to it (vault:<event id>).
    recruiter_contact_sealed: str | None = None

    def partition_key(self) -> str:
        return self.person.partition or self.event_id


# --- police ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InvestigationOpened(Event):
    event_type: ClassVar[str] = "InvestigationOpened"
    agency: ClassVar[Agency] = Agency.POLICE

    investigation_ref: str
    offence: Offence
    case_ids: tuple[str, ...] = ()
    recruiter_refs: tuple[str, ...] = ()
    alert_id: str | None = None

    def partition_key(self) -> str:
        return self.investigation_ref


@dataclass(frozen=True)
class SuspectIdentified(Event):
    event_type: ClassVar[str] = "SuspectIdentified"
    agency: ClassVar[Agency] = Agency.POLICE

    investigation_ref: str
    recruiter_ref: str
    role: PerpetratorRole
    suspect_status: SuspectStatus

    def partition_key(self) -> str:
        return self.investigation_ref


@dataclass(frozen=True)
class CaseSentToProsecutor(Event):
    event_type: ClassVar[str] = "CaseSentToProsecutor"
    agency: ClassVar[Agency] = Agency.POLICE

    investigation_ref: str
    prosecutor_office: str
    case_ids: tuple[str, ...] = ()
    recruiter_refs: tuple[str, ...] = ()

    def partition_key(self) -> str:
        return self.investigation_ref


@dataclass(frozen=True)
class AlertAcknowledged(Event):
    event_type: ClassVar[str] = "AlertAcknowledged"
    agency: ClassVar[Agency] = Agency.POLICE

    alert_id: str
    officer_ref: str
    action: AlertAction = AlertAction.NOTED

    def partition_key(self) -> str:
        return self.alert_id


# --- BP3MI ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementRegistered(Event):
    event_type: ClassVar[str] = "PlacementRegistered"
    agency: ClassVar[Agency] = Agency.BP3MI

    person: Person
    destination_country: str
    sector: Sector
    placement_company: str

    def partition_key(self) -> str:
        return self.person.partition or self.event_id


@dataclass(frozen=True)
class RepatriationRecorded(Event):
    event_type: ClassVar[str] = "RepatriationRecorded"
    agency: ClassVar[Agency] = Agency.BP3MI

    person: Person
    kind: RepatriationKind
    country: str
    procedural: Procedural = Procedural.UNKNOWN
    cause: RepatriationCause | None = None
    arrival_point: str | None = None

    def partition_key(self) -> str:
        return self.person.partition or self.event_id


# --- districts ------------------------------------------------------------------------


@dataclass(frozen=True)
class LtsaRegistrationRecorded(Event):
    event_type: ClassVar[str] = "LtsaRegistrationRecorded"
    agency: ClassVar[Agency] = Agency.DISTRICT

    person: Person
    ltsa_regency: str
    intended_country: str | None = None
    intended_sector: Sector = Sector.UNKNOWN

    def partition_key(self) -> str:
        return self.person.partition or self.event_id


@dataclass(frozen=True)
class PreventionActivityHeld(Event):
    event_type: ClassVar[str] = "PreventionActivityHeld"
    agency: ClassVar[Agency] = Agency.DISTRICT

    regency: str
    village: str
    kind: PreventionKind
    attendance: int
    attendance_women: int | None = None

    def partition_key(self) -> str:
        return self.regency


# --- hotline --------------------------------------------------------------------------


@dataclass(frozen=True)
class TipReceived(Event):
    event_type: ClassVar[str] = "TipReceived"
    agency: ClassVar[Agency] = Agency.HOTLINE

    tip_ref: str
    reporter_ref: str
    concern: TipConcern
    regency: str | None = None
    exit_point: str | None = None
    suspected_recruiter_ref: str | None = None
    subject: Person | None = None
    expected_departure: date | None = None

    def partition_key(self) -> str:
        return (self.subject.partition if self.subject else None) or self.tip_ref


# --- the hub's own outputs --------------------------------------------------------------


@dataclass(frozen=True)
class AlertRaised(Event):
    event_type: ClassVar[str] = "AlertRaised"
    agency: ClassVar[Agency] = Agency.HUB

    alert_id: str
    rule: AlertRule
    severity: Severity
    case_ids: tuple[str, ...]
    recruiter_ref: str | None
    group_ref: str | None
    cause_event_ids: tuple[str, ...]
    summary: str
    triggered_at: datetime
    # v2: the causes' recruiter contacts, as references to the vault (vault:<event id>),
    # where each is kept sealed for police under its person's data key.
    sealed_contacts: tuple[str, ...] = ()

    def partition_key(self) -> str:
        return self.alert_id


@dataclass(frozen=True)
class CaseUpdated(Event):
    event_type: ClassVar[str] = "CaseUpdated"
    agency: ClassVar[Agency] = Agency.HUB

    case_id: str
    match: str
    status: str
    sex: Sex
    origin_regency: str | None
    minor_when_first_seen: bool
    interceptions: int
    repatriations: int
    placements: int
    investigation: str
    recruiters: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    fact_count: int

    def partition_key(self) -> str:
        return self.case_id


def envelope_for(
    cls: type[Event],
    *,
    unit: str,
    occurred_at: datetime,
    recorded_at: datetime | None = None,
    event_id: str | None = None,
) -> Envelope:
    """A new envelope for an event of type ``cls``, at the newest schema version."""
    from schemas import avro

    return Envelope.new(
        agency=cls.agency,
        unit=unit,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        event_id=event_id,
        schema_version=avro.load(cls.event_type).version,
    )


@dataclass(frozen=True)
class AlertWithdrawn(Event):
    """A raised alert no longer holds (published on hub.alerts beside AlertRaised)."""

    event_type: ClassVar[str] = "AlertWithdrawn"
    agency: ClassVar[Agency] = Agency.HUB

    alert_id: str
    rule: AlertRule
    severity: Severity
    case_ids: tuple[str, ...]
    reason: WithdrawalReason
    ended_by_event_ids: tuple[str, ...]
    summary: str
    withdrawn_at: datetime

    def partition_key(self) -> str:
        return self.alert_id


# --- amendments: corrections and retractions of an agency's own records -----------------


@dataclass(frozen=True)
class RecordCorrected(Event):
    """The whole corrected record replaces the record ``corrects_event_id`` in the ledger.

    ``record`` is the corrected record in the wire format (it decodes like a message
    of its own type); published on the topic of ``record_type``, keyed like it."""

    event_type: ClassVar[str] = "RecordCorrected"
    agency: ClassVar[Agency] = Agency.HUB  # see publishing_agency(): the record's

    corrects_event_id: str
    record_type: str
    record: bytes
    # The record's Kafka key, so that an amendment lands beside its record (not in Avro).
    key: str = field(default="", compare=False, metadata={"avro": False})

    def publishing_agency(self) -> Agency:
        return _agency_of(self.record_type)

    def partition_key(self) -> str:
        return self.key or self.corrects_event_id


@dataclass(frozen=True)
class RecordRetracted(Event):
    """The record ``retracts_event_id`` is absent from the ledger from now on."""

    event_type: ClassVar[str] = "RecordRetracted"
    agency: ClassVar[Agency] = Agency.HUB  # see publishing_agency(): the record's

    retracts_event_id: str
    record_type: str
    reason: RetractionReason
    # The record's Kafka key, so that an amendment lands beside its record (not in Avro).
    key: str = field(default="", compare=False, metadata={"avro": False})

    def publishing_agency(self) -> Agency:
        return _agency_of(self.record_type)

    def partition_key(self) -> str:
        return self.key or self.retracts_event_id


def _agency_of(record_type: str) -> Agency:
    cls = EVENT_TYPES.get(record_type)
    return cls.agency if cls is not None else Agency.HUB


@dataclass(frozen=True)
class MessageDeadLettered(Event):
    event_type: ClassVar[str] = "MessageDeadLettered"
    agency: ClassVar[Agency] = Agency.HUB

    source_topic: str
    source_partition: int
    source_offset: int
    reason: str
    payload_sha256: str
    payload_bytes: int
    schema_id: int | None = None

    def partition_key(self) -> str:
        return f"{self.source_topic}:{self.source_partition}:{self.source_offset}"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.event_type: cls
    for cls in (
        InterceptionRecorded,
        InvestigationOpened,
        SuspectIdentified,
        CaseSentToProsecutor,
        AlertAcknowledged,
        PlacementRegistered,
        RepatriationRecorded,
        LtsaRegistrationRecorded,
        PreventionActivityHeld,
        TipReceived,
        AlertRaised,
        AlertWithdrawn,
        CaseUpdated,
        MessageDeadLettered,
        RecordCorrected,
        RecordRetracted,
    )
}

# What a member may amend: the records agencies publish (not the hub's own outputs).
AMENDABLE: tuple[type[Event], ...] = (
    InterceptionRecorded,
    InvestigationOpened,
    SuspectIdentified,
    CaseSentToProsecutor,
    AlertAcknowledged,
    PlacementRegistered,
    RepatriationRecorded,
    LtsaRegistrationRecorded,
    PreventionActivityHeld,
    TipReceived,
)


# --- erasure (issue 11): a person's personal fields shredded in the vault -------------------


@dataclass(frozen=True)
class PersonErased(Event):
    """The hub erased a person (crypto-shredding, sinergi/erasure.py): their data key is
    deleted, every personal field kept under it unreadable; their facts stay, counted under
    the case id. Published on hub.cases, keyed by case id: compaction keeps it as the
    case's last word. ``reason_code`` is one of the codes of schemas/avro's ErasureReason."""

    event_type: ClassVar[str] = "PersonErased"
    agency: ClassVar[Agency] = Agency.HUB

    case_id: str
    reason_code: str
    request_id: str
    requested_by: str
    confirmed_by: str
    facts_shredded: int

    def partition_key(self) -> str:
        return self.case_id


EVENT_TYPES[PersonErased.event_type] = PersonErased
