"""
Forms are CSRF-protected, and still work under Referrer-Policy: no-referrer, where browsers
post with `Origin: null` and no Referer (seen in Chromium).
"""

import re

import pytest
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client

from onetime.core.csrf import SameOriginCsrfViewMiddleware
from onetime.vault.models import Secret

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_the_csrf_middleware_is_installed(settings):
    csrf = [m for m in settings.MIDDLEWARE if "csrf" in m.lower()]

    assert csrf == ["onetime.core.csrf.SameOriginCsrfViewMiddleware"]
    assert issubclass(SameOriginCsrfViewMiddleware, CsrfViewMiddleware)


def _form_post(client: Client, secure: bool = False, **headers: str):
    page = client.get("/", secure=secure)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    data = {"csrfmiddlewaretoken": token.group(1).decode(), "secret": "x", "ttl": "300"}
    return client.post("/", data, headers=headers, secure=secure)


@pytest.mark.parametrize("secure", [False, True])
def test_a_same_origin_post_with_a_null_origin_is_accepted(secure):
    client = Client(enforce_csrf_checks=True)

    response = _form_post(client, secure, origin="null", sec_fetch_site="same-origin")

    assert response.status_code == 200
    assert Secret.objects.count() == 1


def test_on_plain_http_a_null_origin_without_fetch_metadata_is_accepted_with_its_token():
    # Chromium on http://<LAN name>: no Sec-Fetch-* headers, which go to secure origins only.
    client = Client(enforce_csrf_checks=True)

    response = _form_post(client, origin="null")

    assert response.status_code == 200
    assert Secret.objects.count() == 1
    assert client.post("/", {"secret": "x", "ttl": "300"}, origin="null").status_code == 403


@pytest.mark.parametrize(
    ("headers", "secure"),
    [
        ({"origin": "null"}, True),
        ({"origin": "null", "sec_fetch_site": "cross-site"}, False),
        ({"origin": "null", "sec_fetch_site": "cross-site"}, True),
        ({"origin": "https://evil.example", "sec_fetch_site": "cross-site"}, False),
    ],
)
def test_a_post_the_browser_does_not_vouch_for_is_refused(headers, secure):
    client = Client(enforce_csrf_checks=True)

    response = _form_post(client, secure, **headers)

    assert response.status_code == 403
    assert Secret.objects.count() == 0


def test_the_token_is_still_required_from_the_same_origin():
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/", {"secret": "x", "ttl": "300"}, headers={"sec_fetch_site": "same-origin"}
    )

    assert response.status_code == 403
    assert Secret.objects.count() == 0
