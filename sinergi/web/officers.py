"""Officers of the browser application: who they are, their unit, and logging in.

Kept in PostgreSQL (migration 0009, role ``sinergi_web``) rather than a file: the
failure counter behind the lockout must be updated atomically whichever process
(web app, command line) touches it, and the audit of what officers did sits beside
the hub's own audit for the data protection officer. Passwords are hashed with
argon2id (memory-hard; argon2-cffi's defaults: 64 MiB, 3 passes); a password is
never stored, logged or printed.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from psycopg.rows import dict_row

from producers.fields import FieldError, parse_code
from sinergi.web.access import UnitError, UnitRole, unit_role

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
PASSWORD_MIN = 12
# A browser an officer logged in from (its cookie: DEVICE_COOKIE) keeps its own failure
# count and lockout, so that failures from elsewhere cannot keep the officer out of it.
DEVICE_COOKIE = "sinergi_device"
DEVICE_TRUSTED_FOR = timedelta(days=90)  # after its last successful log-in
DEVICES_KEPT = 10  # per officer, those used last


class OfficerError(ValueError):
    """An officer cannot be added, found or changed; one sentence."""


@dataclass(frozen=True)
class Officer:
    username: str
    unit: str
    officer_code: str
    created_at: datetime
    disabled_at: datetime | None = None
    failed_logins: int = 0
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    password_hash: str = ""

    @property
    def role(self) -> UnitRole:
        return unit_role(self.unit)

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class AuditEntry:
    action: str
    outcome: str
    username: str | None = None
    unit: str | None = None
    officer_code: str | None = None
    target: str | None = None
    detail: str | None = None
    at: datetime | None = None


class OfficerStore(Protocol):
    def get(self, username: str) -> Officer | None: ...
    def add(self, officer: Officer) -> None: ...
    def all(self) -> list[Officer]: ...
    def set_disabled(self, username: str, at: datetime | None) -> bool: ...
    def set_password(self, username: str, password_hash: str) -> bool: ...
    def attempt(self, username: str, *, limit: int, lock_for: timedelta, now: datetime) -> bool: ...
    def device_attempt(
        self, username: str, digest: str, *, limit: int, lock_for: timedelta, now: datetime
    ) -> bool | None: ...
    def succeeded(self, username: str, now: datetime, *, device: str | None = None) -> None: ...
    def trust_device(
        self, username: str, digest: str, now: datetime, *, replacing: str | None
    ) -> None: ...
    def audit(self, entry: AuditEntry) -> None: ...
    def recent_audit(self, limit: int) -> list[AuditEntry]: ...


class PostgresOfficerStore:
    """Officers and the web audit in PostgreSQL, as ``sinergi_web``."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def _conn(self) -> psycopg.Connection[dict[str, Any]]:
        return psycopg.connect(self.conninfo, row_factory=dict_row, autocommit=True)

    def get(self, username: str) -> Officer | None:
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM officers WHERE username = %s", (username,)).fetchone()
        return None if row is None else Officer(**row)

    def add(self, officer: Officer) -> None:
        with self._conn() as conn:
            try:
                conn.execute(
                    "INSERT INTO officers (username, unit, officer_code, password_hash)"
                    " VALUES (%s, %s, %s, %s)",
                    (officer.username, officer.unit, officer.officer_code, officer.password_hash),
                )
            except psycopg.errors.UniqueViolation:
                raise OfficerError(f"an officer {officer.username} exists already") from None

    def all(self) -> list[Officer]:
        with self._conn() as conn:
            rows = conn.execute("SELECT * FROM officers ORDER BY unit, username").fetchall()
        return [Officer(**row) for row in rows]

    def set_disabled(self, username: str, at: datetime | None) -> bool:
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE officers SET disabled_at = %s WHERE username = %s", (at, username)
            )
            return cur.rowcount == 1

    def set_password(self, username: str, password_hash: str) -> bool:
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE officers SET password_hash = %s, failed_logins = 0, locked_until = NULL"
                " WHERE username = %s",
                (password_hash, username),
            )
            # A new password forgets the browsers the old one logged in from.
            conn.execute("DELETE FROM officer_devices WHERE username = %s", (username,))
            return cur.rowcount == 1

    def attempt(self, username: str, *, limit: int, lock_for: timedelta, now: datetime) -> bool:
        """Claim one log-in attempt, before its password is checked: False while the
        officer is locked out. The attempt counts as a failure until :meth:`succeeded`
        clears it, and the ``limit``-th in a row locks the officer out for ``lock_for``
        (the count starts again). One statement, so that attempts sent together are
        counted one after another: no more than ``limit`` of them get their password
        checked."""
        with self._conn() as conn:
            claimed = conn.execute(
                "UPDATE officers SET"
                " locked_until = CASE WHEN failed_logins + 1 >= %(limit)s"
                "   THEN %(until)s::timestamptz END,"
                " failed_logins = CASE WHEN failed_logins + 1 >= %(limit)s"
                "   THEN 0 ELSE failed_logins + 1 END"
                " WHERE username = %(username)s"
                "   AND (locked_until IS NULL OR locked_until <= %(now)s)"
                " RETURNING username",
                {"limit": limit, "until": now + lock_for, "now": now, "username": username},
            ).fetchone()
        return claimed is not None

    def device_attempt(
        self, username: str, digest: str, *, limit: int, lock_for: timedelta, now: datetime
    ) -> bool | None:
        """:meth:`attempt`, counted on the browser ``digest`` names rather than on the
        officer: None when it is not a browser this officer logged in from (or not within
        :data:`DEVICE_TRUSTED_FOR`), False while that browser is locked out."""
        with self._conn() as conn, conn.transaction():
            row = conn.execute(
                "SELECT failed_logins, locked_until FROM officer_devices"
                " WHERE token_sha256 = %s AND username = %s AND last_used_at > %s FOR UPDATE",
                (digest, username, now - DEVICE_TRUSTED_FOR),
            ).fetchone()
            if row is None:
                return None
            if row["locked_until"] is not None and row["locked_until"] > now:
                return False
            failures, locked = _counted(row["failed_logins"], limit, lock_for, now)
            conn.execute(
                "UPDATE officer_devices SET failed_logins = %s, locked_until = %s"
                " WHERE token_sha256 = %s",
                (failures, locked, digest),
            )
        return True

    def succeeded(self, username: str, now: datetime, *, device: str | None = None) -> None:
        """The officer is in: the failures counted where the attempt was claimed (the
        browser ``device`` names, or the officer's own count) start again."""
        with self._conn() as conn:
            if device is None:
                conn.execute(
                    "UPDATE officers SET failed_logins = 0, locked_until = NULL,"
                    " last_login_at = %s WHERE username = %s",
                    (now, username),
                )
                return
            conn.execute("UPDATE officers SET last_login_at = %s WHERE username = %s",
                         (now, username))  # fmt: skip
            conn.execute(
                "UPDATE officer_devices SET failed_logins = 0, locked_until = NULL"
                " WHERE token_sha256 = %s",
                (device,),
            )

    def trust_device(
        self, username: str, digest: str, now: datetime, *, replacing: str | None
    ) -> None:
        """Remember the browser ``digest`` names as one ``username`` logged in from (in
        place of ``replacing``, its token before), keeping the :data:`DEVICES_KEPT`
        used last and none unused for longer than :data:`DEVICE_TRUSTED_FOR`."""
        with self._conn() as conn, conn.transaction():
            if replacing is not None:
                conn.execute(
                    "DELETE FROM officer_devices WHERE token_sha256 = %s AND username = %s",
                    (replacing, username),
                )
            conn.execute(
                "INSERT INTO officer_devices (token_sha256, username, last_used_at)"
                " VALUES (%s, %s, %s)",
                (digest, username, now),
            )
            conn.execute(
                "DELETE FROM officer_devices WHERE username = %(username)s"
                " AND (last_used_at <= %(since)s OR token_sha256 NOT IN ("
                "   SELECT token_sha256 FROM officer_devices WHERE username = %(username)s"
                "   ORDER BY last_used_at DESC LIMIT %(kept)s))",
                {"username": username, "since": now - DEVICE_TRUSTED_FOR, "kept": DEVICES_KEPT},
            )

    def audit(self, entry: AuditEntry) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO web_audit (username, unit, officer_code, action, target, outcome,"
                " detail) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    entry.username, entry.unit, entry.officer_code, entry.action, entry.target,
                    entry.outcome, entry.detail,
                ),
            )  # fmt: skip

    def recent_audit(self, limit: int) -> list[AuditEntry]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT action, outcome, username, unit, officer_code, target, detail, at"
                " FROM web_audit ORDER BY seq DESC LIMIT %s",
                (limit,),
            ).fetchall()
        return [AuditEntry(**row) for row in rows]


# --- passwords ------------------------------------------------------------------------------

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a wrong name costs as long as a
    wrong password and does not tell which names exist. Made on first use, not at import:
    an argon2 hash takes about 0.13 s, and every ``sinergi`` command imports this module."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def prepare_login() -> None:
    """Make what a log-in with an unknown name verifies against (the web app, at start)."""
    _dummy_hash()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def credential_of(officer: Officer) -> str:
    """A digest of the officer's password hash, kept in their sessions: when the password
    is changed (``sinergi officer reset-password``, another process), the guard sees it
    differ and ends every session opened with the old one."""
    return hashlib.sha256(officer.password_hash.encode()).hexdigest()


def generate_password() -> str:
    """A password for an officer who was given none: 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


# --- managing officers ------------------------------------------------------------------------


def check_new(username: str, unit: str, code: str, password: str) -> UnitRole:
    if not USERNAME.match(username):
        raise OfficerError(
            "a username is 2-63 lower-case letters, digits, '.', '_' or '-',"
            " beginning with a letter or digit"
        )
    try:
        role = unit_role(unit)
        parse_code(code)
    except UnitError as exc:
        raise OfficerError(str(exc)) from None
    except FieldError as exc:
        raise OfficerError(f"the officer code: {exc.message}") from None
    if len(password) < PASSWORD_MIN:
        raise OfficerError(f"a password has at least {PASSWORD_MIN} characters")
    return role


def add_officer(store: OfficerStore, username: str, unit: str, code: str, password: str) -> Officer:
    """A new officer of ``unit`` with staff ``code`` (what the desks publish)."""
    role = check_new(username, unit, code, password)
    officer = Officer(
        username=username,
        unit=role.unit,
        officer_code=code,
        created_at=datetime.now(UTC),
        password_hash=hash_password(password),
    )
    store.add(officer)
    store.audit(AuditEntry("officer.add", "ok", username, role.unit, code))
    return officer


@dataclass(frozen=True)
class LoginPolicy:
    failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)


def device_digest(token: str) -> str:
    """What the store keeps of a browser's token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _counted(
    failures: int, limit: int, lock_for: timedelta, now: datetime
) -> tuple[int, datetime | None]:
    """One more failure counted: (the count, the lockout's end when it is the ``limit``-th
    in a row, whereupon the count starts again)."""
    if failures + 1 >= limit:
        return 0, now + lock_for
    return failures + 1, None


def trust_device(store: OfficerStore, username: str, now: datetime, old: str | None) -> str:
    """A new token for the browser ``username`` just logged in from (its cookie's
    value), in place of ``old``, the token it brought if any: each log-in changes it."""
    token = secrets.token_urlsafe(32)
    replacing = device_digest(old) if old else None
    store.trust_device(username, device_digest(token), now, replacing=replacing)
    return token


class LoginRefusedError(Exception):
    """Log-in refused: ``reason`` is ``invalid`` (unknown name or wrong password),
    ``locked`` or ``disabled``, for the audit and the metrics. The page says the same
    for each, after the same argon2 work, so that it tells no one which names exist."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def login(
    store: OfficerStore,
    username: str,
    password: str,
    policy: LoginPolicy,
    now: datetime,
    device: str | None = None,
) -> Officer:
    """The officer, if the password is right and they are neither disabled nor locked out.
    Each attempt is counted before its password is checked (see
    :meth:`PostgresOfficerStore.attempt`) and audited; ``policy.failures`` in a row lock
    the officer out for ``policy.lock_for`` (a right password then is refused too).

    ``device``: the token of the browser the attempt comes from (:func:`trust_device`).
    From a browser this officer logged in from, attempts are counted, and locked out, on
    that browser alone: failures elsewhere (someone who knows the officer's name, failing
    on purpose) lock out the browsers the officer never logged in from, not theirs."""
    name = username.strip().lower()
    officer = store.get(name) if USERNAME.match(name) else None
    if officer is None:
        verify_password(_dummy_hash(), password)
        store.audit(AuditEntry("login", "refused", detail="unknown username"))
        raise LoginRefusedError("invalid")

    def audit(outcome: str, detail: str | None = None) -> None:
        store.audit(
            AuditEntry("login", outcome, officer.username, officer.unit, officer.officer_code,
                       detail=detail)
        )  # fmt: skip

    # Disabled, or locked out (each attempt is claimed before its password is checked):
    # refused after as much argon2 work as a wrong password.
    refused: tuple[str, str] | None = None  # (reason, what the audit says)
    known = None  # the digest of a browser this officer logged in from
    if officer.disabled_at is not None:
        refused = ("disabled", "disabled")
    else:
        limit, lock_for = policy.failures, policy.lock_for
        claimed = None
        if device:
            digest = device_digest(device)
            claimed = store.device_attempt(
                officer.username, digest, limit=limit, lock_for=lock_for, now=now
            )
            known = digest if claimed is not None else None
        if claimed is None:
            claimed = store.attempt(officer.username, limit=limit, lock_for=lock_for, now=now)
        if not claimed:
            refused = ("locked", "locked out" if known is None else "locked out (this browser)")
    if refused is not None:
        verify_password(_dummy_hash(), password)
        audit("refused", refused[1])
        raise LoginRefusedError(refused[0])
    if not verify_password(officer.password_hash, password):
        audit("refused", "wrong password")
        raise LoginRefusedError("invalid")
    store.succeeded(officer.username, now, device=known)
    audit("ok")
    return officer
