"""Sessions and CSRF tokens of the browser application.

A session is a random 256-bit id in a cookie (``HttpOnly``, ``SameSite=Strict``,
``Secure`` when the application is served over HTTPS), mapped on the server to who is
logged in; nothing about the officer travels in the cookie. Each session, also the
anonymous one that shows the log-in form, has its own CSRF token, which every form
carries and every state-changing request must return (a form field or the
``X-CSRF-Token`` header); it is compared in constant time. Logging in replaces the
session (a new id and token), so an id planted before cannot be used after.

Sessions live in the web process's memory: a restart logs everyone out, which is the
safe side for a loopback service.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

COOKIE = "sinergi_session"
LANG_COOKIE = "sinergi_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ANONYMOUS_MINUTES = 30
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    sid: str
    csrf: str
    expires_at: datetime
    username: str | None = None
    unit: str | None = None
    officer_code: str | None = None
    # Which password the officer logged in with (officers.credential_of): a new one
    # ends the session.
    credential: str | None = None
    data: dict[str, str] = field(default_factory=dict)

    @property
    def logged_in(self) -> bool:
        return self.username is not None


class SessionStore:
    """Server-side sessions, in memory, expiring after ``minutes`` without use."""

    def __init__(self, minutes: int) -> None:
        self.lifetime = timedelta(minutes=minutes)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def new(self, *, username: str | None = None, unit: str | None = None,
            officer_code: str | None = None, credential: str | None = None) -> Session:  # fmt: skip
        lifetime = self.lifetime if username else timedelta(minutes=ANONYMOUS_MINUTES)
        session = Session(
            sid=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            expires_at=self._now() + lifetime,
            username=username,
            unit=unit,
            officer_code=officer_code,
            credential=credential,
        )
        with self._lock:
            self._expire()
            self._sessions[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        """The live session with this id, its lifetime renewed; None if unknown or over."""
        if not sid:
            return None
        now = self._now()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if session.expires_at <= now:
                del self._sessions[sid]
                return None
            lifetime = self.lifetime if session.logged_in else timedelta(minutes=ANONYMOUS_MINUTES)
            session = replace(session, expires_at=now + lifetime)
            self._sessions[sid] = session
            return session

    def alive(self, sid: str) -> bool:
        """Whether the session still stands, without renewing it (a live stream asks)."""
        with self._lock:
            session = self._sessions.get(sid)
            return session is not None and session.expires_at > self._now()

    def drop(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def drop_user(self, username: str) -> None:
        with self._lock:
            for sid in [s.sid for s in self._sessions.values() if s.username == username]:
                del self._sessions[sid]

    def _expire(self) -> None:
        now = self._now()
        for sid in [s.sid for s in self._sessions.values() if s.expires_at <= now]:
            del self._sessions[sid]
        while len(self._sessions) >= MAX_SESSIONS:  # the oldest anonymous ones go first
            oldest = min(self._sessions.values(), key=lambda s: (s.logged_in, s.expires_at))
            del self._sessions[oldest.sid]


def csrf_ok(session: Session | None, token: str | None) -> bool:
    """Whether ``token`` is this session's CSRF token (constant-time)."""
    if session is None or not token:
        return False
    return hmac.compare_digest(session.csrf.encode(), token.encode())
