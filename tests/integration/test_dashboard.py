"""The operations dashboard (sinergi/web/dashboard.py), read as the analyst the browser
application reads as: its figures are the ledger's after corrections and retractions, on
the hub's days (UTC), so its charts agree with each other and with the monthly report."""

from __future__ import annotations

import pytest

from sinergi import bootstrap
from sinergi.web import dashboard
from tests.integration.hub import Hub
from tests.integration.test_amendments import event_ids

pytestmark = pytest.mark.integration

FIRST_NIK = "5302014101900001"  # TTS, female, born 1 January 1990
SECOND_NIK = "5371015505950002"  # Kota Kupang, female, born 15 May 1995
PERSON = {"sex": "P", "destination_country": "MY", "outcome": "SENT_HOME", "officer": "ELT-07"}


def record(hub: Hub, *command: str, **options: str) -> str:
    [recorded] = event_ids(hub.run(*command, **options).stdout)
    return recorded


def test_the_dashboard_counts_what_the_ledger_holds_after_corrections_and_retractions(hub: Hub):
    flight = dict(PERSON, nik=FIRST_NIK, origin_regency="5302", route="direct-flight")
    record(hub, "post", "record", at="eltari", occurred_at="2026-01-20T08:30", **flight)
    # Sent twice by mistake (a second event id), the second retracted as a duplicate.
    again = record(hub, "post", "record", at="eltari", occurred_at="2026-01-20T08:31", **flight)
    # Its route was wrong; and 06:00 WITA on 1 February is 31 January in UTC, the hub's day.
    wrong = dict(PERSON, nik=SECOND_NIK, origin_regency="5371", route="direct-flight")
    routed = record(hub, "post", "record", at="eltari", occurred_at="2026-02-01T06:00", **wrong)
    # A repatriation recorded as a death by mistake (the person came home sick), and a
    # death recorded twice.
    body = {"country": "MY", "procedural": "tidak"}
    mistaken = dict(body, occurred_at="2026-02-03T11:00", nik=FIRST_NIK)
    sick = record(hub, "bp3mi", "repatriation", kind="jenazah", **mistaken)
    death = dict(body, occurred_at="2026-02-05T11:00", nik=SECOND_NIK, kind="jenazah")
    record(hub, "bp3mi", "repatriation", **death)
    twice = record(hub, "bp3mi", "repatriation", **dict(death, occurred_at="2026-02-05T11:05"))
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 6, what="the records")

    hub.run("post", "retract", again, at="eltari", reason="DUPLICATE", form="interception")
    hub.run("post", "correct", routed, at="eltari", occurred_at="2026-02-01T06:00",
            form="interception", **dict(wrong, route="batam-johor"))  # fmt: skip
    hub.run("bp3mi", "correct", sick, kind="sakit", form="repatriation", **mistaken)
    hub.run("bp3mi", "retract", twice, reason="DUPLICATE", form="repatriation")
    hub.wait_for(lambda: hub.event_count() == 10, what="the amendments")

    shown = dashboard.read(bootstrap.conninfo(hub.settings, "sinergi_analyst"))
    assert shown.by_post.months == ["2026-01"]
    assert shown.by_post.series == {"eltari": [2.0]}
    assert shown.by_route.months == ["2026-01"]
    assert shown.by_route.series == {"batam-johor": [1.0], "direct-flight": [1.0]}
    assert shown.repatriations == [("MY", 2.0)]
    assert shown.deaths == [("MY", 1.0)]
