"""A post's desk importing a CSV file, through the real command line.

``sinergi post import interception FILE --at eltari``, as a clerk runs it: read the
file, validate every field, pseudonymise, seal the recruiter's contact for police, sign
(once per batch), keep every record in the desk's outbox, send, wait for the broker.
Timed from starting the command to its exit (Python's start-up included: what the clerk
waits). The baseline is the same command with ``--dry-run`` (read and validate,
pseudonymise and seal, nothing kept, signed or sent).
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench.drain import BenchError
from bench.plan import post_rows
from producers.forms import FORMS
from tests.integration.hub import Hub


@dataclass
class DeskImport:
    rows: int
    seconds: float
    dry_run_seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def dry_run_rate(self) -> float:
        return self.rows / self.dry_run_seconds if self.dry_run_seconds else 0.0


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(FORMS["interception"].columns)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in columns})
    return path


def measure(hub: Hub, folder: Path, *, rows: int) -> DeskImport:
    folder.mkdir(parents=True, exist_ok=True)
    path = write_csv(folder / "interceptions.csv", post_rows(rows, date.today(), post="eltari"))
    dry = _timed(hub, path, "--dry-run")
    real = _timed(hub, path)
    return DeskImport(rows, real, dry)


def _timed(hub: Hub, path: Path, *extra: str) -> float:
    command = [
        sys.executable,
        "-m",
        "sinergi",
        "post",
        "import",
        "interception",
        str(path),
        "--at",
        "eltari",
        *extra,
    ]
    began = time.perf_counter()
    done = subprocess.run(command, env=hub.env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0 or "kept at the desk" in done.stdout:
        raise BenchError(
            f"sinergi post import {' '.join(extra)} failed:"
            f" {done.stdout[-800:]} {done.stderr[-800:]}"
        )
    return seconds
