"""
The headers of PRODUCT.md §2.4 on every answer: pages and API answers, health checks and
the answers Django itself gives (bad Host, 404, 405, 500, CSRF, 413, 415); and pages that
keep to their Content-Security-Policy (no inline script or style at all).
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import time_machine
from django.test import Client

from onetime.vault import services
from tests.conftest import make_secret, post_json

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

# The middle of a minute, so that a rate-limit window cannot roll over between two requests.
T0 = datetime(2030, 1, 2, 3, 4, 30, tzinfo=UTC)

# A case sends the requests that lead to one answer and returns that answer.
Case = Callable[[Client, Any], Any]


@pytest.fixture(autouse=True)
def _frozen_clock_and_no_rate_limits(no_rate_limits):
    with time_machine.travel(T0, tick=False):
        yield


def _revealed_secret() -> str:
    created = make_secret("hunter2")
    Client().post(f"/s/{created.secret.id}")
    return str(created.secret.id)


def _expired_secret() -> str:
    with time_machine.travel(T0 - timedelta(minutes=5), tick=False):
        return str(make_secret("hunter2", ttl=60).secret.id)


def _rate_limited(settings: Any, send: Callable[[], Any]) -> Any:
    settings.ONETIME_RATE_CREATE = (1, 60)
    first = send()
    assert first.status_code in {200, 201}
    return send()


def _web_secret_over_the_limit(client: Client, settings: Any) -> Any:
    settings.ONETIME_MAX_SECRET_BYTES = 10
    return client.post("/", {"secret": "x" * 11, "ttl": "3600"})


def _web_body_over_the_limit(client: Client, settings: Any) -> Any:
    # RequestSizeMiddleware answers before Django reads the body.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    return client.post("/", {"secret": "x" * 2000, "ttl": "3600"})


def _api_secret_over_the_limit(client: Client, settings: Any) -> Any:
    settings.ONETIME_MAX_SECRET_BYTES = 10
    return post_json(client, "/api/v1/secrets", {"secret": "x" * 11})


WEB_PAGES: dict[str, tuple[int, Case]] = {
    "create form": (200, lambda c, s: c.get("/")),
    "created": (200, lambda c, s: c.post("/", {"secret": "hunter2", "ttl": "3600"})),
    "reveal offer": (200, lambda c, s: c.get(f"/s/{make_secret().secret.id}")),
    "reveal offer with passphrase": (
        200,
        lambda c, s: c.get(f"/s/{make_secret(passphrase='open sesame').secret.id}"),
    ),
    "revealed": (200, lambda c, s: c.post(f"/s/{make_secret().secret.id}")),
    "receipt": (200, lambda c, s: c.get(f"/r/{make_secret().receipt_token}")),
    "receipt burned": (200, lambda c, s: c.post(f"/r/{make_secret().receipt_token}/burn")),
    "invalid form": (400, lambda c, s: c.post("/", {"secret": "", "ttl": "3600"})),
    "wrong passphrase": (
        403,
        lambda c, s: c.post(
            f"/s/{make_secret(passphrase='open sesame').secret.id}", {"passphrase": "nope"}
        ),
    ),
    "csrf failure": (
        403,
        lambda c, s: Client(enforce_csrf_checks=True).post("/", {"secret": "x", "ttl": "3600"}),
    ),
    "unknown secret": (404, lambda c, s: c.get(f"/s/{uuid.uuid4()}")),
    "malformed id": (404, lambda c, s: c.get("/s/nope")),
    "unknown page": (404, lambda c, s: c.get("/no/such/page")),
    "unknown receipt": (404, lambda c, s: c.get("/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
    "destroyed": (410, lambda c, s: c.get(f"/s/{_revealed_secret()}")),
    "destroyed, posted": (410, lambda c, s: c.post(f"/s/{_revealed_secret()}")),
    "expired": (410, lambda c, s: c.get(f"/s/{_expired_secret()}")),
    "expired, posted": (410, lambda c, s: c.post(f"/s/{_expired_secret()}")),
    "secret over the limit": (413, _web_secret_over_the_limit),
    "body over the limit": (413, _web_body_over_the_limit),
    "rate limited": (
        429,
        lambda c, s: _rate_limited(s, lambda: c.post("/", {"secret": "x", "ttl": "3600"})),
    ),
}

OTHER_WEB_ANSWERS: dict[str, tuple[int, Case]] = {
    "method not allowed": (405, lambda c, s: c.put("/")),
    "head of the reveal offer": (200, lambda c, s: c.head(f"/s/{make_secret().secret.id}")),
}

API_ANSWERS: dict[str, tuple[int, Case]] = {
    "created": (201, lambda c, s: post_json(c, "/api/v1/secrets", {"secret": "hunter2"})),
    "metadata": (200, lambda c, s: c.get(f"/api/v1/secrets/{make_secret().secret.id}")),
    "revealed": (
        200,
        lambda c, s: post_json(c, f"/api/v1/secrets/{make_secret().secret.id}/reveal"),
    ),
    "receipt": (200, lambda c, s: c.get(f"/api/v1/receipts/{make_secret().receipt_token}")),
    "burned": (
        200,
        lambda c, s: post_json(c, f"/api/v1/receipts/{make_secret().receipt_token}/burn"),
    ),
    "invalid": (400, lambda c, s: post_json(c, "/api/v1/secrets", {"ttl": 3600})),
    "invalid json": (
        400,
        lambda c, s: c.post("/api/v1/secrets", "{", content_type="application/json"),
    ),
    "wrong passphrase": (
        403,
        lambda c, s: post_json(
            c,
            f"/api/v1/secrets/{make_secret(passphrase='open sesame').secret.id}/reveal",
            {"passphrase": "nope"},
        ),
    ),
    "unknown secret": (404, lambda c, s: post_json(c, f"/api/v1/secrets/{uuid.uuid4()}/reveal")),
    "malformed id": (404, lambda c, s: c.get("/api/v1/secrets/nope")),
    "unknown path": (404, lambda c, s: c.get("/api/v1/nope")),
    "method not allowed": (
        405,
        lambda c, s: c.get(f"/api/v1/secrets/{make_secret().secret.id}/reveal"),
    ),
    "destroyed": (410, lambda c, s: post_json(c, f"/api/v1/secrets/{_revealed_secret()}/reveal")),
    "expired": (410, lambda c, s: c.get(f"/api/v1/secrets/{_expired_secret()}")),
    "too large": (413, _api_secret_over_the_limit),
    "not json": (
        415,
        lambda c, s: c.post("/api/v1/secrets", "secret=x", content_type="text/plain"),
    ),
    "rate limited": (
        429,
        lambda c, s: _rate_limited(
            s, lambda: post_json(c, "/api/v1/secrets", {"secret": "hunter2"})
        ),
    ),
}

# Answers that Django, WhiteNoise or a middleware produce before or instead of a view.
DJANGO_ANSWERS: dict[str, tuple[int, Case]] = {
    "healthz": (200, lambda c, s: c.get("/healthz")),
    "readyz": (200, lambda c, s: c.get("/readyz")),
    "metrics": (200, lambda c, s: c.get("/metrics")),
    "web bad host": (400, lambda c, s: c.get("/", headers={"host": "evil.example"})),
    "api bad host": (
        400,
        lambda c, s: c.get("/api/v1/secrets/nope", headers={"host": "evil.example"}),
    ),
    "unknown static file": (404, lambda c, s: c.get("/static/core/nope.css")),
    "static method not allowed": (405, lambda c, s: c.put("/static/core/onetime.css")),
}

ALL_ANSWERS = {
    **{f"web {name}": case for name, case in {**WEB_PAGES, **OTHER_WEB_ANSWERS}.items()},
    **{f"api {name}": case for name, case in API_ANSWERS.items()},
    **DJANGO_ANSWERS,
}


def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives.setdefault(name.lower(), sources)
    return directives


@pytest.mark.parametrize(("status", "case"), ALL_ANSWERS.values(), ids=ALL_ANSWERS.keys())
def test_it_sets_the_security_headers(client, settings, status, case):
    response = case(client, settings)
    response.close()  # a static file's answer streams from an open file

    assert response.status_code == status
    assert_security_headers(response)


@pytest.mark.parametrize("path", [f"/s/{uuid.uuid4()}", f"/api/v1/secrets/{uuid.uuid4()}"])
def test_the_server_error_answer_sets_them_too(monkeypatch, path):
    def crash(**kwargs: Any) -> None:
        raise RuntimeError("a bug that only the 500 handler catches")

    monkeypatch.setattr(services, "secret_get", crash)

    response = Client(raise_request_exception=False).get(path)

    assert response.status_code == 500
    assert_security_headers(response)


def assert_security_headers(response: Any) -> None:
    assert "no-store" in [d.strip() for d in response["Cache-Control"].split(",")]
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = csp_directives(response["Content-Security-Policy"])
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src, "no script-src or default-src"
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(
        script_src
    )
    style_src = csp.get("style-src", csp.get("default-src"))
    assert style_src
    assert "'unsafe-inline'" not in style_src
    assert csp.get("frame-ancestors") == ["'none'"]


class _InlineCode(HTMLParser):
    """Collect everything a strict CSP would block: inline script, inline style, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.script_tags: list[dict[str, str | None]] = []
        self.inline_script = ""
        self.style_blocks = 0
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []
        self.javascript_urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.script_tags.append(attributes)
            self._in_script = True
        if tag == "style":
            self.style_blocks += 1
        if "style" in attributes:
            self.style_attributes.append(tag)
        self.handlers += [f"{tag}[{name}]" for name in attributes if name.startswith("on")]
        self.javascript_urls += [
            f"{tag}[{name}]"
            for name, value in attrs
            if value and value.strip().lower().startswith("javascript:")
        ]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_script = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_script += data


@pytest.mark.parametrize(("status", "case"), WEB_PAGES.values(), ids=WEB_PAGES.keys())
def test_it_serves_pages_without_inline_script_or_style(client, settings, status, case):
    response = case(client, settings)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    found = _InlineCode()

    found.feed(response.content.decode())
    found.close()

    assert found.script_tags, "the page loads no script at all: is this the right page?"
    assert all(attributes.get("src") for attributes in found.script_tags)
    assert found.inline_script.strip() == ""
    assert found.style_blocks == 0
    assert found.style_attributes == []
    assert found.handlers == []
    assert found.javascript_urls == []
