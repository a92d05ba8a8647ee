"""The police inbox's live stream (server-sent events) against a fake ledger."""

from __future__ import annotations

import json

from tests.unit.web_fakes import ALERT_BELU, ALERT_TTS, NOW, alert, client, log_in, services


def test_an_alert_acknowledged_before_the_stream_first_looks_is_sent_as_changed() -> None:
    """The acknowledgement's redirect draws the inbox before the processor has taken the
    acknowledgement in; the stream, connecting after it has, must still tell the page."""
    svc = services()
    svc.ledger.alerts_list = [alert(ALERT_TTS, "5302", status="acknowledged"),
                              alert(ALERT_BELU, "5302")]  # fmt: skip
    c = client(svc)
    log_in(c, "polres-tts")
    drawn = NOW.timestamp() + 1  # both were raised before the page was drawn
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
