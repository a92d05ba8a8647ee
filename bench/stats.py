"""The bench's arithmetic, kept pure so it is unit-tested: when a count was reached, the
rate between two counts, the rate of each tenth of a drain, percentiles.

A *sample* is ``(seconds, count)``: how many messages were done at that moment, read
while something drains (``count`` never decreases). Times between samples are
interpolated linearly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Sample = tuple[float, int]


def crossing(samples: Sequence[Sample], count: int) -> float | None:
    """When ``count`` was reached, interpolated between the samples around it; None if
    it never was."""
    previous: Sample | None = None
    for at, done in samples:
        if done >= count:
            if previous is None or done == previous[1]:
                return at
            before_at, before = previous
            return before_at + (at - before_at) * (count - before) / (done - before)
        previous = (at, done)
    return None


def first_progress(samples: Sequence[Sample]) -> Sample | None:
    """The first sample that shows any work done: what came before it is start-up."""
    return next(((at, done) for at, done in samples if done > 0), None)


def rate_between(samples: Sequence[Sample], low: int, high: int) -> float | None:
    """Messages per second from count ``low`` to ``high``.

    Start-up is left out: when ``low`` lies before the first sample showing progress,
    the rate is measured from that sample (its count and time), since when its first
    messages began is unknown. None when it cannot be told (not reached, or the
    first sample is already past ``high``).
    """
    end = crossing(samples, high)
    first = first_progress(samples)
    if end is None or first is None:
        return None
    if low < first[1]:
        begin_at, begin = first
    else:
        found = crossing(samples, low)
        if found is None:
            return None
        begin_at, begin = found, low
    if high <= begin or end <= begin_at:
        return None
    return (high - begin) / (end - begin_at)


def tenth_bounds(total: int) -> list[int]:
    """The counts that end each tenth of ``total`` (0 first, ``total`` last)."""
    return [total * k // 10 for k in range(11)]


def tenth_rates(samples: Sequence[Sample], total: int) -> list[float | None]:
    """The drain rate of each tenth of ``total`` messages, first to tenth."""
    bounds = tenth_bounds(total)
    return [rate_between(samples, bounds[k], bounds[k + 1]) for k in range(10)]


def percentile(values: Sequence[float], q: float, *, missing: int = 0) -> float | None:
    """The ``q``-th percentile (nearest rank) of ``values``; ``missing`` more values are
    counted as infinitely large (what never arrived). None without any value."""
    ordered = sorted(values) + [math.inf] * missing
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
