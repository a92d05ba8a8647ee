"""What the pages use, assembled by :func:`sinergi.bootstrap.web_services` (the real
stack) or by unit tests (fakes): one object, so the wiring itself is what is tested."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sinergi.config import Settings
from sinergi.web.dashboard import Check, Dashboard
from sinergi.web.officers import LoginPolicy, OfficerStore
from sinergi.web.sessions import SessionStore

Readiness = tuple[bool, dict[str, Any]]


@dataclass
class WebServices:
    settings: Settings
    officers: OfficerStore
    sessions: SessionStore
    policy: LoginPolicy
    ledger: Any  # sinergi.web.ledger.LedgerReader or a fake with its methods
    recorder: Any  # sinergi.web.desk.Recorder or a fake
    uploads: Any  # sinergi.web.uploads.Uploads
    read_dashboard: Callable[[], Dashboard]
    checks: Callable[[], list[Check]]
    lag: Callable[[], list[tuple[str, float]]]
    opener: Callable[[str], str]

    def dashboard(self) -> Dashboard:
        data = self.read_dashboard()
        data.lag = self.lag()
        data.health = self.checks()
        return data

    def health(self) -> list[Check]:
        return self.checks()

    def open_contact(self, sealed: str) -> str:
        return self.opener(sealed)

    def readiness(self) -> Readiness:
        """PostgreSQL, Kafka, the registry reachable; the processor's lag under the limit."""
        checks = {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks()}
        needed = [
            checks.get(name, {"ok": False}) for name in ("PostgreSQL", "Kafka", "Schema registry")
        ]
        # The processor out of reach (or not ready), its lag is unknown: the inbox would
        # show a ledger that no longer moves, so the web app is not ready either.
        processor_ok = bool(checks.get("Processor", {"ok": False})["ok"])
        lag = sum(value for _, value in self.lag())
        lag_ok = processor_ok and lag <= self.settings.web_ready_max_lag
        detail = f"{lag:g} message(s)" if processor_ok else "unknown: the processor is not ready"
        checks["processor lag"] = {"ok": lag_ok, "detail": detail}
        return all(c["ok"] for c in needed) and lag_ok, checks
