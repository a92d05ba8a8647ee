"""The cryptography of the hub's contracts: event signatures and sealed fields.

- Every message is signed by its publishing member with Ed25519, over the topic, the
  key and the value (the exact Confluent-framed bytes), so nothing can be moved to
  another topic, altered or forged without the signature failing.
- A signature may also cover the moment it was made (``sinergi-signed-at``, v2): a desk
  that kept a message while the hub was unreachable signs it again before sending, so
  the hub's replay window counts from a time the member vouches for. Messages without
  that header verify as v1, exactly as before (old data in topics stays verifiable).
- A batch may be signed once (v3): the member signs the root of a Merkle tree over the
  batch's messages (each leaf is what a v2 signature covers), and each message carries
  the root's signature and its own inclusion proof (``sinergi-proof``). Every message
  stays verifiable on its own; a reader verifies each root once (one Ed25519
  verification per batch instead of per message) and checks a proof with a few hashes.
- A field only one role may read (the recruiter's phone number, readable by police)
  is sealed to that role's X25519 key: an ephemeral key, HKDF-SHA256, ChaCha20-Poly1305.
  The hub carries it without being able to read it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SIGNATURE_CONTEXT = b"sinergi-event-signature-v1"
# v2: the signature also covers when it was made (the signed-at header's digits).
SIGNATURE_CONTEXT_V2 = b"sinergi-event-signature-v2"
SEAL_CONTEXT = b"sinergi-sealed-field-v1"
_RAW = serialization.Encoding.Raw

# The Kafka headers of a signed message: the one place their names are spelled.
SIGNER_HEADER = "sinergi-signer"  # the member id, UTF-8
SIGNATURE_HEADER = "sinergi-signature"  # 64 raw bytes of Ed25519
SIGNED_AT_HEADER = "sinergi-signed-at"  # milliseconds since the epoch, ASCII digits (v2)
PROOF_HEADER = "sinergi-proof"  # v3: the leaf's index (4 bytes) and its siblings' hashes
BATCH_CONTEXT_V3 = b"sinergi-batch-signature-v3"
# A batch signs at most this many messages: a proof is at most 10 hashes (320 bytes).
MAX_BATCH = 1024
# 16 digits reach the year 318857: a longer header is not a time, whatever it holds.
_MAX_SIGNED_AT_DIGITS = 16


class CryptoError(ValueError):
    """A key, a signature or a sealed field is wrong."""


def now_ms() -> int:
    """This machine's clock in milliseconds since the epoch (what ``signed_at_ms`` counts)."""
    return time.time_ns() // 1_000_000


def signed_at_header(signed_at_ms: int) -> bytes:
    """The header value of a signed time: its canonical decimal digits."""
    if signed_at_ms < 0:
        raise ValueError("a signed time is milliseconds since the epoch, never negative")
    return str(signed_at_ms).encode("ascii")


def parse_signed_at(raw: bytes) -> int:
    """The signed time a header carries. Only the canonical form is accepted (digits, no
    sign, no leading zero, at most 16), so one time has exactly one header value."""
    digits = raw.isascii() and raw.isdigit() and 0 < len(raw) <= _MAX_SIGNED_AT_DIGITS
    if not digits or (len(raw) > 1 and raw.startswith(b"0")):
        raise CryptoError("a signed-at header must be milliseconds since the epoch in digits")
    return int(raw)


def signed_message(
    topic: str, key: bytes | None, value: bytes | None, signed_at_ms: int | None = None
) -> bytes:
    """What a signature covers: context, [the signed time,] the topic (relative name),
    the key, the value. Without a signed time this is v1, byte for byte as it always was."""
    k = key or b""
    if signed_at_ms is None:
        head: tuple[bytes, ...] = (SIGNATURE_CONTEXT, b"\0")
    else:
        head = (SIGNATURE_CONTEXT_V2, b"\0", signed_at_header(signed_at_ms), b"\0")
    return b"".join((*head, topic.encode(), b"\0", len(k).to_bytes(4, "big"), k, value or b""))


def sign(
    private: Ed25519PrivateKey,
    topic: str,
    key: bytes | None,
    value: bytes,
    signed_at_ms: int | None = None,
) -> bytes:
    return private.sign(signed_message(topic, key, value, signed_at_ms))


def verify(
    public: Ed25519PublicKey,
    signature: bytes,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    signed_at_ms: int | None = None,
) -> bool:
    """Whether ``signature`` is the member's over this message (v2 when ``signed_at_ms``
    is given: a v1 signature never passes as v2, nor the other way round)."""
    try:
        public.verify(signature, signed_message(topic, key, value, signed_at_ms))
    except InvalidSignature:
        return False
    return True


# --- v3: one signature per batch, a Merkle proof per message --------------------------------

_EMPTY = hashlib.sha256(b"\x02").digest()  # pads a tree to a power of two


def leaf_hash(topic: str, key: bytes | None, value: bytes | None, signed_at_ms: int) -> bytes:
    """A message's leaf: what its v2 signature would cover, hashed (domain-separated)."""
    return hashlib.sha256(b"\x00" + signed_message(topic, key, value, signed_at_ms)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle(leaves: list[bytes]) -> tuple[bytes, list[bytes]]:
    """The root over ``leaves`` (at most MAX_BATCH) and each leaf's proof header value:
    its index (4 bytes, big-endian) and its siblings from the bottom up."""
    if not 0 < len(leaves) <= MAX_BATCH:
        raise ValueError(f"a signed batch holds 1 to {MAX_BATCH} messages")
    size = 1 << (len(leaves) - 1).bit_length()
    level = leaves + [_EMPTY] * (size - len(leaves))
    siblings: list[list[bytes]] = [[] for _ in leaves]
    index = list(range(len(leaves)))
    while len(level) > 1:
        for n, at in enumerate(index):
            siblings[n].append(level[at ^ 1])
            index[n] = at >> 1
        level = [_node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    proofs = [i.to_bytes(4, "big") + b"".join(path) for i, path in enumerate(siblings)]
    return level[0], proofs


def root_from(leaf: bytes, proof: bytes) -> bytes:
    """The root a leaf and its proof lead to (CryptoError for a malformed proof)."""
    if len(proof) < 4 or (len(proof) - 4) % 32 or len(proof) - 4 > 32 * 10:
        raise CryptoError("a proof is a 4-byte index and at most 10 hashes of 32 bytes")
    index = int.from_bytes(proof[:4], "big")
    node = leaf
    for n in range(4, len(proof), 32):
        sibling = proof[n : n + 32]
        node = _node(sibling, node) if index & 1 else _node(node, sibling)
        index >>= 1
    if index:
        raise CryptoError("a proof's index is outside its tree")
    return node


def batch_message(root: bytes, signed_at_ms: int) -> bytes:
    """What a v3 signature covers: context, the signed time, the root."""
    return b"".join((BATCH_CONTEXT_V3, b"\0", signed_at_header(signed_at_ms), b"\0", root))


def sign_root(private: Ed25519PrivateKey, root: bytes, signed_at_ms: int) -> bytes:
    return private.sign(batch_message(root, signed_at_ms))


def verify_root(public: Ed25519PublicKey, signature: bytes, root: bytes, signed_at_ms: int) -> bool:
    try:
        public.verify(signature, batch_message(root, signed_at_ms))
    except InvalidSignature:
        return False
    return True


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise CryptoError("not base64") from None


def public_signing(private: Ed25519PrivateKey) -> str:
    return b64(private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw))


def public_sealing(private: X25519PrivateKey) -> str:
    return b64(private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw))


def signing_key_from(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(unb64(text))
    except ValueError:
        raise CryptoError("not an Ed25519 public key") from None


def sealing_key_from(text: str) -> X25519PublicKey:
    try:
        return X25519PublicKey.from_public_bytes(unb64(text))
    except ValueError:
        raise CryptoError("not an X25519 public key") from None


def _seal_key(shared: bytes, ephemeral: bytes, recipient: bytes, context: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=SEAL_CONTEXT + context
    ).derive(shared + ephemeral + recipient)


class Agreement:
    """One ephemeral X25519 key agreed with one recipient: what a sealed value carries
    (the ephemeral public key) and the secret both sides derive from it.

    Several values of one message sealed to the same recipient may share it (a person and
    the recruiter's contact they reported, both to the hub's intake key): each value's
    key is derived with its own context, so the keys are independent, and each has its
    own nonce. The sender then pays one agreement per message instead of one per value,
    and the recipient, opening them together (:class:`Opener`), one exchange."""

    __slots__ = ("_ciphers", "nonce", "public", "recipient", "shared")

    def __init__(self, recipient: X25519PublicKey, *, seed: bytes | None = None) -> None:
        if seed is None:
            ephemeral = X25519PrivateKey.generate()
            self.nonce: bytes | None = None
        else:
            derived = _derive_seed(seed)
            ephemeral = X25519PrivateKey.from_private_bytes(derived[:32])
            self.nonce = derived[32:]
        self.public = ephemeral.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
        self.recipient = recipient.public_bytes(_RAW, serialization.PublicFormat.Raw)
        self.shared = ephemeral.exchange(recipient)
        self._ciphers: dict[bytes, ChaCha20Poly1305] = {}  # by context

    def seal(self, plaintext: bytes, context: bytes, *, nonce: bytes | None = None) -> str:
        """``plaintext`` sealed with this agreement, bound to ``context``; ``nonce``: 12
        bytes never used before with this agreement and context (default: random)."""
        nonce = os.urandom(12) if nonce is None else nonce
        if len(nonce) != 12:
            raise ValueError("a nonce is 12 bytes")
        cipher = self._ciphers.get(context)
        if cipher is None:
            key = _seal_key(self.shared, self.public, self.recipient, context)
            cipher = self._ciphers[context] = ChaCha20Poly1305(key)
        return b64(self.public + nonce + cipher.encrypt(nonce, plaintext, context))


def _derive_seed(seed: bytes) -> bytes:
    """A seed's ephemeral private key (32 bytes) and nonce (12)."""
    kdf = HKDF(algorithm=hashes.SHA256(), length=44, salt=None, info=SEAL_CONTEXT + b"seed")
    return kdf.derive(seed)


def seed_nonce(seed: bytes) -> bytes:
    """The nonce a seed gives (what :func:`seal` with that seed uses): for a value sealed
    with another value's agreement, from a seed of its own."""
    return _derive_seed(seed)[32:]


def seal(
    recipient: X25519PublicKey, plaintext: bytes, context: bytes, *, seed: bytes | None = None
) -> str:
    """Encrypt ``plaintext`` so that only the holder of the recipient's key can read it.
    ``context`` (the field's name) is bound in, so a sealed value cannot be moved.

    ``seed`` (a secret of the sender's, bound to this context and plaintext) makes the
    ephemeral key and nonce derived from it instead of random: the same value sealed
    again by the same sender is the same bytes (an honest re-send stays recognisable),
    while nobody without the seed can test a guess against it."""
    agreement = Agreement(recipient, seed=seed)
    return agreement.seal(plaintext, context, nonce=agreement.nonce)


class Opener:
    """Opens sealed values with one private key, remembering the last agreement: the
    values of one message sealed with one agreement (:class:`Agreement`) cost one
    X25519 exchange together. Use one opener per message (it holds that secret)."""

    __slots__ = ("_last", "private", "recipient")

    def __init__(self, private: X25519PrivateKey) -> None:
        self.private = private
        self.recipient = private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
        self._last: tuple[bytes, bytes] | None = None  # (ephemeral public, shared)

    def open(self, sealed: str, context: bytes) -> bytes:
        raw = unb64(sealed)
        if len(raw) < 32 + 12 + 16:
            raise CryptoError("sealed value too short")
        eph_pub, nonce, body = raw[:32], raw[32:44], raw[44:]
        if self._last is not None and self._last[0] == eph_pub:
            shared = self._last[1]
        else:
            try:
                shared = self.private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
            except ValueError:  # a low-order point: no secret agreed
                raise CryptoError("sealed value does not open with this key") from None
            self._last = (eph_pub, shared)
        key = _seal_key(shared, eph_pub, self.recipient, context)
        try:
            return ChaCha20Poly1305(key).decrypt(nonce, body, context)
        except InvalidTag:
            raise CryptoError(
                "sealed value does not open with this key (not ours, or altered)"
            ) from None


def open_sealed(private: X25519PrivateKey, sealed: str, context: bytes) -> bytes:
    return Opener(private).open(sealed, context)


# --- private key files (raw 32 bytes, mode 0600) ------------------------------------------


def _write_private(path: Path, raw: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(raw)


def _read_private(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError:
        raise CryptoError(f"no private key at {path}") from None
    if len(raw) != 32:
        raise CryptoError(f"private key {path} must be 32 bytes")
    return raw


def signing_private(path: Path, *, create: bool = False) -> Ed25519PrivateKey:
    if create and not path.exists():
        key = Ed25519PrivateKey.generate()
        _write_private(path, key.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                               serialization.NoEncryption()))  # fmt: skip
        return key
    return Ed25519PrivateKey.from_private_bytes(_read_private(path))


def sealing_private(path: Path, *, create: bool = False) -> X25519PrivateKey:
    if create and not path.exists():
        key = X25519PrivateKey.generate()
        _write_private(path, key.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                               serialization.NoEncryption()))  # fmt: skip
        return key
    return X25519PrivateKey.from_private_bytes(_read_private(path))


# --- envelope encryption: a data key per person, wrapped by the hub's key ---------------
#
# Each person the hub knows has a random 256-bit data key (DEK). Their personal fields
# are kept only under it (ChaCha20-Poly1305, a random 96-bit nonce, the record's id as
# associated data), and the DEK only wrapped by the hub's key-encryption key (KEK) the
# same way. Deleting the wrapped DEK makes every copy of the fields unreadable (crypto-
# shredding: see docs/erasure.md); nothing else needs to change.

DATA_KEY_BYTES = 32
_NONCE_BYTES = 12


def data_key() -> bytes:
    """A fresh random data key (or key-encryption key)."""
    return os.urandom(DATA_KEY_BYTES)


def encrypt(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """``plaintext`` under ``key``, bound to ``context``: nonce || ciphertext || tag."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, context)


def decrypt(key: bytes, blob: bytes, context: bytes) -> bytes:
    """What :func:`encrypt` sealed; CryptoError for another key, context or an altered blob."""
    if len(blob) < _NONCE_BYTES + 16:
        raise CryptoError("encrypted value is too short")
    try:
        return ChaCha20Poly1305(key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context)
    except InvalidTag:
        raise CryptoError(
            "encrypted value does not open with this key (not ours, or altered)"
        ) from None


def secret_key(path: Path, *, create: bool = False) -> bytes:
    """A 32-byte symmetric secret kept in a file (mode 0600), made on first use if asked."""
    if create and not path.exists():
        _write_private(path, data_key())
    return _read_private(path)
