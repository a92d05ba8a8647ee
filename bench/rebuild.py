"""``sinergi ledger rebuild`` of the drained events, timed from outside.

The real command, as an operator runs it: it replays every input partition up to the
live processor's committed offsets into a fresh schema, compares it with the live
ledger, and must say ``identical``. It runs with the processor's own settings (the same
alert grace period, or the alerts would differ). Its wall time includes its own fixed
wait for the live processor's last commit (the batch wait plus 1.5 s).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass

from tests.integration.hub import Hub


@dataclass
class Rebuilt:
    seconds: float
    identical: bool
    replayed: int | None
    peak_rss_kb: int  # of the command's process (ru_maxrss)
    returncode: int
    output: str


def rebuild(hub: Hub, *, wait_s: float = 120.0) -> Rebuilt:
    log = hub.settings.home / "logs" / f"rebuild-{hub.settings.processor_group}.log"
    with log.open("w+b") as out:
        began = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sinergi", "ledger", "rebuild", "--wait", str(wait_s)],
            env=hub.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    replayed = re.search(r"replayed (\d+) messages", output)
    return Rebuilt(
        seconds=seconds,
        identical=proc.returncode == 0 and "identical" in output,
        replayed=int(replayed.group(1)) if replayed else None,
        peak_rss_kb=usage.ru_maxrss,
        returncode=proc.returncode,
        output=output,
    )
