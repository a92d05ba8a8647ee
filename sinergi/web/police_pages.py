"""Police in the browser: the live alert inbox, acknowledging, cases, recruiters, groups,
and opening a recruiter's contact sealed for police (each opening audited)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode

from anyio import to_thread
from starlette.responses import RedirectResponse, Response, StreamingResponse

from producers.fields import FieldError, InvalidInputError
from producers.police import ACTION
from schemas import reference
from schemas.model import AlertAction, AlertRule, Severity
from sinergi.views import LedgerReadError
from sinergi.web.access import Capability
from sinergi.web.guard import Context, page
from sinergi.web.ledger import Alert, AlertFilter
from sinergi.web.notifier import RESCAN
from sinergi.web.officers import AuditEntry

STATUSES = ("open", "acknowledged", "withdrawn")
STREAM_POLL_S = 1.0
KEEPALIVE_S = 15.0


def _choice(value: str | None, allowed: tuple[str, ...] | list[str]) -> str | None:
    return value if value in allowed else None


def alert_filter(ctx: Context) -> AlertFilter:
    """The inbox's filters from the query string; unknown values are ignored, and a
    regency outside the unit's jurisdiction shows nothing rather than more."""
    q = ctx.request.query_params
    visible = ctx.visible
    regencies = sorted(visible if visible is not None else reference.regencies())
    return AlertFilter(
        visible=visible,
        rule=_choice(q.get("rule"), [r.value for r in AlertRule]),
        severity=_choice(q.get("severity"), [s.value for s in Severity]),
        regency=_choice(q.get("regency"), regencies) or (q.get("regency") and "none") or None,
        status=_choice(q.get("status"), STATUSES),
    )


def _audit(ctx: Context, action: str, target: str, outcome: str = "ok", detail: str = "") -> None:
    s = ctx.session
    ctx.services.officers.audit(
        AuditEntry(action, outcome, s.username, s.unit, s.officer_code, target, detail or None)
    )


def _options(ctx: Context) -> dict[str, Any]:
    visible = ctx.visible
    codes = sorted(visible if visible is not None else reference.regencies())
    return {
        "rules": [r.value for r in AlertRule],
        "severities": [s.value for s in Severity],
        "statuses": STATUSES,
        "regencies": codes,
        "actions": [a.value for a in AlertAction],
    }


@page(Capability.ALERTS)
async def inbox(ctx: Context) -> Response:
    """The alerts this unit sees, newest first, with filters; live with JavaScript."""
    flt = alert_filter(ctx)
    try:
        # One more than shown: whether the page must say it shows only the first ones.
        alerts = await to_thread.run_sync(
            ctx.services.ledger.alerts, replace(flt, limit=flt.limit + 1)
        )
    except LedgerReadError:
        return ctx.render("error.html", status=503, message=ctx.t("error.ledger"))
    more = len(alerts) > flt.limit
    alerts = alerts[: flt.limit]
    newest = max((a.raised_at.timestamp() for a in alerts), default=0.0)
    query = {k: v for k, v in ctx.request.query_params.items() if k in _FILTERS}
    stream = "/alerts/stream?" + urlencode({**query, "since": f"{newest:.6f}"})
    return ctx.render(
        "alerts.html", alerts=alerts, flt=flt, stream=stream, query=query, more=more,
        sent=ctx.request.query_params.get("sent"), **_options(ctx),
    )  # fmt: skip


_FILTERS = ("rule", "severity", "regency", "status")


def _event(kind: str, alert: Alert, html: str) -> str:
    data = json.dumps({"id": alert.alert_id, "status": alert.status, "html": html})
    return f"event: {kind}\ndata: {data}\n\n"


@page(Capability.ALERTS)
async def stream(ctx: Context) -> Response:
    """Server-sent events: ``alert`` for an alert the page may not show (new since the
    page was drawn), ``status`` when one the page shows changes (acknowledged, withdrawn,
    holding again). Each carries the row as the page draws it; the page replaces a row
    it shows, so an alert sent twice is shown once.

    An alert's ``raised_at`` is when its transaction began, so one may commit after
    others stamped later: after its first look the stream sends every alert it has not
    seen, whenever stamped; the first look sends those stamped from a little (the
    notifier's ``RESCAN``) before ``since``, the newest alert the page shows."""
    flt = alert_filter(ctx)
    # A changed alert leaves a result filtered by status (an open one acknowledged): read
    # them all, to see it change, and send as new only those the filter wants.
    watched = replace(flt, status=None)
    try:
        since = float(ctx.request.query_params.get("since", "0"))
    except ValueError:
        since = 0.0
    earliest = since - RESCAN.total_seconds()
    template = ctx.request.app.state.templates.env.get_template("_alert_row.html")

    def row(alert: Alert) -> str:
        html: str = template.render(
            a=alert, t=ctx.t, csrf=ctx.session.csrf, caps={c.value for c in ctx.caps},
            lang=ctx.lang, **ctx.request.app.state.templates.env.globals, **_options(ctx),
        )  # fmt: skip
        return html

    async def still_allowed() -> bool:
        """The stream ends with the session (logged out, expired) or the officer (disabled)."""
        if not ctx.services.sessions.alive(ctx.session.sid):
            return False
        username = ctx.session.username or ""
        officer = await to_thread.run_sync(ctx.services.officers.get, username)
        return officer is not None and officer.disabled_at is None

    async def events() -> AsyncIterator[str]:
        known: dict[str, str] = {}
        first = True
        quiet = 0.0
        yield "retry: 2000\n\n"
        while not await ctx.request.is_disconnected() and await still_allowed():
            try:
                alerts = await to_thread.run_sync(ctx.services.ledger.alerts, watched)
                if flt.status is not None:  # and those the page shows, older ones too
                    seen = {a.alert_id for a in alerts}
                    shown = await to_thread.run_sync(ctx.services.ledger.alerts, flt)
                    alerts += [a for a in shown if a.alert_id not in seen]
                    alerts.sort(key=lambda a: a.raised_at, reverse=True)
            except LedgerReadError:
                alerts = None  # no look: the next one is still the first if this was
            sent = False
            for alert in reversed(alerts or []):  # oldest first, so the newest ends on top
                before = known.get(alert.alert_id)
                known[alert.alert_id] = alert.status
                new = before is None and (not first or alert.raised_at.timestamp() > earliest)
                if new and flt.status in (None, alert.status):
                    yield _event("alert", alert, row(alert))
                    sent = True
                elif (before is not None and before != alert.status) or (
                    # Acknowledged or withdrawn between the page being drawn and this
                    # stream's first look (an acknowledgement's own redirect): the page
                    # may show it open. The browser replaces only rows it shows.
                    first and before is None and alert.status != "open"
                ):
                    yield _event("status", alert, row(alert))
                    sent = True
            # Alerts the page may show that neither read returned (older than the newest
            # the stream reads): their status, and the row of any that changed.
            if alerts is not None:
                read = {a.alert_id for a in alerts}
                async for changed in _changed_elsewhere(ctx, known, read, flt):
                    yield _event("status", changed, row(changed))
                    sent = True
            first = first and alerts is None
            quiet = 0.0 if sent else quiet + STREAM_POLL_S
            if quiet >= KEEPALIVE_S:
                yield ": keep-alive\n\n"
                quiet = 0.0
            await asyncio.sleep(STREAM_POLL_S)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


async def _changed_elsewhere(
    ctx: Context, known: dict[str, str], read: set[str], flt: AlertFilter
) -> AsyncIterator[Alert]:
    """Of the alerts ``known`` (id -> status last sent) and not among those just ``read``,
    each whose status changed since, as it is now (``known`` updated)."""
    others = sorted(set(known) - read)
    if not others:
        return
    try:
        now = await to_thread.run_sync(ctx.services.ledger.statuses, others)
        for alert_id in others:
            if alert_id in now and now[alert_id] != known[alert_id]:
                alert = await to_thread.run_sync(ctx.services.ledger.alert, alert_id, flt.visible)
                if alert is not None:
                    known[alert_id] = alert.status
                    yield alert
    except LedgerReadError:
        return  # the next look tries again


async def _alert_or_404(ctx: Context, alert_id: str) -> Alert | Response:
    try:
        found: Alert | None = await to_thread.run_sync(
            ctx.services.ledger.alert, alert_id, ctx.visible
        )
    except LedgerReadError:
        return ctx.render("error.html", status=503, message=ctx.t("error.ledger"))
    if found is None:  # unknown, or not this unit's: the same answer
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    return found


@page(Capability.ALERTS)
async def alert_page(ctx: Context) -> Response:
    found = await _alert_or_404(ctx, ctx.request.path_params["alert_id"])
    if isinstance(found, Response):
        return found
    return ctx.render(
        "alert.html", a=found, sent=ctx.request.query_params.get("sent"), **_options(ctx)
    )


@page(Capability.ACKNOWLEDGE)
async def acknowledge(ctx: Context) -> Response:
    """The police desk's acknowledgement form, signed by the officer's unit, with the
    officer's staff code; only for an alert this unit sees and that still holds."""
    alert_id = ctx.request.path_params["alert_id"]
    found = await _alert_or_404(ctx, alert_id)
    if isinstance(found, Response):
        return found
    try:
        action = ACTION(ctx.form.get("action") or "NOTED").value
    except FieldError:
        return ctx.render("error.html", status=400, message=ctx.t("not_found"))
    assert ctx.unit is not None and ctx.session.officer_code is not None
    try:
        done = await to_thread.run_sync(
            ctx.services.recorder.acknowledge,
            ctx.unit.unit, found.alert_id, ctx.session.officer_code, action,
        )  # fmt: skip
    except InvalidInputError as exc:
        _audit(ctx, "alert.acknowledge", found.alert_id, "refused", str(exc)[:200])
        return ctx.render("error.html", status=400, message=str(exc))
    event_id = done.event_ids[0]
    _audit(ctx, "alert.acknowledge", found.alert_id, "ok", f"event {event_id} {action}")
    back = ctx.form.get("back", "")
    target = back if back.startswith("/alerts") and "//" not in back else "/alerts"
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}sent={quote(event_id)}", status_code=303)


@page(Capability.CASES)
async def case_page(ctx: Context) -> Response:
    case_id = ctx.request.path_params["case_id"]
    try:
        case = await to_thread.run_sync(ctx.services.ledger.case, case_id, ctx.visible)
    except LedgerReadError:
        return ctx.render("error.html", status=503, message=ctx.t("error.ledger"))
    if case is None:
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    return ctx.render("case.html", case=case, contact=None, opened=None)


@page(Capability.CASES)
async def find_case(ctx: Context) -> Response:
    """A case by id, prefix or NIK (posted, never in a URL; the NIK is pseudonymised
    here and not kept)."""
    text = ctx.form.get("q", "")
    try:
        case_id = await to_thread.run_sync(ctx.services.ledger.find_case, text)
    except LedgerReadError as exc:
        return ctx.render("error.html", status=404, message=str(exc).split("\n")[0])
    return RedirectResponse(f"/cases/{quote(case_id)}", status_code=303)


@page(Capability.OPEN_CONTACTS)
async def open_contact(ctx: Context) -> Response:
    """Open one sealed recruiter contact of a case's fact, for this police session only;
    the opening is audited (who, which case and fact; never the contact)."""
    case_id = ctx.request.path_params["case_id"]
    event_id = ctx.request.path_params["event_id"]
    try:
        case = await to_thread.run_sync(ctx.services.ledger.case, case_id, ctx.visible)
        sealed = await to_thread.run_sync(ctx.services.ledger.sealed_contact, event_id, case_id)
    except LedgerReadError:
        return ctx.render("error.html", status=503, message=ctx.t("error.ledger"))
    if case is None or not sealed:
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    contact = ctx.services.open_contact(sealed)
    _audit(ctx, "contact.open", case_id, "ok", f"event {event_id}")
    return ctx.render("case.html", case=case, contact=contact, opened=event_id)


@page(Capability.CASES)
async def recruiter_page(ctx: Context) -> Response:
    ref = ctx.request.path_params["ref"]
    try:
        found = await to_thread.run_sync(ctx.services.ledger.recruiter, ref, ctx.visible)
    except LedgerReadError:
        return ctx.render("error.html", status=503, message=ctx.t("error.ledger"))
    if found is None:
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    return ctx.render("recruiter.html", r=found)


@page(Capability.CASES)
async def group_page(ctx: Context) -> Response:
    key = ctx.request.path_params["key"]
    try:
        found = await to_thread.run_sync(ctx.services.ledger.group, key, ctx.visible)
    except LedgerReadError:
        return ctx.render("error.html", status=503, message=ctx.t("error.ledger"))
    if found is None:
        return ctx.render("error.html", status=404, message=ctx.t("not_found"))
    return ctx.render("group.html", g=found)
