"""
Routes of Password Pusher's JSON API (v1, v2) and its web links, each switched by
ONETIME_PWPUSH_API (core/switches.py). The `.json` suffix is required on v1's push routes and
optional on v2's and the version routes (as Password Pusher routes them); the suffixed
aliases stay out of the schema.
"""

from typing import Any

from django.urls import path

from onetime.core.switches import switched
from onetime.pwpush import api, views

app_name = "pwpush"

SETTING = "ONETIME_PWPUSH_API"


def on(view: Any) -> Any:
    return switched(SETTING, view)


def alias(view_class: type[api.PwpushView]) -> Any:
    """The same view under a second path, left out of the schema."""
    return on(view_class.as_view(schema=None))


def optional_json(route: str, view_class: type[api.PwpushView], name: str) -> list[Any]:
    """``route`` and ``route.json`` (first, so that a token never swallows the suffix)."""
    return [
        path(f"{route}.json", alias(view_class), name=f"{name}_json"),
        path(route, on(view_class.as_view()), name=name),
    ]


urlpatterns = [
    # Version documents (PassPushPosh reads v1's; pwpush-cli probes v2's).
    *optional_json("api/v1/version", api.VersionV1Api, "v1_version"),
    *optional_json("api/v2/version", api.VersionV2Api, "v2_version"),
    # v1: `.json` required; the collection routes before a token's.
    path("p.json", on(api.CreateV1Api.as_view()), name="v1_create"),
    path("p/active.json", on(api.ActiveV1Api.as_view()), name="v1_active"),
    path("p/expired.json", on(api.ExpiredV1Api.as_view()), name="v1_expired"),
    path("p/<str:token>/preview.json", on(api.PreviewV1Api.as_view()), name="v1_preview"),
    path("p/<str:token>/audit.json", on(api.AuditV1Api.as_view()), name="v1_audit"),
    path("p/<str:token>.json", on(api.PushV1Api.as_view()), name="v1_push"),
    # The web links Password Pusher's clients build: OneTime's recipient page.
    path("p/<uuid:secret_id>", on(views.push_page), name="page"),
    path("p/<uuid:secret_id>/r", on(views.push_page), name="page_retrieval_step"),
    # v2: `.json` optional.
    *optional_json("api/v2/pushes", api.CreateV2Api, "v2_create"),
    *optional_json("api/v2/pushes/active", api.ActiveV2Api, "v2_active"),
    *optional_json("api/v2/pushes/expired", api.ExpiredV2Api, "v2_expired"),
    *optional_json("api/v2/pushes/<str:token>/preview", api.PreviewV2Api, "v2_preview"),
    *optional_json("api/v2/pushes/<str:token>/audit", api.AuditV2Api, "v2_audit"),
    *optional_json("api/v2/pushes/<str:token>/notify_emails", api.NotifyV2Api, "v2_notify"),
    *optional_json("api/v2/pushes/<str:token>", api.PushV2Api, "v2_push"),
    path("api/v2/<path:rest>", on(views.not_found), name="v2_other"),
]
