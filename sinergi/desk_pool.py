"""A file's rows recorded on every core of the desk's machine.

``sinergi post import`` of 20,000 interceptions, profiled (py-spy): recording the rows
(validation, pseudonyms, the recruiter's contact sealed for police) and sealing their
people to the hub (two X25519 scalar multiplications per seal, two or three seals a row)
were two thirds of the command's time, on one core; the rest is encoding, the one
signature, the desk's outbox and Kafka. A row's work depends on nothing but the row.

So the rows of a file are recorded in chunks of :data:`CHUNK`: by spawned processes when
the file has at least :data:`PARALLEL_FROM` rows and the desk may use more than one
(``SINERGI_DESK_WORKERS``, by default the machine's cores), else here. Each process
builds the desk and its sealing through the same composition root as the command
(:func:`sinergi.bootstrap.desk`, :func:`sinergi.bootstrap.person_sealer`): it seals as
the desk's publisher would, to the same bytes (the desk's seed), and the publisher passes
an event already sealed through unchanged. The command's own process then encodes,
signs once, keeps and sends, as before. A file is still refused whole: every problem of
every row, numbered as in the spreadsheet, in one :class:`InvalidInputError`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime

from producers.fields import FieldError, InvalidInputError
from producers.formkit import Form, record_rows
from producers.forms import FORMS, Desk
from producers.sealing import PersonSealer
from schemas.model import Agency, Event
from sinergi import bootstrap
from sinergi.config import Settings

log = logging.getLogger(__name__)

Row = Mapping[str, str | None]

CHUNK = 1000  # rows a process records at a time (and the progress bar moves by)
PARALLEL_FROM = 2 * CHUNK  # fewer rows are recorded here: a process takes a second to start

# In a spawned process: its desk, form and sealing, built once (see _start).
_work: tuple[Desk, Form[Event], PersonSealer | None] | None = None


def workers(settings: Settings) -> int:
    """How many processes record a file's rows (``SINERGI_DESK_WORKERS``; 0: one per core)."""
    return settings.desk_workers or os.cpu_count() or 1


def record_file(
    settings: Settings,
    desk: Desk,
    form_name: str,
    rows: Sequence[Row],
    *,
    seal_as: str | None = None,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> list[Event]:
    """The events of ``rows`` in order; with ``seal_as`` (the member whose publisher will
    send them), their people already sealed as it seals them. Raises one
    InvalidInputError with every row's problems; ``progress(n)``: n more rows done."""
    now = now or datetime.now(UTC)
    form = FORMS[form_name]
    record_rows(desk, form, [], now=now)  # a form of another agency is refused once
    chunks = [(rows[n : n + CHUNK], n + 2) for n in range(0, len(rows), CHUNK)]
    count = min(workers(settings), len(chunks))
    if count > 1 and len(rows) >= PARALLEL_FROM:
        try:
            return _in_processes(settings, desk, form_name, chunks, count, seal_as, progress, now)
        except BrokenProcessPool as exc:  # a process died (memory?): record them here
            log.warning("recording the rows in %d processes failed (%s): recording them here",
                        count, type(exc).__name__)  # fmt: skip
    sealer = bootstrap.person_sealer(settings, seal_as) if seal_as else None
    results = []
    for chunk, first in chunks:
        results.append(_record(desk, form, sealer, chunk, first, now))
        if progress is not None:
            progress(len(chunk))
    return _merged(results)


def _in_processes(
    settings: Settings,
    desk: Desk,
    form_name: str,
    chunks: list[tuple[Sequence[Row], int]],
    count: int,
    seal_as: str | None,
    progress: Callable[[int], None] | None,
    now: datetime,
) -> list[Event]:
    # Spawned, not forked: the command holds threads (the progress bar's) a fork would copy.
    with ProcessPoolExecutor(
        max_workers=count,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(settings, desk.agency, desk.unit, form_name, seal_as),
    ) as pool:
        futures: list[Future[tuple[list[Event], list[FieldError]]]] = [
            pool.submit(_record_here, list(chunk), first, now) for chunk, first in chunks
        ]
        results = []
        for (chunk, _), future in zip(chunks, futures, strict=True):
            results.append(future.result())
            if progress is not None:
                progress(len(chunk))
    return _merged(results)


def _start(
    settings: Settings, agency: Agency, place: str, form_name: str, seal_as: str | None
) -> None:
    """In a spawned process: the desk, form and sealing of the command, built once."""
    global _work
    sealer = bootstrap.person_sealer(settings, seal_as) if seal_as else None
    _work = (bootstrap.desk(settings, agency, place), FORMS[form_name], sealer)


def _record_here(
    rows: Sequence[Row], first: int, now: datetime
) -> tuple[list[Event], list[FieldError]]:
    assert _work is not None
    return _record(*_work, rows, first, now)


def _record(
    desk: Desk,
    form: Form[Event],
    sealer: PersonSealer | None,
    rows: Sequence[Row],
    first: int,
    now: datetime,
) -> tuple[list[Event], list[FieldError]]:
    """One chunk's events (sealed by ``sealer``, if any), or its rows' problems."""
    try:
        events = record_rows(desk, form, rows, now=now, first=first)
    except InvalidInputError as exc:
        return [], exc.errors
    return ([sealer(e) for e in events] if sealer is not None else events), []


def _merged(results: Sequence[tuple[list[Event], list[FieldError]]]) -> list[Event]:
    errors = [error for _, found in results for error in found]
    if errors:
        raise InvalidInputError(errors)
    return [event for events, _ in results for event in events]
