from django.urls import path, register_converter

from onetime.vault import api, views


class TokenConverter:
    """A receipt token: 32 letters and digits (older ones: URL-safe base64)."""

    regex = "[A-Za-z0-9_-]{16,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TokenConverter, "token")

app_name = "vault"

urlpatterns = [
    path("", views.create, name="create"),
    path("s/<uuid:secret_id>", views.secret, name="secret"),
    path("r/<token:token>", views.receipt, name="receipt"),
    path("r/<token:token>/burn", views.receipt_burn, name="receipt_burn"),
    path("api/v1/secrets", api.SecretCreateApi.as_view(), name="api_create"),
    path("api/v1/secrets/<uuid:secret_id>", api.SecretDetailApi.as_view(), name="api_secret"),
    path(
        "api/v1/secrets/<uuid:secret_id>/reveal",
        api.SecretRevealApi.as_view(),
        name="api_reveal",
    ),
    path("api/v1/receipts/<token:token>", api.ReceiptApi.as_view(), name="api_receipt"),
    path("api/v1/receipts/<token:token>/burn", api.ReceiptBurnApi.as_view(), name="api_burn"),
]
