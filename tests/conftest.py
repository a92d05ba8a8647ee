"""Fixtures shared by every test folder. The real stack (``stack_settings``) starts only
for tests that ask for it: integration and e2e tests, never unit tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from sinergi import runtime
from sinergi.config import REPO_ROOT, Settings, from_env

hypothesis_settings.register_profile("ci", deadline=None, print_blob=True)
hypothesis_settings.load_profile("ci")

TEST_HOME = Path(os.environ.get("SINERGI_TEST_HOME", REPO_ROOT / ".sinergi-test"))
# The test stack runs beside a demo stack: same layout, ports moved by 1000.
TEST_PORT_OFFSET = int(os.environ.get("SINERGI_TEST_PORT_OFFSET", "1000"))


# The three-broker cluster (tests/integration/test_scale_out.py) has a stack of its own,
# started once for the tests that ask for it (``cluster_settings``), on ports moved by 6000.
CLUSTER_HOME = Path(
    os.environ.get("SINERGI_TEST_CLUSTER_HOME", REPO_ROOT / ".sinergi-test-cluster")
)
CLUSTER_PORT_OFFSET = int(os.environ.get("SINERGI_TEST_CLUSTER_PORT_OFFSET", "6000"))
CLUSTER_BROKERS = 3


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SINERGI_")}
    env["SINERGI_HOME"] = str(TEST_HOME)
    env["SINERGI_PORT_OFFSET"] = str(TEST_PORT_OFFSET)
    return env


@pytest.fixture(scope="session")
def stack_settings() -> Iterator[Settings]:
    settings = from_env(base_env())
    the_stack = runtime.stack(settings)
    the_stack.up(report=lambda line: print(f"[stack] {line}"))
    runtime.ensure_keys(settings)
    yield settings
    if os.environ.get("SINERGI_TEST_KEEP_STACK") != "1":
        the_stack.down(report=lambda line: print(f"[stack] {line}"))


def cluster_env() -> dict[str, str]:
    return base_env() | {
        "SINERGI_HOME": str(CLUSTER_HOME),
        "SINERGI_PORT_OFFSET": str(CLUSTER_PORT_OFFSET),
        "SINERGI_KAFKA_BROKERS": str(CLUSTER_BROKERS),
    }


@pytest.fixture(scope="session")
def cluster_settings() -> Iterator[Settings]:
    """A stack whose Kafka is a cluster of three brokers (replication 3, min.insync 2)."""
    settings = from_env(cluster_env())
    the_stack = runtime.stack(settings)
    the_stack.up(report=lambda line: print(f"[cluster] {line}"))
    runtime.ensure_keys(settings)
    yield settings
    if os.environ.get("SINERGI_TEST_KEEP_STACK") != "1":
        the_stack.down(report=lambda line: print(f"[cluster] {line}"))
