"""The public report from a simulated scenario through a real worker: every figure it
publishes equals what the ledger's views say, nothing below k is published, the PDF
prints (pdftoppm) with the expected text, and neither the report nor the CTDC export
holds a case id or a recruiter's pseudonym."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from PIL import Image

from producers import forms
from producers.simulate import Simulator
from schemas.model import Agency
from sinergi import bootstrap, cli
from sinergi.config import REPO_ROOT, Settings
from sinergi.report.kanon import is_k_anonymous
from sinergi.report.monthly import Month
from sinergi.runtime import wait_until_processed
from tests.conftest import base_env
from tests.integration import faults
from tests.integration.hub import Hub, drop_hub, make_hub

pytestmark = pytest.mark.integration

K = 11


def acknowledge(hub: Hub, share: float) -> int:
    """Police acknowledge a share of the alerts, now."""
    ids = [a for (a,) in hub.query("SELECT alert_id::text FROM alerts ORDER BY alert_id")]
    chosen = ids[: int(len(ids) * share)]
    desk = bootstrap.desk(hub.settings, Agency.POLICE, "polda-ntt")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [{"alert_id": a, "officer": "POLDA-7", "occurred_at": now} for a in chosen]
    pub = bootstrap.publisher(hub.settings, desk.unit)
    try:
        pub.publish(forms.record_rows(desk, forms.FORMS["acknowledgement"], rows))
    finally:
        pub.close()
    return len(chosen)


def seeded(hub: Hub, simulator: Simulator, *, acknowledge_share: float = 0.0) -> None:
    assert len(faults.publish_rows(hub, simulator.events_rows())) > 500
    hub.start_worker()
    hub.wait_for(lambda: hub.event_count() > 0, what="events")
    assert wait_until_processed(hub.settings, timeout=240)
    if acknowledge_share:
        acked = acknowledge(hub, acknowledge_share)
        hub.wait_for(
            lambda: hub.query("SELECT count(*) FROM alert_acks")[0][0] == acked,
            timeout=120,
            what="acknowledgements",
        )


# --- the views, read independently of the report --------------------------------------------


class Views:
    """The analysts' views, as the analyst reads them, cut at the hub's (UTC) days."""

    def __init__(self, hub: Hub) -> None:
        self.conninfo = bootstrap.conninfo(hub.settings, "sinergi_analyst")

    def rows(self, statement: str, month: Month) -> list[tuple[object, ...]]:
        with psycopg.connect(self.conninfo) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            return conn.execute(
                statement.encode(), {"start": month.first_day, "end": month.end}
            ).fetchall()

    def metric(self, month: Month, metric: str, label: str) -> dict[str, int]:
        return {
            str(k): int(str(n))
            for k, n in self.rows(
                f"SELECT coalesce(labels ->> '{label}', 'unknown'), sum(value) FROM v_metrics_daily"
                f" WHERE metric = '{metric}' AND day >= %(start)s AND day < %(end)s GROUP BY 1",
                month,
            )
        }

    def figures(self, month: Month) -> dict[tuple[str, str], float]:
        """(table, code) -> value, '*' the table's total, as the views say."""
        out: dict[tuple[str, str], float] = {}

        def put(table: str, values: dict[str, int]) -> None:
            for code, n in values.items():
                out[(table, code)] = n
            out[(table, "*")] = sum(values.values())

        span = "day >= %(start)s AND day < %(end)s"
        put(
            "by_post",
            dict(
                self._pairs(
                    "SELECT post, sum(interceptions) FROM v_interceptions_daily"
                    f" WHERE {span} GROUP BY 1",
                    month,
                )
            ),
        )
        put(
            "by_route",
            dict(
                self._pairs(
                    "SELECT coalesce(facts ->> 'route', 'unknown'), count(*) FROM v_case_timeline"
                    " WHERE event_type = 'InterceptionRecorded' AND occurred_at >= %(start)s"
                    " AND occurred_at < %(end)s GROUP BY 1",
                    month,
                )
            ),
        )
        put(
            "by_destination",
            self.metric(month, "sinergi_interceptions_by_destination_total", "country"),
        )
        put("by_origin", self.metric(month, "sinergi_interceptions_by_origin_total", "regency"))
        kinds: dict[str, int] = defaultdict(int)
        procedural: dict[str, int] = defaultdict(int)
        deaths: dict[str, int] = {}
        for labels, n in self._pairs(
            f"SELECT labels, sum(value) FROM v_metrics_daily WHERE {span}"
            " AND metric = 'sinergi_repatriations_total' GROUP BY 1",
            month,
        ):
            assert isinstance(labels, dict)
            kinds[labels["kind"]] += n
            procedural[labels["procedural"]] += n
        deaths = self.metric(month, "sinergi_deaths_total", "procedural")
        put("by_kind", kinds)
        put("by_procedural", procedural)
        put("deaths", deaths)
        put("by_country", self.metric(month, "sinergi_repatriations_by_country_total", "country"))
        put(
            "alerts",
            dict(
                self._pairs(
                    f"SELECT rule, sum(raised) FROM v_alerts_daily WHERE {span} GROUP BY 1", month
                )
            ),
        )
        put(
            "prevention_activities",
            self.metric(month, "sinergi_prevention_activities_total", "kind"),
        )
        put(
            "prevention_attendance",
            self.metric(month, "sinergi_prevention_attendance_total", "kind"),
        )
        [(acked,)] = self.rows(
            f"SELECT coalesce(sum(acknowledged), 0) FROM v_alerts_daily WHERE {span}", month
        )
        [(median, count)] = self.rows(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM"
            " time_to_acknowledge)), count(*) FROM v_alerts WHERE acknowledged_at >= %(start)s"
            " AND acknowledged_at < %(end)s",
            month,
        )
        assert count == acked
        out[("summary", "alerts_acknowledged")] = int(str(acked))
        if median is not None:
            out[("summary", "ack_median")] = float(str(median))
        return out

    def _pairs(self, statement: str, month: Month) -> list[tuple[object, int]]:
        return [(k, int(str(n))) for k, n in self.rows(statement, month)]


def report(hub: Hub, *args: str) -> subprocess.CompletedProcess[str]:
    """``sinergi report ...`` as a user runs it (through ``python -m sinergi.cli_report``
    where the command line does not load the report's commands yet)."""
    if "sinergi.cli_report" in cli.LOADED_COMMAND_MODULES:
        return hub.cli("report", *args)
    done = subprocess.run(
        [sys.executable, "-m", "sinergi.cli_report", "report", *args],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"sinergi report {args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def report_csv(hub: Hub, month: Month, tmp_path: Path) -> list[dict[str, str]]:
    out = tmp_path / f"report-{month}.csv"
    done = report(hub, "monthly", "--month", str(month), "--format", "csv", "--out", str(out))
    assert "withheld" in done.stdout
    return list(csv.DictReader(io.StringIO(out.read_text())))


def private_ids(hub: Hub) -> list[str]:
    """Case ids and recruiter pseudonyms: none may appear in anything published."""
    cases = [c for (c,) in hub.query("SELECT case_id FROM v_cases")]
    recruiters = [r for (r,) in hub.query("SELECT recruiter_ref FROM v_recruiters")]
    return [*cases, *(c.split(":", 1)[1] for c in cases), *recruiters]


def this_month() -> Month:
    today = datetime.now(UTC).date()
    return Month(today.year, today.month)


# --- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario(stack_settings: Settings) -> Iterator[Hub]:
    """Two months of every agency ending two days ago, through a real worker, then
    police acknowledging 60% of the alerts now; the tests below only read it."""
    hub = make_hub(base_env())
    try:
        today = datetime.now(UTC).date()
        simulator = Simulator(seed=17, start=today - timedelta(days=64), months=2)
        seeded(hub, simulator, acknowledge_share=0.6)
        yield hub
    finally:
        drop_hub(hub)


def test_the_monthly_report_publishes_the_views_figures_and_nothing_below_k(scenario, tmp_path):
    hub = scenario
    today = datetime.now(UTC).date()
    views = Views(hub)
    checked = suppressed = 0
    for reported in (Month.parse(f"{today - timedelta(days=31):%Y-%m}"), this_month()):
        truth = three_months(views, reported)
        rows = report_csv(hub, reported, tmp_path)
        for row in rows:
            if row["status"] == "suppressed":
                suppressed += 1
            if row["status"] != "published" or row["section"] == "summary":
                continue
            value = int(row["value"])
            expected = truth.get((row["month"], row["table"], row["code"]), 0)
            if row["section"] != "prevention":
                assert value == 0 or value >= K, (row["table"], row["code"], value)
            assert value == expected, (row["month"], row["table"], row["code"], value, expected)
            checked += 1
        summary = {(r["month"], r["table"]): r for r in rows if r["section"] == "summary"}
        acked = summary[(str(reported), "alerts_acknowledged")]
        if acked["status"] == "published":
            value = int(acked["value"])
            assert value == truth[(str(reported), "summary", "alerts_acknowledged")]
            assert value == 0 or value >= K
            median = summary[(str(reported), "ack_median")]
            if value:
                assert float(median["value"]) == pytest.approx(
                    truth[(str(reported), "summary", "ack_median")], abs=1
                )
    assert checked > 60 and suppressed > 0


def three_months(views: Views, month: Month) -> dict[tuple[str, ...], float]:
    """What the views say of the three months a report shows: (month, table, code)."""
    out: dict[tuple[str, ...], float] = {}
    for m in (month, month.shifted(-1), month.shifted(-12)):
        for (table, code), value in views.figures(m).items():
            out[(str(m), table, code)] = value
    return out


def test_the_pdf_prints_with_its_text_in_both_languages_and_no_ids(scenario, tmp_path):
    hub = scenario
    month = Month.parse(f"{datetime.now(UTC).date() - timedelta(days=20):%Y-%m}")
    secrets = private_ids(hub)
    assert secrets
    for lang, title, post in (
        ("id", "Laporan Akuntabilitas Publik Bulanan", "Posko Bandara El Tari"),
        ("en", "Monthly Public Accountability Report", "Posko Bandara El Tari"),
    ):
        pdf = tmp_path / f"report-{lang}.pdf"
        report(hub, "monthly", "--month", str(month), "--lang", lang, "--out", str(pdf))
        png = render_first_page(pdf, tmp_path / f"page-{lang}", dpi=60)
        with Image.open(png) as page:
            width, height = page.size  # A4 at 60 dpi: 496 x 702
            assert abs(width - 496) <= 1 and abs(height - 702) <= 1
            grey = page.convert("L")
            assert sum(grey.histogram()[:200]) > 0.03 * width * height
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert title in text and post in text
        assert "Timor Tengah Selatan" in text  # regencies by name
        if lang == "id" and os.environ.get("SINERGI_TEST_DOCS_REPORT") == "1":
            # The README's picture of the first page, from this simulated month.
            picture = render_first_page(pdf, tmp_path / "first-page", dpi=90)
            shutil.copy(picture, REPO_ROOT / "docs" / "report-first-page.png")
        html = tmp_path / f"report-{lang}.html"
        report(
            hub,
            "monthly",
            "--month",
            str(month),
            "--lang",
            lang,
            "--format",
            "html",
            "--out",
            str(html),
        )
        for published in (text, html.read_text()):
            assert not any(s in published for s in secrets)


def render_first_page(pdf: Path, stem: Path, dpi: int) -> Path:
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
            str(stem),
        ],
        check=True,
    )
    return stem.with_suffix(".png")


def test_the_ctdc_export_is_k_anonymous_and_accounts_for_every_case(scenario, tmp_path):
    hub = scenario
    today = datetime.now(UTC).date()
    year = (today - timedelta(days=34)).year  # the year of the most simulated days
    out = tmp_path / "ctdc.csv"
    done = report(hub, "ctdc", "--year", str(year), "--out", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    found = re.search(r"(\d+) cases exported, (\d+) left out", done.stderr)
    assert found, done.stderr
    assert int(found.group(1)) == len(rows) > 0
    cases = hub.query(
        "SELECT count(*) FROM v_report_cases WHERE year_registered = %s AND (intercepted OR"
        " tipped OR investigated OR repatriated_non_procedural OR trafficking_victim)",
        year,
    )[0][0]
    assert len(rows) + int(found.group(2)) == cases
    quasi = [tuple(r.values()) for r in rows]
    assert is_k_anonymous(quasi, K)
    assert {r["citizenship"] for r in rows} == {"ID"}
    assert not any(s in out.read_text() for s in private_ids(hub))
