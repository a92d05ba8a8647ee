"""Every route's gate: the session, the capability it needs, the CSRF token; and how a page
is rendered (language, WITA times, the officer's menu).

Routes are registered only through :func:`page` (or listed in :data:`PUBLIC`), so a
route without a declared capability cannot exist: deny by default.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from sinergi.config import Settings
from sinergi.display import local_time
from sinergi.web import i18n, routing
from sinergi.web.access import Capability, UnitRole, capabilities, unit_role
from sinergi.web.choices import choices
from sinergi.web.dashboard import duration
from sinergi.web.officers import (
    DEVICE_COOKIE,
    DEVICE_TRUSTED_FOR,
    LoginPolicy,
    OfficerStore,
    credential_of,
)
from sinergi.web.sessions import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    LANG_COOKIE,
    Session,
    SessionStore,
    csrf_ok,
)

HERE = Path(__file__).parent
# Routes anyone may reach: logging in, the language, health, static files.
PUBLIC = frozenset({"/login", "/lang", "/healthz", "/readyz", "/metrics", "/static", "/"})

Handler = Callable[["Context"], Awaitable[Response]]


class Services(Protocol):
    """What the pages use; the real ones are wired in sinergi.bootstrap.web_services,
    unit tests pass fakes."""

    settings: Settings
    officers: OfficerStore
    sessions: SessionStore
    policy: LoginPolicy

    @property
    def ledger(self) -> Any: ...
    @property
    def recorder(self) -> Any: ...
    @property
    def uploads(self) -> Any: ...
    def dashboard(self) -> Any: ...
    def health(self) -> Any: ...
    def open_contact(self, sealed: str) -> str: ...
    def readiness(self) -> tuple[bool, dict[str, Any]]: ...


@dataclass
class Context:
    """One request as a page sees it: who, in which language, allowed to do what."""

    request: Request
    services: Services
    session: Session
    lang: str
    unit: UnitRole | None = None
    caps: frozenset[Capability] = frozenset()
    form: dict[str, str] = field(default_factory=dict)

    @property
    def t(self) -> Callable[..., str]:
        return i18n.translator(self.lang)

    @property
    def visible(self) -> frozenset[str] | None:
        """The regencies whose alerts the officer's unit sees (None: all)."""
        assert self.unit is not None
        return routing.regencies_of_unit(self.unit.unit)

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        templates: Jinja2Templates = self.request.app.state.templates
        return templates.TemplateResponse(
            self.request,
            template,
            {
                "t": self.t,
                "lang": self.lang,
                "session": self.session,
                "unit": self.unit,
                "caps": {c.value for c in self.caps},
                "csrf": self.session.csrf,
                **values,
            },
            status_code=status,
        )


def wita(moment: datetime | None) -> str:
    return local_time(moment) if moment else "-"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.globals.update(
        wita=wita,
        regency_name=routing.regency_name,
        polres_name=routing.polres_name,
        polres_of=routing.polres_of_regency,
        column=i18n.column,
        problem=i18n.problem,
        field_problem=i18n.field_problem,
        duration=duration,
        choices=choices,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return templates


def _session(request: Request, services: Services) -> tuple[Session, bool]:
    """The request's session, or a new anonymous one (and whether it is new)."""
    found = services.sessions.get(request.cookies.get(COOKIE))
    if found is not None:
        return found, False
    return services.sessions.new(), True


def _secure(request: Request) -> bool:
    """Whether cookies are ``Secure``: when the request came over HTTPS, or when people
    open the application at an https address (``SINERGI_WEB_PUBLIC_URL``): behind the TLS
    proxy a deployment beyond loopback needs, the application is reached over plain HTTP."""
    services: Services = request.app.state.services
    public = services.settings.web_public_url.lower().startswith("https://")
    return public or request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE, session.sid, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )


def set_device_cookie(request: Request, response: Response, token: str) -> None:
    """The browser's token (:func:`sinergi.web.officers.trust_device`): sent with log-ins
    only, kept as long as the store trusts it."""
    response.set_cookie(
        DEVICE_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
        path="/login", max_age=int(DEVICE_TRUSTED_FOR.total_seconds()),
    )  # fmt: skip


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(("/stream", "/status"))


async def form_of(request: Request) -> dict[str, str]:
    if request.method != "POST":
        return {}
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            return {}
        return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form(max_files=1, max_fields=200)
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return {}


def _refuse(ctx: Context, status: int, key: str) -> Response:
    if wants_json(ctx.request):
        return JSONResponse({"error": ctx.t(key)}, status_code=status)
    return ctx.render("error.html", status=status, message=ctx.t(key))


def page(
    capability: Capability | None,
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A route that needs ``capability`` (None: only a session); POSTs need the CSRF token.

    Refused without a session (a page sends to the log-in, an API answers 401), for a
    unit whose role lacks the capability (403), without the session's CSRF token (403),
    and for an officer disabled, moved to another unit or given a new password since they
    logged in (the session ends).
    """

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            services: Services = request.app.state.services
            session, new = _session(request, services)
            lang = i18n.language(request.cookies.get(LANG_COOKIE))
            ctx = Context(request, services, session, lang)
            response = await _guarded(ctx, capability, handler)
            if new:
                set_session_cookie(request, response, session)
            return response

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        endpoint.capability = capability  # type: ignore[attr-defined]
        return endpoint

    return wrap


async def _guarded(ctx: Context, capability: Capability | None, handler: Handler) -> Response:
    session = ctx.session
    if not session.logged_in or session.username is None:
        if wants_json(ctx.request) or ctx.request.method != "GET":
            return JSONResponse({"error": "not logged in"}, status_code=401)
        return RedirectResponse("/login", status_code=303)
    officer = ctx.services.officers.get(session.username)
    if (
        officer is None
        or officer.disabled_at is not None
        or officer.unit != session.unit
        or credential_of(officer) != session.credential
    ):
        ctx.services.sessions.drop(session.sid)
        return RedirectResponse("/login", status_code=303)
    ctx.unit = unit_role(officer.unit)
    ctx.caps = capabilities(ctx.unit)
    if capability is not None and capability not in ctx.caps:
        return _refuse(ctx, 403, "forbidden")
    if ctx.request.method == "POST":
        ctx.form = await form_of(ctx.request)
        token = ctx.form.get(CSRF_FIELD) or ctx.request.headers.get(CSRF_HEADER)
        if not csrf_ok(session, token):
            return _refuse(ctx, 403, "csrf")
    return await handler(ctx)


def now() -> datetime:
    return datetime.now(UTC)
