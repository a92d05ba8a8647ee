"""Police and analysts at the command line against the real stack (issue 9, alert
lifecycle): a withdrawn alert is never open (alerts list, ledger summary, v_alerts_daily,
the metrics page), ids are whole and may be given as a prefix, a case may be looked up
by NIK without the NIK leaving the machine or being printed."""

from __future__ import annotations

import json
import re
import time

import httpx
import psycopg
import pytest

from schemas.model import AlertRule
from sinergi import bootstrap, views
from tests.integration.hub import Hub

pytestmark = pytest.mark.integration

NIK = "5302014101900001"  # TTS, female, born 1 January 1990
OTHER_NIK = "5371015505950002"  # Kota Kupang, female, born 15 May 1995
NO_CASE_NIK = "5371015505950003"  # nobody the ledger knows
RULE = AlertRule.DECEASED_UNREGISTERED.value
SAMPLE = '{rule="deceased_unregistered",severity="high"}'


def metrics_page(hub: Hub) -> str:
    return httpx.get(f"http://127.0.0.1:{hub.settings.ports.metrics}/metrics", timeout=5).text


def page_value(page: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", page, re.MULTILINE)
    assert match, f"{sample} not on the metrics page"
    return float(match.group(1))


def listed(hub: Hub, *options: str) -> list[dict]:
    done = hub.cli("alerts", "list", "--json", "--limit", "100", *options)
    return [json.loads(line) for line in done.stdout.splitlines()]


def summary_count(shown: str, label: str) -> int:
    match = re.search(rf"{re.escape(label)}\s*│\s*(\d+)", shown)
    assert match, f"{label!r} not in the summary:\n{shown}"
    return int(match.group(1))


def daily(hub: Hub) -> tuple[int, int, int, int]:
    """raised, acknowledged, withdrawn, open of the rule, summed over v_alerts_daily, read
    as the analyst."""
    with psycopg.connect(bootstrap.conninfo(hub.settings, "sinergi_analyst")) as conn:
        row = conn.execute(
            "SELECT sum(raised)::int, sum(acknowledged)::int, sum(withdrawn)::int,"
            " sum(open)::int FROM v_alerts_daily WHERE rule = %s",
            (RULE,),
        ).fetchone()
    assert row is not None
    return row


def deceased_unregistered(hub: Hub, *, nik: str, when: str) -> None:
    hub.run(
        "bp3mi",
        "repatriation",
        occurred_at=when,
        kind="jenazah",
        country="MY",
        procedural="tidak",
        cause="ILLNESS",
        nik=nik,
    )


def alert_of(hub: Hub, nik: str) -> tuple[str, object]:
    """(alert id, withdrawn_at) of the rule's alert about this person."""
    [(alert_id, withdrawn_at)] = hub.query(
        "SELECT alert_id::text, withdrawn_at FROM alerts WHERE rule = %s AND %s = ANY(case_ids)",
        RULE,
        hub.case_of(nik),
    )
    return str(alert_id), withdrawn_at


def test_a_withdrawn_alert_is_never_open_and_police_use_id_prefixes_and_a_nik(hub):
    # Two deaths of people never registered: two DECEASED_UNREGISTERED alerts.
    deceased_unregistered(hub, nik=NIK, when="2026-02-03T11:00")
    deceased_unregistered(hub, nik=OTHER_NIK, when="2026-02-10T11:00")
    hub.start_worker()
    hub.wait_for(
        lambda: hub.query("SELECT count(*) FROM alerts WHERE rule = %s", RULE)[0][0] == 2,
        what="two DECEASED_UNREGISTERED alerts",
    )
    withdrawn_id, _ = alert_of(hub, NIK)
    open_id, _ = alert_of(hub, OTHER_NIK)

    # A registration at the LTSA, recorded late, that happened before the first death:
    # that person was registered after all, and the first alert is withdrawn.
    hub.run(
        "district",
        "ltsa",
        at="5302",
        occurred_at="2025-09-02T09:00",
        intended_country="TW",
        nik=NIK,
        sex="P",
        origin_regency="5302",
    )
    hub.wait_for(lambda: alert_of(hub, NIK)[1] is not None, what="the alert withdrawn")
    assert alert_of(hub, OTHER_NIK)[1] is None

    # --open never lists the withdrawn alert; without it, it is listed as withdrawn.
    open_alerts = listed(hub, "--open")
    assert open_id in [a["alert_id"] for a in open_alerts]
    assert withdrawn_id not in [a["alert_id"] for a in open_alerts]
    assert {a["status"] for a in open_alerts} == {"open"}
    every = {a["alert_id"]: a for a in listed(hub)}
    gone = every[withdrawn_id]
    assert gone["status"] == "withdrawn" and gone["withdrawn_at"] is not None
    assert gone["case_ids"] == [hub.case_of(NIK)] and gone["rule"] == RULE
    assert every[open_id]["status"] == "open" and every[open_id]["withdrawn_at"] is None
    assert [a["alert_id"] for a in listed(hub, "--rule", RULE.lower(), "--open")] == [open_id]
    assert [a["alert_id"] for a in listed(hub, "--rule", RULE)] == [open_id, withdrawn_id]
    assert listed(hub, "--rule", RULE, "--severity", "critical") == []

    # The summary, v_alerts_daily and the metrics page count it out of the open ones.
    shown = hub.cli("ledger", "summary").stdout
    assert summary_count(shown, "alerts for police") == len(every)
    assert summary_count(shown, "open (holding, not yet acknowledged)") == len(open_alerts)
    assert summary_count(shown, "withdrawn (a later fact ended them)") == 1
    assert daily(hub) == (2, 0, 1, 1)
    time.sleep(2.5)  # the metrics page caches for 2s
    page = metrics_page(hub)
    assert page_value(page, f"sinergi_alerts_open{SAMPLE}") == 1
    assert page_value(page, f"sinergi_alerts_withdrawn{SAMPLE}") == 1

    # At 80 columns the ids are whole, and the withdrawn alert says so.
    narrow = hub.cli("alerts", "list", env={"COLUMNS": "80"}).stdout
    assert f"alert {withdrawn_id}" in narrow and f"alert {open_id}" in narrow
    assert all(len(line) <= 80 for line in narrow.splitlines())
    [head] = [line for line in narrow.splitlines() if line.rstrip().endswith("withdrawn")]
    assert RULE in head

    # Acknowledged by the first 8 hex digits of its id: the whole id is published.
    done = hub.cli(
        "alerts", "ack", open_id[:8], "--officer", "POLDA-17", "--action", "INVESTIGATING"
    )
    assert "published 1 acknowledgement" in done.stdout
    hub.wait_for(
        lambda: hub.query("SELECT count(*) FROM alert_acks")[0][0] == 1,
        what="the acknowledgement",
    )
    [(acked,)] = hub.query("SELECT alert_id::text FROM alert_acks")
    assert acked == open_id
    assert listed(hub, "--open", "--rule", RULE) == []
    assert {a["alert_id"]: a["status"] for a in listed(hub, "--rule", RULE)} == {
        withdrawn_id: "withdrawn",
        open_id: "acknowledged",
    }
    shown = hub.cli("ledger", "summary").stdout
    assert summary_count(shown, "open (holding, not yet acknowledged)") == len(
        listed(hub, "--open")
    )
    assert summary_count(shown, "acknowledged") == 1
    assert daily(hub) == (2, 1, 1, 0)

    # A case by NIK: pseudonymised here; the NIK is never printed.
    case = hub.cli("ledger", "case", NIK)
    assert f"Case {hub.case_of(NIK)}" in case.stdout
    assert "RepatriationRecorded" in case.stdout and "LtsaRegistrationRecorded" in case.stdout
    assert NIK not in case.stdout + case.stderr
    nobody = hub.cli("ledger", "case", NO_CASE_NIK, check=False)
    assert nobody.returncode == 2
    assert "error: no case for this NIK" in nobody.stderr
    assert NO_CASE_NIK not in nobody.stdout + nobody.stderr
    # The browser's case search finds a NIK's case the same one way.
    reader = bootstrap.ledger_reader(hub.settings)
    assert reader.find_case(NIK) == hub.case_of(NIK)
    with pytest.raises(views.IdError, match="no case for this NIK"):
        reader.find_case(NO_CASE_NIK)
    by_prefix = hub.cli("ledger", "case", hub.case_of(OTHER_NIK)[:12])  # nik: + 8 hex
    assert f"Case {hub.case_of(OTHER_NIK)}" in by_prefix.stdout


def test_an_ambiguous_or_unknown_prefix_is_refused_and_nothing_is_acknowledged(hub):
    # Alert ids are UUIDs derived from what they are about: two that share their first
    # 8 hex digits cannot be made through the hub, so they are written as the owner would.
    twins = [f"abcdef01-0000-4000-8000-00000000000{n}" for n in (1, 2)]
    for alert_id in twins:
        hub.query(
            "INSERT INTO alerts (alert_id, source, rule, severity, case_ids, cause_event_ids,"
            " summary, triggered_at) VALUES (%s::uuid, 'test:twins', %s, 'HIGH', '{}', '{}',"
            " 'twin', now()) RETURNING alert_id",
            alert_id,
            RULE,
        )
    refused = hub.cli("alerts", "ack", "abcdef01", "--officer", "POLDA-17", check=False)
    assert refused.returncode == 2
    assert "2 alert ids begin with abcdef01" in refused.stderr
    assert all(alert_id in refused.stderr for alert_id in twins)
    assert "published" not in refused.stdout
    unknown = hub.cli("alerts", "ack", "12345678", "--officer", "POLDA-17", check=False)
    assert unknown.returncode == 2
    assert "error: no alert id begins with 12345678" in unknown.stderr
    short = hub.cli("alerts", "ack", "abcdef0", "--officer", "POLDA-17", check=False)
    assert short.returncode == 2 and "at least 8 hex digits" in short.stderr
    # The whole id of one of them is not ambiguous.
    hub.start_worker()
    hub.cli("alerts", "ack", twins[1], "--officer", "POLDA-17")
    hub.wait_for(
        lambda: hub.query("SELECT count(*) FROM alert_acks")[0][0] == 1,
        what="the acknowledgement",
    )
    assert hub.query("SELECT alert_id::text FROM alert_acks") == [(twins[1],)]
    # The refused commands sent nothing: the one acknowledgement is the only police event.
    assert hub.query("SELECT count(*) FROM events") == [(1,)]
    assert hub.cli("police", "pending", "--json").stdout.strip() == ""

    # Cases too: a bare prefix may begin a strong and a weak case.
    for case_id, kind in (
        ("nik:abcdef01" + "0" * 24, "strong"),
        ("weak:abcdef01" + "1" * 24, "weak"),
    ):
        hub.query(
            "INSERT INTO cases (case_id, match_kind, status, sex, minor, interceptions, state)"
            " VALUES (%s, %s, 'REPORTED', 'UNKNOWN', false, 0, '{}') RETURNING case_id",
            case_id,
            kind,
        )
    ambiguous = hub.cli("ledger", "case", "abcdef01", check=False)
    assert ambiguous.returncode == 2
    assert "2 case ids begin with that prefix" in ambiguous.stderr
    assert "nik:abcdef01" + "0" * 24 in ambiguous.stderr
    assert "weak:abcdef01" + "1" * 24 in ambiguous.stderr
    one = hub.cli("ledger", "case", "weak:abcdef01")
    assert "Case weak:abcdef01" + "1" * 24 in one.stdout


def test_alerts_list_shows_the_alerts_raised_last_first_and_says_when_there_are_more(hub):
    """A death recorded days late raises its alert now, about an older fact: the list
    (as the browser's inbox) shows it first, and says when it shows only some."""
    for n, triggered_days_ago, raised_minutes_ago in ((1, 2, 30), (2, 1, 20), (3, 9, 1)):
        hub.query(
            "INSERT INTO alerts (alert_id, source, rule, severity, case_ids, cause_event_ids,"
            " summary, triggered_at, raised_at) VALUES (%s::uuid, 'test:late', %s, 'HIGH',"
            " '{}', '{}', 'late', now() - %s * interval '1 day',"
            " now() - %s * interval '1 minute') RETURNING alert_id",
            f"0000000{n}-0000-4000-8000-000000000000",
            RULE,
            triggered_days_ago,
            raised_minutes_ago,
        )
    late = "00000003-0000-4000-8000-000000000000"
    shown = hub.cli("alerts", "list", "--open", "--json", "--limit", "2")
    assert [json.loads(line)["alert_id"] for line in shown.stdout.splitlines()] == [
        late,
        "00000002-0000-4000-8000-000000000000",
    ]
    assert "showing the 2 alerts raised last; there are more: --limit N shows N" in shown.stderr
    every = hub.cli("alerts", "list", "--open", "--limit", "3")
    assert late in every.stdout and "there are more" not in every.stdout + every.stderr
