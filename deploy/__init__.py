"""Starting, stopping and checking the real services of the local stack."""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # see schemas/__init__.py
