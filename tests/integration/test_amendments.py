"""Mistakes corrected and records retracted through the real stack, as agencies do it at
the command line; police told when an alert is withdrawn; honest re-sends recorded as
such; and a rebuild that trusts exactly what live trusts."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from kafka import KafkaProducer

from producers import forms
from schemas.access import Role
from schemas.model import Agency
from sinergi import bootstrap, members, police
from tests.integration.hub import Hub
from tests.integration.test_foundation import write_csv

pytestmark = pytest.mark.integration

NIK = "5302014101900001"  # TTS, female, born 1 January 1990
DEAD_NIK = "5371015505950002"  # Kota Kupang, female, born 15 May 1995
INTERCEPTION = {
    "occurred_at": "2026-01-20T08:30",
    "nik": NIK,
    "sex": "P",
    "origin_regency": "5302",
    "destination_country": "MY",
    "outcome": "SENT_HOME",
    "officer": "ELT-07",
}


def event_ids(output: str) -> list[str]:
    return re.findall(r"([0-9a-f-]{36}) -> ", output)


def outcomes(hub: Hub) -> dict[str, int]:
    return {str(k): int(v) for k, v in hub.query(  # type: ignore[call-overload]
        "SELECT outcome, count(*) FROM audit_log GROUP BY 1")}  # fmt: skip


def test_a_corrected_outcome_leaves_one_interception_and_no_repeat_alert(hub: Hub):
    [recorded] = event_ids(hub.run("post", "record", at="eltari", **INTERCEPTION).stdout)
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 1, what="the interception")
    fixed = dict(INTERCEPTION, outcome="HANDED_TO_POLICE")
    done = hub.run("post", "correct", recorded, at="eltari", **fixed)
    assert "published 1 interception(s) from post-eltari" in done.stdout
    hub.wait_for(lambda: hub.event_count() == 2, what="the correction")
    [(interceptions, state)] = hub.query("SELECT interceptions, state FROM cases")
    assert interceptions == 1
    [fact] = state["facts"]  # type: ignore[index]
    assert (fact["event_id"], fact["detail"]["outcome"]) == (recorded, "HANDED_TO_POLICE")
    assert hub.query("SELECT count(*) FROM alerts WHERE rule = 'REPEAT_INTERCEPTION'")[0][0] == 0
    counted = hub.query("SELECT sum(value) FROM metrics_daily"
                        " WHERE metric = 'sinergi_interceptions_total'")[0][0]  # fmt: skip
    assert counted == 1
    # The rebuild reads the record and its correction in one batch: the same ledger.
    rebuilt = hub.cli("ledger", "rebuild", "--wait", "30")
    assert "identical" in rebuilt.stdout, rebuilt.stdout


def test_a_case_shows_its_facts_as_the_ledger_holds_them_corrected_and_retracted(hub: Hub):
    """`ledger case` and the browser's case page: a corrected record with its corrected
    content only, a retracted one absent (not every record ever sent)."""
    [recorded] = event_ids(hub.run("post", "record", at="eltari", **INTERCEPTION).stdout)
    death = hub.run(
        "bp3mi", "repatriation", occurred_at="2026-02-03T11:00", nik=NIK, kind="jenazah",
        country="MY", procedural="tidak",
    )  # fmt: skip
    [died] = event_ids(death.stdout)
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 2, what="the two records")
    hub.run(
        "post", "correct", recorded, at="eltari", **dict(INTERCEPTION, outcome="HANDED_TO_POLICE")
    )
    hub.run("bp3mi", "retract", died, reason="ENTERED_IN_ERROR", form="repatriation")
    hub.wait_for(lambda: hub.event_count() == 4, what="the correction and the retraction")
    shown = hub.cli("ledger", "case", NIK, env={"COLUMNS": "250", "SINERGI_LANG": "en"}).stdout
    assert "outcome=HANDED_TO_POLICE" in shown and "SENT_HOME" not in shown, shown
    assert "RepatriationRecorded" not in shown and "DECEASED" not in shown, shown
    reader = bootstrap.ledger_reader(hub.settings)
    case = reader.case(reader.find_case(NIK), None)
    assert case is not None
    assert [(f.event_id, f.event_type, f.details.get("outcome")) for f in case.timeline] == [
        (recorded, "InterceptionRecorded", "HANDED_TO_POLICE")
    ]


def test_police_are_not_given_a_contact_a_correction_took_out_of_its_record(hub: Hub):
    """A recruiter's contact recorded by mistake (an innocent person's number, say) is
    taken out by a correction: the alert sent before still names where the vault keeps
    it, and police opening it from there are told it is no longer the record's."""
    [recorded] = event_ids(
        hub.run("post", "record", at="eltari", recruiter="0812 3456 7890", **INTERCEPTION).stdout
    )
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 1, what="the interception")
    reveal = police.contact_opener(hub.settings)
    assert reveal(f"vault:{recorded}") == "0812 3456 7890"
    # Corrected, its outcome only: the case page's contact is the corrected record's
    # (kept under the correction that carried it), and it opens.
    outcome = dict(INTERCEPTION, outcome="HANDED_TO_POLICE")
    hub.run("post", "correct", recorded, at="eltari", recruiter="0812 3456 7890", **outcome)
    hub.wait_for(lambda: hub.event_count() == 2, what="the first correction")
    reader = bootstrap.ledger_reader(hub.settings)
    case_id = reader.find_case(NIK)
    reference = reader.sealed_contact(recorded, case_id)
    assert reference is not None and reference != f"vault:{recorded}"
    assert reveal(reference) == "0812 3456 7890"
    hub.run("post", "correct", recorded, at="eltari", **INTERCEPTION)  # no recruiter now
    hub.wait_for(lambda: hub.event_count() == 3, what="the second correction")
    assert reader.sealed_contact(recorded, case_id) is None
    for old in (f"vault:{recorded}", reference):
        assert reveal(old) == "(no longer the record's: corrected or retracted since)"


def test_a_unit_cannot_correct_another_units_record(hub: Hub):
    [recorded] = event_ids(hub.run("post", "record", at="eltari", **INTERCEPTION).stdout)
    elsewhere = hub.run(
        "post", "correct", recorded, at="tenau", **dict(INTERCEPTION, officer="TEN-01")
    )
    # Tenau's desk never recorded it, and says so before it sends the correction anyway.
    assert "this desk holds no record with that id" in elsewhere.stderr
    hub.start_worker()
    hub.wait_for(lambda: outcomes(hub).get("dead_lettered") == 1, what="the refusal")
    [reason] = [r for (r,) in hub.query("SELECT reason FROM audit_log WHERE reason IS NOT NULL")]
    assert "post-tenau may not correct a record of another unit" in str(reason)
    [(state,)] = hub.query("SELECT state FROM cases")
    assert state["facts"][0]["detail"]["outcome"] == "SENT_HOME"  # type: ignore[index]
    # The desk that recorded it amends it without a word of warning.
    mine = hub.run("post", "retract", recorded, at="eltari", reason="DUPLICATE")
    assert "this desk holds no record" not in mine.stderr


def test_a_retracted_death_withdraws_its_alert_and_police_see_it_withdrawn(hub: Hub):
    death = hub.run(
        "bp3mi", "repatriation", occurred_at="2026-02-03T11:00", nik=DEAD_NIK, kind="jenazah",
        country="MY", procedural="tidak",
    )  # fmt: skip
    [recorded] = event_ids(death.stdout)
    hub.start_worker()
    hub.wait_for(lambda: hub.query("SELECT count(*) FROM alerts")[0][0] == 1, what="the alert")
    hub.run("bp3mi", "retract", recorded, reason="ENTERED_IN_ERROR", form="repatriation")
    hub.wait_for(
        lambda: hub.query("SELECT count(*) FROM alerts WHERE withdrawn_at IS NOT NULL")[0][0] == 1,
        what="the withdrawal",
    )
    followed = hub.cli(
        "alerts", "follow", "--from-beginning", "--json", "--max", "2", "--idle-timeout", "20"
    )
    raised, withdrawn = (json.loads(line) for line in followed.stdout.splitlines()[:2])
    assert (raised["kind"], raised["rule"]) == ("raised", "DECEASED_UNREGISTERED")
    assert (withdrawn["kind"], withdrawn["alert_id"]) == ("withdrawn", raised["alert_id"])
    assert withdrawn["reason"] == "RECORD_RETRACTED"
    listed = hub.cli("alerts", "list", "--open", "--json").stdout
    assert raised["alert_id"] not in listed
    assert hub.query("SELECT count(*) FROM cases")[0][0] == 0
    deaths = hub.query("SELECT coalesce(sum(value), 0) FROM metrics_daily"
                       " WHERE metric = 'sinergi_deaths_total'")[0][0]  # fmt: skip
    assert deaths == 0
    # A rebuild run where the grace period is configured otherwise derives with the live
    # processor's rules (recorded in ledger_rules), and says so.
    rebuilt = hub.cli("ledger", "rebuild", "--wait", "30", env={"SINERGI_ALERT_GRACE_HOURS": "24"})
    assert "alert_grace_hours: 24 -> 0" in rebuilt.stdout, rebuilt.stdout
    assert "identical" in rebuilt.stdout, rebuilt.stdout


def test_a_file_imported_again_from_another_desk_is_already_recorded_not_replayed(hub, tmp_path):
    rows = [
        dict(INTERCEPTION),
        # A recruiter's contact is sealed for police anew at each import.
        dict(INTERCEPTION, nik="5302014101900002", occurred_at="2026-01-21T08:30",
             recruiter="081234567890"),
    ]  # fmt: skip
    path = write_csv(tmp_path / "rows.csv", rows)
    hub.run("post", "import", "interception", str(path), at="eltari")
    # The same file from another machine (this desk's outbox gone): sent again.
    shutil.rmtree(hub.settings.desk_dir)
    hub.run("post", "import", "interception", str(path), at="eltari")
    hub.start_worker()
    hub.wait_for(lambda: sum(outcomes(hub).values()) == 4, what="4 messages audited")
    assert outcomes(hub) == {"stored": 2, "already_recorded": 2}
    assert hub.event_count() == 2


def test_the_rebuild_folds_nothing_the_live_processor_refused(hub: Hub):
    desk = bootstrap.desk(hub.settings, Agency.POST, "eltari")

    def record(n: int, **changes: str):
        row = dict(INTERCEPTION, nik=f"53020141019000{n:02d}", **changes)
        return forms.record(desk, forms.FORMS["interception"], row)

    good = [record(n) for n in range(1, 4)]
    pub = bootstrap.publisher(hub.settings, "post-eltari")
    pub.publish(good)
    producer = KafkaProducer(**hub.kafka("post-eltari"))
    relative = "posts.interception-recorded"
    forged, unsigned, altered = (pub.encode(record(n)) for n in range(4, 7))
    intruder = bootstrap.signer(hub.settings, "bp3mi-ntt")
    producer.send(forged.topic, key=forged.key, value=forged.value,
                  headers=intruder.headers(relative, forged.key, forged.value))  # fmt: skip
    producer.send(unsigned.topic, key=unsigned.key, value=unsigned.value)
    changed = bytearray(altered.value)
    changed[-2] ^= 0x01
    producer.send(altered.topic, key=altered.key, value=bytes(changed), headers=altered.headers)
    # A member revoked, then a message recorded and signed with its key.
    members.add(hub.settings, "post-maumere", Role.POST)
    revoked = bootstrap.signer(hub.settings, "post-maumere")
    members.revoke(hub.settings, "post-maumere")
    maumere = bootstrap.desk(hub.settings, Agency.POST, "maumere")
    late = forms.record(maumere, forms.FORMS["interception"], dict(INTERCEPTION, officer="MAU-1"))
    m = pub.encode(late)
    producer.send(m.topic, key=m.key, value=m.value,
                  headers=revoked.headers(relative, m.key, m.value))  # fmt: skip
    # Another content under a stored event's id, validly signed: a replay.
    r = pub.encode(record(1, outcome="SHELTERED", event_id=good[0].event_id))
    producer.send(r.topic, key=r.key, value=r.value, headers=r.headers)
    producer.flush()
    producer.close()
    pub.close()
    hub.start_worker()
    hub.wait_for(lambda: sum(outcomes(hub).values()) == 8, what="8 messages audited")
    assert outcomes(hub) == {"stored": 3, "dead_lettered": 5}
    reasons = " | ".join(str(r) for (r,) in hub.query(
        "SELECT reason FROM audit_log WHERE reason IS NOT NULL"))  # fmt: skip
    for why in ("does not verify", "unsigned", "revoked", "replayed"):
        assert why in reasons
    rebuilt = hub.cli("ledger", "rebuild", "--wait", "30")
    assert "identical" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    assert hub.event_count() == 3


def test_a_rebuild_names_what_differs_from_a_live_ledger_altered_behind_its_back(hub: Hub):
    hub.run("post", "record", at="eltari", **INTERCEPTION)
    hub.run("post", "record", at="eltari", **dict(INTERCEPTION, nik="5302014101900002"))
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 2, what="two interceptions")
    [(case_id,)] = hub.query("SELECT case_id FROM cases ORDER BY case_id LIMIT 1")
    # Someone with the owner's password edits the live ledger: one case, one count.
    hub.query("UPDATE cases SET state = jsonb_set(state, '{derived,sex}', '\"MALE\"')"
              " WHERE case_id = %s RETURNING 1", case_id)  # fmt: skip
    hub.query("UPDATE metrics_daily SET value = value + 5"
              " WHERE metric = 'sinergi_interceptions_total' RETURNING 1")  # fmt: skip
    rebuilt = hub.cli("ledger", "rebuild", "--wait", "30", check=False)
    assert rebuilt.returncode != 0
    assert f"cases: differs: {case_id}" in rebuilt.stderr, rebuilt.stderr
    assert "metrics_daily: differs: " in rebuilt.stderr
    [cases_row] = [line for line in rebuilt.stdout.splitlines() if line.startswith("│ cases")]
    assert cases_row.split("│")[3].strip() == "1"  # one case differs, counted in the table
