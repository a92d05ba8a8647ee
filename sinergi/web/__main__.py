"""``python -m sinergi.web``: serve the browser application (what ``sinergi web`` runs)."""

from __future__ import annotations

import logging

from sinergi.config import from_env
from sinergi.web.server import serve

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    serve(from_env())
