"""What each event adds to the daily metrics: a pure function of the event.

Metric names follow Prometheus conventions (``sinergi_<thing>_total`` for counts).
Labels carry codes (post, regency), never anything about a person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import singledispatch

from processors.ports import MetricKey
from schemas.model import Event, InterceptionRecorded

INTERCEPTIONS = "sinergi_interceptions_total"


@singledispatch
def increments(event: Event) -> list[tuple[str, dict[str, str]]]:
    """The (metric, labels) cells an event adds one to."""
    return []


@increments.register
def _(event: InterceptionRecorded) -> list[tuple[str, dict[str, str]]]:
    return [(INTERCEPTIONS, {"post": event.post_id})]


def tally(events: Iterable[Event]) -> Counter[MetricKey]:
    """Sum the increments of many events per day and cell."""
    total: Counter[MetricKey] = Counter()
    for event in events:
        day = event.occurred_at.date()
        for metric, labels in increments(event):
            total[MetricKey(day, metric, tuple(sorted(labels.items())))] += 1
    return total
