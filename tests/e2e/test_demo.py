"""The README's main command, as a newcomer runs it: the demo fills the ledger."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from sinergi import runtime
from tests.integration.conftest import base_env

pytestmark = pytest.mark.e2e


def test_the_demo_publishes_months_of_activity_and_the_ledger_and_metrics_show_it(
    stack_settings,
):
    env = base_env() | {"SINERGI_DATABASE": "demo", "SINERGI_TOPIC_PREFIX": "demo."}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sinergi", "demo", "--months", "2", "--seed", "42"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "published" in done.stdout and "Joint case ledger" in done.stdout
        settings = stack_settings.with_overrides(database="demo", topic_prefix="demo.")
        summary = runtime.ledger_summary(settings)
        published = sum(
            int(line.split("published ")[1].split()[0])
            for line in done.stdout.splitlines()
            if "published" in line
        )
        assert summary.events == published > 50
        assert sum(summary.by_post.values()) == published
        page = httpx.get(f"http://127.0.0.1:{settings.ports.metrics}/metrics", timeout=5).text
        assert 'sinergi_interceptions_total{post="eltari"}' in page

        # Running the demo again publishes the same facts: nothing is counted twice.
        again = subprocess.run(
            [sys.executable, "-m", "sinergi", "demo", "--months", "2", "--seed", "42"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert runtime.ledger_summary(settings).events == published
    finally:
        subprocess.run(
            [sys.executable, "-m", "sinergi", "processor", "stop"], env=env, check=False, timeout=60
        )
