"""OpenAPI pieces shared by the API views (drf-spectacular)."""

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from onetime.core.fields import StrictField

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
            help_text="403 `wrong_passphrase`, `wrong_telegram_code`: tries before the secret "
            "is destroyed.",
        ),
        "telegram_recipient": serializers.CharField(
            required=False,
            help_text="403 `telegram_code_required`: the one Telegram account that may open it.",
        ),
        "telegram_bot": serializers.CharField(
            required=False,
            allow_null=True,
            help_text="403 `telegram_code_required`: the bot that sends the code (`@name`), "
            "null when unknown.",
        ),
        "retry_after": serializers.IntegerField(
            required=False, help_text="429 `rate_limited`: seconds, as in Retry-After."
        ),
    },
)


# What each error status means, with its `status` codes; an operation may say more.
ERROR_DESCRIPTIONS = {
    400: "Invalid input: `invalid` (`errors` per field) or `invalid_json`.",
    401: "Missing or wrong bearer token: `unauthorized`.",
    403: "A passphrase is needed (`passphrase_required`) or wrong (`wrong_passphrase`, "
    "with `attempts_left`).",
    409: "The same client-encrypted secret was already stored (a create sent twice): "
    "`already_created`.",
    404: "No such secret or receipt (never existed, or its tombstone was purged): `not_found`.",
    410: "The secret is gone: revealed, burned or destroyed by wrong passphrases "
    "(`destroyed`), or its lifetime ran out (`expired`).",
    413: "The secret (in UTF-8) or the request body is over the size limit: `too_large`.",
    415: "The body is not JSON (`Content-Type: application/json`): `unsupported_media_type`.",
    429: "Too many requests from this address: `rate_limited`; `Retry-After` (and "
    "`retry_after`) say after how many seconds to try again.",
    503: "The database is unreachable, or the server's keys cannot open the ciphertext (the "
    "secret is kept): `unavailable`; `Retry-After` says when to try again.",
}


def errors(*statuses: int, described: dict[int, str] | None = None) -> dict[int, OpenApiResponse]:
    """
    Return the error responses of an operation, for extend_schema(responses=…), each with
    its description (``described`` replaces some, by status).
    """
    descriptions = {**ERROR_DESCRIPTIONS, **(described or {})}
    return {status: OpenApiResponse(ERROR, description=descriptions[status]) for status in statuses}


# Subclassing registers the extension (drf-spectacular's base class is untyped).
class StrictFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """The schema of a strict field: what drf-spectacular derives, plus its schema_extra()."""

    target_class = StrictField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        return {**schema, **self.target.schema_extra()}


class RequiredBody(AutoSchema):
    """An operation whose body is required though no one field is (one of several is)."""

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        body: dict[str, Any] | None = super()._get_request_body(direction)  # type: ignore[no-untyped-call]
        if body:
            body["required"] = True
        return body


def switched_on_endpoints(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """
    drf-spectacular's preprocessing hook: leave out the operations of APIs a setting has
    switched off (core/switches.py), so that the schema describes what this server serves.
    """
    return [e for e in endpoints if getattr(settings, getattr(e[3], "switch", ""), True)]
