"""
The headless browser the browser tests drive (Debian's chromium through playwright): the
`browser` fixture (conftest.py provides it), a context with short timeouts, and the steps
every flow takes (create a secret through the form, open its link, reveal it).
"""

import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, quote_plus

import pytest
from django.db import connection

from tests.processes import ROOT

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / ".local" / "screenshots"
# axe-core from the npm registry (package.json; `make test` installs it).
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# A name on the LAN for this machine (the `lan_browser` resolves it to 127.0.0.1): plain
# HTTP there is not a secure context, so the browser offers no WebCrypto.
LAN_HOST = "lan.test"

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# A link's key: 32 bytes in base64url.
KEY = r"[A-Za-z0-9_-]{43}"


def _chromium(monkeypatch: Any, *args: str) -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("ONETIME_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and ONETIME_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
    # the test's own database queries (the live server answers in threads of its own).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launch_args = [*LAUNCH_ARGS, *args]
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=launch_args)
        yield chromium
        chromium.close()


@pytest.fixture
def browser(monkeypatch, no_rate_limits) -> Iterator[Any]:
    yield from _chromium(monkeypatch)


@pytest.fixture
def lan_browser(monkeypatch, no_rate_limits, settings) -> Iterator[Any]:
    """Chromium that finds LAN_HOST at 127.0.0.1, which the app serves too."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, LAN_HOST]
    yield from _chromium(monkeypatch, f"--host-resolver-rules=MAP {LAN_HOST} 127.0.0.1")


def lan_url(live_server: Any) -> str:
    """Return the live server's address under LAN_HOST."""
    return str(live_server.url).replace("localhost", LAN_HOST)


def new_context(browser: Any, **options: Any) -> Any:
    context = browser.new_context(**options)
    # Fail in seconds, not Playwright's default 30, when an element never shows up.
    context.set_default_timeout(10_000)
    return context


def off_the_event_loop(call: Callable[[], T]) -> T:
    """
    Run ``call`` (database work) in a thread of its own, whose connection closes with it: one
    opened in the test's thread, under Playwright's event loop, would outlive the test and
    block the test database's removal.
    """

    def run() -> T:
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def screenshot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def create_secret(
    page: Any, base_url: str, plaintext: str, *, passphrase: str = "", shot: str | None = None
) -> str:
    """
    Fill and submit the create form; return the link the page shows: with its key in the
    fragment when the page says the browser encrypted it, without one otherwise.
    """
    page.goto(f"{base_url}/")
    if shot:
        screenshot(page, shot)
    page.fill("textarea[name=secret]", plaintext)
    page.select_option("select[name=ttl]", "3600")
    if passphrase:
        page.fill("input[name=passphrase]", passphrase)
    with page.expect_navigation():
        page.click("form button.primary")
    page.wait_for_selector("#share-url:visible")  # with its key, when the script adds one
    link = str(page.inner_text("#share-url"))
    in_browser = page.locator("[data-zk-created]").count() == 1
    fragment = f"#{KEY}" if in_browser else ""
    assert re.fullmatch(rf"{re.escape(base_url)}/s/{UUID}{fragment}", link), link
    return link


def visit(page: Any, link: str) -> Any:
    """
    Load ``link`` afresh and return the response: from a page at the same address without
    the fragment (a revealed page drops it), going to it would only scroll.
    """
    page.goto("about:blank")
    return page.goto(link)


def open_secret(page: Any, link: str, *, passphrase: str = "", code: str = "") -> Any:
    """Open ``link``, fill what its form asks and reveal; return the reveal's response."""
    visit(page, link)
    if code:
        page.fill("input[name=telegram_code]", code)
    if passphrase:
        # For a client-encrypted secret the field has no name: only the script reads it.
        page.fill("input[type=password]", passphrase)
    with page.expect_navigation() as navigation:
        page.click("form button[type=submit]")
    decrypted(page)
    return navigation.value


def decrypted(page: Any) -> None:
    """Wait until the page's script has tried to decrypt the envelope it was given, if any."""
    page.wait_for_function("!document.querySelector('[data-zk-envelope]')")


def reveal(page: Any, link: str) -> str:
    """Open the link as the recipient, click reveal; return the textarea's value."""
    offer = visit(page, link)
    assert offer.status == 200
    assert page.locator("textarea#secret").count() == 0
    with page.expect_navigation():
        page.click("form button[type=submit]")
    decrypted(page)
    return str(page.input_value("textarea#secret"))


class Sent:
    """What a page sent: every request's URL, headers and body, taken as it is sent."""

    def __init__(self, page: Any) -> None:
        self.requests: list[tuple[str, str, str, dict[str, str]]] = []
        page.on("request", self._record)

    def _record(self, request: Any) -> None:
        # All the headers (cookies, Referer) now, while the page that sent it is open.
        headers = request.all_headers()
        self.requests.append((request.method, request.url, request.post_data or "", headers))

    def posts(self) -> list[dict[str, list[str]]]:
        """Return the form fields of each POST."""
        return [parse_qs(body) for method, _, body, _ in self.requests if method == "POST"]

    def assert_never(self, *values: str) -> None:
        """Fail if any request carried one of ``values``, as is or URL-encoded."""
        for _, url, body, headers in self.requests:
            fields = [value for values in parse_qs(body).values() for value in values]
            seen = [url, body, *headers.values(), *fields]
            for value in values:
                for form in {value, quote(value), quote_plus(value)}:
                    # Not the URL in the message: it may be what carries the value.
                    assert not any(form in text for text in seen), "a request carried it"
