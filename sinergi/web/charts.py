"""Charts drawn on the server as SVG: readable in a screenshot, no script, no CDN.

Two shapes cover the dashboard: horizontal bars (a count per category) and lines over
months (a few series). Labels are escaped; numbers are written on the bars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#1f6f8b", "#e07a1f", "#3a9d5d", "#b8405e", "#6a5acd", "#8c6d31", "#5f6b73")
FONT = "font-family='system-ui,sans-serif' font-size='12'"


def bars(items: Sequence[tuple[str, float]], *, width: int = 520, unit: str = "") -> Markup:
    """One horizontal bar per (label, value), largest scale to ``width``."""
    if not items:
        return Markup("")
    label_w, row_h, pad = 240, 22, 6
    top = max(value for _, value in items) or 1
    bar_w = width - label_w - 60
    height = len(items) * row_h + pad
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' role='img' width='{width}'"
        f" height='{height}' viewBox='0 0 {width} {height}' {FONT}>"
    ]
    for i, (label, value) in enumerate(items):
        y = i * row_h + pad
        w = max(1, int(bar_w * value / top))
        shown = f"{value:g}{unit}"
        parts.append(
            f"<text x='{label_w - 6}' y='{y + 14}' text-anchor='end'>{escape(label[:34])}</text>"
            f"<rect x='{label_w}' y='{y + 2}' width='{w}' height='{row_h - 6}'"
            f" fill='{PALETTE[0]}'><title>{escape(label)}: {shown}</title></rect>"
            f"<text x='{label_w + w + 4}' y='{y + 14}'>{shown}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label is escaped above


def lines(
    months: Sequence[str], series: Mapping[str, Sequence[float]], *, width: int = 620
) -> Markup:
    """One line per series over ``months`` (x axis), with a legend and the axis maximum."""
    if not months or not series:
        return Markup("")
    left, right, top_pad, height = 44, 40, 12, 230
    legend_h = 18 * ((len(series) + 2) // 3)
    plot_h = height - top_pad - 36
    top = max((max(values, default=0) for values in series.values()), default=0) or 1
    step = (width - left - right) / max(1, len(months) - 1)
    total_h = height + legend_h
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' role='img' width='{width}'"
        f" height='{total_h}' viewBox='0 0 {width} {total_h}' {FONT}>",
        f"<line x1='{left}' y1='{top_pad + plot_h}' x2='{width - right}'"
        f" y2='{top_pad + plot_h}' stroke='#999'/>",
        f"<line x1='{left}' y1='{top_pad}' x2='{left}' y2='{top_pad + plot_h}' stroke='#999'/>",
        f"<text x='{left - 4}' y='{top_pad + 10}' text-anchor='end'>{top:g}</text>",
        f"<text x='{left - 4}' y='{top_pad + plot_h}' text-anchor='end'>0</text>",
    ]
    every = max(1, len(months) // 8)
    for i, month in enumerate(months):
        if i % every == 0 or i == len(months) - 1:
            x = left + i * step
            parts.append(
                f"<text x='{x:.0f}' y='{top_pad + plot_h + 16}' text-anchor='middle'>"
                f"{escape(month)}</text>"
            )
    for n, (name, values) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        points = " ".join(
            f"{left + i * step:.0f},{top_pad + plot_h - plot_h * v / top:.0f}"
            for i, v in enumerate(values)
        )
        parts.append(
            f"<polyline fill='none' stroke='{colour}' stroke-width='2.5' points='{points}'/>"
        )
        for point in points.split():  # a dot per month: one month alone is still seen
            cx, cy = point.split(",")
            parts.append(f"<circle cx='{cx}' cy='{cy}' r='3.5' fill='{colour}'/>")
        lx, ly = left + (n % 3) * 190, height + 4 + (n // 3) * 18
        parts.append(
            f"<rect x='{lx}' y='{ly}' width='12' height='12' fill='{colour}'/>"
            f"<text x='{lx + 16}' y='{ly + 11}'>{escape(name[:26])} ({sum(values):g})</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label is escaped above
