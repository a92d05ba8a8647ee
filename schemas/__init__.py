"""The contracts every other part imports: Avro schemas, events, topics, reference data."""

import sys

# httpx (the registry's client) imports its own command line at import time (click, rich,
# pygments: about 5 MB in each of the processor's processes) unless that import fails;
# nothing here runs it. Set here, before any module of the hub imports httpx.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
