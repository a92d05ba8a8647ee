"""Every agency through the real stack: one case per person across agencies, alerts that
police follow and acknowledge, case changes on a compacted topic, the metrics page, the
analysts' views, and a rebuild from the topics that equals the live ledger."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time

import httpx
import psycopg
import pytest
from kafka import KafkaConsumer
from kafka.admin import ConfigResource, ConfigResourceType

from deploy.procs import StackError
from producers import forms
from producers.simulate import Simulator
from schemas.model import Agency, AlertRule, CaseUpdated, InterceptionRecorded
from schemas.serde import EventDeserializer
from schemas.topics import CASES
from sinergi import bootstrap, rebuild, runtime
from sinks.migrate import migrate
from tests.integration import faults
from tests.integration.hub import Hub, phone_in

pytestmark = pytest.mark.integration

NIK = "5302014101900001"  # TTS, female, born 1 January 1990
OTHER_NIK = "5371015505950002"  # Kota Kupang, female, born 15 May 1995


def metrics_page(hub: Hub) -> str:
    return httpx.get(f"http://127.0.0.1:{hub.settings.ports.metrics}/metrics", timeout=5).text


def page_value(page: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", page, re.MULTILINE)
    assert match, f"{sample} not on the metrics page"
    return float(match.group(1))


def publish_simulated(hub: Hub, months: int, seed: int) -> list[faults.Published]:
    return faults.publish_rows(hub, Simulator(seed=seed, months=months).events_rows())


def test_every_agency_records_through_its_commands_and_one_case_tells_the_whole_story(hub):
    person = ["--nik", NIK, "--sex", "P", "--origin-regency", "5302"]
    hub.cli(
        "hotline",
        "tip",
        "--occurred-at",
        "2025-09-01T10:00",
        "--tip-ref",
        "SISAGA-1",
        "--reporter",
        "0813 1111 2222",
        "--concern",
        "akan_berangkat",
        "--recruiter",
        "0812 9988 7766",
        *person,
    )
    hub.cli(
        "district",
        "ltsa",
        "--at",
        "5302",
        "--occurred-at",
        "2025-09-02T09:00",
        "--intended-country",
        "TW",
        *person,
    )
    hub.cli(
        "post",
        "record",
        "--at",
        "tenau",
        "--occurred-at",
        "2025-09-10T07:15",
        "--outcome",
        "SENT_HOME",
        "--officer",
        "TEN-03",
        "--destination-country",
        "MY",
        "--recruiter",
        "0812 9988 7766",
        *person,
    )
    hub.run(
        "district",
        "prevention",
        at="Timor Tengah Selatan",
        occurred_at="2025-09-12T09:00",
        village="Oinlasi",
        kind="VILLAGE_SOCIALISATION",
        attendance="85",
        attendance_women="47",
    )
    hub.start_worker()
    case_id = hub.case_of(NIK)  # police learn it from an alert or the browser
    hub.run(
        "police",
        "investigation",
        occurred_at="2025-09-15T08:00",
        investigation_ref="LP/B/45/IX/2025",
        offence="TPPO",
        case_ids=case_id,
        recruiters="0812 9988 7766",
    )
    hub.run(
        "police",
        "suspect",
        occurred_at="2025-09-20T08:00",
        investigation_ref="LP/B/45/IX/2025",
        recruiter="0812 9988 7766",
        role="RECRUITER",
        suspect_status="ARRESTED",
    )
    hub.run(
        "police",
        "prosecution",
        occurred_at="2025-10-20T08:00",
        investigation_ref="LP/B/45/IX/2025",
        prosecutor_office="kejati-ntt",
        case_ids=case_id,
    )
    hub.cli(
        "bp3mi",
        "repatriation",
        "--occurred-at",
        "2026-02-03T11:00",
        "--kind",
        "jenazah",
        "--country",
        "MY",
        "--procedural",
        "tidak",
        "--cause",
        "ILLNESS",
        *person,
    )
    hub.run(
        "bp3mi",
        "placement",
        occurred_at="2025-11-03T11:00",
        nik=OTHER_NIK,
        destination_country="Taiwan",
        sector="MANUFACTURING",
        placement_company="P3MI-0042",
    )
    hub.wait_for(lambda: hub.event_count() == 9, what="9 events")

    shown = hub.cli("ledger", "case", case_id).stdout
    for fact in (
        "TipReceived",
        "LtsaRegistrationRecorded",
        "InterceptionRecorded",
        "InvestigationOpened",
        "CaseSentToProsecutor",
        "RepatriationRecorded",
    ):
        assert fact in shown
    assert not phone_in("0813 1111 2222", shown) and not phone_in("0812 9988 7766", shown)
    assert NIK not in shown
    [(status, investigation, tips)] = hub.query(
        "SELECT status, investigation, tips FROM cases WHERE case_id = %s", case_id
    )
    assert (status, investigation, tips) == ("DECEASED", "PROSECUTED", 1)
    rules = {r for (r,) in hub.query("SELECT rule FROM alerts WHERE withdrawn_at IS NULL")}
    assert {"DECEASED_AFTER_INTERCEPTION", "TIP_MATCHED"} <= rules
    # Registered at the LTSA first: not among the never-registered deaths.
    assert "DECEASED_UNREGISTERED" not in rules
    [(people, roles)] = hub.query("SELECT people, state->'derived'->'roles' FROM recruiters")
    assert people == 1 and roles == ["RECRUITER"]
    page = metrics_page(hub)
    assert page_value(page, 'sinergi_prevention_attendance{kind="village_socialisation"}') == 85
    assert page_value(page, 'sinergi_placements{country="TW"}') == 1
    assert page_value(page, 'sinergi_investigations_opened{offence="tppo"}') == 1


def _follow(hub: Hub, *extra: str) -> list[dict]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sinergi",
            "alerts",
            "follow",
            "--json",
            "--unit",
            "police-polres-5371",
            "--idle-timeout",
            "8",
            *extra,
        ],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_police_follow_alerts_as_they_are_raised_and_acknowledge_them(hub, tmp_path):
    def intercept(nik: str, when: str, **extra: str) -> None:
        options = [f"--{k.replace('_', '-')}={v}" for k, v in extra.items()]
        hub.cli(
            "post",
            "record",
            "--at",
            "eltari",
            "--occurred-at",
            when,
            "--nik",
            nik,
            "--outcome",
            "SENT_HOME",
            "--officer",
            "ELT-07",
            *options,
        )

    intercept("5302014101100001", "2026-01-05T08:00")  # born 2010: a minor
    for n in range(5):  # a group of five, one recruiter
        intercept(
            f"53710155059500{n + 10}",
            "2026-01-06T09:00",
            group_ref="ELT-G1",
            recruiter="0812 5555 0000",
        )
    intercept("5371015505950010", "2026-02-20T09:00")  # the first of the group, again
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 7, what="7 interceptions")

    alerts = _follow(hub, "--from-beginning")
    assert {a["rule"] for a in alerts} == {
        AlertRule.MINOR_INTERCEPTED.value,
        AlertRule.GROUP_INTERCEPTED.value,
        AlertRule.RECRUITER_NETWORK.value,
        AlertRule.REPEAT_INTERCEPTION.value,
    }
    assert all(a["cause_event_ids"] and a["summary"] for a in alerts)
    assert not phone_in("0812 5555 0000", json.dumps(alerts))

    minor = next(a for a in alerts if a["rule"] == AlertRule.MINOR_INTERCEPTED.value)
    hub.cli(
        "alerts", "ack", minor["alert_id"], "--officer", "POLDA-17", "--action", "INVESTIGATING"
    )
    hub.wait_for(
        lambda: hub.query("SELECT count(*) FROM alert_acks")[0][0] == 1, what="the acknowledgement"
    )
    listed = hub.cli("alerts", "list").stdout
    assert "INVESTIGATING" in listed
    time.sleep(2.5)  # the metrics page caches for 2s
    page = metrics_page(hub)
    labels = '{rule="minor_intercepted",severity="high"}'
    assert page_value(page, f"sinergi_alerts_acknowledged{labels}") == 1
    assert page_value(page, f"sinergi_alerts_open{labels}") == 0
    # Acknowledged within the last 24 hours, a few seconds after it was raised.
    waited = page_value(page, 'sinergi_alert_acknowledge_seconds{quantile="0.9",window="24h"}')
    assert 0 <= waited < 600
    assert "sinergi_alerts_oldest_open_timestamp_seconds{" in page  # others are open

    # The unit resumes where it stopped: nothing old is shown again.
    assert _follow(hub) == []


def test_case_changes_are_published_on_a_compacted_topic(hub):
    publish_simulated(hub, months=1, seed=5)
    hub.start_worker()
    hub.wait_for(
        lambda: hub.query("SELECT count(*) FROM outbox")[0][0] == 0 and hub.event_count() > 0,
        what="outbox drained",
    )
    from sinergi.runtime import wait_until_processed

    assert wait_until_processed(hub.settings, timeout=60)
    topic = hub.settings.topic(CASES.name)
    with bootstrap.kafka_admin(hub.settings) as admin:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [configs] = [by_name[topic] for by_name in described.values()]
    assert "compact" in repr(configs["cleanup.policy"])
    consumer = KafkaConsumer(
        topic,
        **hub.kafka("police-polda-ntt"),
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    decode = EventDeserializer(bootstrap.registry_reader(hub.settings))
    latest: dict[str, CaseUpdated] = {}
    for message in consumer:
        event = decode(message.value).event
        assert isinstance(event, CaseUpdated) and message.key.decode() == event.case_id
        if event.case_id not in latest or event.fact_count > latest[event.case_id].fact_count:
            latest[event.case_id] = event
    consumer.close()
    in_ledger = dict(hub.query("SELECT case_id, status FROM cases"))
    assert {k: v.status for k, v in latest.items()} == in_ledger


def test_the_metrics_page_agrees_with_the_daily_table(hub):
    publish_simulated(hub, months=2, seed=8)
    hub.start_worker()
    from sinergi.runtime import wait_until_processed

    hub.wait_for(lambda: hub.event_count() > 0, what="events")
    assert wait_until_processed(hub.settings, timeout=90)
    time.sleep(2.5)
    page = metrics_page(hub)
    cells = hub.query("SELECT metric, labels, sum(value)::bigint FROM metrics_daily GROUP BY 1, 2")
    assert len(cells) > 50
    for metric, labels, value in cells:
        # The daily table's names end in _total; /metrics serves them as gauges, without.
        name = metric.removesuffix("_total")
        rendered = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        sample = f"{name}{{{rendered}}}" if rendered else name
        assert page_value(page, sample) == value
        assert f"# TYPE {name} gauge" in page
    procedural = dict(
        hub.query(
            "SELECT labels->>'procedural', sum(value)::int FROM metrics_daily"
            " WHERE metric = 'sinergi_repatriations_total' GROUP BY 1"
        )
    )
    known = procedural.get("procedural", 0) + procedural.get("non_procedural", 0)
    ratio = page_value(page, "sinergi_repatriations_non_procedural_ratio")
    assert ratio == pytest.approx(procedural.get("non_procedural", 0) / known)
    assert ratio > 0.5  # most repatriated migrants had left non-procedurally
    assert "sinergi_processor_lag_messages" in page
    assert "sinergi_deaths_this_year" in page


def test_analysts_read_the_views_and_not_the_tables(hub):
    publish_simulated(hub, months=1, seed=3)
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() > 100, what="events")
    analyst = bootstrap.conninfo(hub.settings, "sinergi_analyst")
    with psycopg.connect(analyst) as conn:
        for view in (
            "v_cases",
            "v_case_timeline",
            "v_case_facts",
            "v_recruiters",
            "v_groups",
            "v_investigations",
            "v_alerts",
            "v_alerts_daily",
            "v_metrics_daily",
        ):
            conn.execute(f"SELECT * FROM {view} LIMIT 5").fetchall()
        for table in ("events", "cases", "recruiters", "alerts", "metrics_daily", "outbox"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1")
            conn.rollback()


def test_a_backlog_across_topics_is_taken_in_the_order_it_was_published(hub):
    """Interceptions, then every other agency's facts, then more interceptions, all
    published before the processor starts: it stores them wave by wave, not one topic's
    waves together (a consumer fetches every partition at once; the worker orders what it
    fetched by Kafka timestamp, processors/timeorder.py)."""
    events = faults.simulated_events(hub, 600, seed=23)
    interceptions = [(u, e) for u, e in events if isinstance(e, InterceptionRecorded)]
    others = [(u, e) for u, e in events if not isinstance(e, InterceptionRecorded)]
    half = len(interceptions) // 2
    waves = [interceptions[:half], others, interceptions[half:]]
    assert min(len(w) for w in waves) >= 10
    for wave in waves:
        faults.publish_all(hub, wave)
        time.sleep(0.05)  # each wave's timestamps after the one before
    hub.env = hub.env | {"SINERGI_BATCH_MAX": "25"}  # many batches
    hub.start_worker()
    faults.wait_processed(hub)
    stored = dict(hub.query("SELECT event_id::text, ingested_at FROM events"))
    assert len(stored) == len(events)
    batches = [sorted({stored[e.event_id] for _, e in wave}) for wave in waves]
    for earlier, later in itertools.pairwise(batches):
        assert earlier[-1] <= later[0]  # each wave's last batch before the next one's first


def test_the_rebuild_equals_the_live_ledger_even_after_the_processor_was_killed(hub):
    published = publish_simulated(hub, months=2, seed=11)
    worker = hub.start_worker()
    hub.wait_for(lambda: hub.event_count() > 0, what="first events")
    hub.stop_worker(worker, kill=True)
    hub.start_worker()
    faults.wait_processed(hub, timeout=120)
    faults.assert_nothing_lost(faults.account(hub, "processor killed -9 once", published))
    alerts = hub.query("SELECT alert_id::text FROM alerts ORDER BY alert_id LIMIT 3")
    assert len(alerts) == 3  # two months of every agency raise alerts
    desk = bootstrap.desk(hub.settings, Agency.POLICE, "polda-ntt")
    when = "2026-03-01T10:00"
    rows = [{"alert_id": a, "officer": "POLDA-1", "occurred_at": when} for (a,) in alerts]
    pub = bootstrap.publisher(hub.settings, desk.unit)
    pub.publish(forms.record_rows(desk, forms.FORMS["acknowledgement"], rows))
    pub.close()
    done = hub.cli("ledger", "rebuild", "--wait", "120")
    assert "identical" in done.stdout
    assert re.search(r"cases\s+│\s+[1-9]\d*", done.stdout)


def test_the_rebuild_replays_into_unlogged_tables_and_refuses_them_after_a_crash(hub):
    hub.run("post", "record", at="eltari", occurred_at="2026-01-20T08:30", nik=NIK, sex="P",
            origin_regency="5302", destination_country="MY", outcome="SENT_HOME",
            officer="ELT-07")  # fmt: skip
    worker = hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 1, what="the interception")
    done = hub.cli("ledger", "rebuild", "--wait", "30", "--keep")
    hub.stop_worker(worker)
    assert "identical" in done.stdout
    [schema] = re.findall(r"into schema (rebuild_\d+)", done.stdout)
    kept = dict(hub.query(  # type: ignore[arg-type]
        "SELECT c.relname, c.relpersistence FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'i', 'S')", schema))  # fmt: skip
    assert {"events", "cases", "audit_log", "events_pkey", "audit_log_seq_seq"} <= set(kept)
    assert set(kept.values()) == {"u"}, {k: v for k, v in kept.items() if v != "u"}
    assert hub.query(f'SELECT count(*) FROM "{schema}".events')[0][0] == 1

    # A crash of PostgreSQL empties unlogged tables: what was replayed before it is refused.
    owner = bootstrap.conninfo(hub.settings, "sinergi_owner")
    scratch = schema + "_crash"
    migrate(owner, schema=scratch)
    stack = runtime.stack(hub.settings)

    def replay_through_a_crash() -> int:
        hub.query(f'INSERT INTO "{scratch}".metrics_daily (day, metric, value)'
                  " VALUES ('2026-01-20', 'replayed', 1) RETURNING 1")  # fmt: skip
        stack.postgres.stop(mode="immediate")
        stack.postgres.start()
        return 1

    with pytest.raises(StackError, match="PostgreSQL restarted during the rebuild"):
        rebuild.into_scratch(owner, scratch, replay_through_a_crash)
    assert hub.query(f'SELECT count(*) FROM "{scratch}".metrics_daily')[0][0] == 0
