"""Process bookkeeping for the local stack: pid files, ports, waiting, stopping.

Kept free of any service's specifics so each service module stays short.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


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


def command_line(pid: int) -> list[str]:
    """The process's arguments, program first ([] when it is gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.rstrip(b"\0").split(b"\0")] if raw else []


def environment(pid: int) -> dict[str, str]:
    """The environment the process was started with ({} when it cannot be read: gone, or
    another user's)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {name: value for name, _, value in pairs}


class Ownership(Protocol):
    """Whether a live process is the one a pid file of this home is about: the pid in a
    stale file may since belong to any program, another home's Kafka included."""

    def __call__(self, pid: int) -> bool: ...


@dataclass(frozen=True)
class HasArgument:
    """Ours if one of its arguments is exactly ``value``: a path inside this home (a
    Kafka node's properties file, the registry's storage) that no other home's process
    is given. The whole argument, not a part of one: ``/a/kafka/server.properties`` is
    inside ``/b/a/kafka/server.properties``."""

    value: str

    def __call__(self, pid: int) -> bool:
        return self.value in command_line(pid)


@dataclass(frozen=True)
class PostmasterOf:
    """Ours if it is the postmaster of this data directory: PostgreSQL works in its data
    directory; where that cannot be read (another user's process, without the right to
    trace it) it was started with ``-D`` and this directory (as pg_ctl starts it)."""

    data: Path

    def __call__(self, pid: int) -> bool:
        wanted = self.data.resolve()
        try:
            return Path(os.readlink(f"/proc/{pid}/cwd")) == wanted
        except PermissionError:
            args = command_line(pid)
            return any(
                flag == "-D" and Path(value).resolve() == wanted
                for flag, value in itertools.pairwise(args)
            )
        except OSError:
            return False


# SINERGI_HOME's default (sinergi.config.Settings.home): the repository's .sinergi.
DEFAULT_HOME = Path(__file__).resolve().parent.parent / ".sinergi"


@dataclass(frozen=True)
class ProcessOfHome:
    """Ours if it runs ``command`` (these arguments in a row, e.g. ``-m sinergi process``)
    and was started with ``SINERGI_HOME`` set to this home, as the stack starts its own."""

    command: tuple[str, ...]
    home: Path

    def __call__(self, pid: int) -> bool:
        args, n = command_line(pid), len(self.command)
        if not any(tuple(args[i : i + n]) == self.command for i in range(len(args) - n + 1)):
            return False
        # Without SINERGI_HOME it runs in the default home (as one started before the
        # stack set it always does); a relative one is relative to where it runs.
        given = environment(pid).get("SINERGI_HOME")
        home = Path(given) if given else DEFAULT_HOME
        if not home.is_absolute():
            try:
                home = Path(os.readlink(f"/proc/{pid}/cwd")) / home
            except OSError:
                return False
        return home.resolve() == self.home.resolve()


class PidFile:
    """A pid file that knows whether the process it names is still ours."""

    def __init__(self, path: Path, owner: Ownership, *, remove_stale: bool = True) -> None:
        self.path = path
        # Whether a live process is ours: a reused pid, or another home's, is not.
        self.owner = owner
        # False for files a server manages itself (PostgreSQL's postmaster.pid).
        self.remove_stale = remove_stale

    def read(self) -> int | None:
        try:
            return int(self.path.read_text().split("\n", 1)[0].strip())
        except (OSError, ValueError):
            return None

    def check(self) -> tuple[int | None, int | None]:
        """(ours, another's): the pid if the process is alive and ours; otherwise the file
        is stale, and is removed, and the second is the live process it names that is
        another program's (None when the pid is gone)."""
        pid = self.read()
        alive = pid is not None and pid_alive(pid)
        if pid is not None and alive and self.owner(pid):
            return pid, None
        if self.remove_stale:
            self.path.unlink(missing_ok=True)
        return None, pid if alive else None

    def running_pid(self) -> int | None:
        """The pid if the process is alive and ours; a stale file is removed."""
        return self.check()[0]

    def stopped(self, another: int | None) -> str:
        """A status line for a service whose pid file names no process of ours."""
        if another is None:
            return "stopped"
        return f"stopped (stale pid file {self.path.name}: pid {another} is another program)"

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


def failure(check: Callable[[], bool]) -> str | None:
    """None when ``check`` passes; otherwise why not (its error, in one line)."""
    try:
        if check():
            return None
    except Exception as exc:  # the service's own answer: a refused login, no route, ...
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return "not ready"


def wait_for_external(check: Callable[[], bool], *, timeout: float, what: str) -> float:
    """Poll ``check`` of a service started elsewhere until it passes; return the seconds
    waited. No process or log of ours to look at: the error says why the last try failed."""
    start = time.monotonic()
    while (why := failure(check)) is not None:
        if time.monotonic() - start > timeout:
            raise StackError(f"{what} did not answer within {timeout:.0f}s: {why}")
        time.sleep(0.5)
    return time.monotonic() - start


def external_state(check: Callable[[], bool], where: str) -> str:
    """A status line for a service started elsewhere."""
    why = failure(check)
    return (
        f"external, ready on {where}"
        if why is None
        else f"external, not answering on {where}: {why}"
    )


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
