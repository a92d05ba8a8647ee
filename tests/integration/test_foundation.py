"""The first slice through the real stack: a post publishes, the ledger fills, nothing is
lost or counted twice, bad messages are dead-lettered, standard clients can read it all."""

from __future__ import annotations

import csv
import re
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from producers.forms import FORMS
from producers.simulate import Simulator
from schemas import avro
from schemas.registry import RegistryClient
from schemas.serde import EventDeserializer, frame
from schemas.topics import DEAD_LETTER, INPUT_TOPICS, subject_for
from sinergi import bootstrap, desk_pool, runtime
from tests.integration import faults
from tests.integration.hub import Hub, phone_in

pytestmark = pytest.mark.integration

INTERCEPTIONS = INPUT_TOPICS[0].name


def write_csv(path: Path, rows: list[dict[str, str]], form: str = "interception") -> Path:
    columns = list(FORMS[form].columns)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in columns})
    return path


def simulated(count: int, seed: int = 11) -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = {}
    sim = Simulator(seed=seed, months=6, scale=1 + count / 400)
    for n, (post, row) in enumerate(sim.interceptions()):
        if n >= count:
            break
        rows.setdefault(post, []).append(row)
    return rows


def committed_offsets(hub: Hub) -> int:
    """Sum of the processor group's committed offsets (messages it has finished)."""
    group = hub.settings.processor_group
    with bootstrap.kafka_admin(hub.settings) as admin:
        offsets = admin.list_group_offsets([group])[group]
    return sum(max(0, meta.offset) for meta in offsets.values())


def interceptions_counted(hub: Hub) -> int:
    return int(
        hub.query(
            "SELECT coalesce(sum(value), 0)::int FROM metrics_daily"
            " WHERE metric = 'sinergi_interceptions_total'"
        )[0][0]  # type: ignore[call-overload]
    )


def metrics_page(hub: Hub) -> str:
    return httpx.get(f"http://127.0.0.1:{hub.settings.ports.metrics}/metrics", timeout=5).text


def test_interceptions_imported_at_a_post_reach_postgres_and_metrics(hub, tmp_path):
    rows = simulated(60)
    for post, post_rows in rows.items():
        done = hub.run(
            "post",
            "import",
            "interception",
            str(write_csv(tmp_path / f"{post}.csv", post_rows)),
            at=post,
        )
        assert f"published {len(post_rows)} interception(s) from post-{post}" in done.stdout
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 60, what="60 events in PostgreSQL")

    by_post = dict(
        hub.query(
            "SELECT labels->>'post', sum(value)::int FROM metrics_daily"
            " WHERE metric = 'sinergi_interceptions_total' GROUP BY 1"
        )
    )
    assert by_post == {post: len(post_rows) for post, post_rows in rows.items()}
    cases = hub.query("SELECT count(*), sum(interceptions) FROM cases")[0]
    assert cases[1] == 60 and 0 < cases[0] <= 60

    hub.wait_for(lambda: "sinergi_interceptions{" in metrics_page(hub), what="metrics")
    page = metrics_page(hub)
    for post, post_rows in rows.items():
        assert f'sinergi_interceptions{{post="{post}"}} {float(len(post_rows))}' in page


def test_a_large_file_is_recorded_on_every_core_and_reaches_the_ledger_whole(hub, tmp_path):
    """More rows than a desk records alone (sinergi/desk_pool.py): its processes record
    and seal them, the command sends each once, and the hub takes every one in, its
    person opened into the vault, nothing refused."""
    rows = simulated(4200, seed=29)["eltari"]
    assert len(rows) >= desk_pool.PARALLEL_FROM
    path = write_csv(tmp_path / "large.csv", rows)
    done = hub.cli("post", "import", "interception", str(path), "--at", "eltari",
                   env={"SINERGI_DESK_WORKERS": "2"})  # fmt: skip
    assert f"published {len(rows)} interception(s) from post-eltari" in done.stdout
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == len(rows), what=f"{len(rows)} events")
    outcomes = dict(hub.query("SELECT outcome, count(*)::int FROM audit_log GROUP BY 1"))
    assert outcomes == {"stored": len(rows)}
    kept = hub.query("SELECT count(*)::int FROM person_facts WHERE fields IS NOT NULL")
    assert kept == [(len(rows),)]
    assert interceptions_counted(hub) == len(rows)


def test_nothing_personal_reaches_the_topic_or_the_database(hub, tmp_path):
    row = {
        "occurred_at": "2026-01-20T08:30",
        "nik": "5302014101900001",
        "sex": "P",
        "origin_regency": "5302",
        "destination_country": "MY",
        "outcome": "SENT_HOME",
        "officer": "ELT-07",
        "recruiter": "0812 9988 7766",
    }
    no_nik = dict(row, nik="", name="Yuliana Nenobais", birth_date="1990-01-01", sex="")
    hub.run(
        "post",
        "import",
        "interception",
        str(write_csv(tmp_path / "p.csv", [row, no_nik])),
        at="eltari",
    )
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 2, what="2 events")
    consumer = KafkaConsumer(
        **hub.kafka(),
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    consumer.subscribe([hub.settings.topic(INTERCEPTIONS)])
    values = []
    for message in consumer:
        values.append(message.value)
        if len(values) == 2:
            break
    consumer.close()
    assert len(values) == 2  # both interceptions read: the checks below look at something
    raw = b"".join(values)
    stored = repr(hub.query("SELECT payload, case_id FROM events")) + repr(
        hub.query("SELECT state FROM cases")
    )
    for secret in ("5302014101900001", "Yuliana", "Nenobais"):
        assert secret.encode() not in raw
        assert secret not in stored
    assert not phone_in(row["recruiter"], raw) and not phone_in(row["recruiter"], stored)


def test_a_standard_confluent_client_decodes_the_hubs_messages(hub, tmp_path):
    from confluent_kafka import Consumer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    rows = simulated(5)["eltari"][:3]
    hub.cli(
        "post", "import", "interception", str(write_csv(tmp_path / "e.csv", rows)), "--at", "eltari"
    )
    topic = hub.settings.topic(INTERCEPTIONS)
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": hub.settings.registry_url}))
    consumer = Consumer(
        {
            "bootstrap.servers": hub.settings.bootstrap_servers,
            "group.id": f"confluent-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            # A standard client authenticates the standard way (here as the administrator,
            # who may read the posts' topic).
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": "admin",
            "sasl.password": bootstrap.kafka_password(hub.settings, "admin"),
        }
    )
    consumer.subscribe([topic])
    records = []
    deadline = time.monotonic() + 30
    while len(records) < 3 and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            records.append(
                deserialize(msg.value(), SerializationContext(topic, MessageField.VALUE))
            )
    consumer.close()
    assert len(records) == 3
    assert {r["post_id"] for r in records} == {"eltari"}
    # What any member reads of a person: sealed to the hub, countable attributes in clear.
    for r in records:
        person = r["person"]
        assert person["nik_pseudonym"] is None and person["weak_pseudonym"] is None
        assert re.fullmatch(r"[0-9a-f]{8}\.[A-Za-z0-9+/=]+", person["sealed"])
        assert person["birth_date"] is None and isinstance(person["age_at_fact"], int)


def test_a_message_nobody_can_decode_goes_to_the_dead_letter_topic_with_the_reason(hub, tmp_path):
    topic = hub.settings.topic(INTERCEPTIONS)
    # A member (authenticated, and signing what it sends) publishes what nobody can decode,
    # and someone with a credential but no key sends an unsigned message.
    signer = bootstrap.signer(hub.settings, "post-eltari")
    producer = KafkaProducer(**hub.kafka("post-eltari"))
    relative = INTERCEPTIONS
    for value in (b"not avro at all", frame(987654, b"\x02\x04")):
        producer.send(topic, value=value, headers=signer.headers(relative, None, value))
    producer.send(topic, value=b"\x00\x00\x00\x00\x01unsigned")
    producer.flush()
    producer.close()
    rows = simulated(2)["eltari"][:1]
    hub.run(
        "post", "import", "interception", str(write_csv(tmp_path / "ok.csv", rows)), at="eltari"
    )
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 1, what="the good event stored")

    consumer = KafkaConsumer(
        hub.settings.topic(DEAD_LETTER.name),
        **hub.kafka("ops"),
        group_id="ops-test",
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    decode = EventDeserializer(bootstrap.registry_reader(hub.settings))
    letters = []
    for message in consumer:
        letters.append(decode(message.value).event)
        if len(letters) == 3:
            break
    consumer.close()
    reasons = sorted(letter.reason for letter in letters)  # type: ignore[attr-defined]
    assert any("magic byte" in r for r in reasons)
    assert any("schema id 987654" in r for r in reasons)
    assert any(r.startswith("unsigned") for r in reasons)
    assert {letter.source_topic for letter in letters} == {topic}  # type: ignore[attr-defined]


def test_a_killed_processor_resumes_where_it_was_without_loss_or_double_count(hub):
    rows = simulated(6000, seed=5)
    published = faults.publish_rows(
        hub, [("interception", post, row) for post, post_rows in rows.items() for row in post_rows]
    )
    total = len(published)

    worker = hub.start_worker()
    hub.wait_for(lambda: hub.event_count() > 0, what="the first batch")
    hub.stop_worker(worker, kill=True)  # no goodbye: offsets may lag the database
    partial = hub.event_count()
    hub.start_worker()
    faults.wait_processed(hub, timeout=120)
    faults.assert_nothing_lost(faults.account(hub, "processor killed -9 once", published))
    assert hub.event_count() == total
    counted = interceptions_counted(hub)
    in_cases = hub.query("SELECT sum(interceptions)::int FROM cases")[0][0]
    assert counted == total and in_cases == total
    assert 0 < partial <= total


def test_a_gracefully_stopped_processor_commits_and_resumes(hub, tmp_path):
    first = simulated(40, seed=3)
    for post, post_rows in first.items():
        hub.run(
            "post",
            "import",
            "interception",
            str(write_csv(tmp_path / f"a{post}.csv", post_rows)),
            at=post,
        )
    worker = hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 40, what="40 events")
    hub.stop_worker(worker)
    assert worker.returncode == 0
    assert committed_offsets(hub) == 40
    more = simulated(60, seed=4)
    for post, post_rows in more.items():
        hub.run(
            "post",
            "import",
            "interception",
            str(write_csv(tmp_path / f"b{post}.csv", post_rows)),
            at=post,
        )
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 100, what="100 events")
    hub.wait_for(lambda: committed_offsets(hub) == 100, what="offsets committed up to 100")
    assert interceptions_counted(hub) == 100


def test_importing_the_same_file_twice_counts_once(hub, tmp_path):
    rows = simulated(20, seed=9)["tenau"]
    path = write_csv(tmp_path / "tenau.csv", rows)
    hub.cli("post", "import", "interception", str(path), "--at", "tenau")
    hub.cli("post", "import", "interception", str(path), "--at", "tenau")
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == len(rows), what="events stored")
    time.sleep(1.5)
    assert hub.event_count() == len(rows)
    assert interceptions_counted(hub) == len(rows)


def test_an_invalid_file_is_refused_whole_naming_row_and_field(hub, tmp_path):
    rows = simulated(3, seed=2)["eltari"][:3]
    rows[1] = dict(rows[1], destination_country="Narnia")
    done = hub.run(
        "post",
        "import",
        "interception",
        str(write_csv(tmp_path / "bad.csv", rows)),
        at="eltari",
        check=False,
    )
    assert done.returncode == 2
    assert "row 3, field destination_country" in done.stderr
    consumer = KafkaConsumer(**hub.kafka())
    tp = TopicPartition(hub.settings.topic(INTERCEPTIONS), 0)
    ends = consumer.end_offsets(
        [TopicPartition(tp.topic, p) for p in range(hub.settings.topic_partitions)]
    )
    consumer.close()
    assert sum(ends.values()) == 0  # nothing was sent


def test_the_event_store_is_append_only_and_analysts_read_only_views(hub):
    hub.run(
        "post",
        "record",
        at="eltari",
        occurred_at="2026-01-20T08:30",
        outcome="SENT_HOME",
        officer="ELT-07",
        nik="5302014101900001",
    )
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() == 1, what="1 event")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        hub.query("UPDATE events SET unit = 'x'")
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        hub.query("DELETE FROM events")
    analyst = bootstrap.conninfo(hub.settings, "sinergi_analyst")
    with psycopg.connect(analyst) as conn:
        assert conn.execute("SELECT count(*) FROM v_cases").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM events")


def test_the_registry_refuses_anonymous_writes_and_incompatible_changes(hub):
    subject = subject_for(hub.settings.topic(INTERCEPTIONS))
    current = avro.load("InterceptionRecorded").text
    anonymous = httpx.post(
        f"{hub.settings.registry_url}/subjects/{subject}/versions",
        json={"schema": current},
        timeout=5,
    )
    assert anonymous.status_code == 401
    client = bootstrap.registry(hub.settings)
    assert client.is_compatible(subject, current)
    breaking = current.replace(
        '"name":"officer_ref","type":"string"', '"name":"officer_ref","type":"int"'
    )
    assert breaking != current
    assert not client.is_compatible(subject, breaking)
    # Reads stay open to any standard client.
    assert RegistryClient(hub.settings.registry_url).schema(client.register(subject, current))


def client_config(hub: Hub, folder: Path) -> Path:
    """A Java client configuration logging in as the administrator."""
    path = folder / "admin.properties"
    password = bootstrap.kafka_password(hub.settings, "admin")
    path.write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required"
        f' username="admin" password="{password}";\n'
    )
    path.chmod(0o600)
    return path


def test_kafkas_own_tools_count_what_the_post_published(hub, stack_settings, tmp_path):
    rows = simulated(25, seed=8)["eltari"]
    hub.cli(
        "post", "import", "interception", str(write_csv(tmp_path / "e.csv", rows)), "--at", "eltari"
    )
    kafka = runtime.stack(stack_settings).kafka
    done = subprocess.run(
        [
            str(kafka._java()),
            "-cp",
            kafka.classpath(),
            "org.apache.kafka.tools.GetOffsetShell",
            "--bootstrap-server",
            hub.settings.bootstrap_servers,
            "--command-config",
            str(client_config(hub, tmp_path)),
            "--topic",
            hub.settings.topic(INTERCEPTIONS),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    offsets = [int(line.rsplit(":", 1)[1]) for line in done.stdout.split()]
    assert sum(offsets) == len(rows)


def test_starting_the_stack_again_is_harmless(stack_settings):
    lines: list[str] = []
    runtime.stack(stack_settings).up(report=lines.append)
    assert sum("already running" in line for line in lines) == 3
