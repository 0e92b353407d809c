"""POST /api/v1/codes/verify: server-to-server check of a code from the Telegram bot."""

from typing import Any

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from onetime.codes import services
from onetime.core.auth import bearer_matches
from onetime.core.errors import ServiceError
from onetime.core.fields import StrictCharField, StrictIntegerField
from onetime.core.openapi import errors


class NotAuthenticated(ServiceError):
    status_code = 401
    code = "unauthorized"
    default_detail = _("Send Authorization: Bearer <CODES_VERIFY_TOKEN>.")

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="onetime"'}


class VerifyInput(serializers.Serializer[Any]):
    telegram_user_id = StrictIntegerField(required=False, min_value=1)
    username = StrictCharField(required=False, max_length=64)
    code = StrictCharField(max_length=16, help_text="The 7 digits the bot sent.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("telegram_user_id" in attrs) == ("username" in attrs):
            raise serializers.ValidationError(
                _("Name the account with exactly one of telegram_user_id and username.")
            )
        return attrs


# Subclassing registers the extension (drf-spectacular's base class is untyped).
class VerifyInputSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """State in the schema what validate() checks: exactly one of the two account fields."""

    target_class = VerifyInput

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(
            self.target_class, direction, bypass_extensions=True
        )
        one_of = [{"required": ["telegram_user_id"]}, {"required": ["username"]}]
        return {**schema, "oneOf": one_of}


class VerifyOutput(serializers.Serializer[Any]):
    telegram_user_id = serializers.IntegerField()
    username = serializers.CharField(allow_null=True)
    first_name = serializers.CharField()


class CodeVerifyApi(APIView):
    @extend_schema(
        operation_id="code_verify",
        # A security requirement object; the annotation says str, the schema needs this.
        auth=[{"bearerAuth": []}],  # type: ignore[list-item]
        request=VerifyInput,
        responses={
            200: VerifyOutput,
            **errors(
                400,
                401,
                404,
                413,
                415,
                503,
                described={
                    400: "Invalid input (`invalid`, `invalid_json`), or a code that does not "
                    "verify (`invalid_code`: wrong, expired, used, unknown account, paused).",
                    404: "The server has no CODES_VERIFY_TOKEN: `not_found`.",
                },
            ),
        },
        summary="Verify a Telegram code (server to server, bearer token)",
        description=(
            "Consumes the code on success. Every failure (wrong, expired, used, unknown "
            "account, throttled) is the same 400 `invalid_code`. 404 when the server has no "
            "CODES_VERIFY_TOKEN."
        ),
    )
    def post(self, request: Request) -> Response:
        expected = settings.CODES_VERIFY_TOKEN
        if not expected:
            raise Http404
        if not bearer_matches(request, expected):
            raise NotAuthenticated
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.code_verify(
            code=data.validated_data["code"],
            telegram_user_id=data.validated_data.get("telegram_user_id"),
            username=data.validated_data.get("username"),
        )
        return Response(
            VerifyOutput(
                {
                    "telegram_user_id": account.telegram_user_id,
                    "username": account.username,
                    "first_name": account.first_name,
                }
            ).data
        )
