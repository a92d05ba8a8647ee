"""The garbage collector of the processor's processes (and a desk's large import), set
for batches.

Measured with ``gc.callbacks`` in the worker during the drain of 100,000 events and the
alert phase of ``make bench-quick`` (issue 8): 98 collections of the oldest generation in
about two minutes, 12.5 s in all, each stopping every thread of the process for up to
238 ms, the sentinel's too (an alert's p99 under load is such a pause); in its helper 70,
6.1 s. A batch's thousands of decoded records, states and rows live for the whole batch,
so CPython's default (a collection of the young generation every 700 allocations) scans
them again and again and promotes them to the oldest generation, whose growth then sets
off full collections; reference counting frees almost all of them at the batch's end
anyway, whatever the collector does.

So a processor's process :func:`settles` once it is built: what exists by then (modules,
schemas, the composition root, caches) is moved out of every collection
(:func:`gc.freeze`), and the young generation is collected every :data:`THRESHOLDS`\\[0]
allocations instead of 700, so that a batch's objects die young. Cyclic garbage is
still collected, less often. A desk importing a file settles once the file is read
(the command held its 100,000 rows through 17 full collections, 2.2 s of a 25 s import),
and its helper processes once built.
"""

from __future__ import annotations

import gc

# Allocations between collections of the young generation, and young (then middle)
# collections between collections of the next one.
THRESHOLDS = (50_000, 20, 100)


def settle() -> None:
    """Freeze what this process has built so far out of the collector's scans and
    collect young objects every THRESHOLDS[0] allocations (call once it is built)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
