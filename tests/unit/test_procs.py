"""Stack bookkeeping: stale pid files, ports in use, clear messages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from deploy.procs import (
    HasArgument,
    PidFile,
    PostmasterOf,
    StackError,
    ensure_port_free,
    port_open,
    who_listens,
)


def test_a_pid_file_naming_a_dead_process_is_stale_and_removed(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    path = tmp_path / "kafka.pid"
    path.write_text(f"{proc.pid}\n")
    assert PidFile(path, HasArgument("kafka.Kafka")).running_pid() is None
    assert not path.exists()


def test_a_pid_reused_by_another_program_is_not_taken_for_ours(tmp_path):
    path = tmp_path / "kafka.pid"
    path.write_text(f"{os.getpid()}\n")  # alive, but pytest, not Kafka
    assert PidFile(path, HasArgument("kafka.Kafka")).running_pid() is None


def test_a_live_process_of_ours_is_recognised(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "marker-xyz"])
    try:
        path = tmp_path / "x.pid"
        PidFile(path, HasArgument("marker-xyz")).write(proc.pid)
        assert PidFile(path, HasArgument("marker-xyz")).running_pid() == proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_a_garbled_pid_file_is_treated_as_stale(tmp_path):
    path = tmp_path / "x.pid"
    path.write_text("not a pid")
    assert PidFile(path, HasArgument("x")).running_pid() is None
    assert not path.exists()


def test_a_server_managed_pid_file_is_left_for_the_server(tmp_path):
    path = tmp_path / "postmaster.pid"
    path.write_text("999999999\n/data\n")
    assert PidFile(path, PostmasterOf(tmp_path / "data"), remove_stale=False).running_pid() is None
    assert path.exists()


def test_a_port_in_use_is_reported_with_its_owner_and_the_setting_to_change():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert port_open("127.0.0.1", port)
        owner = who_listens(port)
        assert owner is not None and f"pid {os.getpid()}" in owner
        with pytest.raises(StackError) as info:
            ensure_port_free("127.0.0.1", port, "Kafka", "SINERGI_KAFKA_PORT")
    message = str(info.value)
    assert f"port {port} (Kafka) is already in use by pid {os.getpid()}" in message
    assert "SINERGI_KAFKA_PORT" in message


def test_a_free_port_passes():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ensure_port_free("127.0.0.1", port, "Kafka", "SINERGI_KAFKA_PORT")
