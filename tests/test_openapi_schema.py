"""The OpenAPI schema is served by the app, valid, and docs/openapi.yaml is up to date."""

from io import StringIO
from typing import Any

import yaml
from django.core.management import call_command

from tests.processes import ROOT

SCHEMA_FILE = ROOT / "docs" / "openapi.yaml"


def test_it_serves_a_schema_listing_every_api_route(client):
    response = client.get("/api/schema/", headers={"accept": "application/vnd.oai.openapi"})

    assert response.status_code == 200
    paths = yaml.safe_load(response.content)["paths"]
    assert set(paths) == {
        "/api/v1/secrets",
        "/api/v1/secrets/{secret_id}",
        "/api/v1/secrets/{secret_id}/reveal",
        "/api/v1/receipts/{token}",
        "/api/v1/receipts/{token}/burn",
        "/api/v1/codes/verify",
        # Password Pusher's JSON API (docs/compatibility.md); the `.json` aliases stay out.
        "/api/v1/version",
        "/api/v2/version",
        "/p.json",
        "/p/{token}.json",
        "/p/{token}/preview.json",
        "/p/{token}/audit.json",
        "/p/active.json",
        "/p/expired.json",
        "/api/v2/pushes",
        "/api/v2/pushes/{token}",
        "/api/v2/pushes/{token}/preview",
        "/api/v2/pushes/{token}/audit",
        "/api/v2/pushes/{token}/notify_emails",
        "/api/v2/pushes/active",
        "/api/v2/pushes/expired",
        # OneTimeSecret's API v1 (docs/compatibility.md); its trailing-slash twins are not listed.
        "/api/v1/status",
        "/api/v1/authcheck",
        "/api/v1/share",
        "/api/v1/create",
        "/api/v1/generate",
        "/api/v1/secret/{key}",
        *(
            path
            for alias in ("private", "metadata", "receipt")
            for path in (
                f"/api/v1/{alias}/recent",
                f"/api/v1/{alias}/{{key}}",
                f"/api/v1/{alias}/{{key}}/burn",
            )
        ),
    }


def test_the_docs_page_loads_its_assets_locally(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in response.content
    assert b"cdn." not in response.content


def test_the_committed_schema_matches_the_code():
    out = StringIO()
    call_command("spectacular", "--validate", stdout=out)

    assert out.getvalue() == SCHEMA_FILE.read_text(), "run `make schema` and commit the result"


def served_schema(client) -> dict[str, Any]:
    response = client.get("/api/schema/", headers={"accept": "application/vnd.oai.openapi"})
    assert response.status_code == 200
    return dict(yaml.safe_load(response.content))


def request_schema(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(schema["components"]["schemas"][name])


def test_the_lifetime_bounds_are_those_of_the_settings(client, settings):
    settings.ONETIME_MAX_TTL = 600

    ttl = request_schema(served_schema(client), "SecretCreateInputRequest")["properties"]["ttl"]

    assert ttl["type"] == "integer"
    assert (ttl["minimum"], ttl["maximum"]) == (settings.ONETIME_MIN_TTL, 600)


def test_strings_are_documented_without_nul_and_with_their_lengths(client):
    schema = served_schema(client)
    create = request_schema(schema, "SecretCreateInputRequest")["properties"]
    reveal = request_schema(schema, "RevealInputRequest")["properties"]
    verify = request_schema(schema, "VerifyInputRequest")["properties"]

    for field in [create["secret"], create["passphrase"], reveal["passphrase"], verify["code"]]:
        assert field["type"] == "string"
        assert field["not"] == {"pattern": "\\x00"}
    assert create["secret"]["minLength"] == 1
    assert create["passphrase"]["maxLength"] == reveal["passphrase"]["maxLength"] == 1024


def test_code_verification_names_exactly_one_account_field(client):
    verify = request_schema(served_schema(client), "VerifyInputRequest")

    assert verify["oneOf"] == [
        {"required": ["telegram_user_id"]},
        {"required": ["username"]},
    ]
    assert verify["required"] == ["code"]


def test_every_error_answer_is_described(client):
    for path, operations in served_schema(client)["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["description"], f"{method.upper()} {path} {status}"
