"""
OneTimeSecret's API v1 over OneTime's secrets (docs/compatibility.md): parse the peer's flat
parameters, call one vault service, answer in the peer's shapes.

Every error is the peer's ``404 {"message": …}``; ``X-OTS-Intended-Status`` carries the
status OneTime means (400 invalid, 401 account-only, 429 rate-limited, 503 unavailable), as
OneTimeSecret v0.25+ sends it. Messages stay in English, word for word as the peer has them.
"""

import logging
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from onetime.core.errors import RateLimited, ServiceError, TooLarge, Unavailable
from onetime.core.openapi import ERROR
from onetime.core.parsers import FORM_OR_JSON, AlwaysJson, CharsetJSONRenderer, request_params
from onetime.core.ratelimit import client_ip
from onetime.ots import documents
from onetime.vault import passwords, services
from onetime.vault.links import absolute_url, receipt_url, secret_id_from
from onetime.vault.models import Secret

logger = logging.getLogger(__name__)

TAG = "OneTimeSecret v1"
INTENDED_STATUS = "X-OTS-Intended-Status"

# The additive `detail` of a 404 "Unknown secret" for secrets this API will not open.
CLIENT_ENCRYPTED = (
    "This secret was encrypted on its sender's device (zero-knowledge): only a browser with "
    "JavaScript or the onetime command-line client can decrypt it. Nothing was consumed."
)
DESTROYED_BY_PASSPHRASES = (
    "Wrong passphrase: that was the last attempt, and the secret is now destroyed."
)
TELEGRAM_BOUND = (
    "This secret is for one Telegram account and opens only on its web page, with a code "
    "from the bot. Nothing was consumed."
)


class OtsError(Exception):
    """An answer in OneTimeSecret's error shape: 404 {"message", …}."""

    def __init__(
        self,
        message: str,
        *,
        intended: int | None = None,
        status: int = 404,
        headers: dict[str, str] | None = None,
        **extra: object,
    ) -> None:
        super().__init__(message)
        self.body = {"message": message, **extra}
        self.status = status
        self.headers = dict(headers or {})
        if intended is not None:
            self.headers[INTENDED_STATUS] = str(intended)

    def response(self) -> Response:
        return Response(self.body, status=self.status, headers=self.headers)


def unknown_secret(key: str, detail: str | None = None, **extra: Any) -> OtsError:
    if detail:
        return OtsError(documents.UNKNOWN_SECRET, secret_key=key, detail=detail, **extra)
    return OtsError(documents.UNKNOWN_SECRET, secret_key=key)


def ots_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn every error an OTS view can raise into the peer's shape (module docstring)."""
    if isinstance(exc, OperationalError | InterfaceError):
        # The exception text names the server, never request data; keep only its type.
        logger.error("database unavailable: %s", type(exc).__name__)
        exc = Unavailable()
    if isinstance(exc, OtsError):
        return exc.response()
    if isinstance(exc, RateLimited):
        return OtsError(documents.RATE_LIMITED, intended=429, headers=exc.headers()).response()
    if isinstance(exc, Unavailable):
        return OtsError(documents.UNAVAILABLE, intended=503, headers=exc.headers()).response()
    if isinstance(exc, TooLarge):
        limit = settings.ONETIME_MAX_SECRET_BYTES
        return OtsError(documents.too_large(limit), intended=400).response()
    if isinstance(exc, ServiceError):
        return OtsError(str(exc.detail), intended=400).response()
    if isinstance(exc, exceptions.ParseError):
        message = "The request body is not valid JSON or form data."
        return OtsError(message, intended=400).response()
    if isinstance(exc, exceptions.UnsupportedMediaType):
        message = "Send the parameters as a query string, a form or a JSON object."
        return OtsError(message, status=415).response()
    if isinstance(exc, Http404 | exceptions.NotFound):
        return OtsError(documents.NOT_FOUND).response()
    if isinstance(exc, exceptions.APIException):
        # 405 (the middleware words it as everywhere else) and 406 cannot happen here.
        return Response({"message": str(exc.detail)}, status=exc.status_code)
    return None


class OtsSchema(AutoSchema):
    """One tag; operation ids ots_<path words>[_<method>]; the pre-v0.24 aliases deprecated."""

    def get_tags(self) -> list[str]:
        return [TAG]

    def get_operation_id(self) -> str:
        words = [w for w in self.path.split("/")[3:] if w and not w.startswith("{")]
        if getattr(self.view, "id_by_method", False):
            words.append(self.method.lower())
        return "ots_" + "_".join(words)

    def is_deprecated(self) -> bool:
        return any(f"/{alias}/" in self.path for alias in ("private", "metadata"))


class OtsView(APIView):
    parser_classes = FORM_OR_JSON
    renderer_classes = [CharsetJSONRenderer]
    content_negotiation_class = AlwaysJson
    schema = OtsSchema()

    def get_exception_handler(self) -> Any:
        return ots_exception_handler


# --- The documents, for the schema -------------------------------------------------------


class OtsStatus(serializers.Serializer[Any]):
    status = serializers.CharField(help_text='"nominal".')
    locale = serializers.CharField(help_text="`?locale` when OneTime speaks it, else the language.")


class OtsMessage(serializers.Serializer[Any]):
    message = serializers.CharField(
        help_text='The peer\'s words: "Unknown secret", "Not Found", "Not authorized", "You did '
        'not provide anything to share", "Rate limit exceeded. Please try again later.", …'
    )
    secret_key = serializers.CharField(
        required=False, help_text="Unknown secret: the key asked for."
    )
    detail = serializers.CharField(
        required=False,
        help_text="OneTime's addition: why a secret that exists was not opened (a passphrase "
        "missing or wrong, the last wrong one, or a secret this API cannot open).",
    )
    attempts_left = serializers.IntegerField(
        required=False,
        help_text="OneTime's addition, for a wrong passphrase: tries left before the secret "
        "is destroyed.",
    )


class OtsReceipt(serializers.Serializer[Any]):
    custid = serializers.CharField(help_text='"anon": OneTime has no accounts.')
    metadata_key = serializers.CharField(help_text="The receipt token (OneTime's /r/<token>).")
    secret_key = serializers.CharField(
        required=False,
        help_text="The secret's id: only in the answer of share, create and generate (a "
        "receipt never gives the share link away).",
    )
    ttl = serializers.IntegerField(help_text="The secret's lifetime in seconds, as clamped.")
    metadata_ttl = serializers.IntegerField(
        help_text="Seconds until the receipt is purged (ONETIME_TOMBSTONE_DAYS after the end)."
    )
    secret_ttl = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Seconds the secret has left; null once gone; absent once received.",
    )
    metadata_url = serializers.CharField(help_text="The sender's receipt page, /r/<token>.")
    state = serializers.ChoiceField(choices=["new", "received", "burned", "expired"])
    updated = serializers.IntegerField(help_text="Unix time of the last change.")
    created = serializers.IntegerField(help_text="Unix time of the creation.")
    received = serializers.IntegerField(required=False, help_text="Unix time of the reveal.")
    recipient = serializers.ListField(child=serializers.CharField(), help_text="Always [].")
    share_domain = serializers.CharField(allow_blank=True, help_text='Always "".')
    value = serializers.CharField(required=False, help_text="generate: the password.")
    passphrase_required = serializers.BooleanField(
        required=False, help_text="While the secret lives."
    )
    identifier = serializers.CharField(help_text="= metadata_key (v0.24 name).")
    secret_identifier = serializers.CharField(required=False, help_text="= secret_key.")
    has_passphrase = serializers.BooleanField(required=False, help_text="= passphrase_required.")
    recipients = serializers.ListField(child=serializers.CharField(), help_text="= recipient.")
    receipt_ttl = serializers.IntegerField(help_text="= metadata_ttl.")
    receipt_url = serializers.CharField(help_text="= metadata_url.")
    secret_value = serializers.CharField(required=False, help_text="= value.")


class OtsReveal(serializers.Serializer[Any]):
    value = serializers.CharField(help_text="The secret, byte for byte.")
    secret_key = serializers.CharField()
    share_domain = serializers.CharField(help_text="This service's scheme and host.")


class OtsBurn(serializers.Serializer[Any]):
    state = OtsReceipt(help_text='The receipt, with state "burned".')
    secret_shortkey = serializers.CharField(help_text="The first 8 characters of the secret's id.")


class OtsShareInput(serializers.Serializer[Any]):
    secret = serializers.CharField(
        required=False, help_text="The secret (share, create). Also read from the query string."
    )
    ttl = serializers.IntegerField(
        required=False,
        help_text="Seconds; its integer prefix, clamped to [60, ONETIME_MAX_TTL]; absent: "
        "ONETIME_DEFAULT_TTL.",
    )
    passphrase = serializers.CharField(required=False, allow_blank=True)
    recipient = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text='Not empty: "An account is required to send emails."',
    )


class OtsGenerateInput(OtsShareInput):
    secret = None  # type: ignore[assignment]
    length = serializers.IntegerField(required=False, help_text="8 to 128; default 12.")


class OtsRevealInput(serializers.Serializer[Any]):
    passphrase = serializers.CharField(required=False, allow_blank=True)


NOT_FOUND_HELP = (
    "Every error, as OneTimeSecret answers it: `message`; `X-OTS-Intended-Status` says the "
    "status meant (400 invalid, 401 account-only, 429 rate-limited with Retry-After, 503 "
    "unavailable with Retry-After); none for an unknown key."
)
INTENDED = OpenApiParameter(
    INTENDED_STATUS,
    int,
    OpenApiParameter.HEADER,
    response=[404],
    description="The status OneTime means by this 404.",
)
KEY = OpenApiParameter("key", str, OpenApiParameter.PATH)


def responses(ok: Any, *, body: bool = False) -> dict[int, Any]:
    answers: dict[int, Any] = {
        200: ok,
        404: OpenApiResponse(OtsMessage, description=NOT_FOUND_HELP),
    }
    if body:
        answers[413] = OpenApiResponse(ERROR, description="The body is over Django's limit.")
        answers[415] = OpenApiResponse(OtsMessage, description="A body of another type.")
    return answers


# --- The routes ----------------------------------------------------------------------------


def _receipt(request: Request, secret: Secret, token: str) -> documents.Receipt:
    now = timezone.now()
    return documents.Receipt(
        metadata_key=token,
        secret_key=str(secret.id),
        state=secret.state_at(now),
        created=secret.created_at,
        expires=secret.expires_at,
        ended=secret.ended_at,
        purged_at=(secret.ended_at or secret.expires_at) + services.retention(),
        metadata_url=receipt_url(request, token),
        now=now,
    )


def _key(key: str) -> str:
    if not documents.valid_key(key):
        raise OtsError(documents.NOT_FOUND)
    return key


class StatusApi(OtsView):
    @extend_schema(responses={200: OtsStatus}, summary="Service status")
    def get(self, request: Request) -> Response:
        asked = request.query_params.get("locale")
        # These routes answer in English (core/switches.py), as OneTimeSecret does by default.
        locale = asked if asked in dict(settings.LANGUAGES) else "en"
        return Response({"status": "nominal", "locale": locale})


class NotAuthorizedApi(OtsView):
    """Account-only routes: as OneTimeSecret answers an anonymous caller."""

    @extend_schema(
        responses={404: OpenApiResponse(OtsMessage, description='"Not authorized" (401).')},
        parameters=[INTENDED],
        summary="Account only: not authorized",
    )
    def get(self, request: Request) -> Response:
        raise OtsError(documents.NOT_AUTHORIZED, intended=401)


class RecentApi(NotAuthorizedApi):
    id_by_method = True

    @extend_schema(
        request=None,
        responses={404: OpenApiResponse(OtsMessage, description='"Not Found": a short key.')},
        summary='A receipt named "recent": not found',
    )
    def post(self, request: Request) -> Response:
        raise OtsError(documents.NOT_FOUND)


class ShareApi(OtsView):
    generate = False

    @extend_schema(
        request=OtsShareInput,
        responses=responses(OtsReceipt, body=True),
        parameters=[INTENDED],
        summary="Create a secret; answer its receipt",
    )
    def post(self, request: Request) -> Response:
        params = request_params(request)
        generated = None
        if self.generate:
            length = documents.generate_length(
                params, low=passwords.MIN_LENGTH, high=passwords.MAX_LENGTH
            )
            generated = passwords.generate_password(
                length=length, classes=documents.GENERATE_CLASSES
            )
        share = documents.share_request(
            params,
            generated=generated,
            default_ttl=settings.ONETIME_DEFAULT_TTL,
            min_ttl=settings.ONETIME_MIN_TTL,
            max_ttl=settings.ONETIME_MAX_TTL,
        )
        created = services.secret_create(
            plaintext=share.secret,
            ttl=share.ttl,
            passphrase=share.passphrase,
            client_ip=client_ip(request),
        )
        receipt = _receipt(request, created.secret, created.receipt_token)
        return Response(
            documents.receipt_document(
                receipt,
                created=True,
                passphrase_required=created.secret.passphrase_required,
                value=generated,
            )
        )


class GenerateApi(ShareApi):
    generate = True

    @extend_schema(
        request=OtsGenerateInput,
        responses=responses(OtsReceipt, body=True),
        parameters=[INTENDED],
        summary="Create a secret of a generated password; answer it with the receipt",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class SecretRevealApi(OtsView):
    @extend_schema(
        request=OtsRevealInput,
        responses=responses(OtsReveal, body=True),
        parameters=[KEY, INTENDED],
        summary="Reveal a secret, destroying it",
        description="Unknown, read, burned, expired, a missing or wrong passphrase (counted), "
        "a secret encrypted by its sender's client or bound to a Telegram account (not "
        "consumed; `detail` says why): 404 `Unknown secret`.",
    )
    def post(self, request: Request, key: str) -> Response:
        _key(key)
        params = request_params(request)
        secret_id = secret_id_from(key)
        if secret_id is None:
            raise unknown_secret(key)
        try:
            revealed = services.secret_reveal(
                secret_id=secret_id,
                passphrase=documents.text(params.get("passphrase")) or None,
                client_ip=client_ip(request),
                envelope_ok=False,
            )
        except services.NeedsJavaScript:
            raise unknown_secret(key, CLIENT_ENCRYPTED) from None
        except services.TelegramCodeRequired:
            raise unknown_secret(key, TELEGRAM_BOUND) from None
        except services.WrongPassphrase as wrong:
            # OneTimeSecret's answer, and, additive, what OneTime counts.
            raise unknown_secret(key, str(wrong.detail), **wrong.extra) from None
        except services.PassphraseRequired as required:
            raise unknown_secret(key, str(required.detail)) from None
        except services.SecretGone as gone:
            detail = DESTROYED_BY_PASSPHRASES if gone.by == "passphrases" else None
            raise unknown_secret(key, detail) from None
        except (services.SecretNotFound, services.InvalidPassphrase, services.NeedsClient):
            raise unknown_secret(key) from None
        return Response(
            {
                "value": revealed.plaintext,
                "secret_key": key,
                "share_domain": absolute_url(request, ""),
            }
        )


class ReceiptApi(OtsView):
    id_by_method = True

    @extend_schema(
        responses=responses(OtsReceipt),
        parameters=[KEY],
        summary="The sender's receipt (changes nothing)",
    )
    def get(self, request: Request, key: str) -> Response:
        try:
            secret = services.receipt_get(token=_key(key), client_ip=client_ip(request))
        except services.ReceiptNotFound:
            raise unknown_secret(key) from None
        live = secret.state_at(timezone.now()) == Secret.State.ACTIVE
        return Response(
            documents.receipt_document(
                _receipt(request, secret, key),
                passphrase_required=secret.passphrase_required if live else None,
            )
        )

    @extend_schema(
        request=None,
        responses=responses(OtsReceipt),
        parameters=[KEY],
        summary="The sender's receipt (changes nothing)",
    )
    def post(self, request: Request, key: str) -> Response:
        return self.get(request, key)


class BurnApi(OtsView):
    @extend_schema(
        request=None,
        responses=responses(OtsBurn),
        parameters=[KEY],
        summary="Destroy a live secret through its receipt",
        description="No passphrase is needed: the receipt's holder is its sender. A secret "
        "that already ended: 404 `Unknown secret`.",
    )
    def post(self, request: Request, key: str) -> Response:
        try:
            secret = services.receipt_burn(
                token=_key(key), client_ip=client_ip(request), only_active=True
            )
        except (services.ReceiptNotFound, services.SecretGone):
            raise unknown_secret(key) from None
        return Response(
            {
                "state": documents.receipt_document(_receipt(request, secret, key)),
                "secret_shortkey": str(secret.id)[:8],
            }
        )
