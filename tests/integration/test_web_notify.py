"""Police are told of new alerts without a terminal: a minor intercepted at El Tari is
notified to Polres Timor Tengah Selatan's webhook (signed, retried after a failure, each
attempt logged) and to Polda NTT's e-mail, received by a local SMTP server; Polres Belu,
whose regency it is not about, hears nothing. Nothing personal is in either."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from schemas.model import WITA, Agency
from sinergi import bootstrap
from sinergi.web.desk import Recorder
from sinergi.web.notifier import Channel, webhook_secret
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
