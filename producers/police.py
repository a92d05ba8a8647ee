"""The police's forms (Polda NTT and the Polres): investigations, suspects, prosecutions,
acknowledgements of the hub's alerts.

Police refer to victims by the hub's case ids (``nik:...``/``weak:...``, as shown in
alerts and the ledger), never by NIK or name. Recruiters are typed raw (phone or
name) and pseudonymised with the members' shared key exactly as at the posts, so a
suspect meets the recruiter the posts recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from producers.fields import (
    FieldError,
    RowReader,
    parse_code,
    parse_enum,
    parse_list,
    refuse_personal_number,
)
from producers.formkit import (
    COMMON_COLUMNS,
    Desk,
    Form,
    envelope,
    must,
    parse_uuid,
    read_occurred,
    recruiter_parser,
)
from schemas import contract, reference
from schemas.model import (
    Agency,
    AlertAcknowledged,
    AlertAction,
    CaseSentToProsecutor,
    InvestigationOpened,
    Offence,
    PerpetratorRole,
    SuspectIdentified,
    SuspectStatus,
)

POLDA = "polda-ntt"

OFFENCE = parse_enum(
    Offence,
    {
        "perdagangan_orang": Offence.TPPO,
        "penempatan_ilegal": Offence.ILLEGAL_PLACEMENT,
        "penempatan_non_prosedural": Offence.ILLEGAL_PLACEMENT,
        "pemalsuan": Offence.DOCUMENT_FORGERY,
        "pemalsuan_dokumen": Offence.DOCUMENT_FORGERY,
        "lainnya": Offence.OTHER,
    },
)
ROLE = parse_enum(
    PerpetratorRole,
    {
        "perekrut": PerpetratorRole.RECRUITER,
        "calo": PerpetratorRole.RECRUITER,
        "pengangkut": PerpetratorRole.TRANSPORTER,
        "sopir": PerpetratorRole.TRANSPORTER,
        "perantara": PerpetratorRole.BROKER,
        "pemalsu_dokumen": PerpetratorRole.DOCUMENT_FORGER,
        "majikan": PerpetratorRole.EMPLOYER,
        "pemberi_kerja": PerpetratorRole.EMPLOYER,
        "lainnya": PerpetratorRole.OTHER,
    },
)
SUSPECT_STATUS = parse_enum(
    SuspectStatus,
    {
        "teridentifikasi": SuspectStatus.IDENTIFIED,
        "dpo": SuspectStatus.WANTED,
        "buron": SuspectStatus.WANTED,
        "ditangkap": SuspectStatus.ARRESTED,
        "ditahan": SuspectStatus.ARRESTED,
    },
)
ACTION = parse_enum(
    AlertAction,
    {
        "dicatat": AlertAction.NOTED,
        "diselidiki": AlertAction.INVESTIGATING,
        "penyelidikan": AlertAction.INVESTIGATING,
        "dirujuk": AlertAction.REFERRED,
        "dilimpahkan": AlertAction.REFERRED,
        "tidak_ada_tindakan": AlertAction.NO_ACTION,
    },
)


def police_unit(place: str) -> str:
    """``polda-ntt``, or ``polres-<Kemendagri code>`` for the Polres of an NTT regency."""
    unit = place.strip().lower()
    if unit == POLDA:
        return unit
    code = unit.removeprefix("polres-").removeprefix("polresta-")
    if unit != code and code in reference.regencies():
        return f"polres-{code}"
    raise FieldError(
        "unit", f"unknown police unit; expected {POLDA} or polres-<NTT Kemendagri code>"
    )


def parse_reference(text: str) -> str:
    """A police report number such as ``LP/B/45/I/2026/SPKT/POLDA NTT``.

    Upper-cased with single spaces, so the same report typed twice links the same facts
    (:data:`schemas.contract.INVESTIGATION_REF`).
    """
    value = " ".join(text.split()).upper()
    if len(value) > contract.INVESTIGATION_REF_MAX or not contract.INVESTIGATION_REF.fullmatch(
        value
    ):
        raise FieldError(
            "",
            "expected a report number of letters, digits, space, / . -"
            f" (at most {contract.INVESTIGATION_REF_MAX})",
        )
    refuse_personal_number(value)
    return value


def parse_office(text: str) -> str:
    """A prosecutor's office code such as ``kejati-ntt`` or ``kejari-kupang``."""
    value = text.strip().lower()
    if len(value) > contract.OFFICE_MAX or not contract.OFFICE.fullmatch(value):
        raise FieldError(
            "", "expected an office code of lower-case letters, digits and '-', e.g. kejati-ntt"
        )
    return value


def parse_case_id(text: str) -> str:
    value = text.strip().lower()
    if not contract.CASE_ID.fullmatch(value):
        raise FieldError("", "expected hub case ids: nik: or weak: and 32 hex characters")
    return value


CASE_IDS = parse_list(parse_case_id, contract.CASE_IDS_MAX)


def recruiters_parser(desk: Desk) -> Callable[[str], tuple[str, ...]]:
    """Several recruiters' phones or names, at most :data:`schemas.contract.RECRUITERS_MAX`."""
    return parse_list(recruiter_parser(desk.pseudonymiser), contract.RECRUITERS_MAX)


_REF_HELP = "police report number, e.g. LP/B/45/I/2026/SPKT/POLDA NTT"
_CASES_HELP = "hub case ids of the victims, ';'-separated (nik:... or weak:...)"
_RECRUITERS_HELP = "recruiters' phones or names, ';'-separated (pseudonymised, never sent)"


def _investigation(r: RowReader, desk: Desk, now: datetime) -> InvestigationOpened | None:
    occurred = read_occurred(r, now)
    ref = r.get("investigation_ref", parse_reference)
    offence = r.get("offence", OFFENCE)
    case_ids = r.get("case_ids", CASE_IDS) or ()
    recruiters = r.get("recruiters", recruiters_parser(desk)) or ()
    alert_id = r.get("alert_id", parse_uuid)
    if r.errors:
        return None
    return InvestigationOpened(
        envelope=envelope(InvestigationOpened, r, desk, must(occurred), now),
        investigation_ref=must(ref),
        offence=must(offence),
        case_ids=case_ids,
        recruiter_refs=recruiters,
        alert_id=alert_id,
    )


INVESTIGATION = Form(
    agency=Agency.POLICE,
    name="investigation",
    event_type=InvestigationOpened,
    columns={
        **COMMON_COLUMNS,
        "investigation_ref": _REF_HELP,
        "offence": "TPPO, ILLEGAL_PLACEMENT (penempatan_ilegal), DOCUMENT_FORGERY, OTHER",
        "case_ids": _CASES_HELP,
        "recruiters": _RECRUITERS_HELP,
        "alert_id": "the hub alert that prompted it, if any (a UUID)",
    },
    required=frozenset({"occurred_at", "investigation_ref", "offence"}),
    build=_investigation,
)


def _suspect(r: RowReader, desk: Desk, now: datetime) -> SuspectIdentified | None:
    occurred = read_occurred(r, now)
    ref = r.get("investigation_ref", parse_reference)
    recruiter = r.get("recruiter", recruiter_parser(desk.pseudonymiser))
    role = r.get("role", ROLE)
    status = r.get("suspect_status", SUSPECT_STATUS) or SuspectStatus.IDENTIFIED
    if r.errors:
        return None
    return SuspectIdentified(
        envelope=envelope(SuspectIdentified, r, desk, must(occurred), now),
        investigation_ref=must(ref),
        recruiter_ref=must(recruiter),
        role=must(role),
        suspect_status=status,
    )


SUSPECT = Form(
    agency=Agency.POLICE,
    name="suspect",
    event_type=SuspectIdentified,
    columns={
        **COMMON_COLUMNS,
        "investigation_ref": _REF_HELP,
        "recruiter": "the suspect's phone or name (pseudonymised, never sent)",
        "role": "RECRUITER (calo), TRANSPORTER, BROKER, DOCUMENT_FORGER, EMPLOYER, OTHER",
        "suspect_status": "IDENTIFIED (default), WANTED (dpo), ARRESTED (ditangkap)",
    },
    required=frozenset({"occurred_at", "investigation_ref", "recruiter", "role"}),
    build=_suspect,
)


def _prosecution(r: RowReader, desk: Desk, now: datetime) -> CaseSentToProsecutor | None:
    occurred = read_occurred(r, now)
    ref = r.get("investigation_ref", parse_reference)
    office = r.get("prosecutor_office", parse_office)
    case_ids = r.get("case_ids", CASE_IDS) or ()
    recruiters = r.get("recruiters", recruiters_parser(desk)) or ()
    if r.errors:
        return None
    return CaseSentToProsecutor(
        envelope=envelope(CaseSentToProsecutor, r, desk, must(occurred), now),
        investigation_ref=must(ref),
        prosecutor_office=must(office),
        case_ids=case_ids,
        recruiter_refs=recruiters,
    )


PROSECUTION = Form(
    agency=Agency.POLICE,
    name="prosecution",
    event_type=CaseSentToProsecutor,
    columns={
        **COMMON_COLUMNS,
        "investigation_ref": _REF_HELP,
        "prosecutor_office": "prosecutor's office code, e.g. kejati-ntt, kejari-kupang",
        "case_ids": _CASES_HELP,
        "recruiters": _RECRUITERS_HELP,
    },
    required=frozenset({"occurred_at", "investigation_ref", "prosecutor_office"}),
    build=_prosecution,
)


def _acknowledgement(r: RowReader, desk: Desk, now: datetime) -> AlertAcknowledged | None:
    occurred = read_occurred(r, now)
    alert_id = r.get("alert_id", parse_uuid)
    officer = r.get("officer", parse_code)
    action = r.get("action", ACTION) or AlertAction.NOTED
    if r.errors:
        return None
    return AlertAcknowledged(
        envelope=envelope(AlertAcknowledged, r, desk, must(occurred), now),
        alert_id=must(alert_id),
        officer_ref=must(officer),
        action=action,
    )


ACKNOWLEDGEMENT = Form(
    agency=Agency.POLICE,
    name="acknowledgement",
    event_type=AlertAcknowledged,
    columns={
        **COMMON_COLUMNS,
        "alert_id": "the hub alert acknowledged (a UUID)",
        "officer": "acknowledging officer's staff code",
        "action": "NOTED (default), INVESTIGATING (diselidiki), REFERRED (dirujuk), NO_ACTION",
    },
    required=frozenset({"occurred_at", "alert_id", "officer"}),
    build=_acknowledgement,
)
