"""
The application as the HTTP server runs it (`python -m onetime.serve`): Django's WSGI app
in a bounded pool of threads, behind an ASGI front that reads each request body first.

Why the front: a WSGI thread that reads the body itself is held by a client that sends its
headers and then the body slowly, or never; fifty such connections froze every worker of
gunicorn and of granian's own WSGI mode (docs/performance.md, "Choosing the server"). Here
the body is read by the event loop, where a waiting client costs a coroutine, not a thread,
and must arrive within WEB_BODY_TIMEOUT seconds (else 408). Only a complete request reaches
a thread, with its exact Content-Length (a chunked body is handed on like any other); a
body over the size limit is not read further, and Django answers it 413 from the declared
length. The thread runs the whole WSGI call, response included, and hands the loop the
finished answer: one hand-over per request, and a thread never waits on the loop (which
would hold a worker's shutdown on a client that stopped reading).
"""

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings

from onetime.core.middleware import security_headers
from onetime.wsgi import application as wsgi_application

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

_threads = ThreadPoolExecutor(max_workers=settings.WEB_THREADS, thread_name_prefix="django")

# The one answer made here rather than by Django: a body that did not arrive in time,
# with the security headers of every other answer.
_TIMEOUT_HEADERS: Headers = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"connection", b"close"),
    *((name.lower().encode(), value.encode()) for name, value in security_headers().items()),
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


def _environ(scope: Scope, body: bytes, length: int) -> dict[str, Any]:
    """Return the WSGI environ (PEP 3333) of an HTTP request and its whole body."""
    server_name, server_port = scope.get("server") or ("localhost", 80)
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"].removeprefix(root_path)  # ASGI's path includes the root
    version = scope["http_version"]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        # WSGI strings carry bytes as latin-1; ASGI's paths are decoded UTF-8.
        "SCRIPT_NAME": root_path.encode().decode("latin-1"),
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": f"HTTP/{'1.0' if version == '1' else version}",
        "CONTENT_LENGTH": str(length),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"], remote_port = scope["client"]
        environ["REMOTE_PORT"] = str(remote_port)
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper()
        if "_" in name:
            # X_Forwarded_For would become HTTP_X_FORWARDED_FOR beside the proxy's real
            # header, and pick the client address the rate limits count (gunicorn and
            # runserver drop such names too).
            continue
        name = name.replace("-", "_")
        if name in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the body is whole: its length is the only framing
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        if key in environ:
            value = f"{environ[key]}{'; ' if key == 'HTTP_COOKIE' else ','}{value}"
        environ[key] = value
    return environ


def _call_django(environ: dict[str, Any]) -> tuple[int, Headers, bytes]:
    """Run the WSGI application to the end; return its status, headers and whole body."""
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return written.append

    result: Iterable[bytes] = wsgi_application(environ, start_response)
    try:
        written.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return int(status.split(" ", 1)[0]), encoded, b"".join(written)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return  # websockets are switched off in the server
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
    environ = _environ(scope, body, len(body) if complete else limit + 1)
    loop = asyncio.get_running_loop()
    status, headers, content = await loop.run_in_executor(_threads, _call_django, environ)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
