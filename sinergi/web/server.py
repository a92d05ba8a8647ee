"""Serving the browser application with uvicorn, the notifier beside it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette

from sinergi import bootstrap
from sinergi.config import Settings
from sinergi.web.app import create_app

log = logging.getLogger(__name__)


def build(settings: Settings, *, notify: bool = True) -> Starlette:
    """The application on the real stack; with ``notify``, the notifier runs while it
    serves (one notifier at a time holds the lock, so a second web app only waits)."""
    app = create_app(bootstrap.web_services(settings))
    if notify:
        loop = bootstrap.notifier_loop(settings)

        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            loop.start()
            try:
                yield
            finally:
                loop.stop()

        app.router.lifespan_context = lifespan
    return app


def serve(settings: Settings, *, notify: bool = True) -> None:
    """Serve on SINERGI_WEB_HOST:SINERGI_WEB_PORT until SIGTERM or SIGINT."""
    bootstrap.ensure_web_role(settings)
    app = build(settings, notify=notify)
    log.info("web: http://%s:%d/", settings.web_host, settings.ports.web)
    uvicorn.run(
        app,
        host=settings.web_host,
        port=settings.ports.web,
        log_level="info",
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=3,
    )
