"""The behaviour every ledger store keeps (processors.ports.LedgerStore), written once and
run against each: the in-memory store (tests/unit/test_store_contract.py) and PostgreSQL
(tests/integration/test_store_contract.py). A module that imports these tests provides a
``probe`` fixture: a :class:`Probe` over a fresh store."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import pytest

from processors.alerts import Alert
from processors.audit import AuditEntry, AuditRow, verify_chains
from processors.ledger import Kind, Ref, apply
from processors.ports import (
    Acknowledgement,
    FactVersion,
    LedgerStore,
    MetricKey,
    OutboxMessage,
    Relay,
    StoredEvent,
)
from schemas.model import AlertRule, Severity
from tests.factories import T0, acknowledgement, case_id, interception, investigation


class Probe(Protocol):
    """A store under test, and how to look inside it."""

    store: LedgerStore

    def audit_rows(self) -> list[AuditRow]: ...

    def metric(self, key: MetricKey) -> int: ...

    def alert(self, alert_id: str) -> str | None:
        """raised, withdrawn, held (waiting for its grace period) or None (unknown)."""
        ...

    def ack_event(self, alert_id: str) -> str | None: ...

    def event_ids(self) -> set[str]: ...

    def outbox_size(self) -> int: ...

    topic: str  # where the relay sends this test's messages

    @property
    def relay(self) -> Relay: ...

    def published(self, count: int) -> dict[bytes, list[bytes]]:
        """The first ``count`` messages the relay sent, their values by key in order."""
        ...


NOW = T0 + timedelta(days=30)


def stored(event: Any, offset: int = 0, partition: int = 0) -> StoredEvent:
    return StoredEvent(
        event, event.person.key, "t.posts", partition, offset, 1, None, "c" * 64, NOW
    )


def an_alert(n: int = 1, *, due_at: datetime | None = None) -> Alert:
    return Alert(
        alert_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"alert-{n}")),
        rule=AlertRule.DECEASED_UNREGISTERED,
        severity=Severity.HIGH,
        case_ids=(case_id(n),),
        cause_event_ids=(str(uuid.uuid4()),),
        summary="Jenazah dipulangkan dari MY",
        triggered_at=T0,
        due_at=due_at,
    )


def entry(offset: int, partition: int = 0) -> AuditEntry:
    return AuditEntry("t.posts", partition, offset, "stored", "a" * 64)


def work(probe: Probe, action: Callable[[Any], Any]) -> Any:
    with probe.store.unit_of_work() as uow:
        return action(uow)


# --- events -----------------------------------------------------------------------------


def test_an_event_is_stored_once_and_known_by_where_it_came_from(probe: Probe):
    event = interception(1)
    assert work(probe, lambda u: u.add_events([stored(event, 7)])) == {event.event_id}
    assert work(probe, lambda u: u.add_events([stored(event, 9)])) == set()
    known = work(probe, lambda u: u.known([event.event_id, str(uuid.uuid4())]))
    assert list(known) == [event.event_id]
    seen = known[event.event_id]
    assert (seen.position, seen.unit, seen.event_type) == (
        ("t.posts", 0, 7),
        "post-eltari",
        "InterceptionRecorded",
    )
    assert seen.content_sha256 == "c" * 64
    assert work(probe, lambda u: u.load_events([event.event_id])) == {event.event_id: event}


def test_a_batch_that_fails_leaves_nothing_behind(probe: Probe):
    event = interception(2)

    def half_done(uow: Any) -> None:
        uow.add_events([stored(event)])
        uow.add_metrics({MetricKey(date(2026, 1, 20), "m", ()): 5})
        uow.sync_alerts({"case:x": [an_alert(2)]}, NOW)
        uow.append_audit([entry(0)])
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        work(probe, half_done)
    assert probe.event_ids() == set()
    assert probe.metric(MetricKey(date(2026, 1, 20), "m", ())) == 0
    assert probe.alert(an_alert(2).alert_id) is None
    assert probe.audit_rows() == [] and probe.outbox_size() == 0


# --- the ledger's entities and the versions of amended records -----------------------------


def test_entities_are_kept_replaced_and_removed(probe: Probe):
    ref = Ref(Kind.CASE, case_id(3))
    case = apply(None, ref, interception(3))
    work(probe, lambda u: u.put_entities([case]))
    assert work(probe, lambda u: u.get_entities(Kind.CASE, [case_id(3)])) == {case_id(3): case}
    later = apply(case, ref, interception(3, minutes=60))
    work(probe, lambda u: u.put_entities([later]))
    assert work(probe, lambda u: u.get_entities(Kind.CASE, [case_id(3)]))[case_id(3)] == later
    work(probe, lambda u: u.remove_entities([(Kind.CASE, case_id(3))]))
    assert work(probe, lambda u: u.get_entities(Kind.CASE, [case_id(3)])) == {}


def test_entities_whose_keys_hold_any_text_are_found_and_removed(probe: Probe):
    """Keys reach PostgreSQL as one array literal (sinks.postgres.pg_array): a police
    reference with a comma, quotes, braces, a backslash or the word NULL is one key."""
    refs = ['LP/B/45,"I"/2026', "{LP}\\B NULL", "NULL", " LP/B/7 "]
    made = {ref: apply(None, Ref(Kind.INVESTIGATION, ref), investigation(ref)) for ref in refs}
    work(probe, lambda u: u.put_entities(list(made.values())))
    asked = [*refs, "LP/B/45", "I"]
    assert work(probe, lambda u: u.get_entities(Kind.INVESTIGATION, asked)) == made
    work(probe, lambda u: u.remove_entities([(Kind.INVESTIGATION, refs[0])]))
    left = work(probe, lambda u: u.get_entities(Kind.INVESTIGATION, asked))
    assert set(left) == set(refs[1:])


def test_a_records_version_is_kept_and_replaced(probe: Probe):
    root, head = str(uuid.uuid4()), str(uuid.uuid4())
    cells = ((date(2026, 1, 20), "sinergi_interceptions_total", (("post", "eltari"),), 1),)
    version = FactVersion(root, "InterceptionRecorded", "post-eltari", root, None,
                          refs=(f"case:{case_id(4)}",), cells=cells)  # fmt: skip
    work(probe, lambda u: u.put_versions([version]))
    assert work(probe, lambda u: u.versions([root, head])) == {root: version}
    moved = dataclasses.replace(version, head_id=head, head_order=(NOW, head), refs=())
    work(probe, lambda u: u.put_versions([moved]))
    assert work(probe, lambda u: u.versions([root])) == {root: moved}


def test_metric_cells_add_up_and_can_be_taken_back(probe: Probe):
    key = MetricKey(date(2026, 1, 20), "sinergi_deaths_total", (("procedural", "unknown"),))
    work(probe, lambda u: u.add_metrics({key: 3}))
    work(probe, lambda u: u.add_metrics({key: -1}))
    assert probe.metric(key) == 2


# --- alerts -------------------------------------------------------------------------------


def test_an_alert_is_raised_once_withdrawn_when_it_stops_holding_and_raised_again(probe: Probe):
    alert = an_alert(5)
    first = work(probe, lambda u: u.sync_alerts({"case:5": [alert]}, NOW))
    assert (first.raised, first.withdrawn) == ([alert], [])
    again = work(probe, lambda u: u.sync_alerts({"case:5": [alert]}, NOW))
    assert (again.raised, again.withdrawn) == ([], [])
    gone = work(probe, lambda u: u.sync_alerts({"case:5": []}, NOW))
    assert [(source, a.alert_id) for source, a in gone.withdrawn] == [("case:5", alert.alert_id)]
    assert probe.alert(alert.alert_id) == "withdrawn"
    back = work(probe, lambda u: u.sync_alerts({"case:5": [alert]}, NOW))
    assert [a.alert_id for a in back.raised] == [alert.alert_id]
    assert probe.alert(alert.alert_id) == "raised"


@pytest.mark.parametrize(("old", "new"), [("case:a", "case:b"), ("case:b", "case:a")])
def test_an_alert_that_moves_to_another_source_holds_there_whatever_their_order(
    probe: Probe, old: str, new: str
):
    """A correction moves a record, and the alert it caused, to another person's case:
    the alert stays raised under its new source, and is raised again, naming its new case
    (police who read the first one learn which case it is now); the old source, evaluated
    then or later without it, does not withdraw it."""
    alert = an_alert(11)
    assert work(probe, lambda u: u.sync_alerts({old: [alert]}, NOW)).raised == [alert]
    moved = dataclasses.replace(alert, case_ids=(case_id(12),))
    both = work(probe, lambda u: u.sync_alerts({old: [], new: [moved]}, NOW))
    assert (both.raised, both.withdrawn) == ([moved], [])
    later = work(probe, lambda u: u.sync_alerts({old: []}, NOW + timedelta(hours=1)))
    assert (later.raised, later.withdrawn) == ([], [])
    assert probe.alert(alert.alert_id) == "raised"
    assert work(probe, lambda u: u.raised_alerts([old, new])) == {new: [moved]}
    gone = work(probe, lambda u: u.sync_alerts({new: []}, NOW + timedelta(hours=2)))
    assert [(source, a.alert_id) for source, a in gone.withdrawn] == [(new, alert.alert_id)]


@pytest.mark.parametrize(("old", "new"), [("case:c", "case:d"), ("case:d", "case:c")])
def test_a_withdrawn_alert_that_holds_again_under_another_source_is_raised_again(
    probe: Probe, old: str, new: str
):
    alert = an_alert(13)
    work(probe, lambda u: u.sync_alerts({old: [alert]}, NOW))
    work(probe, lambda u: u.sync_alerts({old: []}, NOW))
    assert probe.alert(alert.alert_id) == "withdrawn"
    back = work(probe, lambda u: u.sync_alerts({new: [alert]}, NOW + timedelta(hours=1)))
    assert [a.alert_id for a in back.raised] == [alert.alert_id]
    assert probe.alert(alert.alert_id) == "raised"
    assert work(probe, lambda u: u.raised_alerts([old, new])) == {new: [alert]}


def test_an_alert_that_holds_with_new_causes_is_rewritten_and_one_that_holds_as_it_was_is_not(
    probe: Probe,
):
    """What a raised alert says follows the ledger (more cases, a new summary), and an
    alert that holds as it did stays as it is, raised once."""
    alert = an_alert(6)
    assert work(probe, lambda u: u.sync_alerts({"case:6": [alert]}, NOW)).raised == [alert]
    grown = dataclasses.replace(
        alert, case_ids=(*alert.case_ids, case_id(60)), summary="Dua kasus", since=T0
    )
    again = work(probe, lambda u: u.sync_alerts({"case:6": [grown]}, NOW + timedelta(hours=1)))
    assert (again.raised, again.withdrawn) == ([], [])
    assert work(probe, lambda u: u.raised_alerts(["case:6"])) == {"case:6": [grown]}
    same = work(probe, lambda u: u.sync_alerts({"case:6": [grown]}, NOW + timedelta(hours=2)))
    assert (same.raised, same.withdrawn) == ([], [])
    assert work(probe, lambda u: u.raised_alerts(["case:6"])) == {"case:6": [grown]}
    assert probe.alert(alert.alert_id) == "raised"


def test_a_source_considered_in_part_decides_only_those_alerts(probe: Probe):
    """A recruiter evaluated on a window of its facts decides only the alerts the window
    can (``considered``): the others stand, raised, and are not read back either."""
    source = "recruiter:r1"
    first, second, third = an_alert(11), an_alert(12), an_alert(13)
    raised = work(probe, lambda u: u.sync_alerts({source: [first, second, third]}, NOW))
    assert len(raised.raised) == 3
    changed = dataclasses.replace(second, summary="Tiga orang")
    decided = {source: {second.alert_id, third.alert_id}}
    then = work(probe, lambda u: u.sync_alerts({source: [changed]}, NOW, decided))
    assert (then.raised, [a.alert_id for _, a in then.withdrawn]) == ([], [third.alert_id])
    standing = sorted([first, changed], key=lambda a: a.alert_id)  # in alert id order
    assert work(probe, lambda u: u.raised_alerts([source])) == {source: standing}
    only = work(probe, lambda u: u.raised_alerts([source], only=[first.alert_id]))
    assert only == {source: [first]}
    assert work(probe, lambda u: u.raised_alerts([source], only=[third.alert_id])) == {}


def test_an_alert_not_yet_due_waits_and_is_raised_when_due(probe: Probe):
    alert = an_alert(6, due_at=NOW + timedelta(hours=24))
    held = work(probe, lambda u: u.sync_alerts({"case:6": [alert]}, NOW))
    assert held.raised == [] and probe.alert(alert.alert_id) == "held"
    assert work(probe, lambda u: u.raise_due(NOW + timedelta(hours=23))) == []
    [due] = work(probe, lambda u: u.raise_due(NOW + timedelta(hours=25)))
    assert due.alert_id == alert.alert_id and probe.alert(alert.alert_id) == "raised"


def test_an_alert_that_stops_holding_while_it_waits_is_never_raised(probe: Probe):
    alert = an_alert(7, due_at=NOW + timedelta(hours=24))
    work(probe, lambda u: u.sync_alerts({"case:7": [alert]}, NOW))
    dropped = work(probe, lambda u: u.sync_alerts({"case:7": []}, NOW))
    assert dropped.withdrawn == [] and probe.alert(alert.alert_id) is None
    assert work(probe, lambda u: u.raise_due(NOW + timedelta(days=2))) == []


def test_an_alert_claimed_early_is_raised_once_and_withdrawn_if_the_ledger_does_not_hold_it(
    probe: Probe,
):
    alert = an_alert(8)
    assert work(probe, lambda u: u.claim_alerts([("case:8", alert)] * 2)) == [alert]
    assert probe.alert(alert.alert_id) == "raised"
    assert work(probe, lambda u: u.claim_alerts([("case:8", alert)])) == []
    confirmed = work(probe, lambda u: u.sync_alerts({"case:8": [alert]}, NOW))
    assert (confirmed.raised, confirmed.withdrawn) == ([], [])
    gone = work(probe, lambda u: u.sync_alerts({"case:8": []}, NOW))
    assert [(source, a.alert_id) for source, a in gone.withdrawn] == [("case:8", alert.alert_id)]
    assert work(probe, lambda u: u.claim_alerts([("case:8", alert)])) == []
    assert probe.alert(alert.alert_id) == "withdrawn"


def test_an_alert_is_not_claimed_once_the_ledger_raised_it_or_stored_its_cause(probe: Probe):
    raised = an_alert(9)
    work(probe, lambda u: u.sync_alerts({"case:9": [raised]}, NOW))
    event = interception(10)
    decided = dataclasses.replace(an_alert(10), cause_event_ids=(event.event_id,))
    work(probe, lambda u: u.add_events([stored(event)]))
    fresh = an_alert(11)
    claims = [("case:9", raised), ("case:10", decided), ("case:11", fresh)]
    assert work(probe, lambda u: u.claim_alerts(claims)) == [fresh]
    assert probe.alert(decided.alert_id) is None


def test_a_claim_whose_unit_fails_leaves_nothing(probe: Probe):
    alert = an_alert(12)
    claimed: list[Alert] = []

    def claim_then_fail() -> None:
        with probe.store.unit_of_work() as uow:
            claimed.extend(uow.claim_alerts([("case:12", alert)]))
            raise RuntimeError("Kafka did not acknowledge the alert")

    with pytest.raises(RuntimeError):
        claim_then_fail()
    assert claimed == [alert]
    assert probe.alert(alert.alert_id) is None
    assert work(probe, lambda u: u.claim_alerts([("case:12", alert)])) == [alert]


def ack(alert_id: str, minutes: int) -> Acknowledgement:
    event = acknowledgement(alert_id, minutes=minutes)
    return Acknowledgement(
        alert_id, event.event_id, event.occurred_at, event.envelope.unit, "POLDA-1", "NOTED"
    )


def test_the_earliest_acknowledgement_wins_whatever_the_order(probe: Probe):
    target = an_alert(8).alert_id
    late, early, middle = ack(target, 30), ack(target, 10), ack(target, 20)
    assert work(probe, lambda u: u.add_acknowledgements([late])) == [late]
    assert work(probe, lambda u: u.add_acknowledgements([middle, early])) == []
    assert probe.ack_event(target) == early.event_id


def test_an_acknowledgement_taken_back_leaves_the_next_one_or_none(probe: Probe):
    """A retracted acknowledgement (or one corrected to name another alert) no longer
    counts: the alert's next acknowledgement is its first, or it has none again."""
    target, other = an_alert(14).alert_id, an_alert(15).alert_id
    early, late, alone = ack(target, 10), ack(target, 30), ack(other, 5)
    work(probe, lambda u: u.add_acknowledgements([late, early, alone]))
    work(probe, lambda u: u.remove_acknowledgements({early.event_id}))
    assert (probe.ack_event(target), probe.ack_event(other)) == (late.event_id, alone.event_id)
    work(probe, lambda u: u.remove_acknowledgements({late.event_id, alone.event_id}))
    assert (probe.ack_event(target), probe.ack_event(other)) == (None, None)
    # A correction: the record taken back, its corrected version (same record id) added.
    moved = dataclasses.replace(alone, alert_id=target)
    work(probe, lambda u: u.add_acknowledgements([alone]))
    work(probe, lambda u: (u.remove_acknowledgements({alone.event_id}),
                           u.add_acknowledgements([moved])))  # fmt: skip
    assert (probe.ack_event(target), probe.ack_event(other)) == (alone.event_id, None)


# --- the audit trail ------------------------------------------------------------------------


def test_the_audit_continues_each_partitions_chain_across_batches(probe: Probe):
    work(probe, lambda u: u.append_audit([entry(0), entry(0, partition=1)]))
    work(probe, lambda u: u.append_audit([entry(1), entry(1, partition=1), entry(2)]))
    rows = probe.audit_rows()
    check = verify_chains(rows)
    assert check.intact and check.entries == 5 and check.chains == 2
    by_chain: dict[str | None, list[AuditRow]] = {}
    for row in rows:
        by_chain.setdefault(row[1], []).append(row)
    for chain in by_chain.values():
        for before, after in itertools.pairwise(chain):
            assert after[3] == before[4]  # each entry follows its own partition's previous


# --- the outbox -----------------------------------------------------------------------------


def test_a_batchs_rows_are_relayed_from_its_copy_behind_older_rows_of_their_key(probe: Probe):
    def message(key: bytes, n: int) -> OutboxMessage:
        return OutboxMessage(probe.topic, key, b"v%d" % n, (("sinergi-test", b"%d" % n),))

    older = work(probe, lambda u: u.add_outbox([message(b"case-a", 1)]))  # an earlier batch's
    rows = [message(b"case-a", 2), message(b"case-b", 3), message(b"case-b", 4)]
    ids = work(probe, lambda u: u.add_outbox(rows))
    assert ids == sorted(ids) and len(set(ids)) == 3 and min(ids) > max(older)
    written = list(zip(ids, rows, strict=True))
    # case-a's row waits behind the older one of its key; case-b's rows go.
    assert probe.relay.publish(written) == 1
    assert probe.outbox_size() == 2
    assert probe.relay.publish(written) == 1  # nothing sent twice; it still waits
    assert probe.relay.publish_pending() == 2  # the whole outbox, oldest first
    assert probe.relay.publish(written) == 0 and probe.outbox_size() == 0
    # Another worker's row among ours (their ids interleaved): ours of its key waits.
    rows = [message(b"case-c", 5), message(b"case-d", 6), message(b"case-d", 7)]
    ids = work(probe, lambda u: u.add_outbox(rows))
    assert probe.relay.publish([(ids[0], rows[0]), (ids[2], rows[2])]) == 1
    assert probe.relay.publish_pending() == 2
    assert probe.published(7) == {
        b"case-a": [b"v1", b"v2"],
        b"case-b": [b"v3", b"v4"],
        b"case-c": [b"v5"],
        b"case-d": [b"v6", b"v7"],
    }
