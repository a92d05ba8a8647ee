"""CSV files uploaded in the browser: checked first (a dry run), then published on the
officer's word, each step with its progress, and two files to take away: the receipt
(row, event id, case id, what became of it) and the refused rows (the row as it was, with
the reason per field), to be put right and uploaded again.

Unlike ``sinergi <agency> import``, which refuses a file whole, the browser publishes
the valid rows and hands back the others: a row's event id is derived from its content,
so the corrected rows uploaded later, or the whole file again, are stored once.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from producers import forms
from producers.fields import FieldError, InvalidInputError
from producers.publisher import RECORDED_BEFORE
from schemas.model import Agency, Event
from sinergi.web.desk import Receipt, Recorder, Row, with_officer

CHUNK = 500  # rows published per desk delivery: the progress bar moves per chunk
KEEP = timedelta(hours=2)
# The columns the refused-rows file adds; an upload ignores them, so that file, put
# right, can be uploaded as it is.
REFUSED_COLUMNS = ("refused_row", "refused_reason")
# A cell a spreadsheet would take for a formula is written into the refused rows' file
# with an apostrophe first, which spreadsheets show as text and never compute (the file
# is made to be opened and put right, and what it holds came from someone's upload); the
# apostrophe comes off again when that file is uploaded.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def restored(cell: str | None) -> str | None:
    if cell is not None and cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell


@dataclass
class Refused:
    row: int
    cells: dict[str, str | None]
    problems: list[FieldError]


@dataclass
class Accepted:
    row: int
    cells: Row
    event: Event
    outcome: str = ""


@dataclass
class UploadJob:
    job_id: str
    username: str
    unit: str
    agency: Agency
    form_name: str
    filename: str
    created_at: datetime
    phase: str = "validating"  # validating, validated, publishing, done, failed
    total: int = 0
    progress: int = 0
    accepted: list[Accepted] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    file_problems: list[FieldError] = field(default_factory=list)
    published: int = 0
    waiting: int = 0
    again: int = 0
    error: str | None = None

    def percent(self) -> int:
        if self.phase in ("validated", "done"):
            return 100
        return int(100 * self.progress / self.total) if self.total else 0

    def status(self) -> dict[str, object]:
        """What the page's progress bar polls for (counts only, no row content)."""
        return {
            "phase": self.phase,
            "total": self.total,
            "progress": self.progress,
            "percent": self.percent(),
            "valid": len(self.accepted),
            "refused": len(self.refused),
            "published": self.published,
            "waiting": self.waiting,
            "again": self.again,
        }


def read_upload(data: bytes, folder: Path) -> list[dict[str, str | None]]:
    """The rows of an uploaded file, read as ``import`` reads a file (every problem of the
    file an InvalidInputError). The bytes pass through a private temporary file (mode
    0600), removed at once."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(dir=folder, suffix=".csv")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return forms.read_csv(Path(name))
    finally:
        Path(name).unlink(missing_ok=True)


class Uploads:
    """The upload jobs of this web process (in memory, kept two hours)."""

    def __init__(self, recorder: Recorder, folder: Path) -> None:
        self.recorder = recorder
        self.folder = folder
        self._jobs: dict[str, UploadJob] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str, username: str) -> UploadJob | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.username == username else None

    def start(
        self,
        *,
        username: str,
        officer_code: str,
        unit: str,
        agency: Agency,
        form_name: str,
        filename: str,
        data: bytes,
    ) -> UploadJob:
        """A new job, checking the file in the background (the dry run)."""
        job = UploadJob(
            job_id=secrets.token_urlsafe(12),
            username=username,
            unit=unit,
            agency=agency,
            form_name=form_name,
            filename=filename[:120],
            created_at=datetime.now(UTC),
        )
        with self._lock:
            self._expire()
            self._jobs[job.job_id] = job
        self._run(lambda: self._validate(job, data, officer_code))
        return job

    def publish(self, job: UploadJob) -> bool:
        """Publish the valid rows of a checked job (once)."""
        with self._lock:
            if job.phase != "validated" or not job.accepted:
                return False
            job.phase, job.progress, job.total = "publishing", 0, len(job.accepted)
        self._run(lambda: self._publish(job))
        return True

    def _run(self, work: Callable[[], None]) -> None:
        threading.Thread(target=work, daemon=True, name="sinergi-upload").start()

    def _expire(self) -> None:
        old = datetime.now(UTC) - KEEP
        for job_id in [j.job_id for j in self._jobs.values() if j.created_at < old]:
            del self._jobs[job_id]

    def _validate(self, job: UploadJob, data: bytes, officer_code: str) -> None:
        try:
            rows = read_upload(data, self.folder)
        except InvalidInputError as exc:
            job.file_problems, job.phase = exc.errors, "failed"
            return
        job.total = len(rows)
        form = forms.FORMS[job.form_name]
        now = datetime.now(UTC)
        try:
            desk = self.recorder.desk(job.agency, job.unit)
            for number, given in enumerate(rows, start=2):
                job.progress = number - 1
                ours = REFUSED_COLUMNS[0] in given  # a refused rows' file, put right
                cells = {
                    k: restored(v) if ours else v
                    for k, v in given.items()
                    if k not in REFUSED_COLUMNS
                }
                if not any((v or "").strip() for v in cells.values()):
                    continue
                row = with_officer(form, cells, officer_code, force=False)
                try:
                    event = forms.record(desk, form, row, row_number=number, now=now)
                except InvalidInputError as exc:
                    job.refused.append(Refused(number, cells, exc.errors))
                    continue
                job.accepted.append(Accepted(number, row, event))
            self._refuse_recorded_before(job)
        except Exception as exc:  # a page must say what happened, not hang on "checking"
            job.error, job.phase = type(exc).__name__, "failed"
            return
        job.progress, job.phase = job.total, "validated"

    def _refuse_recorded_before(self, job: UploadJob) -> None:
        """Rows whose event id the desk holds, or the file holds twice, with other content
        are refused with the reason (publishing them would be refused: a record is
        corrected, never edited), before anything is published."""
        # A correction row is sent as a correction of the record it names (which the desk
        # holds, with the first content): only records are compared.
        records = [a for a in job.accepted if not _corrects(a)]
        found = set(self.recorder.recorded_before(job.unit, [a.event for a in records]))
        if not found:
            return
        for item in records:
            if item.event.event_id in found:
                why = FieldError("event_id", f"{item.event.event_id}: {RECORDED_BEFORE}", item.row)
                job.refused.append(Refused(item.row, dict(item.cells), [why]))
        job.accepted = [a for a in job.accepted if _corrects(a) or a.event.event_id not in found]
        job.refused.sort(key=lambda r: r.row)

    def _publish(self, job: UploadJob) -> None:
        try:
            for start in range(0, len(job.accepted), CHUNK):
                chunk = job.accepted[start : start + CHUNK]
                done = self.recorder.publish(
                    job.unit, [a.event for a in chunk], [a.cells for a in chunk]
                )
                self._count(job, chunk, done)
                job.progress = start + len(chunk)
        except InvalidInputError as exc:  # recorded meanwhile with other content
            job.file_problems, job.phase = exc.errors, "failed"
            return
        except Exception as exc:
            job.error, job.phase = type(exc).__name__, "failed"
            return
        job.phase = "done"

    @staticmethod
    def _count(job: UploadJob, chunk: list[Accepted], done: Receipt) -> None:
        for item in chunk:
            item.outcome = done.outcomes.get(item.event.event_id, "waiting")
        job.published += done.published
        job.again += done.again
        job.waiting = done.pending


def _corrects(item: Accepted) -> bool:
    """Whether the row is a correction (its ``corrects`` names the record it corrects)."""
    return bool((item.cells.get("corrects") or "").strip())


def receipt_csv(job: UploadJob) -> str:
    """row, event_id, outcome: one line per valid row (each person's case is the hub's to
    give, when it takes the records in: the browser's case pages show it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "event_id", "outcome"])
    for item in job.accepted:
        outcome = item.outcome or ("checked" if job.phase == "validated" else "")
        writer.writerow([item.row, item.event.event_id, outcome])
    return out.getvalue()


def refused_csv(job: UploadJob, translate: Callable[[str], str]) -> str:
    """The refused rows as uploaded, with the row number and the reason (every problem of
    the row, by field) first: put them right and upload this file again."""
    columns: list[str] = []
    for item in job.refused:
        columns += [c for c in item.cells if c not in columns]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*REFUSED_COLUMNS, *columns])
    for item in job.refused:
        reason = "; ".join(f"{p.field}: {translate(p.message)}" for p in item.problems)
        cells = (inert(item.cells.get(c) or "") for c in columns)
        writer.writerow([item.row, inert(reason), *cells])
    return out.getvalue()
