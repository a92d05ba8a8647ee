"""A pid file whose pid now belongs to another program is stale: `stack status` says so,
`stack up` starts its own, and `stack down` signals nothing.

The stack once took any process with ``postgres`` in its command line for its PostgreSQL
(and ``pg_ctl stop`` sent it SIGINT), any ``kafka.Kafka`` for its Kafka, any ``sinergi
process`` or ``sinergi.web`` for its own: a stale pid file naming another home's Kafka got
that Kafka killed by ``stack down``. The decoys here are real processes with those
command lines; each notes any signal it is sent in a file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy import procs
from deploy.kafka import KafkaConfig, KafkaService
from deploy.postgres import PostgresConfig, PostgresService
from deploy.procs import DEFAULT_HOME, ProcessOfHome
from sinergi import runtime
from sinergi.config import Settings, from_env

# Notes the signal it is sent (SIGTERM, SIGINT) in the file it is given, then exits.
DECOY = """\
import signal, sys, time
def noted(signum, frame):
    with open(sys.argv[1], "a") as out:
        out.write(f"{signum}\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, noted)
signal.signal(signal.SIGINT, noted)
time.sleep(60)
"""


@dataclass
class Decoy:
    proc: subprocess.Popen[bytes]
    signals: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def untouched(self) -> bool:
        """Still running, and sent no signal."""
        return self.proc.poll() is None and not self.signals.exists()


Start = Callable[..., Decoy]


@pytest.fixture
def decoy(tmp_path: Path) -> Iterator[Start]:
    started: list[Decoy] = []

    def start(*args: str, cwd: Path | None = None, home: Path | None = None) -> Decoy:
        signals = tmp_path / f"signals-{len(started)}"
        env = dict(os.environ)
        env.pop("SINERGI_HOME", None)
        if home is not None:
            env["SINERGI_HOME"] = str(home)
        proc = subprocess.Popen(
            [sys.executable, "-c", DECOY, str(signals), *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started.append(Decoy(proc, signals))
        return started[-1]

    yield start
    for one in started:
        one.proc.kill()
        one.proc.wait()


def _settings(home: Path) -> Settings:
    return from_env({"SINERGI_HOME": str(home)})


def _elsewhere(tmp_path: Path, home: Path) -> Path:
    """Another stack's home whose path ends with this one's (``/x/tmp/.../home``): its
    paths hold this home's paths as a part."""
    return tmp_path / "x" / str(home).lstrip("/")


def _plant(tmp_path: Path, home: Path, decoy: Start) -> dict[str, Decoy]:
    """A stale pid file of every service, each naming a live program that is not ours:
    another home's Kafka nodes, registry, processor and web application, and a system
    PostgreSQL."""
    other = _elsewhere(tmp_path, home)
    found = {
        "postgres": decoy("postgres", "-D", "/var/lib/postgresql/15/main", cwd=tmp_path),
        "kafka": decoy("kafka.Kafka", str(other / "kafka" / "server.properties")),
        "kafka-2": decoy("kafka.Kafka", str(other / "kafka-2" / "server.properties")),
        "registry": decoy(f"-Dquarkus.datasource.jdbc.url=jdbc:h2:file:{other / 'registry'}"),
        "processor": decoy("-m", "sinergi", "process", home=other),
        "web": decoy("-m", "sinergi.web", home=other),
    }
    files = {
        "postgres": home / "postgres" / "data" / "postmaster.pid",
        "kafka": home / "run" / "kafka.pid",
        "kafka-2": home / "run" / "kafka-2.pid",
        "registry": home / "run" / "registry.pid",
        "processor": home / "run" / "processor.pid",
        "web": home / "run" / "web.pid",
    }
    for name, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{found[name].pid}\n")
    return found


def test_stack_down_signals_no_program_a_stale_pid_file_names(tmp_path, decoy):
    home = tmp_path / "home"
    decoys = _plant(tmp_path, home, decoy)
    lines: list[str] = []
    runtime.down(_settings(home), report=lines.append)
    assert {name: d.untouched() for name, d in decoys.items()} == dict.fromkeys(decoys, True)
    assert lines == [
        "web: not running",
        "processor: not running",
        "registry: not running",
        "kafka: kafka-1 not running, kafka-2 not running",
        "postgres: not running",
    ]


def test_stack_status_reports_a_pid_file_naming_another_program_as_stale(tmp_path, decoy):
    home = tmp_path / "home"
    decoys = _plant(tmp_path, home, decoy)
    states = runtime.status(_settings(home))
    files = {  # the service as status names it: its pid file, the decoy it names
        "postgres": ("postmaster.pid", "postgres"),
        "kafka-1": ("kafka.pid", "kafka"),
        "kafka-2": ("kafka-2.pid", "kafka-2"),
        "registry": ("registry.pid", "registry"),
        "processor": ("processor.pid", "processor"),
        "web": ("web.pid", "web"),
    }
    assert states == {
        name: f"stopped (stale pid file {file}: pid {decoys[named].pid} is another program)"
        for name, (file, named) in files.items()
    }
    assert all(d.untouched() for d in decoys.values())
    # The stack's own files are removed; PostgreSQL's is PostgreSQL's.
    assert sorted(p.name for p in (home / "run").iterdir()) == []
    assert (home / "postgres" / "data" / "postmaster.pid").exists()


def _kafka(home: Path, node_id: int = 1) -> KafkaService:
    return KafkaService(
        KafkaConfig(
            home=home,
            host="127.0.0.1",
            port=1,
            controller_port=2,
            java_home=None,
            maven="mvn",
            node_id=node_id,
        )
    )


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_kafka_node_is_known_by_its_own_properties_file_as_a_whole_argument(
    tmp_path, decoy, node_id
):
    home = tmp_path / "home"
    node = _kafka(home, node_id)
    ours = decoy("kafka.Kafka", str(node.dir / "server.properties"))
    node.pidfile.write(ours.pid)
    assert node.running() == ours.pid
    another = _kafka(_elsewhere(tmp_path, home), node_id)
    theirs = decoy("kafka.Kafka", str(another.dir / "server.properties"))
    node.pidfile.write(theirs.pid)
    assert node.running() is None
    assert node.stop() == "not running"
    assert ours.untouched() and theirs.untouched()


def _postgres(home: Path) -> PostgresService:
    return PostgresService(PostgresConfig(home=home, host="127.0.0.1", port=1, bindir=None))


def test_postgresql_is_the_process_working_in_its_data_directory(tmp_path, decoy):
    pg = _postgres(tmp_path / "home")
    pg.data.mkdir(parents=True)
    ours = decoy("postgres", "-D", str(pg.data), cwd=pg.data)
    pg.pidfile.write(ours.pid)
    assert pg.running() == ours.pid
    # Started with our -D but working elsewhere: not a postmaster of this directory.
    theirs = decoy("postgres", "-D", str(pg.data), cwd=tmp_path)
    pg.pidfile.write(theirs.pid)
    assert pg.running() is None
    assert pg.stop() == "not running"  # and pg_ctl is not asked to stop it
    assert ours.untouched() and theirs.untouched()


def test_where_its_directory_cannot_be_read_postgresql_is_known_by_its_d_argument(
    tmp_path, decoy, monkeypatch
):
    """Another user's process (PostgreSQL runs as ``postgres`` when the stack runs as
    root) whose working directory this user may not read."""
    pg = _postgres(tmp_path / "home")
    pg.data.mkdir(parents=True)

    def refused(path: str) -> str:
        raise PermissionError(path)

    monkeypatch.setattr(procs.os, "readlink", refused)
    ours = decoy("postgres", "-D", str(pg.data))
    theirs = decoy("postgres", "-D", "/var/lib/postgresql/15/main")
    assert procs.PostmasterOf(pg.data)(ours.pid)
    assert not procs.PostmasterOf(pg.data)(theirs.pid)


@pytest.mark.parametrize("service", [runtime.processor, runtime.web])
def test_the_processor_and_the_web_app_are_known_by_the_home_they_were_started_with(
    tmp_path, decoy, service
):
    home = tmp_path / "home"
    ours = service(_settings(home))
    # Started as the stack starts it: its command, its environment.
    started = decoy(*ours.COMMAND, home=Path(ours.environment()["SINERGI_HOME"]))
    ours.pidfile.write(started.pid)
    assert ours.pidfile.running_pid() == started.pid
    assert ours.status() == f"running (pid {started.pid})"
    another_home = decoy(*ours.COMMAND, home=tmp_path / "other")
    no_home = decoy(*ours.COMMAND)
    for pid in (another_home.pid, no_home.pid):
        ours.pidfile.write(pid)
        assert ours.pidfile.running_pid() is None
    assert all(d.untouched() for d in (started, another_home, no_home))


def test_a_processor_without_sinergi_home_is_the_default_homes_a_relative_home_is_resolved(
    tmp_path, decoy
):
    """Before the stack set SINERGI_HOME always, a processor of the default home ran
    without it: after an upgrade `stack down` must still know it (and stop it)."""
    command = ("-m", "sinergi", "process")
    legacy = decoy(*command)
    assert ProcessOfHome(command, DEFAULT_HOME)(legacy.pid)
    assert not ProcessOfHome(command, tmp_path / "home")(legacy.pid)
    (tmp_path / "rel").mkdir()
    relative = decoy(*command, cwd=tmp_path, home=Path("rel"))
    assert ProcessOfHome(command, tmp_path / "rel")(relative.pid)
    assert not ProcessOfHome(command, DEFAULT_HOME)(relative.pid)
