"""Benchmark: drain a backlog of interceptions from Kafka into PostgreSQL.

Publishes N interceptions (default 100,000) to a fresh set of topics, then starts
a real processor (faust worker, separate process) and times how long it takes
until every event is in PostgreSQL: the events table, the cases and the metrics.
Prints events per second. Runs against the local stack (started if needed), in
its own topics and database, which it removes afterwards.

    make bench            # or: python -m bench.drain --events 100000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from deploy.procs import terminate
from producers.forms import FORMS, record_rows
from producers.simulate import Simulator
from schemas.model import Agency
from sinergi import bootstrap, runtime
from sinergi.config import from_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench topics and database")
    args = parser.parse_args()

    tag = uuid.uuid4().hex[:8]
    env = dict(os.environ) | {
        "SINERGI_TOPIC_PREFIX": f"bench{tag}.",
        "SINERGI_PROCESSOR_GROUP": f"bench{tag}",
        "SINERGI_DATABASE": f"bench{tag}",
        "SINERGI_METRICS_PORT": str(int(os.environ.get("SINERGI_METRICS_PORT", "19100")) + 50),
    }
    settings = from_env(env)
    print(f"stack in {settings.home}")
    # Starting the stack (or finding it running) also creates this run's database.
    runtime.stack(settings).up(report=lambda line: print(f"  {line}"))
    owner = bootstrap.conninfo(settings, "sinergi_owner", "sinergi")
    try:
        runtime.prepare_hub(settings, report=lambda line: print(f"  {line}"))
        publish(settings, args.events)
        drain(settings, env, args.events)
    finally:
        if not args.keep:
            cleanup(settings, owner)


def publish(settings, count: int) -> None:
    # As many recruiters per interception as at the realistic scale (about 40 per 400).
    scale = 1 + count / 400
    sim = Simulator(seed=1, months=6, scale=scale, recruiters=int(40 * scale))
    desks = {p: bootstrap.desk(settings, Agency.POST, p) for p in ("eltari", "tenau")}
    form = FORMS["interception"]
    rows: dict[str, list] = {"eltari": [], "tenau": []}
    for n, (post, row) in enumerate(sim.interceptions()):
        if n >= count:
            break
        rows[post].append(row)
    started = time.perf_counter()
    events = {post: record_rows(desks[post], form, rs) for post, rs in rows.items()}
    validated = time.perf_counter()
    for post, post_events in events.items():
        pub = bootstrap.publisher(settings, desks[post].unit)
        try:
            pub.publish(post_events, timeout=300)
        finally:
            pub.close()
    done = time.perf_counter()
    n = sum(len(e) for e in events.values())
    print(
        f"published {n:,} interceptions: validate+pseudonymise {n / (validated - started):,.0f}/s,"
        f" encode+send {n / (done - validated):,.0f}/s"
    )


def drain(settings, env: dict[str, str], count: int) -> None:
    log = Path(settings.home) / "logs" / f"bench-{settings.processor_group}.log"
    with log.open("ab") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sinergi", "process"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    conninfo = bootstrap.conninfo(settings, "sinergi_owner")
    first_at = None
    stored = 0
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            while stored < count:
                if proc.poll() is not None:
                    raise SystemExit(f"processor exited {proc.returncode}; see {log}")
                time.sleep(0.2)
                stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
                if stored and first_at is None:
                    first_at = time.perf_counter()
            finished = time.perf_counter()
            cases, counted = conn.execute(
                "SELECT count(*), (SELECT sum(value) FROM metrics_daily"
                " WHERE metric = 'sinergi_interceptions_total') FROM cases"
            ).fetchone()
    finally:
        terminate(proc.pid, timeout=30)
    total = finished - started
    steady = finished - (first_at or started)
    print(f"drained {stored:,} events into PostgreSQL ({cases:,} cases, metrics count {counted:,})")
    print(f"  wall time from processor start: {total:.1f}s -> {stored / total:,.0f} events/s")
    print(f"  from first event stored:        {steady:.1f}s -> {stored / steady:,.0f} events/s")


def cleanup(settings, owner: str) -> None:
    with bootstrap.kafka_admin(settings) as admin:
        mine = [t for t in admin.list_topics() if t.startswith(settings.topic_prefix)]
        if mine:
            admin.delete_topics(mine)
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(settings.database)
            )
        )


if __name__ == "__main__":
    main()
