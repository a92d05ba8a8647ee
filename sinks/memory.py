"""An in-memory ledger store: the same contract as PostgreSQL, for tests and dry runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from processors.ledger import Case
from processors.ports import DeadLetter, MetricKey, StoredEvent


class MemoryUnitOfWork:
    def __init__(self, store: MemoryLedgerStore) -> None:
        self.store = store
        self.events: dict[str, StoredEvent] = {}
        self.cases: dict[str, Case] = {}
        self.metrics: Counter[MetricKey] = Counter()

    def add_events(self, events: Sequence[StoredEvent]) -> set[str]:
        new: set[str] = set()
        for stored in events:
            event_id = stored.event.event_id
            if event_id not in self.store.events and event_id not in self.events:
                self.events[event_id] = stored
                new.add(event_id)
        return new

    def get_cases(self, case_ids: Iterable[str]) -> dict[str, Case]:
        return {c: self.store.cases[c] for c in case_ids if c in self.store.cases}

    def put_cases(self, cases: Iterable[Case]) -> None:
        for case in cases:
            self.cases[case.case_id] = case

    def add_metrics(self, increments: Mapping[MetricKey, int]) -> None:
        self.metrics.update(increments)


class MemoryLedgerStore:
    def __init__(self) -> None:
        self.events: dict[str, StoredEvent] = {}
        self.cases: dict[str, Case] = {}
        self.metrics: Counter[MetricKey] = Counter()

    @contextmanager
    def unit_of_work(self) -> Iterator[MemoryUnitOfWork]:
        uow = MemoryUnitOfWork(self)
        yield uow
        # Reached only when the batch raised nothing: commit.
        self.events.update(uow.events)
        self.cases.update(uow.cases)
        self.metrics.update(uow.metrics)


class MemoryDeadLetters:
    def __init__(self) -> None:
        self.pending: list[DeadLetter] = []
        self.sent: list[DeadLetter] = []

    def add(self, letter: DeadLetter) -> None:
        self.pending.append(letter)

    def flush(self) -> None:
        self.sent.extend(self.pending)
        self.pending.clear()
