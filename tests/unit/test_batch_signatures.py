"""Batch signatures (v3): one Ed25519 signature over a Merkle root, a proof per message;
every message verifiable alone, each root verified once."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from processors.authenticity import Authenticator, AuthenticityError
from processors.ports import RawMessage
from producers.signing import Signer
from schemas import crypto
from schemas.access import Role
from schemas.crypto import PROOF_HEADER
from schemas.directory import Directory, Member

TOPIC = "posts.interception-recorded"
AT = 1_767_000_000_000


def batch(n: int, key: Ed25519PrivateKey) -> list[RawMessage]:
    items = [(TOPIC, f"k{i}".encode(), f"value {i}".encode()) for i in range(n)]
    headers = Signer("post-eltari", key).batch_headers(items, signed_at_ms=AT)
    return [
        RawMessage("t." + topic, 0, i, k, v, AT, tuple(h))
        for i, ((topic, k, v), h) in enumerate(zip(items, headers, strict=True))
    ]


@pytest.fixture
def keys():
    key = Ed25519PrivateKey.generate()
    member = Member(
        "post-eltari", Role.POST, crypto.public_signing(key), "2020-01-01T00:00:00+00:00"
    )
    return key, Directory({"post-eltari": member})


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 33, 1024])
def test_every_message_of_a_batch_verifies_alone(keys, size):
    key, directory = keys
    check = Authenticator(lambda: directory, "t.")
    messages = batch(size, key)
    for msg in reversed(messages):  # any order, any one alone
        assert check(msg).member_id == "post-eltari"


def test_a_root_is_verified_once_for_its_whole_batch(keys, monkeypatch):
    key, directory = keys
    calls = []
    real = crypto.verify_root
    monkeypatch.setattr(crypto, "verify_root", lambda *a: calls.append(1) or real(*a))
    check = Authenticator(lambda: directory, "t.")
    for msg in batch(100, key):
        check(msg)
    assert len(calls) == 1


def test_an_altered_moved_or_misproved_message_fails(keys):
    key, directory = keys
    check = Authenticator(lambda: directory, "t.")
    one, two = batch(2, key)
    altered = dataclasses.replace(one, value=b"value 9")
    moved = dataclasses.replace(one, topic="t.bp3mi.placement-registered")
    other_proof = dataclasses.replace(
        one, headers=tuple(h for h in one.headers if h[0] != PROOF_HEADER)
        + tuple(h for h in two.headers if h[0] == PROOF_HEADER),
    )  # fmt: skip
    for bad in (altered, moved, other_proof):
        with pytest.raises(AuthenticityError, match="does not verify"):
            check(bad)


def test_a_forged_root_signature_fails_even_with_a_valid_proof(keys):
    key, directory = keys
    forger = Ed25519PrivateKey.generate()
    [msg] = batch(1, forger)
    with pytest.raises(AuthenticityError, match="does not verify"):
        Authenticator(lambda: directory, "t.")(msg)
    # And a message signed by the right key still passes after the forgery was seen.
    [good] = batch(1, key)
    assert Authenticator(lambda: directory, "t.")(good).member_id == "post-eltari"


def test_a_malformed_proof_is_refused_with_a_fixed_reason(keys):
    key, directory = keys
    [msg] = batch(1, key)
    broken = dataclasses.replace(
        msg, headers=tuple((n, b"\x00" * 5 if n == PROOF_HEADER else v) for n, v in msg.headers)
    )
    with pytest.raises(AuthenticityError, match="malformed proof header"):
        Authenticator(lambda: directory, "t.")(broken)


def test_a_proof_index_outside_its_tree_is_refused():
    leaf = crypto.leaf_hash(TOPIC, b"k", b"v", AT)
    root, [proof] = crypto.merkle([leaf])
    assert crypto.root_from(leaf, proof) == root
    with pytest.raises(crypto.CryptoError):
        crypto.root_from(leaf, (1).to_bytes(4, "big") + proof[4:])
