"""Notifications: signed, routed to the units that see the alert, retried with capped
backoff, and free of personal data."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from sinergi.web.notifier import Channel, Notifier, email_message, payload, sign, verify
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
    notifier = Notifier(None, None, None, {}, str, retry_base_s=2, retry_max_s=30)  # type: ignore[arg-type]
    waits = [notifier.backoff(n).total_seconds() for n in range(1, 8)]
    assert waits == [2, 4, 8, 16, 30, 30, 30]


def test_a_notification_carries_rule_severity_regency_and_a_link_only() -> None:
    minor = alert("a1", "5302")
    body = payload(minor, "http://127.0.0.1:18080/alerts/a1")
    assert set(body) == {"alert_id", "rule", "severity", "regencies", "raised_at", "link"}
    assert body["regencies"] == [{"code": "5302", "name": "Timor Tengah Selatan"}]
    text = json.dumps(body) + email_message(minor, body["link"], "a@b", "c@d").as_string()
    assert "nik:" not in text and minor.summary not in text
