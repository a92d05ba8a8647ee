"""Draining the backlog: the real processor, and the naive faust agent beside it.

The processor is a black box: ``sinergi process`` in its own process, as deployed,
started once the whole backlog waits on the topics. Its progress is read from outside
twice a second: the sum of its consumer group's committed offsets (it commits a
partition's offset only after the PostgreSQL transaction that took in every message
before it, so a committed message is in the event store, the ledger, the alerts, the
metrics and the audit trail), and its memory from ``/proc`` (the process and any
children it starts). From those samples come the drain rate, the rate of each tenth
(is the cost of a batch independent of the history behind it?) and the peak RSS.

The naive agent (``bench/naive.py``) drains a prefix of the same topics into a database
of its own; its progress is the count of its table.

Before ``make bench`` measured the whole table, this module was the bench: 100,000
interceptions drained into PostgreSQL, one figure.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from kafka.errors import KafkaError
from psycopg import sql

from bench.stats import Sample, crossing, rate_between, tenth_bounds, tenth_rates
from deploy.procs import terminate
from sinergi import bootstrap
from tests.integration.hub import Hub


class BenchError(RuntimeError):
    """Something broke (not a goal missed): the bench reports it and exits 1."""


@dataclass
class Drain:
    expected: int
    samples: list[Sample]  # (seconds since the processor was started, messages committed)
    rss_kb: list[tuple[float, int]]  # (seconds, resident KB of the process tree)
    seconds: float  # from starting the processor to the last message committed
    pid: int

    @property
    def rate(self) -> float:
        """Events per second, the processor's start-up included."""
        return self.expected / self.seconds if self.seconds else 0.0

    @property
    def steady_rate(self) -> float | None:
        """Events per second from the first batch committed on (start-up left out)."""
        return rate_between(self.samples, 0, self.expected)

    @property
    def tenths(self) -> list[float | None]:
        return tenth_rates(self.samples, self.expected)

    def rss_kb_at(self, count: int) -> int | None:
        """Resident memory when ``count`` messages had been committed."""
        at = crossing(self.samples, count)
        if at is None:
            return None
        return next((kb for t, kb in self.rss_kb if t >= at), None)

    @property
    def rss_after_first_tenth_kb(self) -> int | None:
        return self.rss_kb_at(tenth_bounds(self.expected)[1])


@dataclass
class NaiveDrain:
    target: int
    samples: list[Sample] = field(default_factory=list)
    seconds: float = 0.0
    stopped_because: str = ""

    @property
    def reached(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    @property
    def rate(self) -> float | None:
        """Events per second from its first insert on (faust's start-up left out)."""
        return rate_between(self.samples, 0, min(self.reached, self.target))


# --- reading a process from outside ----------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


def status_kb(pid: int, name: str) -> int:
    """A ``/proc/<pid>/status`` figure in KB (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_kb(pid: int, name: str) -> int:
    """The sum over the process tree: its peak (VmHWM) is at most this."""
    return sum(status_kb(p, name) for p in process_tree(pid))


# --- the real processor -----------------------------------------------------------------


def committed(admin: object, group: str) -> int | None:
    """Messages the group has committed, over every partition (None while the broker has
    no coordinator for the group yet, as just after the stack started)."""
    try:
        offsets = admin.list_group_offsets([group]).get(group, {})  # type: ignore[attr-defined]
    except KafkaError as exc:
        if not getattr(exc, "retriable", False):
            raise
        return None
    return int(sum(max(0, meta.offset) for meta in offsets.values()))


def drain(hub: Hub, expected: int, *, sample_s: float = 0.5, stall_s: float = 300.0) -> Drain:
    """Start the processor on the waiting backlog; return when it has committed
    ``expected`` messages. Leaves it running (the next measurements use it)."""
    proc = hub.start_worker()
    began = time.perf_counter()
    samples: list[Sample] = []
    rss: list[tuple[float, int]] = []
    last_change = began
    with bootstrap.kafka_admin(hub.settings) as admin:
        while True:
            if proc.poll() is not None:
                raise BenchError(f"the processor exited {proc.returncode}: {tail(hub.worker_log)}")
            done = committed(admin, hub.settings.processor_group)
            if done is None:
                time.sleep(sample_s)
                continue
            now = time.perf_counter()
            if not samples or done != samples[-1][1]:
                last_change = now
            samples.append((now - began, done))
            rss.append((now - began, tree_kb(proc.pid, "VmRSS")))
            if done >= expected:
                break
            if now - last_change > stall_s:
                raise BenchError(
                    f"the processor made no progress for {stall_s:.0f} s at"
                    f" {done:,} of {expected:,}: {tail(hub.worker_log)}"
                )
            time.sleep(sample_s)
    return Drain(expected, samples, rss, samples[-1][0], proc.pid)


def tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return f"(no log at {path})"


def ledger_counts(hub: Hub) -> dict[str, int | None]:
    """What the drain left in PostgreSQL (a table the processor no longer has: None)."""
    queries = {
        "events": "SELECT count(*) FROM events",
        "cases": "SELECT count(*) FROM cases",
        "recruiters": "SELECT count(*) FROM recruiters",
        "alerts": "SELECT count(*) FROM alerts",
        "metrics_daily_rows": "SELECT count(*) FROM metrics_daily",
        "audit_entries": "SELECT count(*) FROM audit_log",
        "dead_lettered": "SELECT count(*) FROM audit_log WHERE outcome = 'dead_lettered'",
    }
    out: dict[str, int | None] = {}
    with psycopg.connect(bootstrap.conninfo(hub.settings, "sinergi_owner"), autocommit=True) as c:
        for name, query in queries.items():
            try:
                row = c.execute(query.encode()).fetchone()
                out[name] = int(row[0]) if row else None
            except psycopg.Error:
                out[name] = None
    return out


# --- the naive agent --------------------------------------------------------------------


def naive_database(hub: Hub) -> str:
    return f"{hub.settings.database}_naive"


def drain_naive(
    hub: Hub,
    target: int,
    *,
    sample_s: float = 0.5,
    stall_s: float = 60.0,
    limit_s: float = 900.0,
) -> NaiveDrain:
    """Run ``bench/naive.py`` (a faust worker) on the same topics, into a database of its
    own, until it has stored ``target`` events (or stalls, or ``limit_s`` passes)."""
    database = naive_database(hub)
    owner = bootstrap.conninfo(hub.settings, "sinergi_owner", "sinergi")
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    env = hub.env | {
        "SINERGI_DATABASE": database,
        "SINERGI_PROCESSOR_GROUP": f"{hub.settings.processor_group}-naive",
    }
    log = hub.settings.home / "logs" / f"naive-{hub.settings.processor_group}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.naive", "worker", "--loglevel", "warn"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    result = NaiveDrain(target)
    began = time.perf_counter()
    try:
        count = _table_count(bootstrap.conninfo(hub.settings, "sinergi_owner", database))
        result.stopped_because = _sample_until(
            result, count, proc, began, sample_s=sample_s, stall_s=stall_s, limit_s=limit_s
        )
        if proc.poll() is not None and result.reached == 0:
            raise BenchError(f"the naive agent exited {proc.returncode}: {tail(log)}")
    finally:
        terminate(proc.pid, timeout=20)
        proc.wait(timeout=30)
    result.seconds = time.perf_counter() - began
    return result


def _table_count(conninfo: str) -> Callable[[], int]:
    def count() -> int:
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                row = conn.execute(b"SELECT count(*) FROM events").fetchone()
                return int(row[0]) if row else 0
        except psycopg.errors.UndefinedTable:
            return 0  # the agent has not made its table yet

    return count


def _sample_until(
    result: NaiveDrain,
    count: Callable[[], int],
    proc: subprocess.Popen[bytes],
    began: float,
    *,
    sample_s: float,
    stall_s: float,
    limit_s: float,
) -> str:
    """Sample the naive agent's count into ``result``; say why sampling stopped."""
    last_change = began
    while True:
        done, now = count(), time.perf_counter()
        if not result.samples or done != result.samples[-1][1]:
            last_change = now
        result.samples.append((now - began, done))
        if done >= result.target:
            return "reached"
        if proc.poll() is not None:
            return f"exited {proc.returncode}"
        if done and now - last_change > stall_s:
            return f"stalled for {stall_s:.0f} s"
        if now - began > limit_s:
            return f"time limit {limit_s:.0f} s"
        time.sleep(sample_s)
