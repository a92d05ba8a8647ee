"""The browser application's routes, and logging in and out.

``create_app(services)`` takes everything the pages use (:class:`guard.Services`): the
real ones from :func:`sinergi.bootstrap.web_services`, fakes in unit tests.
"""

from __future__ import annotations

from anyio import to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from sinergi.web import desk_pages, i18n, ops_pages, police_pages
from sinergi.web.access import Capability, capabilities, unit_role
from sinergi.web.guard import (
    HERE,
    Context,
    Services,
    form_of,
    make_templates,
    now,
    page,
    set_device_cookie,
)
from sinergi.web.guard import set_session_cookie as _set_cookie
from sinergi.web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from sinergi.web.metrics import WebMetrics
from sinergi.web.middleware import BodyLimit, SecurityHeaders
from sinergi.web.officers import (
    DEVICE_COOKIE,
    LoginRefusedError,
    credential_of,
    login,
    prepare_login,
    trust_device,
)
from sinergi.web.sessions import COOKIE, CSRF_FIELD, LANG_COOKIE, csrf_ok


def _home(request: Request) -> str:
    services: Services = request.app.state.services
    session = services.sessions.get(request.cookies.get(COOKIE))
    if session is None or session.unit is None:
        return "/login"
    caps = capabilities(unit_role(session.unit))
    for capability, path in (
        (Capability.ALERTS, "/alerts"),
        (Capability.RECORD, "/record"),
        (Capability.DASHBOARD, "/dashboard"),
    ):
        if capability in caps:
            return path
    return "/login"


async def home(request: Request) -> Response:
    return RedirectResponse(_home(request), status_code=303)


def _anonymous(request: Request) -> Context:
    services: Services = request.app.state.services
    session = services.sessions.get(request.cookies.get(COOKIE)) or services.sessions.new()
    lang = i18n.language(request.cookies.get(LANG_COOKIE))
    return Context(request, services, session, lang)


async def login_page(request: Request) -> Response:
    """GET: the form (with a fresh anonymous session and its CSRF token). POST: log in."""
    ctx = _anonymous(request)
    if request.method == "GET":
        if ctx.session.logged_in:
            return RedirectResponse(_home(request), status_code=303)
        response: Response = ctx.render("login.html", problem=None)
    else:
        response = await _login(ctx)
    if response.status_code != 303:  # a new session cookie is set by _login itself
        _set_cookie(request, response, ctx.session)
    return response


async def _login(ctx: Context) -> Response:
    form = await form_of(ctx.request)
    counted: WebMetrics = ctx.request.app.state.metrics
    if not csrf_ok(ctx.session, form.get(CSRF_FIELD)):
        counted.login("csrf")
        return ctx.render("login.html", status=403, problem=ctx.t("csrf"))
    services = ctx.services
    device = ctx.request.cookies.get(DEVICE_COOKIE)
    at = now()
    try:
        officer = await to_thread.run_sync(
            login, services.officers, form.get("username", ""), form.get("password", ""),
            services.policy, at, device,
        )  # fmt: skip
    except LoginRefusedError as exc:
        counted.login(exc.reason)  # the page says the same whatever the reason
        return ctx.render("login.html", status=401, problem=ctx.t("login.refused"))
    counted.login("ok")
    token = await to_thread.run_sync(trust_device, services.officers, officer.username, at, device)
    services.sessions.drop(ctx.session.sid)
    session = services.sessions.new(
        username=officer.username, unit=officer.unit, officer_code=officer.officer_code,
        credential=credential_of(officer),
    )  # fmt: skip
    response = RedirectResponse("/", status_code=303)
    _set_cookie(ctx.request, response, session)
    set_device_cookie(ctx.request, response, token)
    return response


@page(None)
async def logout(ctx: Context) -> Response:
    ctx.services.sessions.drop(ctx.session.sid)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def set_language(request: Request) -> Response:
    """The language switch: a form (with the session's CSRF token) that sets a cookie."""
    ctx = _anonymous(request)
    form = await form_of(request)
    if not csrf_ok(ctx.session, form.get(CSRF_FIELD)):
        return ctx.render("error.html", status=403, message=ctx.t("csrf"))
    back = form.get("back", "/")
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANG_COOKIE, i18n.language(form.get("lang")), samesite="strict",
                        httponly=True, path="/", max_age=365 * 24 * 3600)  # fmt: skip
    return response


async def healthz(request: Request) -> Response:
    """Alive: the process answers."""
    return PlainTextResponse("ok\n")


async def metrics(request: Request) -> Response:
    """Prometheus' page: the build, log-ins by outcome, the process (no session needed,
    like the processor's; nothing on it names anyone)."""
    counted: WebMetrics = request.app.state.metrics
    return Response(counted.page(), media_type=METRICS_CONTENT_TYPE)


async def readyz(request: Request) -> Response:
    """Ready: PostgreSQL, Kafka and the registry reachable, and the processor's lag under
    SINERGI_WEB_READY_MAX_LAG; 503 with each check's state otherwise."""
    services: Services = request.app.state.services
    ready, checks = await to_thread.run_sync(services.readiness)
    # Whether each service answers, not how it failed: the details name the hub's internal
    # addresses and errors, and this page needs no session (the ops dashboard shows them).
    public = {name: {"ok": bool(check["ok"])} for name, check in checks.items()}
    return JSONResponse({"ready": ready, "checks": public}, status_code=200 if ready else 503)


def routes() -> list[BaseRoute]:
    get, post = ["GET"], ["POST"]
    return [
        Route("/", home, methods=get),
        Route("/login", login_page, methods=["GET", "POST"]),
        Route("/logout", logout, methods=post),
        Route("/lang", set_language, methods=post),
        Route("/healthz", healthz, methods=get),
        Route("/readyz", readyz, methods=get),
        Route("/metrics", metrics, methods=get),
        Route("/alerts", police_pages.inbox, methods=get),
        Route("/alerts/stream", police_pages.stream, methods=get),
        Route("/alerts/{alert_id}", police_pages.alert_page, methods=get),
        Route("/alerts/{alert_id}/ack", police_pages.acknowledge, methods=post),
        Route("/cases/find", police_pages.find_case, methods=post),
        Route("/cases/{case_id}", police_pages.case_page, methods=get),
        Route("/cases/{case_id}/contacts/{event_id}", police_pages.open_contact, methods=post),
        Route("/recruiters/{ref}", police_pages.recruiter_page, methods=get),
        Route("/groups/{key:path}", police_pages.group_page, methods=get),
        Route("/record", desk_pages.record_index, methods=get),
        Route("/record/{form}", desk_pages.record_form, methods=get),
        Route("/record/{form}", desk_pages.record_submit, methods=post),
        Route("/api/nik", desk_pages.nik_check, methods=post),
        Route("/upload", desk_pages.upload_page, methods=get),
        Route("/upload", desk_pages.upload_start, methods=post),
        Route("/upload/{job}", desk_pages.upload_job, methods=get),
        Route("/upload/{job}/status", desk_pages.upload_status, methods=get),
        Route("/upload/{job}/publish", desk_pages.upload_publish, methods=post),
        Route("/upload/{job}/receipt.csv", desk_pages.upload_receipt, methods=get),
        Route("/upload/{job}/refused.csv", desk_pages.upload_refused, methods=get),
        Route("/dashboard", ops_pages.dashboard, methods=get),
        Route("/audit", ops_pages.audit, methods=get),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]


def create_app(services: Services) -> Starlette:
    prepare_login()  # the first unknown name then costs what every later one does
    app = Starlette(
        routes=routes(), middleware=[Middleware(SecurityHeaders), Middleware(BodyLimit)]
    )
    app.state.services = services
    app.state.metrics = WebMetrics()
    app.state.templates = make_templates()
    return app
