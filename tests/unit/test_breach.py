"""The breach clock's pure parts: Kafka's denials read from its authorizer log (on from
where the last watch stopped, across a roll-over), grouped into evidence per principal,
the audit check's failures as evidence, and a watch that records each only once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from processors.audit import ChainCheck, Coverage
from sinergi import breach
from sinergi.auditing import AuditReport
from sinergi.breach import (
    Check,
    Evidence,
    Kind,
    LogPosition,
    Outcome,
    audit_evidence,
    denial_evidence,
    in_deployment,
    merge_detail,
    parse_denial,
    read_on,
)
from sinergi.config import from_env

DENIED = (
    "[2026-12-02T10:10:59.197Z] INFO Principal = User:post-eltari is Denied operation = READ"
    " from host = 127.0.0.1 on resource = Topic:LITERAL:t1.hub.alerts for request = Fetch"
    " with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)"
)
# Kafka's default pattern, as in the main log of a broker started before the authorizer
# had a file of its own: the broker's local time.
DENIED_OLD = (
    "[2026-12-02 10:11:00,001] INFO Principal = User:ops is Denied operation = DESCRIBE from"
    " host = 127.0.0.1 on resource = Group:LITERAL:g-ledger for request = FindCoordinator"
    " with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)"
)
ALLOWED = (
    "[2026-12-02T10:10:59.197Z] INFO [Controller 1] Created topic t1.hub.alerts"
    " (org.apache.kafka.controller.ReplicationControlManager)"
)


def test_a_denial_is_read_from_the_authorizer_log_and_other_lines_are_not():
    denial = parse_denial(DENIED)
    assert denial is not None
    assert denial.at == datetime(2026, 12, 2, 10, 10, 59, 197000, tzinfo=UTC)
    assert (denial.principal, denial.operation, denial.resource_type, denial.resource) == (
        "User:post-eltari", "READ", "Topic", "t1.hub.alerts",
    )  # fmt: skip
    assert denial.describe() == "READ Topic:t1.hub.alerts (Fetch)"
    old = parse_denial(DENIED_OLD)
    assert old is not None and old.at is not None and old.resource == "g-ledger"
    assert parse_denial(ALLOWED) is None
    assert parse_denial("") is None


def test_a_prefixed_deployment_owns_only_its_topics_and_its_group():
    denial = parse_denial(DENIED)
    group = parse_denial(DENIED_OLD)
    assert denial is not None and group is not None
    assert in_deployment(denial, "", "sinergi-ledger")  # a real deployment: every denial
    assert in_deployment(denial, "t1.", "g-ledger")
    assert not in_deployment(denial, "t2.", "g-other")
    assert in_deployment(group, "t1.", "g-ledger")
    assert not in_deployment(group, "t1.", "g-other")


def test_denials_become_one_piece_of_evidence_per_principal():
    lines = [DENIED, DENIED.replace("10:10:59.197", "10:12:00.000"), DENIED_OLD]
    denials = [d for d in map(parse_denial, lines) if d is not None]
    ops, post = denial_evidence(denials)
    assert (post.kind, post.subject, post.occurrences) == (Kind.ACL_DENIED, "User:post-eltari", 2)
    assert post.first_at == datetime(2026, 12, 2, 10, 10, 59, 197000, tzinfo=UTC)
    assert post.last_at == datetime(2026, 12, 2, 10, 12, tzinfo=UTC)
    assert post.detail == {"operations": ["READ Topic:t1.hub.alerts (Fetch)"],
                           "hosts": ["127.0.0.1"]}  # fmt: skip
    assert ops.subject == "User:ops" and ops.occurrences == 1


def test_a_detail_keeps_at_most_twenty_of_each_list():
    old = {"operations": [f"op{n:02}" for n in range(15)], "hosts": ["a"]}
    new = {"operations": [f"op{n:02}" for n in range(10, 30)], "hosts": ["b"]}
    merged = merge_detail(old, new)
    assert merged["operations"] == [f"op{n:02}" for n in range(20)]
    assert merged["hosts"] == ["a", "b"]


def test_the_log_is_read_on_from_where_it_stopped_and_a_half_written_line_waits(tmp_path: Path):
    log = tmp_path / "kafka-authorizer.log"
    log.write_text(DENIED + "\n" + DENIED_OLD[:40])
    lines, position = read_on(log, None)
    assert lines == [DENIED]
    assert position == LogPosition(log.stat().st_ino, len(DENIED) + 1)
    with log.open("a") as handle:
        handle.write(DENIED_OLD[40:] + "\n")
    lines, position = read_on(log, position)
    assert lines == [DENIED_OLD]
    assert read_on(log, position)[0] == []


def test_a_rolled_over_log_is_read_to_its_end_then_the_new_one(tmp_path: Path):
    log = tmp_path / "kafka-authorizer.log"
    log.write_text(DENIED + "\n")
    _, position = read_on(log, None)
    with log.open("a") as handle:
        handle.write(DENIED_OLD + "\n")
    os.rename(log, tmp_path / "kafka-authorizer.log.1")  # what log4j's roll-over does
    log.write_text(ALLOWED + "\n")
    lines, moved = read_on(log, position)
    assert lines == [DENIED_OLD, ALLOWED]
    assert moved == LogPosition(log.stat().st_ino, len(ALLOWED) + 1)


def test_a_truncated_log_is_read_from_its_start(tmp_path: Path):
    log = tmp_path / "kafka-authorizer.log"
    log.write_text(DENIED + "\n" + DENIED + "\n")
    _, position = read_on(log, None)
    log.write_text(DENIED_OLD + "\n")  # same file, shorter than where we were
    assert read_on(log, position)[0] == [DENIED_OLD]


def _report(**changes: object) -> AuditReport:
    report = AuditReport(ChainCheck(entries=10, chains=2))
    for name, value in changes.items():
        setattr(report, name, value)
    return report


def test_each_failed_part_of_the_audit_check_is_evidence():
    assert audit_evidence(_report()) == []
    broken = ChainCheck(entries=10, chains=2, broken_at=7, broken_chain="t1.posts/0",
                        reason="entry 7 does not match its hash")  # fmt: skip
    gap = Coverage("t1.posts", 0, 0, 10, missing=((3, 4),))
    found = audit_evidence(_report(chains=broken, coverage=[gap], not_audited=[("t1.posts", 1, 9)]))
    assert [(e.kind, e.subject, e.occurrences) for e in found] == [
        (Kind.AUDIT_FAILED, "chains", 1),
        (Kind.AUDIT_FAILED, "coverage", 1),
        (Kind.AUDIT_FAILED, "dead_letters", 1),
    ]
    assert found[0].detail == {"chain": "t1.posts/0", "entry": 7,
                               "reason": "entry 7 does not match its hash"}  # fmt: skip
    assert found[1].detail == {"missing_offsets": 2, "partitions": ["t1.posts[0]"]}
    assert found[2].detail["positions"] == ["t1.posts[1]@9"]


class FakeTransaction:
    def __init__(self, store: FakeBreachStore) -> None:
        self.store = store

    def position(self, source: str) -> LogPosition | None:
        return self.store.positions.get(source)

    def suspect(self, evidence: Evidence) -> tuple[str, bool]:
        key = (evidence.kind.value, evidence.subject)
        new = key not in self.store.open
        self.store.open[key] = self.store.open.get(key, 0) + evidence.occurrences
        return str(key), new

    def checked(
        self, check: Check, source: str, outcome: Outcome, position: LogPosition | None = None
    ) -> None:
        self.store.checks[source] = outcome
        if position is not None:
            self.store.positions[source] = position


class FakeBreachStore:
    """The store's contract in memory (sinks/breach.py is tested on PostgreSQL)."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str], int] = {}
        self.checks: dict[str, Outcome] = {}
        self.positions: dict[str, LogPosition] = {}

    @contextmanager
    def locked(self) -> Iterator[FakeTransaction]:
        yield FakeTransaction(self)

    def record(self, check: Check, source: str, outcome: Outcome, evidence: list[Evidence]) -> None:
        with self.locked() as tx:
            for item in evidence:
                tx.suspect(item)
            tx.checked(check, source, outcome)


def test_a_watch_counts_each_denial_once_and_only_its_deployments(tmp_path: Path):
    log = tmp_path / "kafka-authorizer.log"
    other = DENIED.replace("t1.hub.alerts", "t2.hub.alerts")
    log.write_text(f"{DENIED}\n{other}\n{ALLOWED}\n")
    settings = from_env({"SINERGI_HOME": str(tmp_path), "SINERGI_TOPIC_PREFIX": "t1."})
    store = FakeBreachStore()
    [first] = breach.watch(settings, store, verify=False, logs=[log])  # type: ignore[arg-type]
    assert first.outcome is Outcome.SUSPECTED
    assert store.open == {("acl_denied", "User:post-eltari"): 1}
    [again] = breach.watch(settings, store, verify=False, logs=[log])  # type: ignore[arg-type]
    assert again.outcome is Outcome.OK and not again.evidence
    assert store.open == {("acl_denied", "User:post-eltari"): 1}
    with log.open("a") as handle:
        handle.write(DENIED + "\n")
    breach.watch(settings, store, verify=False, logs=[log])  # type: ignore[arg-type]
    assert store.open == {("acl_denied", "User:post-eltari"): 2}


def test_a_log_that_cannot_be_read_is_said_and_keeps_its_position(tmp_path: Path):
    settings = from_env({"SINERGI_HOME": str(tmp_path)})
    store = FakeBreachStore()
    missing = tmp_path / "logs" / "kafka-authorizer.log"
    [result] = breach.watch(settings, store, verify=False, logs=[missing])  # type: ignore[arg-type]
    assert result.outcome is Outcome.UNAVAILABLE and "cannot be read" in result.reason
    assert store.checks == {"authorizer_log:kafka-authorizer.log": Outcome.UNAVAILABLE}
    assert store.positions == {}


def test_the_stacks_authorizer_log_is_found_and_an_older_brokers_main_log_in_its_place(
    tmp_path: Path,
):
    settings = from_env({"SINERGI_HOME": str(tmp_path)})
    (tmp_path / "kafka").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "kafka.log").write_text("")
    assert breach.authorizer_logs(settings) == [tmp_path / "logs" / "kafka.log"]
    (tmp_path / "logs" / "kafka-authorizer.log").write_text("")
    assert breach.authorizer_logs(settings) == [tmp_path / "logs" / "kafka-authorizer.log"]


def test_the_deadline_is_three_times_twenty_four_hours_after_detection():
    detected = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert breach.deadline(detected) == datetime(2026, 3, 4, 23, 30, tzinfo=UTC)


def test_each_kafka_node_writes_its_denials_to_a_file_of_its_own(tmp_path: Path):
    from deploy.kafka import LOG4J2, authorizer_log

    config = LOG4J2.format(log=tmp_path / "kafka.log", authorizer_log=authorizer_log(tmp_path, 2))
    assert f'fileName: "{tmp_path}/logs/kafka-2-authorizer.log"' in config
    assert "name: kafka.authorizer.logger, level: INFO, additivity: false" in config
    assert "{UTC}" in config  # times in UTC, whatever the machine's zone
