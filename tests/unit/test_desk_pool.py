"""A file's rows recorded by spawned processes give what the command's own process gives:
the same events, sealed to the same bytes, encoded and signed as the desk's publisher
signs them, and the same problems, numbered as in the spreadsheet (sinergi/desk_pool.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from deploy.secrets import ensure_password
from producers.fields import InvalidInputError
from producers.outbox import DeskMessage
from producers.posts import RECRUITER_CONTACT
from producers.pseudonym import load_or_create_key
from schemas import avro, crypto
from schemas.access import Role
from schemas.crypto import PROOF_HEADER, SIGNATURE_HEADER, SIGNED_AT_HEADER, SIGNER_HEADER
from schemas.directory import Directory, Member, save
from schemas.model import Agency, InterceptionRecorded, RecordCorrected
from schemas.person_seal import INTAKE_ROLE, open_contact, open_person
from schemas.serde import EventDeserializer
from schemas.topics import spec_for, subject_for
from sinergi import bootstrap, desk_pool
from sinergi.config import Settings, from_env
from tests.unit.fakes import MemoryRegistry

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ROWS = 45  # five chunks of ten below: processes take chunks in turn


@dataclass
class Machine:
    settings: Settings
    intake: X25519PrivateKey  # the hub's (kept here to open what the desk sealed)
    police: X25519PrivateKey
    post: Ed25519PrivateKey  # the desk's signing key
    registry: MemoryRegistry  # the schemas the desk looked up on an earlier day


@pytest.fixture
def machine(tmp_path, monkeypatch) -> Machine:
    """A post's machine: its keys, and the directory with the hub's intake key and the
    police key (a recruiter's contact is sealed for police)."""
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    settings = from_env()
    load_or_create_key(settings.pseudonym_key_file, create=True)
    post = crypto.signing_private(settings.keys_dir / "post-eltari.signing.key", create=True)
    admin = Ed25519PrivateKey.generate()
    member = Member("post-eltari", Role.POST, crypto.public_signing(post), "2026-01-01T00:00:00")
    intake, police = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    keys = {INTAKE_ROLE: crypto.public_sealing(intake)}
    directory = Directory(sealing_keys=keys | {Role.POLICE.value: crypto.public_sealing(police)})
    save(directory.with_member(member), settings.directory_file, admin)
    settings.directory_anchor_file.write_text(crypto.public_signing(admin))
    monkeypatch.setattr(desk_pool, "CHUNK", 10)
    monkeypatch.setattr(desk_pool, "PARALLEL_FROM", 20)
    # The schema ids the desk looked up on an earlier day, kept in its outbox: the
    # command needs no registry to encode (a unit test has none).
    ensure_password(settings.kafka_credentials_dir, "post-eltari")  # its Kafka login
    registry = MemoryRegistry()
    with bootstrap.desk_outbox(settings, "post-eltari") as outbox:
        for name in (InterceptionRecorded.event_type, RecordCorrected.event_type):
            topic = settings.topic(spec_for(InterceptionRecorded.event_type).name)
            subject, text = subject_for(topic, name), avro.load(name).text
            outbox.remember_schema(subject, text, registry.register(subject, text))
    return Machine(settings, intake, police, post, registry)


def row(n: int, **changes: str) -> dict[str, str | None]:
    day = 1 + n % 28
    female = n % 2 == 1
    values: dict[str, str | None] = {
        "occurred_at": f"2026-01-{day:02d}T08:30",
        "nik": f"530201{day + 40 if female else day:02d}0190{n + 1:04d}",
        "sex": "F" if female else "M",
        "origin_regency": "5302",
        "documents": "TOURIST_VISA;NOT_REGISTERED",
        "recruiter": f"0812{n:08d}" if n % 3 == 0 else "",
        "outcome": "SENT_HOME",
        "officer": "ELT-7",
    }
    return values | changes


def record(machine: Machine, rows: list[dict[str, str | None]], workers: int, **kw: Any):
    settings = replace(machine.settings, desk_workers=workers)
    desk = bootstrap.desk(settings, Agency.POST, "eltari")
    return desk_pool.record_file(settings, desk, "interception", rows, now=NOW, **kw)


def sign(machine: Machine, rows: list[dict[str, str | None]], workers: int, **kw: Any):
    settings = replace(machine.settings, desk_workers=workers)
    desk = bootstrap.desk(settings, Agency.POST, "eltari")
    with bootstrap.desk_publisher(settings, "post-eltari") as pub:
        return desk_pool.sign_file(
            settings, desk, "interception", rows, pub, signer="post-eltari", now=NOW, **kw
        )


def verified(machine: Machine, message: DeskMessage) -> bool:
    """Whether the message's signature verifies as the hub checks a batch's (v3): its
    proof leads from its own leaf to the root the desk signed."""
    headers = dict(message.headers)
    assert headers[SIGNER_HEADER] == b"post-eltari"
    at = crypto.parse_signed_at(headers[SIGNED_AT_HEADER])
    leaf = crypto.leaf_hash(message.signed_topic, message.key, message.value, at)
    root = crypto.root_from(leaf, headers[PROOF_HEADER])
    return crypto.verify_root(machine.post.public_key(), headers[SIGNATURE_HEADER], root, at)


def opened(machine: Machine, event: InterceptionRecorded) -> tuple[Any, ...]:
    """What the hub and police read of a sealed event: the person's fields, the contact
    (sealed for police with a fresh key each time: compared as police read it), and the
    rest as it is."""

    def intake(kid: str) -> X25519PrivateKey:
        return machine.intake

    assert event.person.sealed is not None and event.person.nik_pseudonym is None
    person = open_person(event.person.sealed, event.event_id, intake)
    contact = None
    if event.recruiter_contact_sealed is not None:
        for_police = open_contact(event.recruiter_contact_sealed, event.event_id, intake)
        contact = crypto.open_sealed(machine.police, for_police, RECRUITER_CONTACT)
    return replace(event, recruiter_contact_sealed=None), person, contact


def test_processes_sign_the_same_sealed_events_as_one_process(machine):
    rows = [row(n) for n in range(ROWS)]
    done: list[int] = []
    alone = sign(machine, rows, 1)
    shared = sign(machine, rows, 2, progress=done.append)
    assert done == [10, 10, 10, 10, 5]
    assert shared.ids == alone.ids == [m.event_id for m in shared.messages]
    assert len(shared.ids) == ROWS and all(verified(machine, m) for m in shared.messages)
    decode = EventDeserializer(machine.registry)
    events = [decode(m.value).event for m in shared.messages]
    assert all(isinstance(e, InterceptionRecorded) for e in events)
    assert [m.topic for m in shared.messages] == [m.topic for m in alone.messages]
    assert [m.key for m in shared.messages] == [m.key for m in alone.messages]
    # The desk's seed: the same person seals to the same bytes, in any process.
    by_one = [decode(m.value).event for m in alone.messages]
    assert [e.person for e in events] == [e.person for e in by_one]
    assert [opened(machine, e) for e in events] == [opened(machine, e) for e in by_one]
    contacts = [opened(machine, e)[2] for e in events]
    assert contacts == [f"0812{n:08d}".encode() if n % 3 == 0 else None for n in range(ROWS)]


def test_a_row_that_corrects_a_record_is_signed_as_its_correction_in_any_process(machine):
    rows = [row(n) for n in range(ROWS)]
    first = sign(machine, rows, 1)
    fixed = [row(n, corrects=first.ids[n], outcome="SHELTERED") for n in range(ROWS)]
    for workers in (1, 2):
        signed = sign(machine, fixed, workers)
        assert signed.ids == first.ids  # the records they correct
        decode = EventDeserializer(machine.registry)
        corrections = [decode(m.value).event for m in signed.messages]
        assert all(isinstance(c, RecordCorrected) for c in corrections)
        assert [c.corrects_event_id for c in corrections] == first.ids
        assert {m.event_id for m in signed.messages}.isdisjoint(first.ids)
        assert all(verified(machine, m) for m in signed.messages)


def test_unsealed_when_nothing_is_sent(machine):
    rows = [row(n) for n in range(ROWS)]
    shared, alone = record(machine, rows, 2), record(machine, rows, 1)
    assert all(e.person.sealed is None and e.person.nik_pseudonym for e in shared)

    def police_read(event: InterceptionRecorded) -> tuple[Any, ...]:
        sealed = event.recruiter_contact_sealed
        contact = crypto.open_sealed(machine.police, sealed, RECRUITER_CONTACT) if sealed else None
        return replace(event, recruiter_contact_sealed=None), contact

    assert [police_read(e) for e in shared] == [police_read(e) for e in alone]


def test_every_problem_of_every_chunk_is_reported_with_its_spreadsheet_row(machine):
    rows = [row(n) for n in range(ROWS)]
    rows[3] = row(3, sex="X")  # row 5 of the sheet, first chunk
    rows[27] = row(27, occurred_at="yesterday")  # row 29, third chunk
    rows[44] = row(44, nik="12")  # row 46, the last chunk
    found = []
    for workers in (1, 2):
        with pytest.raises(InvalidInputError) as info:
            sign(machine, rows, workers)
        found.append([(e.row, e.field) for e in info.value.errors])
    assert found[0] == found[1] == [(5, "sex"), (29, "occurred_at"), (46, "nik")]


def test_empty_rows_are_skipped_and_keep_the_numbering(machine):
    rows = [row(n) for n in range(ROWS)]
    rows[15] = dict.fromkeys(rows[15])
    rows[16] = row(16, officer="")  # row 18: a required field
    with pytest.raises(InvalidInputError) as info:
        record(machine, rows, 2)
    assert [(e.row, e.field) for e in info.value.errors] == [(18, "officer")]
