"""WSGI-level wrappers of the Django application (onetime/wsgi.py applies them)."""

import io
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from django.conf import settings

# Read a buffered body in pieces of this size.
_READ_SIZE = 64 * 1024


class ChunkedRequestBody:
    """
    Give Django the body of a request sent with ``Transfer-Encoding: chunked``.

    WSGI cannot say "a body of unknown length": a server de-chunks such a body and leaves
    CONTENT_LENGTH unset, and Django reads nothing (its request stream stops after
    CONTENT_LENGTH bytes, 0 when unset), so the body was silently ignored. Read it here to
    its end, at most DATA_UPLOAD_MAX_MEMORY_SIZE + 1 bytes, and set CONTENT_LENGTH; a body
    over the limit then gets RequestSizeMiddleware's 413 and is read no further. This needs
    nothing from the server but a de-chunked ``wsgi.input`` that ends where the body ends
    (gunicorn, granian); Django's development server passes no chunked body on at all.
    """

    def __init__(self, application: WSGIApplication) -> None:
        self.application = application

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not environ.get("CONTENT_LENGTH") and _is_chunked(environ):
            _buffer_body(environ, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return self.application(environ, start_response)


def _is_chunked(environ: WSGIEnvironment) -> bool:
    codings = str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower().split(",")
    return "chunked" in (coding.strip() for coding in codings)


def _buffer_body(environ: WSGIEnvironment, *, limit: int) -> None:
    stream = environ["wsgi.input"]
    pieces: list[bytes] = []
    size = 0
    while size <= limit:
        piece = stream.read(min(_READ_SIZE, limit + 1 - size))
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    environ["CONTENT_LENGTH"] = str(size)
    # Over the limit (size is limit + 1) the answer is 413 before anything reads the body.
    environ["wsgi.input"] = io.BytesIO(b"".join(pieces) if size <= limit else b"")
