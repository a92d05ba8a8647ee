"""How much a request may send: a CSV upload up to the desks' own file limit, anything
else a little (a form, a NIK to check). Refused with 413 before it is read (its stated
length) or as soon as it passes the limit (a body sent without one), so that nobody, with
a session or without, fills the web process's memory or disk with one request."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from producers.formkit import FILE_MAX_BYTES

# The upload form: the file (as large as a desk takes one) and its few fields.
UPLOAD_PATH = "/upload"
UPLOAD_BODY_MAX = FILE_MAX_BYTES + 64 * 1024
# Every other request: a form of a record, a log-in, a NIK to check.
BODY_MAX = 256 * 1024


class TooLargeError(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
