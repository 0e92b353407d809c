"""
OneTimeSecret's API v1 on OneTime (docs/compatibility.md, docs/research/peer-apis.md §2):
each route answers as OneTimeSecret v0.26.6 documents and implements it — status, headers,
keys, key order and types — over OneTime's own secrets, receipts, limits and states.
"""

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from onetime.vault import services
from onetime.vault.models import Secret
from tests.conftest import make_client_secret, make_secret, post_json
from tests.test_database_unavailable import database_down  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

JSON_UTF8 = "application/json; charset=utf-8"
ALIASES = ["private", "metadata", "receipt"]

# OneTimeSecret v0.26.6's receipt_hsh order, then its additive v0.24 names.
SHARE_KEYS = [
    "custid",
    "metadata_key",
    "secret_key",
    "ttl",
    "metadata_ttl",
    "secret_ttl",
    "metadata_url",
    "state",
    "updated",
    "created",
    "recipient",
    "share_domain",
    "passphrase_required",
    "identifier",
    "secret_identifier",
    "has_passphrase",
    "recipients",
    "receipt_ttl",
    "receipt_url",
]
GENERATE_KEYS = [*SHARE_KEYS[:12], "value", *SHARE_KEYS[12:], "secret_value"]
RECEIVED_KEYS = [
    "custid",
    "metadata_key",
    "ttl",
    "metadata_ttl",
    "metadata_url",
    "state",
    "updated",
    "created",
    "received",
    "recipient",
    "share_domain",
    "identifier",
    "recipients",
    "receipt_ttl",
    "receipt_url",
]
# A receipt never gives the share link away: secret_key is only in the creator's answer.
RECEIPT_KEYS = [k for k in SHARE_KEYS if k not in {"secret_key", "secret_identifier"}]
ENDED_KEYS = [k for k in RECEIPT_KEYS if k not in {"passphrase_required", "has_passphrase"}]
INTS = ["ttl", "metadata_ttl", "updated", "created"]
RETENTION = 30 * 86400


def ots(client: Client, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
    """POST ``params`` as a form body, the way onetime-ruby sends them."""
    return client.post(path, params or {}, headers=headers)


def ots_json(client: Client, path: str, body: Any = None) -> Any:
    data = "" if body is None else json.dumps(body)
    return client.post(path, data, content_type="application/json")


def share(client: Client, **params: Any) -> dict[str, Any]:
    response = ots(client, "/api/v1/share", {"secret": "hunter2", **params})
    assert response.status_code == 200, response.content
    return dict(response.json())


def assert_error(response: Any, message: str, intended: int | None, **extra: object) -> None:
    assert response.status_code == 404
    assert response["Content-Type"] == JSON_UTF8
    assert response.json() == {"message": message, **extra}
    assert response.headers.get("X-OTS-Intended-Status") == (
        None if intended is None else str(intended)
    )


PASSPHRASE_NEEDED = "This secret is protected by a passphrase. Enter it to reveal the secret."
WRONG_ONE_LEFT = "Wrong passphrase. 1 attempt left before the secret is destroyed."
DESTROYED = "Wrong passphrase: that was the last attempt, and the secret is now destroyed."


def assert_unknown(response: Any, key: str) -> None:
    assert_error(response, "Unknown secret", None, secret_key=key)


def row(key: str) -> Secret:
    return Secret.objects.get(pk=key)


# --- status and the account-only routes ----------------------------------------------------


def test_status_is_nominal_and_counts_nothing(client, settings):
    settings.ONETIME_RATE_LOOKUP = (1, 60)
    for _ in range(3):
        response = client.get("/api/v1/status", headers={"accept-language": "en"})
        assert response.status_code == 200
        assert response["Content-Type"] == JSON_UTF8
        assert response.json() == {"status": "nominal", "locale": "en"}


@pytest.mark.parametrize(
    "path", ["/api/v1/authcheck", *(f"/api/v1/{alias}/recent" for alias in ALIASES)]
)
def test_account_only_routes_answer_as_to_an_anonymous_caller(client, path):
    for credentials in [{}, {"authorization": "Basic dXNlcjp0b2tlbg=="}]:
        assert_error(client.get(path, headers=credentials), "Not authorized", 401)
        assert_error(client.get(path + "/", headers=credentials), "Not authorized", 401)


@pytest.mark.parametrize("alias", ALIASES)
def test_a_post_to_recent_is_a_receipt_with_a_short_key(client, alias):
    assert_error(client.post(f"/api/v1/{alias}/recent"), "Not Found", None)


# --- share, create, generate ----------------------------------------------------------------


@pytest.mark.parametrize("route", ["share", "create"])
def test_share_answers_the_receipt_document_field_by_field(client, route):
    before = int(timezone.now().timestamp())
    response = ots(client, f"/api/v1/{route}", {"secret": "hunter2", "ttl": "3600"})

    assert response.status_code == 200
    assert response["Content-Type"] == JSON_UTF8
    body = response.json()
    assert list(body) == SHARE_KEYS
    key, token = body["secret_key"], body["metadata_key"]
    assert str(uuid.UUID(key)) == key
    assert len(token) >= 20
    assert body["custid"] == "anon"
    assert (body["ttl"], body["secret_ttl"], body["metadata_ttl"]) == (3600, 3600, 3600 + RETENTION)
    assert body["metadata_url"] == body["receipt_url"] == f"http://testserver/r/{token}"
    assert body["state"] == "new"
    assert before <= body["created"] == body["updated"] <= before + 2
    assert (body["recipient"], body["recipients"], body["share_domain"]) == ([], [], "")
    assert body["passphrase_required"] is body["has_passphrase"] is False
    assert (body["identifier"], body["secret_identifier"]) == (token, key)
    assert body["receipt_ttl"] == body["metadata_ttl"]
    for name in [*INTS, "secret_ttl"]:
        assert type(body[name]) is int, name
    # An ordinary OneTime secret: its receipt token opens the native receipt.
    assert services.receipt_get(token=token, client_ip="192.0.2.9").id == uuid.UUID(key)
    assert row(key).receipt_hash != token


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [
        (None, 86400),
        ("3600", 3600),
        ("90 seconds", 90),
        ("abc", 60),
        ("", 60),
        ("0", 60),
        ("-5", 60),
        ("30", 60),
        ("99999999999", 604800),
        (7200, 7200),
        (120.9, 120),
    ],
)
def test_ttl_is_read_and_clamped_as_onetimesecret_does_and_reported(client, ttl, expected):
    body = {"secret": "hunter2"} if ttl is None else {"secret": "hunter2", "ttl": ttl}

    answer = ots_json(client, "/api/v1/share", body).json()

    assert answer["ttl"] == expected
    secret = row(answer["secret_key"])
    assert (secret.expires_at - secret.created_at).total_seconds() == expected


def test_parameters_come_from_the_query_string_form_and_json(client):
    by_query = client.post("/api/v1/share?secret=q&ttl=120&passphrase=pw").json()
    by_form = ots(client, "/api/v1/share", {"secret": "f", "ttl": "120", "passphrase": "pw"})
    by_json = ots_json(client, "/api/v1/share", {"secret": "j", "ttl": 120, "passphrase": "pw"})

    for body in [by_query, by_form.json(), by_json.json()]:
        assert (body["ttl"], body["passphrase_required"]) == (120, True)


def test_credentials_are_ignored(client):
    for authorization in ["Basic Og==", "Basic dXNlcjp0b2tlbg==", "Bearer whatever"]:
        body = client.post("/api/v1/share?secret=x", headers={"authorization": authorization})
        assert body.status_code == 200
        assert body.json()["custid"] == "anon"


@pytest.mark.parametrize("secret", [None, "", []])
def test_share_without_a_secret_is_refused_in_the_peers_words(client, secret):
    body = {} if secret is None else {"secret": secret}

    response = ots_json(client, "/api/v1/share", body)

    assert_error(response, "You did not provide anything to share", 400)


def test_a_recipient_needs_an_account(client):
    response = ots(client, "/api/v1/share", {"secret": "x", "recipient": "a@example.com"})

    assert_error(response, "An account is required to send emails.", 400)
    assert not Secret.objects.exists()
    # An empty recipient (corbaltcode always sends one) is no recipient.
    assert ots(client, "/api/v1/share", {"secret": "x", "recipient": ""}).status_code == 200
    assert ots_json(client, "/api/v1/share", {"secret": "x", "recipient": [""]}).status_code == 200


def test_a_secret_over_the_limit_is_refused_with_our_number(client, settings):
    settings.ONETIME_MAX_SECRET_BYTES = 10
    assert share(client, secret="é" * 5)["ttl"]  # 10 bytes

    response = ots(client, "/api/v1/share", {"secret": "é" * 5 + "x"})

    assert_error(response, "Secret value exceeds the maximum size of 10 bytes", 400)


def test_an_unusable_passphrase_is_invalid_input_in_english(client):
    response = ots_json(client, "/api/v1/share", {"secret": "x", "passphrase": "a\x00b"})

    assert_error(response, "The passphrase contains a NUL character, which is not allowed.", 400)


def test_generate_answers_the_password_once_and_stores_it(client):
    response = client.post("/api/v1/generate", {"secret": "ignored"})

    assert response.status_code == 200
    body = response.json()
    assert list(body) == GENERATE_KEYS
    value = body["value"]
    assert body["secret_value"] == value
    assert len(value) == 12
    assert value.isalnum()
    assert any(c.isupper() for c in value)
    assert any(c.islower() for c in value)
    assert any(c.isdigit() for c in value)
    revealed = client.post(f"/api/v1/secret/{body['secret_key']}").json()
    assert revealed["value"] == value
    receipt = client.get(f"/api/v1/receipt/{body['metadata_key']}").json()
    assert "value" not in receipt


@pytest.mark.parametrize(
    ("length", "answer"),
    [
        ("20", 20),
        ("8", 8),
        ("128", 128),
        ("129", "Generated password length must be no more than 128 characters"),
        ("7", "Generated password length must be at least 8 characters"),
        ("abc", "Generated password length must be at least 8 characters"),
    ],
)
def test_generate_takes_a_length_within_onetimes_bounds(client, length, answer):
    response = client.post("/api/v1/generate", {"length": length})

    if isinstance(answer, int):
        assert len(response.json()["value"]) == answer
    else:
        assert_error(response, answer, 400)


def test_links_honour_the_base_url(client, settings):
    settings.ONETIME_BASE_URL = "https://onetime.example.com"

    body = share(client)
    revealed = client.post(f"/api/v1/secret/{body['secret_key']}").json()

    assert body["metadata_url"] == f"https://onetime.example.com/r/{body['metadata_key']}"
    assert revealed["share_domain"] == "https://onetime.example.com"


# --- secret/<key> ---------------------------------------------------------------------------


def test_reveal_answers_the_value_once(client):
    body = share(client, secret="  two\nlines ✓ ")
    key = body["secret_key"]

    first = client.post(f"/api/v1/secret/{key}")
    second = client.post(f"/api/v1/secret/{key}")

    assert first.status_code == 200
    assert first["Content-Type"] == JSON_UTF8
    assert list(first.json()) == ["value", "secret_key", "share_domain"]
    assert first.json() == {
        "value": "  two\nlines ✓ ",
        "secret_key": key,
        "share_domain": "http://testserver",
    }
    assert_unknown(second, key)
    assert row(key).state == Secret.State.REVEALED


def test_unknown_malformed_and_short_keys(client):
    unknown = str(uuid.uuid4())
    assert_unknown(client.post(f"/api/v1/secret/{unknown}"), unknown)
    assert_unknown(
        client.post("/api/v1/secret/not-a-uuid-but-long-enough"), "not-a-uuid-but-long-enough"
    )
    assert_error(client.post("/api/v1/secret/short"), "Not Found", None)


def test_an_expired_or_burned_secret_is_unknown(client):
    expired, burned = share(client), share(client)
    Secret.objects.filter(pk=expired["secret_key"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    services.receipt_burn(token=burned["metadata_key"], client_ip="192.0.2.9")

    for body in (expired, burned):
        assert_unknown(client.post(f"/api/v1/secret/{body['secret_key']}"), body["secret_key"])
    assert row(expired["secret_key"]).state == Secret.State.EXPIRED


def test_passphrases_missing_is_not_counted_wrong_is_counted_and_the_last_destroys(
    client, settings
):
    settings.ONETIME_PASSPHRASE_ATTEMPTS = 2
    key = share(client, passphrase="open sesame")["secret_key"]

    missing = client.post(f"/api/v1/secret/{key}")
    assert_error(missing, "Unknown secret", None, secret_key=key, detail=PASSPHRASE_NEEDED)
    assert row(key).failed_attempts == 0
    wrong = client.post(f"/api/v1/secret/{key}", {"passphrase": "wrong"})
    assert_error(
        wrong, "Unknown secret", None, secret_key=key, detail=WRONG_ONE_LEFT, attempts_left=1
    )
    assert (row(key).failed_attempts, row(key).state) == (1, Secret.State.ACTIVE)
    opened = client.post(f"/api/v1/secret/{key}?passphrase=open+sesame")
    assert opened.json()["value"] == "hunter2"

    other = share(client, passphrase="open sesame")["secret_key"]
    client.post(f"/api/v1/secret/{other}", {"passphrase": "nope"})
    last = client.post(f"/api/v1/secret/{other}", {"passphrase": "nope"})
    assert_error(last, "Unknown secret", None, secret_key=other, detail=DESTROYED)
    assert row(other).state == Secret.State.LOCKED
    assert_unknown(client.post(f"/api/v1/secret/{other}", {"passphrase": "open sesame"}), other)


def test_a_client_encrypted_secret_is_refused_and_left_intact(client):
    secret = make_client_secret("zero knowledge", passphrase="pw")
    key = str(secret.id)

    for body in [{}, {"passphrase": "pw"}]:
        response = client.post(f"/api/v1/secret/{key}", body)
        assert_error(
            response,
            "Unknown secret",
            None,
            secret_key=key,
            detail=response.json().get("detail", "missing"),
        )
        assert "encrypted on its sender's device" in response.json()["detail"]
    assert (row(key).state, row(key).failed_attempts) == (Secret.State.ACTIVE, 0)


def test_a_telegram_bound_secret_is_refused_and_left_intact(client, telegram_bot):
    key = str(make_secret("for alice", telegram_recipient="@alice_tg").secret.id)

    response = client.post(f"/api/v1/secret/{key}")

    assert response.status_code == 404
    assert response.json()["message"] == "Unknown secret"
    assert "Telegram" in response.json()["detail"]
    assert row(key).state == Secret.State.ACTIVE


def test_head_and_get_never_reach_the_reveal(client):
    key = share(client)["secret_key"]

    assert client.head(f"/api/v1/secret/{key}").status_code == 405
    assert client.get(f"/api/v1/secret/{key}").status_code == 405
    assert row(key).state == Secret.State.ACTIVE


# --- receipts and burn ----------------------------------------------------------------------


@pytest.mark.parametrize("alias", ALIASES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_the_receipt_of_a_waiting_secret_changes_nothing(client, alias, method):
    created = share(client, passphrase="pw")
    token, key = created["metadata_key"], created["secret_key"]
    before = Secret.objects.filter(pk=key).values().get()

    response = getattr(client, method)(f"/api/v1/{alias}/{token}")

    assert response.status_code == 200
    assert response["Content-Type"] == JSON_UTF8
    body = response.json()
    assert list(body) == RECEIPT_KEYS
    assert {k: v for k, v in body.items() if k not in {"secret_ttl", "metadata_ttl"}} == {
        k: v
        for k, v in created.items()
        if k in RECEIPT_KEYS and k not in {"secret_ttl", "metadata_ttl"}
    }
    assert body["passphrase_required"] is True
    assert Secret.objects.filter(pk=key).values().get() == before


def test_the_receipt_of_a_received_secret(client):
    created = share(client)
    client.post(f"/api/v1/secret/{created['secret_key']}")

    body = client.get(f"/api/v1/private/{created['metadata_key']}/").json()

    assert list(body) == RECEIVED_KEYS
    assert body["state"] == "received"
    ended = row(created["secret_key"]).ended_at
    assert ended is not None
    assert body["received"] == body["updated"] == int(ended.timestamp())
    assert body["metadata_ttl"] <= RETENTION


@pytest.mark.parametrize(
    ("end", "state"), [("burn", "burned"), ("lock", "burned"), ("expire", "expired")]
)
def test_the_receipt_of_a_secret_that_ended(client, settings, end, state):
    settings.ONETIME_PASSPHRASE_ATTEMPTS = 1
    created = share(client, passphrase="pw")
    token, key = created["metadata_key"], created["secret_key"]
    if end == "burn":
        services.receipt_burn(token=token, client_ip="192.0.2.9")
    elif end == "lock":
        client.post(f"/api/v1/secret/{key}", {"passphrase": "wrong"})
    else:
        Secret.objects.filter(pk=key).update(expires_at=timezone.now() - timedelta(seconds=5))

    body = client.post(f"/api/v1/metadata/{token}").json()

    assert list(body) == ENDED_KEYS
    assert body["state"] == state
    assert body["secret_ttl"] is None


def test_an_unknown_or_short_receipt_key(client):
    token = "A" * 32
    for alias in ALIASES:
        assert_unknown(client.get(f"/api/v1/{alias}/{token}"), token)
        assert_unknown(client.post(f"/api/v1/{alias}/{token}/burn"), token)
        assert_error(client.get(f"/api/v1/{alias}/shortkey"), "Not Found", None)
        assert_error(client.post(f"/api/v1/{alias}/shortkey/burn"), "Not Found", None)


@pytest.mark.parametrize("alias", ALIASES)
def test_burn_destroys_a_live_secret_once(client, alias):
    created = share(client, passphrase="pw")
    token, key = created["metadata_key"], created["secret_key"]

    response = client.post(f"/api/v1/{alias}/{token}/burn")

    assert response.status_code == 200
    assert response["Content-Type"] == JSON_UTF8
    body = response.json()
    assert list(body) == ["state", "secret_shortkey"]
    assert body["secret_shortkey"] == key[:8]
    assert list(body["state"]) == ENDED_KEYS
    assert body["state"]["state"] == "burned"
    assert body["state"]["secret_ttl"] is None
    assert (row(key).state, row(key).ciphertext) == (Secret.State.BURNED, None)
    assert_unknown(client.post(f"/api/v1/{alias}/{token}/burn/"), token)
    assert_unknown(client.post(f"/api/v1/secret/{key}", {"passphrase": "pw"}), key)


def test_burn_after_the_reveal_is_unknown(client):
    created = share(client)
    client.post(f"/api/v1/secret/{created['secret_key']}")

    response = client.post(f"/api/v1/receipt/{created['metadata_key']}/burn")

    assert_unknown(response, created["metadata_key"])
    assert row(created["secret_key"]).state == Secret.State.REVEALED


# --- errors in the peer's shape, limits, switches ------------------------------------------


def test_rate_limits_answer_in_the_peers_shape_with_retry_after(client, settings):
    settings.ONETIME_RATE_CREATE = (1, 60)
    settings.ONETIME_RATE_REVEAL = (1, 60)
    settings.ONETIME_RATE_LOOKUP = (1, 60)
    created = share(client)
    token, key = created["metadata_key"], created["secret_key"]
    client.get(f"/api/v1/receipt/{token}")
    client.post(f"/api/v1/secret/{uuid.uuid4()}")

    for response in [
        ots(client, "/api/v1/share", {"secret": "x"}),
        client.post("/api/v1/generate"),
        client.post(f"/api/v1/secret/{key}"),
        client.get(f"/api/v1/receipt/{token}"),
        client.post(f"/api/v1/receipt/{token}/burn"),
    ]:
        assert_error(response, "Rate limit exceeded. Please try again later.", 429)
        assert 1 <= int(response["Retry-After"]) <= 60
    assert row(key).state == Secret.State.ACTIVE


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("database_down")
def test_an_unreachable_database_answers_in_the_peers_shape_with_retry_after(client):
    for response in [
        ots(client, "/api/v1/share", {"secret": "x"}),
        client.post(f"/api/v1/secret/{uuid.uuid4()}"),
        client.get(f"/api/v1/private/{'A' * 32}"),
        client.post(f"/api/v1/private/{'A' * 32}/burn"),
    ]:
        assert_error(
            response, "The service is temporarily unavailable. Please try again later.", 503
        )
        assert int(response["Retry-After"]) >= 1


def test_a_body_that_is_no_json_or_form(client):
    bad_json = client.post("/api/v1/share", "{", content_type="application/json")
    not_object = client.post("/api/v1/share", "[1]", content_type="application/json")
    other_type = client.post("/api/v1/share", "secret=x", content_type="text/plain")

    assert_error(bad_json, "The request body is not valid JSON or form data.", 400)
    assert_error(not_object, "Send the parameters as a JSON object, a form or a query string.", 400)
    assert other_type.status_code == 415
    assert other_type.json() == {
        "message": "Send the parameters as a query string, a form or a JSON object."
    }


def test_switched_off_every_route_is_an_address_this_server_does_not_serve(client, settings):
    created = share(client)
    settings.ONETIME_OTS_API = False

    for response in [
        client.get("/api/v1/status"),
        client.post("/api/v1/share", {"secret": "x"}),
        client.post(f"/api/v1/secret/{created['secret_key']}"),
        client.get(f"/api/v1/receipt/{created['metadata_key']}"),
        client.get(f"/secret/{created['secret_key']}"),
        client.get(f"/receipt/{created['metadata_key']}"),
    ]:
        assert response.status_code == 404
        assert "message" not in response.content.decode()
    assert row(created["secret_key"]).state == Secret.State.ACTIVE
    native = client.post("/api/v1/secrets", {"secret": "x"}, content_type="application/json")
    assert native.status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/status/",
        "/api/v1/authcheck/",
        "/api/v1/share/",
        "/api/v1/create/",
        "/api/v1/generate/",
    ],
)
def test_every_route_takes_a_trailing_slash_without_a_redirect(client, path):
    response = (
        client.get(path)
        if "status" in path or "auth" in path
        else client.post(path + "?secret=x", content_type="application/json")
    )

    assert response.status_code in {200, 404}
    assert response["Content-Type"] == JSON_UTF8


# --- the web links --------------------------------------------------------------------------


def test_the_links_clients_build_redirect_to_onetimes_pages_and_change_nothing(client):
    created = share(client)
    token, key = created["metadata_key"], created["secret_key"]

    for path, target in [
        (f"/secret/{key}", f"/s/{key}"),
        (f"/receipt/{token}", f"/r/{token}"),
        (f"/private/{token}", f"/r/{token}"),
    ]:
        for method in ("get", "head"):
            response = getattr(client, method)(path)
            assert response.status_code == 302
            assert response["Location"] == target
        assert client.post(path).status_code == 405
    assert row(key).state == Secret.State.ACTIVE
    assert client.get(f"/s/{key}").status_code == 200


# --- found in review ------------------------------------------------------------------------


def test_a_receipt_never_gives_the_share_link_away_whoever_made_the_secret(client):
    native = post_json(client, "/api/v1/secrets", {"secret": "made by OneTime's own API"})
    token = native.json()["receipt_url"].rsplit("/", 1)[1]
    secret_id = native.json()["id"]

    for response in [
        client.get(f"/api/v1/receipt/{token}"),
        client.post(f"/api/v1/private/{token}"),
        client.post(f"/api/v1/metadata/{token}/burn"),
    ]:
        assert response.status_code == 200
        assert secret_id not in response.content.decode()


@pytest.mark.parametrize(
    ("params", "ttl"),
    [({"ttl": "9" * 5000}, 604800), ({"ttl": "-" + "9" * 5000}, 60), ({"ttl": "١٢٣٤٥"}, 60)],
)
def test_a_ttl_of_thousands_of_digits_or_other_digits_is_clamped_not_a_crash(client, params, ttl):
    assert share(client, **params)["ttl"] == ttl


def test_a_length_of_thousands_of_digits_is_refused(client):
    response = client.post("/api/v1/generate", {"length": "9" * 5000})

    assert_error(response, "Generated password length must be no more than 128 characters", 400)


def test_a_passphrase_that_is_no_text_is_refused_not_dropped(client):
    response = post_json(client, "/api/v1/share", {"secret": "x", "passphrase": ["pp"]})

    assert_error(response, "Send the passphrase as text.", 400)
    assert not Secret.objects.exists()


@pytest.mark.parametrize("form", ["{hex}", "{{{key}}}", "urn:uuid:{key}", "{upper}"])
def test_only_the_links_layout_of_an_id_reveals(client, form):
    key = share(client)["secret_key"]
    written = form.format(key=key, hex=key.replace("-", ""), upper=key.upper())

    response = client.post(f"/api/v1/secret/{written}")

    if form == "{upper}":  # the same layout: an id, in capitals
        assert response.json()["value"] == "hunter2"
    else:
        assert_unknown(response, written)
        assert row(key).state == Secret.State.ACTIVE


def test_repeated_slashes_read_as_one(client):
    # (A leading "//", from a base URL that ends in "/", is tested through real HTTP in
    # test_ots_session.py: the test client would read it as a host name.)
    created = client.post("/api//v1/share", {"secret": "x"})

    assert created.status_code == 200
    assert client.post(f"/api/v1//secret/{created.json()['secret_key']}").json()["value"] == "x"


def test_onetimes_own_answers_on_these_routes_are_english(client, settings):
    wrong_method = client.get("/api/v1/share", headers={"Accept-Language": "ru"})
    settings.ONETIME_OTS_API = False
    switched_off = client.get("/api/v1/status", headers={"Accept-Language": "ru"})

    assert wrong_method.status_code == 405
    assert wrong_method.json()["detail"] == "This method is not allowed here."
    assert switched_off.status_code == 404
    assert switched_off.json()["detail"].startswith("There is no page at this address.")
