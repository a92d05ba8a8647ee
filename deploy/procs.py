"""Process bookkeeping for the local stack: pid files, ports, waiting, stopping.

Kept free of any service's specifics so each service module stays short.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class StackError(RuntimeError):
    """The stack cannot be started or stopped; the message says what to do."""


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def who_listens(port: int) -> str | None:
    """Describe the process listening on ``port`` (``pid 123 (java ...)``), if visible."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return f"pid {proc.name} ({describe_pid(int(proc.name))})"
            except OSError:
                continue
    return "a process this user cannot see"


def describe_pid(pid: int, width: int = 80) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "gone"
    text = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return text if len(text) <= width else text[: width - 3] + "..."


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class PidFile:
    """A pid file that knows whether the process it names is still ours."""

    def __init__(self, path: Path, marker: str, *, remove_stale: bool = True) -> None:
        self.path = path
        # A string expected in the process's command line: a reused pid is not ours.
        self.marker = marker
        # False for files a server manages itself (PostgreSQL's postmaster.pid).
        self.remove_stale = remove_stale

    def read(self) -> int | None:
        try:
            return int(self.path.read_text().split("\n", 1)[0].strip())
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """The pid if the process is alive and ours; a stale file is removed."""
        pid = self.read()
        if pid is not None and pid_alive(pid) and self.marker in describe_pid(pid, 100_000):
            return pid
        if self.remove_stale:
            self.path.unlink(missing_ok=True)
        return None

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid}\n")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def ensure_port_free(host: str, port: int, what: str, env_var: str) -> None:
    if port_open(host, port):
        owner = who_listens(port) or "an unknown process"
        raise StackError(
            f"port {port} ({what}) is already in use by {owner}. Stop that process, "
            f"or choose another port with {env_var}=... (or SINERGI_PORT_OFFSET=...)."
        )


def spawn(
    argv: Sequence[str],
    log_file: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start a long-running server detached from our terminal, output to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    full = list(argv)
    if user is not None:
        full = ["runuser", "-u", user, "--", *full]
    with log_file.open("ab") as out:
        return subprocess.Popen(
            full,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    alive: Callable[[], bool] | None = None,
    log_file: Path | None = None,
    interval: float = 0.25,
) -> float:
    """Poll ``ready`` until it is true; return the seconds waited, raise with the log tail."""
    start = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            if ready():
                return time.monotonic() - start
        if alive is not None and not alive():
            raise StackError(f"{what} exited during start-up.{log_tail(log_file)}")
        if time.monotonic() - start > timeout:
            raise StackError(f"{what} did not answer within {timeout:.0f}s.{log_tail(log_file)}")
        time.sleep(interval)


def log_tail(log_file: Path | None, lines: int = 15) -> str:
    if log_file is None or not log_file.exists():
        return ""
    tail = log_file.read_text(errors="replace").splitlines()[-lines:]
    return f"\nLast lines of {log_file}:\n  " + "\n  ".join(tail)


def stop_process(pidfile: PidFile, *, timeout: float = 30.0) -> str:
    """Stop the process a pid file names (SIGTERM, then SIGKILL after ``timeout``)."""
    pid = pidfile.running_pid()
    if pid is None:
        return "not running"
    killed = terminate(pid, timeout=timeout)
    pidfile.remove()
    return "killed after timeout" if killed else "stopped"


def terminate(pid: int, *, timeout: float = 30.0) -> bool:
    """SIGTERM the process group, then SIGKILL after ``timeout``; True if it had to be killed."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return False
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True
