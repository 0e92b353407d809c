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


def _form_post(client: Client, **headers: str):
    page = client.get("/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    data = {"csrfmiddlewaretoken": token.group(1).decode(), "secret": "x", "ttl": "300"}
    return client.post("/", data, headers=headers)


@pytest.mark.parametrize("secure", [False, True])
def test_a_same_origin_post_with_a_null_origin_is_accepted(secure):
    client = Client(enforce_csrf_checks=True)
    client.defaults["wsgi.url_scheme"] = "https" if secure else "http"

    response = _form_post(client, origin="null", sec_fetch_site="same-origin")

    assert response.status_code == 200
    assert Secret.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "null"},
        {"origin": "null", "sec_fetch_site": "cross-site"},
        {"origin": "https://evil.example", "sec_fetch_site": "cross-site"},
    ],
)
def test_a_post_the_browser_does_not_vouch_for_is_refused(headers):
    client = Client(enforce_csrf_checks=True)

    response = _form_post(client, **headers)

    assert response.status_code == 403
    assert Secret.objects.count() == 0


def test_the_token_is_still_required_from_the_same_origin():
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/", {"secret": "x", "ttl": "300"}, headers={"sec_fetch_site": "same-origin"}
    )

    assert response.status_code == 403
    assert Secret.objects.count() == 0
