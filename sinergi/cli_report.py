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
from sinergi.i18n import t
from sinergi.report import ctdc, monthly, source
from sinergi.report.kanon import AnonymityError
from sinergi.report.labels import LANGUAGES
from sinergi.report.monthly import Month, ReportError
from sinergi.report.suppression import CTDC_K, SuppressionError
from sinergi.views import LedgerReadError

report_app = typer.Typer(help=t("group.report"), no_args_is_help=True)
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
        fail(ReportError(t("report.k_too_small", k=chosen)))
    return chosen


def _lang(lang: str | None) -> str:
    chosen = (lang or settings().lang).strip().lower()[:2]
    if chosen not in LANGUAGES:
        fail(ReportError(t("report.bad_lang", lang=repr(lang))))
    return chosen


def build_monthly(month: Month, *, lang: str, k: int) -> monthly.MonthlyReport:
    """The report of ``month``, read from the views now."""
    with source.analyst(settings()) as conn:
        figures = [source.figures(conn, m) for m in (month, month.shifted(-1), month.shifted(-12))]
    return monthly.build(figures, lang=lang, k=k, read_at=datetime.now(UTC))


@report_app.command("monthly", help=t("cmd.report_monthly"))
def report_monthly(
    month: Annotated[str, typer.Option(help=t("opt.report_month"))],
    format_: Annotated[Format, typer.Option("--format", help=t("opt.report_format"))] = Format.PDF,
    lang: Annotated[
        str | None, typer.Option("--lang", help=t("opt.report_lang"), metavar="id|en")
    ] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help=t("opt.report_out"))] = None,
    k: Annotated[int | None, typer.Option(help=t("opt.report_k"))] = None,
) -> None:
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
    out.print(t("report.written", path=path, withheld=report.suppressed, k=report.k))


@report_app.command("ctdc", help=t("cmd.report_ctdc"))
def report_ctdc(
    year: Annotated[int, typer.Option(help=t("opt.ctdc_year"))],
    out_path: Annotated[Path | None, typer.Option("--out", help=t("opt.ctdc_out"))] = None,
    k: Annotated[int | None, typer.Option(help=t("opt.ctdc_k"))] = None,
) -> None:
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
    err.print(t("report.exported", count=len(result.records), left_out=result.suppressed,
                k=result.k, levels=levels))  # fmt: skip


if __name__ == "__main__":  # pragma: no cover - `python -m sinergi.cli_report report ...`
    app()
