"""The report as a PDF that a forum can print: A4, tables that break across pages with
their header repeated, the charts as pictures, page numbers; reportlab lays it out and
embeds the fonts (DejaVu Sans, shipped with matplotlib), so it prints the same anywhere.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as PdfTable

from sinergi.display import local_time
from sinergi.report import labels
from sinergi.report.charts import Chart, charts
from sinergi.report.monthly import Headline, MonthlyReport, Table, change, shown

FONT = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
MARGIN = 16 * mm
TEXT_WIDTH = A4[0] - 2 * MARGIN
INK = colors.HexColor("#1f3b57")
RULE = colors.HexColor("#b8c4cf")
SHADE = colors.HexColor("#eef3f7")


def _fonts() -> None:
    """DejaVu Sans from matplotlib's own data: every letter and sign, embedded."""
    folder = Path(mpl.get_data_path()) / "fonts" / "ttf"
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf")):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(folder / file)))


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, alignment=TA_LEFT)
    return {
        "body": base,
        "small": ParagraphStyle(
            "small", parent=base, fontSize=7.5, leading=10, textColor=colors.HexColor("#444444")
        ),
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=BOLD,
            fontSize=17,
            leading=21,
            textColor=INK,
            spaceAfter=2,
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=10.5, leading=14, textColor=INK, spaceAfter=6
        ),
        "h1": ParagraphStyle(
            "h1",
            parent=base,
            fontName=BOLD,
            fontSize=12.5,
            leading=16,
            textColor=INK,
            spaceBefore=10,
            spaceAfter=4,
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=BOLD, fontSize=9.5, leading=13, spaceBefore=6, spaceAfter=3
        ),
        "box": ParagraphStyle(
            "box",
            parent=base,
            fontSize=8,
            leading=10.5,
            borderColor=RULE,
            borderWidth=0.6,
            borderPadding=5,
            backColor=SHADE,
            spaceBefore=6,
            spaceAfter=10,
        ),
    }


def render(report: MonthlyReport, path: Path) -> None:
    """Write the report as a PDF at ``path``."""
    path.write_bytes(render_bytes(report))


def render_bytes(report: MonthlyReport) -> bytes:
    _fonts()
    lang = report.lang
    buffer = io.BytesIO()
    title = f"{labels.text('title', lang)}: {_month(report, 0)}"
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 4 * mm,
        bottomMargin=MARGIN,
        title=title,
        author="Sinergi",
        subject=labels.text("subtitle", lang),
        creator="sinergi report monthly",
    )

    def decorate(canvas: Any, doc_: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(MARGIN, A4[1] - MARGIN + 2 * mm, f"Sinergi NTT · {title}")
        canvas.drawRightString(
            A4[0] - MARGIN, MARGIN - 6 * mm, f"{labels.text('page', lang)} {doc_.page}"
        )
        canvas.drawString(MARGIN, MARGIN - 6 * mm, f"k = {report.k}")
        canvas.restoreState()

    doc.build(story(report), onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def story(report: MonthlyReport) -> list[Flowable]:
    """Everything on the pages, in order: the first page's summary, then each section."""
    lang = report.lang
    s = _styles()
    drawn = {c.key: c for c in charts(report)}
    flow: list[Flowable] = [
        Paragraph(labels.text("title", lang), s["title"]),
        Paragraph(labels.text("subtitle", lang), s["subtitle"]),
        Paragraph(f"<b>{labels.text('period', lang)}:</b> {_month(report, 0)}", s["body"]),
        Paragraph(
            labels.text("source", lang, when=local_time(report.read_at))
            + " "
            + labels.text("days_note", lang),
            s["small"],
        ),
        Paragraph(
            f"<b>{labels.text('privacy_title', lang)}.</b> "
            + labels.text("privacy", lang, k=report.k, k1=report.k - 1),
            s["box"],
        ),
        Paragraph(labels.text("summary", lang), s["h1"]),
        _summary(report, s),
        Spacer(1, 4 * mm),
        _chart(drawn["by_post"], s),
    ]
    after = {
        "by_post": [],
        "by_origin": ["by_origin"],
        "by_destination": ["by_destination"],
        "by_kind": ["by_kind"],
        "alerts": ["alerts"],
    }
    for section in report.sections:
        flow.append(Paragraph(section.title, s["h1"]))
        if section.note:
            flow.append(Paragraph(section.note, s["small"]))
        for table in section.tables:
            flow.append(KeepTogether([Paragraph(table.title, s["h2"]), _table(report, table, s)]))
            for key in after.get(table.key, []):
                flow.append(_chart(drawn[key], s))
    return flow


def _month(report: MonthlyReport, index: int) -> str:
    month = report.periods[index]
    return labels.month_name(month.year, month.month, report.lang)


def _header(report: MonthlyReport, first: str, s: dict[str, ParagraphStyle]) -> list[Any]:
    lang = report.lang
    cells = [
        first,
        _month(report, 0),
        _month(report, 1),
        labels.text("change", lang),
        _month(report, 2),
        labels.text("change", lang),
    ]
    return [Paragraph(f"<b>{c}</b>", s["small"]) for c in cells]


def _line(
    label: str, values: Sequence[float | None], kind: str, lang: str, s: dict[str, ParagraphStyle]
) -> list[Any]:
    now, before, year = values
    moved = (change(now, before, lang), change(now, year, lang)) if kind == "count" else ("", "")
    return [
        Paragraph(label, s["small"]),
        shown(now, kind, lang),
        shown(before, kind, lang),
        moved[0],
        shown(year, kind, lang),
        moved[1],
    ]


COLUMNS = [0.36, 0.12, 0.12, 0.14, 0.12, 0.14]


def _grid(rows: list[list[Any]], totals: Sequence[int]) -> PdfTable:
    table = PdfTable(rows, colWidths=[w * TEXT_WIDTH for w in COLUMNS], repeatRows=1)
    style: list[Any] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    for i in totals:
        style += [("FONT", (1, i), (-1, i), BOLD, 8), ("LINEABOVE", (0, i), (-1, i), 0.8, INK)]
    table.setStyle(TableStyle(style))
    return table


def _summary(report: MonthlyReport, s: dict[str, ParagraphStyle]) -> PdfTable:
    rows = [_header(report, labels.text("figure", report.lang), s)]
    rows += [_line(h.label, h.values, h.kind, report.lang, s) for h in report.headlines]
    return _grid(rows, [])


def _table(report: MonthlyReport, table: Table, s: dict[str, ParagraphStyle]) -> PdfTable:
    rows = [_header(report, labels.text("category", report.lang), s)]
    totals = []
    for row in table.rows:
        if row.total:
            totals.append(len(rows))
        rows.append(_line(row.label, row.values, "count", report.lang, s))
    return _grid(rows, totals)


def _chart(chart: Chart, s: dict[str, ParagraphStyle]) -> Flowable:
    width, height = ImageReader(io.BytesIO(chart.png)).getSize()
    shown_width = min(TEXT_WIDTH, width / 200 * 72)
    picture = Image(io.BytesIO(chart.png), width=shown_width, height=shown_width * height / width)
    return KeepTogether([Paragraph(chart.title, s["h2"]), picture, Spacer(1, 3 * mm)])


def headline_values(headline: Headline, lang: str) -> list[str]:
    """A headline's three figures as printed (for the HTML and the tests)."""
    return [shown(v, headline.kind, lang) for v in headline.values]
