"""The naive baseline: what a newcomer would build first, with faust-streaming.

One faust app, one agent over the agencies' topics. Each message is decoded with the
schema registry (the writer's schema by the id in the message, as any Confluent-format
consumer does) and inserted into an ``events`` table with one INSERT and one commit:
one round trip to PostgreSQL per event. Nothing else: no signature check, no contract,
no ledger, alerts, metrics or audit, which only makes it faster than an honest version
would be (the comparison is the harder for the real processor).

``make bench`` runs it on the same topics as the real processor, in a database of its
own (``SINERGI_DATABASE``), as consumer group ``SINERGI_PROCESSOR_GROUP``, and counts
its table. It logs in as the hub's administrator, which may read every topic.

    python -m bench.naive worker --loglevel warn
"""

from __future__ import annotations

from typing import Any

import faust
import orjson
import psycopg

from schemas.serde import EventDeserializer
from sinergi import bootstrap
from sinergi.config import Settings, from_env

TABLE = """
CREATE TABLE IF NOT EXISTS events (
    event_id    text PRIMARY KEY,
    event_type  text NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload     jsonb NOT NULL
)
"""


def make_app(settings: Settings) -> faust.App:
    datadir = settings.home / "naive" / settings.processor_group
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.processor_group,
        broker=f"kafka://{settings.bootstrap_servers}",
        broker_credentials=faust.SASLCredentials(
            username=bootstrap.ADMIN,
            password=bootstrap.kafka_password(settings, bootstrap.ADMIN),
            mechanism="SCRAM-SHA-512",
        ),
        store="memory://",
        web_enabled=False,
        autodiscover=False,
        # No tables, no leader election: no internal topics to create.
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        datadir=str(datadir),
    )
    source = app.topic(
        *bootstrap.input_topics(settings), key_serializer="raw", value_serializer="raw"
    )
    decode = EventDeserializer(bootstrap.registry_reader(settings))
    database: dict[str, psycopg.Connection[Any]] = {}

    def connection() -> psycopg.Connection[Any]:
        if "conn" not in database:
            conn = psycopg.connect(bootstrap.conninfo(settings, "sinergi_owner"))
            conn.execute(TABLE)
            conn.commit()
            database["conn"] = conn
        return database["conn"]

    @app.agent(source, name="store")
    async def store(stream: Any) -> None:
        async for value in stream:
            _schema_id, cls, record = decode.decode_dict(value)
            envelope = record["envelope"]
            conn = connection()
            conn.execute(
                "INSERT INTO events (event_id, event_type, occurred_at, payload)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                (
                    envelope["event_id"],
                    cls.event_type,
                    envelope["occurred_at"],
                    orjson.dumps(record, default=str).decode(),
                ),
            )
            conn.commit()

    return app


if __name__ == "__main__":
    make_app(from_env()).main()
