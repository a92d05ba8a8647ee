"""The browser application's own ``/metrics`` (Prometheus' ``sinergi-web`` job): which
build answers, log-ins by outcome, and the process's resources. Labels are outcomes,
never a name or anything an officer typed."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from sinergi import buildinfo
from sinks.prometheus import build_info

# What became of a log-in: ``ok``, or the reason it was refused (``invalid`` never says
# whether the name or the password was wrong), or ``csrf`` (a form without its token).
LOGIN_OUTCOMES = ("ok", "invalid", "locked", "disabled", "csrf")
CONTENT_TYPE = CONTENT_TYPE_LATEST


class WebMetrics:
    """One registry per application (so that tests may build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        build_info(self.registry, buildinfo.version(), buildinfo.commit())
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.logins = Counter(
            "sinergi_web_logins",
            "Log-ins to the browser application, by outcome (ok, invalid, locked, disabled, csrf).",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in LOGIN_OUTCOMES:
            self.logins.labels(outcome)  # each outcome counted from zero, not from its first

    def login(self, outcome: str) -> None:
        self.logins.labels(outcome if outcome in LOGIN_OUTCOMES else "invalid").inc()

    def page(self) -> bytes:
        return generate_latest(self.registry)
