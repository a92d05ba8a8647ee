"""Operations and the administrator: the dashboard (counts, lag, dead letters, health)
and the audit of the browser application."""

from __future__ import annotations

from anyio import to_thread
from starlette.responses import Response

from sinergi.views import LedgerReadError
from sinergi.web import charts
from sinergi.web.access import Capability
from sinergi.web.dashboard import Dashboard
from sinergi.web.guard import Context, page


@page(Capability.DASHBOARD)
async def dashboard(ctx: Context) -> Response:
    try:
        data: Dashboard = await to_thread.run_sync(ctx.services.dashboard)
    except LedgerReadError:
        return ctx.render("error.html", status=503, message=ctx.t("error.ledger"))
    t = ctx.t
    alerts = charts.lines(
        data.alerts.months,
        {t("raised_n"): data.alerts.series.get("raised", []),
         t("acknowledged_n"): data.alerts.series.get("acknowledged", [])},
    )  # fmt: skip
    return ctx.render(
        "dashboard.html",
        d=data,
        chart_post=charts.lines(data.by_post.months, data.by_post.series),
        chart_route=charts.lines(data.by_route.months, data.by_route.series),
        chart_repatriations=charts.bars(data.repatriations[:12]),
        chart_deaths=charts.bars(data.deaths[:12]),
        chart_origin=charts.bars(data.origins),
        chart_alerts=alerts,
        chart_lag=charts.bars(data.lag),
        chart_dead=charts.bars(data.dead_letters),
    )


@page(Capability.AUDIT)
async def audit(ctx: Context) -> Response:
    entries = await to_thread.run_sync(ctx.services.officers.recent_audit, 200)
    return ctx.render("audit.html", entries=entries)
