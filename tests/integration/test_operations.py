"""What operations watch, on the real processor: /readyz is 503 while the processor is
further behind than SINERGI_READY_MAX_LAG and 200 once it caught up; /metrics names its
build; and every query of the Grafana dashboard and the Prometheus rules reads a metric
that this page really serves."""

from __future__ import annotations

import re

import httpx

from sinergi import buildinfo
from tests.conftest import base_env
from tests.integration.faults import publish_all, simulated_events, wait_processed
from tests.integration.hub import Hub, drop_hub, make_hub
from tests.promql import BUILTIN, dashboard_queries, metric_names, page_names, rule_expressions


def get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None


def test_readyz_follows_the_lag_and_every_dashboard_and_rule_query_reads_a_served_metric(
    stack_settings,
):
    # A processor that takes small batches (its drain lasts seconds, so /readyz is seen
    # behind) and may be no message behind to be ready.
    hub: Hub = make_hub(base_env(), SINERGI_READY_MAX_LAG="0", SINERGI_BATCH_MAX="5")
    try:
        published = publish_all(hub, simulated_events(hub, 400))
        assert len(published) >= 300
        # A ledger count is on the page once its first fact is stored: a file sent to the
        # prosecutor is rare in a sample, so one is recorded here.
        hub.run("police", "prosecution", investigation_ref="LP/B/1/I/2026/SPKT/POLDA NTT",
                prosecutor_office="kejati-ntt", occurred_at="2026-01-20T08:30")  # fmt: skip
        hub.start_worker()
        base = f"http://{hub.settings.host}:{hub.settings.ports.metrics}"

        # Behind: not ready, and it says why (not only "starting": the lag itself).
        reasons: list[str] = []

        def behind() -> bool:
            answer = get(f"{base}/readyz")
            if answer is not None and answer.status_code == 503:
                reasons.append(answer.json()["reason"])
            return any("SINERGI_READY_MAX_LAG" in reason for reason in reasons)

        hub.wait_for(behind, timeout=300, what="/readyz to report the lag")
        lag_reason = next(r for r in reasons if "SINERGI_READY_MAX_LAG" in r)
        assert re.fullmatch(r"lag of \d+ messages is above 0 \(SINERGI_READY_MAX_LAG\)", lag_reason)

        wait_processed(hub)
        hub.wait_for(
            lambda: (answer := get(f"{base}/readyz")) is not None and answer.status_code == 200,
            timeout=60,
            what="/readyz to be 200 once caught up",
        )
        assert get(f"{base}/healthz").json() == {"status": "alive"}  # type: ignore[union-attr]

        page = get(f"{base}/metrics").text  # type: ignore[union-attr]
        commit = buildinfo.commit()
        assert (
            f'sinergi_build_info{{commit="{commit}",version="{buildinfo.version()}"}} 1.0' in page
        )
        assert 'sinergi_interceptions{post="eltari"}' in page
        assert 'sinergi_post_last_interception_timestamp_seconds{post="eltari"}' in page

        offered = page_names(page) | BUILTIN
        expressions, recorded = rule_expressions()
        unknown_in_rules = {
            expr: metric_names(expr) - offered - recorded
            for expr in expressions
            if metric_names(expr) - offered - recorded
        }
        assert unknown_in_rules == {}
        unknown_in_dashboard = {
            expr: metric_names(expr) - offered
            for expr in dashboard_queries()
            if metric_names(expr) - offered
        }
        assert unknown_in_dashboard == {}
        # The ledger's counts are there with data, not only declared.
        for name in ("sinergi_deaths", "sinergi_placements", "sinergi_tips"):
            assert re.search(rf"^{name}\{{.*\}} [1-9]", page, re.MULTILINE), name
    finally:
        drop_hub(hub)


def test_a_processor_within_its_lag_limit_is_ready(hub):
    # The worker builds its pipeline with its first batch (until then it says "starting").
    hub.run("post", "record", at="eltari", nik="5302014101900001", outcome="SENT_HOME",
            officer="ELT-07")  # fmt: skip
    hub.start_worker()
    base = f"http://{hub.settings.host}:{hub.settings.ports.metrics}"
    hub.wait_for(
        lambda: (answer := get(f"{base}/readyz")) is not None and answer.status_code == 200,
        timeout=120,
        what="/readyz to be 200",
    )
    shown = get(f"{base}/readyz")
    assert shown is not None and shown.json() == {"ready": True, "reason": "consuming"}
