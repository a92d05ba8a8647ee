"""Every command the README shows runs as written, against the test stack.

How the README's ``sh`` blocks are read: a line ending in ``\\`` goes on on the next one;
``#`` begins a comment; every other line is one command (a pipe, ``;``, ``&&`` or a
redirection is refused: the README shows one command per line).

What is run, in the README's order, in Bahasa Indonesia (the default language), as a user
would: ``sinergi ...`` as ``python -m sinergi ...`` in a fresh folder (``deploy/`` linked
into it), against this test's hub, with its processor running; before each command the
test waits until the processor has taken in what the earlier ones published. Each must
exit with 0. Besides:

- ``make ...`` is not run (the demo and the whole suite start stacks of their own), nor a
  shell builtin (``export``).
- A command that starts or stops services (``sinergi stack up|down``, ``sinergi process``,
  ``sinergi processor start|stop``, ``sinergi demo``, ``sinergi web``, ``sinergi notify
  run``) is checked, not run: the same command with ``--help`` must succeed, which proves
  that the command and every option given exist (the parser refuses an unknown option
  before it shows the help); the test's stack keeps running.
- ``sinergi alerts follow`` runs until Ctrl-C: it runs until it has printed, then gets
  SIGINT, and must end cleanly.

Placeholders, and the values put in their place (produced earlier in this test):

- ``CASE_ID``: the case id of NIK 5302014101900001, the person the README records first.
- ``EVENT_ID`` in ``sinergi <agency> correct|retract EVENT_ID``: the first event id that
  the latest earlier command of that agency at that desk (``--at``, else the agency's
  default desk) printed.
- ``ALERT_ID``: the first 8 hex digits of the newest open alert.

Files the commands name: ``rows.csv``, once ``sinergi forms template interception
rows.csv`` has written its header, is filled in as an officer would (three people
intercepted at Tenau with the same recruiter, one of them 16: alerts for police);
``fixes.csv`` is a correction (``corrects``) of the first record the Tenau import published.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from producers import forms
from sinergi import runtime, views
from sinergi.config import REPO_ROOT
from tests.integration.hub import Hub

README = REPO_ROOT / "README.md"
NIK = "5302014101900001"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PUBLISHED = re.compile(rf"^\s+({UUID}) -> ", re.MULTILINE)
AGENCIES = {"post", "police", "bp3mi", "district", "hotline"}
DEFAULT_DESK = {"police": "polda-ntt", "bp3mi": "ntt", "hotline": "sisaga"}
OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<"}
# (command, subcommand or None): commands that start or stop services.
SERVICES = {
    ("stack", "up"), ("stack", "down"), ("process", None), ("processor", "start"),
    ("processor", "stop"), ("demo", None), ("web", None), ("notify", "run"),
}  # fmt: skip

TENAU_ROWS = [
    {"occurred_at": "2026-11-30T07:15", "nik": "5371014101100003", "sex": "P",
     "destination_country": "MY", "recruiter": "081234567890", "group_ref": "TNU-G1",
     "outcome": "shelter", "officer": "TNU-02"},
    {"occurred_at": "2026-11-30T07:15", "nik": "5302015507980002", "sex": "P",
     "destination_country": "MY", "recruiter": "081234567890", "group_ref": "TNU-G1",
     "outcome": "dipulangkan", "officer": "TNU-02"},
    {"occurred_at": "2026-11-30T07:20", "name": "Yohana Bria", "sex": "P",
     "birth_date": "1995-03-02", "origin_regency": "5302", "recruiter": "081234567890",
     "group_ref": "TNU-G1", "outcome": "dipulangkan", "officer": "TNU-02"},
]  # fmt: skip


@dataclass(frozen=True)
class Command:
    line: int
    argv: tuple[str, ...]
    background: bool = False

    def __str__(self) -> str:
        return f"README line {self.line}: {shlex.join(self.argv)}"


def readme_commands(text: str) -> Iterator[Command]:
    """The commands of the README's ``sh`` blocks, in order."""
    in_block, pending, start = False, "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("```"):
            in_block = line.strip() == "```sh" and not in_block
            continue
        if not in_block:
            continue
        if not pending:
            start = number
        code = _without_comment(line)
        if code.rstrip().endswith("\\"):
            pending += code.rstrip()[:-1] + " "
            continue
        whole, pending = pending + code, ""
        if whole.strip():
            yield _command(start, whole)


def _without_comment(line: str) -> str:
    """The line up to a ``#`` that begins a word outside quotes (as sh reads it)."""
    quoted: str | None = None
    for index, char in enumerate(line):
        if char in "\"'" and quoted in (None, char):
            quoted = None if quoted else char
        elif char == "#" and quoted is None and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def _command(line: int, text: str) -> Command:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    background = bool(tokens) and tokens[-1] == "&"
    if background:
        tokens = tokens[:-1]
    operators = OPERATORS & set(tokens)
    assert not operators, f"README line {line}: one command per line, not {operators}"
    return Command(line, tuple(tokens), background)


def test_the_readme_commands_are_read_one_per_line():
    text = """```sh
sinergi a --x "TOURIST_VISA;NOT" \\
    --y 1      # a comment
sinergi process &   # in the background
```"""
    assert list(readme_commands(text)) == [
        Command(2, ("sinergi", "a", "--x", "TOURIST_VISA;NOT", "--y", "1")),
        Command(4, ("sinergi", "process"), background=True),
    ]
    with pytest.raises(AssertionError, match="one command per line"):
        list(readme_commands("```sh\nsinergi a | sinergi b\n```"))


# --- running them -----------------------------------------------------------------------------


@dataclass
class Session:
    """One run of the README against ``hub``: what earlier commands produced."""

    hub: Hub
    folder: Path
    published: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in self.hub.env.items() if k not in ("SINERGI_LANG", "LC_ALL")}
        return env | {"LANG": "C.UTF-8", "COLUMNS": "200"}

    def case_id(self) -> str:
        return self.hub.case_of(NIK)

    def alert_prefix(self) -> str:
        [newest] = views.alerts(self.hub.settings, only_open=True, limit=1)
        return str(newest["alert_id"]).replace("-", "")[:8]

    def desk(self, argv: tuple[str, ...]) -> tuple[str, str] | None:
        if len(argv) < 2 or argv[1] not in AGENCIES:
            return None
        for flag in ("--at", "--post"):
            if flag in argv:
                return argv[1], argv[argv.index(flag) + 1]
        return argv[1], DEFAULT_DESK.get(argv[1], "")

    def substitute(self, argv: tuple[str, ...]) -> list[str]:
        out = []
        for token in argv:
            if token == "CASE_ID":
                token = self.case_id()
            elif token == "ALERT_ID":
                token = self.alert_prefix()
            elif token == "EVENT_ID":
                desk = self.desk(argv)
                assert desk in self.published, f"no earlier record of {desk} for EVENT_ID"
                token = self.published[desk][0]
            out.append(token)
        return out

    def prepare_files(self, argv: tuple[str, ...]) -> None:
        if "import" not in argv:
            return
        if "rows.csv" in argv:
            template = self.folder / "rows.csv"
            with template.open(newline="") as handle:
                header = next(csv.reader(handle))
            assert header == list(forms.FORMS["interception"].columns)
            with template.open("a", newline="") as handle:
                csv.DictWriter(handle, fieldnames=header).writerows(TENAU_ROWS)
        if "fixes.csv" in argv:
            first = self.published[("post", "tenau")][0]
            fix = TENAU_ROWS[0] | {"corrects": first, "outcome": "diserahkan_ke_polisi"}
            with (self.folder / "fixes.csv").open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(fix))
                writer.writeheader()
                writer.writerow(fix)

    def wait_for_the_processor(self) -> None:
        self.hub.wait_for(
            lambda: runtime.backlog(self.hub.settings) == 0,
            timeout=180,
            what="the processor to take in what the README's commands published",
        )

    def run(self, command: Command) -> None:
        argv = command.argv
        if argv[0] == "make" or argv[0] == "export":
            return
        if argv[0] == "sinergi":
            self.wait_for_the_processor()
            self.prepare_files(argv)
            if is_service(argv):
                self.check(command, [*argv, "--help"])
                return
            args = self.substitute(argv)
            if args[1:3] == ["alerts", "follow"]:
                self.follow(command, args[1:])
                return
            done = self.check(command, args)
            desk = self.desk(argv)
            ids = PUBLISHED.findall(done.stdout)
            if desk is not None and ids:
                self.published[desk] = ids
            return
        found = shutil.which(argv[0])
        assert found is not None, f"{command}: {argv[0]} is not installed"
        self.check(command, [found, *argv[1:]])

    def check(self, command: Command, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` (``sinergi`` as this Python's module); it must succeed."""
        if argv[0] == "sinergi":
            argv = [sys.executable, "-m", "sinergi", *argv[1:]]
        done = subprocess.run(
            argv,
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        self.ran.append(str(command))
        assert done.returncode == 0, (
            f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
        assert "Traceback" not in done.stderr, f"{command}:\n{done.stderr}"
        return done

    def follow(self, command: Command, args: list[str]) -> None:
        """Until it has printed (or a minute passed), then Ctrl-C."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "sinergi", *args],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        printed = threading.Event()
        lines: list[str] = []

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                printed.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        printed.wait(timeout=60)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()  # never left running to hold the unit's group for later tests
            proc.wait()
            raise
        reader.join(timeout=10)
        errors = proc.stderr.read() if proc.stderr else ""
        self.ran.append(str(command))
        assert proc.returncode == 0, f"{command} exited {proc.returncode}:\n{errors}"
        assert lines, f"{command} printed no alert"
        assert "Traceback" not in errors


def is_service(argv: tuple[str, ...]) -> bool:
    command = argv[1] if len(argv) > 1 else ""
    sub = argv[2] if len(argv) > 2 and not argv[2].startswith("-") else None
    return (command, sub) in SERVICES or (command, None) in SERVICES


def test_every_command_of_the_readme_runs_as_written(hub, tmp_path):
    os.symlink(REPO_ROOT / "deploy", tmp_path / "deploy")
    hub.start_worker()
    session = Session(hub, tmp_path)
    commands = list(readme_commands(README.read_text()))
    assert len(commands) >= 30
    for command in commands:
        session.run(command)

    # What they did, seen in the ledger: the README's people, a correction, a retraction.
    session.wait_for_the_processor()
    summary = views.ledger_summary(hub.settings)
    assert summary.interceptions == 4 and summary.alerts_acknowledged >= 1
    assert summary.alerts_withdrawn >= 1  # the retracted death ended its alert
    [kind] = {r[0] for r in hub.query("SELECT status FROM v_cases WHERE case_id = %s",
                                      session.case_id())}  # fmt: skip
    assert kind == "INTERCEPTED"  # the death was retracted
    assert any("alerts follow" in ran for ran in session.ran)
