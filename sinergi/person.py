"""A data subject's right of access (UU 27/2022): everything the hub holds about one
person, as one JSON document (``sinergi person export NIK``).

The NIK is pseudonymised here, with the members' shared key, exactly as the desks do
(:mod:`producers.pseudonym`), and the pseudonym looked up in the hub's vault
(:mod:`processors.vault`), which names the person by a random subject id: their case id
(``nik:<subject id>``) is what the ledger holds, what is read, and what the export's own
audit (``person_exports``, migration 0012) names. :func:`subject_of_nik` is the one way
from a NIK to a case (the analyst's ``ledger case NIK`` uses it too). A person known only
by name (a weak case, found in the browser) is exported by case id instead. The raw NIK
is in the document the administrator asked for, and nowhere else.

The vault's own account is part of the document: the personal fields each fact carried
(the pseudonyms, a birth date), opened with the person's data key; once the person is
erased, when, under which request and by whom, and that those fields are unreadable.

What is read, as the administrator (``sinergi_owner``), in one snapshot: every stored
event naming the person (their own records, police files naming their case, the
corrections and retractions of those records, the acknowledgements of alerts about
them), their case (its state and timeline), the alerts about the case with their status
(``v_alert_status``), alerts still held for their grace period, the recruiters, groups
and police files their facts link them to, the versions of their amended records
(``fact_versions``), the audit trail's entries of those events, who opened their sealed
contacts or acted on their alerts in the browser (``web_audit``), and the earlier exports
of their data. The export is recorded in the same transaction, before it is written.

Other people's data stays out (:func:`redact`): other cases named in the same police file
or alert are counted, not named; a record corrected to be about someone else shows that
person as withheld; a hotline reporter's reference is withheld (SI-SAGA guarantees the
reporter's protection). Contacts sealed for police stay sealed: the hub cannot read them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from processors.vault import Disclosure, Subject, Vault, VaultError
from producers.pseudonym import Pseudonymiser
from schemas import contract
from schemas.nik import NIK_LENGTH, normalise_nik
from sinks.erasure import Confirmation, ErasureStore

FORMAT = "sinergi.person-export/1"
WITHHELD_PERSON = "withheld: another person"
WITHHELD_REPORTER = "withheld: the hotline protects the reporter's identity (SI-SAGA)"
FREE_TEXT_MAX = 200

NOTES: Sequence[Mapping[str, str]] = (
    {
        "id": "NIK diubah menjadi pseudonim di mesin ini dengan kunci bersama para anggota, lalu"
        " dicari di brankas hub, yang menamai orang itu dengan id acak (case_id); buku kasus"
        " hanya menyimpan id itu, tidak pernah NIK atau pseudonimnya.",
        "en": "The NIK was turned into the members' pseudonym on this machine with their"
        " shared key, then looked up in the hub's vault, which names the person by a random"
        " id (case_id); the ledger stores only that id, never the NIK or its pseudonym.",
    },
    {
        "id": "Brankas (vault) menyimpan data pribadi setiap fakta (pseudonim, tanggal lahir)"
        " hanya di bawah kunci data orang itu sendiri; ekspor ini membukanya.",
        "en": "The vault keeps each fact's personal fields (pseudonyms, birth date) only under"
        " the person's own data key; this export opens them.",
    },
    {
        "id": "Kontak perekrut yang dilaporkan orang itu disimpan brankas di bawah kuncinya,"
        " tetap tersegel untuk polisi (recruiter_contact_sealed): hub tidak dapat membacanya,"
        " hanya polisi yang dapat membukanya. Di catatan dan peringatan hanya ada rujukan ke"
        " brankas (vault:<event id>), yang tidak membuka apa pun setelah penghapusan.",
        "en": "Recruiter contacts the person reported are kept by the vault under their key,"
        " still sealed for police (recruiter_contact_sealed): the hub cannot read them; only"
        " police can open them. Records and alerts hold only a reference to the vault"
        " (vault:<event id>), which opens to nothing after an erasure.",
    },
    {
        "id": "Data orang lain tidak disertakan: kasus lain dalam berkas polisi atau peringatan"
        " yang sama hanya dihitung (case_ids_withheld), catatan yang dikoreksi menjadi tentang"
        " orang lain menampilkan orang itu sebagai withheld, dan referensi pelapor hotline"
        " dirahasiakan (SI-SAGA melindungi identitas pelapor).",
        "en": "Other people's data is left out: other cases in the same police file or alert"
        " are only counted (case_ids_withheld), a record corrected to be about someone else"
        " shows that person as withheld, and a hotline reporter's reference is withheld"
        " (SI-SAGA protects the reporter's identity).",
    },
    {
        "id": "Catatan tanpa NIK (dicocokkan dengan nama, tanggal lahir dan asal: kasus weak)"
        " tidak ditemukan melalui NIK; pesan yang ditolak hub (dead letter) hanya disimpan"
        " sebagai hash, tidak pernah isinya.",
        "en": "Records made without a NIK (matched by name, birth date and origin: weak cases)"
        " are not found by a NIK; messages the hub refused (dead letters) are kept only as a"
        " hash, never their content.",
    },
    {
        "id": "Sebelum diserahkan, pejabat pelindungan data pribadi memutuskan apa yang boleh"
        " dikecualikan menurut UU 27/2022 Pasal 15 (mis. untuk penegakan hukum: berkas polisi).",
        "en": "Before it is handed over, the data protection officer decides what UU 27/2022"
        " Pasal 15 lets the hub withhold (e.g. for law enforcement: police files).",
    },
)


ERASED_NOTE = {
    "id": "Orang ini telah dihapus (crypto-shredding): kunci datanya dimusnahkan, sehingga data"
    " pribadi setiap fakta (fields: null) tidak dapat dibaca lagi oleh siapa pun; fakta-faktanya"
    " tetap dihitung di bawah case_id.",
    "en": "This person was erased (crypto-shredding): their data key was destroyed, so the"
    " personal fields of every fact (fields: null) can no longer be read by anyone; their"
    " facts stay, counted under the case_id.",
}


class PersonExportError(RuntimeError):
    """The export cannot be made as asked: one sentence, never echoing a NIK."""


class NothingHeldError(PersonExportError):
    """No person in the vault for what was given."""


def nik_digits(nik: str) -> str:
    """The 16 digits of a NIK as typed (spaces, dots, dashes between them); any 16 digits:
    a NIK that fails validation is still recorded, as evidence of a forged document."""
    digits = normalise_nik(nik.strip())
    if len(digits) != NIK_LENGTH or not digits.isdigit():
        raise PersonExportError(f"a NIK is {NIK_LENGTH} digits (spaces, dots, dashes allowed)")
    return digits


def subject_of_nik(names: Pseudonymiser, vault: Vault, nik: str) -> Subject | None:
    """The person a NIK names, as the hub knows them: the NIK pseudonymised as the desks
    do it, the pseudonym looked up in the vault. None when the vault holds no one for it:
    never recorded, or erased (an erased person is found by no NIK, ever)."""
    return vault.find("nik", names.nik(nik_digits(nik)))


def subject_of_case(case_id: str) -> Subject:
    """A case id as typed (``nik:``/``weak:`` and 32 hex digits); never echoed back."""
    try:
        return Subject.of_case(case_id.strip().lower())
    except VaultError:
        raise PersonExportError(
            "a case id is nik: or weak: and 32 hex digits (as the ledger shows it)"
        ) from None


def checked_text(what: str, text: str | None) -> str | None:
    """A free-text field of the export's own audit (who, the request's reference): short,
    printable, and never a NIK."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    if contract.PERSONAL_NUMBER.search(value):
        raise PersonExportError(f"{what} looks like a NIK or a phone number: it is never recorded")
    if len(value) > FREE_TEXT_MAX or not value.isprintable():
        raise PersonExportError(f"{what}: at most {FREE_TEXT_MAX} printable characters")
    return value


# --- reading ---------------------------------------------------------------------------------


@dataclass
class Holdings:
    """What the hub holds about one case, as read (rows as dicts)."""

    case: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    alerts_held: list[dict[str, Any]] = field(default_factory=list)
    fact_versions: list[dict[str, Any]] = field(default_factory=list)
    recruiters: list[str] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    investigations: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    web_audit: list[dict[str, Any]] = field(default_factory=list)
    exports: list[dict[str, Any]] = field(default_factory=list)


# Events that name a case in a list rather than as their person.
_LISTING = ("InvestigationOpened", "CaseSentToProsecutor", "RecordCorrected")
_AMENDING = ("RecordCorrected", "RecordRetracted")

_EVENTS = f"""
WITH own AS (
    SELECT event_id FROM events WHERE case_id = %(c)s
    UNION
    SELECT event_id FROM events
    WHERE event_type IN {_LISTING}
      AND (payload -> 'case_ids' ? %(c)s OR payload -> 'record' -> 'case_ids' ? %(c)s)
), amending AS (
    SELECT event_id FROM events
    WHERE event_type IN {_AMENDING}
      AND coalesce(payload ->> 'corrects_event_id', payload ->> 'retracts_event_id')
          IN (SELECT event_id::text FROM own)
), acknowledging AS (
    SELECT event_id FROM events
    WHERE event_type = 'AlertAcknowledged'
      AND payload ->> 'alert_id' IN (SELECT alert_id::text FROM alerts WHERE %(c)s = ANY(case_ids))
)
SELECT e.event_id::text AS event_id, e.event_type, e.occurred_at, e.recorded_at,
       e.ingested_at, e.agency, e.unit, e.topic, e.kafka_partition, e.kafka_offset,
       e.schema_id, e.content_sha256, e.payload,
       CASE WHEN e.event_id IN (SELECT event_id FROM own) THEN 'about_the_person'
            WHEN e.event_id IN (SELECT event_id FROM amending) THEN 'amends_a_record_about_them'
            ELSE 'acknowledges_an_alert_about_them' END AS why
FROM events e
WHERE e.event_id IN (SELECT event_id FROM own UNION SELECT event_id FROM amending
                     UNION SELECT event_id FROM acknowledging)
ORDER BY e.occurred_at, e.event_id
"""  # noqa: S608 - constant event type names

_ALERTS = """
SELECT a.alert_id::text AS alert_id, a.rule, a.severity, s.status, a.summary, a.case_ids,
       a.recruiter_ref, a.group_ref, a.cause_event_ids, a.sealed_contacts, a.triggered_at,
       a.raised_at, a.withdrawn_at, k.acknowledged_at, k.unit AS acknowledged_by,
       k.officer_ref AS acknowledged_by_officer, k.action AS acknowledged_action,
       k.event_id::text AS acknowledgement_event_id
FROM alerts a
JOIN v_alert_status s USING (alert_id)
LEFT JOIN alert_acks k USING (alert_id)
WHERE %(c)s = ANY(a.case_ids)
ORDER BY a.triggered_at, a.alert_id
"""


def read(conn: psycopg.Connection[dict[str, Any]], case_id: str) -> Holdings:
    """Everything about ``case_id``, read on ``conn`` (one snapshot: see :func:`export`)."""
    c = {"c": case_id}
    found = Holdings()
    found.case = conn.execute(
        "SELECT case_id, match_kind, status, sex, origin_regency, minor, interceptions,"
        " registrations, placements, repatriations, tips, investigation, first_seen,"
        " last_seen, updated_at, state FROM cases WHERE case_id = %(c)s",
        c,
    ).fetchone()
    found.events = conn.execute(_EVENTS.encode(), c).fetchall()
    ids = [e["event_id"] for e in found.events]
    found.alerts = conn.execute(_ALERTS.encode(), c).fetchall()
    alert_ids = [a["alert_id"] for a in found.alerts]
    found.alerts_held = conn.execute(
        "SELECT alert_id::text AS alert_id, due_at, alert FROM alerts_held"
        " WHERE source = 'case:' || %(c)s OR alert -> 'case_ids' ? %(c)s ORDER BY due_at",
        c,
    ).fetchall()
    found.fact_versions = conn.execute(
        "SELECT root_event_id::text AS root_event_id, record_type, record_unit,"
        " head_event_id::text AS head_event_id, head_recorded_at,"
        " retracted_by::text AS retracted_by, refs, cells, updated_at FROM fact_versions"
        " WHERE root_event_id::text = ANY(%(ids)s) OR 'case:' || %(c)s = ANY(refs)"
        " ORDER BY updated_at, root_event_id",
        c | {"ids": ids},
    ).fetchall()
    facts = (found.case or {}).get("state", {}).get("facts", [])
    found.recruiters = sorted(
        {
            r["recruiter_ref"]
            for r in conn.execute(
                "SELECT recruiter_ref FROM recruiter_members WHERE kind = 'case' AND member = %s",
                (case_id,),
            )
        }
        | {ref for f in facts for ref in _recruiters_in(f.get("detail", {}))}
    )
    group_keys = sorted(
        {f"{d['post']}/{d['group']}" for d in (f.get("detail", {}) for f in facts)
         if d.get("post") and d.get("group")}
    )  # fmt: skip
    found.groups = conn.execute(
        "SELECT group_key, people, first_seen, last_seen FROM groups"
        " WHERE group_key = ANY(%s) ORDER BY group_key",
        (group_keys,),
    ).fetchall()
    files = sorted({str(e["payload"]["investigation_ref"]) for e in found.events
                    if isinstance(e["payload"].get("investigation_ref"), str)})  # fmt: skip
    found.investigations = conn.execute(
        "SELECT investigation_ref, stage, offence, people, opened_at, prosecuted_at,"
        " prosecutor_office FROM investigations WHERE investigation_ref = ANY(%s)"
        " ORDER BY investigation_ref",
        (files,),
    ).fetchall()
    found.audit = conn.execute(
        "SELECT seq, logged_at, topic, kafka_partition, kafka_offset, outcome, event_id,"
        " event_type, signer, recorded_at, reason, payload_sha256, chain, hash"
        " FROM audit_log WHERE event_id = ANY(%s) ORDER BY seq",
        (ids,),
    ).fetchall()
    found.web_audit = conn.execute(
        "SELECT seq, at, username, unit, officer_code, action, target, outcome, detail"
        " FROM web_audit WHERE target = %s OR target = ANY(%s) ORDER BY seq",
        (case_id, [*ids, *alert_ids]),
    ).fetchall()
    found.exports = conn.execute(
        "SELECT seq, exported_at, exported_by, db_role, request_ref, events, alerts"
        " FROM person_exports WHERE case_id = %s ORDER BY seq",
        (case_id,),
    ).fetchall()
    return found


def _recruiters_in(detail: Mapping[str, Any]) -> set[str]:
    one = detail.get("recruiter")
    many = detail.get("recruiters") or []
    return {r for r in [one, *many] if isinstance(r, str) and r}


# --- the document ----------------------------------------------------------------------------


def redact(value: Any, subject: str, names: Collection[str] = ()) -> Any:
    """``value`` without other people's data: other case ids counted, not named; another
    person's attributes withheld; a hotline reporter's reference withheld. ``names``: the
    subject's own pseudonyms as ``nik:<p>``/``weak:<p>`` (a record of before the vault,
    sent in clear, names them so)."""
    if isinstance(value, list):
        return [redact(item, subject, names) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "case_ids" and isinstance(item, list):
            own = [c for c in item if c == subject]
            out[key] = own
            if len(item) > len(own):
                out["case_ids_withheld"] = len(item) - len(own)
        elif key == "refs" and isinstance(item, list):
            own = [r for r in item if not (isinstance(r, str) and r.startswith("case:"))
                   or r == f"case:{subject}"]  # fmt: skip
            out[key] = own
            if len(item) > len(own):
                out["case_refs_withheld"] = len(item) - len(own)
        elif key == "reporter_ref" and item:
            out[key] = WITHHELD_REPORTER
        elif key in ("person", "subject") and _someone_else(item, {subject, *names}):
            out[key] = WITHHELD_PERSON
        else:
            out[key] = redact(item, subject, names)
    return out


def _someone_else(person: Any, own: AbstractSet[str]) -> bool:
    """A person record (with its pseudonyms) that is not the subject's."""
    if not isinstance(person, dict):
        return False
    named = [
        f"{kind}:{person[f'{kind}_pseudonym']}"
        for kind in ("nik", "weak")
        if person.get(f"{kind}_pseudonym")
    ]
    return bool(named) and own.isdisjoint(named)


def withhold_people(value: Any) -> Any:
    """``value`` with every person record in it withheld: a record the vault says is about
    someone else (a record corrected to name another person travels sealed, so only the
    vault can tell)."""
    if isinstance(value, list):
        return [withhold_people(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: WITHHELD_PERSON
        if key in ("person", "subject") and isinstance(item, dict)
        else withhold_people(item)
        for key, item in value.items()
    }


def own_names(disclosure: Disclosure | None) -> set[str]:
    """The pseudonyms the vault's facts about the subject carried, as ``kind:pseudonym``."""
    found: set[str] = set()
    for fact in disclosure.facts if disclosure else ():
        for kind in ("nik", "weak"):
            value = (fact.fields or {}).get(f"{kind}_pseudonym")
            if isinstance(value, str) and value:
                found.add(f"{kind}:{value}")
    return found


def vault_account(disclosure: Disclosure, erasure: Confirmation | None) -> dict[str, Any]:
    """What the vault holds about the subject: each fact's personal fields, opened; once
    erased, the erasure (when, which request, who) and fields that are null."""
    account: dict[str, Any] = {
        "case_id": disclosure.subject.case_id,
        "known_since": disclosure.created_at,
        "erased": disclosure.erased_at is not None,
        "facts": [
            {"carrier_id": f.carrier_id, "event_type": f.event_type,
             "occurred_at": f.occurred_at, "fields": f.fields,
             **({"recruiter_contact_sealed": f.contact} if f.contact else {})}
            for f in disclosure.facts
        ],
    }  # fmt: skip
    if disclosure.erased_at is not None:
        account["erasure"] = {
            "erased_at": disclosure.erased_at,
            "request_id": disclosure.erasure_ref,
            "fields_readable": False,
            **(
                {
                    "reason_code": erasure.request.reason_code,
                    "requested_by": erasure.request.requested_by,
                    "requested_at": erasure.request.requested_at,
                    "confirmed_by": erasure.confirmed_by,
                    "confirmed_at": erasure.confirmed_at,
                    "facts_shredded": erasure.facts_shredded,
                    "announced_as": erasure.event_id,
                }
                if erasure is not None
                else {}
            ),
        }
        account["note"] = ERASED_NOTE
    return account


def sealed_values(value: Any) -> int:
    """How many sealed values (``*_sealed`` fields, ``sealed_contacts``) ``value`` holds."""
    if isinstance(value, list):
        return sum(sealed_values(item) for item in value)
    if not isinstance(value, dict):
        return 0
    count = 0
    for key, item in value.items():
        if key.endswith("_sealed") and item:
            count += 1
        elif key == "sealed_contacts" and isinstance(item, list):
            # A reference to the vault (vault:<event id>) holds nothing sealed itself.
            count += len([c for c in item if c and not str(c).startswith("vault:")])
        else:
            count += sealed_values(item)
    return count


def document(
    nik: str | None,
    case_id: str,
    found: Holdings,
    *,
    exported_at: datetime,
    exported_by: str,
    request_ref: str | None,
    export_seq: int,
    vault: Mapping[str, Any] | None = None,
    names: Collection[str] = (),
    others: Collection[str] = (),
) -> dict[str, Any]:
    """The export: what ``found`` holds about ``case_id``, others' data left out.
    ``vault``: the vault's account (:func:`vault_account`); ``names``: the subject's own
    pseudonyms (:func:`own_names`); ``others``: ids of events the vault says are about
    someone else (their person withheld)."""
    facts = (found.case or {}).get("state", {}).get("facts", [])
    linked = {
        "recruiters": [
            {"recruiter_ref": ref,
             "in_facts": [f["event_id"] for f in facts
                          if ref in _recruiters_in(f.get("detail", {}))]}
            for ref in found.recruiters
        ],
        "groups": found.groups,
        "investigations": found.investigations,
    }  # fmt: skip
    events = [
        {**e, "payload": withhold_people(e["payload"])} if e.get("event_id") in others else e
        for e in found.events
    ]
    body = {
        "case": found.case,
        "events": events,
        "alerts": found.alerts,
        "alerts_held": found.alerts_held,
        "fact_versions": found.fact_versions,
        "links": linked,
        "audit": found.audit,
        "access": {"web_audit": found.web_audit, "earlier_exports": found.exports},
    }
    redacted = redact(body, case_id, names)
    erased = bool(vault and vault.get("erased"))
    return {
        "format": FORMAT,
        "exported_at": exported_at,
        "export_seq": export_seq,
        "exported_by": exported_by,
        "request_ref": request_ref,
        "subject": {
            "nik": nik,
            "case_id": case_id,
            "held": found.case is not None,
            "erased": erased,
        },
        "counts": {
            "events": len(found.events),
            "alerts": len(found.alerts),
            "alerts_held": len(found.alerts_held),
            "fact_versions": len(found.fact_versions),
            "audit_entries": len(found.audit),
            "sealed_values": sealed_values(redacted),
            "vault_facts": len(vault["facts"]) if vault else 0,
        },
        "notes": [*NOTES, *([ERASED_NOTE] if erased else [])],
        "vault": vault,
        **redacted,
    }


@dataclass(frozen=True)
class Export:
    document: dict[str, Any]
    case_id: str
    seq: int
    events: int
    alerts: int
    erased: bool = False


def export(
    conninfo: str,
    names: Pseudonymiser,
    vault: Vault,
    *,
    nik: str | None = None,
    case_id: str | None = None,
    exported_by: str,
    request_ref: str | None,
) -> Export:
    """Everything about one person, named by NIK (looked up in the vault) or by case id:
    the vault's account, then the ledger read in one snapshot with the export recorded
    (who, when, the case id, the request) in the same transaction; the document comes
    back only once that record is committed."""
    by = checked_text("--by", exported_by)
    if by is None:
        raise PersonExportError("--by: who exports (a name or staff code) is required")
    ref = checked_text("--request", request_ref)
    if case_id is not None:
        subject: Subject | None = subject_of_case(case_id)
    else:
        subject = subject_of_nik(names, vault, nik or "")
    if subject is None:
        raise NothingHeldError(
            "the hub holds nothing about this NIK: no person in its vault (never recorded,"
            " or erased; an erased person is exported by case id)"
        )
    try:
        told = vault.disclose(subject)
    except VaultError:
        raise NothingHeldError(f"the hub's vault holds no person {subject.case_id}") from None
    erasure = ErasureStore(conninfo).erasure_of(subject) if told.erased_at else None
    with psycopg.connect(conninfo, row_factory=dict_row) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            found = read(conn, subject.case_id)
            row = conn.execute(
                "INSERT INTO person_exports (case_id, exported_by, request_ref, events, alerts)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING seq, exported_at",
                (subject.case_id, by, ref, len(found.events), len(found.alerts)),
            ).fetchone()
    assert row is not None
    carried = vault.carried([e["event_id"] for e in found.events])
    others = {event_id for event_id, s in carried.items() if s != subject}
    doc = document(nik, subject.case_id, found, exported_at=row["exported_at"], exported_by=by,
                   request_ref=ref, export_seq=int(row["seq"]),
                   vault=vault_account(told, erasure), names=own_names(told),
                   others=others)  # fmt: skip
    return Export(doc, subject.case_id, int(row["seq"]), len(found.events), len(found.alerts),
                  told.erased_at is not None)  # fmt: skip
