"""The bench's pure parts: its arithmetic, the goals and the table, the event plan.

Nothing here times anything: the figures are measured by ``make bench`` only.
"""

from __future__ import annotations

import io
import json
import math
import statistics
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from rich.console import Console

from bench import kafka_perf
from bench.plan import EventPlan, chunks, day_of, minor_interceptions, post_rows
from bench.report import Goal, Row, cells, print_table, quantity, ratio_text, results_document
from bench.run import FULL, QUICK, Measured, processor_env, rows
from bench.stats import crossing, percentile, rate_between, tenth_rates
from producers.forms import FORMS, desk_for, record_rows
from producers.pseudonym import Pseudonymiser
from schemas.model import Agency

P = Pseudonymiser(b"k" * 32)
TODAY = date(2026, 6, 1)


# --- arithmetic ----------------------------------------------------------------------


def test_a_count_is_reached_between_two_samples_by_linear_interpolation():
    samples = [(0.0, 0), (1.0, 100), (3.0, 300)]
    assert crossing(samples, 200) == pytest.approx(2.0)
    assert crossing(samples, 300) == 3.0
    assert crossing(samples, 301) is None


def test_a_rate_leaves_the_start_up_out():
    # Nothing for 5 s (start-up), then 100 per second.
    samples = [(0.0, 0), (5.0, 0), (6.0, 100), (7.0, 200), (8.0, 300)]
    assert rate_between(samples, 0, 300) == pytest.approx(100.0)


def test_a_steady_drain_has_equal_tenths():
    samples = [(t / 2, 50 * t) for t in range(0, 41)]  # 100 per second up to 2,000
    rates = tenth_rates(samples, 2000)
    assert all(r == pytest.approx(100.0) for r in rates)


def test_a_drain_that_slows_as_history_grows_shows_it_in_its_last_tenth():
    # Each message costs more than the one before: time = count^2 / 1e4.
    samples = [((c * c) / 10_000, c) for c in range(0, 1001, 10)]
    rates = tenth_rates(samples, 1000)
    assert rates[9] is not None and rates[0] is not None
    assert rates[9] / rates[0] < 0.2


def test_a_tenth_passed_before_the_first_sample_cannot_be_told():
    samples = [(0.0, 0), (1.0, 500), (2.0, 1000)]
    rates = tenth_rates(samples, 1000)
    assert rates[0] is None and rates[9] == pytest.approx(500.0)


def test_percentiles_count_what_never_arrived_as_infinitely_late():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 99, missing=2) == math.inf
    assert percentile([], 99) is None
    assert percentile([], 50, missing=1) == math.inf


# --- goals and the table ----------------------------------------------------------------


def test_goals_are_met_on_the_value_or_on_the_ratio():
    at_least = Goal(">=", 20_000, "≥ 20,000 events/s")
    at_most = Goal("<=", 250, "p99 ≤ 250 ms")
    flat = Goal(">=", 0.9, "≥ 0.9 × 1st", on="ratio")
    assert at_least.met(20_000, None) is True
    assert at_least.met(19_999, None) is False
    assert at_most.met(250, None) is True
    assert at_most.met(math.inf, None) is False
    assert flat.met(900.0, 0.95) is True
    assert flat.met(900.0, 0.5) is False
    assert at_least.met(None, None) is None


def test_a_row_puts_its_figure_beside_its_limit_as_a_ratio():
    row = Row(
        "drain", "drain", 1_234.5, "events/s", Goal(">=", 20_000, "≥ 20,000 events/s"),
        61_000.0, "fastavro decode, one core",
    )  # fmt: skip
    assert cells(row) == (
        "drain",
        "1,234 events/s",
        "≥ 20,000 events/s",
        "61,000 events/s (fastavro decode, one core)",
        "0.020×",
        "NO",
    )


def test_a_figure_not_measured_is_said_so_and_judged_neither_way():
    row = Row("desk", "desk import", None, "rows/s", Goal(">=", 30_000, "≥ 30,000 rows/s"))
    _figure, measured, _goal, limit, ratio, met = cells(row)
    assert (measured, limit, ratio, met) == ("not measured", "—", "—", "—")


def test_quantities_and_ratios_are_printed_for_people():
    assert quantity(41.26, "s") == "41.3 s"
    assert quantity(3.25, "ms") == "3.2 ms"
    assert quantity(187.0, "ms") == "187 ms"
    assert quantity(math.inf, "ms") == "never (timed out)"
    assert quantity(312.4, "MB") == "312 MB"
    assert ratio_text(23.456) == "23.46×"
    assert ratio_text(250.0) == "250×"
    assert ratio_text(None) == "—"


def test_results_hold_no_infinity_and_count_goals():
    timed_out = Row("alert_p99", "p99", math.inf, "ms", Goal("<=", 250, "≤ 250 ms"), 120.0, "idle")
    met = Row("rss", "rss", 300.0, "MB", Goal("<=", 400, "≤ 400 MB"))
    document = results_document([timed_out, met], {"date": "2026-06-01"}, ["a problem"])
    text = json.dumps(document, allow_nan=False)  # raises on an infinity
    assert json.loads(text)["rows"][0]["value"] is None
    assert document["rows"][0]["timed_out"] is True
    assert (document["goals_met"], document["goals_missed"]) == (1, 1)
    assert document["problems"] == ["a problem"]


def test_the_whole_table_prints_even_when_nothing_was_measured():
    measured = Measured(EventPlan(QUICK.backlog, QUICK.background, TODAY), QUICK, processes=2)
    table = rows(measured)
    assert {row.key for row in table} >= {
        "drain", "flat", "rebuild", "alert_p99", "desk", "rss", "naive", "kafka_produce",
    }  # fmt: skip
    out = io.StringIO()
    print_table(table, "bench", Console(file=out, width=200))
    assert out.getvalue().count("not measured") == len(table)


def test_the_rebuild_goal_scales_with_the_volume():
    full = rows(Measured(EventPlan(FULL.backlog, 0, TODAY), FULL, processes=2))
    quick = rows(Measured(EventPlan(QUICK.backlog, 0, TODAY), QUICK, processes=2))
    goal = {r.key: r.goal for r in full}["rebuild"]
    assert goal is not None and goal.target == 60
    quick_goal = {r.key: r.goal for r in quick}["rebuild"]
    assert quick_goal is not None and quick_goal.target == 6


def test_the_processor_runs_with_deployment_defaults_no_grace_and_what_is_set():
    env = processor_env(["SINERGI_BATCH_MAX=4000"])
    assert env["SINERGI_ALERT_GRACE_HOURS"] == "0"
    assert env["SINERGI_BATCH_WITHIN_MS"] == "250"
    assert env["SINERGI_BATCH_MAX"] == "4000"
    with pytest.raises(SystemExit):
        processor_env(["BATCH_MAX=1"])


def test_kafkas_own_summaries_are_read():
    produced = (
        "50000 records sent, 17743.1 records/sec (10.27 MB/sec), 282.45 ms avg latency,"
        " 1641.00 ms max latency, 299 ms 50th, 415 ms 95th, 511 ms 99th, 545 ms 99.9th.\n"
    )
    consumed = (
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,"
        " rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
        "2026-12-02 11:31:50:123, 2026-12-02 11:31:53:425, 28.9440, 8.7656, 50000,"
        " 15142.3380, 1703, 1599, 18.1013, 31269.5435\n"
    )
    assert kafka_perf.parse_producer(produced) == (17743.1, 10.27, 282.45)
    assert kafka_perf.parse_consumer(consumed) == (31269.5435, 18.1013)


# --- the event plan -------------------------------------------------------------------


def test_history_grows_in_months_not_in_facts_per_day():
    quick, full = EventPlan(100_000, 0, TODAY), EventPlan(1_000_000, 0, TODAY)
    assert full.scale == quick.scale  # the same daily volume
    assert full.months > 9 * quick.months // 2
    assert full.months * 30 / 365 > 4  # about four years of facts
    assert full.total / (full.months - 2) == pytest.approx(20_000, rel=0.05)
    assert full.start < quick.start < TODAY


def test_each_tenth_of_the_backlog_is_later_in_time_than_the_one_before():
    plan = EventPlan(4_000, 1_000, TODAY, per_month=1_000)
    planned = plan.rows()
    assert len(planned) == 5_000
    backlog = planned[: plan.backlog]
    tenth = len(backlog) // 10
    medians = [
        statistics.median(day_of(row).toordinal() for _f, _p, row in backlog[k : k + tenth])
        for k in range(0, len(backlog), tenth)
    ]
    assert medians == sorted(medians) and medians[-1] - medians[0] > 60
    assert max(day_of(row) for _f, _p, row in planned) < TODAY
    assert min(day_of(row) for _f, _p, row in planned[plan.backlog :]) >= date.fromordinal(
        int(medians[-1]) - 31
    )  # the background continues the same history


def test_every_agency_publishes_and_a_few_recruiters_are_behind_many_groups():
    plan = EventPlan(6_000, 0, TODAY, per_month=2_000)
    planned = plan.rows()
    assert {form for form, _p, _r in planned} >= {
        "interception", "placement", "ltsa", "repatriation", "prevention", "tip",
        "investigation",
    }  # fmt: skip
    recruiters = Counter(r["recruiter"] for f, _p, r in planned if f == "interception")
    recruiters.pop("", None)
    counts = sorted(recruiters.values(), reverse=True)
    assert counts[0] > 5 * statistics.median(counts)


def test_chunks_cover_the_rows_in_order():
    planned = [("tip", "sisaga", {"n": str(n)}) for n in range(25)]
    got = list(chunks(planned, 10))
    assert [index for index, _rows in got] == [0, 1, 2]
    assert [row for _i, rows_ in got for row in rows_] == planned


def test_triggers_are_fresh_minors_each_a_valid_interception():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    triggers = minor_interceptions(400, now)
    assert len({row["nik"] for row in triggers}) == 400
    desk = desk_for(Agency.POST, "eltari", P)
    events = record_rows(desk, FORMS["interception"], triggers)
    for event in events:
        born = event.person.birth_date
        assert born is not None
        assert 16 <= (now.date() - born).days / 365.25 < 18
        assert event.recruiter_ref is None and event.group_ref is None


def test_a_posts_csv_rows_are_its_own_and_valid():
    got = post_rows(500, TODAY, post="eltari")
    assert len(got) == 500
    assert {row["exit_point"] for row in got} == {"eltari"}
    assert len(record_rows(desk_for(Agency.POST, "eltari", P), FORMS["interception"], got)) == 500
