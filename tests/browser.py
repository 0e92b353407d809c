"""
The headless browser the browser tests drive (Debian's chromium through playwright): the
`browser` fixture (conftest.py provides it) and a context with short timeouts.
"""

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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


@pytest.fixture
def browser(monkeypatch, no_rate_limits) -> Iterator[Any]:
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
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


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
