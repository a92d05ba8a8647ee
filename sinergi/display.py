"""How times and alerts look to the people reading them (WITA, Kupang's time)."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text

from producers.fields import WITA

SEVERITY_STYLE = {
    "CRITICAL": "bold white on red",
    "HIGH": "bold red",
    "MEDIUM": "yellow",
    "LOW": "cyan",
}


def local_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(WITA).strftime("%Y-%m-%d %H:%M")


def severity(label: str) -> Text:
    return Text(f"{label:<8}", style=SEVERITY_STYLE.get(label, ""))
