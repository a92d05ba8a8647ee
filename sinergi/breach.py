"""The breach clock: a suspected personal data breach starts the 3 x 24 hours within
which UU 27/2022 (Pasal 46) wants the data subjects and the authority told.

Two things make the hub suspect a breach:

- **the audit trail fails its check** (``sinergi audit verify``: a hash chain broken, an
  offset committed without an audit entry, dead letters and the audit disagreeing): the
  record of who published what can no longer be trusted, so someone may have changed or
  taken data;
- **Kafka denies a member an operation** outside the ACL matrix (``schemas/access.py``):
  the hub's own clients never ask for what they may not do (the demo's six months leave
  no denial in the broker's log), so a denial is a member, or someone holding its
  credential, reaching for another agency's data.

Each becomes :class:`Evidence`; :class:`sinks.breach.BreachStore` keeps it as a
suspicion in PostgreSQL (one open per kind and subject; later evidence is counted into
it), whose ``detected_at`` starts the clock and never moves; the processor's /metrics
shows it (``sinergi_breach_suspected_since_timestamp_seconds``,
``sinergi_breach_notify_by_timestamp_seconds``) and Prometheus alerts on it
(``deploy/prometheus/rules/alerts.yml``). An administrator closes a suspicion with a
note (``sinergi audit close``).

:func:`watch` is what ``sinergi audit watch`` runs (by an operator's timer): the audit
check, then the broker's authorizer log read on from where it stopped last time.
Evidence names checks, chains, partitions and Kafka principals (member ids), never a
value of an event: nothing here is personal data.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploy.kafka import authorizer_log, main_log, node_ids_on_disk

if TYPE_CHECKING:
    from sinergi.auditing import AuditReport
    from sinergi.config import Settings
    from sinks.breach import BreachStore

log = logging.getLogger(__name__)

NOTIFY_WITHIN = timedelta(hours=3 * 24)
DETAIL_ITEMS = 20  # at most this many operations, hosts or partitions kept in a detail


class Kind(StrEnum):
    AUDIT_FAILED = "audit_failed"
    ACL_DENIED = "acl_denied"


class Check(StrEnum):
    AUDIT_VERIFY = "audit_verify"
    AUTHORIZER_LOG = "authorizer_log"


class Outcome(StrEnum):
    OK = "ok"
    SUSPECTED = "suspected"
    UNAVAILABLE = "unavailable"


class BreachError(RuntimeError):
    """A suspicion cannot be found or closed as asked: one sentence."""


@dataclass(frozen=True)
class Evidence:
    """What one check found about one subject (a failed check, a denied principal)."""

    kind: Kind
    subject: str
    occurrences: int = 1
    first_at: datetime | None = None  # the earliest evidence's own time, where known
    last_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)


# --- the audit check ---------------------------------------------------------------------------


def audit_evidence(report: AuditReport) -> list[Evidence]:
    """One piece of evidence per part of ``sinergi audit verify`` that failed."""
    found = []
    chains = report.chains
    detail: dict[str, Any]
    if not chains.intact:
        detail = {"chain": chains.broken_chain, "entry": chains.broken_at,
                  "reason": chains.reason[:300]}  # fmt: skip
        found.append(Evidence(Kind.AUDIT_FAILED, "chains", detail=detail))
    gaps = [gap for gap in report.coverage if not gap.complete]
    if gaps:
        detail = {
            "missing_offsets": sum(gap.missing_count for gap in gaps),
            "partitions": [f"{gap.topic}[{gap.partition}]" for gap in gaps[:DETAIL_ITEMS]],
        }
        found.append(Evidence(Kind.AUDIT_FAILED, "coverage", len(gaps), detail=detail))
    if not report.dead_letters_agree:
        detail = {
            "audited_not_published": len(report.not_published),
            "published_not_audited": len(report.not_audited),
            "positions": [
                f"{topic}[{partition}]@{offset}"
                for topic, partition, offset in [*report.not_published, *report.not_audited][
                    :DETAIL_ITEMS
                ]
            ],
        }
        count = len(report.not_published) + len(report.not_audited)
        found.append(Evidence(Kind.AUDIT_FAILED, "dead_letters", count, detail=detail))
    return found


# --- Kafka's authorizer log --------------------------------------------------------------------

# StandardAuthorizer's line for a denied request (kafka.authorizer.logger, INFO), e.g.
# [2026-12-02T10:10:59.197Z] INFO Principal = User:post-eltari is Denied operation = READ
#   from host = 127.0.0.1 on resource = Topic:LITERAL:hub.alerts for request = Fetch with
#   resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)
DENIAL = re.compile(
    r"^\[(?P<at>[^\]]+)\] \w+ Principal = (?P<principal>\S+) is Denied"
    r" operation = (?P<operation>\S+) from host = (?P<host>\S+)"
    r" on resource = (?P<type>[A-Za-z]+):(?P<pattern>[A-Z_]+):(?P<name>.*?)"
    r" for request = (?P<request>\S+)"
)


@dataclass(frozen=True)
class Denial:
    at: datetime | None
    principal: str
    operation: str
    host: str
    resource_type: str
    resource: str
    request: str

    def describe(self) -> str:
        return f"{self.operation} {self.resource_type}:{self.resource} ({self.request})"


def parse_denial(line: str) -> Denial | None:
    """The denial a log line records, or None for any other line."""
    found = DENIAL.match(line)
    if found is None:
        return None
    return Denial(
        at=_log_time(found["at"]),
        principal=found["principal"],
        operation=found["operation"],
        host=found["host"],
        resource_type=found["type"],
        resource=found["name"],
        request=found["request"],
    )


def _log_time(text: str) -> datetime | None:
    """A log line's time: ISO 8601 with its offset (the authorizer log's own pattern), or
    Kafka's default ``2026-12-02 10:10:59,197``, in this machine's zone (the broker's)."""
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        pass
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").astimezone(UTC)
    except ValueError:
        return None


def in_deployment(denial: Denial, topic_prefix: str, processor_group: str) -> bool:
    """Whether a denial is about this deployment's resources. Without a topic prefix (a
    real deployment) every denial is; a prefixed one (a test's slice of a shared broker)
    owns only its topics and its processor group."""
    if not topic_prefix:
        return True
    return denial.resource.startswith(topic_prefix) or denial.resource == processor_group


def denial_evidence(denials: Iterable[Denial]) -> list[Evidence]:
    """The denials grouped by principal: how many, when, which operations from where."""
    by_principal: dict[str, list[Denial]] = {}
    for denial in denials:
        by_principal.setdefault(denial.principal, []).append(denial)
    found = []
    for principal, items in sorted(by_principal.items()):
        times = [d.at for d in items if d.at is not None]
        detail = {
            "operations": _bounded(d.describe() for d in items),
            "hosts": _bounded(d.host for d in items),
        }
        found.append(
            Evidence(Kind.ACL_DENIED, principal, len(items), min(times, default=None),
                     max(times, default=None), detail)
        )  # fmt: skip
    return found


def _bounded(values: Iterable[str]) -> list[str]:
    return sorted(set(values))[:DETAIL_ITEMS]


def merge_detail(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A suspicion's detail with new evidence: lists united (bounded), the rest the latest."""
    merged = {**old, **new}
    for key, value in new.items():
        if isinstance(value, list) and isinstance(old.get(key), list):
            merged[key] = _bounded([*old[key], *value])
    return merged


@dataclass(frozen=True)
class LogPosition:
    """How far a log file was read: its inode (a rolled-over file gets a new one) and the
    offset after the last whole line read."""

    inode: int
    offset: int

    def to_json(self) -> dict[str, int]:
        return {"inode": self.inode, "offset": self.offset}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> LogPosition | None:
        if not data or "inode" not in data:
            return None
        return cls(int(data["inode"]), int(data["offset"]))


class LogUnavailableError(BreachError):
    """An authorizer log cannot be read."""


def read_on(path: Path, position: LogPosition | None) -> tuple[list[str], LogPosition]:
    """The whole lines written to ``path`` since ``position``, and the new position.

    Log4j rolls a full file over to ``<path>.<n>``: when ``path`` is another file than the
    one read last time, the rest of that one is read first (found by its inode), then the
    new one from its start. A file shorter than the position was truncated: read whole."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise LogUnavailableError(f"{path} cannot be read ({type(exc).__name__})") from None
    with handle:
        stat = os.fstat(handle.fileno())
        lines: list[str] = []
        start = 0
        if position is not None and position.inode == stat.st_ino:
            start = position.offset if position.offset <= stat.st_size else 0
        elif position is not None:
            rolled = _with_inode(path, position.inode)
            if rolled is not None:
                with rolled.open("rb") as old:
                    old.seek(position.offset)
                    lines += _decode(old.read())
        handle.seek(start)
        data = handle.read()
    whole = data[: data.rfind(b"\n") + 1]  # a line still being written waits for next time
    return lines + _decode(whole), LogPosition(stat.st_ino, start + len(whole))


def _with_inode(path: Path, inode: int) -> Path | None:
    for rolled in sorted(path.parent.glob(f"{path.name}.*")):
        try:
            if rolled.stat().st_ino == inode:
                return rolled
        except OSError:
            continue
    return None


def _decode(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").splitlines()


def authorizer_logs(settings: Settings) -> list[Path]:
    """Each Kafka node's authorizer log in this stack's home; for a node started before
    the authorizer had a file of its own, its main log (where its denials went then)."""
    found = []
    for node in node_ids_on_disk(settings.home) or [1]:
        own = authorizer_log(settings.home, node)
        found.append(own if own.exists() or not main_log(settings.home, node).exists()
                     else main_log(settings.home, node))  # fmt: skip
    return found


# --- the watch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    check: Check
    source: str
    outcome: Outcome
    evidence: Sequence[Evidence] = ()
    reason: str = ""  # why a check could not run (unavailable)


def record_verify(store: BreachStore, report: AuditReport) -> CheckResult:
    """Record a run of the audit check: a suspicion for each part that failed."""
    evidence = audit_evidence(report)
    outcome = Outcome.SUSPECTED if evidence else Outcome.OK
    store.record(Check.AUDIT_VERIFY, Check.AUDIT_VERIFY.value, outcome, evidence)
    return CheckResult(Check.AUDIT_VERIFY, Check.AUDIT_VERIFY.value, outcome, evidence)


def watch_log(store: BreachStore, settings: Settings, path: Path) -> CheckResult:
    """Read one authorizer log on from where the last watch stopped; record the denials
    about this deployment as suspicions, and the new position, in one transaction."""
    source = f"{Check.AUTHORIZER_LOG.value}:{path.name}"
    with store.locked() as tx:
        try:
            lines, position = read_on(path, tx.position(source))
        except LogUnavailableError as exc:
            tx.checked(Check.AUTHORIZER_LOG, source, Outcome.UNAVAILABLE)
            return CheckResult(Check.AUTHORIZER_LOG, source, Outcome.UNAVAILABLE, reason=str(exc))
        denials = [
            d
            for d in (parse_denial(line) for line in lines)
            if d is not None and in_deployment(d, settings.topic_prefix, settings.processor_group)
        ]
        evidence = denial_evidence(denials)
        for item in evidence:
            tx.suspect(item)
        outcome = Outcome.SUSPECTED if evidence else Outcome.OK
        tx.checked(Check.AUTHORIZER_LOG, source, outcome, position)
    return CheckResult(Check.AUTHORIZER_LOG, source, outcome, evidence)


def watch(
    settings: Settings,
    store: BreachStore,
    *,
    verify: bool = True,
    logs: Sequence[Path] | None = None,
) -> list[CheckResult]:
    """One round of the watch: the audit check (unless ``verify`` is False), then every
    authorizer log (``logs``, else this stack's)."""
    from sinergi import auditing

    results = []
    if verify:
        try:
            report = auditing.verify(settings)
        except Exception as exc:  # a check that cannot run is said, not fatal
            store.record(Check.AUDIT_VERIFY, Check.AUDIT_VERIFY.value, Outcome.UNAVAILABLE, ())
            reason = f"the audit check could not run ({type(exc).__name__})"
            log.warning("%s", reason)
            results.append(
                CheckResult(Check.AUDIT_VERIFY, Check.AUDIT_VERIFY.value, Outcome.UNAVAILABLE,
                            reason=reason)
            )  # fmt: skip
        else:
            results.append(record_verify(store, report))
    for path in logs if logs is not None else authorizer_logs(settings):
        results.append(watch_log(store, settings, path))
    return results


def deadline(detected_at: datetime) -> datetime:
    """When the data subjects and the authority must have been told."""
    return detected_at + NOTIFY_WITHIN
