"""The OpenAPI schema is served by the app, valid, and docs/openapi.yaml is up to date."""

from io import StringIO

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
