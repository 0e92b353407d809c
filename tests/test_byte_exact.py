"""What comes out of the API is exactly what went in (PRODUCT.md §2.2, byte-exact)."""

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import post_json

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

SAMPLES = {
    "leading and trailing spaces": "   hunter2   ",
    "only whitespace": " \t \n ",
    "tabs": "\tkey\tvalue\t",
    "crlf": "line one\r\nline two\r\n",
    "lone cr": "line one\rline two\r",
    "lf and blank lines": "\n\nline\n\n\n",
    "mixed newlines": "a\r\nb\nc\rd\n\r",
    "emoji": "🔑 pass 👩‍👩‍👧‍👦 🇷🇺 ❤️",
    "right-to-left marks": "\u200fשלום\u200f and \u202eevil\u202c",
    "zero-width characters": "a\u200bb\u200cc\u200dd\ufeffe",
    "combining characters (not NFC)": "e\u0301 vs \u00e9, A\u030a, \u1100\u1161",
    "cyrillic": "Пароль: «ёжик» — в тумане",
    "control characters": "\x01\x07\x1b[31m\x7f",
    "json and html syntax": '{"secret": "x"} <script>alert(1)</script> &amp; \\n \\u0000',
    "astral and non-characters": "\U0001d11e \U0010fffd \ufffe \uffff",
}


def round_trip(client: Client, body: bytes, passphrase: str | None = None) -> Any:
    created = client.post("/api/v1/secrets", data=body, content_type="application/json")
    assert created.status_code == 201, created.content
    return post_json(
        client,
        f"/api/v1/secrets/{created.json()['id']}/reveal",
        {} if passphrase is None else {"passphrase": passphrase},
    )


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["escaped", "raw-utf8"])
@pytest.mark.parametrize("secret", SAMPLES.values(), ids=SAMPLES.keys())
def test_it_returns_exactly_what_was_sent(client, secret, ensure_ascii):
    body = json.dumps({"secret": secret}, ensure_ascii=ensure_ascii).encode("utf-8")

    revealed = round_trip(client, body)

    assert revealed.status_code == 200
    assert revealed.json()["secret"].encode("utf-8") == secret.encode("utf-8")


def test_it_answers_in_utf8_json(client):
    secret = "ключ 🔑"

    revealed = round_trip(client, json.dumps({"secret": secret}).encode())

    assert revealed["Content-Type"] == "application/json"
    assert json.loads(revealed.content.decode("utf-8")) == {"secret": secret}


def test_a_secret_of_exactly_the_size_limit_comes_back_whole(client):
    limit = settings.ONETIME_MAX_SECRET_BYTES
    pattern = " ж\r\n😀\t\u200f e\u0301 "
    secret = ""
    while len((secret + pattern).encode("utf-8")) <= limit:
        secret += pattern
    secret += "x" * (limit - len(secret.encode("utf-8")))
    assert len(secret.encode("utf-8")) == limit

    revealed = round_trip(client, json.dumps({"secret": secret}, ensure_ascii=False).encode())

    assert revealed.status_code == 200
    assert revealed.json()["secret"].encode("utf-8") == secret.encode("utf-8")


def test_a_passphrase_keeps_its_leading_and_trailing_whitespace(client):
    passphrase = "  open sesame\t"
    body = json.dumps({"secret": " s3cret ", "passphrase": passphrase}).encode()
    created = client.post("/api/v1/secrets", data=body, content_type="application/json")
    reveal = f"/api/v1/secrets/{created.json()['id']}/reveal"

    for trimmed in ["open sesame", "  open sesame", "open sesame\t"]:
        wrong = post_json(client, reveal, {"passphrase": trimmed})
        assert wrong.status_code == 403
        assert wrong.json()["status"] == "wrong_passphrase"

    right = post_json(client, reveal, {"passphrase": passphrase})

    assert right.status_code == 200
    assert right.json() == {"secret": " s3cret "}
