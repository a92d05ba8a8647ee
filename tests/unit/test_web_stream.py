"""The police inbox and its live stream (server-sent events) against a fake ledger."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from sinergi.web import police_pages
from sinergi.web.sessions import LANG_COOKIE
from tests.unit.web_fakes import ALERT_BELU, ALERT_TTS, NOW, alert, client, log_in, services


def test_an_alert_acknowledged_before_the_stream_first_looks_is_sent_as_changed() -> None:
    """The acknowledgement's redirect draws the inbox before the processor has taken the
    acknowledgement in; the stream, connecting after it has, must still tell the page."""
    svc = services()
    svc.ledger.alerts_list = [alert(ALERT_TTS, "5302", status="acknowledged"),
                              alert(ALERT_BELU, "5302")]  # fmt: skip
    c = client(svc)
    log_in(c, "polres-tts")
    drawn = NOW.timestamp() + 3600  # both were raised an hour before the page was drawn
    seen: list[str] = []
    with c.stream("GET", f"/alerts/stream?since={drawn}") as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            seen.append(line)
            if line.startswith(("data:", ": keep-alive")):  # an event, or a quiet while
                break
    assert "event: status" in seen
    data = json.loads(seen[-1].removeprefix("data:"))
    assert (data["id"], data["status"]) == (ALERT_TTS, "acknowledged")
    assert "event: alert" not in seen  # nothing new: both were drawn


# --- the stream over a ledger that changes while it runs ------------------------------------------


def watch(
    c: TestClient, url: str, change: Callable[[], None], *, quiet_after: int = 3
) -> list[tuple[str, str, str]]:
    """(event, alert id, status) the stream sends; ``change`` is made once its first look
    is done (its first keep-alive), and the stream is read until a few more keep-alives."""
    sent: list[tuple[str, str, str]] = []
    kind, changed, quiet = "", False, 0
    with c.stream("GET", url) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data = json.loads(line.removeprefix("data:"))
                sent.append((kind, data["id"], data["status"]))
            elif line.startswith(": keep-alive"):
                if not changed:
                    change()
                    changed = True
                    continue
                quiet += 1
                if quiet >= quiet_after:
                    break
    return sent


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stream looks every 10 ms and sends a keep-alive after 50 ms of quiet."""
    monkeypatch.setattr(police_pages, "STREAM_POLL_S", 0.01)
    monkeypatch.setattr(police_pages, "KEEPALIVE_S", 0.05)


@pytest.mark.usefixtures("quick")
def test_an_open_alert_withdrawn_while_the_inbox_shows_open_alerts_is_sent_as_withdrawn() -> None:
    """Filtered to open alerts, the inbox shows one; it is withdrawn (a late fact): it
    leaves the open alerts, and the page is told, rather than keeping it open."""
    svc = services()
    svc.ledger.alerts_list = [alert(ALERT_TTS, "5302"), alert(ALERT_BELU, "5302")]
    c = client(svc)
    log_in(c, "polres-tts")
    page = c.get("/alerts?status=open").text
    assert ALERT_TTS in page
    url = re.search(r'data-stream="([^"]+)"', page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert "status=open" in url

    def withdraw() -> None:
        svc.ledger.alerts_list = [alert(ALERT_TTS, "5302", status="withdrawn"),
                                  alert(ALERT_BELU, "5302", status="acknowledged")]  # fmt: skip

    sent = watch(c, url, withdraw)
    assert [e for e in sent if e[0] == "status"] == [
        ("status", ALERT_BELU, "acknowledged"),
        ("status", ALERT_TTS, "withdrawn"),
    ]
    # Raised just before the page was drawn, both were sent again as open at first (the
    # page replaces the rows it shows); neither is sent as new once it is not open.
    assert [e for e in sent if e[0] == "alert"] == [
        ("alert", ALERT_BELU, "open"),
        ("alert", ALERT_TTS, "open"),
    ]


@pytest.mark.usefixtures("quick")
def test_an_alert_committed_after_one_stamped_later_is_sent_whenever_it_commits() -> None:
    """``raised_at`` is when the alert's transaction began: a worker's batch raises one,
    the sentinel raises another and commits first, the page is drawn with the
    sentinel's; the batch commits after. Whether before the stream's first look or
    after it, the older-stamped alert reaches the page."""
    svc = services()
    late = alert(ALERT_TTS, "5302")  # stamped NOW, committed late
    sentinel = replace(alert(ALERT_BELU, "5302"), raised_at=NOW + timedelta(seconds=1))
    svc.ledger.alerts_list = [sentinel]
    c = client(svc)
    log_in(c, "polres-tts")
    page = c.get("/alerts").text
    assert ALERT_BELU in page and ALERT_TTS not in page
    url = re.search(r'data-stream="([^"]+)"', page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]

    def commit() -> None:
        svc.ledger.alerts_list = [sentinel, late]

    sent = watch(c, url, commit)  # committed after the stream's first look
    assert ("alert", ALERT_TTS, "open") in sent
    svc.ledger.alerts_list = [sentinel, late]  # committed before it
    sent = watch(c, url, lambda: None)
    assert ("alert", ALERT_TTS, "open") in sent
    # Only what was committed long before the page was drawn is taken as drawn.
    old = replace(late, raised_at=NOW - timedelta(hours=1))
    svc.ledger.alerts_list = [sentinel, old]
    assert ALERT_TTS not in {alert_id for _, alert_id, _ in watch(c, url, lambda: None)}


def test_the_inbox_says_when_it_shows_only_the_alerts_raised_last() -> None:
    svc = services()
    svc.ledger.alerts_list = [
        replace(alert(f"0b7c2f4e-3333-4c2a-9d1f-{n:012d}", "5302"),
                raised_at=NOW - timedelta(minutes=n))
        for n in range(101)
    ]  # fmt: skip
    c = client(svc)
    log_in(c, "polres-tts")
    c.cookies.set(LANG_COOKIE, "en")
    shown = c.get("/alerts").text
    assert shown.count('<tr id="alert-') == 100
    assert "Only the 100 alerts raised last are shown; there are more." in shown
    del svc.ledger.alerts_list[100]
    assert "there are more" not in c.get("/alerts").text


@pytest.mark.usefixtures("quick")
def test_an_older_open_alert_the_filtered_inbox_shows_is_sent_when_it_changes() -> None:
    """Filtered to open alerts, the inbox shows an open alert older than the newest alerts
    of every status the stream reads; acknowledged, it is still sent as changed."""
    svc = services()
    old = replace(alert(ALERT_TTS, "5302"), raised_at=NOW - timedelta(days=3))
    newer = [replace(alert(f"0b7c2f4e-3333-4c2a-9d1f-{n:012d}", "5302", status="withdrawn"),
                     raised_at=NOW + timedelta(minutes=n)) for n in range(120)]  # fmt: skip
    svc.ledger.alerts_list = [*reversed(newer), old]  # newest first, as the ledger reads
    c = client(svc)
    log_in(c, "polres-tts")
    page = c.get("/alerts?status=open").text
    assert ALERT_TTS in page
    url = re.search(r'data-stream="([^"]+)"', page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]

    def acknowledge() -> None:
        svc.ledger.alerts_list = [*reversed(newer), replace(old, status="acknowledged")]

    sent = watch(c, url, acknowledge)
    assert ("status", ALERT_TTS, "acknowledged") in sent
