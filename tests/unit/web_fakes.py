"""Fakes for the browser application's unit tests: the real app and guard, with
in-memory officers, a canned ledger and a recorder that keeps what it was given."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from starlette.testclient import TestClient

from sinergi.config import Settings
from sinergi.web import officers as officers_module
from sinergi.web.app import create_app
from sinergi.web.dashboard import Check, Dashboard, Monthly
from sinergi.web.desk import Receipt
from sinergi.web.ledger import Alert, Case, Fact, Group, Recruiter
from sinergi.web.officers import (
    DEVICE_TRUSTED_FOR,
    DEVICES_KEPT,
    AuditEntry,
    LoginPolicy,
    Officer,
    add_officer,
)
from sinergi.web.services import WebServices
from sinergi.web.sessions import SessionStore
from tests.web_pages import csrf_of

# The same algorithm, cheaper: unit tests log in hundreds of times.
officers_module._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PASSWORD = "correct horse battery"
NOW = datetime(2026, 1, 20, 1, 0, tzinfo=UTC)
ALERT_TTS = "0b7c2f4e-1111-4c2a-9d1f-000000000001"
ALERT_BELU = "0b7c2f4e-2222-4c2a-9d1f-000000000002"
CASE = "nik:" + "ab" * 16


class MemoryOfficers:
    def __init__(self) -> None:
        self.officers: dict[str, Officer] = {}
        self.entries: list[AuditEntry] = []
        self.devices: dict[str, dict[str, Any]] = {}  # digest -> the browser's row

    def get(self, username: str) -> Officer | None:
        return self.officers.get(username)

    def add(self, officer: Officer) -> None:
        self.officers[officer.username] = officer

    def all(self) -> list[Officer]:
        return list(self.officers.values())

    def set_disabled(self, username: str, at: datetime | None) -> bool:
        if username not in self.officers:
            return False
        self.officers[username] = replace(self.officers[username], disabled_at=at)
        return True

    def set_password(self, username: str, password_hash: str) -> bool:
        self.officers[username] = replace(self.officers[username], password_hash=password_hash)
        self.devices = {k: d for k, d in self.devices.items() if d["username"] != username}
        return True

    def attempt(self, username: str, *, limit: int, lock_for: timedelta, now: datetime) -> bool:
        o = self.officers[username]
        if o.locked(now):
            return False
        if o.failed_logins + 1 >= limit:
            self.officers[username] = replace(o, failed_logins=0, locked_until=now + lock_for)
        else:
            self.officers[username] = replace(
                o, failed_logins=o.failed_logins + 1, locked_until=None
            )
        return True

    def device_attempt(
        self, username: str, digest: str, *, limit: int, lock_for: timedelta, now: datetime
    ) -> bool | None:
        d = self.devices.get(digest)
        if d is None or d["username"] != username or d["last_used_at"] <= now - DEVICE_TRUSTED_FOR:
            return None
        if d["locked_until"] is not None and d["locked_until"] > now:
            return False
        d["failed_logins"], d["locked_until"] = officers_module._counted(
            d["failed_logins"], limit, lock_for, now
        )
        return True

    def succeeded(self, username: str, now: datetime, *, device: str | None = None) -> None:
        o = self.officers[username]
        if device is None:
            o = replace(o, failed_logins=0, locked_until=None)
        else:
            self.devices[device].update(failed_logins=0, locked_until=None)
        self.officers[username] = replace(o, last_login_at=now)

    def trust_device(
        self, username: str, digest: str, now: datetime, *, replacing: str | None
    ) -> None:
        if replacing is not None and self.devices.get(replacing, {}).get("username") == username:
            del self.devices[replacing]
        self.devices[digest] = {"username": username, "last_used_at": now,
                                "failed_logins": 0, "locked_until": None}  # fmt: skip
        mine = sorted((d["last_used_at"], k) for k, d in self.devices.items()
                      if d["username"] == username)  # fmt: skip
        for _used, key in mine[: max(0, len(mine) - DEVICES_KEPT)]:
            del self.devices[key]
        for used, key in mine[-DEVICES_KEPT:]:
            if used <= now - DEVICE_TRUSTED_FOR:
                del self.devices[key]

    def audit(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    def recent_audit(self, limit: int) -> list[AuditEntry]:
        return list(reversed(self.entries))[:limit]


def alert(alert_id: str, regency: str, status: str = "open") -> Alert:
    return Alert(
        alert_id=alert_id, rule="MINOR_INTERCEPTED", severity="HIGH", status=status,
        summary="Anak di bawah umur dicegah di pos eltari", case_ids=(CASE,),
        regencies=(regency,), triggered_at=NOW, raised_at=NOW,
    )  # fmt: skip


class FakeLedger:
    def __init__(self) -> None:
        self.alerts_list = [alert(ALERT_TTS, "5302"), alert(ALERT_BELU, "5304")]
        self.erased_at: datetime | None = None  # the case's person erased (v_cases.erased_at)

    def alerts(self, flt: Any) -> list[Alert]:
        status = getattr(flt, "status", None)
        found = [a for a in self.alerts_list
                 if a.visible_to(flt.visible) and status in (None, a.status)]  # fmt: skip
        return found[: getattr(flt, "limit", None)]

    def statuses(self, alert_ids: Any) -> dict[str, str]:
        return {a.alert_id: a.status for a in self.alerts_list if a.alert_id in alert_ids}

    def alert(self, alert_id: str, visible: Any) -> Alert | None:
        return next((a for a in self.alerts(type("F", (), {"visible": visible})())
                     if a.alert_id == alert_id), None)  # fmt: skip

    def case(self, case_id: str, visible: Any) -> Case | None:
        if case_id != CASE:
            return None
        fact = Fact("e1", NOW, "InterceptionRecorded", "post-eltari",
                    {"post": "eltari", "outcome": "SENT_HOME", "group": "ELT-G7",
                     "recruiter": "cd" * 16}, sealed_contact=True)  # fmt: skip
        summary = {"match_kind": "strong", "status": "INTERCEPTED", "recruiters": [],
                   "erased_at": self.erased_at}  # fmt: skip
        return Case(CASE, summary,
                    [fact], self.alerts(type("F", (), {"visible": visible})()))  # fmt: skip

    def recruiter(self, ref: str, visible: Any) -> Recruiter | None:
        return Recruiter(ref, {"people": 3}, [CASE], [])

    def group(self, key: str, visible: Any) -> Group | None:
        return Group(key, {"people": 5}, [CASE], [])

    def find_case(self, text: str) -> str:
        return CASE

    def sealed_contact(self, event_id: str, case_id: str) -> str | None:
        return "sealed-blob" if event_id == "e1" else None


class FakeRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def check(self, agency: Any, unit: str, form_name: str, row: Any) -> None:
        self.calls.append(("check", unit, form_name, dict(row)))

    def record(self, agency: Any, unit: str, form_name: str, row: Any, officer: str) -> Any:
        self.calls.append(("record", unit, form_name, dict(row), officer))
        event = type("E", (), {"event_id": "11111111-2222-3333-4444-555555555555"})()
        return event, Receipt([event.event_id], [CASE], 1, 0)

    def acknowledge(self, unit: str, alert_id: str, officer: str, action: str) -> Receipt:
        self.calls.append(("ack", unit, alert_id, officer, action))
        return Receipt(["99999999-2222-3333-4444-555555555555"], [None], 1, 0)


class FakeUploads:
    def get(self, job_id: str, username: str) -> None:
        return None


def dashboard() -> Dashboard:
    empty = Monthly([], {})
    return Dashboard(Monthly(["2026-01"], {"eltari": [3.0]}), empty, [("MY", 2.0)], [], [],
                     empty, None, None, [])  # fmt: skip


def services(settings: Settings | None = None) -> WebServices:
    officers = MemoryOfficers()
    for username, unit, code in (
        ("eltari", "post-eltari", "ELT-01"),
        ("polres-tts", "police-polres-5302", "PTS-01"),
        ("polres-belu", "police-polres-5304", "PBL-01"),
        ("polda", "police-polda-ntt", "POLDA-01"),
        ("ops", "ops", "OPS-01"),
        ("admin", "admin", "ADM-01"),
        ("bp3mi", "bp3mi-ntt", "BP3MI-01"),
    ):
        add_officer(officers, username, unit, code, PASSWORD)
    return WebServices(
        settings=settings or Settings(),
        officers=officers,
        sessions=SessionStore(60),
        policy=LoginPolicy(failures=3, lock_for=timedelta(minutes=15)),
        ledger=FakeLedger(),
        recorder=FakeRecorder(),
        uploads=FakeUploads(),
        read_dashboard=dashboard,
        checks=lambda: [
            Check("PostgreSQL", True, "ok"),
            Check("Kafka", True, "ok"),
            Check("Schema registry", True, "ok"),
            Check("Processor", True, "ok"),
        ],
        lag=lambda: [],
        opener=lambda sealed: "0812-3456-7890",
    )


def client(svc: WebServices | None = None) -> TestClient:
    return TestClient(create_app(svc or services()), base_url="http://testserver",
                      follow_redirects=False)  # fmt: skip


def log_in(c: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in; return the session's CSRF token."""
    token = csrf_of(c.get("/login").text)
    done = c.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert done.status_code == 303, done.text
    page = c.get("/record") if username in ("eltari", "bp3mi") else c.get("/")
    home = c.get(page.headers["location"]) if page.status_code == 303 else page
    return csrf_of(home.text)
