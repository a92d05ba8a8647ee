"""Signatures, sealed fields, the member directory, access rules, and how the pipeline
refuses what is unsigned, forged, altered, replayed or sent by the wrong member."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from processors.authenticity import Authenticator, signed_at
from processors.pipeline import Pipeline, Security
from processors.ports import RawMessage
from producers.signing import Signer
from schemas import crypto
from schemas.access import READS, Role, may_publish, reads, role_of_unit, writes
from schemas.directory import Directory, DirectoryError, Member, load, save
from schemas.serde import EventDeserializer, EventSerializer
from schemas.topics import ALL_TOPICS
from sinks.memory import MemoryLedgerStore
from tests.factories import interception, placement
from tests.unit.fakes import CountingKey, MemoryRegistry

TOPIC = "posts.interception-recorded"


def member(member_id: str, role: Role, key: Ed25519PrivateKey, revoked: str | None = None):
    return Member(member_id, role, crypto.public_signing(key), "2026-01-01T00:00:00+00:00", revoked)


# --- signatures and sealed fields ----------------------------------------------------------


def test_a_signature_covers_topic_key_and_value():
    key = Ed25519PrivateKey.generate()
    signature = crypto.sign(key, TOPIC, b"k", b"value")
    public = key.public_key()
    assert crypto.verify(public, signature, TOPIC, b"k", b"value")
    assert not crypto.verify(public, signature, TOPIC, b"k", b"valuE")  # altered
    assert not crypto.verify(public, signature, "police.x", b"k", b"value")  # moved
    assert not crypto.verify(public, signature, TOPIC, b"other", b"value")  # re-keyed
    assert not crypto.verify(Ed25519PrivateKey.generate().public_key(), signature, TOPIC,
                             b"k", b"value")  # fmt: skip


def test_a_sealed_field_opens_only_with_the_recipients_key_and_context():
    police = X25519PrivateKey.generate()
    sealed = crypto.seal(police.public_key(), b"0812 9988 7766", b"recruiter_contact")
    assert b"9988" not in crypto.unb64(sealed)
    assert crypto.open_sealed(police, sealed, b"recruiter_contact") == b"0812 9988 7766"
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(X25519PrivateKey.generate(), sealed, b"recruiter_contact")
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(police, sealed, b"another_field")
    raw = bytearray(crypto.unb64(sealed))
    raw[-1] ^= 1
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(police, crypto.b64(bytes(raw)), b"recruiter_contact")


def test_values_sealed_with_one_agreement_open_apart_and_with_one_exchange():
    hub = X25519PrivateKey.generate()
    agreement = crypto.Agreement(hub.public_key())
    person = agreement.seal(b"person", b"person-v1:e1")
    contact = agreement.seal(b"contact", b"contact-v1:e1")
    raw_person, raw_contact = crypto.unb64(person), crypto.unb64(contact)
    assert raw_person[:32] == raw_contact[:32]  # one ephemeral key
    assert raw_person[32:44] != raw_contact[32:44]  # each its own nonce
    counting = CountingKey(hub)
    opener = crypto.Opener(cast(X25519PrivateKey, counting))
    assert opener.open(person, b"person-v1:e1") == b"person"
    assert opener.open(contact, b"contact-v1:e1") == b"contact"
    assert counting.exchanges == 1  # the second value needed no exchange
    assert crypto.Opener(hub).open(contact, b"contact-v1:e1") == b"contact"  # alone, too
    with pytest.raises(crypto.CryptoError):  # each value's key is its context's own
        opener.open(contact, b"person-v1:e1")
    with pytest.raises(crypto.CryptoError):
        crypto.Opener(X25519PrivateKey.generate()).open(person, b"person-v1:e1")
    with pytest.raises(ValueError, match="12 bytes"):
        agreement.seal(b"x", b"c", nonce=b"short")


def test_a_sealed_value_with_a_low_order_ephemeral_key_is_refused_not_raised_as_a_bug():
    """X25519 with a low-order point agrees no secret (OpenSSL refuses it with a bare
    ValueError); a sealed value carrying one is simply not ours to open."""
    hub = X25519PrivateKey.generate()
    forged = crypto.b64(bytes(32) + bytes(12) + bytes(40))
    with pytest.raises(crypto.CryptoError, match="does not open"):
        crypto.open_sealed(hub, forged, b"recruiter_contact")


def test_private_keys_are_written_readable_by_their_owner_only(tmp_path):
    path = tmp_path / "keys" / "post-eltari.signing.key"
    key = crypto.signing_private(path, create=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert crypto.public_signing(crypto.signing_private(path)) == crypto.public_signing(key)


# --- the member directory ---------------------------------------------------------------------


def test_the_directory_is_trusted_only_with_the_anchors_signature(tmp_path):
    admin = Ed25519PrivateKey.generate()
    path = tmp_path / "members.json"
    post = Ed25519PrivateKey.generate()
    saved = save(Directory().with_member(member("post-eltari", Role.POST, post)), path, admin)
    loaded = load(path, admin.public_key())
    assert loaded.member("post-eltari") == saved.member("post-eltari")
    assert loaded.version == 1
    with pytest.raises(DirectoryError, match="signature does not verify"):
        load(path, Ed25519PrivateKey.generate().public_key())
    path.write_text(path.read_text().replace('"post"', '"police"'))
    with pytest.raises(DirectoryError, match="signature does not verify"):
        load(path, admin.public_key())


def test_a_revoked_member_is_active_only_before_its_revocation():
    m = member("post-eltari", Role.POST, Ed25519PrivateKey.generate(), "2026-02-01T00:00:00+00:00")
    assert m.active_at(datetime(2026, 1, 31, tzinfo=UTC))
    assert not m.active_at(datetime(2026, 2, 2, tzinfo=UTC))


# --- access: deny by default ---------------------------------------------------------------


def test_each_agency_writes_only_its_own_topics():
    for role in Role:
        for spec in writes(role):
            assert spec.name.split(".")[0] in {
                Role.POST: "posts", Role.POLICE: "police", Role.BP3MI: "bp3mi",
                Role.DISTRICT: "districts", Role.HOTLINE: "hotline", Role.PROCESSOR: "hub",
            }[role]  # fmt: skip
    assert writes(Role.OPS) == []


def test_police_read_alerts_never_raw_tips_and_operations_read_no_personal_data():
    police = {t.name for t in reads(Role.POLICE)}
    assert "hub.alerts" in police
    assert "hotline.tip-received" not in police
    assert {t.name for t in reads(Role.OPS)} == {"hub.dead-letter"}
    for role in (Role.POST, Role.BP3MI, Role.DISTRICT, Role.HOTLINE):
        assert reads(role) == []
    assert set(READS) == {Role.PROCESSOR, Role.POLICE, Role.OPS}


def test_every_event_type_has_exactly_one_role_entitled_to_publish_it():
    for spec in ALL_TOPICS:
        entitled = [role for role in Role if may_publish(role, spec.event_type)]
        assert len(entitled) == 1, spec.event_type


def test_a_member_id_names_its_role():
    assert role_of_unit("post-eltari") is Role.POST
    assert role_of_unit("hub-processor") is Role.PROCESSOR
    assert role_of_unit("police-polres-5371") is Role.POLICE
    assert role_of_unit("stranger") is None


# --- the processor refuses what it cannot trust -----------------------------------------------


class Fixture:
    def __init__(self) -> None:
        self.registry = MemoryRegistry()
        self.encode = EventSerializer(self.registry, register=True)
        self.keys = {
            "post-eltari": Ed25519PrivateKey.generate(),
            "bp3mi-ntt": Ed25519PrivateKey.generate(),
            "post-tenau": Ed25519PrivateKey.generate(),
        }
        self.directory = Directory(
            {
                "post-eltari": member("post-eltari", Role.POST, self.keys["post-eltari"]),
                "bp3mi-ntt": member("bp3mi-ntt", Role.BP3MI, self.keys["bp3mi-ntt"]),
                "post-tenau": member(
                    "post-tenau", Role.POST, self.keys["post-tenau"], "2025-01-01T00:00:00+00:00"
                ),
            }
        )
        self.store = MemoryLedgerStore()
        self.pipeline = Pipeline(
            EventDeserializer(self.registry),
            self.store,
            security=Security(
                Authenticator(lambda: self.directory, "t."), timedelta(hours=24), signed_at
            ),
        )
        self.offset = 0

    @property
    def refusals(self):
        """The reasons of the messages refused, from the audit trail."""
        return [e.reason for e, _, _ in self.store.audit if e.outcome == "dead_lettered"]

    def message(self, event, *, signer="post-eltari", topic=TOPIC, value=None, at=None,
                headers=None):  # fmt: skip
        value = value if value is not None else self.encode("t." + topic, event)
        key = event.partition_key().encode()
        if headers is None:
            headers = Signer(signer, self.keys[signer]).headers(topic, key, value)
        self.offset += 1
        stamp = (at or datetime.now(UTC)).timestamp() * 1000
        return RawMessage("t." + topic, 0, self.offset, key, value, int(stamp), tuple(headers))


@pytest.fixture
def secured():
    return Fixture()


def _now_interception(n=1, **kw):
    now = datetime.now(UTC) - timedelta(minutes=10)
    return interception(n, at=now, **kw)


def test_a_signed_event_from_its_own_member_is_stored_and_audited_with_its_signer(secured):
    result = secured.pipeline.process([secured.message(_now_interception())])
    assert result.stored == 1
    [(entry, _, _)] = secured.store.audit
    assert (entry.outcome, entry.signer) == ("stored", "post-eltari")


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda f, e: f.message(e, headers=()), "unsigned"),
        (lambda f, e: f.message(e, headers=[("sinergi-signer", b"post-eltari")]), "unsigned"),
        (
            lambda f, e: f.message(
                e, headers=[("sinergi-signer", b"intruder"), ("sinergi-signature", b"x" * 64)]
            ),
            "not a member",
        ),
        (
            lambda f, e: f.message(e, signer="bp3mi-ntt"),
            "envelope.unit is not the signer bp3mi-ntt",
        ),
    ],
)
def test_unsigned_and_stranger_signed_messages_are_refused_with_the_reason(secured, tamper,
                                                                            reason):  # fmt: skip
    secured.pipeline.process([tamper(secured, _now_interception())])
    assert secured.store.events == {}
    assert reason in secured.refusals[0]


def test_an_altered_message_fails_its_signature(secured):
    good = secured.message(_now_interception())
    altered = bytearray(good.value or b"")
    altered[-1] ^= 0x01
    secured.pipeline.process([dataclasses.replace(good, value=bytes(altered))])
    assert "does not verify" in secured.refusals[0]


def test_a_forged_signature_fails(secured):
    event = _now_interception()
    forger = Ed25519PrivateKey.generate()
    value = secured.encode("t." + TOPIC, event)
    key = event.partition_key().encode()
    headers = Signer("post-eltari", forger).headers(TOPIC, key, value)
    secured.pipeline.process([secured.message(event, value=value, headers=headers)])
    assert "does not verify" in secured.refusals[0]


def test_a_message_moved_to_another_topic_fails_its_signature(secured):
    good = secured.message(_now_interception())
    moved = dataclasses.replace(good, topic="t.bp3mi.placement-registered")
    secured.pipeline.process([moved])
    assert "does not verify" in secured.refusals[0]


def test_a_member_may_not_publish_another_agencys_event_type(secured):
    now = datetime.now(UTC) - timedelta(minutes=10)
    event = placement(1, at=now)
    event = dataclasses.replace(
        event, envelope=dataclasses.replace(event.envelope, unit="post-eltari", agency="bp3mi")
    )
    secured.pipeline.process([secured.message(event, topic="bp3mi.placement-registered")])
    assert "post-eltari (post) may not publish PlacementRegistered" in secured.refusals[0]


def test_a_revoked_member_cannot_publish(secured):
    event = _now_interception(post="tenau")
    secured.pipeline.process([secured.message(event, signer="post-tenau")])
    assert "revoked" in secured.refusals[0]


def test_a_message_arriving_long_after_it_was_recorded_is_a_replay(secured):
    event = _now_interception()
    late = datetime.now(UTC) + timedelta(days=3)
    secured.pipeline.process([secured.message(event, at=late)])
    assert secured.refusals[0].startswith("replayed: signed 72 h before")


def test_the_same_signed_message_sent_again_is_already_recorded_and_counted_once(secured):
    event = _now_interception()
    first = secured.message(event)
    secured.pipeline.process([first])
    resent = dataclasses.replace(first, offset=first.offset + 100)  # a desk retrying
    result = secured.pipeline.process([resent])
    assert (result.stored, result.already_recorded, result.dead_lettered) == (0, 1, 0)
    assert [e.outcome for e, _, _ in secured.store.audit] == ["stored", "already_recorded"]


def test_another_payload_under_a_known_event_id_is_a_replay(secured):
    event = _now_interception()
    secured.pipeline.process([secured.message(event)])
    other = dataclasses.replace(event, officer_ref="ELT-99")  # same id, different content
    result = secured.pipeline.process([secured.message(other)])
    assert (result.stored, result.dead_lettered) == (0, 1)
    assert "replayed: the event id is already in the ledger" in secured.refusals[0]
    assert [e.outcome for e, _, _ in secured.store.audit] == ["stored", "dead_lettered"]
