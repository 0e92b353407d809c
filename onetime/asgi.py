"""
The application as the HTTP server runs it (`python -m onetime.serve`): Django's WSGI app
in a bounded pool of threads, behind an ASGI front that reads each request body first.

Why the front: a WSGI thread that reads the body itself is held by a client that sends its
headers and then the body slowly, or never; fifty such connections froze every worker of
the previous server (docs/performance.md, "Choosing the server"). Here the body is read by
the event loop, where a waiting client costs a coroutine, not a thread, and must arrive
within WEB_BODY_TIMEOUT seconds. Only complete requests reach a thread, with an exact
Content-Length: a chunked body is handed on like any other. A body over the size limit is
not read further: Django answers it 413 from the declared length.
"""

import asyncio
from typing import Any, cast

from a2wsgi import WSGIMiddleware
from a2wsgi.asgi_typing import HTTPRequestEvent, HTTPScope, Receive, ReceiveEvent, Scope, Send
from django.conf import settings

from onetime.wsgi import application as wsgi_application

# Django's handler returns a response object, which is the iterable WSGI asks for.
_django = WSGIMiddleware(cast(Any, wsgi_application), workers=settings.WEB_THREADS)

# The one answer made here rather than by Django: a body that did not arrive in time.
# Same security headers as every other answer (onetime/core/middleware.py).
_TIMEOUT_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"connection", b"close"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"x-robots-tag", b"noindex, nofollow"),
]


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool] | None:
    """
    Return (body, complete) once the client sent it all or passed ``limit`` bytes; None
    when the client went away.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"", False
        if not message.get("more_body"):
            return b"".join(chunks), True


def _with_length(scope: HTTPScope, length: int) -> HTTPScope:
    """Return ``scope`` with the body's real length as its only framing header."""
    headers = [
        (name, value)
        for name, value in scope["headers"]
        if name.lower() not in (b"content-length", b"transfer-encoding")
    ]
    headers.append((b"content-length", str(length).encode()))
    return cast(HTTPScope, {**scope, "headers": headers})


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        await _django(scope, receive, send)  # lifespan; websockets are refused
        return
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        read = await asyncio.wait_for(_read_body(receive, limit), settings.WEB_BODY_TIMEOUT)
    except TimeoutError:
        await send({"type": "http.response.start", "status": 408, "headers": _TIMEOUT_HEADERS})
        await send({"type": "http.response.body", "body": b"The request body did not arrive.\n"})
        return
    if read is None:
        return
    body, complete = read
    # Over the limit: Django sees the declared size and answers 413 without reading.
    scope = _with_length(scope, len(body) if complete else limit + 1)
    delivered = False

    async def replay() -> ReceiveEvent:
        nonlocal delivered
        if not delivered:
            delivered = True
            return HTTPRequestEvent(type="http.request", body=body, more_body=False)
        return {"type": "http.disconnect"}

    await _django(scope, replay, send)
