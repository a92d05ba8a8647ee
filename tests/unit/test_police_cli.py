"""Police and analysts at the command line: alert and case ids resolved from a prefix (or a
NIK, pseudonymised locally), rule and severity filters, alert status (a withdrawn alert is
never open), JSON lines, whole ids at 80 columns, and withdrawn alerts when following.
The analysts' PostgreSQL connection is stood in for by rows (``FakeLedger``)."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from deploy.secrets import ensure_password
from processors.vault import Kept, VaultKeys
from producers.pseudonym import load_or_create_key
from schemas.model import (
    AlertRaised,
    AlertRule,
    AlertWithdrawn,
    Severity,
    WithdrawalReason,
    envelope_for,
)
from sinergi import bootstrap, cli, cli_desk, police, views
from sinergi.config import from_env
from sinks.memory import MemoryVault

NIK = "5302014101900001"
T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
ALERT_OPEN = "0b7c2f4e-6a51-4c1e-9e2d-5f8a3b1c7d90"
ALERT_ACKED = "0b7c2f4f-1111-4c1e-9e2d-5f8a3b1c7d90"
ALERT_WITHDRAWN = "9d2e8a10-3b4c-4d5e-8f90-a1b2c3d4e5f6"
STRONG = "nik:" + "5f06ab12" * 4
WEAK = "weak:" + "5f06ab99" * 4
OTHER = "nik:" + "77aa0011" * 4


# --- alert ids: pure functions over a list of ids --------------------------------------------


def test_an_alert_prefix_of_eight_hex_digits_names_the_one_alert_it_begins():
    ids = [ALERT_OPEN, ALERT_ACKED, ALERT_WITHDRAWN]
    assert views.resolve_alert_id("9d2e8a10", ids) == ALERT_WITHDRAWN
    assert views.resolve_alert_id("0B7C2F4E", ids) == ALERT_OPEN  # any case
    assert views.resolve_alert_id("0b7c2f4f-11", ids) == ALERT_ACKED  # with its dash
    assert views.resolve_alert_id(ALERT_OPEN.replace("-", ""), ids) == ALERT_OPEN
    assert views.resolve_alert_id(f"  {ALERT_OPEN} ", ids) == ALERT_OPEN


def test_an_ambiguous_alert_prefix_is_refused_with_the_whole_candidate_ids():
    twin = "0b7c2f4e-0000-4000-8000-000000000000"
    with pytest.raises(views.AmbiguousIdError) as refused:
        views.resolve_alert_id("0b7c2f4e", [ALERT_OPEN, ALERT_ACKED, ALERT_WITHDRAWN, twin])
    first, *candidates = str(refused.value).splitlines()
    assert first == "2 alert ids begin with 0b7c2f4e; give more of the id:"
    assert [c.strip() for c in candidates] == [twin, ALERT_OPEN]
    assert refused.value.candidates == [twin, ALERT_OPEN]


def test_at_most_ten_candidates_are_listed():
    ids = [f"abcdef01-0000-4000-8000-{n:012d}" for n in range(13)]
    with pytest.raises(views.AmbiguousIdError) as refused:
        views.resolve_alert_id("abcdef01", ids)
    lines = str(refused.value).splitlines()
    assert lines[0].startswith("13 alert ids begin with abcdef01")
    assert [line.strip() for line in lines[1:11]] == sorted(ids)[:10]
    assert lines[11:] == ["  ... and 3 more"]


def test_an_unknown_alert_prefix_is_refused_in_one_sentence():
    with pytest.raises(views.IdError) as refused:
        views.resolve_alert_id("12345678", [ALERT_OPEN, ALERT_WITHDRAWN])
    assert not isinstance(refused.value, views.AmbiguousIdError)
    assert str(refused.value) == "no alert id begins with 12345678"


@pytest.mark.parametrize("typed", ["0b7c2f4", "0b7c-2f4", "0b"])
def test_an_alert_prefix_shorter_than_eight_hex_digits_is_refused(typed):
    # Too short even when it would be unique.
    with pytest.raises(views.IdError, match="too short to name one alert: give at least 8"):
        views.resolve_alert_id(typed, [ALERT_OPEN])


@pytest.mark.parametrize("typed", ["", "0b7c2f4x", "nik:0b7c2f4e", ALERT_OPEN + "0", "0b7c%2f4e"])
def test_what_is_not_an_alert_id_is_refused(typed):
    with pytest.raises(views.IdError, match="an alert id is a UUID"):
        views.alert_prefix(typed)


# --- case ids ---------------------------------------------------------------------------------


def test_a_case_prefix_names_the_one_case_with_or_without_its_kind():
    ids = [STRONG, WEAK, OTHER]
    assert views.resolve_case_id("nik:5f06ab12", ids) == STRONG
    assert views.resolve_case_id("WEAK:5f06ab99", ids) == WEAK
    assert views.resolve_case_id("77aa0011", ids) == OTHER  # bare digits: either kind
    assert views.resolve_case_id(STRONG, ids) == STRONG


def test_a_bare_case_prefix_that_begins_a_strong_and_a_weak_case_is_ambiguous():
    with pytest.raises(views.AmbiguousIdError) as refused:
        views.resolve_case_id("5f06ab12", [STRONG, "weak:" + "5f06ab12" * 4, OTHER])
    assert refused.value.candidates == [STRONG, "weak:" + "5f06ab12" * 4]
    assert str(refused.value).startswith("2 case ids begin with that prefix; give more")


def test_a_case_refusal_never_echoes_bare_digits_that_could_be_a_mistyped_nik():
    mistyped = NIK[:15]  # 15 digits: hex, so read as a bare prefix
    with pytest.raises(views.IdError) as refused:
        views.resolve_case_id(mistyped, [STRONG, WEAK])
    assert str(refused.value) == "no case id begins with that prefix"
    with pytest.raises(views.IdError) as short:
        views.resolve_case_id(NIK[:6], [STRONG])
    assert NIK[:6] not in str(short.value)
    assert "too short to name one case" in str(short.value)
    # ... nor a NIK typed after a case id's kind
    with pytest.raises(views.IdError) as after_kind:
        views.resolve_case_id("nik:" + NIK, [STRONG, WEAK])
    assert str(after_kind.value) == "no case id begins with that prefix"
    with pytest.raises(views.IdError) as ordinary:  # a real prefix is still shown
        views.resolve_case_id("nik:5f06ab13", [STRONG, WEAK])
    assert str(ordinary.value) == "no case id begins with nik:5f06ab13"


@pytest.mark.parametrize(
    "typed", ["nik:5f06", "weak:5f06ab1", "5f06ab1", "case:5f06ab12", "nik:5f06zz12", ""]
)
def test_a_case_prefix_that_is_too_short_or_malformed_is_refused(typed):
    with pytest.raises(views.IdError, match=r"too short to name one case|a case is named by"):
        views.resolve_case_id(typed, [STRONG, WEAK])


def test_sixteen_digits_are_a_nik_however_they_are_typed():
    assert views.is_nik(NIK)
    assert views.is_nik("5302 0141 0190 0001")
    assert views.is_nik("5302.0141.0190.0001")
    assert not views.is_nik(NIK[:15])
    assert not views.is_nik("nik:" + NIK)
    assert not views.is_nik("530201410190000a")


# --- rule and severity filters ------------------------------------------------------------------


def test_rules_and_severities_are_parsed_in_any_case():
    assert views.parse_rule("minor_intercepted") is AlertRule.MINOR_INTERCEPTED
    assert views.parse_rule(" Deceased-Unregistered ") is AlertRule.DECEASED_UNREGISTERED
    assert views.parse_severity("critical") is Severity.CRITICAL
    for rule in AlertRule:
        assert views.parse_rule(rule.value.lower()) is rule


def test_an_unknown_rule_or_severity_is_one_line_naming_the_known_ones():
    with pytest.raises(views.ChoiceError) as refused:
        views.parse_rule("calo")
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("unknown rule 'calo'; known: RECRUITER_NETWORK, ")
    assert all(rule.value in message for rule in AlertRule)
    with pytest.raises(views.ChoiceError, match=r"known: LOW, MEDIUM, HIGH, CRITICAL$"):
        views.parse_severity("urgent")


# --- the analysts' connection, stood in for -----------------------------------------------------


def alert_row(alert_id: str, status: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "alert_id": alert_id,
        "rule": "DECEASED_UNREGISTERED",
        "severity": "HIGH",
        "status": status,
        "summary": "Jenazah dipulangkan dari MY: tidak pernah terdaftar di LTSA [bold]",
        "case_ids": [STRONG],
        "triggered_at": T0,
        "raised_at": T0 + timedelta(minutes=1),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "action": None,
        "withdrawn_at": None,
    }
    if status == "acknowledged":
        row |= {
            "acknowledged_at": T0 + timedelta(hours=2),
            "acknowledged_by": "police-polda-ntt",
            "action": "INVESTIGATING",
        }
    if status == "withdrawn":
        row["withdrawn_at"] = T0 + timedelta(days=1)
    return row | overrides


ROWS = [
    alert_row(ALERT_OPEN, "open", rule="MINOR_INTERCEPTED"),
    alert_row(ALERT_ACKED, "acknowledged"),
    alert_row(ALERT_WITHDRAWN, "withdrawn", severity="CRITICAL"),
]


class Result:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __iter__(self):
        return iter(self.rows)

    def fetchall(self) -> list[dict[str, Any]]:
        return self.rows

    def fetchone(self) -> dict[str, Any] | None:
        return self.rows[0] if self.rows else None


class FakeLedger:
    """Answers the queries of sinergi/views.py from rows, as PostgreSQL would."""

    def __init__(self, alerts: list[dict[str, Any]], cases: list[str]) -> None:
        self.alerts = alerts
        self.cases = cases
        self.queries: list[tuple[str, Any]] = []
        self.nik_case = ""

    def __enter__(self) -> FakeLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, query: str, params: Any = None) -> Result:
        self.queries.append((query, params))
        if "FROM v_alerts a JOIN v_alert_status" in query:
            return Result(self._alerts(params))
        if "FROM v_alerts WHERE alert_id BETWEEN" in query:
            return Result([{"alert_id": a["alert_id"]} for a in self.alerts])
        if "FROM v_cases WHERE case_id LIKE ANY" in query:
            return Result([{"case_id": c} for c in self.cases])
        if "FROM v_cases WHERE case_id = %s" in query:
            return Result([self._case(c) for c in self.cases if c == params[0]])
        if "FROM v_case_facts" in query:
            return Result([self._fact()])
        if "FROM v_alert_status GROUP BY status" in query:
            statuses = [a["status"] for a in self.alerts]
            return Result([{"status": s, "n": statuses.count(s)} for s in set(statuses)])
        if "FROM v_cases" in query and "count(*) AS cases" in query:
            return Result([dict.fromkeys(("cases", "strong", "weak"), 1) | _zero_counts()])
        if "count(*) AS n FROM v_recruiters" in query:
            return Result([{"n": 0}])
        return Result([])  # statuses per case, interceptions per post

    def _alerts(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows = [
            a
            for a in self.alerts
            if (a["status"] == params["open"] or not params["only_open"])
            and params["rule"] in (None, a["rule"])
            and params["severity"] in (None, a["severity"])
        ]
        return rows[: params["limit"]]

    @staticmethod
    def _case(case_id: str) -> dict[str, Any]:
        return {
            "case_id": case_id, "match_kind": "strong", "status": "DECEASED", "sex": "F",
            "origin_regency": "5302", "minor": False, "interceptions": 0, "registrations": 0,
            "placements": 0, "repatriations": 1, "tips": 0, "investigation": "NONE",
            "recruiters": [],
        }  # fmt: skip

    @staticmethod
    def _fact() -> dict[str, Any]:
        return {
            "occurred_at": T0,
            "event_type": "RepatriationRecorded",
            "unit": "bp3mi-ntt",
            "facts": {"kind": "DECEASED", "country": "MY"},
        }


def _zero_counts() -> dict[str, int]:
    return {"repeat": 0, "minors": 0, "interceptions": 0}


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    """A machine with the members' shared key, whose ledger holds three alerts (open,
    acknowledged, withdrawn) and the case of NIK and two others; a console of 80 columns."""
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SINERGI_LANG", "en")  # the English lines (Bahasa: test_cli_language)
    monkeypatch.setenv("COLUMNS", "80")
    settings = from_env()
    load_or_create_key(settings.pseudonym_key_file, create=True)
    # The hub's vault knows the NIK's person (as the intake keeps them): their case id is
    # a subject id, found through the vault.
    vault = MemoryVault(VaultKeys(kek=b"K" * 32, lookup_key=b"L" * 32))
    pseudonym = bootstrap.pseudonymiser(settings).nik(NIK)
    kept = Kept("e-1", "nik", pseudonym, {"nik_pseudonym": pseudonym}, "RepatriationRecorded", T0)
    nik_case = vault.keep([kept])["e-1"].case_id
    fake = FakeLedger(list(ROWS), [nik_case, STRONG, WEAK, OTHER])
    fake.nik_case = nik_case
    monkeypatch.setattr(views, "analyst", lambda settings: fake)
    monkeypatch.setattr(views, "analyst_vault", lambda settings: vault)
    monkeypatch.setattr(cli, "out", Console())  # reads COLUMNS=80
    monkeypatch.setattr(cli, "err", Console(stderr=True))
    return fake


class Ran:
    def __init__(self, *args: str) -> None:
        result = CliRunner().invoke(cli.app, list(args))
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.lines = result.stdout.splitlines()


def test_alerts_list_json_gives_whole_ids_status_and_times_in_iso(ledger):
    listed = Ran("alerts", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    records = [json.loads(line) for line in listed.lines]
    assert [r["alert_id"] for r in records] == [ALERT_OPEN, ALERT_ACKED, ALERT_WITHDRAWN]
    assert [r["status"] for r in records] == ["open", "acknowledged", "withdrawn"]
    assert set(records[0]) == {
        "alert_id", "rule", "severity", "status", "triggered_at", "summary", "case_ids",
        "acknowledged_at", "acknowledged_by", "action", "withdrawn_at",
    }  # fmt: skip
    acked, withdrawn = records[1], records[2]
    assert datetime.fromisoformat(records[0]["triggered_at"]) == T0
    assert (acked["acknowledged_by"], acked["action"]) == ("police-polda-ntt", "INVESTIGATING")
    assert datetime.fromisoformat(acked["acknowledged_at"]) == T0 + timedelta(hours=2)
    assert datetime.fromisoformat(withdrawn["withdrawn_at"]) == T0 + timedelta(days=1)
    assert records[0]["withdrawn_at"] is None and records[0]["acknowledged_at"] is None
    assert records[0]["case_ids"] == [STRONG]


def test_alerts_list_open_asks_for_open_alerts_only(ledger):
    listed = Ran("alerts", "list", "--open", "--json")
    assert [json.loads(line)["alert_id"] for line in listed.lines] == [ALERT_OPEN]
    [(_, params)] = [q for q in ledger.queries if "v_alert_status" in q[0]]
    assert params["only_open"] is True and params["open"] == views.OPEN == "open"


def test_alerts_list_filters_by_rule_and_severity_in_any_case(ledger):
    listed = Ran("alerts", "list", "--json", "--rule", "deceased_unregistered", "--severity",
                 "critical")  # fmt: skip
    assert listed.exit_code == 0, listed.stderr
    assert [json.loads(line)["alert_id"] for line in listed.lines] == [ALERT_WITHDRAWN]


def test_alerts_list_says_when_there_are_more_than_it_shows(ledger):
    """Three alerts, two shown: the list says there are more and how to see them (on
    stderr with --json, so that stdout stays JSON lines); the last raised come first."""
    listed = Ran("alerts", "list", "--limit", "2")
    assert listed.exit_code == 0, listed.stderr
    assert ALERT_OPEN in listed.stdout and ALERT_WITHDRAWN not in listed.stdout
    assert listed.lines[-1] == "showing the 2 alerts raised last; there are more: --limit N shows N"
    [(query, params)] = [q for q in ledger.queries if "v_alert_status" in q[0]]
    assert "ORDER BY a.raised_at DESC" in query and params["limit"] == 3
    as_json = Ran("alerts", "list", "--limit", "2", "--json")
    assert [json.loads(line)["alert_id"] for line in as_json.lines] == [ALERT_OPEN, ALERT_ACKED]
    assert "there are more: --limit N shows N" in as_json.stderr
    every = Ran("alerts", "list", "--limit", "3")
    assert ALERT_WITHDRAWN in every.stdout and "there are more" not in every.stdout


def test_alerts_list_refuses_an_unknown_rule_in_one_line(ledger):
    refused = Ran("alerts", "list", "--rule", "[/calo]")
    assert refused.exit_code == 2
    [line] = refused.stderr.splitlines()
    assert line.startswith("error: unknown rule '[/calo]'; known: RECRUITER_NETWORK, ")
    assert not ledger.queries
    bad = Ran("alerts", "list", "--severity", "urgent")
    assert bad.exit_code == 2
    assert (
        bad.stderr.strip() == "error: unknown severity 'urgent'; known: LOW, MEDIUM, HIGH, CRITICAL"
    )


def test_alerts_list_at_80_columns_shows_whole_ids_and_a_withdrawn_alert_as_withdrawn(ledger):
    listed = Ran("alerts", "list")
    assert listed.exit_code == 0, listed.stderr
    assert all(len(line) <= 80 for line in listed.lines)
    for alert_id in (ALERT_OPEN, ALERT_ACKED, ALERT_WITHDRAWN):
        assert f"alert {alert_id}" in listed.stdout
    heads = [line for line in listed.lines if line.startswith("2026-")]
    assert [head.split()[-1] for head in heads] == ["open", "acknowledged", "withdrawn"]
    assert "[bold]" in listed.stdout  # a summary is text, not markup
    assert "acknowledged 2026-01-05 10:00 police-polda-ntt INVESTIGATING" in listed.stdout
    assert "withdrawn 2026-01-06 08:00" in listed.stdout


def test_alerts_list_on_a_wide_console_is_a_table_with_whole_ids(ledger, monkeypatch):
    monkeypatch.setattr(cli, "out", Console(width=200))
    listed = Ran("alerts", "list")
    assert listed.exit_code == 0, listed.stderr
    [row] = [line for line in listed.lines if ALERT_WITHDRAWN in line]
    assert "withdrawn" in row and "CRITICAL" in row
    assert all(any(a in line for line in listed.lines) for a in (ALERT_OPEN, ALERT_ACKED))


def test_alerts_ack_with_a_prefix_publishes_the_whole_id(ledger, monkeypatch):
    published: list[dict[str, Any]] = []

    def publish_rows(agency, form_name, place, rows, **options):
        published.append({"form": form_name, "place": place, "rows": rows})
        return []

    monkeypatch.setattr(cli_desk, "publish_rows", publish_rows)
    done = Ran("alerts", "ack", "9D2E8A10", "--officer", "POLDA-17", "--action", "INVESTIGATING")
    assert done.exit_code == 0, done.stderr
    [call] = published
    assert call["form"] == "acknowledgement" and call["place"] == "polda-ntt"
    assert call["rows"][0]["alert_id"] == ALERT_WITHDRAWN
    assert call["rows"][0]["action"] == "INVESTIGATING"


def test_alerts_ack_refuses_an_ambiguous_or_unknown_prefix_and_publishes_nothing(
    ledger, monkeypatch
):
    monkeypatch.setattr(cli_desk, "publish_rows", lambda *a, **k: pytest.fail("published"))
    ambiguous = Ran("alerts", "ack", "0b7c2f4", "--officer", "POLDA-17")
    assert ambiguous.exit_code == 2
    assert "too short" in ambiguous.stderr
    ledger.alerts.append(alert_row("0b7c2f4e-0000-4000-8000-000000000000", "open"))
    ambiguous = Ran("alerts", "ack", "0b7c2f4e", "--officer", "POLDA-17")
    assert ambiguous.exit_code == 2
    assert "2 alert ids begin with 0b7c2f4e" in ambiguous.stderr
    assert ALERT_OPEN in ambiguous.stderr and "0b7c2f4e-0000-4000-8000-000000000000" in (
        ambiguous.stderr
    )
    unknown = Ran("alerts", "ack", "12345678", "--officer", "POLDA-17")
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == "error: no alert id begins with 12345678"


def test_ledger_case_by_nik_shows_the_case_and_never_the_nik(ledger):
    shown = Ran("ledger", "case", NIK)
    assert shown.exit_code == 0, shown.stderr
    assert NIK not in shown.stdout + shown.stderr
    assert f"Case {ledger.nik_case}" in shown.stdout  # whole, at 80 columns
    assert "RepatriationRecorded" in shown.stdout
    lookups = [params for query, params in ledger.queries if "case_id = %s" in query]
    assert lookups and all(NIK not in repr(params) for params in lookups)


def test_ledger_case_for_a_nik_with_no_case_says_so_without_the_nik(ledger):
    ledger.cases.clear()
    refused = Ran("ledger", "case", "5371015505950002")
    assert refused.exit_code == 2
    assert refused.stderr.strip() == "error: no case for this NIK"
    assert "5371015505950002" not in refused.stdout


def test_ledger_case_by_prefix(ledger):
    shown = Ran("ledger", "case", "nik:77aa0011")
    assert shown.exit_code == 0, shown.stderr
    assert f"Case {OTHER}" in shown.stdout
    ambiguous = Ran("ledger", "case", "5f06ab")
    assert ambiguous.exit_code == 2 and "too short" in ambiguous.stderr
    ledger.cases.append("weak:" + "77aa0011" * 4)
    ambiguous = Ran("ledger", "case", "77aa0011")
    assert ambiguous.exit_code == 2
    assert "2 case ids begin with that prefix" in ambiguous.stderr
    assert OTHER in ambiguous.stderr and "weak:" + "77aa0011" * 4 in ambiguous.stderr


def test_ledger_summary_counts_a_withdrawn_alert_out_of_the_open_ones(ledger):
    summary = views.ledger_summary(from_env())
    assert (summary.alerts, summary.alerts_open) == (3, 1)
    assert (summary.alerts_acknowledged, summary.alerts_withdrawn) == (1, 1)
    shown = Ran("ledger", "summary")
    assert shown.exit_code == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "alerts for police │ 3" in text
    assert "open (holding, not yet acknowledged) │ 1" in text
    assert "withdrawn (a later fact ended them) │ 1" in text


# --- following: raised and withdrawn ----------------------------------------------------------


def raised() -> AlertRaised:
    return AlertRaised(
        envelope=envelope_for(AlertRaised, unit="hub-processor", occurred_at=T0),
        alert_id=ALERT_OPEN,
        rule=AlertRule.DECEASED_UNREGISTERED,
        severity=Severity.HIGH,
        case_ids=(STRONG, WEAK),
        recruiter_ref=None,
        group_ref=None,
        cause_event_ids=("e1",),
        summary="Jenazah dipulangkan dari MY",
        triggered_at=T0,
    )


WITHDRAWN = police.Withdrawn(
    alert_id=ALERT_OPEN,
    reason="LATE_FACT",
    withdrawn_at=T0 + timedelta(days=1),
    rule="DECEASED_UNREGISTERED",
    summary="terdaftar di LTSA",
)


def test_an_alert_raised_or_withdrawn_is_followed_as_such():
    alert = raised()
    item = police.followed(alert)
    assert isinstance(item, police.Raised) and item.kind == "raised" and item.alert is alert
    gone = AlertWithdrawn(
        envelope=envelope_for(AlertWithdrawn, unit="hub-processor", occurred_at=T0),
        alert_id=ALERT_OPEN,
        rule=AlertRule.DECEASED_UNREGISTERED,
        severity=Severity.HIGH,
        case_ids=(STRONG,),
        reason=WithdrawalReason.LATE_FACT,
        ended_by_event_ids=("e2",),
        summary="ditarik",
        withdrawn_at=T0,
    )
    followed = police.followed(gone)
    assert isinstance(followed, police.Withdrawn)
    assert (followed.alert_id, followed.reason, followed.case_ids) == (
        ALERT_OPEN,
        "LATE_FACT",
        (STRONG,),
    )


def test_follow_json_says_which_kind_with_whole_ids():
    record = json.loads(police.as_json(police.Raised(raised())))
    assert (record["kind"], record["alert_id"]) == ("raised", ALERT_OPEN)
    assert record["case_ids"] == [STRONG, WEAK]
    gone = json.loads(police.as_json(WITHDRAWN))
    assert gone == {
        "kind": "withdrawn",
        "alert_id": ALERT_OPEN,
        "rule": "DECEASED_UNREGISTERED",
        "reason": "LATE_FACT",
        "summary": "terdaftar di LTSA",
        "case_ids": [],
        "withdrawn_at": (T0 + timedelta(days=1)).isoformat(),
    }


def test_alerts_follow_prints_a_withdrawn_alert_as_withdrawn_with_its_reason(ledger, monkeypatch):
    items: list[police.Followed] = [police.Raised(raised()), WITHDRAWN]
    monkeypatch.setattr(police, "follow", lambda settings, **options: iter(items))
    shown = Ran("alerts", "follow")
    assert shown.exit_code == 0, shown.stderr
    raised_line, raised_id, *cases, withdrawn_line, withdrawn_id = shown.lines
    assert "DECEASED_UNREGISTERED" in raised_line and "HIGH" in raised_line
    assert raised_id.split() == ["alert", ALERT_OPEN]
    assert " ".join(cases).split() == ["cases", f"{STRONG},", WEAK]  # whole, wrapped at 80
    assert withdrawn_line.split()[2:] == [
        "WITHDRAWN", "DECEASED_UNREGISTERED", "LATE_FACT:", "terdaftar", "di", "LTSA",
    ]  # fmt: skip
    assert withdrawn_id.split() == ["alert", ALERT_OPEN]
    as_json = Ran("alerts", "follow", "--json")
    assert [json.loads(line)["kind"] for line in as_json.lines] == ["raised", "withdrawn"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_ledger_out_of_reach_is_one_sentence_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("SINERGI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SINERGI_LANG", "en")
    monkeypatch.setenv("SINERGI_PG_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setattr(cli, "err", Console(stderr=True))
    no_secret = Ran("alerts", "list")
    assert no_secret.exit_code == 2
    assert "run `sinergi stack up` first" in no_secret.stderr
    ensure_password(from_env().secrets_dir, "sinergi_analyst")
    for command in (["alerts", "list"], ["alerts", "ack", ALERT_OPEN[:8], "--officer", "P-1"],
                    ["ledger", "case", STRONG], ["ledger", "summary"]):  # fmt: skip
        refused = Ran(*command)
        assert refused.exit_code == 2
        assert refused.stderr.startswith("error: the ledger cannot be read: PostgreSQL at")
        assert "Traceback" not in refused.stderr
    # A whole alert id needs no lookup: the acknowledgement goes to the desk, kept there
    # until the hub can be reached, like any record.
    published: list[list[dict[str, Any]]] = []
    monkeypatch.setattr(cli_desk, "publish_rows", lambda *a, **k: published.append(a[3]))
    acked = Ran("alerts", "ack", ALERT_OPEN.upper(), "--officer", "P-1")
    assert acked.exit_code == 0, acked.stderr
    assert [rows[0]["alert_id"] for rows in published] == [ALERT_OPEN]


# --- following: the unit's group ------------------------------------------------------------


def test_a_units_alerts_group_is_named_within_its_deployment(tmp_path):
    plain = from_env({"SINERGI_HOME": str(tmp_path)})
    prefixed = from_env({"SINERGI_HOME": str(tmp_path), "SINERGI_TOPIC_PREFIX": "t1."})
    assert plain.alerts_group("police-polda-ntt") == "alerts-police-polda-ntt"
    assert prefixed.alerts_group("police-polda-ntt") == "t1.alerts-police-polda-ntt"


class GroupGivingNothing:
    """A consumer whose group never assigns it a partition (another follower holds them)."""

    def __init__(self) -> None:
        self.polls = 0
        self.rewound = False

    def poll(self, timeout_ms: int = 0) -> dict[Any, Any]:
        self.polls += 1
        return {}

    def assignment(self) -> set[Any]:
        return set()

    def seek_to_beginning(self) -> None:
        self.rewound = True


def test_replaying_from_the_beginning_says_so_when_the_group_gives_no_partition():
    consumer = GroupGivingNothing()
    with pytest.raises(police.StackError, match="no partition in 1s: another") as raised:
        police._rewind(consumer, "police-polres-5371", wait_s=1.0)
    assert "`sinergi alerts follow --unit police-polres-5371`" in str(raised.value)
    assert consumer.polls > 1 and not consumer.rewound
