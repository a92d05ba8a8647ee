"""The browser application's two plain ASGI middlewares (plain, so that the alert stream
passes through untouched): the security headers of every response, and how much a request
may send."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from producers.formkit import FILE_MAX_BYTES


class HttpMiddleware:
    """Applies :meth:`http` to HTTP requests; anything else (the lifespan) passes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
        b" frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


# Pages hold cases, alerts and opened contacts: neither the browser's cache nor its Back
# button after a log-out on a shared post or police computer may show them again.
NOT_KEPT = (b"cache-control", b"no-store")


class SecurityHeaders(HttpMiddleware):
    """Adds the security headers to every response, and ``Cache-Control: no-store`` to
    every one but the static files' that says nothing of caching."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        cached = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *SECURITY_HEADERS]
                if not cached and not any(name == b"cache-control" for name, _ in headers):
                    headers.append(NOT_KEPT)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


# --- how much a request may send -----------------------------------------------------------
# A CSV upload up to the desks' own file limit, anything else a little (a form, a NIK to
# check). Refused with 413 before it is read (its stated length) or as soon as it passes
# the limit (a body sent without one), so that nobody, with a session or without, fills
# the web process's memory or disk with one request.

# The upload form: the file (as large as a desk takes one) and its few fields.
UPLOAD_PATH = "/upload"
UPLOAD_BODY_MAX = FILE_MAX_BYTES + 64 * 1024
# Every other request: a form of a record, a log-in, a NIK to check.
BODY_MAX = 256 * 1024


class TooLargeError(Exception):
    pass


class BodyLimit(HttpMiddleware):
    """413 for a body over its path's limit."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = UPLOAD_BODY_MAX if scope["path"] == UPLOAD_PATH else BODY_MAX
        stated = dict(scope.get("headers", [])).get(b"content-length", b"")
        if stated.isdigit() and int(stated) > limit:
            await _refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLargeError
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except TooLargeError:
            if not started:
                await _refuse(send)


async def _refuse(send: Send) -> None:
    body = b"the request is too large\n"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
