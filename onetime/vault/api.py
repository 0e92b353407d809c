"""JSON API for secrets (/api/v1/): parse input, call one service, shape the output."""

import uuid
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from onetime.core import envelope as zk
from onetime.core.fields import StrictCharField, StrictIntegerField
from onetime.core.openapi import RequiredBody, errors
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


def _chars(size: int) -> int:
    """Return the length of ``size`` bytes in base64 without padding."""
    return (size * 4 + 2) // 3


class Base64Field(serializers.Field):  # type: ignore[type-arg]
    """
    Bytes as URL-safe base64 without padding (core/envelope.py): a JSON string whose
    length and alphabet the schema states; the value is bytes.
    """

    default_error_messages = {
        "invalid": _("Send a JSON string of URL-safe base64 without padding (A-Z a-z 0-9 - _)."),
        "size": _("Send {low} to {high} bytes, in base64url."),
        "too_short": _("Send at least {low} bytes, in base64url: that is the envelope's header."),
    }

    def __init__(self, *, min_bytes: int = 1, max_bytes: int | None = None, **kwargs: Any):
        self.min_bytes, self.max_bytes = min_bytes, max_bytes
        super().__init__(required=False, **kwargs)

    def to_internal_value(self, data: Any) -> bytes:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            value = zk.b64decode(data)
        except zk.EnvelopeError:
            self.fail("invalid")
        # The upper bound of a ciphertext is the service's (413).
        if self.max_bytes is None and len(value) < self.min_bytes:
            self.fail("too_short", low=self.min_bytes)
        if self.max_bytes is not None and not self.min_bytes <= len(value) <= self.max_bytes:
            self.fail("size", low=self.min_bytes, high=self.max_bytes)
        return value

    def to_representation(self, value: Any) -> str:
        return zk.b64encode(value)

    def json_schema(self) -> dict[str, Any]:
        schema = {
            "type": "string",
            "pattern": f"^{zk.BASE64URL.pattern}$",
            "minLength": _chars(self.min_bytes),
            "description": self.help_text,
        }
        if self.max_bytes is not None:
            schema["maxLength"] = _chars(self.max_bytes)
        return schema


# Subclassing registers the extension (drf-spectacular's base class is untyped).
class Base64Schema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = Base64Field
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return self.target.json_schema()  # type: ignore[no-any-return]


class CiphertextField(Base64Field):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_bytes=zk.OVERHEAD + 1, **kwargs)

    def json_schema(self) -> dict[str, Any]:
        # The service checks the size (413 over it); the schema states it as this server's
        # settings have it.
        maximum = _chars(settings.ONETIME_MAX_SECRET_BYTES + zk.OVERHEAD)
        return {**super().json_schema(), "maxLength": maximum}


def proof_field(help_text: str) -> Base64Field:
    return Base64Field(min_bytes=zk.PROOF_BYTES, max_bytes=zk.PROOF_BYTES, help_text=help_text)


ENCRYPTION_HELP = (
    '"client": encrypted by the sender\'s client (a browser or `onetime share`); the key is '
    'in the link\'s fragment, which the server never receives. "server": the server '
    "encrypted it, and sees it when it is created and revealed."
)


def encryption(secret: Secret) -> str:
    return "client" if secret.client_encrypted else "server"


class TtlField(StrictIntegerField):
    def schema_extra(self) -> dict[str, Any]:
        # The service checks the bounds (for the web form too); the schema states them as
        # this server's settings have them.
        return {"minimum": settings.ONETIME_MIN_TTL, "maximum": settings.ONETIME_MAX_TTL}


class TelegramAccountField(serializers.Field):  # type: ignore[type-arg]
    """
    A Telegram account: a JSON string ("@alice", "alice", "123456789") or a JSON integer.
    Only the types are checked here; services.parse_telegram_account checks the value (400
    ``invalid_telegram_account``), which the schema states as a pattern.
    """

    default_error_messages = {
        "invalid": _("Send a Telegram @username as a string, or a numeric user id."),
        "blank": serializers.CharField.default_error_messages["blank"],
    }

    def __init__(self, *, allow_blank: bool = False, **kwargs: Any) -> None:
        self.allow_blank = allow_blank
        super().__init__(required=False, allow_null=allow_blank, **kwargs)

    def to_internal_value(self, data: Any) -> str | int:
        # bool is an int in Python; JSON's true and false are not accounts.
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        if data == "" and not self.allow_blank:
            self.fail("blank")
        return data

    def to_representation(self, value: Any) -> Any:
        return value

    def json_schema(self) -> dict[str, Any]:
        """Return the field's schema: what parse_telegram_account accepts, exactly."""
        name, user_id = services.TELEGRAM_USERNAME.pattern, services.TELEGRAM_USER_ID.pattern
        blank = "|" if self.allow_blank else ""
        # drf-spectacular adds "nullable" beside oneOf for allow_null.
        text = {"type": "string", "pattern": f"^(?:{blank}{name}|{user_id})$"}
        number = {"type": "integer", "minimum": 1, "maximum": services.TELEGRAM_USER_ID_MAX}
        return {"oneOf": [text, number], "description": self.help_text}


# Subclassing registers the extension (drf-spectacular's base class is untyped).
class TelegramAccountSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = TelegramAccountField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return self.target.json_schema()  # type: ignore[no-any-return]


class SecretCreateInput(serializers.Serializer[Any]):
    secret = SecretField(
        required=False,
        help_text=(
            "The secret, encrypted by the server and returned byte for byte: Unicode text "
            "without NUL, at most ONETIME_MAX_SECRET_BYTES (65,536 by default) in UTF-8; 413 "
            "over it. Send either `secret` or `ciphertext`."
        ),
    )
    ciphertext = CiphertextField(
        help_text=(
            "Instead of `secret`: the secret encrypted by the client, a version-1 envelope "
            "(docs/zero-knowledge.md) in URL-safe base64 without padding. Its id comes from "
            "the envelope; the link's fragment (`#key`) is the client's to add. 409 "
            "`already_created` when the same envelope is sent twice."
        ),
    )
    passphrase_proof = proof_field(
        "With a `ciphertext` whose envelope mixes in a passphrase: the proof derived from "
        "it (docs/zero-knowledge.md), 32 bytes. The server keeps only its Argon2id hash."
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
    telegram_recipient = TelegramAccountField(
        allow_blank=True,
        help_text=(
            "The one Telegram account that may open the secret: a @username or a numeric "
            "user id (a JSON integer or a string of digits). The recipient then needs a code "
            "from the bot to reveal it. Empty or null: anyone with the link. 400 "
            "`telegram_not_configured` when the server has no bot."
        ),
    )
    notify_telegram = TelegramAccountField(
        help_text=(
            "The sender's own Telegram account (@username or id), to be told there when the "
            "secret is read, expires or is destroyed. Needs `notify_code`."
        ),
    )
    notify_code = StrictCharField(
        required=False,
        # Blank (or only whitespace) is no code: 400 wrong_notify_code, like a wrong one.
        allow_blank=True,
        max_length=16,
        help_text=(
            "A code the bot sent to `notify_telegram` (/code), proving it is the sender's; "
            "used up. Wrong, expired or another account's: 400 `wrong_notify_code`."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("secret") is None and attrs.get("ciphertext") is None:
            raise serializers.ValidationError(
                {"secret": serializers.Field.default_error_messages["required"]}
            )
        if attrs.get("secret") is not None and attrs.get("ciphertext") is not None:
            raise serializers.ValidationError(
                _(
                    "Send either secret (the server encrypts it) or ciphertext (encrypted by "
                    "your client), not both."
                )
            )
        if ("notify_telegram" in attrs) != ("notify_code" in attrs):
            raise serializers.ValidationError(
                _("Send notify_telegram and notify_code together, or neither.")
            )
        return attrs


# Subclassing registers the extension (drf-spectacular's base class is untyped).
class SecretCreateInputSchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """State in the schema what validate() checks: both notify fields, or neither."""

    target_class = SecretCreateInput

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(
            self.target_class, direction, bypass_extensions=True
        )
        exactly_one = [{"required": ["notify_telegram"]}, {"required": ["notify_code"]}]
        either = [{"required": ["secret"]}, {"required": ["ciphertext"]}]
        return {**schema, "not": {"oneOf": exactly_one}, "oneOf": either}


class SecretCreateOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    url = serializers.URLField(help_text="The link to send to the recipient.")
    expires_at = serializers.DateTimeField()
    receipt_url = serializers.URLField(help_text="The sender's private status page.")
    telegram_recipient = serializers.CharField(
        allow_null=True,
        help_text='The account that may open it ("@alice" or "123456789"); null: anyone.',
    )
    notify = serializers.BooleanField(help_text="Whether the sender is told in Telegram.")
    encryption = serializers.ChoiceField(choices=["client", "server"], help_text=ENCRYPTION_HELP)


class SecretMetaOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    expires_at = serializers.DateTimeField()
    passphrase_required = serializers.BooleanField(
        help_text="For a client-encrypted secret: the reveal needs `passphrase_proof`."
    )
    encryption = serializers.ChoiceField(choices=["client", "server"], help_text=ENCRYPTION_HELP)
    key_check = serializers.CharField(
        allow_null=True,
        help_text=(
            "For a client-encrypted secret: the envelope's key check (base64url), which a "
            "client compares with the one its key gives before the reveal, to tell a wrong or "
            "truncated link without consuming the secret. null for server encryption."
        ),
    )
    telegram_recipient = serializers.CharField(
        allow_null=True,
        help_text=(
            "The one Telegram account that may open it, as the sender wrote it; null: anyone "
            "with the link."
        ),
    )
    telegram_bot = serializers.CharField(
        allow_null=True,
        help_text=(
            'The bot that sends that account its code ("@name"); null when the secret is '
            "for anyone, or the server does not know its bot's name."
        ),
    )


class RevealInput(serializers.Serializer[Any]):
    passphrase = PassphraseField()
    passphrase_proof = proof_field(
        "For a client-encrypted secret with a passphrase, instead of `passphrase` (which "
        "never leaves the client): the proof derived from it. A wrong one counts as a wrong "
        "passphrase."
    )
    telegram_code = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=16,
        help_text=(
            "For a secret bound to a Telegram account: the code the bot sent that account "
            "(/code); used up when the secret opens. Empty or null: none."
        ),
    )


class RevealOutput(serializers.Serializer[Any]):
    secret = serializers.CharField(
        required=False, help_text="A server-encrypted secret: the plaintext."
    )
    ciphertext = serializers.CharField(
        required=False,
        help_text="A client-encrypted secret: its envelope (base64url), for the client to open "
        "with the key in the link's fragment.",
    )


class ReceiptOutput(serializers.Serializer[Any]):
    state = serializers.ChoiceField(choices=Secret.State.choices)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revealed_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    passphrase_required = serializers.BooleanField()
    encryption = serializers.ChoiceField(choices=["client", "server"], help_text=ENCRYPTION_HELP)
    failed_attempts = serializers.IntegerField()
    telegram_recipient = serializers.CharField(
        allow_null=True, help_text="The one Telegram account that may open it; null: anyone."
    )
    failed_codes = serializers.IntegerField(help_text="Wrong Telegram codes tried so far.")
    notify = serializers.BooleanField(help_text="Whether the sender is told in Telegram.")


def _receipt_data(secret: Secret) -> dict[str, Any]:
    return ReceiptOutput(
        {
            "state": secret.state,
            "created_at": secret.created_at,
            "expires_at": secret.expires_at,
            "revealed_at": secret.ended_at if secret.state == Secret.State.REVEALED else None,
            "ended_at": secret.ended_at,
            "passphrase_required": secret.passphrase_required,
            "encryption": encryption(secret),
            "failed_attempts": secret.failed_attempts,
            "telegram_recipient": secret.telegram_recipient or None,
            "failed_codes": secret.failed_codes,
            "notify": secret.notify_chat_id is not None,
        }
    ).data


class SecretCreateApi(APIView):
    schema = RequiredBody()

    @extend_schema(
        operation_id="secret_create",
        request=SecretCreateInput,
        responses={
            201: SecretCreateOutput,
            **errors(
                400,
                409,
                413,
                415,
                429,
                503,
                described={
                    400: "Invalid input: `invalid` (`errors` per field), `invalid_json`, "
                    "`invalid_ciphertext` (`ciphertext` is not a version-1 envelope), "
                    "`wrong_encryption_mode` (a `passphrase_proof` that does not fit the "
                    "envelope, or a `passphrase` or `passphrase_proof` sent with the wrong one of "
                    "`secret` and `ciphertext`), "
                    "`invalid_telegram_account` (`telegram_recipient` or `notify_telegram` "
                    "names no possible account), `wrong_notify_code` (`notify_code` does not "
                    "prove `notify_telegram`: wrong, expired, used or another account's), "
                    "`telegram_not_configured` (a Telegram field, but the server has no bot).",
                },
            ),
        },
        summary="Create a secret",
    )
    def post(self, request: Request) -> Response:
        data = SecretCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.secret_create(
            plaintext=data.validated_data.get("secret"),
            envelope=data.validated_data.get("ciphertext"),
            passphrase_proof=data.validated_data.get("passphrase_proof"),
            ttl=data.validated_data.get("ttl"),
            passphrase=data.validated_data.get("passphrase"),
            client_ip=client_ip(request),
            telegram_recipient=data.validated_data.get("telegram_recipient"),
            notify_telegram=data.validated_data.get("notify_telegram"),
            notify_code=data.validated_data.get("notify_code"),
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
            "telegram_recipient": secret.telegram_recipient or None,
            "notify": secret.notify_chat_id is not None,
            "encryption": encryption(secret),
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
                    "encryption": encryption(secret),
                    "key_check": secret.key_check or None,
                    "telegram_recipient": secret.telegram_recipient or None,
                    "telegram_bot": services.recipient_bot(secret),
                }
            ).data
        )


class SecretRevealApi(APIView):
    @extend_schema(
        operation_id="secret_reveal",
        request=RevealInput,
        responses={
            200: RevealOutput,
            **errors(
                400,
                403,
                404,
                410,
                413,
                415,
                429,
                503,
                described={
                    400: "Invalid input: `invalid` (`errors` per field), `invalid_json`, or "
                    "`wrong_encryption_mode`: a `passphrase` for a client-encrypted secret (it "
                    "takes `passphrase_proof`; nothing is counted) or a `passphrase_proof` for a "
                    "server-encrypted one.",
                    403: "A passphrase is needed (`passphrase_required`) or wrong "
                    "(`wrong_passphrase`, with `attempts_left`); the secret is for one "
                    "Telegram account and needs its code (`telegram_code_required`, with "
                    "`telegram_recipient` and `telegram_bot`), or the code is wrong, expired, "
                    "used or another account's (`wrong_telegram_code`, with `attempts_left`). "
                    "For a client-encrypted secret, `passphrase_proof` stands for the "
                    "passphrase.",
                    410: "The secret is gone: revealed, burned, or destroyed by 5 wrong "
                    "passphrases or 5 wrong Telegram codes (`destroyed`), or its lifetime ran "
                    "out (`expired`).",
                },
            ),
        },
        summary="Reveal a secret, destroying it",
        description=(
            "403 carries `attempts_left` when the passphrase or the Telegram code is wrong. "
            "A secret for one Telegram account opens only with a current code of that "
            "account (`telegram_code`); a right code with a wrong passphrase is not used up."
        ),
    )
    def post(self, request: Request, secret_id: uuid.UUID) -> Response:
        # An empty body is fine (DRF reads it as {}): a secret without a passphrase needs no
        # input. JSON that is not an object (null, [], false …) is refused, not read as {}.
        data = RevealInput(data=request.data)
        data.is_valid(raise_exception=True)
        revealed = services.secret_reveal(
            secret_id=secret_id,
            passphrase=data.validated_data.get("passphrase"),
            passphrase_proof=data.validated_data.get("passphrase_proof"),
            client_ip=client_ip(request),
            telegram_code=data.validated_data.get("telegram_code"),
        )
        # As RevealOutput documents it: the field the secret was created with.
        if revealed.envelope is not None:
            return Response({"ciphertext": zk.b64encode(revealed.envelope)})
        return Response({"secret": revealed.plaintext})


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
