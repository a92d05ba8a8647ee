"""Police are told of new alerts without a terminal: a minor intercepted at El Tari is
notified to Polres Timor Tengah Selatan's webhook (signed, retried after a failure, each
attempt logged) and to Polda NTT's e-mail, received by a local SMTP server; Polres Belu,
whose regency it is not about, hears nothing. Nothing personal is in either."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from processors.alerts import Alert
from schemas.model import WITA, Agency, AlertRule, Severity
from sinergi import bootstrap
from sinergi.web.desk import Recorder
from sinergi.web.notifier import Channel, webhook_secret
from sinks.postgres import PostgresLedgerStore
from tests.integration.hub import Hub, free_port

MINOR_NIK = "5302014101120001"
RECRUITER = "081234567890"


class Receiver:
    """A webhook receiver on loopback: fails its first request (503), accepts the rest."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 503 if not receiver.requests else 200
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()},
                                          body, status))  # fmt: skip
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def receiver() -> Any:
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture
def mailbox() -> Any:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


def test_a_new_alert_is_pushed_signed_retried_and_mailed_to_the_units_that_see_it(
    hub: Hub, receiver: Receiver, mailbox: tuple[Mailbox, int]
) -> None:
    box, smtp_port = mailbox
    bootstrap.ensure_web_role(hub.settings)
    settings = hub.settings.with_overrides(
        smtp_port=smtp_port, notify_retry_base_s=0.2, web_public_url="http://sinergi.test"
    )
    store = bootstrap.notification_store(settings)
    since = datetime.now(UTC) - timedelta(minutes=1)
    for channel_id, unit, kind, target in (
        ("tts-hook", "police-polres-5302", "webhook", receiver.url),
        ("polda-mail", "police-polda-ntt", "email", "piket@polda-ntt.test"),
        ("belu-hook", "police-polres-5304", "webhook", receiver.url),
    ):
        store.add_channel(Channel(channel_id, unit, kind, target, "HIGH", since))

    occurred = (datetime.now(UTC) - timedelta(hours=1)).astimezone(WITA)
    row = {
        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M"), "nik": MINOR_NIK, "sex": "P",
        "origin_regency": "5302", "destination_country": "MY", "recruiter": RECRUITER,
        "outcome": "SENT_HOME",
    }  # fmt: skip
    Recorder(settings).record(Agency.POST, "post-eltari", "interception", row, "ELT-07")
    hub.start_worker()
    hub.wait_for(lambda: bool(hub.query("SELECT 1 FROM alerts")), what="the alert", timeout=120)
    (alert_id,) = hub.query("SELECT alert_id::text FROM alerts")[0]

    notifier = bootstrap.notifier(settings)

    def delivered() -> bool:
        notifier.cycle()
        states = {r["channel_id"]: r["status"] for r in store.deliveries()}
        return states == {"tts-hook": "delivered", "polda-mail": "delivered"}

    hub.wait_for(delivered, what="both notifications delivered", timeout=120)

    # The webhook: refused once (503), retried, accepted; the same idempotency key; signed.
    assert [status for _, _, status in receiver.requests] == [503, 200]
    secret = webhook_secret(settings.secrets_dir, "tts-hook")
    for headers, body, _ in receiver.requests:
        assert headers["idempotency-key"] == alert_id
        stamp = headers["x-sinergi-timestamp"]
        expected = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert headers["x-sinergi-signature"] == f"sha256={expected}"
        sent = json.loads(body)
        assert sent["rule"] == "MINOR_INTERCEPTED" and sent["severity"] == "HIGH"
        assert {r["name"] for r in sent["regencies"]} == {"Timor Tengah Selatan", "Kota Kupang"}
        assert sent["link"] == f"http://sinergi.test/alerts/{alert_id}"
        assert MINOR_NIK.encode() not in body and RECRUITER.encode() not in body
        assert b"nik:" not in body
    log = [(a["outcome"], a["detail"]) for a in store.attempts(alert_id)
           if a["channel_id"] == "tts-hook"]  # fmt: skip
    assert log == [("failed", "HTTP 503"), ("delivered", "HTTP 200")]

    # The e-mail: one message, rule and regency, a link; nothing personal.
    (mail,) = box.messages
    assert b"MINOR_INTERCEPTED" in mail and b"Timor Tengah Selatan" in mail
    assert f"http://sinergi.test/alerts/{alert_id}".encode() in mail
    assert MINOR_NIK.encode() not in mail and RECRUITER.encode() not in mail

    # Belu is not told; running again sends nothing twice.
    assert "belu-hook" not in {r["channel_id"] for r in store.deliveries()}
    notifier.cycle()
    time.sleep(0.5)
    notifier.cycle()
    assert len(receiver.requests) == 2 and len(box.messages) == 1


def raised(store: PostgresLedgerStore, numbers: range) -> list[str]:
    """Alerts raised in one transaction of the ledger (one raised_at), each its own case's."""
    alerts = [
        Alert(alert_id=str(uuid.UUID(int=n)), rule=AlertRule.MINOR_INTERCEPTED,
              severity=Severity.HIGH, case_ids=(f"nik:{n:032x}",),
              cause_event_ids=(str(uuid.UUID(int=10**9 + n)),), summary="Anak dicegah",
              triggered_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n))
        for n in numbers
    ]  # fmt: skip
    with store.unit_of_work() as work:
        work.claim_alerts([(f"case:{a.case_ids[0]}", a) for a in alerts])
    return [a.alert_id for a in alerts]


def polda_notifier(hub: Hub) -> tuple[Any, Any, list[str]]:
    """The notifier of the hub's settings, with a channel for Polda that records what it
    is sent; its store."""
    bootstrap.ensure_web_role(hub.settings)
    store = bootstrap.notification_store(hub.settings)
    store.add_channel(Channel("polda-piket", "police-polda-ntt", "webhook", "http://unused",
                              "HIGH", datetime.now(UTC)))  # fmt: skip
    notifier = bootstrap.notifier(hub.settings)
    sent: list[str] = []

    def record(channel: Channel, alert: Any, link: str) -> str:
        sent.append(alert.alert_id)
        return "HTTP 200"

    notifier.senders = {"webhook": record}
    return notifier, store, sent


def test_a_backlog_longer_than_a_read_is_queued_whole(hub: Hub) -> None:
    """More alerts wait than one cycle reads (a page: 5,000, here 2), five of them raised
    in one transaction (one raised_at): each cycle continues after the last one read,
    oldest first, and every alert is queued."""
    ledger = PostgresLedgerStore(bootstrap.conninfo(hub.settings, "sinergi_processor"))
    notifier, store, _ = polda_notifier(hub)
    ids = raised(ledger, range(5, 0, -1)) + raised(ledger, range(6, 8))
    ledger.close()
    notifier.page = 2
    for _ in range(4):
        notifier.queue()
    assert sorted(r["alert_id"] for r in store.deliveries()) == sorted(ids)


def test_an_alert_withdrawn_while_its_notification_waited_is_sent_when_it_holds_again(
    hub: Hub,
) -> None:
    """A late fact withdraws an alert before it is delivered; the fact is retracted and
    the alert holds again (same id, same raised_at): it is notified then, once."""
    ledger = PostgresLedgerStore(bootstrap.conninfo(hub.settings, "sinergi_processor"))
    notifier, store, sent = polda_notifier(hub)
    ids = raised(ledger, range(1, 4))
    notifier.queue()
    again, source = str(uuid.UUID(int=2)), f"case:nik:{2:032x}"
    with ledger.unit_of_work() as work:
        [(_, withdrawn)] = work.sync_alerts({source: []}, datetime.now(UTC)).withdrawn
    assert withdrawn.alert_id == again
    assert notifier.deliver() == 2 and again not in sent
    assert {r["alert_id"]: r["status"] for r in store.deliveries()}[again] == "withdrawn"
    notifier.cycle()
    assert again not in sent  # withdrawn still: not sent
    with ledger.unit_of_work() as work:
        work.sync_alerts({source: [withdrawn]}, datetime.now(UTC))
    ledger.close()
    assert notifier.cycle() == 1
    assert sent.count(again) == 1 and sorted(sent) == sorted(ids)
    assert {r["status"] for r in store.deliveries()} == {"delivered"}
    notifier.cycle()
    assert len(sent) == len(ids)


def test_an_alert_a_correction_moves_is_read_again_as_changed_and_told_once(hub: Hub) -> None:
    """A correction moves an alert to another person's case (same id, raised before): the
    notifier reads it again among the alerts changed since (for the Polres of a regency
    it now concerns: tests/unit/test_web_notifier.py), and a channel told already is not
    told twice."""
    ledger = PostgresLedgerStore(bootstrap.conninfo(hub.settings, "sinergi_processor"))
    notifier, store, sent = polda_notifier(hub)
    [moved] = raised(ledger, range(1, 2))
    assert notifier.cycle() == 1 and sent == [moved]
    before = datetime.now(UTC)  # after the raise committed (PostgreSQL's clock is ours)
    reader = bootstrap.ledger_reader(hub.settings)
    assert [a.alert_id for a in reader.changed_since(before)] == []
    with ledger.unit_of_work() as work:
        [alert] = work.raised_alerts([f"case:nik:{1:032x}"])[f"case:nik:{1:032x}"]
        elsewhere = dataclasses.replace(alert, case_ids=(f"nik:{99:032x}",))
        changes = work.sync_alerts(
            {f"case:nik:{1:032x}": [], f"case:nik:{99:032x}": [elsewhere]}, datetime.now(UTC)
        )
    ledger.close()
    assert [a.alert_id for a in changes.raised] == [moved]  # raised again, naming the case
    [found] = reader.changed_since(before)
    assert found.alert_id == moved and found.case_ids == (f"nik:{99:032x}",)
    assert reader.statuses([moved, str(uuid.UUID(int=404))]) == {moved: "open"}  # the inbox's
    notifier.cycle()
    notifier.cycle()
    assert sent == [moved] and len(store.deliveries()) == 1
