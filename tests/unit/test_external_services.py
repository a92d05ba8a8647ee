"""SINERGI_SERVICES=external: the hub on services started elsewhere (deploy/compose.yaml).

`stack up` refused every port another program held, the containers' included, and
nothing else made PostgreSQL's roles and database: a Docker user had no way to set the
hub up on the containers the compose file's header told them to start.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import pytest

from deploy.postgres import PostgresConfig, PostgresService
from deploy.procs import StackError
from deploy.secrets import password_file
from deploy.stack import Stack
from sinergi import runtime
from sinergi.config import ConfigError, from_env


class External:
    """A service started elsewhere: it may be attached to, never started or stopped."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    def attach(self) -> str:
        self.calls.append(f"attach {self.name}")
        return "external, ready"

    def external_status(self) -> str:
        return "external, ready"

    def external_statuses(self) -> dict[str, str]:
        return {self.name: "external, ready"}

    def start(self) -> str:
        raise AssertionError(f"{self.name} started")

    def stop(self) -> str:
        raise AssertionError(f"{self.name} stopped")


def _stack(home: Path, calls: list[str]) -> Stack:
    settings = from_env({"SINERGI_HOME": str(home), "SINERGI_SERVICES": "external"})
    stack = runtime.stack(settings)
    stack.postgres = External("postgres", calls)  # type: ignore[assignment]
    stack.kafka = stack.kafka_every = External("kafka", calls)  # type: ignore[assignment]
    stack.registry = External("registry", calls)  # type: ignore[assignment]
    return stack


def _passwords(home: Path) -> None:
    for folder, name in ((home / "secrets", "postgres"), (home / "secrets" / "kafka", "admin")):
        folder.mkdir(parents=True, exist_ok=True)
        password_file(folder, name).write_text("given-to-the-containers\n")


def test_stack_up_sets_the_hub_up_on_services_it_does_not_start_and_down_leaves_them(
    tmp_path,
):
    home = tmp_path / "home"
    _passwords(home)
    calls: list[str] = []
    stack = _stack(home, calls)
    lines: list[str] = []
    stack.up(report=lines.append)
    assert calls == ["attach postgres", "attach kafka", "attach registry"]
    assert lines == [f"{n}: external, ready" for n in ("postgres", "kafka", "registry")]
    lines.clear()
    stack.down(report=lines.append)
    assert lines == [f"{n}: external, left running" for n in ("postgres", "kafka", "registry")]
    assert stack.status() == dict.fromkeys(("postgres", "kafka", "registry"), "external, ready")


def test_without_the_containers_passwords_it_says_where_to_write_them(tmp_path):
    home = tmp_path / "home"
    calls: list[str] = []
    with pytest.raises(StackError) as info:
        _stack(home, calls).up(report=lambda line: None)
    message = str(info.value)
    assert "SINERGI_PG_PASSWORD" in message and "SINERGI_KAFKA_ADMIN_PASSWORD" in message
    assert str(home / "secrets" / "postgres.password") in message
    assert str(home / "secrets" / "kafka" / "admin.password") in message
    assert calls == []


def test_a_service_that_does_not_answer_is_reported_with_its_own_reason(tmp_path):
    """On the port, but not a PostgreSQL that takes this home's password: the error says
    what the last try got, not only that the wait ran out."""
    home = tmp_path / "home"
    _passwords(home)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        closing = threading.Thread(target=_close_each_connection, args=(sock,), daemon=True)
        closing.start()
        pg = PostgresService(PostgresConfig(home=home, host="127.0.0.1", port=port, bindir=None))
        with pytest.raises(StackError) as info:
            pg.attach(timeout=0)
        status = pg.external_status()
    assert f"PostgreSQL on 127.0.0.1:{port} did not answer within 0s: " in str(info.value)
    assert "OperationalError" in str(info.value)
    assert status.startswith(f"external, not answering on 127.0.0.1:{port}: OperationalError")


def _close_each_connection(sock: socket.socket) -> None:
    """Another program on the port: it hangs up on whoever connects."""
    with contextlib.suppress(OSError):
        while True:
            conn, _ = sock.accept()
            conn.close()


def test_the_setting_is_local_or_external(tmp_path):
    home = {"SINERGI_HOME": str(tmp_path)}
    assert from_env(home).services == "local"
    assert not runtime.stack(from_env(home)).cfg.external
    assert runtime.stack(from_env(home | {"SINERGI_SERVICES": "external"})).cfg.external
    with pytest.raises(ConfigError, match="SINERGI_SERVICES must be one of local, external"):
        from_env(home | {"SINERGI_SERVICES": "docker"})
