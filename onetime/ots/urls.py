"""
Routes of OneTimeSecret's API v1 and of its web links, each switched by ONETIME_OTS_API
(core/switches.py). Every API route also answers with a trailing slash (chelnak's Go
client adds one), as a second route left out of the schema: CommonMiddleware's
APPEND_SLASH would redirect, and a redirected POST loses its body.
"""

from django.urls import URLPattern, path, register_converter
from rest_framework.views import APIView

from onetime.core.switches import switched
from onetime.ots import api, views

SWITCH = "ONETIME_OTS_API"


class KeyConverter:
    """Any path segment: a key that is too short or unknown is the view's to answer."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class TokenConverter(KeyConverter):
    """A receipt token, as /r/<token> takes it (vault/urls.py)."""

    regex = "[A-Za-z0-9_-]{16,64}"


register_converter(KeyConverter, "ots_key")
register_converter(TokenConverter, "ots_token")

app_name = "ots"


def api_routes(route: str, view: type[APIView], name: str) -> list[URLPattern]:
    """Return the route, and the same with a trailing slash (not in the schema)."""
    return [
        path(route, switched(SWITCH, view.as_view()), name=name),
        path(f"{route}/", switched(SWITCH, view.as_view(schema=None)), name=f"{name}_slash"),
    ]


RECEIPTS = ("private", "metadata", "receipt")

urlpatterns = [
    *api_routes("api/v1/status", api.StatusApi, "status"),
    *api_routes("api/v1/authcheck", api.NotAuthorizedApi, "authcheck"),
    *api_routes("api/v1/share", api.ShareApi, "share"),
    *api_routes("api/v1/create", api.ShareApi, "create"),
    *api_routes("api/v1/generate", api.GenerateApi, "generate"),
    *api_routes("api/v1/secret/<ots_key:key>", api.SecretRevealApi, "secret"),
    *(
        route
        for alias in RECEIPTS
        for route in (
            *api_routes(f"api/v1/{alias}/recent", api.RecentApi, f"{alias}_recent"),
            *api_routes(f"api/v1/{alias}/<ots_key:key>", api.ReceiptApi, alias),
            *api_routes(f"api/v1/{alias}/<ots_key:key>/burn", api.BurnApi, f"{alias}_burn"),
        )
    ),
    path("secret/<uuid:secret_id>", switched(SWITCH, views.secret), name="web_secret"),
    path("receipt/<ots_token:token>", switched(SWITCH, views.receipt), name="web_receipt"),
    path("private/<ots_token:token>", switched(SWITCH, views.receipt), name="web_private"),
]
