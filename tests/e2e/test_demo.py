"""The README's main command, as a newcomer runs it: every agency publishes, the ledger
fills, police get alerts, and the ledger rebuilt from the topics equals the live one."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import httpx
import psycopg
import psycopg.sql
import pytest

from schemas.model import AlertRule
from sinergi import bootstrap, views
from tests.conftest import base_env
from tests.integration.hub import delete_slice_topics, drop_slice_database

pytestmark = pytest.mark.e2e


def run(env, *args, timeout=600):
    done = subprocess.run(
        [sys.executable, "-m", "sinergi", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    return done


def test_the_demo_fills_the_ledger_raises_alerts_and_rebuilds_identically(stack_settings):
    tag = uuid.uuid4().hex[:8]
    env = base_env() | {
        "SINERGI_LANG": "en",  # the lines read below are the English ones
        "SINERGI_DATABASE": f"demo{tag}",
        "SINERGI_TOPIC_PREFIX": f"demo{tag}.",
        "SINERGI_PROCESSOR_GROUP": f"demo{tag}",
    }
    settings = stack_settings.with_overrides(
        database=f"demo{tag}", topic_prefix=f"demo{tag}.", processor_group=f"demo{tag}"
    )
    try:
        done = run(env, "demo", "--months", "3", "--seed", "42")
        assert done.returncode == 0, done.stdout + done.stderr
        published = sum(int(n) for n in re.findall(r"published (\d+) events", done.stdout))
        agencies = set(re.findall(r"^(\w+) \(\d+ unit", done.stdout, re.MULTILINE))
        assert agencies == {"post", "police", "bp3mi", "district", "hotline"}
        with psycopg.connect(bootstrap.conninfo(settings, "sinergi_owner")) as conn:
            stored = conn.execute(
                "SELECT count(*) FROM events WHERE event_type <> 'AlertAcknowledged'"
            ).fetchone()[0]
        assert stored == published > 500

        with psycopg.connect(bootstrap.conninfo(settings, "sinergi_owner")) as conn:
            rules = {r for (r,) in conn.execute("SELECT DISTINCT rule FROM alerts")}
        assert rules == {rule.value for rule in AlertRule}  # every rule fires on realistic data

        summary = views.ledger_summary(settings)
        assert summary.cases > 0 and summary.interceptions > 0 and summary.recruiters > 0
        assert {"INTERCEPTED", "PLACED", "DECEASED"} <= set(summary.by_status)
        assert summary.alerts > 0 and summary.alerts_open < summary.alerts  # some acknowledged
        page = httpx.get(f"http://127.0.0.1:{settings.ports.metrics}/metrics", timeout=5).text
        for name in (
            'sinergi_interceptions{post="eltari"}',
            "sinergi_deaths{",
            "sinergi_placements{",
            "sinergi_alerts_raised_total{",
            'sinergi_post_last_interception_timestamp_seconds{post="eltari"}',
            "# TYPE sinergi_alert_acknowledge_seconds gauge",
            "sinergi_repatriations_non_procedural_ratio",
        ):
            assert name in page

        # Running the demo again publishes the same facts: nothing is counted twice, and
        # each is an honest re-send (already recorded), not a replay.
        dead = "SELECT count(*) FROM audit_log WHERE outcome = 'dead_lettered'"
        with psycopg.connect(bootstrap.conninfo(settings, "sinergi_owner")) as conn:
            dead_before = conn.execute(dead).fetchone()[0]
        again = run(env, "demo", "--months", "3", "--seed", "42")
        assert again.returncode == 0, again.stdout + again.stderr
        assert views.ledger_summary(settings).interceptions == summary.interceptions

        rebuilt = run(env, "ledger", "rebuild", "--wait", "120")  # waits for the processor
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert "identical" in rebuilt.stdout
        with psycopg.connect(bootstrap.conninfo(settings, "sinergi_owner")) as conn:
            assert conn.execute(dead).fetchone()[0] == dead_before
    finally:
        run(env, "processor", "stop", timeout=60)
        drop_everything(settings)


def drop_everything(settings):
    delete_slice_topics(settings)
    drop_slice_database(settings)
