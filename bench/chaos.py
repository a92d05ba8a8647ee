"""``make chaos``: the fault scenarios of the test suite, larger and repeated, as a table.

Starts its own stack (in ``.sinergi-chaos``, ports moved by 2000, so a demo or a test
stack can run beside it), runs each scenario ``--attempts`` times in a fresh slice of
it (topics, consumer group, database), prints attempts, published, stored,
dead-lettered, lost (must be 0), duplicated (must be 0) and the recovery time (from
the service coming back to the backlog drained), writes ``bench/chaos.json``, stops
the stack, and exits 1 if anything was lost or counted twice.

    make chaos                       # or: python -m bench.chaos --attempts 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from sinergi import runtime
from sinergi.config import REPO_ROOT, from_env
from tests.integration import faults
from tests.integration.hub import Hub, drop_hub, make_hub

HOME = REPO_ROOT / ".sinergi-chaos"


def scenarios(scale: int) -> dict[str, Callable[[Hub], faults.Accounting]]:
    return {
        "postgres": lambda hub: faults.postgres_outage(
            hub, events=1500 * scale, per_second=60, outage_s=30
        ),
        "poison": lambda hub: faults.poison_between_valid(hub, events=500 * scale)[0],
        "registry": lambda hub: faults.registry_down_at_restart(
            hub, events=2000 * scale, outage_s=15
        ),
        "kafka": lambda hub: faults.kafka_killed(hub, events=1500 * scale, per_second=60),
        "worker": lambda hub: faults.worker_killed(hub, events=10_000 * scale, kills=5),
        "offline": lambda hub: faults.post_offline(hub, events=1000 * scale),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=2)
    parser.add_argument("--scale", type=int, default=1, help="multiply every volume")
    parser.add_argument("--only", nargs="*", help="scenario names to run")
    parser.add_argument("--keep-stack", action="store_true")
    args = parser.parse_args()

    base = {k: v for k, v in os.environ.items() if not k.startswith("SINERGI_")}
    base |= {"SINERGI_HOME": str(HOME), "SINERGI_PORT_OFFSET": "2000"}
    stack = runtime.stack(from_env(base))
    stack.up(report=lambda line: print(f"[stack] {line}"))
    runtime.ensure_keys(from_env(base))
    rows: list[faults.Accounting] = []
    try:
        for name, run in scenarios(args.scale).items():
            if args.only and name not in args.only:
                continue
            for attempt in range(1, args.attempts + 1):
                hub = make_hub(base)
                began = time.monotonic()
                try:
                    acc = run(hub)
                finally:
                    drop_hub(hub)
                print(
                    f"  {name} #{attempt}: published {acc.published}, lost {acc.lost},"
                    f" duplicated {acc.duplicated} ({time.monotonic() - began:.0f} s)"
                    + (f"; problems: {acc.problems}" if acc.problems else ""),
                    flush=True,
                )
                rows.append(acc)
    finally:
        if not args.keep_stack:
            stack.down(report=lambda line: print(f"[stack] {line}"))
    print(table(rows))
    Path(REPO_ROOT / "bench" / "chaos.json").write_text(
        json.dumps([asdict(r) for r in rows], indent=2) + "\n"
    )
    return 0 if all(r.ok for r in rows) else 1


def table(rows: list[faults.Accounting]) -> str:
    by: dict[str, list[faults.Accounting]] = {}
    for r in rows:
        by.setdefault(r.scenario, []).append(r)
    head = ("fault", "attempts", "published", "stored", "dead-lettered", "lost", "duplicated",
            "recovery s")  # fmt: skip
    lines = [head]
    for scenario, runs in by.items():
        recovery = max(r.recovery_s for r in runs)
        lines.append(
            (
                scenario,
                str(len(runs)),
                str(sum(r.published for r in runs)),
                str(sum(r.stored + r.already_recorded for r in runs)),
                str(sum(r.dead_lettered for r in runs)),
                str(sum(r.lost for r in runs)),
                str(sum(r.duplicated for r in runs)),
                f"{recovery:.1f}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
