"""
The whole flow of PRODUCT.md §2.1 in a real headless Chromium: the sender creates a secret
and copies the link, the recipient opens it, reveals it once, and a reload finds it gone.
Also with JavaScript disabled (§2.4: the pages work without it).

Screenshots of each page go to .local/screenshots/ for a human to look at.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from tests.browser import DESKTOP, PHONE, create_secret, new_context, reveal, screenshot, visit
from tests.conftest import issue_code, make_secret, wrong_code

pytestmark = pytest.mark.browser

SECRET = "  user: admin  \n\tpassword: correct horse battery staple\n\nпароль — ключ 🔑 \n  "


def test_it_shares_a_secret_end_to_end_in_a_browser(browser, live_server):
    sender = new_context(
        browser,
        locale="ru-RU",
        viewport=DESKTOP,
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = sender.new_page()
    link = create_secret(page, live_server.url, SECRET, shot="1-create-light")
    copy = page.locator("button[data-copy=share-url]")
    assert copy.is_visible(), "the copy button stays hidden although JavaScript runs"
    screenshot(page, "2-created-light")

    copy.click()

    page.wait_for_selector("[data-copy=share-url].copied")
    assert page.evaluate("navigator.clipboard.readText()") == link
    assert SECRET.strip() not in page.content()
    receipt_link = page.inner_text("#receipt-url")

    recipient = new_context(browser, locale="ru-RU", viewport=PHONE, color_scheme="dark")
    their_page = recipient.new_page()
    their_page.goto(link)
    their_page.wait_for_selector("form button[type=submit]:visible")
    assert "correct horse" not in their_page.content()
    screenshot(their_page, "3-reveal-offer-dark-phone")

    shown = reveal(their_page, link)

    assert shown == SECRET
    screenshot(their_page, "4-revealed-dark-phone")

    their_page.on("dialog", lambda dialog: dialog.accept())
    reloaded = their_page.reload()
    assert reloaded is not None
    # The page dropped the key from its address (history.replaceState), which made the
    # entry a plain GET of the link: no form is sent again, and the link finds it gone.
    assert reloaded.request.method == "GET"
    assert reloaded.status == 410
    assert "Секрет уничтожен" in their_page.inner_text("h1")
    assert "correct horse" not in their_page.content()
    screenshot(their_page, "5-destroyed-dark-phone")
    reopened = visit(their_page, link)
    assert reopened.status == 410
    assert "Секрет уничтожен" in their_page.inner_text("h1")

    page.goto(receipt_link)
    assert page.locator(".state-revealed").is_visible()
    screenshot(page, "6-receipt-light")
    sender.close()
    recipient.close()


def test_it_works_with_javascript_disabled(browser, live_server):
    sender = new_context(
        browser, locale="ru-RU", viewport=DESKTOP, color_scheme="dark", java_script_enabled=False
    )
    page = sender.new_page()
    link = create_secret(page, live_server.url, SECRET, shot="7-create-dark-nojs")

    assert page.locator("button[data-copy]").count() == 2
    assert all(not button.is_visible() for button in page.locator("button[data-copy]").all())
    screenshot(page, "8-created-dark-nojs")

    recipient = new_context(browser, locale="ru-RU", viewport=PHONE, java_script_enabled=False)
    their_page = recipient.new_page()
    shown = reveal(their_page, link)

    assert shown == SECRET
    assert not their_page.locator("button[data-copy]").is_visible()
    screenshot(their_page, "9-revealed-light-phone-nojs")
    assert visit(their_page, link).status == 410
    sender.close()
    recipient.close()


def test_it_shows_english_pages_to_an_english_browser(browser, live_server):
    context = new_context(browser, locale="en-US", viewport=PHONE)
    page = context.new_page()
    link = create_secret(page, live_server.url, "hunter2")

    assert reveal(page, link) == "hunter2"
    assert visit(page, link).status == 410
    assert "The secret is destroyed" in page.inner_text("h1")
    screenshot(page, "10-destroyed-light-phone-en")
    context.close()


def test_it_keeps_a_leading_newline_in_the_browser(browser, live_server):
    context = new_context(browser, locale="ru-RU")
    page = context.new_page()
    plaintext = "\n  indented, after an empty first line\n"
    link = create_secret(page, live_server.url, plaintext)

    assert reveal(page, link) == plaintext
    context.close()


def make_bound_secret_and_code() -> tuple[str, str]:
    """Create a secret for @alice and return its id and a code of alice's."""
    try:
        created = make_secret(SECRET, telegram_recipient="@alice")
        return str(created.secret.id), issue_code(4242, "alice")
    finally:
        connection.close()


def test_the_recipient_of_a_telegram_bound_secret_enters_the_code_from_the_bot(
    browser, live_server, telegram_bot
):
    # In a thread of its own, whose connection closes with it: one opened here, under
    # Playwright's event loop, would outlive the test and block the test database's removal.
    with ThreadPoolExecutor(1) as pool:
        secret_id, code = pool.submit(make_bound_secret_and_code).result()
    link = f"{live_server.url}/s/{secret_id}"
    context = new_context(browser, locale="en-US", viewport=PHONE, color_scheme="dark")
    page = context.new_page()
    page.goto(link)
    assert page.locator(f"a[href='https://t.me/{telegram_bot}?start=code']").is_visible()
    screenshot(page, "11-telegram-offer-dark-phone")

    page.fill("input[name=telegram_code]", wrong_code(code))
    with page.expect_navigation():
        page.click("form button[type=submit]")

    assert "4 attempts left" in page.inner_text("#id_telegram_code_error")
    assert page.locator("textarea#secret").count() == 0
    screenshot(page, "12-telegram-wrong-code-dark-phone")

    page.fill("input[name=telegram_code]", code)
    with page.expect_navigation():
        page.click("form button[type=submit]")

    assert page.input_value("textarea#secret") == SECRET
    context.close()


def test_the_sender_sees_local_times_and_confirms_a_burn(browser, live_server):
    context = new_context(browser, locale="en-US", viewport=PHONE, timezone_id="Asia/Tokyo")
    page = context.new_page()
    create_secret(page, live_server.url, "hunter2")
    expiry = page.locator("time.local-time")
    utc = datetime.fromisoformat(str(expiry.get_attribute("datetime")))
    tokyo = utc.astimezone(ZoneInfo("Asia/Tokyo"))

    # localtime.js rewrote the server's UTC into the reader's zone, keeping UTC in the title.
    assert expiry.get_attribute("title") == f"{utc:%Y-%m-%d %H:%M} UTC"
    # English pages use a 12-hour clock: 01:06 PM, 09:30 AM (the hour is whatever it is now).
    assert f"{tokyo:%I:%M %p}" in expiry.inner_text()
    assert "GMT+9" in expiry.inner_text()
    assert "the secret is destroyed in 1 hour (" in page.inner_text("main")
    receipt_link = page.inner_text("#receipt-url")

    page.goto(receipt_link)
    assert "GMT+9" in page.inner_text("dl")
    with page.expect_navigation():
        page.click("button.danger")
    assert page.locator("h2#burn-confirm").is_visible()
    assert page.locator(".state-active").is_visible()
    screenshot(page, "13-burn-confirm-light-phone-en")
    with page.expect_navigation():
        page.click("button.danger")

    assert page.locator(".state-burned").is_visible()
    assert page.locator("button.danger").count() == 0
    context.close()


def test_without_javascript_times_stay_in_utc(browser, live_server):
    context = new_context(
        browser, locale="ru-RU", timezone_id="Asia/Tokyo", java_script_enabled=False
    )
    page = context.new_page()
    create_secret(page, live_server.url, "hunter2")
    expiry = page.locator("time.local-time")
    utc = datetime.fromisoformat(str(expiry.get_attribute("datetime")))

    assert expiry.inner_text() == f"{utc:%Y-%m-%d %H:%M} UTC"
    assert "через 1 час (" in page.inner_text("main")
    context.close()
