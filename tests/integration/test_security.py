"""Identity, least privilege, signatures, the audit trail and personal data, through the
real broker, registry and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from psycopg import sql

from deploy.secrets import read_password
from schemas.access import Role, reads, writes
from schemas.model import Agency
from schemas.serde import EventDeserializer
from schemas.topics import ALL_TOPICS, DEAD_LETTER
from sinergi import bootstrap
from tests.integration.hub import Hub, files_holding, phone_in, phone_written

pytestmark = pytest.mark.integration

# One member of each role; the matrix runs every one against every topic.
REPRESENTATIVE = {
    Role.POST: "post-eltari",
    Role.POLICE: "police-polda-ntt",
    Role.BP3MI: "bp3mi-ntt",
    Role.DISTRICT: "district-5302",
    Role.HOTLINE: "hotline-sisaga",
    Role.PROCESSOR: "hub-processor",
    Role.OPS: "ops",
}


def can_write(hub: Hub, member: str, topic: str) -> bool:
    producer = KafkaProducer(**hub.kafka(member), acks=1, retries=0, max_block_ms=8000)
    try:
        producer.send(topic, key=b"probe", value=b"access-matrix probe").get(timeout=10)
    except TopicAuthorizationFailedError:
        return False
    finally:
        producer.close(timeout=5)
    return True


def can_read(hub: Hub, member: str, topic: str) -> bool:
    consumer = KafkaConsumer(**hub.kafka(member), enable_auto_commit=False)
    partition = TopicPartition(topic, 0)
    try:
        consumer.assign([partition])
        consumer.seek_to_beginning()
        consumer.position(partition)  # an offset lookup: refused without READ
        consumer.poll(timeout_ms=1000)
    except TopicAuthorizationFailedError:
        return False
    finally:
        consumer.close()
    return True


def test_every_role_against_every_topic_reads_and_writes_only_what_it_may(hub):
    refused_writes = refused_reads = 0
    for role, member in REPRESENTATIVE.items():
        may_write = {hub.settings.topic(t.name) for t in writes(role)}
        may_read = {hub.settings.topic(t.name) for t in reads(role)}
        for spec in ALL_TOPICS:
            topic = hub.settings.topic(spec.name)
            assert can_write(hub, member, topic) == (topic in may_write), (member, topic, "write")
            assert can_read(hub, member, topic) == (topic in may_read), (member, topic, "read")
            refused_writes += topic not in may_write
            refused_reads += topic not in may_read
    # Deny by default: most pairs are refused.
    assert refused_writes >= 70 and refused_reads >= 75


def test_consumer_groups_are_a_members_own(hub):
    topic = hub.settings.topic("hub.alerts")
    own = KafkaConsumer(
        topic,
        **hub.kafka("police-polda-ntt"),
        group_id=hub.settings.alerts_group("police-polda-ntt"),
        consumer_timeout_ms=3000,
    )
    list(own)
    own.close()
    other = KafkaConsumer(
        topic,
        **hub.kafka("police-polda-ntt"),
        group_id=hub.settings.alerts_group("someone-else"),
        consumer_timeout_ms=3000,
    )
    with pytest.raises(GroupAuthorizationFailedError):
        list(other)
    other.close()


def test_anonymous_and_wrong_password_clients_are_refused_on_every_listener(hub):
    for port in (hub.settings.ports.kafka, hub.settings.ports.kafka_controller):
        with pytest.raises(KafkaError):
            KafkaProducer(
                bootstrap_servers=f"127.0.0.1:{port}",
                max_block_ms=4000,
                request_timeout_ms=3000,
                bootstrap_timeout_ms=5000,
            ).send("x", b"x").get(5)
    wrong = dict(hub.kafka("post-eltari"), sasl_plain_password="not the password")
    with pytest.raises(KafkaError):
        KafkaProducer(**wrong, max_block_ms=4000, bootstrap_timeout_ms=5000).send(
            hub.settings.topic("posts.interception-recorded"), b"x"
        ).get(5)


def _dead_letters(hub: Hub, count: int) -> list:
    consumer = KafkaConsumer(
        hub.settings.topic(DEAD_LETTER.name),
        **hub.kafka("ops"),
        group_id=f"ops-{hub.settings.processor_group}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=15000,
    )
    decode = EventDeserializer(bootstrap.registry_reader(hub.settings))
    found = []
    for message in consumer:
        found.append(decode(message.value).event)
        if len(found) >= count:
            break
    consumer.close()
    return found


def test_forged_and_altered_messages_are_dead_lettered_and_a_captured_resend_changes_nothing(hub):
    desk = bootstrap.desk(hub.settings, Agency.POST, "eltari")
    from producers.forms import FORMS, record

    def event(n: int):
        return record(
            desk,
            FORMS["interception"],
            {
                "occurred_at": "2026-01-20T08:30",
                "nik": f"53020141019000{n:02d}",
                "sex": "P",
                "outcome": "SENT_HOME",
                "officer": "ELT-07",
            },
        )

    publisher = bootstrap.publisher(hub.settings, "post-eltari")
    good, forged, altered = event(1), event(2), event(3)
    producer = KafkaProducer(**hub.kafka("post-eltari"))
    # Forged: the post's credential, a signature by a key that is not the post's.
    m = publisher.encode(forged)
    intruder = bootstrap.signer(hub.settings, "bp3mi-ntt")
    relative = "posts.interception-recorded"
    producer.send(
        m.topic,
        key=m.key,
        value=m.value,
        headers=[("sinergi-signer", b"post-eltari"), intruder.headers(relative, m.key, m.value)[1]],
    )
    # Altered: a valid signature, one byte changed afterwards.
    m = publisher.encode(altered)
    changed = bytearray(m.value)
    changed[-2] ^= 0x01
    producer.send(m.topic, key=m.key, value=bytes(changed), headers=m.headers)
    producer.flush()
    publisher.publish([good])
    # Replayed: the very message the post sent, captured and sent again.
    consumer = KafkaConsumer(
        m.topic, **hub.kafka(), auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    captured = [msg for msg in consumer if msg.key == good.partition_key().encode()]
    consumer.close()
    original = captured[0]
    producer.send(
        original.topic, key=original.key, value=original.value, headers=list(original.headers)
    )
    producer.flush()
    producer.close()
    publisher.close()

    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 1, what="the one genuine event")
    reasons = sorted(d.reason for d in _dead_letters(hub, 2))  # type: ignore[attr-defined]
    assert any("signature of post-eltari does not verify" in r for r in reasons)
    assert sum("does not verify" in r for r in reasons) == 2
    time.sleep(1)
    assert hub.event_count() == 1
    # The captured message sent again is byte for byte the post's own: it cannot be told
    # from the post's desk retrying, and it changes nothing (already recorded, counted
    # once). A replay that would change something needs another payload, and so the
    # post's signing key; a stale one is refused by the freshness window.
    outcomes = dict(hub.query("SELECT outcome, count(*) FROM audit_log GROUP BY 1"))
    assert outcomes == {"stored": 1, "dead_lettered": 2, "already_recorded": 1}


def send_as(hub: Hub, user: str, password: str, topic: str) -> None:
    producer = KafkaProducer(
        bootstrap_servers=hub.settings.bootstrap_servers,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=user,
        sasl_plain_password=password,
        max_block_ms=5000,
        bootstrap_timeout_ms=5000,
    )
    try:
        producer.send(topic, b"x").get(5)
    finally:
        producer.close(timeout=2)


def test_an_agency_added_publishes_and_once_revoked_cannot(hub, tmp_path):
    # A post of the reference data that the stack does not open by default (agency add
    # refuses a unit the reference data does not know).
    name = "post-labuanbajo"
    added = hub.cli("agency", "add", name, "--role", "post")
    assert "ready" in added.stdout
    password = read_password(hub.settings.kafka_credentials_dir, name)
    assert password not in added.stdout + added.stderr
    assert (hub.settings.kafka_credentials_dir / f"{name}.password").stat().st_mode & 0o777 == 0o600
    topic = hub.settings.topic("posts.interception-recorded")
    assert can_write(hub, name, topic)
    assert not can_write(hub, name, hub.settings.topic("police.alert-acknowledged"))
    listed = hub.cli("agency", "list").stdout
    assert re.search(rf"{name}\s+│\s+post\s+│\s+2\s", listed)

    revoked = hub.cli("agency", "revoke", name)
    assert "revoked" in revoked.stdout
    with pytest.raises(KafkaError):
        send_as(hub, name, password, topic)
    assert re.search(
        rf"{name}\s+│\s+post\s+│\s+0\s+│.*│\s+20\d\d-", hub.cli("agency", "list").stdout
    )


def test_the_audit_trail_shows_any_change(hub, tmp_path):
    hub.run(
        "post",
        "record",
        at="eltari",
        occurred_at="2026-01-20T08:30",
        nik="5302014101900001",
        outcome="SENT_HOME",
        officer="ELT-07",
    )
    hub.run(
        "post",
        "record",
        at="tenau",
        occurred_at="2026-01-21T08:30",
        nik="5302014101900002",
        outcome="SENT_HOME",
        officer="TEN-07",
    )
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 2, what="2 events")
    hub.wait_for(lambda: hub.query("SELECT count(*) FROM audit_log")[0][0] == 2, what="audit")
    assert "intact: 2 entries" in hub.cli("audit", "verify").stdout
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        hub.query(
            "UPDATE audit_log SET signer = 'intruder' WHERE seq = (SELECT min(seq) FROM audit_log)"
        )
    # Someone with the superuser's power edits the trail behind the triggers' back.
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
        superuser.execute(
            "UPDATE audit_log SET signer = 'intruder' WHERE seq = (SELECT min(seq) FROM audit_log)"
        )
        superuser.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    broken = hub.cli("audit", "verify", check=False)
    assert broken.returncode == 2
    message = " ".join(broken.stderr.split())
    assert "broken: chain" in message and "does not match its hash" in message


def test_police_alone_open_the_recruiter_contact_the_post_sealed(hub):
    for n in range(3):  # one recruiter, three people within days: an alert for police
        hub.run(
            "post",
            "record",
            at="eltari",
            occurred_at=f"2026-01-2{n}T08:30",
            nik=f"53020141019000{n + 3:02d}",
            outcome="SENT_HOME",
            officer="ELT-07",
            recruiter="0812-7777-5555",
        )
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 3, what="3 events")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sinergi",
            "alerts",
            "follow",
            "--json",
            "--reveal",
            "--unit",
            "police-polda-ntt",
            "--from-beginning",
            "--idle-timeout",
            "8",
        ],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    alerts = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    network = next(a for a in alerts if a["rule"] == "RECRUITER_NETWORK")
    assert network["contacts"] == ["0812-7777-5555"] * 3
    # The alert holds where the vault keeps each contact, not the contact.
    assert all(c.startswith("vault:") for c in network["sealed_contacts"])
    # On the topics and in the database the contact exists only sealed.
    consumer = KafkaConsumer(**hub.kafka(), auto_offset_reset="earliest", consumer_timeout_ms=4000)
    consumer.subscribe(pattern=re.escape(hub.settings.topic_prefix) + ".*")
    raw = b"".join((m.value or b"") for m in consumer)
    consumer.close()
    assert raw and not phone_in("0812-7777-5555", raw)
    assert not phone_in("0812-7777-5555", repr(hub.query("SELECT payload FROM events")))


PLANTED = {
    "nik": "5302014101900088",
    "given": "Yuliana",
    "family": "Nenobais",
    "recruiter": "0812-9988-7766",
    "reporter": "0813-4455-6622",
    "address": "Jalan Sumba Nomor 14",
}
# The phone numbers as tests.integration.hub.phone_written writes them out: eight digits
# run together would turn up by chance in the gigabytes of random hex the scan reads.
NEEDLES = [
    b"5302014101900088",
    b"Yuliana",
    b"Nenobais",
    *(
        form.encode()
        for phone in ("recruiter", "reporter")
        for form in phone_written(PLANTED[phone])
    ),
    b"Jalan Sumba",
]


def _scan_files(root: Path) -> list[str]:
    """Every file under the stack's folder but the secrets (Kafka deletes folders of
    other tests' topics meanwhile: those vanish between listing and reading)."""
    found = []
    for folder, dirs, files in os.walk(root, onerror=lambda _: None):
        dirs[:] = [d for d in dirs if d != "secrets"]
        found += files_holding((Path(folder) / name for name in files), NEEDLES)
    return found


def test_planted_personal_data_appears_in_no_topic_table_log_or_metric(hub, tmp_path):
    p = PLANTED
    outputs = []
    outputs.append(
        hub.run(
            "post",
            "record",
            at="eltari",
            occurred_at="2026-01-20T08:30",
            nik=p["nik"],
            outcome="SENT_HOME",
            officer="ELT-07",
            recruiter=p["recruiter"],
        )
    )
    outputs.append(
        hub.run(
            "post",
            "record",
            at="tenau",
            occurred_at="2026-01-20T09:30",
            name=f"{p['given']} {p['family']}",
            birth_date="1990-01-01",
            origin_regency="5302",
            outcome="SENT_HOME",
            officer="TEN-01",
        )
    )
    outputs.append(
        hub.run(
            "hotline",
            "tip",
            occurred_at="2026-01-10T10:00",
            tip_ref="SISAGA-88",
            reporter=p["reporter"],
            concern="RECRUITMENT",
            recruiter=p["recruiter"],
            nik=p["nik"],
        )
    )
    outputs.append(
        hub.run(
            "bp3mi",
            "repatriation",
            occurred_at="2026-02-01T10:00",
            nik=p["nik"],
            kind="DECEASED",
            country="MY",
        )
    )
    # Refused input must not echo it either: an address column, a bad NIK, a bad phone.
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "occurred_at,nik,outcome,officer,alamat\n"
        f"2026-01-20T08:30,{p['nik']}9,SENT_HOME,ELT-07,{p['address']}\n"
    )
    outputs.append(
        hub.cli("post", "import", "interception", str(bad), "--at", "eltari", check=False)
    )
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 4, what="4 events")
    from sinergi.runtime import wait_until_processed

    assert wait_until_processed(hub.settings, timeout=60)
    time.sleep(2.5)

    printed = b"".join((o.stdout + o.stderr).encode() for o in outputs)
    assert not [n for n in NEEDLES if n in printed], "the command line echoed personal data"
    # Every topic of this deployment, keys, values and headers.
    consumer = KafkaConsumer(**hub.kafka(), auto_offset_reset="earliest", consumer_timeout_ms=5000)
    consumer.subscribe(pattern=re.escape(hub.settings.topic_prefix) + ".*")
    on_topics = b"".join(
        (m.key or b"") + (m.value or b"") + b"".join(v for _, v in m.headers) for m in consumer
    )
    consumer.close()
    assert on_topics
    assert not [n for n in NEEDLES if n in on_topics]
    # Every table of this deployment's database, every column.
    tables = [
        t for (t,) in hub.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    assert len(tables) >= 10
    dump = "".join(
        repr(hub.query(sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(t)).as_string()))
        for t in tables
    ).encode()
    assert not [n for n in NEEDLES if n in dump]
    # The metrics page.
    page = httpx.get(f"http://127.0.0.1:{hub.settings.ports.metrics}/metrics", timeout=5).content
    assert b"sinergi_interceptions{" in page
    assert not [n for n in NEEDLES if n in page]
    # Every file the stack keeps: logs of every service, Kafka's logs, PostgreSQL's files.
    assert _scan_files(hub.settings.home) == []


def test_runtime_database_roles_are_not_superusers_and_have_only_their_rights(hub):
    processor = bootstrap.conninfo(hub.settings, "sinergi_processor")
    with psycopg.connect(processor) as conn:
        assert conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False, False, False)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE stolen (x int)")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE events SET unit = 'x'")
    with psycopg.connect(bootstrap.conninfo(hub.settings, "sinergi_owner")) as conn:
        assert conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)


def test_the_registry_takes_no_anonymous_writes_and_members_need_no_registry_password(hub):
    subject = f"{hub.settings.topic('posts.interception-recorded')}-value"
    refused = httpx.post(
        f"{hub.settings.registry_url}/subjects/{subject}/versions",
        json={"schema": '{"type":"string"}'},
        timeout=5,
    )
    assert refused.status_code == 401
    # A member's machine holds no registry password: publishing still works.
    registry_password = hub.settings.secrets_dir / "registry.password"
    saved = registry_password.read_text()
    registry_password.unlink()
    try:
        done = hub.run(
            "post",
            "record",
            at="eltari",
            occurred_at="2026-01-20T08:30",
            nik="5302014101900001",
            outcome="SENT_HOME",
            officer="ELT-07",
        )
    finally:
        registry_password.write_text(saved)
        registry_password.chmod(0o600)
    assert "published 1" in done.stdout
