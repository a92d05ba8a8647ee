"""The monthly report from a month's figures: no published count below k in any table
about people, nothing withheld recoverable from its month's other tables or from the
comparison columns, names instead of codes; and the PDF prints: pdftoppm renders its
first page, pdftotext reads its title, in Bahasa Indonesia and in English."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from sinergi import i18n
from sinergi.report import monthly, render_other, render_pdf
from sinergi.report.monthly import Figures, Month, period_grid
from sinergi.report.suppression import TOTAL, exposed, small_remainders, suppress

K = 11
MARCH = Month(2026, 3)
READ_AT = datetime(2026, 4, 2, 1, 0, tzinfo=UTC)


def figures(month: Month, scale: int) -> Figures:
    """A month whose tables add up, with small cells in several of them."""
    return Figures(
        month=month,
        post_route={
            ("eltari", "direct-flight"): 50 * scale,
            ("tenau", "larantuka-nunukan-tawau"): 20 * scale,
            ("tenau", "batam-johor"): 4,
        },
        destinations={"MY": 70 * scale + 1, "SG": 3},
        origins={"5302": 30 * scale, "5301": 20 * scale, "5303": 9, "5371": 20 * scale - 5},
        repatriations={
            ("deceased", "non_procedural"): 25 * scale,
            ("deceased", "procedural"): 1,
            ("deported", "non_procedural"): 40,
            ("sick", "procedural"): 5,
        },
        repatriation_countries={"MY": 25 * scale + 38, "SG": 8},
        alerts_raised={"RECRUITER_NETWORK": 12, "MINOR_INTERCEPTED": 3, "GROUP_INTERCEPTED": 30},
        alerts_acknowledged=25,
        ack_median_s=5400.0,
        prevention_activities={"village_socialisation": 12, "radio_broadcast": 2},
        prevention_attendance={"village_socialisation": 900, "radio_broadcast": 3},
    )


MONTHS = [figures(MARCH, 2), figures(MARCH.shifted(-1), 1), Figures(MARCH.shifted(-12))]


def report(lang: str = "id") -> monthly.MonthlyReport:
    return monthly.build(MONTHS, lang=lang, k=K, read_at=READ_AT)


def test_months_are_parsed_and_counted_back():
    assert Month.parse("2026-03").shifted(-1) == Month(2026, 2)
    assert Month.parse("2026-01").shifted(-12) == Month(2025, 1)
    assert str(Month(2026, 1).shifted(-1)) == "2025-12"
    with pytest.raises(monthly.ReportError):
        Month.parse("March")
    with pytest.raises(monthly.ReportError) as refused:
        Month.parse("2026-13")
    # Said in the officer's language, like every refusal of the command line.
    before = i18n._current
    i18n.set_language("id")
    try:
        said = i18n.sentence(str(refused.value))
    finally:
        i18n.set_language(before)
    assert said == "bulan ditulis YYYY-MM, mis. 2026-03 (tertulis '2026-13')"


def test_no_published_count_about_people_is_below_k():
    for section in report().sections:
        for table in section.tables:
            for row in table.rows:
                for value in row.values:
                    if table.protected and value is not None:
                        assert value == 0 or value >= K, (table.key, row.code, value)


def test_small_cells_are_withheld_with_their_complements():
    r = report()
    origins = {row.code: row.values for row in r.table("by_origin").rows}
    assert origins["5303"][0] is None  # 9 people
    assert sum(v[0] is None for v in origins.values()) >= 2
    routes = {row.code: row.values[0] for row in r.table("by_route").rows}
    assert routes["batam-johor"] is None and routes["larantuka-nunukan-tawau"] is None
    assert r.headline("interceptions").values[0] == 144


def test_nothing_withheld_can_be_worked_out_from_its_month():
    cats = monthly.categories(MONTHS)
    for month in MONTHS:
        grid = period_grid(month, cats)
        outcome = suppress(grid, K)
        assert not exposed(grid, outcome.suppressed, K)
        assert not small_remainders(grid, outcome.suppressed, K)


def test_a_change_is_shown_only_between_two_published_figures():
    assert monthly.change(144, 74) == "+70 (+95%)"
    assert monthly.change(None, 74) == ""
    assert monthly.change(20, None) == ""
    assert monthly.change(5, 5) == "0"


def test_the_non_procedural_share_is_withheld_when_a_part_of_it_is():
    # 6 procedural repatriations: their count, and so the share, is withheld.
    assert report().headline("non_procedural_share").values[0] is None
    big = Figures(
        MARCH,
        repatriations={("deceased", "non_procedural"): 40, ("deported", "procedural"): 12},
        repatriation_countries={"MY": 52},
    )
    r = monthly.build(
        [big, Figures(MARCH.shifted(-1)), Figures(MARCH.shifted(-12))],
        lang="en",
        k=K,
        read_at=READ_AT,
    )
    assert r.headline("non_procedural_share").values[0] == pytest.approx(40 / 52)


def test_prevention_is_published_whole():
    rows = {row.code: row.values for row in report().table("prevention_attendance").rows}
    assert rows["radio_broadcast"][0] == 3


def test_places_are_named_never_coded_and_rows_keep_a_fixed_order():
    r = report("en")
    labels = [row.label for row in r.table("by_origin").rows]
    assert "Timor Tengah Selatan" in labels and "5302" not in labels
    names = [label for label in labels if label != "Total"]
    assert names == sorted(names)  # by name, never by size
    assert [row.label for row in r.table("by_post").rows][:2] == [
        "Posko Bandara El Tari",
        "Posko Pelabuhan Tenau",
    ]


def test_the_csv_leaves_withheld_figures_empty():
    rows = list(csv.DictReader(io.StringIO(render_other.csv_text(report()))))
    withheld = [r for r in rows if r["status"] == "suppressed"]
    assert withheld and all(r["value"] == "" for r in withheld)
    published = [
        int(r["value"])
        for r in rows
        if r["status"] == "published"
        and r["section"] in ("interceptions", "repatriations", "alerts")
    ]
    assert all(v == 0 or v >= K for v in published)


def test_the_html_page_fetches_nothing():
    page = render_other.html(report("en"))
    assert "Monthly Public Accountability Report" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "data:image/png;base64," in page


# --- the PDF, as a forum prints it -------------------------------------------------------------


def first_page_png(pdf: Path, dpi: int = 50) -> Image.Image:
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(pdf.with_suffix("")),
        ],
        check=True,
    )
    return Image.open(pdf.with_suffix(".png"))


@pytest.mark.parametrize(
    ("lang", "title", "row"),
    [
        ("id", "Laporan Akuntabilitas Publik Bulanan", "Kematian (jenazah)"),
        ("en", "Monthly Public Accountability Report", "Deaths"),
    ],
)
def test_the_pdf_prints_a_first_page_with_its_title(tmp_path, lang, title, row):
    pdf = tmp_path / "report.pdf"
    render_pdf.render(report(lang), pdf)
    page = first_page_png(pdf)
    width, height = page.size  # A4 (210 x 297 mm) at 50 dpi: 413.4 x 584.6 pixels
    assert abs(width - 413.4) < 1 and abs(height - 584.6) < 1
    grey = page.convert("L")
    assert grey.getextrema()[0] < 100  # ink on the page
    dark = sum(grey.histogram()[:200])
    assert dark > 0.02 * page.size[0] * page.size[1]  # not a blank page with a header
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert title in text and row in text
    assert "k = 11" in text
    assert not re.search(r"\b(nik|weak):[0-9a-f]", text)
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"Pages:\s+[3-9]", pages.stdout)


def test_a_month_without_data_still_makes_a_report(tmp_path):
    empty = [Figures(MARCH), Figures(MARCH.shifted(-1)), Figures(MARCH.shifted(-12))]
    r = monthly.build(empty, lang="en", k=K, read_at=READ_AT)
    assert r.headline("interceptions").values == (0, 0, 0)
    assert r.headline("ack_median").values == (None, None, None)
    render_pdf.render(r, tmp_path / "empty.pdf")
    assert (tmp_path / "empty.pdf").stat().st_size > 10_000


def test_a_route_only_el_tari_has_gives_no_hidden_count_away():
    """Direct flights leave only from El Tari: a reader who knows it reads El Tari's count
    as the direct flights', and with the route total and the other routes shown would work
    out the one hidden. Crossings that did not happen count as known to the reader."""
    month = Month(2026, 3)
    crossings = {
        ("eltari", "direct-flight"): 15,
        ("tenau", "larantuka-nunukan-tawau"): 5,
        ("tenau", "batam-johor"): 30,
    }
    f = Figures(
        month=month,
        post_route=crossings,
        destinations={"MY": 50},
        origins={"5371": 50},
    )
    months = [f, Figures(month=month.shifted(-1)), Figures(month=month.shifted(-12))]
    report = monthly.build(months, lang="en", k=11, read_at=datetime.now(UTC))
    posts = {row.code: row.values[0] for row in report.table("by_post").rows}
    routes = {row.code: row.values[0] for row in report.table("by_route").rows}
    assert routes["larantuka-nunukan-tawau"] is None
    direct = routes["direct-flight"] if routes["direct-flight"] is not None else posts["eltari"]
    others = [routes[TOTAL], routes["batam-johor"], direct]
    assert None in others  # else Larantuka = total - Batam - El Tari
    grid = period_grid(f, monthly.categories(months))
    outcome = suppress(grid, 11)
    assert not exposed(grid, outcome.suppressed, 11)
    assert not small_remainders(grid, outcome.suppressed, 11)
