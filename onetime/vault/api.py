"""JSON API for secrets (/api/v1/): parse input, call one service, shape the output."""

import uuid
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from onetime.core.fields import StrictCharField, StrictIntegerField
from onetime.core.openapi import errors
from onetime.core.ratelimit import client_ip
from onetime.vault import services
from onetime.vault.links import receipt_url, secret_url
from onetime.vault.models import Secret


class SecretField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        # Whitespace is part of a secret: never trim it.
        super().__init__(trim_whitespace=False, **kwargs)


class PassphraseField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=False,
            allow_null=True,
            allow_blank=True,
            trim_whitespace=False,
            help_text="Empty or null: none. No NUL; at most 1,024 characters.",
            **kwargs,
        )

    def schema_extra(self) -> dict[str, Any]:
        # The service checks the length (for the web form too); the schema states it.
        return {**super().schema_extra(), "maxLength": services.PASSPHRASE_MAX_LENGTH}


class TtlField(StrictIntegerField):
    def schema_extra(self) -> dict[str, Any]:
        # The service checks the bounds (for the web form too); the schema states them as
        # this server's settings have them.
        return {"minimum": settings.ONETIME_MIN_TTL, "maximum": settings.ONETIME_MAX_TTL}


class SecretCreateInput(serializers.Serializer[Any]):
    secret = SecretField(
        help_text=(
            "The secret, returned byte for byte: Unicode text without NUL, at most "
            "ONETIME_MAX_SECRET_BYTES (65,536 by default) in UTF-8; 413 over it."
        )
    )
    ttl = TtlField(
        required=False,
        allow_null=True,
        help_text=(
            "Lifetime in seconds, a JSON integer from 60 to ONETIME_MAX_TTL; null or absent: "
            "ONETIME_DEFAULT_TTL."
        ),
    )
    passphrase = PassphraseField()


class SecretCreateOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    url = serializers.URLField(help_text="The link to send to the recipient.")
    expires_at = serializers.DateTimeField()
    receipt_url = serializers.URLField(help_text="The sender's private status page.")


class SecretMetaOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    expires_at = serializers.DateTimeField()
    passphrase_required = serializers.BooleanField()


class RevealInput(serializers.Serializer[Any]):
    passphrase = PassphraseField()


class RevealOutput(serializers.Serializer[Any]):
    secret = serializers.CharField()


class ReceiptOutput(serializers.Serializer[Any]):
    state = serializers.ChoiceField(choices=Secret.State.choices)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revealed_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    passphrase_required = serializers.BooleanField()
    failed_attempts = serializers.IntegerField()


def _receipt_data(secret: Secret) -> dict[str, Any]:
    return ReceiptOutput(
        {
            "state": secret.state,
            "created_at": secret.created_at,
            "expires_at": secret.expires_at,
            "revealed_at": secret.ended_at if secret.state == Secret.State.REVEALED else None,
            "ended_at": secret.ended_at,
            "passphrase_required": secret.passphrase_required,
            "failed_attempts": secret.failed_attempts,
        }
    ).data


class SecretCreateApi(APIView):
    @extend_schema(
        operation_id="secret_create",
        request=SecretCreateInput,
        responses={201: SecretCreateOutput, **errors(400, 413, 415, 429, 503)},
        summary="Create a secret",
    )
    def post(self, request: Request) -> Response:
        data = SecretCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.secret_create(
            plaintext=data.validated_data["secret"],
            ttl=data.validated_data.get("ttl"),
            passphrase=data.validated_data.get("passphrase"),
            client_ip=client_ip(request),
        )
        secret = created.secret
        # Plain data, shaped as SecretCreateOutput documents it: the renderer writes the UUID
        # and the UTC datetime exactly as the serializer would, without building one per
        # request (5 % of a create+reveal cycle).
        output = {
            "id": secret.id,
            "url": secret_url(request, secret.id),
            "expires_at": secret.expires_at,
            "receipt_url": receipt_url(request, created.receipt_token),
        }
        return Response(output, status=201)


class SecretDetailApi(APIView):
    @extend_schema(
        operation_id="secret_get",
        responses={200: SecretMetaOutput, **errors(404, 410, 429, 503)},
        summary="Check a secret without consuming it",
    )
    def get(self, request: Request, secret_id: uuid.UUID) -> Response:
        secret = services.secret_get(secret_id=secret_id, client_ip=client_ip(request))
        return Response(
            SecretMetaOutput(
                {
                    "id": secret.id,
                    "expires_at": secret.expires_at,
                    "passphrase_required": secret.passphrase_required,
                }
            ).data
        )


class SecretRevealApi(APIView):
    @extend_schema(
        operation_id="secret_reveal",
        request=RevealInput,
        responses={200: RevealOutput, **errors(400, 403, 404, 410, 413, 415, 429, 503)},
        summary="Reveal a secret, destroying it",
        description="403 carries `attempts_left` when the passphrase is wrong.",
    )
    def post(self, request: Request, secret_id: uuid.UUID) -> Response:
        # An empty body is fine (DRF reads it as {}): a secret without a passphrase needs no
        # input. JSON that is not an object (null, [], false …) is refused, not read as {}.
        data = RevealInput(data=request.data)
        data.is_valid(raise_exception=True)
        plaintext = services.secret_reveal(
            secret_id=secret_id,
            passphrase=data.validated_data.get("passphrase"),
            client_ip=client_ip(request),
        )
        return Response({"secret": plaintext})  # as RevealOutput documents it


class ReceiptApi(APIView):
    @extend_schema(
        operation_id="receipt_get",
        responses={200: ReceiptOutput, **errors(404, 429, 503)},
        summary="The sender's receipt",
    )
    def get(self, request: Request, token: str) -> Response:
        return Response(
            _receipt_data(services.receipt_get(token=token, client_ip=client_ip(request)))
        )


class ReceiptBurnApi(APIView):
    @extend_schema(
        operation_id="receipt_burn",
        request=None,
        responses={200: ReceiptOutput, **errors(404, 413, 429, 503)},
        summary="Destroy the secret now (idempotent)",
    )
    def post(self, request: Request, token: str) -> Response:
        return Response(
            _receipt_data(services.receipt_burn(token=token, client_ip=client_ip(request)))
        )
