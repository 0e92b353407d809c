"""The scenario table of PRODUCT.md §2.1 (and the pages of §2.4) on the web pages."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils.html import escape

from onetime.vault.models import Secret
from tests.conftest import as_html_text, make_secret, post_json, text, textarea

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite, pytest.mark.usefixtures("no_rate_limits")]

# A fixed instant in the middle of a minute, so that rate-limit windows never matter.
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

DESTROYED_RU = "Секрет уничтожен"
EXPIRED_RU = "Секрет устарел"


def csrf_token(response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(response))
    assert match, "the page has no CSRF token field"
    return match.group(1)


def reveal_form(response) -> str:
    match = re.search(r'<form method="post"[^>]*>.*?</form>', text(response), re.S)
    assert match, "the page has no POST form"
    return match.group(0)


def test_it_serves_the_create_form_with_a_csrf_token(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    form = reveal_form(response)
    assert 'action="/"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert re.search(r'<textarea[^>]*name="secret"', form)
    assert re.search(r'<select[^>]*name="ttl"', form)
    assert re.search(r'<input[^>]*type="password"[^>]*name="passphrase"', form)


def test_it_creates_a_secret_and_shows_the_link_the_expiry_and_the_receipt_link(client):
    with time_machine.travel(T0, tick=False):
        response = client.post("/", {"secret": "hunter2", "ttl": "3600", "passphrase": ""})

    assert response.status_code == 200
    secret = Secret.objects.get()
    page = text(response)
    assert f'<code id="share-url" class="link">http://testserver/s/{secret.id}</code>' in page
    assert secret.expires_at == T0 + timedelta(hours=1)
    assert (
        '<time class="local-time" datetime="2030-01-02T04:04:05Z">2030-01-02 04:04 UTC</time>'
        in page
    )
    receipt = re.search(r'class="link">http://testserver(/r/[A-Za-z0-9_-]{32})</code>', page)
    assert receipt, "no receipt link on the page"
    assert "hunter2" not in page
    with time_machine.travel(T0, tick=False):
        assert client.get(receipt.group(1)).status_code == 200


def test_it_offers_to_reveal_on_get_without_consuming(client):
    created = make_secret("hunter2")
    path = f"/s/{created.secret.id}"

    pages = [client.get(path) for _ in range(3)]

    for page in pages:
        assert page.status_code == 200
        form = reveal_form(page)
        assert 'name="csrfmiddlewaretoken"' in form
        assert re.search(r'<button type="submit"[^>]*>', form)
        assert "hunter2" not in text(page)
        # No passphrase was set, so none is asked for.
        assert 'name="passphrase"' not in text(page)
    row = Secret.objects.get()
    assert row.state == Secret.State.ACTIVE
    assert row.ciphertext is not None
    revealed = client.post(path)
    assert revealed.status_code == 200
    assert textarea(revealed, "secret") == "hunter2"


def test_it_reveals_the_secret_html_escaped(client):
    plaintext = "<script>alert(1)</script>&\"'"
    created = make_secret(plaintext)

    response = client.post(f"/s/{created.secret.id}")

    assert response.status_code == 200
    assert escape(plaintext) in text(response)
    assert plaintext not in text(response)
    assert "<script>alert(1)" not in text(response)
    assert textarea(response, "secret") == plaintext


def test_it_keeps_whitespace_and_unicode_exactly_from_the_form_to_the_page(client):
    plaintext = "  two leading spaces\n\ttab\r\nCRLF line ✓ ключ 🔑\r trailing  \r\n"
    for _ in range(2):
        assert client.post("/", {"secret": plaintext, "ttl": "3600"}).status_code == 200
    on_page, by_api = Secret.objects.order_by("created_at")

    response = client.post(f"/s/{on_page.id}")
    api = post_json(client, f"/api/v1/secrets/{by_api.id}/reveal")

    assert response.status_code == 200
    assert textarea(response, "secret") == as_html_text(plaintext)
    # Browsers send a textarea's lines as CR LF: the form stores them as typed, with LF
    # (the API, tests/test_byte_exact.py, keeps every byte it is sent).
    assert api.json() == {"secret": as_html_text(plaintext)}


def test_it_keeps_a_leading_newline_on_the_revealed_page(client):
    plaintext = "\n  indented, after an empty first line\n"
    created = make_secret(plaintext)

    response = client.post(f"/s/{created.secret.id}")

    assert response.status_code == 200
    assert textarea(response, "secret") == plaintext


def test_it_answers_410_destroyed_when_the_page_is_posted_again_or_reopened(client):
    created = make_secret("hunter2")
    path = f"/s/{created.secret.id}"

    first = client.post(path)
    again = client.post(path)
    reopened = client.get(path)

    assert first.status_code == 200
    for response in (again, reopened):
        assert response.status_code == 410
        assert response["Content-Type"].startswith("text/html")
        assert DESTROYED_RU in text(response)
        assert "hunter2" not in text(response)


def test_it_answers_410_expired_after_the_ttl_without_any_job(client):
    with time_machine.travel(T0, tick=False):
        created = make_secret("hunter2", ttl=60)
    path = f"/s/{created.secret.id}"

    with time_machine.travel(T0 + timedelta(seconds=59), tick=False):
        before = client.get(path)
    with time_machine.travel(T0 + timedelta(seconds=60), tick=False):
        opened = client.get(path)
        posted = client.post(path)
        reopened = client.get(path)

    assert before.status_code == 200
    for response in (opened, posted, reopened):
        assert response.status_code == 410
        assert EXPIRED_RU in text(response)
        assert DESTROYED_RU not in text(response)
        assert "hunter2" not in text(response)


def test_it_says_destroyed_and_expired_in_english_when_asked(client):
    with time_machine.travel(T0, tick=False):
        revealed = make_secret("one", ttl=60)
        expired = make_secret("two", ttl=60)
        assert client.post(f"/s/{revealed.secret.id}").status_code == 200

    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        destroyed_page = client.get(f"/s/{revealed.secret.id}", headers={"accept-language": "en"})
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        expired_page = client.get(f"/s/{expired.secret.id}", headers={"accept-language": "en"})

    assert destroyed_page.status_code == 410
    assert "The secret is destroyed" in text(destroyed_page)
    assert expired_page.status_code == 410
    assert "The secret has expired" in text(expired_page)


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_a_404_page_for_an_id_that_never_existed(client, method):
    response = getattr(client, method)(f"/s/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "<html" in text(response)


@pytest.mark.parametrize(
    "bad_id", ["nope", "1234", "c9caccff-2827-4496-af09-bb3d0e9bd7a", "c9caccff-2827-4496-af09"]
)
def test_it_answers_a_404_page_for_a_malformed_id(client, bad_id):
    response = client.get(f"/s/{bad_id}")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "<html" in text(response)


def test_it_asks_for_the_passphrase_and_refuses_a_wrong_one(client):
    created = client.post("/", {"secret": "hunter2", "ttl": "3600", "passphrase": "open sesame"})
    assert created.status_code == 200
    path = f"/s/{Secret.objects.get().id}"

    page = client.get(path)
    wrong = client.post(path, {"passphrase": "open sesame?"}, headers={"accept-language": "en"})

    assert page.status_code == 200
    assert re.search(r'<input type="password" name="passphrase"', reveal_form(page))
    assert wrong.status_code == 403
    assert re.search(r'<input type="password" name="passphrase"', reveal_form(wrong))
    assert re.search(
        r'<p class="error" id="id_passphrase_error" role="alert">'
        r"Wrong passphrase\. 4 attempts left before the secret is destroyed\.</p>",
        text(wrong),
    )
    assert "hunter2" not in text(wrong)
    assert Secret.objects.get().failed_attempts == 1


def test_it_says_wrong_passphrase_in_russian_by_default(client):
    created = make_secret("hunter2", passphrase="open sesame")

    wrong = client.post(f"/s/{created.secret.id}", {"passphrase": "nope"})

    assert wrong.status_code == 403
    assert "Неверная кодовая фраза. До уничтожения секрета осталось 4 попытки." in text(wrong)


def test_it_asks_again_without_counting_when_the_passphrase_is_left_empty(client):
    created = make_secret("hunter2", passphrase="open sesame")

    response = client.post(f"/s/{created.secret.id}", {"passphrase": ""})

    assert response.status_code == 403
    assert '<p class="error" id="id_passphrase_error" role="alert">' in text(response)
    assert Secret.objects.get().failed_attempts == 0
    assert Secret.objects.get().state == Secret.State.ACTIVE


def test_it_reveals_with_the_right_passphrase(client):
    created = make_secret("hunter2", passphrase="open sesame")
    path = f"/s/{created.secret.id}"
    assert client.post(path, {"passphrase": "wrong"}).status_code == 403

    response = client.post(path, {"passphrase": "open sesame"})

    assert response.status_code == 200
    assert textarea(response, "secret") == "hunter2"
    assert client.post(path, {"passphrase": "open sesame"}).status_code == 410


def test_it_refuses_an_empty_secret_with_400_and_creates_nothing(client):
    response = client.post(
        "/", {"secret": "", "ttl": "3600", "passphrase": ""}, headers={"accept-language": "en"}
    )

    assert response.status_code == 400
    error = '<p class="error" id="id_secret_error" role="alert">This field is required.</p>'
    assert error in text(response)
    assert not Secret.objects.exists()


def test_it_refuses_a_secret_over_the_size_limit_with_413_and_creates_nothing(client, settings):
    settings.ONETIME_MAX_SECRET_BYTES = 100

    # 51 characters, but 102 bytes in UTF-8: the limit counts bytes.
    response = client.post(
        "/", {"secret": "é" * 51, "ttl": "3600"}, headers={"accept-language": "en"}
    )

    assert response.status_code == 413
    assert "The secret is 102 bytes long; the limit is 100 bytes (UTF-8)." in text(response)
    assert not Secret.objects.exists()
    assert client.post("/", {"secret": "é" * 50, "ttl": "3600"}).status_code == 200
    assert Secret.objects.count() == 1


def test_it_refuses_a_reveal_without_the_csrf_token_and_consumes_nothing():
    browser = Client(enforce_csrf_checks=True)
    created = make_secret("hunter2")
    path = f"/s/{created.secret.id}"
    page = browser.get(path)

    refused = browser.post(path)

    assert refused.status_code == 403
    assert "hunter2" not in text(refused)
    assert Secret.objects.get().state == Secret.State.ACTIVE
    revealed = browser.post(path, {"csrfmiddlewaretoken": csrf_token(page)})
    assert revealed.status_code == 200
    assert textarea(revealed, "secret") == "hunter2"


def test_it_refuses_a_create_without_the_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    form = browser.get("/")

    refused = browser.post("/", {"secret": "hunter2", "ttl": "3600"})

    assert refused.status_code == 403
    assert not Secret.objects.exists()
    accepted = browser.post(
        "/", {"secret": "hunter2", "ttl": "3600", "csrfmiddlewaretoken": csrf_token(form)}
    )
    assert accepted.status_code == 200
    assert Secret.objects.count() == 1


def test_it_switches_to_english_and_remembers_it_in_a_cookie(client):
    default = Client().get("/")
    switched = client.get("/?lang=en")
    later = client.get("/")

    assert '<html lang="ru">' in text(default)
    assert "Поделиться секретом" in text(default)
    assert switched.status_code == 200
    assert '<html lang="en">' in text(switched)
    assert "Share a secret" in text(switched)
    cookie = switched.cookies["lang"]
    assert cookie.value == "en"
    assert cookie["httponly"]
    assert '<html lang="en">' in text(later)
    assert "Share a secret" in text(later)
    back = client.get("/?lang=ru")
    assert '<html lang="ru">' in text(back)


def test_it_follows_the_browser_language_until_the_switch_is_used(client):
    english = client.get("/", headers={"accept-language": "en-GB,en;q=0.9"})
    switched = client.get("/?lang=ru", headers={"accept-language": "en-GB,en;q=0.9"})
    later = client.get("/", headers={"accept-language": "en-GB,en;q=0.9"})

    assert '<html lang="en">' in text(english)
    assert '<html lang="ru">' in text(switched)
    assert '<html lang="ru">' in text(later)


def test_it_switches_language_on_the_recipients_page_without_consuming(client):
    created = make_secret("hunter2")
    path = f"/s/{created.secret.id}"

    page = client.get(f"{path}?lang=en")

    assert page.status_code == 200
    assert "Someone shared a secret with you" in text(page)
    assert Secret.objects.get().state == Secret.State.ACTIVE
    assert textarea(client.post(path), "secret") == "hunter2"


def test_a_short_max_ttl_offers_one_honestly_labelled_lifetime(client, settings):
    settings.ONETIME_MAX_TTL = 150

    page = client.get("/", headers={"accept-language": "en"}).content.decode()

    assert '<option value="120" selected>2 minutes</option>' in page
    assert "5 minutes" not in page
