"""
The production server's front (onetime/asgi.py) turns each request into the WSGI environ
that Django reads (PEP 3333) without letting a client forge what a proxy says.
"""

from typing import Any

from onetime import asgi
from onetime.core.middleware import security_headers


def scope(*headers: tuple[bytes, bytes], **fields: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/secrets",
        "query_string": b"lang=en",
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("192.0.2.7", 51000),
        "headers": list(headers),
        **fields,
    }


def test_a_header_name_with_an_underscore_cannot_pass_for_a_proxys():
    environ = asgi._environ(
        scope((b"x-forwarded-for", b"198.51.100.1"), (b"x_forwarded_for", b"10.9.9.9")),
        b"",
        0,
    )

    assert environ["HTTP_X_FORWARDED_FOR"] == "198.51.100.1"
    assert "10.9.9.9" not in str(environ)


def test_the_body_is_framed_by_its_real_length_only():
    environ = asgi._environ(
        scope((b"transfer-encoding", b"chunked"), (b"content-type", b"application/json")),
        b"{}",
        2,
    )

    assert environ["CONTENT_LENGTH"] == "2"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert "HTTP_TRANSFER_ENCODING" not in environ
    assert environ["wsgi.input"].read() == b"{}"


def test_the_environ_has_what_pep_3333_asks():
    environ = asgi._environ(
        scope(
            (b"cookie", b"a=1"),
            (b"cookie", b"lang=en"),
            (b"accept", b"text/html"),
            (b"accept", b"*/*"),
            http_version="1",
            root_path="/onetime",
            path="/onetime/s/caf\u00e9",
        ),
        b"",
        0,
    )

    assert environ["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/onetime", "/s/caf\u00c3\u00a9")
    assert environ["QUERY_STRING"] == "lang=en"
    assert (environ["REMOTE_ADDR"], environ["SERVER_PORT"]) == ("192.0.2.7", "8000")
    assert environ["HTTP_COOKIE"] == "a=1; lang=en"  # cookies are separated by ';'
    assert environ["HTTP_ACCEPT"] == "text/html,*/*"


def test_the_fronts_own_answer_has_every_security_header():
    sent = {name.decode(): value.decode() for name, value in asgi._TIMEOUT_HEADERS}

    for name, value in security_headers().items():
        assert sent[name.lower()] == value
