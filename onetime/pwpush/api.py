"""
Password Pusher's JSON API, v1 (/p.json, /p/<token>.json) and v2 (/api/v2/…), over OneTime's
secrets (docs/compatibility.md): parse as Rails would, call one vault service, answer in
Password Pusher's shapes. A push's token is the secret's id.
"""

import functools
import importlib.metadata
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from onetime.core.errors import InvalidInput, RateLimited, ServiceError, TooLarge, Unavailable
from onetime.core.parsers import FORM_OR_JSON, AlwaysJson, CharsetJSONRenderer, request_params
from onetime.core.ratelimit import client_ip
from onetime.pwpush import documents
from onetime.vault import services
from onetime.vault.links import absolute_url, receipt_url, secret_id_from, secret_url
from onetime.vault.models import Secret

V1, V2 = "Password Pusher v1", "Password Pusher v2"

# Password Pusher's own words, which its clients may match (app/controllers/api/…).
NOT_DELETABLE = {"error": "That push is not deletable by viewers."}
PASSPHRASE = {
    "error": "That passphrase is incorrect.",
    "message": "This push requires a passphrase. Please provide it using the 'passphrase' "
    "parameter (e.g. ?passphrase=mysecret)",
    "status": "unauthorized",
}
KIND_DISABLED = {"url": "URL pushes are disabled.", "qr": "QR code pushes are disabled."}
KINDS = {"text", "file", "url", "qr"}
# What Rails' wrap_parameters takes from a root-less JSON body on v2: the push's attributes.
PUSH_KEYS = frozenset(
    {
        "payload",
        "passphrase",
        "expire_after_days",
        "expire_after_views",
        "expire_after_duration",
        "deletable_by_viewer",
        "retrieval_step",
        "note",
        "name",
        "kind",
        "files",
        "notify_emails_to",
        "notify_emails_to_locale",
    }
)


def missing(root: str) -> Response:
    return Response({"error": f"param is missing or the value is empty or invalid: {root}"}, 400)


def unauthorized() -> Response:
    """Password Pusher's ``head :unauthorized``: 401, no body."""
    return Response(status=401)


@functools.cache
def application_version() -> str:
    try:
        return importlib.metadata.version("onetime")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a checkout not installed
        return "0"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response({"error": message}, status=status, headers=headers)


def pwpush_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """
    Turn what a Password Pusher view raises into Password Pusher's error shape,
    ``{"error": …}`` (in English: core/switches.py). Statuses the peer never sends
    (413, 415, 503) keep their meaning (docs/compatibility.md).
    """
    if isinstance(exc, OperationalError | InterfaceError):
        exc = Unavailable()
    if isinstance(exc, RateLimited):
        return _error(
            429,
            f"Too many requests. Please try again in {exc.retry_after} seconds.",
            exc.headers(),
        )
    if isinstance(exc, services.SecretNotFound | Http404 | exceptions.NotFound):
        return Response(documents.NOT_FOUND, status=404)
    if isinstance(exc, ServiceError):
        return _error(exc.status_code, str(exc.detail), exc.headers())
    if isinstance(exc, exceptions.ParseError):
        return _error(400, "The request body is not valid JSON.")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return _error(415, "Send the parameters as JSON, a form, or in the query string.")
    if isinstance(exc, exceptions.APIException):
        return _error(exc.status_code, str(exc.detail))
    return None


class PwpushView(APIView):
    parser_classes = FORM_OR_JSON
    renderer_classes = [CharsetJSONRenderer]
    content_negotiation_class = AlwaysJson
    # Credentials are ignored: every caller is anonymous (docs/compatibility.md).
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return pwpush_exception_handler


def _secret_id(token: str) -> uuid.UUID:
    """Return the secret a push token names; any other token is one no push has (404)."""
    secret_id = secret_id_from(token)
    if secret_id is None:
        raise Http404
    return secret_id


def _document(request: Request, secret: Secret, action: str, **kwargs: Any) -> dict[str, Any]:
    json_url = absolute_url(request, reverse("pwpush:v1_push", args=[str(secret.id)]))
    return documents.push_document(
        secret,
        action=action,
        now=timezone.now(),
        html_url=secret_url(request, secret.id),
        json_url=json_url,
        **kwargs,
    )


# ---- schema ---------------------------------------------------------------------------------


def _push_params(name: str, *, v2: bool) -> serializers.Serializer[Any]:
    fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {
        "payload": serializers.CharField(
            help_text="The secret (text). Blank: 422. Over ONETIME_MAX_SECRET_BYTES in UTF-8: 422."
        ),
        "passphrase": serializers.CharField(
            required=False, help_text="Asked for on retrieval (`?passphrase=`)."
        ),
        "expire_after_days": serializers.IntegerField(
            required=False,
            help_text="1-90 (else OneTime's default), then at most ONETIME_MAX_TTL in days.",
        ),
        "expire_after_views": serializers.IntegerField(
            required=False, help_text="Accepted; OneTime answers 1: a secret is read once."
        ),
        "deletable_by_viewer": serializers.BooleanField(
            required=False, help_text="Default true: whoever has the token may DELETE it."
        ),
        "retrieval_step": serializers.BooleanField(
            required=False, help_text="Accepted; always true (OneTime's page has a reveal step)."
        ),
        "note": serializers.CharField(required=False, help_text="Echoed on create; not stored."),
        "name": serializers.CharField(required=False, help_text="Echoed on create; not stored."),
        "kind": serializers.ChoiceField(
            choices=sorted(KINDS),
            required=False,
            help_text="text only: url and qr are 422 (disabled), file is 401.",
        ),
    }
    if v2:
        fields["expire_after_duration"] = serializers.IntegerField(
            required=False,
            help_text="pwpush-cli's duration index (6-12: 1-7 days, 13-17: 14-90 days); "
            "before expire_after_days.",
        )
        fields["notify_emails_to"] = serializers.CharField(
            required=False, help_text="Not for anonymous callers: 422."
        )
        fields["notify_emails_to_locale"] = serializers.CharField(
            required=False, help_text="Not for anonymous callers: 422."
        )
    return inline_serializer(name, fields=fields)


def _document_schema(name: str, action: str) -> serializers.Serializer[Any]:
    fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {
        "expire_after_views": serializers.IntegerField(help_text="Always 1."),
        "expired": serializers.BooleanField(),
        "url_token": serializers.CharField(help_text="The secret's id (a UUID)."),
        "deletable_by_viewer": serializers.BooleanField(),
        "retrieval_step": serializers.BooleanField(help_text="Always true."),
        "expired_on": serializers.CharField(allow_null=True, help_text="UTC, milliseconds, Z."),
        "passphrase": serializers.CharField(
            allow_null=True, help_text="As the request gave it; null once expired."
        ),
        "created_at": serializers.CharField(),
        "updated_at": serializers.CharField(),
        "expire_after_days": serializers.IntegerField(),
        "days_remaining": serializers.IntegerField(),
        "views_remaining": serializers.IntegerField(),
        "deleted": serializers.BooleanField(),
        "json_url": serializers.CharField(),
        "html_url": serializers.CharField(help_text="OneTime's recipient page, /s/<uuid>."),
    }
    if action == documents.CREATE:
        fields["note"] = serializers.CharField()
        fields["name"] = serializers.CharField()
        fields["receipt_url"] = serializers.CharField(
            help_text="Additive: OneTime's private receipt page for the sender."
        )
    if action == documents.SHOW:
        fields["payload"] = serializers.CharField(allow_null=True)
        fields["files"] = serializers.ListField(child=serializers.DictField())
    return inline_serializer(name, fields=fields)


ERROR = inline_serializer("PwpushError", fields={"error": serializers.CharField()})
UNPROCESSABLE = inline_serializer(
    "PwpushInvalid",
    fields={
        key: serializers.ListField(child=serializers.CharField(), required=False)
        for key in ("payload", "passphrase", "kind", "notify_emails_to", "notify_emails_to_locale")
    },
)
LOCKED_OUT = inline_serializer(
    "PwpushUnauthorized",
    fields={
        "error": serializers.CharField(),
        "message": serializers.CharField(required=False),
        "status": serializers.CharField(required=False),
        "attempts_left": serializers.IntegerField(
            required=False,
            help_text="Additive: wrong passphrases left before the secret is destroyed.",
        ),
    },
)
EMPTY_401 = OpenApiResponse(description="Account-only: 401 with an empty body, as for anyone.")


def _err(description: str, shape: Any = ERROR) -> OpenApiResponse:
    return OpenApiResponse(shape, description=description)


COMMON = {
    429: _err("Rate-limited (OneTime's limits): `error`, and `Retry-After`."),
    503: _err("The database is unreachable: `error`, and `Retry-After`."),
}
TOKEN = OpenApiParameter("token", str, OpenApiParameter.PATH, description="The secret's id.")
PASSPHRASE_PARAM = OpenApiParameter(
    "passphrase", str, OpenApiParameter.QUERY, required=False, description="The push's passphrase."
)


# ---- views ----------------------------------------------------------------------------------


class VersionApi(PwpushView):
    api_version = "1.5"

    def get(self, request: Request) -> Response:
        return Response(
            documents.version_document(
                application_version=application_version(), api_version=self.api_version
            )
        )


VERSION_V1 = inline_serializer(
    "PwpushVersionV1",
    fields={
        "application_version": serializers.CharField(),
        "api_version": serializers.CharField(),
        "edition": serializers.CharField(),
    },
)
VERSION_V2 = inline_serializer(
    "PwpushVersionV2",
    fields={
        "application_version": serializers.CharField(),
        "api_version": serializers.CharField(),
        "edition": serializers.CharField(),
        "features": serializers.DictField(help_text="What this server offers (all anonymous)."),
    },
)


class VersionV1Api(VersionApi):
    @extend_schema(
        operation_id="pwpush_v1_version",
        tags=[V1],
        responses={200: VERSION_V1},
        summary="Version (Password Pusher API 1.5)",
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class VersionV2Api(VersionApi):
    api_version = "2.1"

    @extend_schema(
        operation_id="pwpush_v2_version",
        tags=[V2],
        responses={200: VERSION_V2},
        summary="Version and features (Password Pusher API 2.1)",
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class CreateApi(PwpushView):
    root = "password"
    v2 = False

    def _root(self, request: Request) -> dict[str, Any] | None:
        try:
            params = documents.nested_params(request_params(request))
        except InvalidInput:
            return None
        root = params.get(self.root)
        if root is None and self.v2 and isinstance(request.data, dict) and "push" not in params:
            # Rails' wrap_parameters: a JSON body without its root is wrapped in one, with
            # the keys that name the push's attributes.
            root = {key: value for key, value in request.data.items() if key in PUSH_KEYS}
        return root if isinstance(root, dict) and root else None

    def post(self, request: Request) -> Response:
        push = self._root(request)
        if push is None:
            return missing(self.root)
        if "files" in push or push.get("kind") == "file":
            return unauthorized()  # file pushes need an account in Password Pusher
        kind = push.get("kind")
        if kind not in (None, "", "text"):
            message = KIND_DISABLED.get(kind) if isinstance(kind, str) else None
            return Response({"kind": [message or "is not included in the list"]}, status=422)
        if self.v2:
            refused = {
                "notify_emails_to": "are not allowed for unknown users",
                "notify_emails_to_locale": "is not allowed for unknown users",
            }
            errors = {key: [text] for key, text in refused.items() if key in push}
            if errors:
                return Response(errors, status=422)
        payload = push.get("payload")
        if isinstance(payload, int | float) and not isinstance(payload, bool):
            payload = str(payload)
        if not isinstance(payload, str) or not payload.strip():
            return Response({"payload": ["Payload is required."]}, status=422)
        passphrase = push.get("passphrase")
        if isinstance(passphrase, int | float) and not isinstance(passphrase, bool):
            passphrase = str(passphrase)  # as Rails casts it, like the payload
        if passphrase is not None and not isinstance(passphrase, str):
            # Never dropped: the push would be made without the protection asked for.
            return Response({"passphrase": ["Send the passphrase as text."]}, status=422)
        passphrase = passphrase or ""
        life = documents.lifetime(
            expire_after_days=push.get("expire_after_days"),
            expire_after_duration=push.get("expire_after_duration") if self.v2 else None,
            default_ttl=settings.ONETIME_DEFAULT_TTL,
            max_ttl=settings.ONETIME_MAX_TTL,
        )
        deletable = (
            documents.is_true(push["deletable_by_viewer"])
            if ("deletable_by_viewer" in push)
            else True
        )
        try:
            created = services.secret_create(
                plaintext=payload,
                ttl=life.ttl,
                passphrase=passphrase or None,
                client_ip=client_ip(request),
                deletable_by_viewer=deletable,
            )
        except TooLarge:
            limit = settings.ONETIME_MAX_SECRET_BYTES
            message = f"The payload is too large.  You can only push up to {limit} bytes."
            return Response({"payload": [message]}, status=422)
        except services.InvalidPassphrase as exc:
            return Response({"passphrase": [str(exc.detail)]}, status=422)
        except InvalidInput as exc:
            return Response({"payload": [str(exc.detail)]}, status=422)
        document = _document(
            request,
            created.secret,
            documents.CREATE,
            live=True,
            passphrase=passphrase,
            note=_text(push.get("note")),
            name=_text(push.get("name")),
        )
        document["receipt_url"] = receipt_url(request, created.receipt_token)
        return Response(document, status=201)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _create_schema(version: str, root: str, **kwargs: Any) -> Callable[[Any], Any]:
    v2 = version == V2
    params = _push_params(f"Pwpush{'V2' if v2 else 'V1'}PushParams", v2=v2)
    body = inline_serializer(f"Pwpush{'V2' if v2 else 'V1'}Create", fields={root: params})
    return extend_schema(
        tags=[version],
        request={
            "application/json": body,
            "application/x-www-form-urlencoded": body,
            "multipart/form-data": body,
        },
        responses={
            201: _document_schema(f"Pwpush{'V2' if v2 else 'V1'}Created", documents.CREATE),
            400: _err(f"No `{root}` parameters: `param is missing …: {root}`."),
            401: EMPTY_401,
            413: _err("The request body is over the server's limit."),
            415: _err("A body that is not JSON, a form or multipart."),
            422: _err(
                "Invalid parameters, per field: blank or too large payload, a disabled kind"
                + (", e-mail notifications." if v2 else "."),
                UNPROCESSABLE,
            ),
            **COMMON,
        },
        **kwargs,
    )


class CreateV1Api(CreateApi):
    @_create_schema(V1, "password", operation_id="pwpush_v1_create", summary="Create a push")
    def post(self, request: Request) -> Response:
        return super().post(request)


class CreateV2Api(CreateApi):
    root = "push"
    v2 = True

    @_create_schema(V2, "push", operation_id="pwpush_v2_create", summary="Create a push")
    def post(self, request: Request) -> Response:
        return super().post(request)


class PushApi(PwpushView):
    """GET consumes (as Password Pusher defines it); DELETE expires; HEAD is refused."""

    # No HEAD: Django would answer it with the GET, which consumes the secret.
    http_method_names = ["get", "delete", "options"]

    def get(self, request: Request, token: str) -> Response:
        secret_id = _secret_id(token)
        passphrase = request.query_params.get("passphrase")
        try:
            revealed = services.secret_reveal(
                secret_id=secret_id,
                passphrase=passphrase or None,
                client_ip=client_ip(request),
                envelope_ok=False,
            )
        except services.SecretNotFound:
            return Response(documents.NOT_FOUND, status=404)
        except services.SecretGone as gone:
            if gone.by == "passphrases":  # this very attempt destroyed it
                return Response({**PASSPHRASE, "attempts_left": 0}, status=401)
            return self._expired(request, secret_id)
        except services.PassphraseRequired:
            return Response(PASSPHRASE, status=401)
        except services.WrongPassphrase as wrong:
            return Response({**PASSPHRASE, **wrong.extra}, status=401)
        except services.InvalidPassphrase:
            # Too long or unusable, so not its passphrase; not counted.
            return Response(PASSPHRASE, status=401)
        except services.NeedsJavaScript:
            return _refused(
                "was encrypted on its sender's device",
                "Open the whole link you were sent, the part after # included, in a browser "
                "or with `onetime open`: the key is in that part.",
            )
        except services.TelegramCodeRequired:
            return _refused(
                "is for one Telegram account only",
                f"Open {secret_url(request, secret_id)} and enter the code the bot sends "
                "that account.",
            )
        secret = services.secret_record(secret_id=secret_id, client_ip=None)
        document = _document(
            request,
            secret,
            documents.SHOW,
            live=True,
            passphrase=passphrase,
            payload=revealed.plaintext,
        )
        return Response(document, headers={"Cache-Control": "no-store"})

    def _expired(self, request: Request, secret_id: uuid.UUID) -> Response:
        try:
            secret = services.secret_record(secret_id=secret_id, client_ip=None)
        except services.SecretNotFound:
            return Response(documents.NOT_FOUND, status=404)
        return Response(_document(request, secret, documents.SHOW, live=False))

    def delete(self, request: Request, token: str) -> Response:
        try:
            secret = services.secret_burn_by_viewer(
                secret_id=_secret_id(token), client_ip=client_ip(request)
            )
        except services.SecretNotFound:
            return Response(documents.NOT_FOUND, status=404)
        except services.NotDeletable:
            return Response(NOT_DELETABLE, status=401)
        return Response(_document(request, secret, documents.DESTROY, live=False))


def _refused(why: str, where: str) -> Response:
    """Answer for a secret this API cannot open: nothing consumed, where it can be opened."""
    return Response(
        {
            "error": f"This push {why} and cannot be retrieved through this API.",
            "message": f"Nothing was consumed. {where}",
            "status": "unauthorized",
        },
        status=401,
    )


def _show_schema(version: str, **kwargs: Any) -> Callable[[Any], Any]:
    tag = "V2" if version == V2 else "V1"
    return extend_schema(
        tags=[version],
        parameters=[TOKEN, PASSPHRASE_PARAM],
        responses={
            200: _document_schema(f"Pwpush{tag}Shown", documents.SHOW),
            401: _err(
                "Passphrase missing or wrong (`attempts_left` when wrong; 0 when this attempt "
                "destroyed it), or a secret that opens only on its OneTime page (client-"
                "encrypted or for one Telegram account; nothing consumed).",
                LOCKED_OUT,
            ),
            404: _err("No such push (never existed, or purged): `not-found`."),
            **COMMON,
        },
        description="Consumes the push: the payload comes once; later, the expired document.",
        **kwargs,
    )


def _delete_schema(version: str, **kwargs: Any) -> Callable[[Any], Any]:
    tag = "V2" if version == V2 else "V1"
    return extend_schema(
        tags=[version],
        parameters=[TOKEN],
        responses={
            200: _document_schema(f"Pwpush{tag}Destroyed", documents.DESTROY),
            401: _err("Not deletable by viewers."),
            404: _err("No such push: `not-found`."),
            **COMMON,
        },
        **kwargs,
    )


class PushV1Api(PushApi):
    @_show_schema(V1, operation_id="pwpush_v1_retrieve", summary="Retrieve a push (consumes)")
    def get(self, request: Request, token: str) -> Response:
        return super().get(request, token)

    @_delete_schema(V1, operation_id="pwpush_v1_expire", summary="Expire a push")
    def delete(self, request: Request, token: str) -> Response:
        return super().delete(request, token)


class PushV2Api(PushApi):
    @_show_schema(V2, operation_id="pwpush_v2_retrieve", summary="Retrieve a push (consumes)")
    def get(self, request: Request, token: str) -> Response:
        return super().get(request, token)

    @_delete_schema(V2, operation_id="pwpush_v2_expire", summary="Expire a push")
    def delete(self, request: Request, token: str) -> Response:
        return super().delete(request, token)


class PreviewApi(PwpushView):
    def get(self, request: Request, token: str) -> Response:
        secret = services.secret_record(secret_id=_secret_id(token), client_ip=client_ip(request))
        return Response({"url": secret_url(request, secret.id)})


def _preview_schema(version: str, **kwargs: Any) -> Callable[[Any], Any]:
    return extend_schema(
        tags=[version],
        parameters=[TOKEN],
        responses={
            200: inline_serializer(
                f"Pwpush{'V2' if version == V2 else 'V1'}Preview",
                fields={"url": serializers.CharField(help_text="The recipient's page.")},
            ),
            404: _err("No such push: `not-found`."),
            **COMMON,
        },
        summary="The push's link (does not consume)",
        **kwargs,
    )


class PreviewV1Api(PreviewApi):
    @_preview_schema(V1, operation_id="pwpush_v1_preview")
    def get(self, request: Request, token: str) -> Response:
        return super().get(request, token)


class PreviewV2Api(PreviewApi):
    @_preview_schema(V2, operation_id="pwpush_v2_preview")
    def get(self, request: Request, token: str) -> Response:
        return super().get(request, token)


def _account_only(version: str, method: str, operation_id: str, summary: str) -> type[PwpushView]:
    """Return a view for an account-only route: 401 with an empty body, as for anyone."""

    def answer(self: PwpushView, request: Request, **kwargs: Any) -> Response:
        return unauthorized()

    decorated = extend_schema(
        operation_id=operation_id,
        tags=[version],
        request=None,
        responses={401: EMPTY_401},
        summary=summary,
    )(answer)
    return type(f"AccountOnly_{operation_id}", (PwpushView,), {method: decorated})


ActiveV1Api = _account_only(V1, "get", "pwpush_v1_active", "Active pushes (account only)")
ExpiredV1Api = _account_only(V1, "get", "pwpush_v1_expired", "Expired pushes (account only)")
AuditV1Api = _account_only(V1, "get", "pwpush_v1_audit", "A push's audit log (account only)")
ActiveV2Api = _account_only(V2, "get", "pwpush_v2_active", "Active pushes (account only)")
ExpiredV2Api = _account_only(V2, "get", "pwpush_v2_expired", "Expired pushes (account only)")
AuditV2Api = _account_only(V2, "get", "pwpush_v2_audit", "A push's audit log (account only)")
NotifyV2Api = _account_only(
    V2, "post", "pwpush_v2_notify_emails", "E-mail a push's link (account only)"
)
