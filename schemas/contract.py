"""The field rules every event keeps, stated once for the desks and for the hub.

The Avro schemas say which fields an event has and of what type; they cannot say that a
country is an ISO code, that a recruiter reference is a pseudonym or that a village name
is not 2,000 characters of free text. Without these rules a validly signed event could
carry a NIK and a name in ``destination_country`` (and turn them into a Prometheus label),
a NUL character, or 10,000 recruiter references. This module is where the rules live:

* the desks (:func:`producers.formkit.record`) run :func:`violations` on every event
  they build and refuse the row, so a desk refuses exactly what the hub would refuse;
* the hub's processor runs :func:`violations` (or :func:`check`) on every message.

What the hub alone can judge (a time in the future by its clock, the signer, replays)
stays with the hub. Everything here is a pure function of the event.

A :class:`Violation` names the field by its dotted path and the rule by a fixed sentence.
It never holds any part of the value received: the value may be an attacker's text or
personal data, and violations end up in logs and on the dead-letter topic.

The bounds are module constants; the desks' parsers import them (and the patterns), so
each rule has one home. Rules are tables: per event type, each field's path and its rule,
then the relations between fields. Reference sets are built once, at import.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any, Final

from schemas import reference
from schemas.model import (
    AMENDABLE,
    Agency,
    AlertAcknowledged,
    AlertAction,
    AlertRaised,
    AlertRule,
    AlertWithdrawn,
    CaseSentToProsecutor,
    CaseUpdated,
    DocumentIssue,
    Envelope,
    Event,
    InterceptionOutcome,
    InterceptionRecorded,
    InvestigationOpened,
    LtsaRegistrationRecorded,
    MessageDeadLettered,
    NikStatus,
    Offence,
    PerpetratorRole,
    Person,
    PersonErased,
    PlacementRegistered,
    PreventionActivityHeld,
    PreventionKind,
    Procedural,
    RecordCorrected,
    RecordRetracted,
    RepatriationCause,
    RepatriationKind,
    RepatriationRecorded,
    RetractionReason,
    Sector,
    Severity,
    Sex,
    SuspectIdentified,
    SuspectStatus,
    TipConcern,
    TipReceived,
    WithdrawalReason,
)

__all__ = [
    "AGE_MAX",
    "AGE_MIN",
    "ATTENDANCE_MAX",
    "CASE_ID",
    "CASE_IDS_MAX",
    "CODE",
    "CODE_MAX",
    "COUNT_MAX",
    "DEPARTURE_AFTER",
    "DEPARTURE_BEFORE",
    "DOCUMENTS_MAX",
    "EARLIEST_BIRTH",
    "EARLIEST_MOMENT",
    "HUB_LIST_MAX",
    "INVESTIGATION_REF",
    "INVESTIGATION_REF_MAX",
    "OFFICE",
    "OFFICE_MAX",
    "PERSONAL_NUMBER",
    "PERSONAL_NUMBER_RULE",
    "PSEUDONYM",
    "REASON_MAX",
    "RECORD_BYTES_MAX",
    "RECRUITERS_MAX",
    "RECRUITER_CONTACT_MAX",
    "SEALED_MAX",
    "SUMMARY_MAX",
    "UNIT",
    "UNIT_MAX",
    "UUID",
    "VILLAGE_MAX",
    "ContractError",
    "Violation",
    "check",
    "has_invisible",
    "is_place_name",
    "violations",
]

# --- bounds ---------------------------------------------------------------------------

# Times: nothing the hub records happened before 2000; nobody alive was born before 1900.
EARLIEST_MOMENT: Final = datetime(2000, 1, 1, tzinfo=UTC)
EARLIEST_BIRTH: Final = date(1900, 1, 1)
# A date is local somewhere: the latest local date of an instant is at UTC+14.
LATEST_LOCAL_OFFSET: Final = timedelta(hours=14)
# A tip's expected departure: at most a year before the tip (a late report), two after.
DEPARTURE_BEFORE: Final = timedelta(days=365)
DEPARTURE_AFTER: Final = timedelta(days=730)

# Numbers.
AGE_MIN: Final = 0
AGE_MAX: Final = 100
ATTENDANCE_MAX: Final = 100_000
COUNT_MAX: Final = 2**31 - 1  # an Avro int
SCHEMA_VERSION_MAX: Final = 1000

# Text, in characters.
CODE_MAX: Final = 64  # staff, group, tip and company codes
INVESTIGATION_REF_MAX: Final = 64
OFFICE_MAX: Final = 64
UNIT_MAX: Final = 63  # a member id
GROUP_KEY_MAX: Final = 2 * CODE_MAX + 1  # the hub's "<post>/<group_ref>"
STATE_MAX: Final = 32  # the hub's upper-case states (status, investigation)
VILLAGE_MAX: Final = 120
SEALED_MAX: Final = 512  # base64 of a sealed value
SUMMARY_MAX: Final = 500
REASON_MAX: Final = 2000
TOPIC_MAX: Final = 249  # Kafka's own limit
# The recruiter's contact as typed, sealed for police: 80 characters are at most 320 bytes
# of UTF-8; sealed they are 32 + 12 + 320 + 16 = 380 bytes, 508 characters of base64,
# within SEALED_MAX.
RECRUITER_CONTACT_MAX: Final = 80

# Lists.
RECRUITERS_MAX: Final = 20  # recruiters named in one record
CASE_IDS_MAX: Final = 100  # victims named in one investigation or prosecution
DOCUMENTS_MAX: Final = len(DocumentIssue)
RECORD_BYTES_MAX: Final = 65_536  # a corrected record, in the wire format
HUB_LIST_MAX: Final = 1000  # the hub's own outputs: cases, causes, contacts of one alert

# --- patterns (always used with fullmatch) --------------------------------------------------

CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
GROUP_KEY: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,128}")
# A police report number, upper case, single spaces: LP/B/45/I/2026/SPKT/POLDA NTT.
INVESTIGATION_REF: Final = re.compile(r"[A-Z0-9](?:[A-Z0-9/.-]| (?=[A-Z0-9/.-])){0,63}")
OFFICE: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
UNIT: Final = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
PSEUDONYM: Final = re.compile(r"[0-9a-f]{32}")
CASE_ID: Final = re.compile(r"(?:nik|weak):[0-9a-f]{32}")
UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHA256: Final = re.compile(r"[0-9a-f]{64}")
SEALED: Final = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
STATE: Final = re.compile(r"[A-Z][A-Z_]{0,31}")
TOPIC: Final = re.compile(r"[A-Za-z0-9._-]{1,249}")

# A person's number where a code goes: ten digits or more in a row (a NIK, a family card,
# an NIP, a phone number as typed), a mobile number written in groups (08.. or +62 8..,
# with spaces, dots or hyphens), or a NIK written in groups. Codes that carry dates and
# serial numbers (ELTARI-20260120-0001, SISAGA-202601-0042) keep shorter runs.
PERSONAL_NUMBER: Final = re.compile(
    r"[0-9]{10,}"
    r"|(?<![0-9])(?:\+?62|0)[ .-]?8(?:[ .-]?[0-9]){7,11}(?![0-9])"
    r"|[0-9](?:[ .-]?[0-9]){15}"
)
PERSONAL_NUMBER_RULE: Final = "must not hold a NIK or a phone number (personal data)"

_INVISIBLE: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_PLACE_PUNCTUATION: Final = str.maketrans("", "", " '.-")


def has_invisible(text: str) -> bool:
    """Whether ``text`` holds a control or invisible formatting character (Unicode Cc,
    Cf, Cs, Zl, Zp: NUL, escape codes, zero-width and direction marks, line separators).

    ``isprintable`` answers for almost every string at C speed; only a string it doubts
    (it also doubts spaces other than U+0020, which are allowed) is looked at per character.
    """
    return not text.isprintable() and any(unicodedata.category(c) in _INVISIBLE for c in text)


def is_place_name(text: str) -> bool:
    """Letters, single spaces and ' . - only, starting with a letter: a place, never a
    person's number or free text. Letters are Unicode letters (composed: NFC)."""
    return (
        text[:1].isalpha()
        and not text.endswith(" ")
        and "  " not in text
        and text.translate(_PLACE_PUNCTUATION).isalpha()
    )


# --- violations -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Violation:
    """A field that breaks a rule: its dotted path and the rule, never the value."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class ContractError(ValueError):
    """An event breaks the contract; ``violations`` says where and which rules."""

    SHOWN = 10

    def __init__(self, violations: Iterable[Violation]) -> None:
        self.violations = list(violations)
        shown = "; ".join(str(v) for v in self.violations[: self.SHOWN])
        more = len(self.violations) - self.SHOWN
        super().__init__(shown + (f"; ... and {more} more" if more > 0 else ""))


# A rule looks at one value and returns the sentence it breaks, or None.
Rule = Callable[[Any], "str | None"]

_TEXT = "must be text"
_INVISIBLE_RULE = "must not hold control or invisible formatting characters"
_REQUIRED = "is required"


def _string(most: int, valid: Callable[[str], object] | None = None, rule: str = "") -> Rule:
    """Text of 1 to ``most`` characters, without invisible ones, that ``valid`` accepts."""
    too_long = f"must be at most {most} characters"

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return _REQUIRED if value is None else _TEXT
        if not value:
            return "must not be empty"
        if len(value) > most:
            return too_long
        if has_invisible(value):
            return _INVISIBLE_RULE
        if valid is not None and not valid(value):
            return rule
        return None

    return check


def _pattern(pattern: re.Pattern[str], most: int, rule: str) -> Rule:
    return _string(most, pattern.fullmatch, rule)


def _reference(pattern: re.Pattern[str], most: int, rule: str) -> Rule:
    """A code or reference number: ``pattern``, and no person's number in it."""
    shape = _pattern(pattern, most, rule)

    def check(value: Any) -> str | None:
        broken = shape(value)
        if broken is None and PERSONAL_NUMBER.search(value):
            return PERSONAL_NUMBER_RULE
        return broken

    return check


def _one_of(values: Iterable[str], most: int, rule: str) -> Rule:
    return _string(most, frozenset(values).__contains__, rule)


def _optional(rule: Rule) -> Rule:
    def check(value: Any) -> str | None:
        return None if value is None else rule(value)

    return check


def _member(enum: type[Enum]) -> Rule:
    broken = f"must be a {enum.__name__} symbol"

    def check(value: Any) -> str | None:
        return None if isinstance(value, enum) else broken

    return check


def _whole(low: int, high: int) -> Rule:
    broken = f"must be a whole number from {low} to {high}"

    def check(value: Any) -> str | None:
        return None if type(value) is int and low <= value <= high else broken

    return check


def _flag(value: Any) -> str | None:
    return None if type(value) is bool else "must be true or false"


def _moment(value: Any) -> str | None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        return "must be a time with its zone"
    if value < EARLIEST_MOMENT:
        return "must not be before 2000-01-01"
    return None


def _day(earliest: date) -> Rule:
    too_early = f"must not be before {earliest.isoformat()}"

    def check(value: Any) -> str | None:
        if not isinstance(value, date) or isinstance(value, datetime):
            return "must be a date"
        return too_early if value < earliest else None

    return check


def _items(rule: Rule, most: int, *, unique: bool = False, what: str = "values") -> Rule:
    """A tuple of at most ``most`` values, each keeping ``rule`` (and distinct if unique)."""
    too_many = f"must hold at most {most} {what}"

    def check(value: Any) -> str | None:
        if not isinstance(value, tuple):
            return "must be a list"
        if len(value) > most:
            return too_many
        for item in value:
            broken = rule(item)
            if broken is not None:
                return f"each value {broken}"
        if unique and len(set(value)) != len(value):
            return "must not repeat a value"
        return None

    return check


# --- the rules of each kind of field ----------------------------------------------------------

_COUNTRIES = frozenset(reference.countries())
_REGENCIES = frozenset(str(code) for code in reference.regencies())
_regency_code = _one_of(_REGENCIES, 4, "must be an NTT regency's Kemendagri code")


def _regency(value: Any) -> str | None:
    """A Kemendagri regency code of NTT; a code known to be BPS is refused (the same
    numbers name other places in the BPS scheme)."""
    if isinstance(value, reference.BpsCode):
        return "must be a Kemendagri regency code, not a BPS one"
    return _regency_code(value)


_country = _one_of(_COUNTRIES, 2, "must be an ISO 3166-1 alpha-2 country code")
_post = _one_of(reference.posts(), CODE_MAX, "must be a post of the reference list")
_exit_point = _one_of(
    reference.exit_points(), CODE_MAX, "must be an exit point of the reference list"
)
_route = _one_of(reference.routes(), CODE_MAX, "must be a route of the reference list")
_agency = _one_of((a.value for a in Agency), 16, "must be an agency")
_code = _reference(CODE, CODE_MAX, "must be a code of letters, digits and . _ / -")
_group_key = _pattern(GROUP_KEY, GROUP_KEY_MAX, "must be a code of letters, digits and . _ / -")
_unit = _pattern(UNIT, UNIT_MAX, "must be a member id of lower-case letters, digits and -")
_uuid = _pattern(UUID, 36, "must be a UUID in lower-case canonical form")
_pseudonym = _pattern(PSEUDONYM, 32, "must be a pseudonym (32 lower-case hex characters)")
_case_id = _pattern(CASE_ID, 37, "must be a hub case id (nik: or weak: and 32 hex characters)")
_investigation_ref = _reference(
    INVESTIGATION_REF,
    INVESTIGATION_REF_MAX,
    "must be a report number of upper-case letters, digits, single spaces and / . -",
)
_office = _pattern(OFFICE, OFFICE_MAX, "must be an office code of lower-case letters, digits, -")
# A recruiter's contact: sealed for police (base64), and on the wire sealed again to the
# hub's intake key ('<key id>.<base64>', schemas/person_seal.py), which the hub insists on.
_WRAPPED_CONTACT = re.compile(r"[0-9a-f]{8}\.[A-Za-z0-9+/]{80,800}={0,2}")
_contact = _string(
    SEALED_MAX + 300,
    lambda v: (
        bool(SEALED.fullmatch(v) if len(v) <= SEALED_MAX else False)
        or bool(_WRAPPED_CONTACT.fullmatch(v))
    ),
    "must be a sealed contact (base64, or '<key id>.<base64>')",
)
# What the hub's alerts hold for a contact: where the vault keeps it ('vault:<event id>').
_contact_ref = _pattern(
    re.compile("vault:" + UUID.pattern), 42, "must be a contact reference (vault:<event id>)"
)
_sha256 = _pattern(SHA256, 64, "must be a SHA-256 digest (64 lower-case hex characters)")
_state = _pattern(STATE, STATE_MAX, "must be an upper-case state name")
_topic = _pattern(TOPIC, TOPIC_MAX, "must be a topic name")
_match = _one_of(("strong", "weak"), 6, "must be strong or weak")
_village = _string(VILLAGE_MAX, is_place_name, "must be a place name: letters, spaces, ' . -")
_summary = _string(SUMMARY_MAX)
_reason = _string(REASON_MAX)
_count = _whole(0, COUNT_MAX)
# PersonErased (sinergi/erasure.py): its reason codes, and who asked and confirmed.
ERASURE_REASONS = (
    "SUBJECT_REQUEST",
    "CONSENT_WITHDRAWN",
    "COURT_ORDER",
    "UNLAWFUL_PROCESSING",
    "RETENTION",
)
ADMIN_MAX = 200
_offset = _whole(0, 2**63 - 1)  # an Avro long


def _no_personal_number(value: str) -> bool:
    return PERSONAL_NUMBER.search(value) is None


# --- the tables -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Record:
    """A nested record (the envelope, a person): its type and its fields' rules, each
    with its full path."""

    path: str
    kind: type
    fields: tuple[tuple[str, str, Rule], ...]
    optional: bool = False


@dataclass(frozen=True, slots=True)
class _Relation:
    """A rule between fields, judged only when the fields it reads are each valid.

    ``blocked_by`` holds the paths it reads and the records they are in: a violation
    of any of them means the relation cannot be judged (its values may be of any type).
    """

    path: str
    reads: frozenset[str]
    check: Callable[[Any], str | None]
    blocked_by: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        records = {path.split(".", 1)[0] for path in self.reads}
        object.__setattr__(self, "blocked_by", self.reads | records)


_Field = tuple[str, str, Rule] | _Record


def _fields(prefix: str, rules: dict[str, Rule]) -> tuple[tuple[str, str, Rule], ...]:
    return tuple((name, f"{prefix}{name}", rule) for name, rule in rules.items())


_ENVELOPE = _Record(
    "envelope",
    Envelope,
    _fields(
        "envelope.",
        {
            "event_id": _uuid,
            "occurred_at": _moment,
            "recorded_at": _moment,
            "agency": _agency,
            "unit": _unit,
            "schema_version": _whole(1, SCHEMA_VERSION_MAX),
        },
    ),
)


# A person sealed to the hub (schemas/person_seal.py): an intake key id, then base64 of
# the ephemeral key, nonce and ciphertext of at most a few hundred bytes of JSON.
_sealed_person = _pattern(
    re.compile(r"[0-9a-f]{8}\.[A-Za-z0-9+/]{80,1400}={0,2}"), 1420, "must be '<key id>.<base64>'"
)


def _person(path: str, *, optional: bool = False) -> _Record:
    rules: dict[str, Rule] = {
        "nik_pseudonym": _optional(_pseudonym),
        "nik_status": _member(NikStatus),
        "weak_pseudonym": _optional(_pseudonym),
        "sex": _member(Sex),
        "birth_date": _optional(_day(EARLIEST_BIRTH)),
        "estimated_age": _optional(_whole(AGE_MIN, AGE_MAX)),
        "origin_regency": _optional(_regency),
        "sealed": _optional(_sealed_person),
        "age_at_fact": _optional(_whole(AGE_MIN, AGE_MAX)),
    }
    return _Record(path, Person, _fields(f"{path}.", rules), optional=optional)


def _table(**rules: Rule | _Record) -> tuple[_Field, ...]:
    """An event type's fields in model order: the envelope, then each field's rule."""
    fields: list[_Field] = [_ENVELOPE]
    for name, rule in rules.items():
        fields.append(rule if isinstance(rule, _Record) else (name, name, rule))
    return tuple(fields)


_amendable = _one_of(
    (cls.event_type for cls in AMENDABLE), CODE_MAX, "must be the type of an agency's record"
)


def _wire_record(value: Any) -> str | None:
    """An amendment's corrected record: wire-format bytes, bounded (decoded and checked
    on its own by the hub, like any message)."""
    if not isinstance(value, bytes):
        return "must be bytes"
    if len(value) > RECORD_BYTES_MAX:
        return f"must be at most {RECORD_BYTES_MAX} bytes"
    if len(value) < 5 or value[0] != 0:
        return "must be a record in the wire format (magic byte 0, schema id, Avro)"
    return None


_recruiter_refs = _items(_pseudonym, RECRUITERS_MAX, unique=True, what="recruiters")
_case_ids = _items(_case_id, CASE_IDS_MAX, unique=True, what="case ids")

_FIELDS: dict[type[Event], tuple[_Field, ...]] = {
    InterceptionRecorded: _table(
        person=_person("person"),
        post_id=_post,
        officer_ref=_code,
        exit_point=_exit_point,
        route=_optional(_route),
        destination_country=_optional(_country),
        intended_sector=_member(Sector),
        documents=_items(_member(DocumentIssue), DOCUMENTS_MAX, unique=True, what="documents"),
        recruiter_ref=_optional(_pseudonym),
        group_ref=_optional(_code),
        outcome=_member(InterceptionOutcome),
        recruiter_contact_sealed=_optional(_contact),
    ),
    InvestigationOpened: _table(
        investigation_ref=_investigation_ref,
        offence=_member(Offence),
        case_ids=_case_ids,
        recruiter_refs=_recruiter_refs,
        alert_id=_optional(_uuid),
    ),
    SuspectIdentified: _table(
        investigation_ref=_investigation_ref,
        recruiter_ref=_pseudonym,
        role=_member(PerpetratorRole),
        suspect_status=_member(SuspectStatus),
    ),
    CaseSentToProsecutor: _table(
        investigation_ref=_investigation_ref,
        prosecutor_office=_office,
        case_ids=_case_ids,
        recruiter_refs=_recruiter_refs,
    ),
    AlertAcknowledged: _table(
        alert_id=_uuid,
        officer_ref=_code,
        action=_member(AlertAction),
    ),
    PlacementRegistered: _table(
        person=_person("person"),
        destination_country=_country,
        sector=_member(Sector),
        placement_company=_code,
    ),
    RepatriationRecorded: _table(
        person=_person("person"),
        kind=_member(RepatriationKind),
        country=_country,
        procedural=_member(Procedural),
        cause=_optional(_member(RepatriationCause)),
        arrival_point=_optional(_exit_point),
    ),
    LtsaRegistrationRecorded: _table(
        person=_person("person"),
        ltsa_regency=_regency,
        intended_country=_optional(_country),
        intended_sector=_member(Sector),
    ),
    PreventionActivityHeld: _table(
        regency=_regency,
        village=_village,
        kind=_member(PreventionKind),
        attendance=_whole(0, ATTENDANCE_MAX),
        attendance_women=_optional(_whole(0, ATTENDANCE_MAX)),
    ),
    TipReceived: _table(
        tip_ref=_code,
        reporter_ref=_pseudonym,
        concern=_member(TipConcern),
        regency=_optional(_regency),
        exit_point=_optional(_exit_point),
        suspected_recruiter_ref=_optional(_pseudonym),
        subject=_person("subject", optional=True),
        expected_departure=_optional(_day(EARLIEST_MOMENT.date())),
    ),
    AlertRaised: _table(
        alert_id=_uuid,
        rule=_member(AlertRule),
        severity=_member(Severity),
        case_ids=_items(_case_id, HUB_LIST_MAX, what="case ids"),
        recruiter_ref=_optional(_pseudonym),
        group_ref=_optional(_group_key),
        cause_event_ids=_items(_uuid, HUB_LIST_MAX, what="event ids"),
        summary=_summary,
        triggered_at=_moment,
        sealed_contacts=_items(_contact_ref, HUB_LIST_MAX, what="contacts"),
    ),
    CaseUpdated: _table(
        case_id=_case_id,
        match=_match,
        status=_state,
        sex=_member(Sex),
        origin_regency=_optional(_regency),
        minor_when_first_seen=_flag,
        interceptions=_count,
        repatriations=_count,
        placements=_count,
        investigation=_state,
        recruiters=_items(_pseudonym, HUB_LIST_MAX, what="recruiters"),
        first_seen=_moment,
        last_seen=_moment,
        fact_count=_count,
    ),
    AlertWithdrawn: _table(
        alert_id=_uuid,
        rule=_member(AlertRule),
        severity=_member(Severity),
        case_ids=_items(_case_id, HUB_LIST_MAX, what="case ids"),
        reason=_member(WithdrawalReason),
        ended_by_event_ids=_items(_uuid, HUB_LIST_MAX, what="event ids"),
        summary=_summary,
        withdrawn_at=_moment,
    ),
    RecordCorrected: _table(
        corrects_event_id=_uuid,
        record_type=_amendable,
        record=_wire_record,
    ),
    RecordRetracted: _table(
        retracts_event_id=_uuid,
        record_type=_amendable,
        reason=_member(RetractionReason),
    ),
    PersonErased: _table(
        case_id=_case_id,
        reason_code=_one_of(ERASURE_REASONS, 24, "must be an erasure reason code"),
        request_id=_uuid,
        requested_by=_string(ADMIN_MAX, _no_personal_number, PERSONAL_NUMBER_RULE),
        confirmed_by=_string(ADMIN_MAX, _no_personal_number, PERSONAL_NUMBER_RULE),
        facts_shredded=_count,
    ),
    MessageDeadLettered: _table(
        source_topic=_topic,
        source_partition=_count,
        source_offset=_offset,
        reason=_reason,
        payload_sha256=_sha256,
        payload_bytes=_count,
        schema_id=_optional(_count),
    ),
}

# --- relations between fields -------------------------------------------------------------------


def _in_time_order(event: Event) -> str | None:
    env = event.envelope
    return "must not be after envelope.recorded_at" if env.occurred_at > env.recorded_at else None


def _own_agency(event: Event) -> str | None:
    if event.envelope.agency != event.publishing_agency().value:
        return "must be the agency that publishes this event type"
    return None


def _latest_local_day(moment: datetime) -> date:
    return (moment + LATEST_LOCAL_OFFSET).date()


def _someone(path: str) -> _Relation:
    """A person record must name someone: a NIK pseudonym or a weak one."""

    def check(event: Any) -> str | None:
        person: Person | None = getattr(event, path)
        if person is None or person.nik_pseudonym or person.weak_pseudonym or person.sealed:
            return None
        return "must name a person: sealed (or nik_pseudonym or weak_pseudonym)"

    return _Relation(path, frozenset({path}), check)


def _born_before(path: str) -> _Relation:
    """A birth date is not after the day the event occurred (wherever that day is local)."""

    def check(event: Any) -> str | None:
        person: Person | None = getattr(event, path)
        if person is None or person.birth_date is None:
            return None
        if person.birth_date > _latest_local_day(event.envelope.occurred_at):
            return "must not be after the day the event occurred"
        return None

    return _Relation(
        f"{path}.birth_date", frozenset({f"{path}.birth_date", "envelope.occurred_at"}), check
    )


def _unit_of(path: str, prefix: str) -> _Relation:
    """The unit's own place: post-eltari records eltari's interceptions, no one else's."""

    def check(event: Any) -> str | None:
        if event.envelope.unit != f"{prefix}{getattr(event, path)}":
            return f"must be the place of envelope.unit ({prefix}...)"
        return None

    return _Relation(path, frozenset({path, "envelope.unit"}), check)


def _departure_window(event: Any) -> str | None:
    departure: date | None = event.expected_departure
    if departure is None:
        return None
    occurred = event.envelope.occurred_at
    if (
        not occurred.date() - DEPARTURE_BEFORE
        <= departure
        <= _latest_local_day(occurred + DEPARTURE_AFTER)
    ):
        return "must be within a year before and two years after the tip"
    return None


def _women_among(event: Any) -> str | None:
    women: int | None = event.attendance_women
    return "must not be more than attendance" if women and women > event.attendance else None


def _seen_in_order(event: Any) -> str | None:
    return "must not be after last_seen" if event.first_seen > event.last_seen else None


def _match_of_case(event: Any) -> str | None:
    strong = event.case_id.startswith("nik:")
    return None if (event.match == "strong") is strong else "must agree with case_id's prefix"


_ENVELOPE_RELATIONS = (
    _Relation(
        "envelope.occurred_at",
        frozenset({"envelope.occurred_at", "envelope.recorded_at"}),
        _in_time_order,
    ),
    _Relation("envelope.agency", frozenset({"envelope.agency"}), _own_agency),
)

_OWN_RELATIONS: dict[type[Event], tuple[_Relation, ...]] = {
    InterceptionRecorded: (
        _someone("person"),
        _born_before("person"),
        _unit_of("post_id", "post-"),
    ),
    PlacementRegistered: (_someone("person"), _born_before("person")),
    RepatriationRecorded: (_someone("person"), _born_before("person")),
    LtsaRegistrationRecorded: (
        _someone("person"),
        _born_before("person"),
        _unit_of("ltsa_regency", "district-"),
    ),
    PreventionActivityHeld: (
        _unit_of("regency", "district-"),
        _Relation("attendance_women", frozenset({"attendance", "attendance_women"}), _women_among),
    ),
    TipReceived: (
        _someone("subject"),
        _born_before("subject"),
        _Relation(
            "expected_departure",
            frozenset({"expected_departure", "envelope.occurred_at"}),
            _departure_window,
        ),
    ),
    CaseUpdated: (
        _Relation("first_seen", frozenset({"first_seen", "last_seen"}), _seen_in_order),
        _Relation("match", frozenset({"match", "case_id"}), _match_of_case),
    ),
}
# An amendment's agency is its record's: the relation reads record_type too.
_AMENDMENT_RELATIONS = (
    _ENVELOPE_RELATIONS[0],
    _Relation("envelope.agency", frozenset({"envelope.agency", "record_type"}), _own_agency),
)
_RELATIONS: dict[type[Event], tuple[_Relation, ...]] = {
    cls: (
        _AMENDMENT_RELATIONS if cls in (RecordCorrected, RecordRetracted) else _ENVELOPE_RELATIONS
    )
    + _OWN_RELATIONS.get(cls, ())
    for cls in _FIELDS
}

# --- checking ---------------------------------------------------------------------------------

_MISSING = object()


def _check_record(record: _Record, value: Any, out: list[Violation]) -> None:
    if not isinstance(value, record.kind):
        if value is not None or not record.optional:
            out.append(Violation(record.path, _REQUIRED if value is None else "must be a record"))
        return
    for name, path, rule in record.fields:
        broken = rule(getattr(value, name, _MISSING))
        if broken is not None:
            out.append(Violation(path, broken))


def violations(event: Event) -> list[Violation]:
    """Every field of ``event`` that breaks its rule, in model order; empty when it keeps
    them all. At most one violation per field; relations between fields are judged only
    when the fields they read are valid."""
    fields = _FIELDS.get(type(event))
    if fields is None:
        return [Violation("event_type", "must be an event type of the contract")]
    out: list[Violation] = []
    for spec in fields:
        if isinstance(spec, _Record):
            _check_record(spec, getattr(event, spec.path, None), out)
        else:
            name, path, rule = spec
            broken = rule(getattr(event, name, _MISSING))
            if broken is not None:
                out.append(Violation(path, broken))
    _relate(event, _RELATIONS[type(event)], out)
    return out


def _relate(event: Event, relations: tuple[_Relation, ...], out: list[Violation]) -> None:
    broken_fields = {v.field for v in out}
    for relation in relations:
        if broken_fields and not relation.blocked_by.isdisjoint(broken_fields):
            continue
        broken = relation.check(event)
        if broken is not None:
            out.append(Violation(relation.path, broken))


def check(event: Event) -> None:
    """Raise :class:`ContractError` when ``event`` breaks any rule."""
    found = violations(event)
    if found:
        raise ContractError(found)
