"""How times, alerts and long work look to the people reading them (WITA, Kupang's time)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from schemas.model import WITA

T = TypeVar("T")

SEVERITY_STYLE = {
    "CRITICAL": "bold white on red",
    "HIGH": "bold red",
    "MEDIUM": "yellow",
    "LOW": "cyan",
}


def local_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(WITA).strftime("%Y-%m-%d %H:%M")


def local_date(moment: datetime) -> str:
    """The day, in WITA: ``2026-01-20``."""
    return local_time(moment)[:10]


def now_wita() -> str:
    """Now, as a time people type: ``2026-01-20T08:30:05+08:00``."""
    return datetime.now(WITA).isoformat(timespec="seconds")


def severity(label: str) -> Text:
    return Text(f"{label:<8}", style=SEVERITY_STYLE.get(label, ""))


# Steps.track advances its bar once per this many items (an import counts 100,000 rows).
TRACK_EVERY = 100


class Steps:
    """The progress of a long command, on the console (stderr), as a ``rich`` bar per step.

    Shown only once the work has taken longer than ``after`` seconds (a quick command
    prints nothing more than before) and only on a terminal (a pipe or a log file gets no
    bar). Use it as a context manager; a step with a total counts up, one without spins.
    """

    def __init__(self, console: Console, *, after: float = 1.0) -> None:
        self.console = console
        self.after = after
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.shown = False

    def __enter__(self) -> Steps:
        if self.console.is_terminal:
            self._timer = threading.Timer(self.after, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _show(self) -> None:
        with self._lock:
            if not self._closed:
                self.progress.start()
                self.shown = True

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self.shown:
                self.progress.stop()

    def step(self, description: str, total: int | None = None) -> TaskID:
        return self.progress.add_task(description, total=total)

    def advance(self, task: TaskID, amount: int = 1) -> None:
        self.progress.advance(task, amount)

    def update(self, task: TaskID, *, completed: int, total: int | None = None) -> None:
        self.progress.update(task, completed=completed, total=total)

    def finish(self, task: TaskID) -> None:
        found = next((t for t in self.progress.tasks if t.id == task), None)
        total = found.total if found is not None and found.total is not None else 1
        self.progress.update(task, total=total, completed=total)

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """``items``, counted on a step as they are consumed (the bar moves every
        :data:`TRACK_EVERY` items: it is redrawn ten times a second at most anyway)."""
        task = self.step(description, total)
        done = 0
        for item in items:
            yield item
            done += 1
            if done == TRACK_EVERY:
                self.advance(task, done)
                done = 0
        if done:
            self.advance(task, done)
        self.finish(task)
