"""The README's *Configuration* table names every variable the settings read.

Two had been read by ``sinergi/config.py`` for several stops without the table saying
so (``SINERGI_HOST``, ``SINERGI_REGISTRY_JAVA_HOME``): an engineer deploying the hub
reads the table, not the code.
"""

from __future__ import annotations

import re

from sinergi.config import REPO_ROOT


def configuration_section() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index("\n## Configuration\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def variables_read() -> set[str]:
    """Every ``SINERGI_*`` name written in config.py (what ``from_env`` reads)."""
    source = (REPO_ROOT / "sinergi" / "config.py").read_text()
    return set(re.findall(r'"(SINERGI_[A-Z0-9_]+)"', source))


def test_every_variable_the_settings_read_is_in_the_readme_table() -> None:
    read = variables_read()
    assert "SINERGI_HOME" in read and len(read) > 30  # the scan itself finds them
    table = set(re.findall(r"`(SINERGI_[A-Z0-9_]+)`", configuration_section()))
    assert sorted(read - table) == []


def test_the_settings_read_each_variable_the_table_names() -> None:
    """The other way: a variable the table names is read somewhere in config.py (by
    from_env, or the language chosen by ``language``)."""
    table = set(re.findall(r"`(SINERGI_[A-Z0-9_]+)`", configuration_section()))
    assert sorted(table - variables_read()) == []
