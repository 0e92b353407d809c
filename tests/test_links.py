"""
The links a sender gets (the share link and the receipt) come from ONETIME_BASE_URL or,
without it, from what the server has validated of the request: the host name that
ALLOWED_HOSTS accepted, and a port only when it is the port the server serves on. A port
in the Host header is not checked by anyone else, and the sender would pass it on.
"""

import json
import re
import urllib.request
import uuid

import pytest
from django.db import connection
from django.test import Client

from onetime.vault.links import receipt_url, secret_url, site_url
from tests.processes import database_url, start_web, stop

pytestmark = [pytest.mark.django_db]

ID = r"[0-9a-f-]{36}"
TOKEN = r"[A-Za-z0-9_-]{32}"


def create_via_api(host: str, server_port: str, secure: bool = False) -> dict[str, str]:
    response = Client().post(
        "/api/v1/secrets",
        json.dumps({"secret": "hunter2"}),
        content_type="application/json",
        headers={"host": host},
        secure=secure,
        SERVER_PORT=server_port,
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def create_via_form(host: str, server_port: str, secure: bool = False) -> tuple[str, str]:
    response = Client().post(
        "/",
        {"secret": "hunter2", "ttl": "3600"},
        headers={"host": host},
        secure=secure,
        SERVER_PORT=server_port,
    )
    assert response.status_code == 200
    page = response.content.decode()
    share = re.search(r'id="share-url"[^>]*>([^<]+)</code>', page)
    receipt = re.search(r'id="receipt-url"[^>]*>([^<]+)</code>', page)
    assert share
    assert receipt
    return share.group(1), receipt.group(1)


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("host", "server_port", "scheme", "base"),
    [
        # A port the server does not serve on is dropped; its own port is kept.
        ("localhost:6666", "8000", "http", "http://localhost"),
        ("localhost:8000", "8000", "http", "http://localhost:8000"),
        ("localhost", "8000", "http", "http://localhost"),
        ("127.0.0.1:8000", "8000", "http", "http://127.0.0.1:8000"),
        ("[::1]:8000", "8000", "http", "http://[::1]:8000"),
        ("[::1]:1", "8000", "http", "http://[::1]"),
        ("localhost:443", "8443", "https", "https://localhost"),
        # Host names are case-insensitive and may end in a dot: the link uses the plain name.
        ("LocalHost.:8000", "8000", "http", "http://localhost:8000"),
    ],
)
def test_without_a_base_url_links_use_the_validated_host(host, server_port, scheme, base):
    body = create_via_api(host, server_port, secure=scheme == "https")
    share, receipt = create_via_form(host, server_port, secure=scheme == "https")

    assert re.fullmatch(rf"{re.escape(base)}/s/{ID}", body["url"])
    assert re.fullmatch(rf"{re.escape(base)}/r/{TOKEN}", body["receipt_url"])
    assert re.fullmatch(rf"{re.escape(base)}/s/{ID}", share)
    assert re.fullmatch(rf"{re.escape(base)}/r/{TOKEN}", receipt)


@pytest.mark.sqlite
def test_with_a_base_url_the_request_does_not_matter(settings):
    settings.ONETIME_BASE_URL = "https://onetime.example.com"

    body = create_via_api("localhost:6666", "6666")

    assert re.fullmatch(rf"https://onetime\.example\.com/s/{ID}", body["url"])
    assert re.fullmatch(rf"https://onetime\.example\.com/r/{TOKEN}", body["receipt_url"])


EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - a HOST setting's value, nothing is bound


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("base_url", "host", "port", "expected"),
    [
        ("https://onetime.example.com", EVERY_INTERFACE, 8000, "https://onetime.example.com"),
        ("", EVERY_INTERFACE, 8123, "http://127.0.0.1:8123"),
        ("", "::", 8000, "http://127.0.0.1:8000"),
        ("", "127.0.0.1", 8000, "http://127.0.0.1:8000"),
        ("", "onetime.lan", 80, "http://onetime.lan:80"),
        ("", "::1", 8000, "http://[::1]:8000"),
    ],
)
def test_links_outside_a_request_use_the_base_url_else_where_the_server_listens(
    settings, base_url, host, port, expected
):
    settings.ONETIME_BASE_URL, settings.HOST, settings.PORT = base_url, host, port
    secret_id = uuid.UUID(int=7)

    assert site_url() == expected
    assert secret_url(None, secret_id) == f"{expected}/s/{secret_id}"
    assert receipt_url(None, "t" * 32) == f"{expected}/r/{'t' * 32}"


@pytest.fixture
def web_server(tmp_path):
    web = start_web(database_url(connection.settings_dict), tmp_path / "web.log")
    yield web
    assert stop(web.process) == 0


def create_through(port: int, host: str) -> dict[str, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/secrets",
        data=json.dumps({"secret": "hunter2"}).encode(),
        headers={"Content-Type": "application/json", "Host": host},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 201
        return dict(json.load(response))


@pytest.mark.django_db(transaction=True)
def test_a_real_server_keeps_its_own_port_and_drops_any_other(web_server):
    """`make run` serves on http://127.0.0.1:8000 without ONETIME_BASE_URL: its links work."""
    own = create_through(web_server.port, f"127.0.0.1:{web_server.port}")
    other = create_through(web_server.port, "127.0.0.1:6666")

    assert own["url"] == f"http://127.0.0.1:{web_server.port}/s/{own['id']}"
    assert other["url"] == f"http://127.0.0.1/s/{other['id']}"
