"""A data subject's right of access and the breach clock (issue 11, UU 27/2022), through
the real stack as the administrator runs them: ``sinergi person export`` lists every fact
the hub holds about one person and nobody else's, and records the export without the NIK;
an access outside the ACL matrix and a failed audit check each start the 3 x 24 hour
notification clock, which /metrics shows and a restart does not reset."""

from __future__ import annotations

import contextlib
import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import AuthorizationError

from deploy.secrets import read_password
from schemas.nik import parse_nik
from sinergi import bootstrap
from tests.integration.hub import Hub, files_holding

pytestmark = pytest.mark.integration

NIK = "5304015203880917"  # Belu, a woman born 12 March 1988
OTHER_NIK = "5304010101900003"  # Belu, a man born 1 January 1990, in the same group
RECRUITER = "081277776666"
REPORTER = "081311119999"


def event_ids(output: str) -> list[str]:
    return re.findall(r"([0-9a-f-]{36}) -> ", output)


def case_of(hub: Hub, nik: str) -> str:
    """The NIK's case, as the hub knows the person: through its vault (once processed)."""
    vault = bootstrap.vault(hub.settings, "sinergi_owner")
    try:
        subject = vault.find("nik", bootstrap.pseudonymiser(hub.settings).nik(nik))
    finally:
        vault.close()
    assert subject is not None, "the person is not in the vault"
    return subject.case_id


def test_the_export_lists_every_fact_about_the_person_and_no_one_elses(hub: Hub, tmp_path: Path):
    assert parse_nik(NIK) and parse_nik(OTHER_NIK)
    hub.start_worker()
    tip = hub.run("hotline", "tip", tip_ref="PX-1", reporter=REPORTER, concern="akan_berangkat",
                  nik=NIK, recruiter=RECRUITER, occurred_at="2026-01-10T09:00")  # fmt: skip
    wrong_tip = hub.run("hotline", "tip", tip_ref="PX-2", reporter=REPORTER, concern="lainnya",
                        nik=NIK, occurred_at="2026-01-11T09:00")  # fmt: skip
    seen = hub.run("post", "record", at="eltari", occurred_at="2026-01-20T08:30", nik=NIK,
                   sex="P", destination_country="MY", recruiter=RECRUITER, group_ref="G-PX",
                   outcome="dipulangkan", officer="ELT-07")  # fmt: skip
    hub.run("post", "record", at="eltari", occurred_at="2026-01-20T08:30", nik=OTHER_NIK,
            sex="L", destination_country="MY", recruiter=RECRUITER, group_ref="G-PX",
            outcome="dipulangkan", officer="ELT-07")  # fmt: skip
    hub.run("district", "ltsa", at="5304", nik=OTHER_NIK, intended_country="TW",
            occurred_at="2026-01-05T10:00")  # fmt: skip
    death = hub.run("bp3mi", "repatriation", nik=NIK, kind="jenazah", country="MY",
                    procedural="tidak", occurred_at="2026-03-02T11:00")  # fmt: skip
    # Police name cases by the ids the hub gave the people (found through its vault).
    hub.wait_for(lambda: hub.event_count() == 6, what="the people's records")
    mine, other = case_of(hub, NIK), case_of(hub, OTHER_NIK)
    police_file = hub.run("police", "investigation", investigation_ref="LP/PX/1", offence="TPPO",
                          case_ids=f"{mine};{other}", recruiters=RECRUITER,
                          occurred_at="2026-03-03T10:00")  # fmt: skip
    [interception] = event_ids(seen.stdout)
    [wrong] = event_ids(wrong_tip.stdout)
    fixed = hub.run("post", "correct", interception, at="eltari", occurred_at="2026-01-20T08:30",
                    nik=NIK, sex="P", destination_country="MY", recruiter=RECRUITER,
                    group_ref="G-PX", outcome="HANDED_TO_POLICE", officer="ELT-07")  # fmt: skip
    retracted = hub.run("hotline", "retract", wrong, reason="WRONG_PERSON", form="tip")
    hub.wait_for(lambda: hub.event_count() == 9, what="the records and their amendments")
    hub.wait_for(
        lambda: bool(hub.query("SELECT 1 FROM alerts WHERE rule = 'DECEASED_AFTER_INTERCEPTION'")),
        what="the death alert",
    )
    [(death_alert,)] = hub.query(
        "SELECT alert_id::text FROM alerts WHERE rule = 'DECEASED_AFTER_INTERCEPTION'"
    )
    hub.cli("alerts", "ack", str(death_alert)[:8], "--officer", "POLDA-9", "--action", "diselidiki")
    hub.wait_for(lambda: hub.event_count() == 10, what="the acknowledgement")
    [(ack,)] = hub.query("SELECT event_id::text FROM events WHERE event_type = 'AlertAcknowledged'")

    target = tmp_path / "person.json"
    done = hub.cli("person", "export", NIK, "--out", str(target), "--request", "PDP-7",
                   "--by", "dpo-1")  # fmt: skip
    assert NIK not in done.stdout + done.stderr
    assert f"exported: case {mine}: 8 event(s)" in " ".join(done.stderr.split())
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    found = json.loads(text)

    # Every stored event about her, and the acknowledgement of an alert about her.
    about = {*event_ids(tip.stdout), wrong, interception, *event_ids(death.stdout),
             *event_ids(police_file.stdout), *event_ids(fixed.stdout)}  # fmt: skip
    why = {e["event_id"]: e["why"] for e in found["events"]}
    assert why == {
        **dict.fromkeys(about, "about_the_person"),
        **dict.fromkeys(event_ids(retracted.stdout), "amends_a_record_about_them"),
        ack: "acknowledges_an_alert_about_them",
    }
    assert found["subject"] == {"nik": NIK, "case_id": mine, "held": True, "erased": False}
    # The vault's account: each of her records' personal fields, opened.
    pseudonym = bootstrap.pseudonymiser(hub.settings).nik(NIK)
    assert found["vault"]["case_id"] == mine and not found["vault"]["erased"]
    assert {f["fields"]["nik_pseudonym"] for f in found["vault"]["facts"]} == {pseudonym}
    assert (found["request_ref"], found["exported_by"]) == ("PDP-7", "dpo-1")
    # Her case as the ledger holds it: the retracted tip is out, the correction holds.
    [(state,)] = hub.query("SELECT state FROM cases WHERE case_id = %s", mine)
    assert found["case"]["case_id"] == mine and found["case"]["status"] == "DECEASED"
    facts = [f["event_id"] for f in found["case"]["state"]["facts"]]
    assert facts == [f["event_id"] for f in state["facts"]]  # type: ignore[index]
    assert wrong not in facts and interception in facts
    [corrected] = [f for f in found["case"]["state"]["facts"] if f["event_id"] == interception]
    assert corrected["detail"]["outcome"] == "HANDED_TO_POLICE"
    # The alerts about her case, each with its status as v_alert_status has it.
    statuses = dict(hub.query(
        "SELECT a.alert_id::text, s.status FROM alerts a JOIN v_alert_status s USING (alert_id)"
        " WHERE %s = ANY(a.case_ids)", mine))  # fmt: skip
    assert {a["alert_id"]: a["status"] for a in found["alerts"]} == statuses
    assert statuses[death_alert] == "acknowledged"
    [dead] = [a for a in found["alerts"] if a["alert_id"] == death_alert]
    assert (dead["acknowledged_by"], dead["acknowledged_action"]) == ("police-polda-ntt",
                                                                      "INVESTIGATING")  # fmt: skip
    # The versions of her amended records, the links, the audit of every event.
    roots = {v["root_event_id"]: v for v in found["fact_versions"]}
    assert set(roots) == {interception, wrong}
    assert roots[wrong]["retracted_by"] == event_ids(retracted.stdout)[0]
    assert roots[interception]["head_event_id"] == event_ids(fixed.stdout)[0]
    recruiter_ref = bootstrap.pseudonymiser(hub.settings).recruiter(RECRUITER)
    assert [r["recruiter_ref"] for r in found["links"]["recruiters"]] == [recruiter_ref]
    assert [(g["group_key"], g["people"]) for g in found["links"]["groups"]] == [("eltari/G-PX", 2)]
    assert [i["investigation_ref"] for i in found["links"]["investigations"]] == ["LP/PX/1"]
    audited = {a["event_id"] for a in found["audit"]}
    assert audited == set(why)
    # Sealed contacts stay sealed; others' data stays out.
    [record] = [e for e in found["events"] if e["event_id"] == interception]
    assert record["payload"]["recruiter_contact_sealed"]
    assert RECRUITER not in text and found["counts"]["sealed_values"] >= 1
    assert any("sealed" in note["en"] for note in found["notes"])
    assert other not in text and OTHER_NIK not in text
    [opened] = [e for e in found["events"] if e["event_type"] == "InvestigationOpened"]
    assert opened["payload"]["case_ids"] == [mine]
    assert opened["payload"]["case_ids_withheld"] == 1
    [tip_record] = [e for e in found["events"] if e["event_id"] == event_ids(tip.stdout)[0]]
    assert tip_record["payload"]["reporter_ref"].startswith("withheld")
    assert found["access"]["earlier_exports"] == []

    # The export is recorded: who, when, the pseudonym, the request; never the NIK.
    rows = hub.query("SELECT case_id, exported_by, request_ref, events, alerts, db_role"
                     " FROM person_exports")  # fmt: skip
    assert rows == [(mine, "dpo-1", "PDP-7", 8, len(statuses), "sinergi_owner")]
    again = hub.cli("person", "export", NIK, "--by", "dpo-1")  # to standard output
    assert [e["seq"] for e in json.loads(again.stdout)["access"]["earlier_exports"]] == [1]
    for table in ("person_exports", "events", "audit_log", "cases", "alerts", "web_audit"):
        dumped = hub.query(f"SELECT coalesce(string_agg(t::text, ''), '') FROM {table} t")
        assert NIK not in str(dumped[0][0]), table
    assert files_holding((hub.settings.home / "logs").iterdir(), [NIK.encode()]) == []
    # A request reference that is a NIK is refused before anything is read or recorded.
    refused = hub.cli("person", "export", NIK, "--request", OTHER_NIK, check=False)
    assert refused.returncode == 2 and OTHER_NIK not in refused.stdout + refused.stderr
    assert hub.query("SELECT count(*) FROM person_exports")[0][0] == 2


def test_the_nik_can_be_given_on_standard_input_out_of_the_shells_history(hub: Hub):
    done = subprocess.run(
        [sys.executable, "-m", "sinergi", "person", "export", "--by", "dpo-2"],
        input=NIK + "\n", env=hub.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    # Read, looked up, and not found: the hub holds nothing about her (never recorded).
    assert done.returncode == 1 and done.stdout == ""
    assert "the hub holds nothing about this NIK" in " ".join(done.stderr.split())
    assert NIK not in done.stderr


# --- the breach clock ---------------------------------------------------------------------------


def _denied_read(hub: Hub, member: str) -> None:
    """``member`` (a post) reaches for police's alerts: the broker denies it."""
    consumer = KafkaConsumer(group_id=None, enable_auto_commit=False, **hub.kafka(member))
    try:
        consumer.assign([TopicPartition(hub.settings.topic("hub.alerts"), 0)])
        with contextlib.suppress(AuthorizationError):  # refused, as it should be
            consumer.poll(timeout_ms=3000)
    finally:
        consumer.close()


def _metric(hub: Hub, line_start: str) -> float | None:
    page = httpx.get(f"http://{hub.settings.host}:{hub.settings.ports.metrics}/metrics").text
    for line in page.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


def _metrics_up(hub: Hub) -> bool:
    try:
        return _metric(hub, "sinergi_breach_clock_up") == 1.0
    except httpx.HTTPError:
        return False


def test_an_access_outside_the_acl_matrix_starts_the_clock_and_a_restart_keeps_it(hub: Hub):
    assert hub.cli("audit", "watch", "--no-verify").returncode == 0  # nothing denied yet
    _denied_read(hub, "post-eltari")
    watched = hub.cli("audit", "watch", "--no-verify", check=False)
    assert watched.returncode == 1
    assert "suspected breach acl_denied User:post-eltari" in " ".join(watched.stderr.split())
    [(suspicion, detected, first, count, detail)] = hub.query(
        "SELECT suspicion_id::text, extract(epoch FROM detected_at)::float8, first_evidence_at,"
        " occurrences, detail FROM breach_suspicions WHERE closed_at IS NULL"
    )
    assert first is not None and count >= 1  # type: ignore[operator]
    topic = hub.settings.topic("hub.alerts")
    assert any(topic in op for op in detail["operations"])  # type: ignore[index]

    # The processor's /metrics shows the clock and its deadline, 72 hours on.
    worker = hub.start_worker()
    since = 'sinergi_breach_suspected_since_timestamp_seconds{kind="acl_denied"}'
    deadline = 'sinergi_breach_notify_by_timestamp_seconds{kind="acl_denied"}'
    hub.wait_for(lambda: _metrics_up(hub), what="/metrics")
    assert _metric(hub, since) == pytest.approx(detected, abs=0.01)
    assert _metric(hub, deadline) == pytest.approx(detected + 72 * 3600, abs=0.01)  # type: ignore[operator]
    # Neither a restart of the processor nor more denials move it; they are counted in.
    hub.stop_worker(worker)
    _denied_read(hub, "post-eltari")
    assert hub.cli("audit", "watch", "--no-verify", check=False).returncode == 1
    hub.start_worker()
    hub.wait_for(lambda: _metrics_up(hub), what="/metrics again")
    assert _metric(hub, since) == pytest.approx(detected, abs=0.01)
    [(again, later)] = hub.query(
        "SELECT extract(epoch FROM detected_at)::float8, occurrences FROM breach_suspicions"
    )
    assert again == detected and later > count  # type: ignore[operator]
    # Not even the owner can reset the clock or remove the suspicion.
    with pytest.raises(psycopg.errors.RaiseException, match="do not change"):
        hub.query("UPDATE breach_suspicions SET detected_at = now()")
    with pytest.raises(psycopg.errors.RaiseException, match="kept"):
        hub.query("DELETE FROM breach_suspicions")

    # Closed with a note: the clock stops, the record stays.
    refused = hub.cli("audit", "close", str(suspicion)[:8], "--note", "x", check=False)
    assert refused.returncode == 2  # --notified or --not-notified must be said
    hub.cli("audit", "close", str(suspicion)[:8], "--note", "the operator's own ACL test",
            "--not-notified", "--by", "ops-1")  # fmt: skip
    hub.wait_for(lambda: _metric(hub, since) is None, what="the clock to stop")
    assert _metric(hub, 'sinergi_breach_suspicions_open{kind="acl_denied"}') == 0
    assert hub.cli("audit", "watch", "--no-verify").returncode == 0
    listed = json.loads(hub.cli("audit", "breaches", "--all", "--json").stdout)
    assert (listed["closed_by"], listed["notified"]) == ("ops-1", False)
    assert listed["close_note"] == "the operator's own ACL test"


def test_a_failed_audit_check_starts_the_clock(hub: Hub):
    hub.run("post", "record", at="eltari", occurred_at="2026-01-20T08:30", nik=NIK,
            outcome="SENT_HOME", officer="ELT-07")  # fmt: skip
    hub.start_worker()
    hub.wait_for(lambda: hub.query("SELECT count(*) FROM audit_log")[0][0] == 1, what="audit")
    assert hub.cli("audit", "watch").returncode == 0
    [(checked,)] = hub.query("SELECT outcome FROM breach_watch WHERE source = 'audit_verify'")
    assert checked == "ok"
    superuser = psycopg.connect(
        host="127.0.0.1",
        port=hub.settings.ports.postgres,
        user="postgres",
        password=read_password(hub.settings.secrets_dir, "postgres"),
        dbname=hub.settings.database,
        autocommit=True,
    )
    with superuser:
        superuser.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        superuser.execute("UPDATE audit_log SET signer = 'intruder'")
        superuser.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    broken = hub.cli("audit", "verify", check=False)
    assert broken.returncode == 2
    assert "3 x 24 hour notification clock runs: 1" in " ".join(broken.stderr.split())
    [(kind, subject, detail)] = hub.query(
        "SELECT kind, subject, detail FROM breach_suspicions WHERE closed_at IS NULL"
    )
    assert (kind, subject) == ("audit_failed", "chains")
    [(chain,)] = hub.query("SELECT chain FROM audit_log")
    assert detail["chain"] == chain  # type: ignore[index]
    # The watch finds the same and counts it into the open suspicion.
    assert hub.cli("audit", "watch", check=False).returncode == 1
    assert hub.query("SELECT count(*), max(occurrences) FROM breach_suspicions")[0] == (1, 2)
