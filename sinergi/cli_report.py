"""``sinergi report monthly`` and ``sinergi report ctdc``: accounting to the public,
registered on the ``sinergi`` command line (:data:`sinergi.cli.app`) through its
``COMMAND_MODULES``. Both read the ledger as the analyst does (the views only) and
publish no personal data, no case ids and no pseudonyms.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sinergi.cli import app, err, fail, out, settings
from sinergi.report import ctdc, monthly, source
from sinergi.report.kanon import AnonymityError
from sinergi.report.labels import LANGUAGES
from sinergi.report.monthly import Month, ReportError
from sinergi.report.suppression import CTDC_K, SuppressionError
from sinergi.views import LedgerReadError

report_app = typer.Typer(
    help="Public accountability: the monthly report and the CTDC-style export "
    "(laporan bulanan, ekspor CTDC).",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")

ERRORS = (ReportError, SuppressionError, AnonymityError, LedgerReadError)


class Format(StrEnum):
    PDF = "pdf"
    HTML = "html"
    CSV = "csv"


def _k(k: int | None) -> int:
    """--k, else SINERGI_REPORT_K (settings without it, from before it existed: CTDC's k)."""
    chosen = int(getattr(settings(), "report_k", CTDC_K)) if k is None else k
    if chosen < 2:
        fail(ReportError(f"k must be at least 2 (SINERGI_REPORT_K, --k), got {chosen}"))
    return chosen


def _lang(lang: str | None) -> str:
    chosen = (lang or settings().lang).strip().lower()[:2]
    if chosen not in LANGUAGES:
        fail(ReportError(f"--lang is id or en, got {lang!r}"))
    return chosen


def build_monthly(month: Month, *, lang: str, k: int) -> monthly.MonthlyReport:
    """The report of ``month``, read from the views now."""
    with source.analyst(settings()) as conn:
        figures = [source.figures(conn, m) for m in (month, month.shifted(-1), month.shifted(-12))]
    return monthly.build(figures, lang=lang, k=k, read_at=datetime.now(UTC))


@report_app.command("monthly")
def report_monthly(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (e.g. 2026-03)")],
    format_: Annotated[Format, typer.Option("--format", help="pdf, html or csv")] = Format.PDF,
    lang: Annotated[
        str | None, typer.Option("--lang", help="id (Bahasa Indonesia) or en", metavar="id|en")
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Where to write it (default: in this folder)")
    ] = None,
    k: Annotated[
        int | None, typer.Option(help="Counts below k are withheld [SINERGI_REPORT_K, 11]")
    ] = None,
) -> None:
    """The monthly public accountability report: interceptions, repatriations and deaths,
    people by origin regency, alerts and their acknowledgement, prevention; against the
    previous month and the same month a year before; small counts withheld."""
    try:
        chosen = Month.parse(month)
        language = _lang(lang)
        report = build_monthly(chosen, lang=language, k=_k(k))
    except ERRORS as exc:
        fail(exc)
    path = out_path or Path(f"sinergi-report-{chosen}-{language}.{format_.value}")
    if format_ is Format.PDF:
        from sinergi.report import render_pdf

        render_pdf.render(report, path)
    else:
        from sinergi.report import render_other

        text = (
            render_other.html(report) if format_ is Format.HTML else render_other.csv_text(report)
        )
        path.write_text(text, encoding="utf-8")
    out.print(f"{path} ({report.suppressed} figures withheld, k = {report.k})")


@report_app.command("ctdc")
def report_ctdc(
    year: Annotated[int, typer.Option(help="Cases registered (first seen) in this year")],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="The CSV file (default: standard output)")
    ] = None,
    k: Annotated[
        int | None,
        typer.Option(help="Each combination of values occurs at least k times [SINERGI_REPORT_K]"),
    ] = None,
) -> None:
    """A CTDC-style case export: one row per case in the codebook's variables the hub
    has, k-anonymised (generalised, and cases in smaller groups left out); CSV."""
    try:
        with source.analyst(settings()) as conn:
            cases = source.ctdc_cases(conn, year)
        result = ctdc.anonymised(cases, _k(k))
    except ERRORS as exc:
        fail(exc)
    text = ctdc.export_csv(year, result)
    if out_path is None:
        sys.stdout.write(text)
    else:
        out_path.write_text(text, encoding="utf-8")
    levels = ", ".join(
        f"{h.name} {level}/{h.height}"
        for h, level in zip(ctdc.HIERARCHIES, result.levels, strict=True)
    )
    err.print(
        f"{len(result.records)} cases exported, {result.suppressed} left out "
        f"(k = {result.k}; generalised: {levels})"
    )


if __name__ == "__main__":  # pragma: no cover - `python -m sinergi.cli_report report ...`
    app()
