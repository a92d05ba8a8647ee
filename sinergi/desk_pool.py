"""A file's rows recorded on every core of the desk's machine.

``sinergi post import`` of 20,000 interceptions, profiled (py-spy): recording the rows
(validation, pseudonyms, the recruiter's contact sealed for police) and sealing their
people to the hub (two X25519 scalar multiplications per seal, two or three seals a row)
were two thirds of the command's time, on one core; the rest is encoding, the one
signature, the desk's outbox and Kafka. A row's work depends on nothing but the row.

So the rows of a file are recorded in chunks of :data:`CHUNK`: by spawned processes when
the file has at least :data:`PARALLEL_FROM` rows and the desk may use more than one
(``SINERGI_DESK_WORKERS``, by default the machine's cores), else here. Each process
builds the desk through the same composition root as the command
(:func:`sinergi.bootstrap.desk`). To be sent (:func:`sign_file`), a chunk is also sealed,
encoded and signed there (:func:`sinergi.bootstrap.desk_encoder`: the desk's publisher,
with the schema ids the command looked up, which never sends), to the same sealed bytes
as the command's own publisher (the desk's seed), one signature per chunk; the command's
process then keeps the messages in the desk's outbox and delivers them, as before. A
file is still refused whole: every problem of every row, numbered as in the spreadsheet,
in one :class:`InvalidInputError`, before anything is kept.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from processors import collector
from producers.amend import corrected_ids, marked
from producers.fields import FieldError, InvalidInputError
from producers.formkit import Form, record_rows
from producers.forms import FORMS, Desk
from producers.outbox import DeskMessage
from producers.publisher import Publisher
from schemas.model import Agency, Event, RecordCorrected
from schemas.registry import GivenSchemas
from schemas.topics import spec_for
from sinergi import bootstrap
from sinergi.config import Settings

log = logging.getLogger(__name__)

Row = Mapping[str, str | None]

CHUNK = 1000  # rows a process records at a time (and the progress bar moves by)
PARALLEL_FROM = 2 * CHUNK  # fewer rows are recorded here: a process takes a second to start

# What a chunk's events become: themselves (a dry run) or the desk's signed messages.
Finish = Callable[[list[Event]], list[Any]]


@dataclass(frozen=True)
class Signing:
    """What a helper process needs to sign a chunk as the desk: the member that signs,
    the schema ids the command looked up, and the ids the file's rows correct."""

    unit: str
    schemas: GivenSchemas
    corrects: frozenset[str]


@dataclass(frozen=True)
class Signed:
    """A file ready to keep at the desk: its records' ids and their messages, in order."""

    ids: list[str]
    messages: list[DeskMessage]


# In a spawned process: its desk, form and what a chunk becomes, built once (see _start).
_work: tuple[Desk, Form[Event], Finish] | None = None


def workers(settings: Settings) -> int:
    """How many processes record a file's rows (``SINERGI_DESK_WORKERS``; 0: one per core)."""
    return settings.desk_workers or os.cpu_count() or 1


def record_file(
    settings: Settings,
    desk: Desk,
    form_name: str,
    rows: Sequence[Row],
    *,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> list[Event]:
    """The events of ``rows`` in order, checked, nothing sealed or signed (a dry run).
    Raises one InvalidInputError with every row's problems; ``progress(n)``: n more rows
    done."""
    parallel = _parallel(settings, rows)
    return _recorded(settings, desk, form_name, rows, parallel, None, _as_they_are, progress, now)


def sign_file(
    settings: Settings,
    desk: Desk,
    form_name: str,
    rows: Sequence[Row],
    publisher: Publisher,
    *,
    signer: str,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> Signed:
    """The messages of ``rows`` in order (and the ids of the rows' records), as
    ``publisher`` (the desk's, of the member ``signer``) keeps them: every person sealed,
    a row with ``corrects`` as the RecordCorrected of that record, encoded, signed once
    per chunk. Nothing is kept or sent. Raises one InvalidInputError with every row's problems."""
    corrects = corrected_ids(rows)
    signing = None
    if _parallel(settings, rows) and publisher.outbox is not None:
        own = FORMS[form_name].event_type.event_type
        topic = settings.topic(spec_for(own).name)
        names = [own, RecordCorrected.event_type] if corrects else [own]
        schemas = bootstrap.desk_schemas(settings, publisher.outbox, signer)
        signing = Signing(signer, schemas.given((topic, name) for name in names), corrects)
    finish = _signed(publisher, corrects)
    parallel = signing is not None
    made = _recorded(settings, desk, form_name, rows, parallel, signing, finish, progress, now)
    return Signed([event_id for event_id, _ in made], [message for _, message in made])


def _as_they_are(events: list[Event]) -> list[Any]:
    return list(events)


def _signed(publisher: Publisher, corrects: frozenset[str]) -> Finish:
    """A chunk's events as ``publisher`` keeps them (amended, sealed, encoded, signed),
    each beside the id of the row's record (a correction's message has an id of its own)."""

    def finish(events: list[Event]) -> list[Any]:
        amended = [publisher.amendment(e) for e in marked(events, corrects)]
        messages = publisher.desk_messages(amended)
        return [(e.event_id, m) for e, m in zip(events, messages, strict=True)]

    return finish


def _parallel(settings: Settings, rows: Sequence[Row]) -> bool:
    return len(rows) >= PARALLEL_FROM and min(workers(settings), _chunks(len(rows))) > 1


def _chunks(count: int) -> int:
    return -(-count // CHUNK)


def _recorded(
    settings: Settings,
    desk: Desk,
    form_name: str,
    rows: Sequence[Row],
    parallel: bool,
    signing: Signing | None,
    finish: Finish,
    progress: Callable[[int], None] | None,
    now: datetime | None,
) -> list[Any]:
    """Each chunk's events made into what ``finish`` makes of them here, or, if
    ``parallel``, in spawned processes (``signing``: what makes them the same there), in
    order."""
    now = now or datetime.now(UTC)
    form = FORMS[form_name]
    record_rows(desk, form, [], now=now)  # a form of another agency is refused once
    chunks = [(rows[n : n + CHUNK], n + 2) for n in range(0, len(rows), CHUNK)]
    if parallel:
        count = min(workers(settings), len(chunks))
        try:
            return _in_processes(settings, desk, form_name, chunks, count, signing, progress, now)
        except BrokenProcessPool as exc:  # a process died (memory?): record them here
            log.warning("recording the rows in %d processes failed (%s): recording them here",
                        count, type(exc).__name__)  # fmt: skip
    results = []
    for chunk, first in chunks:
        results.append(_record(desk, form, finish, chunk, first, now))
        if progress is not None:
            progress(len(chunk))
    return _merged(results)


def _in_processes(
    settings: Settings,
    desk: Desk,
    form_name: str,
    chunks: list[tuple[Sequence[Row], int]],
    count: int,
    signing: Signing | None,
    progress: Callable[[int], None] | None,
    now: datetime,
) -> list[Any]:
    # Spawned, not forked: the command holds threads (the progress bar's) a fork would copy.
    with ProcessPoolExecutor(
        max_workers=count,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(settings, desk.agency, desk.unit, form_name, signing),
    ) as pool:
        futures: list[Future[tuple[list[Any], list[FieldError]]]] = [
            pool.submit(_record_here, list(chunk), first, now) for chunk, first in chunks
        ]
        results = []
        for (chunk, _), future in zip(chunks, futures, strict=True):
            results.append(future.result())
            if progress is not None:
                progress(len(chunk))
    return _merged(results)


def _start(
    settings: Settings, agency: Agency, place: str, form_name: str, signing: Signing | None
) -> None:
    """In a spawned process: the desk, form and what a chunk becomes, built once."""
    global _work
    finish: Finish = _as_they_are
    if signing is not None:
        encoder = bootstrap.desk_encoder(settings, signing.unit, signing.schemas)
        finish = _signed(encoder, signing.corrects)
    _work = (bootstrap.desk(settings, agency, place), FORMS[form_name], finish)
    collector.settle()


def _record_here(
    rows: Sequence[Row], first: int, now: datetime
) -> tuple[list[Any], list[FieldError]]:
    assert _work is not None
    return _record(*_work, rows, first, now)


def _record(
    desk: Desk,
    form: Form[Event],
    finish: Finish,
    rows: Sequence[Row],
    first: int,
    now: datetime,
) -> tuple[list[Any], list[FieldError]]:
    """One chunk made by ``finish``, or its rows' problems."""
    try:
        events = record_rows(desk, form, rows, now=now, first=first)
    except InvalidInputError as exc:
        return [], exc.errors
    return finish(events), []


def _merged(results: Sequence[tuple[list[Any], list[FieldError]]]) -> list[Any]:
    errors = [error for _, found in results for error in found]
    if errors:
        raise InvalidInputError(errors)
    return [item for made, _ in results for item in made]
