"""Fault scenarios against the real stack: publish a known set of events while something
breaks, then account for every one of them.

Each scenario ends with the same accounting (:func:`account`): every published message
is in the audit trail, and is either stored once, recorded as an honest re-send, or
dead-lettered with a reason; nothing is lost and nothing counted twice; the ledger's
figures equal a count made from the published facts; ``sinergi audit verify`` agrees.

Used by ``tests/integration/test_faults.py`` (small volumes, in every CI run) and by
``bench/chaos.py`` (``make chaos``: larger volumes, several attempts, a table).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from producers import forms
from producers.publisher import Publisher
from producers.simulate import Simulator
from schemas.model import Agency, Event, InterceptionRecorded
from schemas.topics import DEAD_LETTER
from sinergi import auditing, bootstrap, runtime
from sinergi.config import Settings
from tests.integration.hub import Hub, free_port


@dataclass(frozen=True)
class Published:
    event_id: str
    event_type: str
    topic: str
    partition: int
    offset: int

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)


@dataclass
class Accounting:
    """What became of the published messages."""

    scenario: str
    published: int = 0
    stored: int = 0
    already_recorded: int = 0
    dead_lettered: int = 0
    audited: int = 0
    lost: int = 0
    duplicated: int = 0
    recovery_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.lost == 0 and self.duplicated == 0


# --- what agencies publish ---------------------------------------------------------------


def simulated_events(hub: Hub, count: int, seed: int = 7) -> list[tuple[str, Event]]:
    """``count`` events of every agency, in realistic proportions (an even sample of
    simulated months), as (unit, event) in a shuffled order; recorded now (so the hub's
    freshness check passes)."""
    sim = Simulator(seed=seed, months=6, scale=max(1.0, count / 5000))
    every = [
        (form, place, dict(row))
        for form, place, row in sim.events_rows()
        if form != "acknowledgement"  # acknowledgements name alerts of another run
    ]
    step = max(1, len(every) // count)
    out = recorded(hub, every[::step][:count])
    random.Random(seed).shuffle(out)
    return out


def recorded(
    hub: Hub, rows: Iterable[tuple[str, str, Mapping[str, str | None]]]
) -> list[tuple[str, Event]]:
    """Rows as a simulator makes them, (form, place, row), each recorded at its own
    desk, a form and place at a time: (unit, event)."""
    by_desk: dict[tuple[str, str], list[Mapping[str, str | None]]] = defaultdict(list)
    for form, place, row in rows:
        by_desk[(form, place)].append(row)
    out: list[tuple[str, Event]] = []
    for (form, place), desk_rows in by_desk.items():
        desk = bootstrap.desk(hub.settings, forms.FORMS[form].agency, place)
        out += [(desk.unit, e) for e in forms.record_rows(desk, forms.FORMS[form], desk_rows)]
    return out


class Publishers:
    """One publisher per unit (each signs with its own key), sending directly."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.by_unit: dict[str, Publisher] = {}

    def send(self, unit: str, events: Sequence[Event]) -> list[Published]:
        pub = self.by_unit.get(unit)
        if pub is None:
            pub = self.by_unit[unit] = bootstrap.publisher(self.hub.settings, unit)
        return [
            Published(s.event_id, e.event_type, s.topic, s.partition, s.offset)
            for s, e in zip(pub.publish(events, timeout=120), events, strict=True)
        ]

    def close(self) -> None:
        for pub in self.by_unit.values():
            pub.close()


def publish_rows(
    hub: Hub, rows: Iterable[tuple[str, str, Mapping[str, str | None]]]
) -> list[Published]:
    """Rows as a simulator makes them, each recorded at its own desk and published by it."""
    return publish_all(hub, recorded(hub, rows))


def publish_all(hub: Hub, events: Sequence[tuple[str, Event]]) -> list[Published]:
    pubs = Publishers(hub)
    try:
        by_unit: dict[str, list[Event]] = defaultdict(list)
        for unit, event in events:
            by_unit[unit].append(event)
        return [p for unit, evs in by_unit.items() for p in pubs.send(unit, evs)]
    finally:
        pubs.close()


@contextmanager
def flow(
    hub: Hub, events: Sequence[tuple[str, Event]], *, per_second: float
) -> Iterator[list[Published]]:
    """Publish ``events`` in the background at about ``per_second``, from their units,
    while the body runs; on exit, wait until every one is published."""
    published: list[Published] = []
    errors: list[BaseException] = []

    def run() -> None:
        pubs = Publishers(hub)
        try:
            chunk = max(1, int(per_second / 10))
            for start in range(0, len(events), chunk):
                began = time.monotonic()
                by_unit: dict[str, list[Event]] = defaultdict(list)
                for unit, event in events[start : start + chunk]:
                    by_unit[unit].append(event)
                for unit, evs in by_unit.items():
                    published.extend(pubs.send(unit, evs))
                time.sleep(max(0.0, chunk / per_second - (time.monotonic() - began)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            pubs.close()

    thread = threading.Thread(target=run, name="flow", daemon=True)
    thread.start()
    try:
        yield published
    finally:
        thread.join(timeout=600)
    if errors:
        raise errors[0]


# --- faults -------------------------------------------------------------------------------


def kill_kafka(hub: Hub) -> None:
    pid = runtime.stack(hub.settings).kafka.running()
    assert pid is not None, "Kafka is not running"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while runtime.stack(hub.settings).kafka.running() is not None:
        if time.monotonic() > deadline:
            raise AssertionError("Kafka survived kill -9")
        time.sleep(0.1)


def start_kafka(hub: Hub) -> None:
    runtime.stack(hub.settings).kafka.start()


def busiest_broker(hub: Hub) -> int:
    """The node leading the most partitions of this slice's input topics."""
    with bootstrap.kafka_admin(hub.settings) as admin:
        described = admin.describe_topics(bootstrap.input_topics(hub.settings))
    leaders = Counter(p["leader_id"] for t in described for p in t["partitions"])
    return leaders.most_common(1)[0][0]


def kill_broker(hub: Hub, node_id: int) -> None:
    """kill -9 one node of the cluster (a broker and a controller voter)."""
    node = runtime.stack(hub.settings).kafka.node(node_id)
    pid = node.running()
    assert pid is not None, f"{node.name} is not running"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while node.running() is not None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{node.name} survived kill -9")
        time.sleep(0.1)


def under_replicated(hub: Hub) -> list[str]:
    """This slice's partitions with fewer in-sync replicas than replicas."""
    with bootstrap.kafka_admin(hub.settings) as admin:
        names = [t for t in admin.list_topics() if t.startswith(hub.settings.topic_prefix)]
        described = admin.describe_topics(names)
    return [
        f"{t['name']}[{p['partition_index']}]"
        for t in described
        for p in t["partitions"]
        if len(p["isr_nodes"]) < len(p["replica_nodes"])
    ]


# --- waiting and accounting -----------------------------------------------------------------


def wait_processed(hub: Hub, *, timeout: float = 300) -> float:
    """Wait until the processor has committed everything on the input topics; seconds."""
    began = time.monotonic()
    hub.wait_for(lambda: runtime.backlog(hub.settings) == 0, timeout=timeout,
                 what="the processor to take in every message")  # fmt: skip
    return time.monotonic() - began


def account(
    hub: Hub,
    scenario: str,
    published: Sequence[Published],
    *,
    poison: set[str] | None = None,
    resent: bool = False,
) -> Accounting:
    """Every published message accounted for: published = stored + dead-lettered (with
    a reason) = audited; no duplicates; the ledger's figures equal a count from the
    published facts. ``poison``: event ids that must be dead-lettered. ``resent``: the
    same event may have been published more than once (a desk retrying)."""
    poison = poison or set()
    acc = Accounting(scenario, published=len(published))
    audit = hub.query("SELECT topic, kafka_partition, kafka_offset, outcome, reason FROM audit_log")
    outcomes: dict[tuple[str, int, int], set[str]] = defaultdict(set)
    reasons: dict[tuple[str, int, int], str] = {}
    for topic, partition, offset, outcome, reason in audit:
        position = (str(topic), int(partition), int(offset))  # type: ignore[call-overload]
        outcomes[position].add(str(outcome))
        if reason:
            reasons[position] = str(reason)
    stored_ids = {str(r[0]) for r in hub.query("SELECT event_id::text FROM events")}
    ids = Counter(p.event_id for p in published)
    if not resent and any(n > 1 for n in ids.values()):
        acc.problems.append("the scenario published an event id twice")
    for p in published:
        seen = outcomes.get(p.position, set())
        if seen:
            acc.audited += 1
        final = seen - {"redelivered"}
        if "stored" in final:
            acc.stored += 1
        elif "already_recorded" in final:
            acc.already_recorded += 1
        elif "dead_lettered" in final:
            acc.dead_lettered += 1
            if not reasons.get(p.position):
                acc.problems.append(f"{p.position} dead-lettered without a reason")
        if p.event_id in poison:
            if "dead_lettered" not in final:
                acc.problems.append(f"poison {p.event_id} was not dead-lettered")
        elif p.event_id not in stored_ids:
            acc.lost += 1
        elif not final:
            acc.lost += 1  # stored, but its message left no trace in the audit
    acc.duplicated = _counted_twice(hub, published, poison)
    if acc.stored + acc.already_recorded + acc.dead_lettered != acc.published:
        acc.problems.append(
            f"published {acc.published} != stored {acc.stored} + already recorded"
            f" {acc.already_recorded} + dead-lettered {acc.dead_lettered}"
        )
    if acc.audited != acc.published:
        acc.problems.append(f"published {acc.published} != audited {acc.audited}")
    report = auditing.verify(hub.settings)
    if not report.ok:
        acc.problems.append(
            "audit verify: "
            + "; ".join(
                [c.describe() for c in report.coverage if not c.complete]
                + ([report.chains.reason] if not report.chains.intact else [])
                + [f"{len(report.not_published)} dead letters missing from {DEAD_LETTER.name}"]
                * bool(report.not_published)
                + [f"{len(report.not_audited)} dead letters not audited"] * bool(report.not_audited)
            )
        )
    return acc


def assert_nothing_lost(acc: Accounting) -> None:
    """The accounting every fault test ends with."""
    assert acc.problems == []
    assert (acc.lost, acc.duplicated) == (0, 0)
    assert acc.published == acc.audited == acc.stored + acc.already_recorded + acc.dead_lettered


def _counted_twice(hub: Hub, published: Sequence[Published], poison: set[str]) -> int:
    """How far the ledger's counts exceed what was published: interceptions counted in
    the metrics and folded into cases, events stored, against the published ids."""
    unique = {p.event_id: p for p in published if p.event_id not in poison}
    interceptions = sum(p.event_type == InterceptionRecorded.event_type for p in unique.values())
    counted = int(hub.query(  # type: ignore[call-overload]
        "SELECT coalesce(sum(value), 0) FROM metrics_daily"
        " WHERE metric = 'sinergi_interceptions_total'"
    )[0][0])  # fmt: skip
    folded = int(hub.query("SELECT coalesce(sum(interceptions), 0) FROM cases")[0][0])  # type: ignore[call-overload]
    events = hub.event_count()
    return (
        max(0, counted - interceptions)
        + max(0, folded - interceptions)
        + max(0, events - len(unique))
    )


Scenario = Callable[..., Accounting]


# --- the scenarios ------------------------------------------------------------------------


def postgres_outage(
    hub: Hub, *, events: int = 800, per_second: float = 40, outage_s: float = 20
) -> Accounting:
    """PostgreSQL stopped (immediate: a crash) for ``outage_s`` while agencies publish."""
    hub.start_worker()
    todo = simulated_events(hub, events)
    stack = runtime.stack(hub.settings)
    with flow(hub, todo, per_second=per_second) as published:
        time.sleep(3)
        stack.postgres.stop(mode="immediate")
        time.sleep(outage_s)
        stack.postgres.start()
        back = time.monotonic()
    wait_processed(hub)
    acc = account(hub, "PostgreSQL stopped (immediate)", published)
    acc.recovery_s = time.monotonic() - back
    return acc


def registry_down_at_restart(hub: Hub, *, events: int = 300, outage_s: float = 8) -> Accounting:
    """The registry stopped while the worker starts with a backlog."""
    published = publish_all(hub, simulated_events(hub, events))
    stack = runtime.stack(hub.settings)
    stack.registry.stop()
    try:
        hub.start_worker()
        time.sleep(outage_s)
        # At least until the worker has found the registry away (a slow start may take
        # longer than the outage).
        hub.wait_for(
            lambda: "not ready (registry" in hub.worker_log.read_text(),
            timeout=60,
            what="the worker to find the registry away",
        )
        waited = hub.query("SELECT count(*) FROM audit_log")[0][0]
    finally:
        stack.registry.start()
    back = time.monotonic()
    wait_processed(hub)
    acc = account(hub, "registry stopped at a worker's restart", published)
    acc.recovery_s = time.monotonic() - back
    if waited:
        acc.problems.append(f"{waited} messages taken in while the registry was down")
    return acc


def worker_killed(hub: Hub, *, events: int = 3000, kills: int = 3, seed: int = 5) -> Accounting:
    """The worker killed (-9) repeatedly, mid-batch, while it drains a backlog."""
    published = publish_all(hub, simulated_events(hub, events))
    rng = random.Random(seed)
    for _ in range(kills):
        proc = hub.start_worker()
        hub.wait_for(lambda: hub.event_count() > 0, what="the worker to begin")
        time.sleep(rng.uniform(0.2, 1.5))
        hub.stop_worker(proc, kill=True)
    hub.start_worker()
    began = time.monotonic()
    wait_processed(hub)
    acc = account(hub, f"worker killed -9 {kills} times", published)
    acc.recovery_s = time.monotonic() - began
    return acc


def poison_between_valid(hub: Hub, *, events: int = 60) -> tuple[Accounting, list[str]]:
    """Poison messages (validly signed: the agency itself is at fault) between valid
    messages of other agencies: a NUL in a string, an over-long field, unknown codes,
    personal data in a code field, a record naming 10,000 recruiters. Returns the
    accounting and the dead-letter reasons."""
    good = simulated_events(hub, events)
    post_desk = bootstrap.desk(hub.settings, Agency.POST, "eltari")
    post = forms.record(post_desk, forms.FORMS["interception"], {
        "occurred_at": "2026-01-20T08:30", "nik": "5371015505950002", "sex": "P",
        "outcome": "SENT_HOME", "officer": "ELT-07", "destination_country": "MY",
    })  # fmt: skip
    bad = [
        _new_id(dataclasses.replace(post, officer_ref="ELT\x0007")),
        _new_id(dataclasses.replace(post, exit_point="x" * 2000)),
        _new_id(dataclasses.replace(post, destination_country="ZZ")),
        _new_id(dataclasses.replace(post, destination_country=f"{PLANTED_NIK} {PLANTED_NAME}")),
    ]
    police_desk = bootstrap.desk(hub.settings, Agency.POLICE, "polda-ntt")
    opened = forms.record(police_desk, forms.FORMS["investigation"], {
        "occurred_at": "2026-01-21T10:00", "investigation_ref": "LP/B/45/I/2026",
        "offence": "TPPO",
    })  # fmt: skip
    many = dataclasses.replace(opened, recruiter_refs=tuple(f"{n:032x}" for n in range(10_000)))
    mixed: list[tuple[str, Event]] = list(good)
    for n, event in enumerate([*bad, many]):
        unit = event.envelope.unit
        mixed.insert(len(mixed) * (n + 1) // (len(bad) + 2), (unit, event))
    published = publish_all(hub, mixed)
    hub.start_worker()
    wait_processed(hub)
    poison = {e.event_id for e in [*bad, many]}
    acc = account(hub, "poison messages between valid ones", published, poison=poison)
    reasons = [str(r[0]) for r in hub.query(
        "SELECT reason FROM audit_log WHERE outcome = 'dead_lettered'")]  # fmt: skip
    return acc, reasons


PLANTED_NIK = "5302014101900001"
PLANTED_NAME = "Maria Ulfa"


def _new_id(event: Event) -> Event:
    env = dataclasses.replace(event.envelope, event_id=str(uuid.uuid4()))
    return dataclasses.replace(event, envelope=env)


# --- desks that keep what they record (producers/outbox.py) ---------------------------------


def desk_record(
    settings: Settings, events: Sequence[tuple[str, Event]], *, chunk: int = 20
) -> dict[str, str]:
    """Record events at their units' desks (kept first, then delivered when possible), a
    chunk at a time, as officers would; return event id -> event type of those recorded."""
    by_unit: dict[str, list[Event]] = defaultdict(list)
    for unit, event in events:
        by_unit[unit].append(event)
    recorded: dict[str, str] = {}
    for unit, unit_events in by_unit.items():
        pub = bootstrap.desk_publisher(settings, unit)
        try:
            for start in range(0, len(unit_events), chunk):
                part = unit_events[start : start + chunk]
                pub.record(part)
                recorded |= {e.event_id: e.event_type for e in part}
        finally:
            pub.close()
    return recorded


def desk_sync(settings: Settings, units: set[str]) -> int:
    """Deliver what waits at the desks; how many still wait."""
    waiting = 0
    for unit in sorted(units):
        pub = bootstrap.desk_publisher(settings, unit)
        try:
            waiting += pub.sync().pending
        finally:
            pub.close()
    return waiting


def desk_published(
    settings: Settings, units: set[str], recorded: Mapping[str, str]
) -> list[Published]:
    """Where the broker put each recorded event (id -> type), from the desks' outboxes.
    An id that never reached it is missing here, and counts as lost."""
    found: list[Published] = []
    for unit in sorted(units):
        with bootstrap.desk_outbox(settings, unit) as outbox:
            for event_id, event_type in sorted(recorded.items()):
                sent = outbox.sent(event_id)
                if sent is not None:
                    found.append(
                        Published(event_id, event_type, sent.topic, sent.partition, sent.offset)
                    )
    return found


def kafka_killed(
    hub: Hub, *, events: int = 400, per_second: float = 40, down_s: float = 10
) -> Accounting:
    """The broker killed (-9) and restarted while posts record a flow and import a file:
    what the desks recorded meanwhile waits in their outboxes and is delivered after."""
    hub.start_worker()
    settings = hub.settings.with_overrides(desk_connect_timeout_s=2)
    todo = simulated_events(hub, events)
    units = {u for u, _ in todo}
    imported_rows = _interception_rows(40, seed=23)
    import_desk = bootstrap.desk(hub.settings, Agency.POST, "tenau")
    imported = forms.record_rows(import_desk, forms.FORMS["interception"], imported_rows)
    csv_path = hub.settings.home / f"import-{hub.settings.processor_group}.csv"
    write_rows(csv_path, imported_rows)
    half = len(todo) // 2
    ids = desk_record(settings, todo[:half])
    kill_kafka(hub)
    down_at = time.monotonic()
    # Kept at the desks: the broker is down, and each desk, the importing one too, gives up
    # on it after a second (connection refused is retried until the desk's connect timeout).
    ids |= desk_record(settings.with_overrides(desk_connect_timeout_s=1), todo[half:])
    done = hub.cli("post", "import", "interception", str(csv_path), "--at", "tenau",
                   env={"SINERGI_DESK_CONNECT_TIMEOUT_S": "1"})  # fmt: skip
    time.sleep(max(0.0, down_s - (time.monotonic() - down_at)))
    start_kafka(hub)
    back = time.monotonic()
    waiting = desk_sync(settings, units)
    synced = hub.cli("post", "sync", "--at", "tenau", check=False)
    ids |= {e.event_id: e.event_type for e in imported}
    published = desk_published(hub.settings, units | {import_desk.unit}, ids)
    wait_processed(hub)
    acc = account(hub, "broker killed -9 during a flow and an import", published, resent=True)
    acc.recovery_s = time.monotonic() - back
    acc.lost += len(ids) - len({p.event_id for p in published})
    if "kept at the desk" not in done.stdout:
        acc.problems.append(f"the import did not keep its rows at the desk: {done.stdout[-300:]}")
    if waiting or synced.returncode not in (0,):
        acc.problems.append(f"{waiting} still waiting after the sync: {synced.stdout[-300:]}")
    return acc


def cluster_broker_killed(
    hub: Hub, *, events: int = 600, per_second: float = 40, down_s: float = 10
) -> tuple[Accounting, int]:
    """One broker of a three-broker cluster (the one leading most input partitions)
    killed (-9) during a flow, and started again ``down_s`` later: the other two hold
    every acknowledged write (acks=all, min.insync.replicas=2), producers and the worker
    follow the new leaders, and the broker catches up once back. Returns the accounting
    and the node killed."""
    hub.start_worker()
    todo = simulated_events(hub, events)
    cluster = runtime.stack(hub.settings).kafka
    with flow(hub, todo, per_second=per_second) as published:
        hub.wait_for(lambda: hub.event_count() > 0, what="the worker to begin")
        victim = busiest_broker(hub)
        kill_broker(hub, victim)
        down_at = time.monotonic()
        time.sleep(down_s)
        cluster.node(victim).start()
        back = time.monotonic()
    wait_processed(hub)
    acc = account(hub, f"broker {victim} of 3 killed -9 during a flow", published)
    acc.recovery_s = time.monotonic() - back
    if back - down_at < down_s:
        acc.problems.append("the broker was not down as long as planned")
    return acc, victim


def post_offline(hub: Hub, *, events: int = 1000) -> Accounting:
    """A post with no connection to the hub records ``events`` interceptions (the broker
    unreachable), shows them pending, then reconnects and delivers them once."""
    hub.start_worker()
    offline = hub.settings.with_overrides(
        ports=dataclasses.replace(hub.settings.ports, kafka=free_port()), desk_connect_timeout_s=1
    )
    desk = bootstrap.desk(hub.settings, Agency.POST, "eltari")
    rows = _interception_rows(events, seed=31)
    recorded = forms.record_rows(desk, forms.FORMS["interception"], rows)
    ids = desk_record(offline, [(desk.unit, e) for e in recorded], chunk=250)
    pending = hub.cli("post", "pending", "--at", "eltari", "--json")
    waiting = len([line for line in pending.stdout.splitlines() if line.startswith("{")])
    back = time.monotonic()
    left = desk_sync(hub.settings, {desk.unit})
    published = desk_published(hub.settings, {desk.unit}, ids)
    wait_processed(hub)
    acc = account(hub, f"post offline, {events} recorded, then reconnected", published)
    acc.recovery_s = time.monotonic() - back
    acc.lost += len(ids) - len({p.event_id for p in published})
    if waiting != events:
        acc.problems.append(f"`post pending` listed {waiting} of {events} while offline")
    if left:
        acc.problems.append(f"{left} still waiting after reconnecting")
    return acc


def _interception_rows(count: int, seed: int) -> list[dict[str, str | None]]:
    sim = Simulator(seed=seed, months=6, scale=1 + count / 400)
    rows: list[dict[str, str | None]] = []
    for _post, row in sim.interceptions():
        if len(rows) >= count:
            break
        rows.append(dict(row))
    return rows


def write_rows(path: Path, rows: Sequence[Mapping[str, str | None]]) -> Path:
    columns = list(forms.FORMS["interception"].columns)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k) or "" for k in columns})
    return path
