"""The SI-SAGA hotline's form: public tips on trafficking or illegal departure.

SI-SAGA guarantees the reporter's identity. The reporter's phone or name becomes
``reporter_ref``, an HMAC with a key only the hotline holds (never the members'
shared key, which the desk refuses), so no other member can find the reporter by
hashing phone numbers; the raw contact never leaves the hotline. The suspected
recruiter and the person at risk, by contrast, are pseudonymised with the shared
key so they meet the posts' records.
"""

from __future__ import annotations

from datetime import datetime

from producers.fields import (
    FieldError,
    RowReader,
    parse_code,
    parse_date,
    parse_enum,
    parse_regency,
)
from producers.formkit import (
    COMMON_COLUMNS,
    Desk,
    Form,
    envelope,
    must,
    parse_exit_point,
    read_occurred,
    recruiter_parser,
)
from producers.person import PERSON_COLUMNS, has_person, read_person
from producers.pseudonym import (
    KEY_BYTES,
    Pseudonymiser,
    normalise_name,
    normalise_phone,
    reporter_reference,
)
from schemas.model import Agency, TipConcern, TipReceived

UNITS = ("sisaga",)

CONCERN = parse_enum(
    TipConcern,
    {
        "perekrutan": TipConcern.RECRUITMENT,
        "akan_berangkat": TipConcern.IMMINENT_DEPARTURE,
        "keberangkatan": TipConcern.IMMINENT_DEPARTURE,
        "orang_hilang": TipConcern.PERSON_MISSING,
        "hilang": TipConcern.PERSON_MISSING,
        "pemalsuan": TipConcern.DOCUMENT_FORGERY,
        "pemalsuan_dokumen": TipConcern.DOCUMENT_FORGERY,
        "lainnya": TipConcern.OTHER,
    },
)


def check_reporter_key(key: bytes, shared: Pseudonymiser) -> None:
    """The reporter key must be the hotline's own: the right size, not the shared key."""
    if len(key) != KEY_BYTES:
        raise FieldError("reporter_key", f"must be {KEY_BYTES} bytes")
    if shared.uses_key(key):
        raise FieldError(
            "reporter_key", "must be the hotline's own key, not the key the members share"
        )


def _tip(r: RowReader, desk: Desk, now: datetime) -> TipReceived | None:
    key = must(desk.reporter_key)
    occurred = read_occurred(r, now)
    tip_ref = r.get("tip_ref", parse_code)
    reporter = r.get("reporter", lambda text: _reporter_ref(key, text))
    concern = r.get("concern", CONCERN)
    regency = r.get("regency", parse_regency)
    exit_point = r.get("exit_point", parse_exit_point)
    recruiter = r.get("recruiter", recruiter_parser(desk.pseudonymiser))
    subject = None
    if has_person(r):
        subject = read_person(r, desk.pseudonymiser, occurred=occurred, today=now.date())
    departure = r.get("expected_departure", parse_date)
    if r.errors:
        return None
    return TipReceived(
        envelope=envelope(TipReceived, r, desk, must(occurred), now),
        tip_ref=must(tip_ref),
        reporter_ref=must(reporter),
        concern=must(concern),
        regency=regency,
        exit_point=exit_point,
        suspected_recruiter_ref=recruiter,
        subject=subject,
        expected_departure=departure,
    )


def _reporter_ref(key: bytes, text: str) -> str:
    if not normalise_phone(text) and not normalise_name(text):
        raise FieldError("", "expected the reporter's phone number or name")
    return reporter_reference(key, text)


TIP = Form(
    agency=Agency.HOTLINE,
    name="tip",
    event_type=TipReceived,
    columns={
        **COMMON_COLUMNS,
        "tip_ref": "the hotline's own reference for the tip",
        "reporter": "reporter's phone or name (stays at the hotline: only a keyed ref is sent)",
        "concern": "RECRUITMENT, IMMINENT_DEPARTURE (akan_berangkat), PERSON_MISSING, ...",
        "regency": "regency concerned: Kemendagri code or name",
        "exit_point": "expected exit point id, e.g. eltari",
        "recruiter": "suspected recruiter's phone or name (pseudonymised, never sent)",
        **PERSON_COLUMNS,
        "expected_departure": "when the departure is expected, YYYY-MM-DD",
    },
    required=frozenset({"occurred_at", "tip_ref", "reporter", "concern"}),
    build=_tip,
)
