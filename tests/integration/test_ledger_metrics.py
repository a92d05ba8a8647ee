"""What the processor's /metrics serves of the ledger, read from PostgreSQL: gauges that
fall when a record is taken back (a counter that falls is a restart to Prometheus, which
then counted a post's whole history again), each post's latest interception, which a
retraction leaves as it was, the time to acknowledge over the last 24 hours and the
oldest open alert of each severity, both computed by PostgreSQL."""

from __future__ import annotations

import re
import uuid

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sinergi import bootstrap
from sinks.prometheus import LedgerMetricsCollector
from tests.integration.hub import Hub

pytestmark = pytest.mark.integration

PEOPLE = ("5302014101900001", "5302014101900002", "5371015505950003", "5371015505950004")


def scrape(hub: Hub) -> str:
    """The ledger's part of /metrics, as the processor's database role reads it."""
    registry = CollectorRegistry()
    conninfo = bootstrap.conninfo(hub.settings, "sinergi_processor")
    registry.register(LedgerMetricsCollector(conninfo, cache_seconds=0))
    return generate_latest(registry).decode()


def value(page: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", page, re.MULTILINE)
    assert match, f"{sample} not on the page"
    return float(match.group(1))


def record(hub: Hub, nik: str, at: str, post: str = "eltari") -> str:
    done = hub.run("post", "record", at=post, occurred_at=at, nik=nik, sex="P",
                   origin_regency="5302", destination_country="MY", outcome="SENT_HOME",
                   officer="ELT-07")  # fmt: skip
    [event_id] = re.findall(r"([0-9a-f-]{36}) -> ", done.stdout)
    return event_id


def occurred(hub: Hub, event_id: str) -> float:
    [(at,)] = hub.query(
        "SELECT extract(epoch FROM occurred_at)::float8 FROM events WHERE event_id = %s",
        event_id,
    )
    return float(at)  # type: ignore[arg-type]


def test_a_retraction_lowers_the_ledgers_gauges_and_leaves_the_posts_latest_interception(hub):
    first = record(hub, PEOPLE[0], "2026-01-20T08:30")
    record(hub, PEOPLE[1], "2026-01-21T09:00")
    latest = record(hub, PEOPLE[2], "2026-01-21T22:15")
    at_tenau = record(hub, PEOPLE[3], "2026-01-19T07:00", post="tenau")
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 4, what="the interceptions")

    page = scrape(hub)
    types = {f.name: f.type for f in text_string_to_metric_families(page)}
    assert types["sinergi_interceptions"] == types["sinergi_interceptions_by_sex"] == "gauge"
    assert "sinergi_interceptions_total" not in page
    assert value(page, 'sinergi_interceptions{post="eltari"}') == 3
    last = 'sinergi_post_last_interception_timestamp_seconds{post="eltari"}'
    assert value(page, last) == occurred(hub, latest)
    assert value(
        page, 'sinergi_post_last_interception_timestamp_seconds{post="tenau"}'
    ) == occurred(hub, at_tenau)

    # The desk takes back its latest record and its first (duplicates): the ledger holds
    # one, and /metrics says 1, a fall Prometheus reads as a change of -2, not a restart.
    hub.run("post", "retract", latest, at="eltari", reason="DUPLICATE")
    hub.run("post", "retract", first, at="eltari", reason="DUPLICATE")
    hub.wait_for(lambda: hub.event_count() == 6, what="the retractions")
    page = scrape(hub)
    assert value(page, 'sinergi_interceptions{post="eltari"}') == 1
    assert value(page, 'sinergi_interceptions_by_sex{sex="female"}') == 2
    # When the post last recorded one is what it was: the desk did send it.
    assert value(page, last) == occurred(hub, latest)


def test_the_time_to_acknowledge_and_the_oldest_open_alert_come_from_postgresql(hub):
    """Alerts as the processor keeps them (raised_at: when police were told), hours
    apart: the quantiles are those of the acknowledgements of the last 24 hours only, and
    the oldest open alert is the oldest holding and unacknowledged, of its severity."""
    alerts = [  # severity, raised hours ago, acknowledged hours ago, withdrawn
        ("HIGH", 3, 2, False),  # waited 1 hour
        ("HIGH", 10, 2, False),  # 8 hours
        ("HIGH", 50, 30, False),  # acknowledged before the last 24 hours
        ("HIGH", 5, None, False),  # open for 5 hours: the oldest open HIGH
        ("HIGH", 1, None, False),
        ("HIGH", 9, None, True),  # withdrawn: not open
        ("MEDIUM", 10, None, False),
    ]
    for severity, raised, acked, withdrawn in alerts:
        alert_id = str(uuid.uuid4())
        hub.query(
            "INSERT INTO alerts (alert_id, source, rule, severity, case_ids, cause_event_ids,"
            " summary, triggered_at, raised_at, withdrawn_at) VALUES (%s, 'case:x',"
            " 'MINOR_INTERCEPTED', %s, '{}', '{}', 'test', now() - make_interval(hours => %s),"
            " now() - make_interval(hours => %s),"
            " CASE WHEN %s THEN now() END) RETURNING 1",
            alert_id, severity, raised, raised, withdrawn,
        )  # fmt: skip
        if acked is not None:
            hub.query(
                "INSERT INTO alert_acks (alert_id, event_id, acknowledged_at, unit, officer_ref,"
                " action) VALUES (%s, %s, now() - make_interval(hours => %s), 'police-polda-ntt',"
                " 'POLDA-17', 'INVESTIGATING') RETURNING 1",
                alert_id, str(uuid.uuid4()), acked,
            )  # fmt: skip
    [(now,)] = hub.query("SELECT extract(epoch FROM now())::float8")
    page = scrape(hub)

    # Of 3600 s and 28800 s: half within 16200 s, 9 in 10 within 26280 s.
    p50 = value(page, 'sinergi_alert_acknowledge_seconds{quantile="0.5",window="24h"}')
    p90 = value(page, 'sinergi_alert_acknowledge_seconds{quantile="0.9",window="24h"}')
    assert (round(p50), round(p90)) == (16200, 26280)
    oldest = 'sinergi_alerts_oldest_open_timestamp_seconds{severity="%s"}'
    assert abs(value(page, oldest % "high") - (now - 5 * 3600)) < 60  # type: ignore[operator]
    assert abs(value(page, oldest % "medium") - (now - 10 * 3600)) < 60  # type: ignore[operator]
    assert 'severity="critical"' not in page
    labels = '{rule="minor_intercepted",severity="high"}'
    assert value(page, f"sinergi_alerts_open{labels}") == 2
    assert value(page, f"sinergi_alerts_acknowledged{labels}") == 3
    assert value(page, f"sinergi_alerts_raised_total{labels}") == 6

    # None acknowledged within 24 hours: no quantile rather than a made-up one.
    hub.query("DELETE FROM alert_acks WHERE acknowledged_at > now() - interval '1 day' RETURNING 1")
    page = scrape(hub)
    assert "sinergi_alert_acknowledge_seconds{" not in page
    assert "# TYPE sinergi_alert_acknowledge_seconds gauge" in page
