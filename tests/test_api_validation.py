"""
Every invalid API request gets a 4xx JSON answer with a stable "status" and a human
"detail" in the request's language (PRODUCT.md §2.5), and changes nothing.
"""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from onetime.vault.models import Secret
from tests.conftest import make_secret, post_json

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

CREATE = "/api/v1/secrets"
EN = {"accept_language": "en"}


@pytest.fixture
def unchanged() -> Iterator[None]:
    """Fail unless the test leaves every row of the secrets table as it found it."""
    before = list(Secret.objects.order_by("pk").values())
    yield
    assert list(Secret.objects.order_by("pk").values()) == before


@pytest.fixture
def unchanged_after_setup() -> Iterator[Any]:
    """An active secret, and a check that the test leaves it exactly as it was."""
    created = make_secret("still here")
    before = list(Secret.objects.order_by("pk").values())
    yield created
    assert list(Secret.objects.order_by("pk").values()) == before
    assert Secret.objects.get(pk=created.secret.id).state == Secret.State.ACTIVE


def post_raw(client: Client, path: str, body: str | bytes, **headers: str) -> Any:
    return client.post(path, data=body, content_type="application/json", headers=headers)


def assert_error(response: Any, status_code: int, status: str, detail: str | None = None) -> None:
    assert response.status_code == status_code, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert body["detail"].strip()
    if detail is not None:
        assert body["detail"] == detail


def utf8_of_size(char: str, size: int) -> str:
    """Return text of exactly ``size`` UTF-8 bytes, made of ``char`` and ASCII padding."""
    width = len(char.encode("utf-8"))
    text = char * (size // width) + "a" * (size % width)
    assert len(text.encode("utf-8")) == size
    return text


# --- Missing, empty or mistyped fields --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "secret: This field is required."),
        ({"ttl": 300}, "secret: This field is required."),
        ({"secret": ""}, "secret: This field may not be blank."),
        ({"secret": None}, "secret: This field may not be null."),
        ({"secret": ["a", "b"]}, "secret: Not a valid string."),
        ({"secret": {"a": "b"}}, "secret: Not a valid string."),
        # Strict types: a number or a boolean is not a string (it used to become "42").
        ({"secret": 42}, "secret: Not a valid string."),
        ({"secret": 4.2}, "secret: Not a valid string."),
        ({"secret": True}, "secret: Not a valid string."),
    ],
)
def test_it_refuses_a_missing_or_empty_secret(client, unchanged, body, detail):
    response = post_json(client, CREATE, body, **EN)

    assert_error(response, 400, "invalid", detail)
    assert "secret" in response.json()["errors"]


@pytest.mark.parametrize("body", ["[]", '["hunter2"]', '"hunter2"', "42", "null"])
def test_it_refuses_a_json_body_that_is_not_an_object(client, unchanged, body):
    response = post_raw(client, CREATE, body, **EN)

    assert_error(response, 400, "invalid")


def test_it_refuses_an_empty_body(client, unchanged):
    response = post_raw(client, CREATE, "", **EN)

    assert_error(response, 400, "invalid", "secret: This field is required.")


# --- Content type and syntax ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "secret=hunter2"),
        (
            "multipart/form-data; boundary=BoUnDaRy",
            '--BoUnDaRy\r\nContent-Disposition: form-data; name="secret"\r\n\r\n'
            "hunter2\r\n--BoUnDaRy--\r\n",
        ),
        ("text/plain", '{"secret": "hunter2"}'),
        ("application/xml", "<secret>hunter2</secret>"),
    ],
)
def test_it_refuses_a_body_that_is_not_json_with_415(client, unchanged, content_type, body):
    response = client.post(CREATE, data=body, content_type=content_type, headers=EN)

    assert_error(
        response,
        415,
        "unsupported_media_type",
        "Send the request body as JSON (Content-Type: application/json).",
    )


@pytest.mark.parametrize(
    "body",
    [
        '{"secret": ',
        "{'secret': 'hunter2'}",
        '{"secret": "hunter2",}',
        '{"secret": "hunter2"} trailing',
        b'{"secret": "\xff\xfe"}',
    ],
)
def test_it_refuses_malformed_json(client, unchanged, body):
    response = post_raw(client, CREATE, body, **EN)

    assert_error(response, 400, "invalid_json", "The request body is not valid JSON.")


def test_a_malformed_reveal_request_does_not_consume_the_secret(client, unchanged_after_setup):
    secret_id = unchanged_after_setup.secret.id

    response = post_raw(client, f"{CREATE}/{secret_id}/reveal", '{"passphrase": ', **EN)

    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("body", ["null", "[]", "0", "false", '""', '"hunter2"'])
def test_a_reveal_body_that_is_not_an_object_does_not_consume_the_secret(
    client, unchanged_after_setup, body
):
    """An empty body is fine (no passphrase needed); JSON that is not an object is not."""
    secret_id = unchanged_after_setup.secret.id

    response = post_raw(client, f"{CREATE}/{secret_id}/reveal", body, **EN)

    assert_error(response, 400, "invalid")


def test_a_non_json_reveal_request_does_not_consume_the_secret(client, unchanged_after_setup):
    secret_id = unchanged_after_setup.secret.id

    response = client.post(
        f"{CREATE}/{secret_id}/reveal", data="passphrase=x", content_type="text/plain", headers=EN
    )

    assert_error(response, 415, "unsupported_media_type")


# --- Methods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", CREATE),
        ("put", CREATE),
        ("delete", CREATE),
        ("post", f"{CREATE}/{{id}}"),
        ("delete", f"{CREATE}/{{id}}"),
        # A GET never reveals: link-preview robots send GETs.
        ("get", f"{CREATE}/{{id}}/reveal"),
        ("post", "/api/v1/receipts/{token}"),
        ("get", "/api/v1/receipts/{token}/burn"),
    ],
)
def test_it_refuses_a_wrong_method_with_405(client, unchanged_after_setup, method, path):
    created = unchanged_after_setup
    path = path.format(id=created.secret.id, token=created.receipt_token)

    response = getattr(client, method)(path, headers=EN)

    assert_error(response, 405, "method_not_allowed", "This method is not allowed here.")
    assert method.upper() not in response["Allow"]


# --- Lifetime ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ttl",
    [
        59,
        0,
        -60,
        settings.ONETIME_MAX_TTL + 1,
        10**30,
    ],
)
def test_it_refuses_a_lifetime_out_of_range(client, unchanged, ttl):
    response = post_json(client, CREATE, {"secret": "hunter2", "ttl": ttl}, **EN)

    assert_error(
        response,
        400,
        "invalid",
        f"The lifetime must be between 60 and {settings.ONETIME_MAX_TTL} seconds.",
    )


@pytest.mark.parametrize(
    "ttl",
    # Strictly a JSON integer: not digits in a string (ASCII or any other script's), not a
    # number with a fraction part, not a boolean.
    ["abc", "", 90.5, [300], {"s": 300}, True, False, "3600", "٣٦٠٠", " 3600", 3600.0, "3600.0"],
)
def test_it_refuses_a_lifetime_that_is_not_an_integer(client, unchanged, ttl):
    response = post_json(client, CREATE, {"secret": "hunter2", "ttl": ttl}, **EN)

    assert_error(
        response,
        400,
        "invalid",
        "ttl: Send a whole number as a JSON number, without quotes or decimals.",
    )
    assert "ttl" in response.json()["errors"]


@pytest.mark.parametrize("passphrase", [0, 1234, 12.5, True, ["open"], {"p": "open"}])
@pytest.mark.parametrize("path", [CREATE, f"{CREATE}/{{id}}/reveal"])
def test_it_refuses_a_passphrase_that_is_not_a_string(
    client, unchanged_after_setup, path, passphrase
):
    path = path.format(id=unchanged_after_setup.secret.id)

    response = post_json(client, path, {"secret": "hunter2", "passphrase": passphrase}, **EN)

    assert_error(response, 400, "invalid", "passphrase: Not a valid string.")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"telegram_user_id": 42, "code": 1234567}, "code"),
        ({"telegram_user_id": "42", "code": "1234567"}, "telegram_user_id"),
        ({"telegram_user_id": 42.0, "code": "1234567"}, "telegram_user_id"),
        ({"username": 42, "code": "1234567"}, "username"),
    ],
)
def test_code_verification_takes_strict_types_too(client, settings, body, field):
    settings.CODES_VERIFY_TOKEN = "verify-token"

    response = post_json(client, "/api/v1/codes/verify", body, authorization="Bearer verify-token")

    assert_error(response, 400, "invalid")
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize("ttl", [60, settings.ONETIME_MAX_TTL])
def test_it_accepts_the_lifetime_bounds(client, ttl):
    response = post_json(client, CREATE, {"secret": "hunter2", "ttl": ttl})

    assert response.status_code == 201
    assert Secret.objects.count() == 1


def test_it_reads_the_lifetime_bound_from_the_settings(client, unchanged, settings):
    settings.ONETIME_MAX_TTL = 600

    response = post_json(client, CREATE, {"secret": "hunter2", "ttl": 601}, **EN)

    assert_error(response, 400, "invalid", "The lifetime must be between 60 and 600 seconds.")


# --- Text that is not valid Unicode, or not allowed -------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"secret": "a\\u0000b"}',
        '{"secret": "\\u0000"}',
        '{"secret": "a\\ud800b"}',
        '{"secret": "\\udfff"}',
        '{"secret": "ok", "passphrase": "a\\u0000b"}',
        '{"secret": "ok", "passphrase": "a\\ud800b"}',
    ],
)
def test_it_refuses_nul_and_lone_surrogates(client, unchanged, raw):
    response = post_raw(client, CREATE, raw, **EN)

    assert_error(response, 400, "invalid")


@pytest.mark.parametrize("raw", ['{"passphrase": "a\\u0000b"}', '{"passphrase": "\\ud800"}'])
def test_it_refuses_a_bad_reveal_passphrase_without_counting_it(client, unchanged_after_setup, raw):
    secret_id = unchanged_after_setup.secret.id

    response = post_raw(client, f"{CREATE}/{secret_id}/reveal", raw, **EN)

    assert_error(response, 400, "invalid")


# --- Size -------------------------------------------------------------------------------------

MULTI_BYTE = ["a", "ж", "€", "😀"]


@pytest.mark.parametrize("char", MULTI_BYTE)
def test_it_accepts_a_secret_of_exactly_the_limit_in_utf8_bytes(client, char):
    secret = utf8_of_size(char, settings.ONETIME_MAX_SECRET_BYTES)

    response = post_json(client, CREATE, {"secret": secret})

    assert response.status_code == 201
    assert Secret.objects.count() == 1


@pytest.mark.parametrize("char", MULTI_BYTE)
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_it_refuses_a_secret_one_utf8_byte_over_the_limit(client, unchanged, char, ensure_ascii):
    limit = settings.ONETIME_MAX_SECRET_BYTES
    secret = utf8_of_size(char, limit + 1)
    # Counted in characters, a multi-byte secret would be far below the limit.
    assert len(secret) <= limit + 1

    body = json.dumps({"secret": secret}, ensure_ascii=ensure_ascii).encode("utf-8")
    response = post_raw(client, CREATE, body, **EN)

    assert_error(
        response,
        413,
        "too_large",
        f"The secret is {limit + 1} bytes long; the limit is {limit} bytes (UTF-8).",
    )


def test_it_counts_the_limit_from_the_settings(client, unchanged, settings):
    settings.ONETIME_MAX_SECRET_BYTES = 4

    response = post_json(client, CREATE, {"secret": "жж!"}, **EN)

    assert_error(response, 413, "too_large")


def test_it_refuses_a_body_larger_than_django_reads_with_413(client, unchanged):
    padding = "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json.dumps({"secret": "hunter2", "padding": padding})

    response = post_raw(client, CREATE, body, **EN)

    assert_error(response, 413, "too_large", "The request body is too large.")


def test_it_refuses_an_oversized_reveal_body_without_consuming(client, unchanged_after_setup):
    secret_id = unchanged_after_setup.secret.id
    body = json.dumps({"passphrase": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = post_raw(client, f"{CREATE}/{secret_id}/reveal", body, **EN)

    assert_error(response, 413, "too_large")


# --- Language ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("send", "status_code", "russian"),
    [
        (lambda c: post_json(c, CREATE, {}), 400, "Обязательное поле."),
        (lambda c: post_raw(c, CREATE, "{"), 400, "Тело запроса — некорректный JSON."),
        (
            lambda c: c.post(CREATE, "secret=x", content_type="text/plain"),
            415,
            "Отправьте тело запроса в формате JSON",
        ),
        (lambda c: c.get(CREATE), 405, "Этот метод здесь не поддерживается."),
        (
            lambda c: post_json(c, CREATE, {"secret": "x", "ttl": 1}),
            400,
            "Срок жизни должен быть от 60 до",
        ),
        (
            lambda c: post_json(
                c, CREATE, {"secret": "x" * (settings.ONETIME_MAX_SECRET_BYTES + 1)}
            ),
            413,
            "Размер секрета",
        ),
    ],
)
def test_the_detail_is_russian_by_default_and_english_on_request(
    client, unchanged, send, status_code, russian
):
    default = send(client)
    english = send(Client(headers={"accept-language": "en"}))

    assert default.status_code == english.status_code == status_code
    assert default["Content-Language"] == "ru"
    assert english["Content-Language"] == "en"
    assert default.json()["status"] == english.json()["status"]
    assert russian in default.json()["detail"]
    assert russian not in english.json()["detail"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/secrets", f"/api/v1/secrets/{uuid.uuid4()}/reveal", "/api/v1/codes/verify"],
)
def test_json_nested_too_deeply_is_a_400_not_a_500(client, settings, path):
    # Parameter `settings` is pytest-django's fixture (shadows the module-level import).
    settings.CODES_VERIFY_TOKEN = "verify-token"
    body = "[" * 100_000 + "]" * 100_000

    response = post_raw(client, path, body, authorization="Bearer verify-token")

    assert response.status_code == 400
    assert response.json()["status"] == "invalid_json"
