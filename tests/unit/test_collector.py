"""A processor's process, once built, keeps what it built out of the collector's scans
and collects young objects less often (processors/collector.py)."""

from __future__ import annotations

import gc

from processors import collector


def test_settling_freezes_what_exists_and_collects_young_objects_less_often():
    before = gc.get_threshold()
    built = [{"state": n} for n in range(1000)]  # what the composition root made
    try:
        collector.settle()
        assert gc.get_threshold() == collector.THRESHOLDS
        assert collector.THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() >= len(built)
        # Cyclic garbage made afterwards is still collected.
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
