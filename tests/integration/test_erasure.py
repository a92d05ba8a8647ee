"""Erasure from an append-only hub (issue 11), end to end on the real stack: three
agencies record one person, the topics and the event store hold nothing personal in
clear, two administrators erase the person, the intake key is retired, and then no
copy of the person's personal fields can be read anywhere while the ledger, the metrics
and a rebuild from the topics are exactly what they were. A police file citing the case
after its erasure is folded as any fact, yet the case's last word on hub.cases stays its
PersonErased, and the ledger shows the case erased."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from kafka import KafkaConsumer

from processors.vault import Subject
from schemas.crypto import CryptoError
from schemas.model import Event
from schemas.nik import normalise_nik
from schemas.person_seal import open_contact, open_person, person_fields
from schemas.serde import EventDeserializer
from schemas.topics import CASES
from sinergi import bootstrap, members, police
from tests.integration.hub import Hub

pytestmark = pytest.mark.integration

NIK = "5302014101900001"  # TTS, female, born 1 January 1990
OTHER_NIK = "5371015505950002"  # Kota Kupang, female, born 15 May 1995
PERSON = {"nik": NIK, "sex": "P", "origin_regency": "5302"}
# The recruiters' contacts each reported (sealed for police, then to the hub).
HER_RECRUITER, HIS_RECRUITER = "0812-7777-5555", "0813-1111-2222"
AGENCY_TOPICS = (
    "posts.interception-recorded",
    "bp3mi.placement-registered",
    "bp3mi.repatriation-recorded",
)


def agency_messages(hub: Hub) -> list[tuple[bytes, bytes, Event]]:
    """Every message on the agency topics (key, value, decoded), as any member reads them."""
    consumer = KafkaConsumer(
        *(hub.settings.topic(name) for name in AGENCY_TOPICS),
        **hub.kafka(),
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    decode = EventDeserializer(bootstrap.registry_reader(hub.settings))
    found = [(m.key, m.value, decode(m.value).event) for m in consumer]
    consumer.close()
    return found


def metrics_of(hub: Hub) -> dict[str, str]:
    """The metrics page's ledger series (the processor's own gauges aside)."""
    page = httpx.get(f"http://127.0.0.1:{hub.settings.ports.metrics}/metrics", timeout=5).text
    wanted = ("sinergi_interceptions", "sinergi_placements", "sinergi_repatriations",
              "sinergi_deaths", "sinergi_cases", "sinergi_alerts_raised")  # fmt: skip
    return {
        line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1]
        for line in page.splitlines()
        if line.startswith(wanted)
    }


def contact_in_vault(hub: Hub, carrier_id: str) -> str | None:
    """The recruiter contact the vault keeps for a message (still sealed for police)."""
    vault = bootstrap.vault(hub.settings, "sinergi_analyst", create=False)
    try:
        return vault.contact(carrier_id)
    finally:
        vault.close()


def test_an_erased_person_is_unreadable_everywhere_and_the_ledger_and_rebuild_do_not_change(
    hub: Hub,
):
    hub.run("post", "record", at="eltari", occurred_at="2025-08-01T08:00", outcome="SENT_HOME",
            officer="ELT-07", destination_country="MY", recruiter=HER_RECRUITER,
            **PERSON)  # fmt: skip
    hub.run("bp3mi", "placement", occurred_at="2025-09-03T11:00", destination_country="Taiwan",
            sector="MANUFACTURING", placement_company="P3MI-0042", **PERSON)  # fmt: skip
    hub.run("bp3mi", "repatriation", occurred_at="2026-02-03T11:00", kind="jenazah",
            country="MY", procedural="tidak", cause="ILLNESS", **PERSON)  # fmt: skip
    hub.run("post", "record", at="tenau", occurred_at="2025-08-02T08:00", outcome="SENT_HOME",
            officer="TEN-03", nik=OTHER_NIK, recruiter=HIS_RECRUITER)  # fmt: skip
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 4, what="4 facts")
    case_id = hub.case_of(NIK)
    pseudonym = bootstrap.pseudonymiser(hub.settings).nik(normalise_nik(NIK))
    assert pseudonym not in case_id

    # Nothing personal in clear: not on the wire, not in the event store, not in the ledger.
    messages = agency_messages(hub)
    assert len(messages) == 4
    for key, value, event in messages:
        [(_, person)] = person_fields(event)
        assert person.sealed and person.nik_pseudonym is None and person.birth_date is None
        assert pseudonym.encode() not in key + value and NIK.encode() not in value
    # Her recruiter's contact: on the wire sealed to the hub around its police seal; in the
    # vault under her key; the ledger holds only where the vault keeps it.
    [(her_event, her_wire)] = [
        (e.event_id, getattr(e, "recruiter_contact_sealed", None))
        for _, _, e in messages
        if e.occurred_at.date().isoformat() == "2025-08-01"
    ]
    police_sealed = contact_in_vault(hub, her_event)
    assert her_wire and police_sealed and police_sealed not in her_wire
    reveal = police.contact_opener(hub.settings)
    assert reveal(f"vault:{her_event}") == HER_RECRUITER
    for table in ("events", "cases", "alerts", "audit_log", "outbox"):
        for secret in (pseudonym, police_sealed[:48]):
            [(hits,)] = hub.query(f"SELECT count(*) FROM {table} t WHERE t::text LIKE %s",
                                  f"%{secret}%")  # fmt: skip
            assert hits == 0, table
    [(held,)] = hub.query(
        "SELECT facts ->> 'recruiter_contact_sealed' FROM v_case_timeline WHERE event_id = %s",
        her_event,
    )
    assert held == her_wire  # the event store keeps the message as sent: sealed to the hub
    [(interceptions, placements, status)] = hub.query(
        "SELECT interceptions, placements, status FROM cases WHERE case_id = %s", case_id
    )
    assert (interceptions, placements, status) == (1, 1, "DECEASED")
    before = dict(hub.query("SELECT case_id, state::text FROM cases"))
    shown = metrics_of(hub)
    assert shown

    # Two administrators erase her; then the intake key of those messages is retired.
    asked = hub.cli("person", "erase", NIK, "--reason", "SUBJECT_REQUEST", "--by", "admin-a")
    [request] = re.findall(r"[0-9a-f]{8}-[0-9a-f-]{27}", " ".join(asked.stdout.split()))
    hub.cli("person", "erase", "--confirm", request, "--by", "admin-b")
    [old_key] = [kid for kid, current in members.intake_keys(hub.settings) if current]
    hub.cli("agency", "rotate-intake")
    # Desks offline when it was rotated out may still hold records sealed to it: a grace.
    early = hub.cli("agency", "retire-intake", old_key, check=False)
    assert early.returncode == 2
    assert "rotated out less than 7 day(s) ago" in " ".join(early.stderr.split())
    assert (old_key, False) in members.intake_keys(hub.settings)
    hub.cli("agency", "retire-intake", old_key, "--grace-days", "0")

    # Unreadable everywhere: the vault's copy (its key deleted), Kafka's (key retired).
    vault = bootstrap.vault(hub.settings, "sinergi_owner")
    try:
        disclosed = vault.disclose(Subject.of_case(case_id))
        assert len(disclosed.facts) == 3 and all(f.fields is None for f in disclosed.facts)
        assert vault.find("nik", pseudonym) is None
        other = vault.find("nik", bootstrap.pseudonymiser(hub.settings).nik(OTHER_NIK))
        assert other is not None  # the other person is untouched
    finally:
        vault.close()
    opener = bootstrap.IntakeKeys(hub.settings, recheck_s=0)
    for _, _, event in agency_messages(hub):
        [(_, person)] = person_fields(event)
        with pytest.raises(CryptoError, match="retired"):
            open_person(person.sealed or "", event.event_id, opener)
    exported = hub.cli("person", "export", NIK, check=False)
    assert pseudonym not in exported.stdout + exported.stderr
    # Her recruiter's contact went with her: the vault's copy is gone, the wire's is under
    # the retired intake key; his still opens for police.
    assert contact_in_vault(hub, her_event) is None
    assert reveal(f"vault:{her_event}") == "(erased, or none was reported)"
    with pytest.raises(CryptoError, match="retired"):
        open_contact(her_wire, her_event, opener)
    [his_event] = [e.event_id for _, _, e in messages if e.event_id != her_event
                   and e.event_type == "InterceptionRecorded"]  # fmt: skip
    assert reveal(f"vault:{his_event}") == HIS_RECRUITER

    # The ledger and the metrics are what they were; a rebuild from the topics, with the
    # intake key gone and the person erased, is identical.
    assert dict(hub.query("SELECT case_id, state::text FROM cases")) == before
    assert metrics_of(hub) == shown
    rebuilt = hub.cli("ledger", "rebuild", "--wait", "30")
    assert "identical" in rebuilt.stdout, rebuilt.stdout


def on_hub_cases(hub: Hub) -> list[tuple[str, Event]]:
    """Every message on hub.cases, in order per key (one partition per key): (key, event)."""
    consumer = KafkaConsumer(
        hub.settings.topic(CASES.name),
        **hub.kafka("police-polda-ntt"),
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    decode = EventDeserializer(bootstrap.registry_reader(hub.settings))
    found = [(m.key.decode(), decode(m.value).event) for m in consumer]
    consumer.close()
    return found


def test_a_police_file_citing_an_erased_case_publishes_nothing_after_its_erasure(hub: Hub):
    hub.run("post", "record", at="eltari", occurred_at="2025-08-01T08:00", outcome="SENT_HOME",
            officer="ELT-07", destination_country="MY", **PERSON)  # fmt: skip
    hub.run("post", "record", at="tenau", occurred_at="2025-08-02T08:00", outcome="SENT_HOME",
            officer="TEN-03", nik=OTHER_NIK)  # fmt: skip
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 2, what="2 facts")
    hers, other = hub.case_of(NIK), hub.case_of(OTHER_NIK)
    asked = hub.cli("person", "erase", "--case", hers, "--reason", "COURT_ORDER", "--by", "admin-a")
    [request] = re.findall(r"[0-9a-f]{8}-[0-9a-f-]{27}", " ".join(asked.stdout.split()))
    hub.cli("person", "erase", "--confirm", request, "--by", "admin-b")

    # Police then open a file on both cases (they knew her case id from before).
    hub.run("police", "investigation", investigation_ref="LP/ER/1", offence="TPPO",
            case_ids=f"{hers};{other}", occurred_at="2025-09-01T10:00")  # fmt: skip
    hub.wait_for(lambda: hub.event_count() == 3, what="the police file")
    hub.wait_for(lambda: hub.query("SELECT count(*) FROM outbox") == [(0,)], what="the relay")

    # The file is folded into both cases as any fact...
    cases = dict(hub.query("SELECT case_id, investigation FROM cases"))
    assert cases[hers] == cases[other] == "OPEN"
    # ...but on hub.cases her PersonErased stays the last word; the other case's change
    # to the file is published as ever.
    published = on_hub_cases(hub)
    mine = [e.event_type for key, e in published if key == hers]
    assert mine[-1] == "PersonErased" and mine.count("PersonErased") == 1, mine
    assert "CaseUpdated" in mine  # the one of before the erasure
    theirs = [e for key, e in published if key == other]
    assert theirs[-1].event_type == "CaseUpdated"
    assert getattr(theirs[-1], "investigation", None) == "OPEN"

    # The ledger shows her case erased (to analysts, with nothing personal anyway).
    [(erased_at,)] = hub.query("SELECT erased_at FROM v_cases WHERE case_id = %s", hers)
    assert erased_at is not None
    assert hub.query("SELECT erased_at FROM v_cases WHERE case_id = %s", other) == [(None,)]
    shown = hub.cli("ledger", "case", hers, env={"SINERGI_LANG": "en"})
    assert "erased on " in " ".join(shown.stdout.split()), shown.stdout
    [line] = hub.cli("ledger", "case", hers, "--json").stdout.splitlines()
    assert json.loads(line)["erased_at"]
    assert "erased" not in hub.cli("ledger", "case", other, env={"SINERGI_LANG": "en"}).stdout

    # A rebuild from the topics is identical: the erasure is the vault's, not the fold's.
    rebuilt = hub.cli("ledger", "rebuild", "--wait", "30")
    assert "identical" in rebuilt.stdout, rebuilt.stdout
