"""The report as one HTML page (self-contained: the charts inline, nothing fetched) and
as CSV (one line per published figure, for a spreadsheet or a newsroom)."""

from __future__ import annotations

import base64
import csv
import io
import math
from collections.abc import Sequence
from html import escape

from sinergi.display import local_time
from sinergi.report import labels
from sinergi.report.charts import charts
from sinergi.report.monthly import MonthlyReport, Table, change, shown

STYLE = """
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{color:#1f3b57;margin-bottom:.2rem}h2{color:#1f3b57;border-bottom:1px solid #b8c4cf}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem;font-size:.9rem}
th,td{padding:.2rem .4rem;border-bottom:1px solid #dde4ea;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#eef3f7}
tr.total td{font-weight:bold;border-top:2px solid #1f3b57}
.box{background:#eef3f7;border:1px solid #b8c4cf;padding:.6rem;font-size:.9rem}
.small{font-size:.8rem;color:#444}img{max-width:100%}
"""


def html(report: MonthlyReport) -> str:
    lang = report.lang
    months = [labels.month_name(m.year, m.month, lang) for m in report.periods]
    drawn = {c.key: c for c in charts(report)}
    parts = [
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{escape(labels.text('title', lang))}: {escape(months[0])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(labels.text('title', lang))}</h1>",
        f"<p>{escape(labels.text('subtitle', lang))}</p>",
        f"<p><b>{escape(labels.text('period', lang))}:</b> {escape(months[0])}</p>",
        f'<p class="small">{escape(labels.text("source", lang, when=local_time(report.read_at)))}'
        f" {escape(labels.text('days_note', lang))}</p>",
        f'<p class="box"><b>{escape(labels.text("privacy_title", lang))}.</b> '
        f"{escape(labels.text('privacy', lang, k=report.k, k1=report.k - 1))}</p>",
        f"<h2>{escape(labels.text('summary', lang))}</h2>",
        _rows_table(
            report,
            labels.text("figure", lang),
            [(h.label, h.values, h.kind, False) for h in report.headlines],
        ),
    ]
    for section in report.sections:
        parts.append(f"<h2>{escape(section.title)}</h2>")
        if section.note:
            parts.append(f'<p class="small">{escape(section.note)}</p>')
        for table in section.tables:
            parts.append(f"<h3>{escape(table.title)}</h3>")
            parts.append(_table(report, table))
            if table.key in drawn:
                chart = drawn[table.key]
                data = base64.b64encode(chart.png).decode()
                parts.append(
                    f'<figure><img alt="{escape(chart.title)}" src="data:image/png;base64,{data}">'
                    f"<figcaption class=small>{escape(chart.title)}</figcaption></figure>"
                )
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(report: MonthlyReport, table: Table) -> str:
    rows = [
        (r.label, [float(v) if v is not None else None for v in r.values], "count", r.total)
        for r in table.rows
    ]
    return _rows_table(report, labels.text("category", report.lang), rows)


def _rows_table(
    report: MonthlyReport,
    first: str,
    rows: Sequence[tuple[str, Sequence[float | None], str, bool]],
) -> str:
    lang = report.lang
    months = [labels.month_name(m.year, m.month, lang) for m in report.periods]
    head = [
        first,
        months[0],
        months[1],
        labels.text("change", lang),
        months[2],
        labels.text("change", lang),
    ]
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for label, values, kind, total in rows:
        now, before, year = values
        moved = (
            (change(now, before, lang), change(now, year, lang)) if kind == "count" else ("", "")
        )
        cells = [
            label,
            shown(now, kind, lang),
            shown(before, kind, lang),
            moved[0],
            shown(year, kind, lang),
            moved[1],
        ]
        css = ' class="total"' if total else ""
        out.append(f"<tr{css}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


CSV_COLUMNS = ("section", "table", "code", "category", "month", "value", "status")


def csv_text(report: MonthlyReport) -> str:
    """One line per figure and month: its value, or empty and ``suppressed``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for h in report.headlines:
        for month, value in zip(report.periods, h.values, strict=True):
            known = None if value is None or math.isnan(value) else value
            writer.writerow(
                [
                    "summary",
                    h.key,
                    h.kind,
                    h.label,
                    str(month),
                    "" if known is None else _plain(known, h.kind),
                    _status(value, h.kind),
                ]
            )
    for section in report.sections:
        for table in section.tables:
            for row in table.rows:
                for month, v in zip(report.periods, row.values, strict=True):
                    writer.writerow(
                        [
                            section.key,
                            table.key,
                            row.code,
                            row.label,
                            str(month),
                            "" if v is None else str(v),
                            _status(v, "count"),
                        ]
                    )
    return out.getvalue()


def _plain(value: float, kind: str) -> str:
    return f"{value:.4f}" if kind == "share" else f"{value:.0f}"


def _status(value: float | None, kind: str) -> str:
    """published; suppressed (a count withheld, or a figure made of withheld counts);
    not_available (nothing to show: no repatriation of known status, no acknowledgement)."""
    if value is not None:
        return "not_available" if math.isnan(value) else "published"
    return "not_available" if kind == "duration" else "suppressed"
