"""How the stack starts, without starting anything: the services start together and each
reports its own outcome; the registry is built once for every data folder; the hub's
topics are made in one request."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from kafka import errors as kafka_errors

from deploy import registry as registry_module
from deploy.procs import StackError
from deploy.registry import RegistryConfig, RegistryService
from deploy.stack import Stack, StackConfig
from sinergi import bootstrap
from sinergi.config import from_env


class FakeService:
    def __init__(self, name: str, started: threading.Barrier, error: str | None = None):
        self.name = name
        self.started = started
        self.error = error

    def start(self) -> str:
        # Every service waits here for the others: one after the other, it would time out.
        self.started.wait(timeout=5)
        if self.error is not None:
            raise StackError(self.error)
        return "started"


def _stack(tmp_path: Path, services: list[FakeService]) -> Stack:
    stack = Stack(
        StackConfig(
            home=tmp_path,
            host="127.0.0.1",
            kafka_port=1,
            kafka_controller_port=2,
            postgres_port=3,
            registry_port=4,
            database="db",
            java_home=None,
            registry_java_home=None,
            maven="mvn",
            pg_bindir=None,
        )
    )
    postgres, kafka, registry = services
    stack.postgres, stack.registry = postgres, registry  # type: ignore[assignment]
    stack.kafka = kafka  # type: ignore[assignment]
    kafka.nodes = []  # type: ignore[attr-defined]  # nothing for Maven to resolve
    registry.running = lambda: 1  # type: ignore[attr-defined]  # nor to build
    return stack


def test_the_services_start_together_and_each_reports_in_order(tmp_path):
    barrier = threading.Barrier(3)
    stack = _stack(tmp_path, [FakeService(n, barrier) for n in ("postgres", "kafka", "registry")])
    lines: list[str] = []
    stack.up(report=lines.append)
    assert lines == [
        "postgres: starting ...",
        "kafka: starting ...",
        "registry: starting ...",
        "postgres: started",
        "kafka: started",
        "registry: started",
    ]


def test_a_service_that_fails_says_why_and_the_others_still_start(tmp_path):
    barrier = threading.Barrier(3)
    services = [
        FakeService("postgres", barrier),
        FakeService("kafka", barrier, error="port 9092 is in use by pid 7"),
        FakeService("registry", barrier),
    ]
    stack = _stack(tmp_path, services)
    lines: list[str] = []
    with pytest.raises(StackError, match="port 9092 is in use by pid 7"):
        stack.up(report=lines.append)
    assert lines[3:] == [
        "postgres: started",
        "kafka: not started: port 9092 is in use by pid 7",
        "registry: started",
    ]


FAKE_MAVEN = """#!/bin/sh
# Counts its runs; builds the jar into -Dsinergi.build.dir unless FAIL is set.
echo run >> "{calls}"
for arg in "$@"; do
  case "$arg" in -Dsinergi.build.dir=*) dir="${{arg#-Dsinergi.build.dir=}}";; esac
done
mkdir -p "$dir/quarkus-app"
if [ -n "$FAIL" ]; then exit 3; fi
echo jar > "$dir/quarkus-app/quarkus-run.jar"
"""


@pytest.fixture
def maven(tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    script = tmp_path / "mvn"
    script.write_text(FAKE_MAVEN.format(calls=calls))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(registry_module, "BUILDS", tmp_path / "builds")
    monkeypatch.setattr(RegistryService, "_java", lambda self: Path("/opt/java/bin/java"))
    return script, calls


def _registry(home: Path, maven: Path) -> RegistryService:
    return RegistryService(
        RegistryConfig(home=home, host="127.0.0.1", port=1, java_home=None, maven=str(maven))
    )


def test_the_registry_is_built_once_for_every_data_folder(tmp_path, maven):
    script, calls = maven
    demo = _registry(tmp_path / "demo", script)
    tests = _registry(tmp_path / "tests", script)
    demo.build()
    tests.build()
    assert calls.read_text().splitlines() == ["run"]
    assert demo.jar == tests.jar and demo.jar.read_text() == "jar\n"
    # Each folder's registry is still told apart from the other's (the jar is shared).
    assert demo.pidfile.owner != tests.pidfile.owner
    assert [p.name for p in (tmp_path / "builds").iterdir()] == [demo.build_dir.name]


def test_a_failed_build_leaves_nothing_that_would_be_run(tmp_path, maven, monkeypatch):
    script, calls = maven
    monkeypatch.setenv("FAIL", "1")
    service = _registry(tmp_path / "demo", script)
    with pytest.raises(StackError, match="building the schema registry with Maven failed"):
        service.build()
    assert not service.jar.exists()
    assert list((tmp_path / "builds").iterdir()) == []  # not even the part it began
    monkeypatch.delenv("FAIL")
    service.build()
    assert service.jar.exists() and len(calls.read_text().splitlines()) == 2


def test_a_build_killed_midway_is_removed_by_the_next_one_and_a_running_one_kept(tmp_path, maven):
    script, _ = maven
    service = _registry(tmp_path / "demo", script)
    builds = tmp_path / "builds"
    # A build killed midway (its process gone) and one still running in another process.
    gone = subprocess.Popen(["true"])
    gone.wait()
    killed = builds / f"{service.build_dir.name}.part-{gone.pid}"
    running = builds / f"{service.build_dir.name}.part-{os.getppid()}"
    for part in (killed, running):
        (part / "quarkus-app").mkdir(parents=True)
    service.build()
    assert service.jar.exists()
    assert sorted(p.name for p in builds.iterdir()) == sorted(
        [service.build_dir.name, running.name]
    )


def test_changed_registry_sources_make_another_build(tmp_path, maven, monkeypatch):
    script, calls = maven
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pom.xml").write_text("<project/>")
    (project / "src" / "application.properties").write_text("a=1\n")
    monkeypatch.setattr(registry_module, "PROJECT", project)
    before = _registry(tmp_path / "demo", script)
    before.build()
    (project / "src" / "application.properties").write_text("a=2\n")
    after = _registry(tmp_path / "demo", script)
    after.build()
    assert before.build_dir != after.build_dir
    assert before.jar.exists() and after.jar.exists()
    assert len(calls.read_text().splitlines()) == 2
    assert os.path.commonpath([before.build_dir, after.build_dir]) == str(tmp_path / "builds")


class FakeAdmin:
    """Answers one CreateTopics request as a broker would: per topic, its error code."""

    def __init__(self, existing: set[str], codes: dict[str, int]):
        self.existing = existing
        self.codes = codes
        self.requests: list[list[str]] = []

    def list_topics(self) -> list[str]:
        return sorted(self.existing)

    def create_topics(self, topics, raise_errors=True):
        assert raise_errors is False
        names = [t.name for t in topics]
        self.requests.append(names)
        return {
            "topics": [
                {"name": n, "error_code": self.codes.get(n, 0), "error_message": "refused"}
                for n in names
            ]
        }


class NoRegistry:
    def register(self, subject: str, text: str) -> int:
        return 1

    def set_compatibility(self, subject: str, level: str) -> None:
        pass

    def close(self) -> None:
        pass


def _topics_with(monkeypatch, tmp_path, admin: FakeAdmin):
    @contextmanager
    def kafka_admin(settings):
        yield admin

    monkeypatch.setattr(bootstrap, "kafka_admin", kafka_admin)
    monkeypatch.setattr(bootstrap, "registry", lambda settings: NoRegistry())
    settings = from_env({"SINERGI_HOME": str(tmp_path), "SINERGI_TOPIC_PREFIX": "t."})
    return settings, [settings.topic(spec.name) for spec in bootstrap.ALL_TOPICS]


def test_the_missing_topics_are_made_in_one_request_and_one_made_meanwhile_is_no_error(
    tmp_path, monkeypatch
):
    admin = FakeAdmin(set(), {})
    settings, names = _topics_with(monkeypatch, tmp_path, admin)
    admin.existing = {names[0]}
    admin.codes = {names[1]: 36}  # TOPIC_ALREADY_EXISTS: another start made it meanwhile
    assert bootstrap.create_topics(settings) == names[2:]
    assert admin.requests == [names[1:]]


def test_a_topic_the_broker_refuses_is_named_in_the_error(tmp_path, monkeypatch):
    admin = FakeAdmin(set(), {})
    settings, names = _topics_with(monkeypatch, tmp_path, admin)
    admin.codes = {names[3]: 38}  # INVALID_REPLICATION_FACTOR
    with pytest.raises(kafka_errors.InvalidReplicationFactorError, match=names[3]):
        bootstrap.create_topics(settings)


@pytest.mark.parametrize(("given", "timer_s"), [(None, 30.0), ("5", 5.0), ("0", 1.0)])
def test_the_processors_timer_is_configurable_and_never_spins(
    tmp_path, monkeypatch, given, timer_s
):
    """SINERGI_TIMER_S: how often an idle processor raises what is due and relays the
    outbox; at least a second (0 would look again at once, for ever)."""
    monkeypatch.setattr(bootstrap, "kafka_security", lambda settings, member: {})
    env = {"SINERGI_HOME": str(tmp_path)} | ({"SINERGI_TIMER_S": given} if given else {})
    assert bootstrap.worker_config(from_env(env)).timer_s == timer_s
