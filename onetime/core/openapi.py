"""OpenAPI pieces shared by the API views (drf-spectacular)."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer(
    "Error",
    fields={
        "status": serializers.CharField(help_text="Stable machine-readable code."),
        "detail": serializers.CharField(help_text="Human message in the request's language."),
        "errors": serializers.DictField(
            required=False, help_text="400 `invalid`: the messages per field."
        ),
        "attempts_left": serializers.IntegerField(
            required=False,
            help_text="403 `wrong_passphrase`: tries before the secret is destroyed.",
        ),
        "retry_after": serializers.IntegerField(
            required=False, help_text="429 `rate_limited`: seconds, as in Retry-After."
        ),
    },
)


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Return the error responses of an operation, for extend_schema(responses=…)."""
    return {status: OpenApiResponse(ERROR) for status in statuses}
