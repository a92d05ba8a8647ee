"""The bench's table: each figure beside the issue's goal, its same-run limit or baseline,
the ratio of the two, and whether the goal is met; and ``bench/results.json``.

Pure, apart from printing: rows are built by ``bench.run`` from what it measured, and
the formatting and the goal evaluation are unit-tested (tests/unit/test_bench.py).
A goal missed is a result, not a failure: the bench reports it and still exits 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

RATE_UNITS = ("events/s", "rows/s", "records/s")


@dataclass(frozen=True)
class Goal:
    """``op`` ``target`` on the measured value, or on the ratio value / limit."""

    op: Literal[">=", "<="]
    target: float
    text: str
    on: Literal["value", "ratio"] = "value"

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        """Whether the goal is met; None when the figure was not measured."""
        measured = value if self.on == "value" else ratio
        if measured is None or math.isnan(measured):
            return None
        return measured >= self.target if self.op == ">=" else measured <= self.target


@dataclass
class Row:
    """One figure of the table. ``limit`` is in the same unit as ``value``: a limit the
    figure cannot pass (fastavro's decode rate, Kafka's own tools), or a baseline of
    the same run (the first tenth, the idle latency, the naive agent)."""

    key: str
    figure: str
    value: float | None
    unit: str
    goal: Goal | None = None
    limit: float | None = None
    limit_label: str = ""
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.limit is None or self.limit == 0:
            return None
        if math.isinf(self.value) or math.isinf(self.limit):
            return math.inf if math.isinf(self.value) else None
        return self.value / self.limit

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.goal.met(self.value, self.ratio)


def quantity(value: float | None, unit: str) -> str:
    """A figure as the table prints it: thousands separated, precision by unit."""
    if value is None or math.isnan(value):
        return "not measured"
    if math.isinf(value):
        return "never (timed out)"
    if unit in RATE_UNITS:
        return f"{value:,.0f} {unit}"
    if unit == "s":
        return f"{value:,.1f} s"
    if unit == "ms":
        return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.3g} {unit}".strip()


def ratio_text(ratio: float | None) -> str:
    if ratio is None or math.isnan(ratio):
        return "—"
    if math.isinf(ratio):
        return "∞"
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    if ratio >= 1:
        return f"{ratio:.2f}×"
    return f"{ratio:.3f}×"


def met_text(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "—"}[met]


def cells(row: Row) -> tuple[str, str, str, str, str, str]:
    """(figure, measured, goal, limit or baseline, ratio, met?) as printed."""
    limit = "—"
    if row.limit is not None:
        limit = quantity(row.limit, row.unit)
        if row.limit_label:
            limit += f" ({row.limit_label})"
    goal = row.goal.text if row.goal else "—"
    return (
        row.figure,
        quantity(row.value, row.unit),
        goal,
        limit,
        ratio_text(row.ratio),
        met_text(row.met),
    )


HEADERS = ("figure", "measured", "goal (issue 8)", "same-run limit or baseline", "ratio", "met?")
MET_STYLE = {"yes": "green", "NO": "bold red", "—": "dim"}


def table(rows: Sequence[Row], title: str) -> Table:
    out = Table(*HEADERS, title=title, show_lines=True)
    for row in rows:
        *front, met = cells(row)
        out.add_row(*front, f"[{MET_STYLE[met]}]{met}[/]")
    return out


def print_table(rows: Sequence[Row], title: str, console: Console | None = None) -> None:
    console = console or Console(width=max(160, Console().width))
    console.print(table(rows, title))
    for row in rows:
        if row.note:
            console.print(f"  [dim]{row.figure}:[/] {row.note}")


def finite(value: Any) -> Any:
    """JSON has no infinity: an infinite or NaN number becomes None, recursively."""
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return None
    if isinstance(value, Mapping):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def row_document(row: Row) -> dict[str, Any]:
    goal = None
    if row.goal is not None:
        goal = {
            "op": row.goal.op,
            "target": row.goal.target,
            "on": row.goal.on,
            "text": row.goal.text,
        }
    return finite(
        {
            "key": row.key,
            "figure": row.figure,
            "value": row.value,
            "unit": row.unit,
            "timed_out": row.value is not None and math.isinf(row.value),
            "goal": goal,
            "limit": row.limit,
            "limit_label": row.limit_label,
            "ratio": row.ratio,
            "met": row.met,
            "note": row.note,
            "details": row.details,
        }
    )


def results_document(
    rows: Sequence[Row], meta: Mapping[str, Any], problems: Sequence[str]
) -> dict[str, Any]:
    """What ``bench/results.json`` holds: where and when, each figure, what broke."""
    return {
        **finite(dict(meta)),
        "rows": [row_document(row) for row in rows],
        "goals_met": sum(row.met is True for row in rows),
        "goals_missed": sum(row.met is False for row in rows),
        "problems": list(problems),
    }
