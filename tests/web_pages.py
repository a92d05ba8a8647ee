"""What the browser tests read off the application's pages, for unit and integration
tests alike (kept apart from ``tests/unit/web_fakes``, which cheapens password hashing
for the unit tests when imported)."""

from __future__ import annotations

import re

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)
