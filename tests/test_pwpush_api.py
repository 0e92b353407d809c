"""
Password Pusher's JSON API, v1 and v2, as its source defines it (docs/research/peer-apis.md
§1), over OneTime's secrets (docs/compatibility.md): every route, its statuses, headers, key
sets and order, types, and each place where OneTime answers differently.
"""

import importlib.metadata
import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from onetime.pwpush import documents
from onetime.pwpush.api import pwpush_exception_handler
from onetime.vault.models import Secret
from tests.conftest import issue_code, make_client_secret, make_secret, post_json, reveal

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rate_limits")]

UNKNOWN = "6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1"

# Key order as _push.json.jbuilder emits it.
BASE_KEYS = [
    "expire_after_views",
    "expired",
    "url_token",
    "deletable_by_viewer",
    "retrieval_step",
    "expired_on",
    "passphrase",
    "created_at",
    "updated_at",
    "expire_after_days",
    "days_remaining",
    "views_remaining",
    "deleted",
    "json_url",
    "html_url",
]
CREATE_KEYS = [*BASE_KEYS, "note", "name", "receipt_url"]
SHOW_KEYS = [*BASE_KEYS, "payload", "files"]
DESTROY_KEYS = BASE_KEYS
PWP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PASSPHRASE_401 = {
    "error": "That passphrase is incorrect.",
    "message": "This push requires a passphrase. Please provide it using the 'passphrase' "
    "parameter (e.g. ?passphrase=mysecret)",
    "status": "unauthorized",
}

V1 = {
    "create": "/p.json",
    "push": "/p/{}.json",
    "preview": "/p/{}/preview.json",
    "root": "password",
}
V2 = {
    "create": "/api/v2/pushes",
    "push": "/api/v2/pushes/{}",
    "preview": "/api/v2/pushes/{}/preview",
    "root": "push",
}
VERSIONS = [pytest.param(V1, id="v1"), pytest.param(V2, id="v2")]


def create(client: Client, api: dict[str, str], **params: Any) -> Any:
    return post_json(client, api["create"], {api["root"]: {"payload": "s3cr3t", **params}})


def push(api: dict[str, str], token: object, route: str = "push") -> str:
    return api[route].format(token)


def assert_json(response: Any) -> Any:
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def row(token: str) -> Secret:
    return Secret.objects.get(pk=token)


# ---- version ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/version", "/api/v1/version.json"])
def test_the_v1_version_document(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert assert_json(response) == {
        "application_version": importlib.metadata.version("onetime"),
        "api_version": "1.5",
        "edition": "oss",
    }


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "*/*"])
def test_answers_are_json_whatever_accept_says(client, accept):
    version = client.get("/api/v2/version", HTTP_ACCEPT=accept)
    created = client.post("/p.json", {"password[payload]": "s3cr3t"}, HTTP_ACCEPT=accept)

    assert (version.status_code, created.status_code) == (200, 201)
    assert assert_json(created)["url_token"]


@pytest.mark.parametrize("path", ["/api/v2/version", "/api/v2/version.json"])
def test_the_v2_version_document_says_what_onetime_offers(client, path):
    response = client.get(path)

    assert response.status_code == 200
    body = assert_json(response)
    assert list(body) == ["application_version", "api_version", "edition", "features"]
    assert body["api_version"] == "2.1"
    assert body["features"] == {
        "anonymous_access": True,
        "api_token_authentication": False,
        "accounts": {"enabled": False},
        "pushes": {
            "enabled": True,
            "email_auto_dispatch": False,
            "file_attachments": {"enabled": False, "requires_authentication": True},
            "url_pushes": {"enabled": False},
            "qr_code_pushes": {"enabled": False},
        },
        "requests": {"enabled": False},
    }


# ---- create -------------------------------------------------------------------------------


@pytest.mark.parametrize("api", VERSIONS)
def test_create_answers_201_with_the_push_document(client, api):
    response = create(client, api, passphrase="asdf", note="for bob", name="db")

    assert response.status_code == 201
    body = assert_json(response)
    assert list(body) == CREATE_KEYS
    token = body["url_token"]
    assert str(uuid.UUID(token)) == token
    assert body["expire_after_views"] == 1
    assert body["expired"] is False
    assert body["deletable_by_viewer"] is True
    assert body["retrieval_step"] is True
    assert body["expired_on"] is None
    assert body["passphrase"] == "asdf"  # echoed, as Password Pusher does
    assert PWP_TIME.match(body["created_at"])
    assert body["updated_at"] == body["created_at"]
    assert (body["expire_after_days"], body["days_remaining"], body["views_remaining"]) == (1, 1, 1)
    assert body["deleted"] is False
    assert body["json_url"] == f"http://testserver/p/{token}.json"
    assert body["html_url"] == f"http://testserver/s/{token}"
    assert (body["note"], body["name"]) == ("for bob", "db")
    assert body["receipt_url"].startswith("http://testserver/r/")
    secret = row(token)
    assert secret.passphrase_required
    assert secret.deletable_by_viewer
    assert (secret.expires_at - secret.created_at) == timedelta(days=1)


def test_links_honour_onetime_base_url(client, settings):
    settings.ONETIME_BASE_URL = "https://onetime.example.com"

    body = create(client, V1).json()

    assert body["html_url"] == f"https://onetime.example.com/s/{body['url_token']}"
    assert body["json_url"] == f"https://onetime.example.com/p/{body['url_token']}.json"
    preview = client.get(push(V1, body["url_token"], "preview")).json()
    assert preview == {"url": body["html_url"]}


def test_create_without_a_passphrase_echoes_an_empty_one(client):
    assert create(client, V1).json()["passphrase"] == ""


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        (
            "/p.json",
            "password[payload]=s3cr3t&password[note]=n",
            "application/x-www-form-urlencoded",
        ),
        (
            "/api/v2/pushes",
            "push[payload]=s3cr3t&push[note]=n",
            "application/x-www-form-urlencoded",
        ),
        ("/p.json?password[payload]=s3cr3t&password[note]=n", "", "application/json"),
        ("/api/v2/pushes.json?push[payload]=s3cr3t&push[note]=n", "", "application/json"),
        ("/api/v2/pushes", json.dumps({"payload": "s3cr3t", "note": "n"}), "application/json"),
    ],
    ids=["v1 form", "v2 form", "v1 query", "v2 query .json", "v2 root-less JSON"],
)
def test_create_reads_forms_query_strings_and_a_rootless_v2_body(client, path, body, content_type):
    response = client.post(path, data=body, content_type=content_type)

    assert response.status_code == 201, response.content
    assert response.json()["note"] == "n"
    assert reveal(client, response.json()["url_token"]).json() == {"secret": "s3cr3t"}


def test_create_reads_a_multipart_form(client):
    response = client.post("/p.json", {"password[payload]": "s3cr3t", "password[name]": "x"})

    assert response.status_code == 201
    assert response.json()["name"] == "x"


@pytest.mark.parametrize(
    ("api", "body"),
    [
        (V1, {}),
        (V1, {"password": {}}),
        (V1, {"password": "s3cr3t"}),
        (V1, {"push": {"payload": "s3cr3t"}}),
        (V1, {"payload": "s3cr3t"}),  # a root-less body is v2's only
        (V1, [1]),
        (V2, {}),
        (V2, {"password": {"payload": "s3cr3t"}}),
    ],
)
def test_create_without_its_root_is_400(client, api, body):
    response = post_json(client, api["create"], body)

    assert response.status_code == 400
    root = api["root"]
    assert assert_json(response) == {
        "error": f"param is missing or the value is empty or invalid: {root}"
    }


@pytest.mark.parametrize("api", VERSIONS)
@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"payload": ""}, {"payload": ["Payload is required."]}),
        ({"payload": "   "}, {"payload": ["Payload is required."]}),
        ({"payload": None}, {"payload": ["Payload is required."]}),
        ({"kind": "url"}, {"kind": ["URL pushes are disabled."]}),
        ({"kind": "qr"}, {"kind": ["QR code pushes are disabled."]}),
        ({"kind": "song"}, {"kind": ["is not included in the list"]}),
    ],
)
def test_invalid_parameters_are_422_per_field(client, api, params, errors):
    response = create(client, api, **params)

    assert response.status_code == 422
    assert assert_json(response) == errors
    assert not Secret.objects.exists()


def test_a_payload_over_the_limit_is_422_in_password_pushers_words(client, settings):
    settings.ONETIME_MAX_SECRET_BYTES = 8

    response = create(client, V1, payload="ééééé")  # 5 characters, 10 bytes

    assert response.status_code == 422
    assert response.json() == {
        "payload": ["The payload is too large.  You can only push up to 8 bytes."]
    }


def test_a_payload_with_a_nul_is_422(client):
    response = create(client, V1, payload="a\x00b")

    assert response.status_code == 422
    assert list(response.json()) == ["payload"]


def test_a_passphrase_too_long_is_422(client):
    response = create(client, V1, passphrase="p" * 2000)

    assert response.status_code == 422
    assert list(response.json()) == ["passphrase"]


def test_the_text_kind_and_numbers_as_payloads_are_accepted(client):
    response = create(client, V1, kind="text", payload=12345)

    assert response.status_code == 201
    assert reveal(client, response.json()["url_token"]).json() == {"secret": "12345"}


@pytest.mark.parametrize("api", VERSIONS)
@pytest.mark.parametrize("params", [{"kind": "file"}, {"files": []}, {"files": ["x"]}])
def test_file_pushes_need_an_account_401_empty(client, api, params):
    response = create(client, api, **params)

    assert response.status_code == 401
    assert response.content == b""
    assert not Secret.objects.exists()


def test_v2_notify_emails_are_not_for_anonymous_callers(client):
    response = create(client, V2, notify_emails_to="a@example.com", notify_emails_to_locale="en")

    assert response.status_code == 422
    assert response.json() == {
        "notify_emails_to": ["are not allowed for unknown users"],
        "notify_emails_to_locale": ["is not allowed for unknown users"],
    }


def test_v1_drops_notify_emails_as_an_unknown_key(client):
    assert create(client, V1, notify_emails_to="a@example.com").status_code == 201


@pytest.mark.parametrize(
    ("api", "params", "days"),
    [
        (V1, {}, 1),  # OneTime's default (ONETIME_DEFAULT_TTL, 1 day)
        (V1, {"expire_after_days": 3}, 3),
        (V1, {"expire_after_days": "5"}, 5),
        (V1, {"expire_after_days": 30}, 7),  # within PWP's range: clamped to ONETIME_MAX_TTL
        (V1, {"expire_after_days": 91}, 1),  # outside PWP's range: the default, as PWP does
        (V1, {"expire_after_days": 0}, 1),
        (V1, {"expire_after_days": "abc"}, 1),
        (V1, {"expire_after_days": ""}, 1),
        (V1, {"expire_after_duration": 8}, 1),  # v1 knows no duration
        (V2, {"expire_after_duration": 8}, 3),  # pwpush-cli's index for 3 days
        (V2, {"expire_after_duration": 12, "expire_after_days": 2}, 7),
        (V2, {"expire_after_duration": 13}, 7),  # 14 days, clamped
        (V2, {"expire_after_duration": 99, "expire_after_days": 2}, 2),
    ],
)
def test_days_map_to_onetimes_ttl(client, api, params, days):
    body = create(client, api, **params).json()

    assert (body["expire_after_days"], body["days_remaining"]) == (days, days)
    secret = row(body["url_token"])
    assert secret.expires_at - secret.created_at == timedelta(days=days)


def test_a_max_ttl_under_a_day_is_one_day_reported_and_the_max_used(client, settings):
    settings.ONETIME_MAX_TTL = settings.ONETIME_DEFAULT_TTL = 3600

    body = create(client, V1, expire_after_days=3).json()

    assert body["expire_after_days"] == 1
    secret = row(body["url_token"])
    assert secret.expires_at - secret.created_at == timedelta(hours=1)


def test_views_and_retrieval_step_are_answered_truthfully(client):
    body = create(client, V1, expire_after_views=50, retrieval_step=False).json()

    assert (body["expire_after_views"], body["views_remaining"]) == (1, 1)
    assert body["retrieval_step"] is True


@pytest.mark.parametrize(
    ("value", "stored"),
    [(False, False), ("false", False), ("0", False), ("off", False), (True, True), ("on", True)],
)
def test_deletable_by_viewer_is_stored(client, value, stored):
    body = create(client, V1, deletable_by_viewer=value).json()

    assert body["deletable_by_viewer"] is stored
    assert row(body["url_token"]).deletable_by_viewer is stored


def test_credentials_are_ignored(client):
    headers = {
        "Authorization": "Bearer unknown-token",
        "X-User-Email": "a@example.com",
        "X-User-Token": "unknown",
    }
    created = post_json(client, "/p.json", {"password": {"payload": "x"}}, **headers)
    assert created.status_code == 201
    token = created.json()["url_token"]

    assert client.get(f"/p/{token}/preview.json", headers=headers).status_code == 200
    assert client.get(f"/api/v2/pushes/{token}", headers=headers).json()["payload"] == "x"
    assert client.get("/p/active.json", headers=headers).status_code == 401


# ---- retrieve -----------------------------------------------------------------------------


@pytest.mark.parametrize("api", VERSIONS)
def test_retrieve_gives_the_payload_once_then_the_expired_document(client, api):
    created = create(client, api).json()
    token = created["url_token"]

    first = client.get(push(api, token))

    assert first.status_code == 200
    assert first["Cache-Control"] == "no-store"
    body = assert_json(first)
    assert list(body) == SHOW_KEYS
    assert body["payload"] == "s3cr3t"
    assert (body["expired"], body["expired_on"], body["views_remaining"]) == (False, None, 0)
    assert body["passphrase"] == ""
    assert body["files"] == []
    assert body["created_at"] == created["created_at"]

    again = client.get(push(api, token))

    assert again.status_code == 200
    expired = assert_json(again)
    assert list(expired) == SHOW_KEYS
    assert (expired["expired"], expired["payload"], expired["passphrase"]) == (True, None, None)
    assert PWP_TIME.match(expired["expired_on"])
    assert (expired["deleted"], expired["views_remaining"]) == (False, 0)
    assert expired["html_url"] == created["html_url"]


def test_the_v1_route_needs_its_suffix_and_the_v2_route_takes_it(client):
    token = create(client, V1).json()["url_token"]

    assert client.get(f"/api/v2/pushes/{token}.json").json()["payload"] == "s3cr3t"
    assert client.get(f"/p/{token}.json").json()["expired"] is True


def test_head_is_refused_and_consumes_nothing(client):
    token = create(client, V2).json()["url_token"]

    assert client.head(f"/p/{token}.json").status_code == 405
    assert client.head(f"/api/v2/pushes/{token}").status_code == 405
    assert row(token).state == Secret.State.ACTIVE


@pytest.mark.parametrize("api", VERSIONS)
@pytest.mark.parametrize("token", [UNKNOWN, "fkwjfvhall92", "active-ish"])
def test_an_unknown_token_is_404_not_found(client, api, token):
    response = client.get(push(api, token))

    assert response.status_code == 404
    assert assert_json(response) == {"error": "not-found"}


def test_a_purged_tombstone_is_404(client, settings):
    token = create(client, V1).json()["url_token"]
    client.get(f"/p/{token}.json")
    long_ago = timezone.now() - timedelta(days=settings.ONETIME_TOMBSTONE_DAYS + 1)
    Secret.objects.filter(pk=token).update(ended_at=long_ago)

    assert client.get(f"/p/{token}.json").json() == {"error": "not-found"}
    assert client.get(f"/p/{token}/preview.json").status_code == 404
    assert client.delete(f"/p/{token}.json").status_code == 404


def test_a_push_past_its_ttl_answers_the_expired_document(client):
    token = create(client, V1).json()["url_token"]
    past = timezone.now() - timedelta(minutes=1)
    Secret.objects.filter(pk=token).update(expires_at=past, created_at=past - timedelta(days=1))

    body = client.get(f"/p/{token}.json").json()

    assert (body["expired"], body["payload"], body["passphrase"]) == (True, None, None)
    assert body["expired_on"] == documents.pwp_time(past)
    assert row(token).state == Secret.State.EXPIRED


def test_a_secret_revealed_through_onetimes_api_is_expired_here(client):
    secret = make_secret("native").secret
    reveal(client, secret.id)

    body = client.get(f"/p/{secret.id}.json").json()

    assert body["expired"] is True
    assert body["deletable_by_viewer"] is False


@pytest.mark.parametrize("api", VERSIONS)
def test_a_missing_passphrase_is_401_and_not_counted(client, api):
    token = create(client, api, passphrase="right").json()["url_token"]

    for query in ("", "?passphrase="):
        response = client.get(push(api, token) + query)
        assert response.status_code == 401
        assert assert_json(response) == PASSPHRASE_401
    assert row(token).failed_attempts == 0


@pytest.mark.parametrize("api", VERSIONS)
def test_wrong_passphrases_are_counted_and_the_last_destroys(client, api, settings):
    token = create(client, api, passphrase="right").json()["url_token"]
    limit = settings.ONETIME_PASSPHRASE_ATTEMPTS

    for left in range(limit - 1, -1, -1):
        response = client.get(push(api, token) + "?passphrase=wrong")
        assert response.status_code == 401
        assert assert_json(response) == {**PASSPHRASE_401, "attempts_left": left}

    assert row(token).state == Secret.State.LOCKED
    after = client.get(push(api, token) + "?passphrase=right")
    assert after.status_code == 200
    assert (after.json()["expired"], after.json()["payload"]) == (True, None)


def test_the_right_passphrase_opens_and_is_echoed(client):
    token = create(client, V1, passphrase="ri ght/é").json()["url_token"]

    body = client.get(f"/p/{token}.json", {"passphrase": "ri ght/é"}).json()

    assert (body["payload"], body["passphrase"]) == ("s3cr3t", "ri ght/é")


def test_a_client_encrypted_secret_is_refused_intact(client):
    secret = make_client_secret()

    response = client.get(f"/p/{secret.id}.json")

    assert response.status_code == 401
    body = assert_json(response)
    assert list(body) == ["error", "message", "status"]
    assert body["status"] == "unauthorized"
    assert "the part after # included" in body["message"]
    assert "onetime open" in body["message"]
    stored = row(str(secret.id))
    assert stored.state == Secret.State.ACTIVE
    assert stored.ciphertext is not None


def test_a_telegram_bound_secret_is_refused_intact(client, telegram_bot):
    issue_code(4242, "alice")
    secret = make_secret("for alice", telegram_recipient="@alice").secret

    response = client.get(f"/api/v2/pushes/{secret.id}")

    assert response.status_code == 401
    assert response.json()["status"] == "unauthorized"
    assert "Telegram" in response.json()["error"]
    assert f"/s/{secret.id}" in response.json()["message"]
    stored = row(str(secret.id))
    assert stored.state == Secret.State.ACTIVE
    assert stored.failed_codes == 0


# ---- preview ------------------------------------------------------------------------------


@pytest.mark.parametrize("api", VERSIONS)
def test_preview_gives_the_link_without_consuming(client, api):
    created = create(client, api).json()
    token = created["url_token"]

    response = client.get(push(api, token, "preview"))

    assert response.status_code == 200
    assert assert_json(response) == {"url": created["html_url"]}
    assert row(token).state == Secret.State.ACTIVE
    client.get(push(api, token))
    assert client.get(push(api, token, "preview")).json() == {"url": created["html_url"]}
    assert client.get(push(api, UNKNOWN, "preview")).json() == {"error": "not-found"}


# ---- delete -------------------------------------------------------------------------------


@pytest.mark.parametrize("api", VERSIONS)
def test_delete_expires_the_push(client, api):
    token = create(client, api, passphrase="p").json()["url_token"]

    response = client.delete(push(api, token))

    assert response.status_code == 200
    body = assert_json(response)
    assert list(body) == DESTROY_KEYS
    assert (body["expired"], body["deleted"], body["passphrase"]) == (True, True, None)
    assert PWP_TIME.match(body["expired_on"])
    assert row(token).state == Secret.State.BURNED
    shown = client.get(push(api, token) + "?passphrase=p").json()
    assert (shown["expired"], shown["deleted"], shown["payload"]) == (True, True, None)
    assert client.delete(push(api, token)).status_code == 200  # idempotent


def test_delete_of_a_revealed_push_answers_its_document(client):
    token = create(client, V1).json()["url_token"]
    client.get(f"/p/{token}.json")

    body = client.delete(f"/p/{token}.json").json()

    assert (body["expired"], body["deleted"]) == (True, False)


@pytest.mark.parametrize("api", VERSIONS)
def test_delete_of_a_push_not_deletable_by_viewers_is_401(client, api):
    pwp = create(client, api, deletable_by_viewer=False).json()["url_token"]
    native = str(make_secret().secret.id)

    for token in (pwp, native):
        response = client.delete(push(api, token))
        assert response.status_code == 401
        assert assert_json(response) == {"error": "That push is not deletable by viewers."}
        assert row(token).state == Secret.State.ACTIVE
    assert client.delete(push(api, UNKNOWN)).json() == {"error": "not-found"}


# ---- account-only and other routes ---------------------------------------------------------

ACCOUNT_ONLY = [
    ("get", "/p/active.json"),
    ("get", "/p/expired.json"),
    ("get", f"/p/{UNKNOWN}/audit.json"),
    ("get", "/api/v2/pushes/active"),
    ("get", "/api/v2/pushes/expired.json"),
    ("get", f"/api/v2/pushes/{UNKNOWN}/audit"),
    ("post", f"/api/v2/pushes/{UNKNOWN}/notify_emails"),
]


@pytest.mark.parametrize(("method", "path"), ACCOUNT_ONLY)
def test_account_only_routes_are_401_with_an_empty_body(client, method, path):
    response = getattr(client, method)(path, headers={"Authorization": "Bearer t"})

    assert response.status_code == 401
    assert response.content == b""


@pytest.mark.parametrize("path", ["/api/v2/requests", "/api/v2/accounts", "/api/v2/x/y"])
def test_other_v2_routes_are_404(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {"error": "not-found"}


@pytest.mark.parametrize("suffix", ["", "/r"])
def test_the_web_links_redirect_to_the_recipient_page_and_change_nothing(client, suffix):
    token = create(client, V1).json()["url_token"]

    response = client.get(f"/p/{token}{suffix}")

    assert response.status_code == 302
    assert response["Location"] == f"/s/{token}"
    assert row(token).state == Secret.State.ACTIVE
    assert client.post(f"/p/{token}{suffix}").status_code == 405
    assert client.get("/p/not-a-uuid").status_code == 404


def test_switched_off_every_route_is_404(client, settings):
    token = str(make_secret().secret.id)
    settings.ONETIME_PWPUSH_API = False

    for method, path in [
        ("get", "/api/v1/version"),
        ("get", "/api/v2/version.json"),
        ("post", "/p.json"),
        ("post", "/api/v2/pushes"),
        ("get", f"/p/{token}.json"),
        ("delete", f"/api/v2/pushes/{token}"),
        ("get", f"/p/{token}/preview.json"),
        ("get", f"/p/{token}"),
        ("get", f"/p/{token}/r"),
        *ACCOUNT_ONLY,
        ("get", "/api/v2/requests"),
    ]:
        assert getattr(client, method)(path).status_code == 404, path
    assert row(token).state == Secret.State.ACTIVE


# ---- errors of OneTime's own ---------------------------------------------------------------


def test_a_rate_limited_create_is_429_with_retry_after(client, settings):
    settings.ONETIME_RATE_CREATE = (1, 60)
    assert create(client, V1).status_code == 201

    response = create(client, V2)

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert list(assert_json(response)) == ["error"]


def test_a_rate_limited_retrieve_is_429_and_consumes_nothing(client, settings):
    token = create(client, V1).json()["url_token"]
    settings.ONETIME_RATE_REVEAL = (1, 60)
    reveal(Client(), str(make_secret().secret.id))

    response = client.get(f"/p/{token}.json")

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert list(response.json()) == ["error"]
    assert row(token).state == Secret.State.ACTIVE


def test_an_unavailable_database_is_503_in_password_pushers_shape():
    response = pwpush_exception_handler(OperationalError("down"), {})

    assert response is not None
    assert response.status_code == 503
    assert list(response.data) == ["error"]
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [("{", "application/json", 400), ("payload", "text/plain", 415)],
)
def test_unreadable_bodies_answer_in_password_pushers_shape(client, body, content_type, status):
    response = client.post("/p.json", data=body, content_type=content_type)

    assert response.status_code == status
    assert list(assert_json(response)) == ["error"]


# ---- the pure parts ------------------------------------------------------------------------


def test_nested_params_unfold_rails_keys():
    flat = {
        "password[payload]": "x",
        "password[files][]": "f",
        "password[a][b]": "1",
        "plain": "p",
        "odd[][b]": "o",
    }

    assert documents.nested_params(flat) == {
        "password": {"payload": "x", "files": ["f"], "a": {"b": "1"}},
        "plain": "p",
        "odd[][b]": "o",
    }


@pytest.mark.parametrize(
    ("value", "cast"),
    [
        (None, None),
        ("", None),
        (" ", None),
        ("12", 12),
        (" 7days", 7),
        ("abc", 0),
        (True, 1),
        (3.9, 3),
        (float("nan"), None),
        ([1], None),
    ],
)
def test_rails_integer(value, cast):
    assert documents.rails_integer(value) == cast


def test_pwp_time_is_utc_with_milliseconds():
    moment = datetime(2026, 1, 1, 4, 0, 0, 123456, tzinfo=timezone.get_fixed_timezone(180))

    assert documents.pwp_time(moment) == "2026-01-01T01:00:00.123Z"


# ---- found in review ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "days"),
    [
        ("expire_after_days", "9" * 5000, 1),
        ("expire_after_days", "٣", 1),
        ("expire_after_duration", "9" * 5000, 1),
    ],
)
def test_thousands_of_digits_or_other_digits_read_as_out_of_range(client, field, value, days):
    response = client.post("/api/v2/pushes", {"push[payload]": "x", f"push[{field}]": value})

    assert response.status_code == 201
    assert response.json()["expire_after_days"] == days


@pytest.mark.parametrize("api", VERSIONS)
def test_a_passphrase_sent_as_a_number_protects_the_push(client, api):
    created = create(client, api, passphrase=1234)
    token = created.json()["url_token"]

    assert created.status_code == 201
    assert created.json()["passphrase"] == "1234"
    assert client.get(push(api, token)).status_code == 401
    assert client.get(push(api, token) + "?passphrase=1234").json()["payload"] == "s3cr3t"


@pytest.mark.parametrize("passphrase", [["pp"], {"a": "b"}, True])
def test_a_passphrase_that_is_no_text_is_refused_not_dropped(client, passphrase):
    response = create(client, V1, passphrase=passphrase)

    assert response.status_code == 422
    assert assert_json(response) == {"passphrase": ["Send the passphrase as text."]}
    assert not Secret.objects.exists()


@pytest.mark.parametrize("form", ["{hex}", "{{{key}}}", "urn:uuid:{key}"])
def test_only_the_links_layout_of_a_token_names_a_push(client, form):
    token = create(client, V1).json()["url_token"]
    written = form.format(key=token, hex=token.replace("-", ""))

    for response in [client.get(f"/p/{written}.json"), client.get(f"/api/v2/pushes/{written}")]:
        assert (response.status_code, response.json()) == (404, {"error": "not-found"})
    assert row(token).state == Secret.State.ACTIVE


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_any_other_v2_address_is_not_found_whatever_the_method(client, method):
    response = getattr(client, method)("/api/v2/requests/x")

    assert (response.status_code, assert_json(response)) == (404, {"error": "not-found"})


def test_onetimes_own_answers_on_these_routes_are_english(client, settings):
    russian = {"Accept-Language": "ru"}
    token = create(client, V1).json()["url_token"]
    too_long = post_json(
        client, "/p.json", {"password": {"payload": "x", "passphrase": "p" * 2000}}, **russian
    )
    wrong_method = client.put(f"/p/{token}.json", headers=russian)
    settings.ONETIME_PWPUSH_API = False
    switched_off = client.get("/api/v2/version", headers=russian)

    assert too_long.json() == {"passphrase": ["The passphrase is longer than 1024 characters."]}
    assert wrong_method.json()["detail"] == "This method is not allowed here."
    assert switched_off.json()["detail"].startswith("There is no page at this address.")
