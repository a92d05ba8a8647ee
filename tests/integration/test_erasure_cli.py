"""Erasure and retention through the real stack, as administrators run them (issue 11):
``sinergi person erase`` asked by one administrator and carried out by another shreds a
person's fields in the vault, records both, and publishes a signed PersonErased on
hub.cases; ``sinergi person retention --apply`` erases those whose every fact is past its
period, and keeps the others. The vault is seeded directly, as the intake keeps people
(its own tests: tests/integration/test_vault_contract.py)."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from kafka import KafkaConsumer

from processors.vault import Kept, Subject
from schemas.model import PersonErased
from schemas.serde import EventDeserializer
from schemas.topics import CASES
from sinergi import bootstrap
from sinergi.cli_person import HubAnnouncer
from sinergi.erasure import load_policy
from sinks.erasure import ErasureStore
from tests.integration.hub import Hub, files_holding

pytestmark = pytest.mark.integration

NIK = "5304015203880917"  # Belu, a woman born 12 March 1988
OTHER_NIK = "5304010101900003"  # Belu, a man born 1 January 1990
NOW = datetime.now(UTC)
YEAR = timedelta(days=365)


def keep(hub: Hub, nik: str, *facts: tuple[str, datetime]) -> Subject:
    """The person of ``nik`` kept in the vault with these facts (type, day), as the intake
    keeps them: the fields the desk sealed, under the person's own key."""
    pseudonym = bootstrap.pseudonymiser(hub.settings).nik(nik)
    vault = bootstrap.vault(hub.settings, "sinergi_processor")
    try:
        fields = {"nik_pseudonym": pseudonym, "weak_pseudonym": None,
                  "birth_date": "1988-03-12", "estimated_age": None}  # fmt: skip
        found = vault.keep(
            [Kept(str(uuid.uuid4()), "nik", pseudonym, fields, kind, at) for kind, at in facts]
        )
    finally:
        vault.close()
    [subject] = set(found.values())
    return subject


def request_id(output: str) -> str:
    [found] = re.findall(r"erasure requested: ([0-9a-f-]{36}) ", output)
    return str(found)


def erasures_on_topic(hub: Hub) -> list[tuple[PersonErased, dict[str, bytes]]]:
    """Every PersonErased on hub.cases, with its headers, as police read the topic."""
    consumer = KafkaConsumer(
        hub.settings.topic(CASES.name),
        **hub.kafka("police-polda-ntt"),
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    decode = EventDeserializer(bootstrap.registry_reader(hub.settings))
    found = []
    for message in consumer:
        event = decode(message.value).event
        if isinstance(event, PersonErased):
            assert message.key.decode() == event.case_id
            found.append((event, dict(message.headers)))
    consumer.close()
    return found


def test_two_administrators_erase_a_person_and_the_hub_announces_it(hub: Hub):
    day = NOW - timedelta(days=30)
    hers = keep(hub, NIK, ("InterceptionRecorded", day), ("RepatriationRecorded", day))
    his = keep(hub, OTHER_NIK, ("InterceptionRecorded", day))

    asked = hub.cli("person", "erase", NIK, "--reason", "subject_request", "--by", "admin-a")
    request = request_id(" ".join(asked.stdout.split()))
    assert f"for case {hers.case_id}, reason SUBJECT_REQUEST, by admin-a" in asked.stdout
    listed = json.loads(hub.cli("person", "erase", "--list", "--json").stdout)
    assert (listed["request_id"], listed["case_id"]) == (request, hers.case_id)
    # Nothing is erased yet; the one who asked cannot carry it out.
    same = hub.cli("person", "erase", "--confirm", request[:8], "--by", "Admin-A", check=False)
    assert same.returncode == 2
    assert "Admin-A asked for this erasure: another administrator must confirm it" in " ".join(
        same.stderr.split()
    )
    vault = bootstrap.vault(hub.settings, "sinergi_owner")
    assert vault.disclose(hers).erased_at is None
    # Not even in the database, should someone go round the command.
    with pytest.raises(psycopg.errors.RaiseException, match="another administrator"):
        hub.query(
            "INSERT INTO erasure_confirmations (request_id, confirmed_by, facts_shredded,"
            " event_id) VALUES (%s, 'admin-a', 0, gen_random_uuid())",
            request,
        )

    done = hub.cli("person", "erase", "--confirm", request, "--by", "admin-b")
    line = " ".join(done.stdout.split())
    assert f"erased: case {hers.case_id}, 2 fact(s) made unreadable; request {request}" in line
    assert "(asked by admin-a, confirmed by admin-b)" in line
    assert "PersonErased published on hub.cases" in done.stderr

    # The vault: her fields unreadable, her key gone, found by no NIK; his untouched.
    told = vault.disclose(hers)
    assert told.erased_at is not None and told.erasure_ref == request
    assert len(told.facts) == 2 and all(f.fields is None for f in told.facts)
    pseudonym = bootstrap.pseudonymiser(hub.settings).nik(NIK)
    assert vault.find("nik", pseudonym) is None
    assert hub.query(
        "SELECT wrapped_dek, lookup FROM person_keys WHERE subject_id = %s", hers.subject_id
    ) == [(None, None)]
    assert hub.query(
        "SELECT count(*) FROM person_facts WHERE subject_id = %s AND fields IS NOT NULL",
        hers.subject_id,
    ) == [(0,)]
    assert all(f.fields for f in vault.disclose(his).facts)
    vault.close()

    # Recorded: who asked, who confirmed, what was announced; no NIK, no pseudonym.
    [(case, reason, by, confirmed_by, shredded, event_id)] = hub.query(
        "SELECT r.case_id, r.reason_code, r.requested_by, c.confirmed_by, c.facts_shredded,"
        " c.event_id::text FROM erasure_requests r JOIN erasure_confirmations c USING"
        " (request_id)"
    )
    assert (case, reason, by, confirmed_by, shredded) == (
        hers.case_id, "SUBJECT_REQUEST", "admin-a", "admin-b", 2,
    )  # fmt: skip
    for table in ("erasure_requests", "erasure_confirmations", "person_keys", "outbox"):
        dumped = str(hub.query(f"SELECT coalesce(string_agg(t::text, ''), '') FROM {table} t"))
        assert NIK not in dumped and pseudonym not in dumped, table

    # Announced: a signed PersonErased on hub.cases, keyed by her case id (relayed at once).
    [(event, headers)] = erasures_on_topic(hub)
    assert (event.case_id, event.reason_code, event.request_id) == (
        hers.case_id, "SUBJECT_REQUEST", request,
    )  # fmt: skip
    assert (event.requested_by, event.confirmed_by) == ("admin-a", "admin-b")
    assert event.facts_shredded == 2
    assert event.event_id == event_id
    assert headers["sinergi-signer"] == bootstrap.PROCESSOR_MEMBER.encode()
    assert hub.query("SELECT count(*) FROM outbox") == [(0,)]

    # Her export: by NIK the hub holds nothing any more; by case id, the erasure.
    gone = hub.cli("person", "export", NIK, "--by", "dpo-1", check=False)
    assert gone.returncode == 1 and gone.stdout == ""
    assert "the hub holds nothing about this NIK" in " ".join(gone.stderr.split())
    exported = hub.cli("person", "export", "--case", hers.case_id, "--by", "dpo-1")
    doc = json.loads(exported.stdout)
    assert doc["subject"] == {"nik": None, "case_id": hers.case_id, "held": False,
                              "erased": True}  # fmt: skip
    assert doc["vault"]["erased"] and doc["vault"]["erasure"]["request_id"] == request
    assert doc["vault"]["erasure"]["fields_readable"] is False
    assert doc["vault"]["erasure"]["confirmed_by"] == "admin-b"
    assert [f["fields"] for f in doc["vault"]["facts"]] == [None, None]
    assert "was erased" in exported.stderr
    assert pseudonym not in exported.stdout
    # His export still opens his fields.
    his_doc = json.loads(hub.cli("person", "export", OTHER_NIK, "--by", "dpo-1").stdout)
    [his_fact] = his_doc["vault"]["facts"]
    assert his_fact["fields"]["birth_date"] == "1988-03-12" and not his_doc["vault"]["erased"]

    # Done once: confirming again, or asking again, is told so in one sentence.
    again = hub.cli("person", "erase", "--confirm", request, "--by", "admin-c", check=False)
    assert again.returncode == 2
    assert f"erasure request {request} was already carried out" in " ".join(again.stderr.split())
    twice = hub.cli("person", "erase", "--case", hers.case_id, "--reason", "COURT_ORDER",
                    "--by", "admin-a", check=False)  # fmt: skip
    assert twice.returncode == 2 and "is already erased" in twice.stderr
    unknown = hub.cli("person", "erase", "--confirm", "0" * 8, "--by", "admin-b", check=False)
    assert unknown.returncode == 2 and "no erasure request 00000000" in unknown.stderr
    # A NIK typed where the request id goes is not echoed.
    misplaced = hub.cli("person", "erase", "--confirm", NIK, "--by", "admin-b", check=False)
    assert misplaced.returncode == 2 and NIK not in misplaced.stdout + misplaced.stderr
    refused = hub.cli("person", "erase", OTHER_NIK, "--reason", "RETENTION", check=False)
    assert refused.returncode == 2 and "person retention --apply" in refused.stderr
    assert files_holding((hub.settings.home / "logs").iterdir(), [NIK.encode()]) == []


def test_a_request_withdrawn_is_never_carried_out_and_one_carried_out_is_never_withdrawn(
    hub: Hub,
):
    day = NOW - timedelta(days=30)
    hers = keep(hub, NIK, ("InterceptionRecorded", day))
    his = keep(hub, OTHER_NIK, ("InterceptionRecorded", day))
    asked = hub.cli("person", "erase", NIK, "--reason", "SUBJECT_REQUEST", "--by", "admin-a")
    mistaken = request_id(" ".join(asked.stdout.split()))
    # Held for a prosecution: another administrator withdraws it, with a code.
    no_code = hub.cli("person", "erase", "--withdraw", mistaken, "--by", "admin-b", check=False)
    assert no_code.returncode == 2 and "--reason is one of MISTAKEN" in no_code.stderr
    gone = hub.cli("person", "erase", "--withdraw", mistaken[:8], "--reason", "legal_hold",
                   "--by", "admin-b")  # fmt: skip
    assert f"withdrawn: request {mistaken} for case {hers.case_id} (LEGAL_HOLD, by admin-b)" in (
        " ".join(gone.stdout.split())
    )
    assert "no erasure request is waiting" in hub.cli("person", "erase", "--list").stderr
    refused = hub.cli("person", "erase", "--confirm", mistaken, "--by", "admin-c", check=False)
    assert refused.returncode == 2
    assert f"erasure request {mistaken} was withdrawn by admin-b (LEGAL_HOLD" in " ".join(
        refused.stderr.split()
    )
    again = hub.cli("person", "erase", "--withdraw", mistaken, "--reason", "DUPLICATE",
                    "--by", "admin-c", check=False)  # fmt: skip
    assert again.returncode == 2 and "was withdrawn by admin-b" in again.stderr
    # Nor in the database, going round the command; and her key is still there.
    with pytest.raises(psycopg.errors.RaiseException, match="was withdrawn"):
        hub.query(
            "INSERT INTO erasure_confirmations (request_id, confirmed_by, facts_shredded,"
            " event_id) VALUES (%s, 'admin-c', 0, gen_random_uuid())",
            mistaken,
        )
    vault = bootstrap.vault(hub.settings, "sinergi_owner")
    try:
        assert vault.disclose(hers).erased_at is None
    finally:
        vault.close()
    assert hub.query(
        "SELECT withdrawn_by, reason_code FROM erasure_withdrawals WHERE request_id = %s",
        mistaken,
    ) == [("admin-b", "LEGAL_HOLD")]

    # His request is carried out: it can no longer be withdrawn, by command or in SQL.
    asked = hub.cli("person", "erase", OTHER_NIK, "--reason", "COURT_ORDER", "--by", "admin-a")
    carried = request_id(" ".join(asked.stdout.split()))
    hub.cli("person", "erase", "--confirm", carried, "--by", "admin-b")
    late = hub.cli("person", "erase", "--withdraw", carried, "--reason", "MISTAKEN",
                   "--by", "admin-a", check=False)  # fmt: skip
    assert late.returncode == 2 and "was already carried out" in late.stderr
    with pytest.raises(psycopg.errors.RaiseException, match="an erasure is not withdrawn"):
        hub.query(
            "INSERT INTO erasure_withdrawals (request_id, withdrawn_by, reason_code)"
            " VALUES (%s, 'admin-a', 'MISTAKEN')",
            carried,
        )
    assert his.case_id in {e.case_id for e, _ in erasures_on_topic(hub)}


def test_retention_erases_those_past_their_period_and_keeps_the_others(hub: Hub):
    long_ago = keep(hub, NIK, ("InterceptionRecorded", NOW - 11 * YEAR),
                    ("TipReceived", NOW - 10 * YEAR - timedelta(days=30)))  # fmt: skip
    old_tip = keep(hub, "5304010101900003", ("TipReceived", NOW - 3 * YEAR))
    young = keep(hub, "5302014101900001", ("TipReceived", NOW - timedelta(days=60)))
    # An old tip kept alive by a recent interception: one recent fact keeps the person.
    held = keep(hub, "5302015507980002", ("TipReceived", NOW - 5 * YEAR),
                ("InterceptionRecorded", NOW - YEAR))  # fmt: skip
    # Past its period too, but evidence in a prosecution: a request withdrawn LEGAL_HOLD.
    evidence = keep(hub, "5304014101900004", ("InterceptionRecorded", NOW - 11 * YEAR))
    asked = hub.cli("person", "erase", "--case", evidence.case_id, "--reason",
                    "SUBJECT_REQUEST", "--by", "admin-a")  # fmt: skip
    hub.cli("person", "erase", "--withdraw", request_id(" ".join(asked.stdout.split())),
            "--reason", "LEGAL_HOLD", "--by", "admin-b")  # fmt: skip

    listed = hub.cli("person", "retention")
    assert set(re.findall(r"(nik:[0-9a-f]{32}): retention passed\n", listed.stdout)) == {
        long_ago.case_id, old_tip.case_id,
    }  # fmt: skip
    assert f"{evidence.case_id}: retention passed, but under a legal hold" in listed.stdout
    # Looking ahead is allowed, applying ahead is not.
    ahead = hub.cli("person", "retention", "--at", "2099-01-01")
    assert held.case_id in ahead.stdout and young.case_id in ahead.stdout
    early = hub.cli("person", "retention", "--apply", "--at", "2099-01-01", check=False)
    assert early.returncode == 2 and "would erase people early" in early.stderr

    applied = hub.cli("person", "retention", "--apply", "--by", "ops-1")
    assert "2 person(s) erased under the retention policy" in applied.stderr
    vault = bootstrap.vault(hub.settings, "sinergi_owner")
    try:
        for gone in (long_ago, old_tip):
            told = vault.disclose(gone)
            assert told.erased_at is not None and all(f.fields is None for f in told.facts)
        for kept_on in (young, held, evidence):
            told = vault.disclose(kept_on)
            assert told.erased_at is None and all(f.fields for f in told.facts)
    finally:
        vault.close()
    # Each recorded with the policy that decided, no second administrator; each announced.
    policy = load_policy().digest
    rows = hub.query(
        "SELECT r.case_id, r.reason_code, r.policy, r.requested_by, c.confirmed_by"
        " FROM erasure_requests r JOIN erasure_confirmations c USING (request_id)"
    )
    assert sorted(rows) == sorted(
        (s.case_id, "RETENTION", policy, "ops-1", "ops-1") for s in (long_ago, old_tip)
    )
    announced = erasures_on_topic(hub)
    assert {(e.case_id, e.reason_code) for e, _ in announced} == {
        (long_ago.case_id, "RETENTION"), (old_tip.case_id, "RETENTION"),
    }  # fmt: skip
    # Applied again: nobody new is due.
    again = hub.cli("person", "retention", "--apply")
    assert "0 person(s) erased" in again.stderr


def test_an_announcement_left_in_the_outbox_is_relayed_by_an_idle_processor(hub: Hub):
    """Kafka could not take the PersonErased when the erasure was confirmed: it waits in
    the outbox, and the processor, with no message arriving, relays it on its timer."""
    hers = keep(hub, NIK, ("InterceptionRecorded", NOW - timedelta(days=3)))
    hub.env = hub.env | {"SINERGI_TIMER_S": "2"}  # its timer: every 2 s, not 30
    hub.start_worker()  # idle: nothing arrives for it to process
    hub.wait_for(lambda: "consuming" in hub.worker_log.read_text(), what="the processor")
    time.sleep(2)  # past its first relay (at start)
    store = ErasureStore(bootstrap.conninfo(hub.settings, "sinergi_owner"))
    asked = store.request(hers, "CONSENT_WITHDRAWN", "admin-a")
    announcer = HubAnnouncer(hub.settings)
    try:
        done = store.confirm(asked.request_id, "admin-b", announcer.announce)  # not relayed
    finally:
        announcer.close()
    # In the outbox (the processor's relay may take it any moment now: not counted here).
    assert done.outbox_id is not None
    hub.wait_for(
        lambda: hub.query("SELECT count(*) FROM outbox") == [(0,)],
        timeout=90,
        what="the processor's relay",
    )
    [(event, _)] = erasures_on_topic(hub)
    assert (event.event_id, event.case_id) == (done.event_id, hers.case_id)


def test_the_command_never_sends_an_announcement_ahead_of_what_waits_for_its_case(hub: Hub):
    """A case change still waiting in the outbox for the same case is sent first, by the
    processor's relay, in order: the command leaves its PersonErased behind it, so that
    compaction keeps the erasure as the case's last word."""
    hers = keep(hub, NIK, ("InterceptionRecorded", NOW - timedelta(days=3)))
    topic = hub.settings.topic(CASES.name)
    hub.query(
        "INSERT INTO outbox (topic, key, value) VALUES (%s, %s, '\\x00'::bytea) RETURNING id",
        topic,
        hers.case_id.encode(),
    )
    asked = hub.cli("person", "erase", "--case", hers.case_id, "--reason", "COURT_ORDER",
                    "--by", "admin-a")  # fmt: skip
    done = hub.cli("person", "erase", "--confirm", request_id(asked.stdout), "--by", "admin-b")
    assert "PersonErased waits in the hub's outbox" in " ".join(done.stderr.split())
    assert [r[0] for r in hub.query("SELECT key FROM outbox ORDER BY id")] == [
        hers.case_id.encode(), hers.case_id.encode(),
    ]  # fmt: skip
    assert erasures_on_topic(hub) == []
