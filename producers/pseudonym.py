"""Keyed pseudonyms, computed before anything leaves an agency.

HMAC-SHA256 with a key the hub's members share (generated once, kept in the
secrets folder, never on a topic): the same NIK always gives the same
pseudonym, so agencies' facts about one person meet in one case, while a NIK
cannot be recovered from it, nor guessed by hashing all possible NIKs without
the key. Different purposes use different domain tags, so a recruiter's
pseudonym can never collide with a person's.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from datetime import date
from pathlib import Path

KEY_BYTES = 32
_NOT_NAME = re.compile(r"[^a-z0-9 ]+")
_NOT_DIGIT = re.compile(r"\D")
_SPACE = re.compile(r"\s")
_TITLES = re.compile(r"\b(bapak|bpk|ibu|sdr|sdri|nona|tuan|pak|bu|mr|mrs|ms)\.?\s+", re.IGNORECASE)


class PseudonymKeyError(RuntimeError):
    """The pseudonym key is missing or unusable."""


def load_or_create_key(path: Path, *, create: bool = False) -> bytes:
    if path.exists():
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise PseudonymKeyError(f"pseudonym key {path} must be {KEY_BYTES} bytes")
        return key
    if not create:
        raise PseudonymKeyError(
            f"no pseudonym key at {path}: this machine is not set up for its desk (a local"
            " hub's `sinergi stack up` makes the keys; a desk elsewhere gets its own from"
            " the hub's administrator)"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = os.urandom(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


def normalise_name(name: str) -> str:
    """Case, accents, titles, punctuation and spacing do not change who a person is."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = _TITLES.sub("", text + " ")
    text = _NOT_NAME.sub(" ", text)
    return " ".join(text.split())


def normalise_phone(phone: str) -> str:
    """Indonesian numbers in one form: 0812..., +62812... and 62812... are the same."""
    digits = _NOT_DIGIT.sub("", phone)
    if digits.startswith("62"):
        digits = "0" + digits[2:]
    return digits


class Pseudonymiser:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise PseudonymKeyError(f"pseudonym key must be {KEY_BYTES} bytes")
        self._key = key
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def _mac(self, tag: str, value: str) -> str:
        # HMAC-SHA256 from the keyed state made once (copying it skips hashing the key's
        # pads again for every value: three MACs per imported row).
        digest = self._keyed.copy()
        digest.update(f"{tag}\x1f{value}".encode())
        return digest.hexdigest()[:32]

    def nik(self, nik_digits: str) -> str:
        """Pseudonym of a NIK (digits only, already cleaned)."""
        return self._mac("nik", nik_digits)

    def weak(self, name: str, born: date | int, origin_regency: str) -> str:
        """Weaker person pseudonym from name, birth date (or year) and origin regency."""
        born_text = born.isoformat() if isinstance(born, date) else f"{born:04d}"
        return self._mac("weak", f"{normalise_name(name)}|{born_text}|{origin_regency}")

    def recruiter(self, identifier: str) -> str:
        """Recruiter pseudonym from a phone number or a name."""
        phone = normalise_phone(identifier)
        if len(phone) >= 8 and len(phone) >= len(_SPACE.sub("", identifier)) - 3:
            return self._mac("recruiter-phone", phone)
        return self._mac("recruiter-name", normalise_name(identifier))

    def row_digest(self, content: str) -> str:
        """Keyed digest of a raw input row, for deriving its event id.

        Keyed because the row holds personal data: an unkeyed hash of a NIK plus the
        facts the event itself shows could be reversed by trying every NIK.
        """
        return self._mac("row", content)

    def uses_key(self, key: bytes) -> bool:
        """Whether this pseudonymiser was made with ``key`` (compared in constant time)."""
        return hmac.compare_digest(self._key, key)


def reporter_reference(key: bytes, contact: str) -> str:
    """Opaque reference for a hotline reporter, from their phone number or name.

    ``key`` is the hotline's own secret, never the key the members share: with the
    shared key any member could hash candidate phone numbers and find the reporter,
    whose identity SI-SAGA guarantees to protect. With the hotline's key the same
    reporter gets the same reference (repeat callers can be recognised), and only the
    hotline can link it back.
    """
    return Pseudonymiser(key)._mac("reporter", normalise_phone(contact) or normalise_name(contact))
