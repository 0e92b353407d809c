"""
Details of the pages (issue 13): short headings on the error pages, a rate-limited form
that keeps what was typed, a favicon, the form's line breaks, the passphrase field and the
revealed box. What needs a browser is in tests/test_browser_details.py.
"""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from onetime.vault.models import Secret
from tests.conftest import as_html_text, make_secret, post_json, text, textarea
from tests.test_form_errors import parse

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

EN = "en"
RU = "ru"
# 10 seconds into a one-minute rate-limit window.
T0 = datetime(2030, 5, 17, 12, 0, 10, tzinfo=UTC)


def heading(response) -> str:
    match = re.search(r"<h1>(.*?)</h1>", text(response), re.S)
    assert match, "the page has no <h1>"
    return match.group(1).strip()


@pytest.mark.parametrize(
    ("language", "title", "explanation"),
    [
        (EN, "Page not found", "There is no page at this address."),
        (RU, "Страница не найдена", "По этому адресу ничего нет."),
    ],
    ids=["en", "ru"],
)
def test_the_404_page_has_a_short_heading_and_explains_below_it(language, title, explanation):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/no/such/page")

    assert response.status_code == 404
    assert heading(response) == title
    assert explanation in text(response).split("</h1>", 1)[1]


def test_a_missing_secret_has_a_short_heading(client):
    response = client.get(
        "/s/6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1", headers={"accept-language": EN}
    )

    assert response.status_code == 404
    assert heading(response) == "Secret not found"
    assert "Check that the link was copied in full." in text(response)


@pytest.mark.parametrize(
    ("language", "title", "wait"),
    [
        (EN, "Too many requests", "Try again in 50 seconds."),
        (RU, "Слишком много запросов", "Попробуйте снова через 50 секунд."),
    ],
    ids=["en", "ru"],
)
def test_a_rate_limited_page_has_a_short_heading_and_says_how_long_to_wait(
    no_rate_limits, language, title, wait
):
    no_rate_limits.ONETIME_RATE_LOOKUP = (1, 60)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    with time_machine.travel(T0, tick=False):
        client.get("/r/some-receipt-token")
        response = client.get("/r/some-receipt-token")

    assert response.status_code == 429
    assert response["Retry-After"] == "50"
    assert heading(response) == title
    assert wait in text(response)


def test_a_rate_limited_form_keeps_what_was_typed_and_says_how_long_to_wait(no_rate_limits):
    no_rate_limits.ONETIME_RATE_CREATE = (1, 60)
    client = Client(HTTP_ACCEPT_LANGUAGE=EN)
    typed = {"secret": "  line one\nline <two>  ", "ttl": "86400", "passphrase": "canary-pass"}
    with time_machine.travel(T0, tick=False):
        assert client.post("/", typed).status_code == 200
        with time_machine.travel(datetime(2030, 5, 17, 12, 0, 55, tzinfo=UTC), tick=False):
            refused = client.post("/", typed)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "5"
    assert textarea(refused, "id_secret") == typed["secret"]
    assert re.search(r'<option value="86400" selected>', text(refused))
    assert "Too many requests from your address. Try again in 5 seconds." in text(refused)
    # A password field never shows its value back.
    assert "canary-pass" not in text(refused)
    assert Secret.objects.count() == 1


def test_minutes_to_wait_are_rounded_up(no_rate_limits):
    no_rate_limits.ONETIME_RATE_CREATE = (1, 3600)
    client = Client(HTTP_ACCEPT_LANGUAGE=RU)
    with time_machine.travel(T0, tick=False):
        client.post("/", {"secret": "x", "ttl": "3600"})
        refused = client.post("/", {"secret": "x", "ttl": "3600"})

    assert refused.status_code == 429
    # 3590 seconds are left of the hour window.
    assert "Попробуйте снова через 60 минут." in text(refused)


def test_every_page_links_a_favicon_that_is_served(client):
    page = client.get("/")
    match = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', text(page))
    assert match, "the page links no favicon"

    icon = client.get(match.group(1))

    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content)


def test_the_form_stores_line_breaks_as_lf_and_the_api_keeps_them_exact(client):
    typed = "line one\r\nline two\rline three\n"
    assert client.post("/", {"secret": typed, "ttl": "3600"}).status_code == 200
    by_form = Secret.objects.get()
    by_api = post_json(client, "/api/v1/secrets", {"secret": typed}).json()["id"]

    from_form = post_json(client, f"/api/v1/secrets/{by_form.id}/reveal").json()
    from_api = post_json(client, f"/api/v1/secrets/{by_api}/reveal").json()

    assert from_form == {"secret": "line one\nline two\nline three\n"}
    assert from_api == {"secret": typed}


def test_the_recipient_page_tells_the_attempts_left_before_the_first_try(client, settings):
    settings.ONETIME_PASSPHRASE_ATTEMPTS = 4
    created = make_secret(passphrase="open sesame")

    offer = client.get(f"/s/{created.secret.id}", headers={"accept-language": EN})

    assert "Attempts to enter the passphrase: 4. After the last wrong one" in text(offer)
    assert re.search(r'<input type="password" name="passphrase"[^>]* autofocus', text(offer))
    assert 'aria-describedby="id_passphrase_attempts"' in text(offer)
    assert 'data-toggle-password="id_passphrase"' in text(offer)

    client.post(f"/s/{created.secret.id}", {"passphrase": "wrong"})
    again = client.get(f"/s/{created.secret.id}", headers={"accept-language": RU})

    assert "Попыток ввести кодовую фразу: 3." in text(again)


def test_a_secret_without_a_passphrase_offers_no_field_to_focus(client):
    offer = client.get(f"/s/{make_secret().secret.id}", headers={"accept-language": EN})

    assert "autofocus" not in text(offer)
    assert "Attempts to enter" not in text(offer)


@pytest.mark.parametrize(
    ("plaintext", "rows"),
    [("hunter2", 2), ("a\nb\nc\nd", 4), ("x" * 5000, 2), ("line\n" * 200, 30)],
    ids=["one line", "four lines", "one long line", "many lines"],
)
def test_the_revealed_box_is_as_tall_as_its_lines_and_does_not_wrap(client, plaintext, rows):
    response = client.post(f"/s/{make_secret(plaintext).secret.id}")

    assert response.status_code == 200
    tag = re.search(r'<textarea id="secret"[^>]*>', text(response))
    assert tag
    assert f'rows="{rows}"' in tag.group(0)
    assert 'wrap="off"' in tag.group(0)
    assert textarea(response, "secret") == as_html_text(plaintext)
    # The buttons that need JavaScript stay hidden without it.
    for button in ("data-wrap", "data-download", "data-copy"):
        assert re.search(rf'<button [^>]*{button}="secret"[^>]* hidden>', text(response))


@pytest.mark.parametrize("telegram", [False, True], ids=["plain", "telegram"])
def test_every_aria_reference_names_an_element_of_the_page(client, settings, telegram):
    if telegram:
        settings.TELEGRAM_BOT_TOKEN = "123:test"
        settings.TELEGRAM_BOT_USERNAME = "onetime_test_bot"
    secret = make_secret(passphrase="p")
    pages = [
        client.get("/"),
        client.post("/", {"secret": "", "ttl": "1", "notify_code": "12"}),
        client.get(f"/s/{secret.secret.id}"),
        client.post(f"/s/{secret.secret.id}", {"passphrase": "wrong"}),
    ]
    if telegram:
        bound = make_secret(passphrase="p", telegram_recipient="@alice").secret.id
        pages += [client.get(f"/s/{bound}"), client.post(f"/s/{bound}", {"telegram_code": "1"})]

    for response in pages:
        page = parse(response)
        html = text(response)
        for element, references in page.described_by.items():
            for reference in references:
                assert reference in page.ids, f"#{element} refers to missing #{reference}"
        for reference in re.findall(r'aria-controls="([^"]+)"', html):
            assert reference in page.ids, f"aria-controls names missing #{reference}"
