"""Notifications: signed, routed to the units that see the alert, retried with capped
backoff, and free of personal data."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sinergi.web.ledger import Alert
from sinergi.web.notifier import (
    Channel,
    Due,
    Notifier,
    email_message,
    payload,
    sign,
    verify,
)
from sinergi.web.routing import units_for
from tests.unit.web_fakes import NOW, alert


def channel(unit: str, min_severity: str = "HIGH") -> Channel:
    return Channel("c1", unit, "webhook", "http://127.0.0.1:1/hook", min_severity,
                   since=NOW - timedelta(hours=1))  # fmt: skip


def test_the_signature_is_hmac_sha256_over_the_timestamp_and_the_body() -> None:
    body = b'{"alert_id":"x"}'
    expected = hmac.new(b"secret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(b"secret", "1700000000", body) == f"sha256={expected}"
    assert verify(b"secret", "1700000000", body, f"sha256={expected}")
    assert not verify(b"secret", "1700000001", body, f"sha256={expected}")
    assert not verify(b"other", "1700000000", body, f"sha256={expected}")


def test_polda_and_the_polres_of_the_alerts_regencies_are_told() -> None:
    assert units_for(["5302", "5371"]) == {
        "police-polda-ntt", "police-polres-5302", "police-polres-5371",
    }  # fmt: skip
    # Sumba Tengah is in Polres Sumba Barat's jurisdiction.
    assert units_for(["5317"]) == {"police-polda-ntt", "police-polres-5312"}
    minor = alert("a1", "5302")
    assert channel("police-polres-5302").wants(minor)
    assert channel("police-polda-ntt").wants(minor)
    assert not channel("police-polres-5304").wants(minor)
    assert not channel("police-polres-5302", "CRITICAL").wants(minor)


def test_retries_back_off_exponentially_up_to_the_cap() -> None:
    notifier = Notifier(None, None, None, {}, str, retry_base_s=2, retry_max_s=30,  # type: ignore[arg-type]
                        changed_since=lambda since, after, limit: [])  # fmt: skip
    waits = [notifier.backoff(n).total_seconds() for n in range(1, 8)]
    assert waits == [2, 4, 8, 16, 30, 30, 30]


def test_a_notification_carries_rule_severity_regency_and_a_link_only() -> None:
    minor = alert("a1", "5302")
    body = payload(minor, "http://127.0.0.1:18080/alerts/a1")
    assert set(body) == {"alert_id", "rule", "severity", "regencies", "raised_at", "link"}
    assert body["regencies"] == [{"code": "5302", "name": "Timor Tengah Selatan"}]
    text = json.dumps(body) + email_message(minor, body["link"], "a@b", "c@d").as_string()
    assert "nik:" not in text and minor.summary not in text


# --- the notifier's cycle over an in-memory ledger and store -------------------------------------


class Ledger:
    """The alerts table as the notifier reads it (LedgerReader.raised_since,
    .changed_since, .alert); an alert changed when it was raised, unless said otherwise."""

    def __init__(self, alerts: list[Alert]) -> None:
        self.alerts = {a.alert_id: a for a in alerts}

    def raised_since(self, since: datetime, after: str | None, limit: int) -> list[Alert]:
        ordered = sorted(self.alerts.values(), key=lambda a: (a.raised_at, a.alert_id))
        start = (since, after or "")
        return [a for a in ordered if (a.raised_at, a.alert_id) >= start
                and (after is None or (a.raised_at, a.alert_id) != start)][:limit]  # fmt: skip

    def changed_since(self, since: datetime, after: str | None, limit: int) -> list[Alert]:
        def changed(a: Alert) -> tuple[datetime, str]:
            return (a.updated_at or a.raised_at, a.alert_id)

        holding = sorted((a for a in self.alerts.values() if a.status != "withdrawn"), key=changed)
        start = (since, after or "")
        return [a for a in holding if changed(a) >= start
                and (after is None or changed(a) != start)][:limit]  # fmt: skip

    def alert(self, alert_id: str) -> Alert | None:
        return self.alerts.get(alert_id)

    def set_status(self, alert_id: str, status: str, at: datetime = NOW) -> None:
        self.alerts[alert_id] = replace(self.alerts[alert_id], status=status, updated_at=at)


class Store:
    """notification_deliveries and channels in memory (NotificationStore's methods)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.rows: dict[str, dict[str, Any]] = {}  # alert id -> its delivery

    def channels(self) -> list[Channel]:
        return [self.channel]

    def last_raised(self) -> datetime | None:
        return max((r["raised_at"] for r in self.rows.values()), default=None)

    def enqueue(self, pairs: Sequence[tuple[Alert, Channel]]) -> int:
        new = [a for a, _ in pairs if a.alert_id not in self.rows]
        for a in new:
            self.rows[a.alert_id] = {"status": "pending", "attempts": 0, "due": NOW,
                                     "raised_at": a.raised_at}  # fmt: skip
        return len(new)

    def due(self, now: datetime, limit: int = 50) -> list[Due]:
        return [Due(k, self.channel, r["attempts"]) for k, r in sorted(self.rows.items())
                if r["status"] == "pending" and r["due"] <= now][:limit]  # fmt: skip

    def finished(self, due: Due, outcome: str, detail: str, next_at: datetime | None) -> None:
        row = self.rows[due.alert_id]
        row["status"] = {"delivered": "delivered", "withdrawn": "withdrawn"}.get(outcome, "pending")

    def reopen(self, alert_ids: Sequence[str], now: datetime) -> int:
        reopened = [
            k for k in alert_ids if k in self.rows and self.rows[k]["status"] == "withdrawn"
        ]
        for k in reopened:
            self.rows[k] |= {"status": "pending", "due": now}
        return len(reopened)


def notifier_over(alerts: list[Alert], **options: Any) -> tuple[Notifier, Store, Ledger, list[str]]:
    ledger = Ledger(alerts)
    store = Store(channel("police-polda-ntt"))
    sent: list[str] = []

    def send(channel: Channel, a: Alert, link: str) -> str:
        sent.append(a.alert_id)
        return "HTTP 200"

    options = {"changed_since": ledger.changed_since, **options}
    notifier = Notifier(store, ledger.raised_since, ledger.alert, {"webhook": send},  # type: ignore[arg-type]
                        str, clock=lambda: NOW, **options)  # fmt: skip
    return notifier, store, ledger, sent


def test_an_alert_withdrawn_while_its_notification_waited_is_sent_when_it_holds_again() -> None:
    """A late registration withdraws an alert before it is sent; the registration is
    retracted and the alert holds again, under the same id and raised_at: it is sent."""
    notifier, store, ledger, sent = notifier_over([alert("a1", "5302")])
    assert notifier.queue() == 1
    ledger.set_status("a1", "withdrawn")
    assert notifier.deliver() == 0 and store.rows["a1"]["status"] == "withdrawn"
    notifier.cycle()
    assert sent == [] and store.rows["a1"]["status"] == "withdrawn"  # still withdrawn: not sent
    ledger.set_status("a1", "open")
    assert notifier.cycle() == 1
    assert sent == ["a1"] and store.rows["a1"]["status"] == "delivered"
    notifier.cycle()
    assert sent == ["a1"]  # once


def test_a_backlog_longer_than_one_read_is_queued_whole_oldest_first() -> None:
    """After an outage more alerts wait than one cycle reads (5,000; 3 here), raised within
    minutes, some in one transaction (one raised_at): each cycle continues after the last
    alert the one before read, and every alert is queued."""
    backlog = [replace(alert(f"a{n:02d}", "5302"), raised_at=NOW + timedelta(seconds=n // 4))
               for n in range(10)]  # fmt: skip
    notifier, store, _, _ = notifier_over(backlog, page=3)
    for _ in range(5):
        notifier.queue()
    assert sorted(store.rows) == [a.alert_id for a in backlog]


def test_an_alert_a_correction_moves_to_another_regency_is_notified_to_that_polres_too() -> None:
    """The record behind an alert is corrected to another person, from another regency:
    the alert moves to that person's case (the same alert, raised before). The Polres of
    the new regency is told; the one told already is not told twice."""
    first = alert("a1", "5302")
    ledger = Ledger([first])
    channels = [
        Channel(unit, unit, "webhook", "http://127.0.0.1:1/hook", "HIGH",
                since=NOW - timedelta(hours=1))
        for unit in ("police-polres-5302", "police-polres-5304")
    ]  # fmt: skip
    queued: list[tuple[str, str]] = []

    class Deliveries:
        def channels(self) -> list[Channel]:
            return channels

        def last_raised(self) -> datetime | None:
            return None

        def enqueue(self, pairs: Sequence[tuple[Alert, Channel]]) -> int:
            new = [(a.alert_id, c.channel_id) for a, c in pairs
                   if (a.alert_id, c.channel_id) not in queued]  # fmt: skip
            queued.extend(new)
            return len(new)

        def reopen(self, alert_ids: Sequence[str], now: datetime) -> int:
            return 0  # none was withdrawn

    changed: list[Alert] = []
    clock = [NOW]

    def changed_since(since: datetime, after: str | None, limit: int) -> list[Alert]:
        return [a for a in changed if a.updated_at is not None and a.updated_at >= since]

    notifier = Notifier(Deliveries(), ledger.raised_since, ledger.alert, {}, str,  # type: ignore[arg-type]
                        clock=lambda: clock[0], changed_since=changed_since)  # fmt: skip
    notifier.queue()
    assert queued == [("a1", "police-polres-5302")]
    # Moved half an hour later, while the notifier was down for two hours: it goes on
    # from the last change it read, not from its clock.
    moved = replace(first, regencies=("5304",), updated_at=NOW + timedelta(minutes=30))
    ledger.alerts["a1"] = moved
    changed.append(moved)
    clock[0] = NOW + timedelta(hours=2)
    notifier.queue()
    notifier.queue()
    assert queued == [("a1", "police-polres-5302"), ("a1", "police-polres-5304")]


def test_after_more_changes_than_one_read_an_alert_holding_again_is_still_sent() -> None:
    """More alerts change at once than one read takes (5,000; 3 here: a processor
    catching up raises many in one transaction): the read of changed alerts goes on after
    the last one it read, and an alert withdrawn before it was sent, holding again an hour
    later, is found and sent."""
    burst = [replace(alert(f"b{n}", "5302"), updated_at=NOW) for n in range(5)]
    target = replace(alert("z1", "5302"), raised_at=NOW - timedelta(minutes=1),
                     updated_at=NOW - timedelta(minutes=1))  # fmt: skip
    ledger = Ledger([target, *burst])
    clock = [NOW]

    def changed_since(since: datetime, after: str | None, limit: int) -> list[Alert]:
        ordered = sorted((a for a in ledger.alerts.values()
                          if a.status != "withdrawn" and a.updated_at is not None),
                         key=lambda a: (a.updated_at, a.alert_id))  # fmt: skip
        start = (since, after or "")
        return [a for a in ordered if (a.updated_at, a.alert_id) >= start  # type: ignore[operator]
                and (after is None or (a.updated_at, a.alert_id) != start)][:limit]  # fmt: skip

    notifier, store, _, sent = notifier_over([], page=3, changed_since=changed_since)
    notifier.alerts_since, notifier.alert_by_id = ledger.raised_since, ledger.alert
    notifier.clock = lambda: clock[0]
    notifier.queue()
    ledger.set_status("z1", "withdrawn")
    notifier.deliver()
    assert store.rows["z1"]["status"] == "withdrawn"
    clock[0] = NOW + timedelta(hours=1)
    ledger.alerts["z1"] = replace(ledger.alerts["z1"], status="open", updated_at=clock[0])
    for _ in range(5):
        notifier.cycle()
    assert "z1" in sent and store.rows["z1"]["status"] == "delivered"
