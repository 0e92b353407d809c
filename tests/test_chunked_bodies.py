"""
A request body sent with `Transfer-Encoding: chunked` (no Content-Length) is read like any
other, up to the same size limit, whatever the WSGI server: curl -T, HTTP client libraries
that stream, and proxies send such bodies.
"""

import io
import json
import socket
import uuid
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from onetime.vault.models import Secret
from tests.conftest import post_json
from tests.processes import chunked, database_url, exchange, http_get, raw_post, start_web, stop

# Whitespace, CR LF, two- three- and four-byte characters: it must come back byte for byte.
PLAINTEXT = "  ключ: p@ss €\r\n\twith 😀 and trailing spaces  \n"


def call(app, body: bytes, *, chunked: bool = True, path: str = "/api/v1/secrets"):
    """POST ``body`` to ``app`` as a WSGI server hands it over; return (status, headers, body)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
    }
    if chunked:
        # What gunicorn and granian pass on: the body de-chunked, and no CONTENT_LENGTH.
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    setup_testing_defaults(environ)
    started: list[tuple[str, list[tuple[str, str]]]] = []
    result = app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
    try:
        content = b"".join(result)
    finally:
        result.close()
    status, headers = started[0]
    return int(status.split()[0]), dict(headers), content


def reveal(secret_id: str) -> str:
    response = post_json(Client(), f"/api/v1/secrets/{secret_id}/reveal")
    assert response.status_code == 200
    return str(response.json()["secret"])


@pytest.mark.django_db
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_chunked_body_is_read_like_one_with_a_length(wsgi_application, chunked):
    body = json.dumps({"secret": PLAINTEXT, "ttl": 3600}).encode()

    status, _, content = call(wsgi_application, body, chunked=chunked)

    assert status == 201, content
    assert reveal(json.loads(content)["id"]) == PLAINTEXT


@pytest.mark.django_db
def test_a_chunked_body_over_the_limit_is_refused_with_413(wsgi_application, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"secret": "x" * 2000}).encode()

    status, headers, content = call(wsgi_application, body)

    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert json.loads(content)["status"] == "too_large"
    assert not Secret.objects.exists()


@pytest.mark.django_db
def test_a_chunked_body_of_exactly_the_limit_is_read(wsgi_application, settings):
    padding = '{"secret": "%s"}'
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = (padding % ("x" * (1000 - len(padding % "")))).encode()
    assert len(body) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    status, _, content = call(wsgi_application, body)

    assert status == 201, content


# --- Through a real server ------------------------------------------------------------------


@pytest.fixture
def web_server(tmp_path):
    web = start_web(database_url(connection.settings_dict), tmp_path / "web.log")
    yield web
    assert stop(web.process) == 0


def post_chunked(port: int, body: bytes, chunk_size: int = 7) -> tuple[int, bytes]:
    request = raw_post(port, "/api/v1/secrets", b"", Content_Type="application/json")
    request = request.replace(b"Content-Length: 0", b"Transfer-Encoding: chunked")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        return exchange(sock, request + chunked(body, chunk_size))


@pytest.mark.django_db(transaction=True)
def test_the_web_server_serves_a_chunked_create_and_the_secret_comes_back_byte_exact(web_server):
    body = json.dumps({"secret": PLAINTEXT}, ensure_ascii=False).encode()

    status, content = post_chunked(web_server.port, body)

    assert status == 201, content
    secret_id = json.loads(content)["id"]
    assert uuid.UUID(secret_id)
    revealed = http_get(f"{web_server.url}/api/v1/secrets/{secret_id}")
    assert revealed.status == 200
    assert reveal(secret_id) == PLAINTEXT


@pytest.mark.django_db(transaction=True)
def test_the_web_server_refuses_a_chunked_body_over_the_limit_with_413(web_server):
    body = json.dumps({"secret": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}).encode()

    status, content = post_chunked(web_server.port, body, chunk_size=65536)

    assert status == 413, content
    assert json.loads(content)["status"] == "too_large"
    assert not Secret.objects.exists()
