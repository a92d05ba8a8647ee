"""The report's charts as pictures (PNG), drawn with matplotlib from published figures
only: a withheld count is never drawn, its bar is left out and marked x."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl

mpl.use("Agg")  # no display: pictures only

from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sinergi.report import labels
from sinergi.report.monthly import MonthlyReport, Table

DPI = 200
COLOURS = ("#1f5f8b", "#8fb9d6", "#c9c9c9")  # this month, previous month, a year before
WIDTH_IN = 6.6


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    png: bytes


def charts(report: MonthlyReport) -> list[Chart]:
    """The charts of a report, in the order the PDF and the HTML show them."""
    lang = report.lang
    periods = [labels.month_name(m.year, m.month, lang) for m in report.periods]
    out = [
        Chart(
            "by_post",
            labels.text("chart.by_post", lang),
            _grouped(report.table("by_post"), periods, lang),
        ),
        Chart(
            "by_origin",
            labels.text("chart.by_origin", lang),
            _horizontal(report.table("by_origin"), lang),
        ),
        Chart(
            "by_destination",
            labels.text("chart.by_destination", lang),
            _horizontal(report.table("by_destination"), lang),
        ),
        Chart(
            "by_kind",
            labels.text("chart.by_kind", lang),
            _grouped(report.table("by_kind"), periods, lang),
        ),
        Chart("alerts", labels.text("chart.alerts", lang), _alerts(report, periods)),
    ]
    return out


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _grouped(table: Table, periods: Sequence[str], lang: str) -> bytes:
    """Bars per category for the three months; a withheld one is marked x."""
    rows = [r for r in table.rows if not r.total]
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.8))
    width = 0.8 / len(periods)
    for i, period in enumerate(periods):
        xs = [j + (i - (len(periods) - 1) / 2) * width for j in range(len(rows))]
        heights = [r.values[i] or 0 for r in rows]
        ax.bar(xs, heights, width, label=period, color=COLOURS[i % len(COLOURS)])
        for x, r in zip(xs, rows, strict=True):
            if r.values[i] is None:
                ax.text(
                    x, 0, labels.text("suppressed_mark", lang), ha="center", va="bottom", fontsize=7
                )
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([_short(r.label) for r in rows], fontsize=7, rotation=15, ha="right")
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    _note(ax, lang)
    return _png(fig)


def _horizontal(table: Table, lang: str) -> bytes:
    """This month's bars per category, in the table's (fixed) order."""
    rows = [r for r in table.rows if not r.total]
    fig, ax = plt.subplots(figsize=(WIDTH_IN, max(1.6, 0.2 * len(rows) + 0.6)))
    ys = list(range(len(rows)))[::-1]
    ax.barh(ys, [r.values[0] or 0 for r in rows], color=COLOURS[0])
    for y, r in zip(ys, rows, strict=True):
        if r.values[0] is None:
            ax.text(0, y, " " + labels.text("suppressed_mark", lang), va="center", fontsize=7)
    ax.set_yticks(ys)
    ax.set_yticklabels([_short(r.label) for r in rows], fontsize=7)
    ax.tick_params(axis="x", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    _note(ax, lang)
    return _png(fig)


def _alerts(report: MonthlyReport, periods: Sequence[str]) -> bytes:
    """Alerts raised and acknowledged in each of the three months."""
    lang = report.lang
    raised = report.headline("alerts_raised")
    acked = report.headline("alerts_acknowledged")
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.4))
    series = ((raised, COLOURS[0]), (acked, COLOURS[1]))
    for i, (headline, colour) in enumerate(series):
        xs = [j + (i - 0.5) * 0.38 for j in range(len(periods))]
        ax.bar(xs, [v or 0 for v in headline.values], 0.38, label=headline.label, color=colour)
        for x, v in zip(xs, headline.values, strict=True):
            if v is None:
                ax.text(
                    x, 0, labels.text("suppressed_mark", lang), ha="center", va="bottom", fontsize=7
                )
    ax.set_xticks(range(len(periods)))
    ax.set_xticklabels(periods, fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    _note(ax, lang)
    return _png(fig)


def _note(ax: Axes, lang: str) -> None:
    ax.annotate(
        labels.text("chart.suppressed", lang),
        xy=(1, 1.02),
        xycoords="axes fraction",
        ha="right",
        va="bottom",
        fontsize=6,
        color="#666666",
    )


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
