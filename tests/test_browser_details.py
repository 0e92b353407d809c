"""
Issue 13's page details in a real headless Chromium: the revealed box (unwrapped lines,
the wrap toggle, "download as file" from the page itself), the passphrase field (show/hide,
autofocus, the attempts left), the form's line breaks, and the favicon. Also without
JavaScript: the buttons that need it stay hidden and the fields work as plain ones.
"""

import re

import pytest

from tests.browser import DESKTOP, PHONE, UUID, create_secret, new_context, open_secret

pytestmark = pytest.mark.browser

# A long first line (an SSH key's), then short ones: wrapped, the first would fill the box.
KEY = "ssh-ed25519 " + "A" * 3000 + " alice@example\nline two\nline three\n"


def test_the_revealed_box_keeps_lines_whole_wraps_on_request_and_downloads(browser, live_server):
    context = new_context(browser, locale="en-US", viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    open_secret(page, create_secret(page, live_server.url, KEY))
    box = page.locator("textarea#secret")
    size = "(e) => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]"

    wide, width, tall, height = box.evaluate(size)
    assert wide > 2 * width, "the long line is wrapped"
    assert tall <= height + 1, "the box is shorter than its three lines"
    assert height < 200, "the box is much taller than its three lines"

    toggle = page.locator("button[data-wrap=secret]")
    toggle.click()
    wide, width, tall, height = box.evaluate(size)
    assert wide <= width + 1, "the wrap toggle left the long line unwrapped"
    # As tall as the wrapped lines, up to 70% of the window (then it scrolls).
    assert height >= min(tall, 0.7 * DESKTOP["height"]) - 2, "the box did not grow"
    assert toggle.get_attribute("aria-pressed") == "true"

    # The file comes from the page: nothing goes to the server once the secret is shown.
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    with page.expect_download() as download:
        page.click("button[data-download=secret]")
    path = download.value.path()
    assert download.value.suggested_filename == "secret.txt"
    assert path is not None
    with open(path, "rb") as file:
        assert file.read() == KEY.encode()
    assert [url for url in requests if not url.startswith("blob:")] == []
    context.close()


def test_the_passphrase_can_be_shown_is_focused_and_its_attempts_are_told(browser, live_server):
    context = new_context(browser, locale="ru-RU", viewport=PHONE, color_scheme="dark")
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    page.fill("textarea[name=secret]", "hunter2")
    field = page.locator("input[name=passphrase]")
    field.fill("open sesame")
    toggle = page.locator("button[data-toggle-password=id_passphrase]")

    toggle.click()
    assert field.get_attribute("type") == "text"
    assert toggle.inner_text() == "Скрыть"
    assert toggle.get_attribute("aria-pressed") == "true"
    toggle.click()
    assert field.get_attribute("type") == "password"
    assert toggle.inner_text() == "Показать"

    with page.expect_navigation():
        page.click("form button.primary")
    link = page.inner_text("#share-url")
    page.goto(link)

    assert page.evaluate("document.activeElement.id") == "id_passphrase"
    assert "Попыток ввести кодовую фразу: 5." in page.inner_text("form")
    page.keyboard.type("open sesame")
    page.locator("button[data-toggle-password=id_passphrase]").click()
    assert page.input_value("#id_passphrase") == "open sesame"
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.input_value("textarea#secret") == "hunter2"
    context.close()


def test_without_javascript_the_fields_are_plain_and_the_buttons_hidden(browser, live_server):
    context = new_context(browser, locale="en-US", viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    assert not page.locator("button[data-toggle-password]").is_visible()
    assert page.locator("input[name=passphrase]").get_attribute("type") == "password"

    open_secret(page, create_secret(page, live_server.url, KEY, passphrase="pw"), passphrase="pw")

    for button in ("data-copy", "data-wrap", "data-download"):
        assert not page.locator(f"button[{button}=secret]").is_visible()
    assert page.input_value("textarea#secret") == KEY
    assert page.locator("textarea#secret").get_attribute("readonly") is not None
    context.close()


def test_the_form_sends_crlf_and_the_secret_comes_back_with_lf(browser, live_server):
    # Without JavaScript the form sends the secret itself (with JavaScript, its ciphertext).
    context = new_context(browser, locale="en-US", java_script_enabled=False)
    page = context.new_page()
    link = create_secret(page, live_server.url, "line one\nline two\n")
    secret_id = re.fullmatch(rf".*/s/({UUID})", link)
    assert secret_id

    answer = page.request.post(
        f"{live_server.url}/api/v1/secrets/{secret_id.group(1)}/reveal",
        data="{}",
        headers={"Content-Type": "application/json"},
    )

    assert answer.json() == {"secret": "line one\nline two\n"}
    context.close()


def test_no_page_logs_a_404_for_its_favicon(browser, live_server):
    context = new_context(browser, locale="en-US")
    page = context.new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    link = create_secret(page, live_server.url, "hunter2")
    page.goto(link)
    icon = page.get_attribute("link[rel=icon]", "href")
    assert icon

    fetched = page.request.get(f"{live_server.url}{icon}")

    assert fetched.status == 200
    assert fetched.headers["content-type"] == "image/svg+xml"
    assert failed == []
    context.close()
