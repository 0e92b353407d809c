"""
Every route keeps its path and name, and each app wires its own routes in its own urls
module: the project's onetime/urls.py only includes them.
"""

from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from onetime import urls as project_urls

SECRET_ID = "6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1"
TOKEN = "Xy_9-abcdefghijklmnopqrstuvwxyz01"

# Name, arguments, path, and the app whose urls module wires the route.
ROUTES = [
    ("vault:create", {}, "/", "vault"),
    ("vault:secret", {"secret_id": SECRET_ID}, f"/s/{SECRET_ID}", "vault"),
    ("vault:receipt", {"token": TOKEN}, f"/r/{TOKEN}", "vault"),
    ("vault:receipt_burn", {"token": TOKEN}, f"/r/{TOKEN}/burn", "vault"),
    ("vault:api_create", {}, "/api/v1/secrets", "vault"),
    ("vault:api_secret", {"secret_id": SECRET_ID}, f"/api/v1/secrets/{SECRET_ID}", "vault"),
    (
        "vault:api_reveal",
        {"secret_id": SECRET_ID},
        f"/api/v1/secrets/{SECRET_ID}/reveal",
        "vault",
    ),
    ("vault:api_receipt", {"token": TOKEN}, f"/api/v1/receipts/{TOKEN}", "vault"),
    ("vault:api_burn", {"token": TOKEN}, f"/api/v1/receipts/{TOKEN}/burn", "vault"),
    ("api_code_verify", {}, "/api/v1/codes/verify", "codes"),
    ("telegram-webhook", {}, "/telegram/webhook/", "bot"),
    ("healthz", {}, "/healthz", "core"),
    ("readyz", {}, "/readyz", "core"),
    ("metrics", {}, "/metrics", "core"),
    ("schema", {}, "/api/schema/", "core"),
    ("api-docs", {}, "/api/docs/", "core"),
    # Password Pusher's API and links (docs/compatibility.md).
    ("pwpush:v1_version", {}, "/api/v1/version", "pwpush"),
    ("pwpush:v1_version_json", {}, "/api/v1/version.json", "pwpush"),
    ("pwpush:v2_version", {}, "/api/v2/version", "pwpush"),
    ("pwpush:v2_version_json", {}, "/api/v2/version.json", "pwpush"),
    ("pwpush:v1_create", {}, "/p.json", "pwpush"),
    ("pwpush:v1_active", {}, "/p/active.json", "pwpush"),
    ("pwpush:v1_expired", {}, "/p/expired.json", "pwpush"),
    ("pwpush:v1_preview", {"token": SECRET_ID}, f"/p/{SECRET_ID}/preview.json", "pwpush"),
    ("pwpush:v1_audit", {"token": SECRET_ID}, f"/p/{SECRET_ID}/audit.json", "pwpush"),
    ("pwpush:v1_push", {"token": SECRET_ID}, f"/p/{SECRET_ID}.json", "pwpush"),
    ("pwpush:page", {"secret_id": SECRET_ID}, f"/p/{SECRET_ID}", "pwpush"),
    ("pwpush:page_retrieval_step", {"secret_id": SECRET_ID}, f"/p/{SECRET_ID}/r", "pwpush"),
    ("pwpush:v2_create", {}, "/api/v2/pushes", "pwpush"),
    ("pwpush:v2_create_json", {}, "/api/v2/pushes.json", "pwpush"),
    ("pwpush:v2_active", {}, "/api/v2/pushes/active", "pwpush"),
    ("pwpush:v2_active_json", {}, "/api/v2/pushes/active.json", "pwpush"),
    ("pwpush:v2_expired", {}, "/api/v2/pushes/expired", "pwpush"),
    ("pwpush:v2_expired_json", {}, "/api/v2/pushes/expired.json", "pwpush"),
    ("pwpush:v2_preview", {"token": SECRET_ID}, f"/api/v2/pushes/{SECRET_ID}/preview", "pwpush"),
    (
        "pwpush:v2_preview_json",
        {"token": SECRET_ID},
        f"/api/v2/pushes/{SECRET_ID}/preview.json",
        "pwpush",
    ),
    ("pwpush:v2_audit", {"token": SECRET_ID}, f"/api/v2/pushes/{SECRET_ID}/audit", "pwpush"),
    (
        "pwpush:v2_audit_json",
        {"token": SECRET_ID},
        f"/api/v2/pushes/{SECRET_ID}/audit.json",
        "pwpush",
    ),
    (
        "pwpush:v2_notify",
        {"token": SECRET_ID},
        f"/api/v2/pushes/{SECRET_ID}/notify_emails",
        "pwpush",
    ),
    (
        "pwpush:v2_notify_json",
        {"token": SECRET_ID},
        f"/api/v2/pushes/{SECRET_ID}/notify_emails.json",
        "pwpush",
    ),
    ("pwpush:v2_push", {"token": SECRET_ID}, f"/api/v2/pushes/{SECRET_ID}", "pwpush"),
    ("pwpush:v2_push_json", {"token": SECRET_ID}, f"/api/v2/pushes/{SECRET_ID}.json", "pwpush"),
    ("pwpush:v2_other", {"rest": "requests"}, "/api/v2/requests", "pwpush"),
]

# OneTimeSecret's API v1: each route, and the same with a trailing slash (name + "_slash").
_OTS_KEY = "A" * 32
_OTS = [
    ("status", {}, "/api/v1/status"),
    ("authcheck", {}, "/api/v1/authcheck"),
    ("share", {}, "/api/v1/share"),
    ("create", {}, "/api/v1/create"),
    ("generate", {}, "/api/v1/generate"),
    ("secret", {"key": SECRET_ID}, f"/api/v1/secret/{SECRET_ID}"),
    *(
        route
        for alias in ("private", "metadata", "receipt")
        for route in [
            (f"{alias}_recent", {}, f"/api/v1/{alias}/recent"),
            (alias, {"key": _OTS_KEY}, f"/api/v1/{alias}/{_OTS_KEY}"),
            (f"{alias}_burn", {"key": _OTS_KEY}, f"/api/v1/{alias}/{_OTS_KEY}/burn"),
        ]
    ),
]
ROUTES += [(f"ots:{name}", kwargs, path, "ots") for name, kwargs, path in _OTS]
ROUTES += [(f"ots:{name}_slash", kwargs, f"{path}/", "ots") for name, kwargs, path in _OTS]
ROUTES += [
    ("ots:web_secret", {"secret_id": SECRET_ID}, f"/secret/{SECRET_ID}", "ots"),
    ("ots:web_receipt", {"token": TOKEN}, f"/receipt/{TOKEN}", "ots"),
    ("ots:web_private", {"token": TOKEN}, f"/private/{TOKEN}", "ots"),
]


def _wired() -> Iterator[tuple[str, str]]:
    """Yield (route name, the urls module it comes from) for every route of the project."""
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLPattern):
            yield str(entry.name), "onetime.urls"
            continue
        prefix = f"{entry.namespace}:" if entry.namespace else ""
        for pattern in entry.url_patterns:
            assert isinstance(pattern, URLPattern), "one level of includes"
            yield f"{prefix}{pattern.name}", str(getattr(entry.urlconf_module, "__name__", ""))


@pytest.mark.parametrize(("name", "kwargs", "path", "app"), ROUTES, ids=[r[0] for r in ROUTES])
def test_every_route_keeps_its_path_and_name(name, kwargs, path, app):
    assert reverse(name, kwargs=kwargs) == path
    assert resolve(path).view_name == name


def test_no_route_is_lost_or_added_unnoticed():
    assert sorted(name for name, _ in _wired()) == sorted(route[0] for route in ROUTES)


def test_each_app_wires_its_own_routes_and_the_project_only_includes_them():
    assert all(isinstance(entry, URLResolver) for entry in project_urls.urlpatterns)
    wired = dict(_wired())

    for name, _, _, app in ROUTES:
        assert wired[name] == f"onetime.{app}.urls", name
