"""
Every route answers every method without a 500: what it serves as usual, anything else
(OPTIONS and unknown methods included) 405 with a clear message and an `Allow` header that
lists exactly what it serves. HEAD is served wherever GET is.
"""

import logging

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

SECRET_ID = "6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

SAFE = frozenset({"GET", "HEAD"})
POST = frozenset({"POST"})
ANY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"})
# Password Pusher's GET that consumes: HEAD would run it, so it is refused.
CONSUMING = frozenset({"GET", "DELETE"})

# Each route (as Django names its pattern), a path that matches it and what it serves.
ROUTES: dict[str, tuple[str, frozenset[str]]] = {
    "": ("/", SAFE | POST),
    "s/<uuid:secret_id>": (f"/s/{SECRET_ID}", SAFE | POST),
    "r/<token:token>": (f"/r/{TOKEN}", SAFE),
    "r/<token:token>/burn": (f"/r/{TOKEN}/burn", POST),
    "api/v1/secrets": ("/api/v1/secrets", POST),
    "api/v1/secrets/<uuid:secret_id>": (f"/api/v1/secrets/{SECRET_ID}", SAFE),
    "api/v1/secrets/<uuid:secret_id>/reveal": (f"/api/v1/secrets/{SECRET_ID}/reveal", POST),
    "api/v1/receipts/<token:token>": (f"/api/v1/receipts/{TOKEN}", SAFE),
    "api/v1/receipts/<token:token>/burn": (f"/api/v1/receipts/{TOKEN}/burn", POST),
    "api/v1/codes/verify": ("/api/v1/codes/verify", POST),
    "healthz": ("/healthz", SAFE),
    "readyz": ("/readyz", SAFE),
    "metrics": ("/metrics", SAFE),
    "telegram/webhook/": ("/telegram/webhook/", POST),
    "api/schema/": ("/api/schema/", SAFE),
    "api/docs/": ("/api/docs/", SAFE),
    # Password Pusher's API (docs/compatibility.md): its consuming GET takes no HEAD.
    "api/v1/version.json": ("/api/v1/version.json", SAFE),
    "api/v1/version": ("/api/v1/version", SAFE),
    "api/v2/version.json": ("/api/v2/version.json", SAFE),
    "api/v2/version": ("/api/v2/version", SAFE),
    "p.json": ("/p.json", POST),
    "p/active.json": ("/p/active.json", SAFE),
    "p/expired.json": ("/p/expired.json", SAFE),
    "p/<str:token>/preview.json": (f"/p/{SECRET_ID}/preview.json", SAFE),
    "p/<str:token>/audit.json": (f"/p/{SECRET_ID}/audit.json", SAFE),
    "p/<str:token>.json": (f"/p/{SECRET_ID}.json", CONSUMING),
    "p/<uuid:secret_id>": (f"/p/{SECRET_ID}", SAFE),
    "p/<uuid:secret_id>/r": (f"/p/{SECRET_ID}/r", SAFE),
    "api/v2/pushes.json": ("/api/v2/pushes.json", POST),
    "api/v2/pushes": ("/api/v2/pushes", POST),
    "api/v2/pushes/active.json": ("/api/v2/pushes/active.json", SAFE),
    "api/v2/pushes/active": ("/api/v2/pushes/active", SAFE),
    "api/v2/pushes/expired.json": ("/api/v2/pushes/expired.json", SAFE),
    "api/v2/pushes/expired": ("/api/v2/pushes/expired", SAFE),
    "api/v2/pushes/<str:token>/preview.json": (f"/api/v2/pushes/{SECRET_ID}/preview.json", SAFE),
    "api/v2/pushes/<str:token>/preview": (f"/api/v2/pushes/{SECRET_ID}/preview", SAFE),
    "api/v2/pushes/<str:token>/audit.json": (f"/api/v2/pushes/{SECRET_ID}/audit.json", SAFE),
    "api/v2/pushes/<str:token>/audit": (f"/api/v2/pushes/{SECRET_ID}/audit", SAFE),
    "api/v2/pushes/<str:token>/notify_emails.json": (
        f"/api/v2/pushes/{SECRET_ID}/notify_emails.json",
        POST,
    ),
    "api/v2/pushes/<str:token>/notify_emails": (f"/api/v2/pushes/{SECRET_ID}/notify_emails", POST),
    "api/v2/pushes/<str:token>.json": (f"/api/v2/pushes/{SECRET_ID}.json", CONSUMING),
    "api/v2/pushes/<str:token>": (f"/api/v2/pushes/{SECRET_ID}", CONSUMING),
    # Anything else under /api/v2/ is an address Password Pusher does not serve: 404.
    "api/v2/<path:rest>": ("/api/v2/requests", ANY),
}
# OneTimeSecret's API v1 (onetime/ots/urls.py): each API route also with a trailing slash.
OTS_API = {
    "api/v1/status": ("/api/v1/status", SAFE),
    "api/v1/authcheck": ("/api/v1/authcheck", SAFE),
    "api/v1/share": ("/api/v1/share", POST),
    "api/v1/create": ("/api/v1/create", POST),
    "api/v1/generate": ("/api/v1/generate", POST),
    "api/v1/secret/<ots_key:key>": (f"/api/v1/secret/{SECRET_ID}", POST),
    **{
        route: (path, served)
        for alias in ("private", "metadata", "receipt")
        for route, path, served in [
            (f"api/v1/{alias}/recent", f"/api/v1/{alias}/recent", SAFE | POST),
            (f"api/v1/{alias}/<ots_key:key>", f"/api/v1/{alias}/{TOKEN}", SAFE | POST),
            (f"api/v1/{alias}/<ots_key:key>/burn", f"/api/v1/{alias}/{TOKEN}/burn", POST),
        ]
    },
}
ROUTES |= OTS_API
ROUTES |= {f"{route}/": (f"{path}/", served) for route, (path, served) in OTS_API.items()}
ROUTES |= {
    "secret/<uuid:secret_id>": (f"/secret/{SECRET_ID}", SAFE),
    "receipt/<ots_token:token>": (f"/receipt/{TOKEN}", SAFE),
    "private/<ots_token:token>": (f"/private/{TOKEN}", SAFE),
}
# Served by WhiteNoise, not by a route.
STATIC = ("/static/core/onetime.css", SAFE)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]
CASES = [
    pytest.param(path, method, served, id=f"{method} {path}")
    for path, served in [*ROUTES.values(), STATIC]
    for method in METHODS
]


def _routes(patterns, prefix: str = "") -> set[str]:
    found = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found |= _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            found.add(prefix + str(pattern.pattern))
    return found


def test_the_table_names_every_route():
    assert _routes(get_resolver().url_patterns) == set(ROUTES)


@pytest.mark.parametrize(("path", "method", "served"), CASES)
def test_it_answers_every_method_without_a_server_error(caplog, path, method, served):
    client = Client(raise_request_exception=False, headers={"accept-language": "en"})

    response = client.generic(method, path)
    response.close()  # a static file's answer streams from an open file

    assert response.status_code < 500, response.content
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    if method in served:
        assert response.status_code != 405
        return
    assert response.status_code == 405
    allowed = {m.strip() for m in response["Allow"].split(",")}
    assert allowed == set(served)
    if method == "HEAD":
        return
    if path.startswith("/api/") or path.endswith(".json"):
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "status": "method_not_allowed",
            "detail": "This method is not allowed here.",
        }
    else:
        assert response["Content-Type"].startswith("text/html")
        assert b"This method is not allowed here." in response.content


def test_the_api_docs_answer_options_without_a_server_error(client):
    """Probing found `OPTIONS /api/docs/` answered 500 and logged a traceback."""
    response = client.options("/api/docs/")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
