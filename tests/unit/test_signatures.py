"""Signed times (v2 signatures) and the authenticator's refusals: old v1 messages still
verify, a signed time cannot be changed or made up, and a refusal never repeats what a
message carried."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from processors.authenticity import Authenticator, AuthenticityError, signed_at
from processors.ports import OutboxMessage, RawMessage, outbox_message
from producers.publisher import Encoded
from producers.signing import Signer
from schemas import crypto
from schemas.access import Role
from schemas.crypto import SIGNATURE_HEADER, SIGNED_AT_HEADER, SIGNER_HEADER
from schemas.directory import Directory, Member

TOPIC = "posts.interception-recorded"
KEY, VALUE = b"5f06aa", b"\x00\x00\x00\x00\x07avro-bytes"
AT_MS = 1_772_323_200_123  # 2026-03-01T00:00:00.123Z


@pytest.fixture
def post_key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def authenticate(post_key):
    member = Member(
        "post-eltari", Role.POST, crypto.public_signing(post_key), "2026-01-01T00:00:00+00:00"
    )
    directory = Directory({"post-eltari": member})
    return Authenticator(lambda: directory, "t.")


def message(headers, *, topic=TOPIC, value=VALUE):
    return RawMessage("t." + topic, 0, 1, KEY, value, 0, tuple(headers))


def v1_headers(key):
    """What members signed before signed times existed (v1), still in the topics."""
    return [
        (SIGNER_HEADER, b"post-eltari"),
        (SIGNATURE_HEADER, crypto.sign(key, TOPIC, KEY, VALUE)),
    ]


def with_header(headers, name, value):
    return [(n, value if n == name else v) for n, v in headers]


# --- the signature format --------------------------------------------------------------------


def test_a_v2_signature_covers_the_signed_time_and_differs_from_v1(post_key):
    public = post_key.public_key()
    v2 = crypto.sign(post_key, TOPIC, KEY, VALUE, signed_at_ms=AT_MS)
    assert crypto.verify(public, v2, TOPIC, KEY, VALUE, signed_at_ms=AT_MS)
    assert not crypto.verify(public, v2, TOPIC, KEY, VALUE, signed_at_ms=AT_MS + 1)
    assert not crypto.verify(public, v2, TOPIC, KEY, VALUE)  # the time cannot be dropped
    v1 = crypto.sign(post_key, TOPIC, KEY, VALUE)
    assert crypto.verify(public, v1, TOPIC, KEY, VALUE)
    assert not crypto.verify(public, v1, TOPIC, KEY, VALUE, signed_at_ms=AT_MS)  # nor added


def test_the_v1_signed_message_is_byte_for_byte_what_it_always_was():
    expected = b"sinergi-event-signature-v1\0" + TOPIC.encode() + b"\0" + b"\0\0\0\x06" + KEY
    assert crypto.signed_message(TOPIC, KEY, VALUE) == expected + VALUE
    v2 = crypto.signed_message(TOPIC, KEY, VALUE, AT_MS)
    assert v2.startswith(b"sinergi-event-signature-v2\0" + str(AT_MS).encode() + b"\0")


@pytest.mark.parametrize("raw", [b"", b"12a4", b"-5", b"+5", b"0123", b" 123", b"1" * 17,
                                 "١٢٣".encode()])  # fmt: skip
def test_only_canonical_digits_are_a_signed_time(raw):
    with pytest.raises(crypto.CryptoError):
        crypto.parse_signed_at(raw)


def test_a_signed_time_reads_back_as_it_was_written():
    assert crypto.parse_signed_at(crypto.signed_at_header(AT_MS)) == AT_MS
    assert crypto.parse_signed_at(b"0") == 0


def test_a_signer_signs_with_the_time_and_says_so_in_a_header(post_key):
    headers = Signer("post-eltari", post_key).headers(TOPIC, KEY, VALUE, signed_at_ms=AT_MS)
    assert [name for name, _ in headers] == [SIGNER_HEADER, SIGNATURE_HEADER, SIGNED_AT_HEADER]
    found = dict(headers)
    assert found[SIGNED_AT_HEADER] == str(AT_MS).encode()
    assert crypto.verify(post_key.public_key(), found[SIGNATURE_HEADER], TOPIC, KEY, VALUE,
                         signed_at_ms=AT_MS)  # fmt: skip


def test_the_outbox_keeps_a_signed_message_as_it_was_encoded(post_key):
    headers = Signer("post-eltari", post_key).headers(TOPIC, KEY, VALUE, signed_at_ms=AT_MS)
    kept = outbox_message(Encoded(TOPIC, KEY, VALUE, headers))
    assert kept == OutboxMessage(TOPIC, KEY, VALUE, tuple(headers))


def test_a_signer_signs_at_the_present_time_by_default(post_key):
    before = crypto.now_ms()
    headers = dict(Signer("post-eltari", post_key).headers(TOPIC, KEY, VALUE))
    assert before <= crypto.parse_signed_at(headers[SIGNED_AT_HEADER]) <= crypto.now_ms()


# --- the authenticator -------------------------------------------------------------------------


def test_a_v1_message_without_a_signed_time_still_verifies(authenticate, post_key):
    msg = message(v1_headers(post_key))
    assert authenticate(msg).member_id == "post-eltari"
    assert signed_at(msg) is None


def test_a_v2_message_verifies_and_gives_its_signed_time(authenticate, post_key):
    msg = message(Signer("post-eltari", post_key).headers(TOPIC, KEY, VALUE, signed_at_ms=AT_MS))
    assert authenticate(msg).member_id == "post-eltari"
    assert signed_at(msg) == datetime(2026, 3, 1, 0, 0, 0, 123000, tzinfo=UTC)


def test_a_changed_signed_time_fails_the_signature(authenticate, post_key):
    signed = Signer("post-eltari", post_key).headers(TOPIC, KEY, VALUE, signed_at_ms=AT_MS)
    later = with_header(signed, SIGNED_AT_HEADER, str(AT_MS + 86_400_000).encode())
    with pytest.raises(AuthenticityError, match="signature of post-eltari does not verify"):
        authenticate(message(later))
    dropped = [(n, v) for n, v in signed if n != SIGNED_AT_HEADER]
    with pytest.raises(AuthenticityError, match="does not verify"):
        authenticate(message(dropped))
    added = [*v1_headers(post_key), (SIGNED_AT_HEADER, str(AT_MS).encode())]
    with pytest.raises(AuthenticityError, match="does not verify"):
        authenticate(message(added))


@pytest.mark.parametrize("raw", [b"soon", b"0" + str(AT_MS).encode(), b"9" * 5000])
def test_a_malformed_signed_time_is_refused_with_a_fixed_reason(authenticate, post_key, raw):
    signed = Signer("post-eltari", post_key).headers(TOPIC, KEY, VALUE, signed_at_ms=AT_MS)
    with pytest.raises(AuthenticityError) as refused:
        authenticate(message(with_header(signed, SIGNED_AT_HEADER, raw)))
    reason = str(refused.value)
    assert reason.startswith("malformed signed-at header")
    assert raw.decode()[:8] not in reason


def test_a_signature_header_twice_is_refused(authenticate, post_key):
    signed = Signer("post-eltari", post_key).headers(TOPIC, KEY, VALUE, signed_at_ms=AT_MS)
    with pytest.raises(AuthenticityError, match="more than once"):
        authenticate(message([*signed, (SIGNED_AT_HEADER, str(AT_MS + 1).encode())]))


def test_a_strangers_refusal_never_repeats_what_its_header_said(authenticate):
    stranger = "Maria Ulfa 5302014101900001 " + "x" * 100_000
    headers = [(SIGNER_HEADER, stranger.encode()), (SIGNATURE_HEADER, b"s" * 64)]
    with pytest.raises(AuthenticityError) as refused:
        authenticate(message(headers))
    reason = str(refused.value)
    assert reason == "signed by a signer who is not a member of the hub"
    assert "Maria" not in reason and "5302" not in reason


def test_a_forged_signature_names_the_member_from_our_directory_only(authenticate):
    forger = Ed25519PrivateKey.generate()
    headers = Signer("post-eltari", forger).headers(TOPIC, KEY, VALUE, signed_at_ms=AT_MS)
    with pytest.raises(AuthenticityError) as refused:
        authenticate(message(headers))
    assert str(refused.value).startswith("the signature of post-eltari does not verify")


def test_a_signature_still_binds_the_topic(authenticate, post_key):
    headers = Signer("post-eltari", post_key).headers(TOPIC, KEY, VALUE, signed_at_ms=AT_MS)
    with pytest.raises(AuthenticityError, match="does not verify"):
        authenticate(message(headers, topic="bp3mi.placement-registered"))
