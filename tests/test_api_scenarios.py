"""The scenario table of PRODUCT.md §2.1, through the JSON API."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.conftest import make_secret, post_json

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_it_creates_a_secret_and_answers_with_the_link(client):
    response = post_json(client, "/api/v1/secrets", {"secret": "hunter2", "ttl": 3600})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "url",
        "expires_at",
        "receipt_url",
        "telegram_recipient",
        "notify",
        "encryption",
    }
    assert body["encryption"] == "server"
    assert (body["telegram_recipient"], body["notify"]) == (None, False)
    assert body["url"] == f"http://testserver/s/{body['id']}"
    assert body["receipt_url"].startswith("http://testserver/r/")
    # The same instant, written the same way as the metadata route's serializer writes it.
    meta = client.get(f"/api/v1/secrets/{body['id']}").json()
    assert body["expires_at"] == meta["expires_at"]
    assert body["expires_at"].endswith("Z")


def test_it_reveals_once_then_answers_destroyed(client):
    secret_id = post_json(client, "/api/v1/secrets", {"secret": "hunter2"}).json()["id"]

    first = post_json(client, f"/api/v1/secrets/{secret_id}/reveal")
    second = post_json(client, f"/api/v1/secrets/{secret_id}/reveal")

    assert first.status_code == 200
    assert first.json() == {"secret": "hunter2"}
    assert second.status_code == 410
    assert second.json()["status"] == "destroyed"


def test_it_answers_expired_after_the_ttl_without_any_job(client):
    created = make_secret(ttl=60)

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        meta = client.get(f"/api/v1/secrets/{created.secret.id}")
        reveal = post_json(client, f"/api/v1/secrets/{created.secret.id}/reveal")

    assert meta.status_code == 410
    assert meta.json()["status"] == "expired"
    assert reveal.status_code == 410
    assert reveal.json()["status"] == "expired"


def test_it_answers_404_for_an_id_that_never_existed(client):
    response = post_json(client, f"/api/v1/secrets/{uuid.uuid4()}/reveal")

    assert response.status_code == 404
    assert response.json()["status"] == "not_found"


@pytest.mark.parametrize("bad_id", ["nope", "1234", "c9caccff-2827-4496-af09-bb3d0e9bd7a"])
def test_it_answers_json_404_for_a_malformed_id(client, bad_id):
    response = client.get(f"/api/v1/secrets/{bad_id}")

    assert response.status_code == 404
    assert response.json()["status"] == "not_found"


def test_metadata_never_consumes(client):
    created = make_secret()

    for _ in range(3):
        meta = client.get(f"/api/v1/secrets/{created.secret.id}")
        assert meta.status_code == 200
        assert meta.json() == {
            "id": str(created.secret.id),
            "expires_at": meta.json()["expires_at"],
            "passphrase_required": False,
            "encryption": "server",
            "key_check": None,
            "telegram_recipient": None,
            "telegram_bot": None,
        }

    assert post_json(client, f"/api/v1/secrets/{created.secret.id}/reveal").status_code == 200
