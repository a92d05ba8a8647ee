"""What operations see of the processor without a stack: its build on /metrics, /readyz
answering 503 while the lag is above the threshold, and progress bars that appear only
on a terminal and only for work longer than a moment."""

from __future__ import annotations

import io
import json
import socket
import time

from prometheus_client import generate_latest
from rich.console import Console

from deploy.secrets import ensure_password
from sinergi import buildinfo, runtime
from sinergi.config import from_env
from sinergi.display import Steps
from sinks.prometheus import WorkerMetrics, build_info, health_app, ready_within_lag


def call(app, path: str) -> tuple[str, dict[str, object] | bytes]:
    status: list[str] = []
    body = b"".join(app({"PATH_INFO": path}, lambda s, headers: status.append(s)))
    if path in ("/readyz", "/healthz"):
        return status[0], json.loads(body)
    return status[0], body


def test_build_info_names_the_version_and_commit():
    metrics = WorkerMetrics()
    build_info(metrics.registry, "0.1.0", "abcdef012345")
    page = generate_latest(metrics.registry).decode()
    assert 'sinergi_build_info{commit="abcdef012345",version="0.1.0"} 1.0' in page


def test_the_commit_is_read_from_the_checkout(tmp_path):
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("0123456789abcdef0123456789abcdef01234567\n")
    assert buildinfo.commit(tmp_path) == "0123456789ab"
    (git / "refs" / "heads" / "main").unlink()
    (git / "packed-refs").write_text(
        "# pack-refs with: peeled\nfedcba9876543210fedcba9876543210fedcba98 refs/heads/main\n"
    )
    assert buildinfo.commit(tmp_path) == "fedcba987654"
    assert buildinfo.commit(tmp_path / "elsewhere") == buildinfo.UNKNOWN


def test_of_several_workers_one_serves_the_ledgers_counts(tmp_path):
    """The ledger's counts and the breach clock are read from PostgreSQL, the whole hub's:
    a worker started with SINERGI_LEDGER_METRICS=0 leaves them out of its /metrics, so a
    sum over workers counts them once; its own figures stay."""
    with socket.socket() as sock:  # a port nothing listens on: PostgreSQL is not there
        sock.bind(("127.0.0.1", 0))
        closed = str(sock.getsockname()[1])
    env = {"SINERGI_HOME": str(tmp_path), "SINERGI_PG_PORT": closed}
    ensure_password(from_env(env).secrets_dir, "sinergi_processor")

    serving = generate_latest(runtime.worker_metrics(from_env(env)).registry).decode()
    assert "sinergi_ledger_metrics_up 0.0" in serving  # served (and unreadable here)
    assert "sinergi_breach_clock_up 0.0" in serving
    extra = runtime.worker_metrics(from_env(env | {"SINERGI_LEDGER_METRICS": "0"}))
    page = generate_latest(extra.registry).decode()
    assert "sinergi_ledger_metrics_up" not in page and "sinergi_breach_" not in page
    assert "sinergi_processor_ready 0.0" in page and "sinergi_build_info{" in page
    assert from_env({}).ledger_metrics == 1


def test_readyz_is_503_while_the_lag_is_above_the_threshold():
    metrics = WorkerMetrics()
    consuming = {"ready": True}
    ready = ready_within_lag(
        lambda: (consuming["ready"], "consuming" if consuming["ready"] else "waiting for postgres"),
        metrics.total_lag,
        max_lag=100,
    )
    app = health_app(lambda environ, start: [b"metrics"], ready)
    metrics.lag.labels(topic="t.posts.interception-recorded").set(60)
    metrics.lag.labels(topic="t.bp3mi.repatriation-recorded").set(40)
    assert metrics.total_lag() == 100
    assert call(app, "/readyz") == ("200 OK", {"ready": True, "reason": "consuming"})

    metrics.lag.labels(topic="t.bp3mi.repatriation-recorded").set(41)
    status, body = call(app, "/readyz")
    assert status == "503 Service Unavailable"
    assert body == {
        "ready": False,
        "reason": "lag of 101 messages is above 100 (SINERGI_READY_MAX_LAG)",
    }
    consuming["ready"] = False  # the worker's own cause comes first
    assert call(app, "/readyz")[1] == {"ready": False, "reason": "waiting for postgres"}
    assert call(app, "/healthz") == ("200 OK", {"status": "alive"})  # alive all along


def _terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=100), buffer


def test_a_progress_bar_appears_on_a_terminal_once_the_work_takes_longer_than_a_moment():
    console, buffer = _terminal()
    with Steps(console, after=0.0) as steps:
        task = steps.step("memeriksa baris", total=3)
        deadline = time.monotonic() + 30
        while not steps.shown and time.monotonic() < deadline:
            time.sleep(0.01)  # the timer's own thread starts the bar
        assert steps.shown
        steps.advance(task, 3)
        steps.progress.refresh()
    assert "memeriksa baris" in buffer.getvalue()
    assert "3/3" in buffer.getvalue()


def test_no_progress_bar_for_quick_work_or_off_a_terminal():
    console, buffer = _terminal()
    with Steps(console, after=3600) as steps:
        steps.step("mengirim ke hub")
    assert not steps.shown and buffer.getvalue() == ""
    piped = io.StringIO()
    with Steps(Console(file=piped, force_terminal=False), after=0.0) as steps:
        for _ in steps.track(range(5), "memeriksa baris", 5):
            pass
    assert not steps.shown and piped.getvalue() == ""
